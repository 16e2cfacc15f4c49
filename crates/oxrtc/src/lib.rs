//! # oxrtc: WebRTC and ORTC for Rust
//!
//! This crate is the tokio facade over oxrtc's sans-IO protocol engines
//! (`stun`, `ice`, `dtls`, `srtp`, `sctp`, `datachannel`, `sdp` and the
//! sans-IO peer connection `peer`). It owns the sockets and timers; the
//! engines own the protocols.
//!
//! ## The W3C API
//! [`RTCPeerConnection`] and [`RTCDataChannel`] have the browser's shape in
//! Rust case: `create_offer`, `set_local_description` (also without an
//! argument), `set_remote_description`, `add_ice_candidate`,
//! `create_data_channel`, `restart_ice`, `get_stats`, `close`, the states
//! and descriptions. Events come from `next_event()` as enums, not
//! callbacks: [`RTCPeerConnectionEvent`] per connection,
//! [`DataChannelEvent`] per channel.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use oxrtc::{DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent};
//! let config = RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
//! let pc = RTCPeerConnection::new(config).await?;
//! let chat = pc.create_data_channel("chat", None).await?;
//! let offer = pc.set_local_description(None).await?;
//! // ... signal offer.sdp, then pc.set_remote_description(answer).await? ...
//! tokio::spawn(async move {
//!     while let Some(e) = chat.next_event().await {
//!         match e {
//!             DataChannelEvent::Open => chat.send_text("hello").await.unwrap(),
//!             DataChannelEvent::Message { data, .. } => println!("{} bytes", data.len()),
//!             _ => {}
//!         }
//!     }
//! });
//! while let Some(e) = pc.next_event().await {
//!     if let RTCPeerConnectionEvent::IceCandidate(Some(c)) = e {
//!         println!("signal {}", c.candidate);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Design
//! - One task per connection owns its UDP sockets (batched with GSO/GRO
//!   through quinn-udp), its TCP/TLS connections to TURN servers and its
//!   timer, and drives the sans-IO [`peer::PeerConnection`]. Handles reach
//!   it through one bounded command queue; data channel handles hold only a
//!   weak sender, so they keep no connection alive. Dropping the
//!   [`RTCPeerConnection`] releases the task, its sockets and buffers.
//! - `RTCDataChannel::send` checks the channel state, the peer's
//!   max-message-size and the connection's send budget on the handle and
//!   returns at once; a full buffer is an error to retry after
//!   [`DataChannelEvent::BufferedAmountLow`], never unbounded memory.
//!   Received messages wait in a bounded queue per channel; when one is
//!   full the task stops reading the network until the application catches
//!   up.
//!
//! ## The ORTC objects
//! [`IceTransport`] (gatherer and transport) runs ICE on its own;
//! [`DtlsTransport`] adds DTLS 1.2/1.3 and DTLS-SRTP
//! ([`DtlsTransport::send_rtp`]) in the same task; [`SctpTransport`] adds
//! SCTP and data channels by stream id. TURN servers may be reached over
//! UDP, TCP or TLS (rustls with ring).

#![deny(missing_docs)]

mod data_channel;
mod driver;
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
    DtlsTransportState as RTCDtlsTransportState, PeerConnectionState as RTCPeerConnectionState, PeerError,
    SctpTransportState as RTCSctpTransportState, SdpType as RTCSdpType, SessionDescription as RTCSessionDescription,
    SignalingState as RTCSignalingState,
};
pub use peer_connection::{
    RTCConfiguration, RTCDataChannelInit, RTCIceCandidateInit, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCPriorityType, RTCTrackEvent, FRAME_QUEUE_BYTES,
};
pub use sctp_transport::{SctpTransport, SctpTransportEvent};
pub use stats::{
    RTCCodecStats, RTCInboundRtpStreamStats, RTCOutboundRtpStreamStats, RTCRemoteInboundRtpStreamStats,
    RTCRemoteOutboundRtpStreamStats, RTCStats, RTCStatsReport,
};

/// Data channels over SCTP (DCEP).
pub use datachannel;
/// The sans-IO DTLS engine (certificates, fingerprints, configuration).
pub use dtls;
/// The sans-IO ICE engine.
pub use ice;
/// The sans-IO peer connection (JSEP) under [`RTCPeerConnection`].
pub use peer;
/// RTP and RTCP: packets, payload formats, the RTP session.
pub use rtp;
/// The sans-IO SCTP association.
pub use sctp;
/// SDP parsing and writing.
pub use sdp;
/// SRTP and SRTCP.
pub use srtp;
/// The STUN/TURN codec.
pub use stun;
