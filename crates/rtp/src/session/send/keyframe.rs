//! Keyframe requests: PLI (RFC 4585 §6.3.1) and FIR (RFC 5104 §4.3.1) for our SSRC become
//! one request to the encoder, at most one per [`MIN_KEYFRAME_INTERVAL`].
//!
//! - A FIR whose command sequence number repeats the last one seen is a retransmission of
//!   the same request (RFC 5104 §4.3.1.2), so it is ignored.
//! - Requests within the minimum interval of the last one passed on are dropped and counted:
//!   the keyframe already requested answers them. libwebrtc's `EncoderRtcpFeedback` drops
//!   intra requests within 300 ms of the last one (`kMinKeyframeSendIntervalMs`), which
//!   also keeps a receiver that repeats PLIs every RTT from turning a stream into keyframes.

use std::time::{Duration, Instant};

/// libwebrtc's minimum interval between keyframe requests passed to the encoder
/// (`kMinKeyframeSendIntervalMs`, video/encoder_rtcp_feedback.cc).
pub const MIN_KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);

/// Which feedback asked for a keyframe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyframeRequestKind {
    /// Picture loss indication.
    Pli,
    /// Full intra request.
    Fir,
}

/// What became of the PLIs and FIRs for our SSRC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyframeStats {
    /// PLIs received.
    pub pli: u64,
    /// FIR entries received.
    pub fir: u64,
    /// FIR entries that repeated the last command sequence number.
    pub fir_repeated: u64,
    /// Requests dropped within the minimum interval.
    pub suppressed: u64,
    /// Requests passed on.
    pub requested: u64,
}

/// Turns PLIs and FIRs into rate-limited keyframe requests.
#[derive(Clone, Debug)]
pub struct KeyframeRequests {
    min_interval: Duration,
    last_request: Option<Instant>,
    last_fir_seq: Option<u8>,
    stats: KeyframeStats,
}

impl KeyframeRequests {
    /// Passes on at most one request per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        KeyframeRequests { min_interval, last_request: None, last_fir_seq: None, stats: KeyframeStats::default() }
    }

    /// The counters so far.
    pub fn stats(&self) -> KeyframeStats {
        self.stats
    }

    /// A PLI for our SSRC arrived at `now`: returns the request to pass on, if any.
    pub fn handle_pli(&mut self, now: Instant) -> Option<KeyframeRequestKind> {
        self.stats.pli += 1;
        self.request(now, KeyframeRequestKind::Pli)
    }

    /// A FIR entry for our SSRC with command sequence number `seq_nr` arrived at `now`.
    pub fn handle_fir(&mut self, now: Instant, seq_nr: u8) -> Option<KeyframeRequestKind> {
        self.stats.fir += 1;
        if self.last_fir_seq == Some(seq_nr) {
            self.stats.fir_repeated += 1;
            return None;
        }
        self.last_fir_seq = Some(seq_nr);
        self.request(now, KeyframeRequestKind::Fir)
    }

    fn request(&mut self, now: Instant, kind: KeyframeRequestKind) -> Option<KeyframeRequestKind> {
        if self.last_request.is_some_and(|at| now.saturating_duration_since(at) < self.min_interval) {
            self.stats.suppressed += 1;
            return None;
        }
        self.last_request = Some(now);
        self.stats.requested += 1;
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn plis_are_rate_limited() {
        let t0 = Instant::now();
        let mut k = KeyframeRequests::new(MIN_KEYFRAME_INTERVAL);
        assert_eq!(k.handle_pli(t0), Some(KeyframeRequestKind::Pli));
        assert_eq!(k.handle_pli(t0 + ms(100)), None);
        assert_eq!(k.handle_pli(t0 + ms(299)), None);
        assert_eq!(k.handle_pli(t0 + ms(300)), Some(KeyframeRequestKind::Pli));
        // A flood: one request per 300 ms, whatever the count.
        let passed = (0..100_000u64).filter(|i| k.handle_pli(t0 + ms(300) + Duration::from_micros(i * 100)).is_some());
        assert_eq!(passed.count(), 33);
        assert_eq!(k.stats().requested, 35);
        assert_eq!(k.stats().pli, 100_004);
    }

    #[test]
    fn fir_with_a_repeated_sequence_number_is_one_request() {
        let t0 = Instant::now();
        let mut k = KeyframeRequests::new(MIN_KEYFRAME_INTERVAL);
        assert_eq!(k.handle_fir(t0, 7), Some(KeyframeRequestKind::Fir));
        assert_eq!(k.handle_fir(t0 + ms(500), 7), None);
        assert_eq!(k.handle_fir(t0 + ms(1000), 7), None);
        assert_eq!(k.stats().fir_repeated, 2);
        assert_eq!(k.handle_fir(t0 + ms(1100), 8), Some(KeyframeRequestKind::Fir));
        // A new number within the interval is dropped; its repeats stay dropped.
        assert_eq!(k.handle_fir(t0 + ms(1200), 9), None);
        assert_eq!(k.handle_fir(t0 + ms(2000), 9), None);
        assert_eq!(k.stats().suppressed, 1);
    }
}
