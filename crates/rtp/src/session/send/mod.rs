//! The send side of an RTP session, sans-IO: the parts a per-SSRC send stream is made of.
//!
//! Time is always an argument; nothing here reads a clock, sleeps or touches a socket;
//! wallclock for SRs comes from an [`NtpClock`] the caller builds once.
//!
//! - [`history`]: the sent packets kept for retransmission, bounded by count, bytes and age;
//! - [`retransmit`]: which NACKed packets to resend, at most once per RTT and within a rate
//!   cap over a sliding window;
//! - [`keyframe`]: PLI and FIR into rate-limited keyframe requests;
//! - [`report`]: when sender reports go out, and the RTT the answering report blocks give;
//! - [`ntp`]: `Instant` to NTP time without a clock.

pub mod history;
pub mod keyframe;
pub mod ntp;
mod rate;
pub mod report;
pub mod retransmit;
mod rng;

pub use history::{HistoryConfig, SendHistory, StoredPacket};
pub use keyframe::{KeyframeRequestKind, KeyframeRequests, KeyframeStats, MIN_KEYFRAME_INTERVAL};
pub use ntp::NtpClock;
pub use report::{MediaKind, RttStats, SenderReports, AUDIO_REPORT_INTERVAL, VIDEO_REPORT_INTERVAL};
pub use retransmit::{RetransmitConfig, RetransmitStats, Retransmitter, RETRANSMIT_WINDOW};
