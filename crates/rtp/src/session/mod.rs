//! The RTP session: what one peer connection keeps per media source on top of the wire
//! formats, as sans-IO state machines (time in as an `Instant` argument, packets, events and
//! the next timeout out).
//!
//! - [`send`]: our outgoing streams: sequence numbers and timestamps, header extensions, the
//!   history that answers NACKs (as RTX when negotiated), keyframe requests from PLI and FIR,
//!   sender reports, SDES and BYE, and the round-trip time the receiver's reports reveal.
//! - [`receive`]: the streams we receive: RFC 3550 statistics and report blocks, lip-sync
//!   data from sender reports, receiver-side RTT (XR), the NACK generator and the keyframe
//!   requester (PLI/FIR).
//! - [`rtc`]: what joins them per peer connection, [`rtc::Session`]: routing by SSRC,
//!   MID/RID and payload type (RTX unwrapped), one inbound pipeline per remote SSRC
//!   (statistics, NACK, keyframe requests, reordering, depacketizer, jitter buffers), one
//!   send stream per sending m-section with its packetizers, transport-wide feedback, the
//!   congestion controller and pacer of `oxrtc-cc`, and the RTCP compounds.

pub mod receive;
pub mod rtc;
pub mod send;

pub use rtc::{
    CodecConfig, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionError, SessionEvent, SessionStats,
    StreamStats,
};
