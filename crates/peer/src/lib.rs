//! # The WebRTC peer connection, sans-IO
//!
//! A peer connection is what a browser's `RTCPeerConnection` is: two
//! applications exchange session descriptions (an *offer* and an *answer*,
//! SDP text carried by their own signaling, JSEP RFC 9429) that name the
//! ICE credentials, the DTLS certificate fingerprint and the m-sections
//! (media, or `application` for data channels); then ICE finds a path,
//! DTLS authenticates the peer against its fingerprint, and SCTP over DTLS
//! carries the data channels.
//!
//! [`PeerConnection`] is that whole stack as one state machine, made of
//! owned parts that a coordinator only routes between:
//! - the negotiation: JSEP with the W3C signaling states (rollback, glare
//!   with implicit rollback, rejected sections, ICE restart, BUNDLE) as
//!   functions over descriptions; it decides, it never touches a transport;
//! - the [`Transport`]: ICE, DTLS, SRTP/SRTCP and SCTP composed once (RFC
//!   7983 demultiplexing, early-datagram buffers, "start SCTP when DTLS is
//!   up"). The tokio facade's ORTC objects (`IceTransport`, `DtlsTransport`,
//!   `SctpTransport`) use the same part on its own;
//! - the data channels: handles that exist before negotiation, mapped to
//!   SCTP streams;
//! - media: the place the RTP session will take. Media sections are
//!   answered as rejected (port 0) for now, so a browser that offers a
//!   camera and a data channel still gets its data channel.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use datachannel::{ChannelEvent, ChannelInit};
//! use peer::{PeerConfig, PeerConnection, PeerEvent};
//!
//! let (a_addr, b_addr): (SocketAddr, SocketAddr) = ("10.0.0.1:5000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap());
//! let mut a = PeerConnection::new(PeerConfig::default(), vec![a_addr])?;
//! let mut b = PeerConnection::new(PeerConfig::default(), vec![b_addr])?;
//! let mut now = Instant::now(); // the caller owns the clock
//!
//! let chat = a.create_data_channel(now, ChannelInit::new("chat"))?;
//! let offer = a.set_local_description(now, None)?; // createOffer + setLocalDescription
//! b.set_remote_description(now, offer)?;
//! let answer = b.set_local_description(now, None)?;
//! a.set_remote_description(now, answer)?;
//!
//! // The loop every caller runs: datagrams to their destination, events
//! // to the application (candidates to the peer), then sleep until the
//! // earliest poll_timeout.
//! let mut got = None;
//! for _ in 0..1000 {
//!     let mut a_cands = vec![];
//!     let mut b_cands = vec![];
//!     while let Some(t) = a.poll_transmit(now) { b.handle_receive(now, t.to, t.from, &t.data); }
//!     while let Some(t) = b.poll_transmit(now) { a.handle_receive(now, t.to, t.from, &t.data); }
//!     while let Some(e) = a.poll_event() {
//!         match e {
//!             PeerEvent::IceCandidate(Some(c)) => a_cands.push(c.candidate),
//!             PeerEvent::Channel(h, ChannelEvent::Open) if h == chat => a.send(now, chat, Bytes::from_static(b"hi"), false)?,
//!             _ => {}
//!         }
//!     }
//!     while let Some(e) = b.poll_event() {
//!         match e {
//!             PeerEvent::IceCandidate(Some(c)) => b_cands.push(c.candidate),
//!             PeerEvent::Channel(_, ChannelEvent::Message { data, .. }) => got = Some(data),
//!             _ => {}
//!         }
//!     }
//!     for c in a_cands { b.add_ice_candidate(now, Some(ice::Candidate::parse(&c).unwrap()))?; }
//!     for c in b_cands { a.add_ice_candidate(now, Some(ice::Candidate::parse(&c).unwrap()))?; }
//!     if got.is_some() { break; }
//!     now += Duration::from_millis(5);
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(got.as_deref(), Some(&b"hi"[..]));
//! # Ok::<(), peer::PeerError>(())
//! ```
//!
//! ## The contract
//! - Time is always an argument; nothing here reads a clock, opens a socket
//!   or spawns. The caller binds the sockets and passes their addresses to
//!   [`PeerConnection::new`].
//! - After every call, drain [`poll_transmit`](PeerConnection::poll_transmit)
//!   and [`poll_event`](PeerConnection::poll_event), then re-read
//!   [`poll_timeout`](PeerConnection::poll_timeout).
//! - Errors of the JSEP calls are the W3C ones (invalid state, invalid
//!   modification, malformed description) and leave the connection as it
//!   was. Network noise never becomes an error.
//!
//! ## Design decisions
//! - Everything accepted is bundled on one ICE/DTLS transport: that of the
//!   first accepted section of any kind (its BUNDLE tag). There is no
//!   bundle policy setting until media sections exist: with one accepted
//!   section every policy writes the same offer.
//! - A remote offer's transport parameters (ICE credentials, candidates,
//!   fingerprints) apply when we set our answer: rolling the offer back
//!   leaves nothing of it behind.
//! - Pull-style delivery (with `sctp.hold_until_consumed`): a message counts
//!   against SCTP's receive window until [`PeerConnection::message_consumed`],
//!   so a slow reader slows the peer down instead of growing a queue.
//! - Our answers say `a=setup:active` (we are the DTLS client), as browsers do.
//! - DTLS datagrams that arrive before the DTLS transport exists, and DTLS
//!   output produced before ICE has a pair, are kept (32 at most) instead of
//!   waiting a retransmission timeout.
//! - Data channels have a [`ChannelHandle`] from creation; the SCTP stream
//!   id is only known once the DTLS role is.

#![deny(missing_docs)]

mod config;
mod connection;
mod data;
mod jsep;
mod media;
mod media_session;
mod negotiation;
mod stats;
mod transceivers;
mod transport;

pub use config::{
    ChannelHandle, DtlsTransportState, IceCandidate, PeerConfig, PeerConnectionState, PeerEvent, PeerWarning,
    SctpTransportState, SdpType, SessionDescription, SignalingState, SCTP_PORT,
};
pub use connection::{PeerConnection, MAX_QUEUED_FRAMES};
pub use media::{CodecCapability, ExtensionCapability, MediaCapabilities, TRANSPORT_CC_URI};
pub use rtp::session::receive::SenderClock;
pub use rtp::session::rtc::CodecConfig;
pub use rtp::session::send::KeyframeRequestKind;
pub use stats::{ChannelStats, PeerStats, SectionCodecs};
pub use transceivers::{MediaFrame, TransceiverId, TransceiverInfo, TransceiverInit, MAX_SIMULCAST_ENCODINGS};
pub use transport::{SrtpSendError, Transport, TransportEvent, TransportStats, EARLY_DATAGRAMS};

/// Why a call failed. None of these change the connection's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The call is not allowed in the current signaling state (W3C
    /// `InvalidStateError`).
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// A description that was not created by us, or was changed (W3C
    /// `InvalidModificationError`).
    #[error("invalid modification: {0}")]
    InvalidModification(String),
    /// The remote description does not parse or lacks what WebRTC needs.
    #[error("invalid session description: {0}")]
    InvalidDescription(String),
    /// The connection is closed.
    #[error("the peer connection is closed; create a new one")]
    Closed,
    /// The channel is not open (still connecting, or closing).
    #[error("data channel is {0:?}, not open; wait for its open event")]
    ChannelNotOpen(datachannel::ReadyState),
    /// The send buffer (shared by all channels) is full: retry once
    /// `bufferedAmount` went down (its low-threshold event).
    #[error("send buffer full (shared by all data channels); wait for bufferedamountlow and send again")]
    SendBufferFull,
    /// No such data channel (closed, or never created).
    #[error("no data channel {0:?}; it is closed or was never created")]
    NoSuchChannel(ChannelHandle),
    /// A data channel operation failed.
    #[error(transparent)]
    DataChannel(#[from] datachannel::DataChannelError),
    /// A certificate could not be generated.
    #[error(transparent)]
    Dtls(#[from] dtls::DtlsError),
    /// An argument the call cannot take (W3C `TypeError`/`RangeError`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No such transceiver.
    #[error("no transceiver {0:?}")]
    NoSuchTransceiver(TransceiverId),
    /// The transceiver's section is not negotiated yet (or was rejected).
    #[error("transceiver {0:?} has no negotiated audio/video section yet; negotiate first")]
    NotNegotiated(TransceiverId),
    /// The RTP session refused a frame or request.
    #[error(transparent)]
    Media(#[from] rtp::session::rtc::SessionError),
}
