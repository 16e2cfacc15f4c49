//! The receive side of an RTP session, one sans-IO part per concern:
//!
//! - [`ReceiveStats`]: RFC 3550 reception statistics of one source, its report block (with
//!   LSR/DLSR) and the sender's clocks from its last SR (lip sync).
//! - [`ReceiverRtt`]: the receiver's round-trip time from XR RRTR/DLRR (RFC 3611); the
//!   RTT a sender measures from report blocks is the send side's.
//! - [`NackGenerator`]: which packets to NACK and when (libwebrtc's `NackRequester`),
//!   reordering-aware, paced by the RTT, bounded; overflow becomes a keyframe request.
//! - [`KeyframeRequester`]: when to send PLI or FIR for a stream, rate-limited and repeated
//!   until a keyframe arrives.
//!
//! Every part takes the time as an argument (`now: Instant`) and never reads a clock; the
//! parts that act on their own time expose `poll_timeout` and `handle_timeout`. Memory is
//! bounded per part whatever arrives.

mod keyframe;
mod nack;
mod stats;
mod xr_rtt;

pub use keyframe::{
    KeyframeMethod, KeyframeRequest, KeyframeRequester, KeyframeStats, MAX_WAIT_FOR_KEYFRAME, MIN_KEYFRAME_INTERVAL,
};
pub use nack::{
    NackConfig, NackGenerator, NackOutput, NackStats, DEFAULT_REORDERING_THRESHOLD, DEFAULT_REORDERING_WAIT,
    DEFAULT_RTT, MAX_ENTRY_AGE, MAX_KEYFRAMES, MAX_NACK_PACKETS, MAX_NACK_RETRIES, MAX_PACKET_AGE, NACK_TICK,
};
pub use stats::{Arrival, ReceiveStats, SenderClock, DUPLICATE_WINDOW, MAX_JITTER_STEP};
pub use xr_rtt::{ReceiverRtt, RRTR_HISTORY};
