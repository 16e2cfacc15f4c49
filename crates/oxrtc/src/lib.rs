//! # oxrtc: WebRTC and ORTC for Rust
//!
//! This crate is the tokio facade over oxrtc's sans-IO protocol engines
//! (`stun`, `ice`, and later DTLS, SRTP, SCTP and the peer connection). It
//! owns the sockets and timers; the engines own the protocols.
//!
//! Today it offers the ORTC ICE transport: [`IceTransport`] gathers host,
//! server-reflexive and relayed candidates on the interfaces an
//! [`InterfaceFilter`] allows, runs connectivity checks, and carries
//! datagrams once a pair is selected. One task drives each transport;
//! dropping the handle stops it and releases its sockets. TURN servers may
//! be reached over UDP, TCP or TLS ([`ice::TurnTransport`]); TLS uses rustls
//! (ring) and trusts [`IceTransportConfig::turn_tls_ca`] or the system's
//! roots.
//!
//! [`DtlsTransport`] (the ORTC `RTCDtlsTransport`) takes an `IceTransport`
//! and runs DTLS 1.2/1.3 and DTLS-SRTP inside the same task: no extra queue
//! or task per layer. Its events carry application data, and RTP and RTCP
//! already unprotected; [`DtlsTransport::send_rtp`] protects with SRTP.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};
//! let config = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
//! let mut ice = IceTransport::start(config, true).await?;
//! // Signal ice.local_credentials() and the candidates from next_event()...
//! while let Some(event) = ice.next_event().await {
//!     if let IceTransportEvent::Data(d) = event {
//!         println!("{} bytes from the peer", d.len());
//!     }
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod data_channel;
mod dtls_transport;
mod ice_server;
mod ice_transport;
pub mod mdns;
mod net;
mod peer_connection;
mod sctp_transport;
pub mod stats;
mod turn_stream;
mod udp;

pub use data_channel::{DataChannelEvent, RTCDataChannel};
pub use datachannel::ReadyState as RTCDataChannelState;
pub use dtls_transport::{DtlsTransport, DtlsTransportEvent};
pub use ice_server::RTCIceServer;
pub use ice_transport::{IceTransport, IceTransportConfig, IceTransportEvent};
pub use net::{bind_udp, InterfaceFilter};
pub use peer::{
    BundlePolicy, PeerConnectionState as RTCPeerConnectionState, PeerError, SdpType as RTCSdpType,
    SessionDescription as RTCSessionDescription, SignalingState as RTCSignalingState,
};
pub use peer_connection::{
    RTCConfiguration, RTCDataChannelInit, RTCIceCandidateInit, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCPriorityType,
};
pub use sctp_transport::{SctpTransport, SctpTransportEvent};
pub use stats::{RTCStats, RTCStatsReport};

/// Data channels over SCTP (DCEP).
pub use datachannel;
/// The sans-IO DTLS engine (certificates, fingerprints, configuration).
pub use dtls;
/// The sans-IO ICE engine.
pub use ice;
/// The sans-IO peer connection (JSEP) under [`RTCPeerConnection`].
pub use peer;
/// The sans-IO SCTP association.
pub use sctp;
/// SDP parsing and writing.
pub use sdp;
/// SRTP and SRTCP.
pub use srtp;
/// The STUN/TURN codec.
pub use stun;
