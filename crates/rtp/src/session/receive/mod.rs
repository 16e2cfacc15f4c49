//! The receive side of an RTP session, one sans-IO part per concern:
//!
//! - [`ReceiveStats`]: RFC 3550 reception statistics of one source, its report block (with
//!   LSR/DLSR) and the sender's clocks from its last SR (lip sync).
//!
//! Every part takes the time as an argument (`now: Instant`) and never reads a clock; the
//! parts that act on their own time expose `poll_timeout` and `handle_timeout`. Memory is
//! bounded per part whatever arrives.

mod stats;

pub use stats::{Arrival, ReceiveStats, SenderClock, DUPLICATE_WINDOW, MAX_JITTER_STEP};
