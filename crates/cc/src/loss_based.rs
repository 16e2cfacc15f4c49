//! The classic loss-based controller (draft-ietf-rmcat-gcc-02 section 6;
//! libwebrtc `SendSideBandwidthEstimation` without its V2 estimator).
//!
//! Loss is measured over at least 20 packets. Under 2% loss the rate grows
//! to 1.08 × the lowest rate of the last second + 1 kbit/s (8% a second);
//! between 2% and 10% it holds; above 10% it drops to `rate × (1 - loss/2)`,
//! at most once per report and per 300 ms + RTT. The result is capped by the
//! delay-based estimate, the receiver's REMB and the configured maximum, so
//! this controller's value is the connection's target.
//!
//! In the first 2 s, while no loss at all has been seen, the rate jumps up
//! to the delay-based estimate or REMB: that is how initial probe results
//! are taken. A link with steady random loss between 2% and 10% therefore
//! keeps whatever rate it had when the loss began: this is what the classic
//! controller does and why it neither collapses nor grows there.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rate::Bitrate;

/// Loss at or under which the rate may grow (`kDefaultLowLossThreshold`).
const LOW_LOSS: f64 = 0.02;
/// Loss above which the rate drops (`kDefaultHighLossThreshold`).
const HIGH_LOSS: f64 = 0.1;
/// Fewest packets per loss measurement (`kLimitNumPackets`).
const MIN_PACKETS: u64 = 20;
/// Growth window (`kBweIncreaseInterval`).
const INCREASE_INTERVAL: Duration = Duration::from_millis(1_000);
/// Spacing of decreases, plus one RTT (`kBweDecreaseInterval`).
const DECREASE_INTERVAL: Duration = Duration::from_millis(300);
/// Trust the delay-based estimate this long if no loss is seen (`kStartPhase`).
const START_PHASE: Duration = Duration::from_secs(2);
/// Loss reports older than this stop driving the rate (1.2 × 5 s,
/// `kMaxRtcpFeedbackInterval`).
const REPORT_TIMEOUT: Duration = Duration::from_millis(6_000);

/// The controller.
#[derive(Debug)]
pub(crate) struct LossBasedBwe {
    current: f64,
    min: f64,
    max: f64,
    created: Instant,
    lost: u64,
    expected: u64,
    /// The last measured loss fraction.
    fraction: Option<f64>,
    last_report: Option<Instant>,
    decreased_since_report: bool,
    last_decrease: Option<Instant>,
    /// (time, rate) with increasing rates: the sliding minimum.
    history: VecDeque<(Instant, f64)>,
    delay_limit: Option<f64>,
    remb_limit: Option<f64>,
    rtt: Duration,
}

impl LossBasedBwe {
    pub(crate) fn new(now: Instant, start: Bitrate, min: Bitrate, max: Bitrate) -> Self {
        LossBasedBwe {
            current: start.as_f64(),
            min: min.as_f64(),
            max: max.as_f64(),
            created: now,
            lost: 0,
            expected: 0,
            fraction: None,
            last_report: None,
            decreased_since_report: false,
            last_decrease: None,
            history: VecDeque::new(),
            delay_limit: None,
            remb_limit: None,
            rtt: crate::aimd::DEFAULT_RTT,
        }
    }

    /// The target: this controller's rate, within every limit.
    pub(crate) fn target(&self) -> Bitrate {
        Bitrate::from_f64(self.current)
    }

    /// The last measured loss fraction.
    pub(crate) fn loss_fraction(&self) -> Option<f64> {
        self.fraction
    }

    pub(crate) fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// A probe measured what the path carries: start from it (libwebrtc's
    /// `SetSendBitrate`), rather than creeping up 8% a second to it.
    pub(crate) fn set_send_rate(&mut self, now: Instant, rate: Bitrate) {
        self.history.clear();
        self.apply(now, rate.as_f64());
    }

    pub(crate) fn set_delay_based(&mut self, now: Instant, limit: Option<Bitrate>) {
        self.delay_limit = limit.map(Bitrate::as_f64);
        self.apply(now, self.current);
    }

    pub(crate) fn set_remb(&mut self, now: Instant, limit: Option<Bitrate>) {
        self.remb_limit = limit.map(Bitrate::as_f64);
        self.apply(now, self.current);
    }

    /// `lost` of `total` packets were lost (from feedback or a receiver
    /// report).
    pub(crate) fn on_packets(&mut self, now: Instant, lost: u64, total: u64) {
        self.lost += lost;
        self.expected += total;
        if self.expected < MIN_PACKETS {
            return;
        }
        // Quantized to 1/256 as RTCP's fraction lost is.
        let q8 = (self.lost * 256 / self.expected).min(255);
        self.fraction = Some(q8 as f64 / 256.0);
        self.lost = 0;
        self.expected = 0;
        self.last_report = Some(now);
        self.decreased_since_report = false;
        self.update(now);
    }

    /// Re-evaluates the rate (called on reports and periodically).
    pub(crate) fn update(&mut self, now: Instant) {
        let no_loss_yet = self.fraction.is_none_or(|f| f == 0.0);
        if no_loss_yet && now.saturating_duration_since(self.created) < START_PHASE {
            let mut rate = self.current;
            if let Some(r) = self.remb_limit {
                rate = rate.max(r);
            }
            if let Some(d) = self.delay_limit {
                rate = rate.max(d);
            }
            if rate != self.current {
                self.history.clear();
                self.history.push_back((now, self.current));
                self.apply(now, rate);
                return;
            }
        }
        self.update_history(now);
        let (Some(report), Some(loss)) = (self.last_report, self.fraction) else {
            // No loss measured yet: only the limits apply.
            self.apply(now, self.current);
            return;
        };
        if now.saturating_duration_since(report) >= REPORT_TIMEOUT {
            self.apply(now, self.current);
            return;
        }
        if loss <= LOW_LOSS {
            let base = self.history.front().map_or(self.current, |h| h.1);
            self.apply(now, base * 1.08 + 1_000.0);
        } else if loss > HIGH_LOSS {
            let due =
                self.last_decrease.is_none_or(|t| now.saturating_duration_since(t) >= DECREASE_INTERVAL + self.rtt);
            if !self.decreased_since_report && due {
                self.last_decrease = Some(now);
                self.decreased_since_report = true;
                self.apply(now, self.current * (1.0 - loss / 2.0));
                return;
            }
            self.apply(now, self.current);
        } else {
            self.apply(now, self.current);
        }
    }

    fn update_history(&mut self, now: Instant) {
        while self
            .history
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) + Duration::from_millis(1) > INCREASE_INTERVAL)
        {
            self.history.pop_front();
        }
        while self.history.back().is_some_and(|(_, r)| self.current <= *r) {
            self.history.pop_back();
        }
        self.history.push_back((now, self.current));
    }

    fn apply(&mut self, _now: Instant, rate: f64) {
        let mut upper = self.max;
        if let Some(d) = self.delay_limit {
            upper = upper.min(d);
        }
        if let Some(r) = self.remb_limit {
            upper = upper.min(r);
        }
        self.current = rate.min(upper).max(self.min);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn bwe(t0: Instant) -> LossBasedBwe {
        LossBasedBwe::new(t0, Bitrate::kbps(1_000), Bitrate::kbps(30), Bitrate::mbps(10))
    }

    /// Reports `lost` of 100 packets every 100 ms for `secs` seconds.
    fn run(b: &mut LossBasedBwe, from: Instant, secs: u32, lost: u64) -> Instant {
        let mut now = from;
        for _ in 0..secs * 10 {
            now += 100 * MS;
            b.on_packets(now, lost, 100);
        }
        now
    }

    #[test]
    fn low_loss_grows_eight_percent_a_second() {
        let t0 = Instant::now();
        let mut b = bwe(t0);
        let now = run(&mut b, t0 + 3_000 * MS, 1, 1);
        let r0 = b.target().as_f64();
        run(&mut b, now, 5, 1);
        let ratio = b.target().as_f64() / r0;
        assert!(ratio > 1.4 && ratio < 1.55, "{ratio}");
    }

    #[test]
    fn moderate_loss_holds_and_high_loss_halves_the_loss() {
        let t0 = Instant::now();
        let mut b = bwe(t0);
        let now = run(&mut b, t0, 5, 5);
        assert_eq!(b.target(), Bitrate::kbps(1_000));
        assert!((b.loss_fraction().unwrap() - 0.05).abs() < 0.005);
        // 20% loss: 1 - 0.2/2 = 0.9 per decrease (fraction quantized to 51/256).
        b.on_packets(now + 100 * MS, 20, 100);
        let r = b.target().as_f64();
        assert!((r - 900_390.0).abs() < 1_000.0, "{r}");
        // Not again within 300 ms + RTT.
        b.on_packets(now + 200 * MS, 20, 100);
        assert_eq!(b.target().as_f64(), r);
    }

    #[test]
    fn start_phase_takes_the_delay_estimate_and_limits_cap() {
        let t0 = Instant::now();
        let mut b = bwe(t0);
        b.set_delay_based(t0, Some(Bitrate::kbps(500)));
        assert_eq!(b.target(), Bitrate::kbps(500));
        b.set_delay_based(t0, Some(Bitrate::kbps(3_000)));
        b.update(t0 + 100 * MS);
        assert_eq!(b.target(), Bitrate::kbps(3_000));
        b.set_remb(t0, Some(Bitrate::kbps(700)));
        assert_eq!(b.target(), Bitrate::kbps(700));
        // After the start phase, without loss reports, nothing grows.
        b.set_remb(t0, None);
        b.update(t0 + 3_000 * MS);
        assert_eq!(b.target(), Bitrate::kbps(700));
    }

    #[test]
    fn a_probe_result_is_taken_at_once() {
        let t0 = Instant::now();
        let mut b = bwe(t0);
        let now = run(&mut b, t0 + 3_000 * MS, 1, 0);
        b.set_delay_based(now, Some(Bitrate::kbps(300)));
        assert_eq!(b.target(), Bitrate::kbps(300));
        // The delay-based estimate is back up: without a probe the rate
        // creeps up 8% a second; a probe result is taken as it is.
        b.set_delay_based(now, Some(Bitrate::mbps(2)));
        b.update(now + 100 * MS);
        assert!(b.target() < Bitrate::kbps(330), "{}", b.target());
        b.set_send_rate(now + 100 * MS, Bitrate::kbps(1_700));
        assert_eq!(b.target(), Bitrate::kbps(1_700));
        b.set_send_rate(now + 100 * MS, Bitrate::mbps(3));
        assert_eq!(b.target(), Bitrate::mbps(2));
    }

    #[test]
    fn needs_twenty_packets_per_measurement() {
        let t0 = Instant::now();
        let mut b = bwe(t0);
        b.on_packets(t0, 10, 10);
        assert_eq!(b.loss_fraction(), None);
        b.on_packets(t0, 0, 10);
        assert_eq!(b.loss_fraction(), Some(0.5));
    }
}
