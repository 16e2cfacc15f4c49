//! AIMD rate control (draft-ietf-rmcat-gcc-02 section 5.5; libwebrtc
//! `AimdRateControl`).
//!
//! A small state machine driven by the overuse detector: *overuse* moves to
//! Decrease, *underuse* to Hold (let the queue drain), *normal* from Hold to
//! Increase. On Decrease the rate becomes 0.85 × the acknowledged rate (what
//! actually got through), and that rate feeds an estimate of the link
//! capacity. On Increase the rate grows multiplicatively, 8% per second,
//! while the capacity is unknown, and additively (about one packet per
//! response time) once it is near that capacity. It never grows beyond
//! 1.5 × the acknowledged rate + 10 kbit/s: an estimate far above what the
//! sender actually sends is unverified.
//!
//! While the sender is application limited (or its rate just jumped, out of
//! ALR or to a probe result, and the acknowledged rate has not caught up)
//! the acknowledged rate is what the application sent, not what the path
//! carries: it still bounds the
//! increase, but a decrease starts from the estimate (0.85 × the estimate,
//! as libwebrtc's ALR-limited backoff does), and the link capacity is not
//! learned from it.

use std::time::{Duration, Instant};

use crate::overuse::BandwidthUsage;
use crate::rate::Bitrate;

/// Multiplicative decrease factor (`kDefaultBackoffFactor`).
const BETA: f64 = 0.85;
/// Multiplicative increase per second (1.08 in `MultiplicativeRateIncrease`).
const ALPHA: f64 = 1.08;
/// Smallest multiplicative step, 1 kbit/s.
const MIN_MULTIPLICATIVE_STEP: f64 = 1_000.0;
/// Smallest additive rate, 4 kbit/s per second (`kMinIncreaseRateBpsPerSecond`).
const MIN_ADDITIVE_RATE: f64 = 4_000.0;
/// Frame rate and packet size assumed by the additive increase
/// (`GetNearMaxIncreaseRateBpsPerSecond`).
const ASSUMED_FPS: f64 = 30.0;
const ASSUMED_PACKET_BYTES: f64 = 1_200.0;
/// Added to the RTT as the detector's reaction time.
const DETECTOR_DELAY: Duration = Duration::from_millis(100);
/// RTT assumed until one is known (`kDefaultRtt`).
pub(crate) const DEFAULT_RTT: Duration = Duration::from_millis(200);
/// Link capacity estimator smoothing (`LinkCapacityEstimator`, 0.05).
const CAPACITY_ALPHA: f64 = 0.05;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Hold,
    Increase,
    Decrease,
}

/// An exponential average of the acknowledged rate at overuse, with its
/// normalized variance, in kbit/s.
#[derive(Clone, Copy, Debug, Default)]
struct LinkCapacity {
    estimate_kbps: Option<f64>,
    deviation_kbps: f64,
}

impl LinkCapacity {
    fn spread(&self, e: f64) -> f64 {
        3.0 * (e * self.deviation_kbps).sqrt()
    }
    fn upper(&self) -> Option<f64> {
        self.estimate_kbps.map(|e| (e + self.spread(e)) * 1_000.0)
    }
    fn lower(&self) -> Option<f64> {
        self.estimate_kbps.map(|e| (e - self.spread(e)).max(0.0) * 1_000.0)
    }
    fn on_overuse(&mut self, acked_bps: f64) {
        let sample = acked_bps / 1_000.0;
        let e = match self.estimate_kbps {
            None => sample,
            Some(e) => (1.0 - CAPACITY_ALPHA) * e + CAPACITY_ALPHA * sample,
        };
        let norm = e.max(1.0);
        let err = e - sample;
        self.deviation_kbps =
            ((1.0 - CAPACITY_ALPHA) * self.deviation_kbps + CAPACITY_ALPHA * err * err / norm).clamp(0.4, 2.5);
        self.estimate_kbps = Some(e);
    }
}

/// The rate controller.
#[derive(Debug)]
pub(crate) struct AimdRateControl {
    current: f64,
    min: f64,
    max: f64,
    state: State,
    capacity: LinkCapacity,
    last_change: Option<Instant>,
    latest_acked: Option<f64>,
    rtt: Duration,
    /// The acknowledged rate is limited by the application, not the path.
    app_limited: bool,
}

impl AimdRateControl {
    pub(crate) fn new(start: Bitrate, min: Bitrate, max: Bitrate) -> Self {
        AimdRateControl {
            current: start.as_f64(),
            min: min.as_f64(),
            max: max.as_f64(),
            state: State::Hold,
            capacity: LinkCapacity::default(),
            last_change: None,
            latest_acked: None,
            rtt: DEFAULT_RTT,
            app_limited: false,
        }
    }

    pub(crate) fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// Whether the acknowledged rate measures the application rather than
    /// the path (in ALR, and until the acknowledged rate has caught up
    /// after it or after a jump to a probe result).
    pub(crate) fn set_app_limited(&mut self, app_limited: bool) {
        self.app_limited = app_limited;
    }

    pub(crate) fn estimate(&self) -> Bitrate {
        Bitrate::from_f64(self.current)
    }

    /// Overrides the estimate (a probe result).
    pub(crate) fn set_estimate(&mut self, rate: Bitrate, now: Instant) {
        self.current = rate.as_f64().clamp(self.min, self.max);
        self.last_change = Some(now);
    }

    /// Whether another decrease is due: an RTT (10..200 ms) since the last
    /// change, or the acknowledged rate below half the estimate.
    pub(crate) fn time_to_reduce_further(&self, now: Instant, acked: Bitrate) -> bool {
        let interval = self.rtt.clamp(Duration::from_millis(10), Duration::from_millis(200));
        match self.last_change {
            Some(t) if now.saturating_duration_since(t) < interval => acked.as_f64() < 0.5 * self.current,
            _ => true,
        }
    }

    /// One step of the state machine with the detector's `usage` and the
    /// acknowledged rate, if known.
    pub(crate) fn update(&mut self, usage: BandwidthUsage, acked: Option<Bitrate>, now: Instant) -> Bitrate {
        if let Some(a) = acked {
            self.latest_acked = Some(a.as_f64());
        }
        let throughput = self.latest_acked.unwrap_or(self.current);
        self.state = match (usage, self.state) {
            (BandwidthUsage::Overusing, _) => State::Decrease,
            (BandwidthUsage::Underusing, _) => State::Hold,
            (BandwidthUsage::Normal, State::Hold) => {
                self.last_change = Some(now);
                State::Increase
            }
            (BandwidthUsage::Normal, s) => s,
        };
        match self.state {
            State::Hold => {}
            State::Increase => {
                if self.capacity.upper().is_some_and(|u| throughput > u) {
                    self.capacity = LinkCapacity::default();
                }
                let step = if self.capacity.estimate_kbps.is_some() {
                    self.additive_step(now)
                } else {
                    self.multiplicative_step(now)
                };
                let limit = 1.5 * throughput + 10_000.0;
                if self.current < limit {
                    self.current = (self.current + step).min(limit);
                }
                self.last_change = Some(now);
            }
            State::Decrease if self.app_limited => {
                self.current = (self.current * BETA).max(self.min);
                self.state = State::Hold;
                self.last_change = Some(now);
            }
            State::Decrease => {
                let mut decreased = throughput * BETA;
                if decreased > self.current {
                    if let Some(e) = self.capacity.estimate_kbps {
                        decreased = BETA * e * 1_000.0;
                    }
                }
                if decreased < self.current {
                    self.current = decreased;
                }
                if self.capacity.lower().is_some_and(|l| throughput < l) {
                    self.capacity = LinkCapacity::default();
                }
                self.capacity.on_overuse(throughput);
                self.state = State::Hold;
                self.last_change = Some(now);
            }
        }
        self.current = self.current.clamp(self.min, self.max);
        self.estimate()
    }

    fn multiplicative_step(&self, now: Instant) -> f64 {
        let secs = self.last_change.map_or(1.0, |t| now.saturating_duration_since(t).as_secs_f64().min(1.0));
        (self.current * (ALPHA.powf(secs) - 1.0)).max(MIN_MULTIPLICATIVE_STEP)
    }

    /// About one average packet per response time (RTT + 100 ms).
    fn additive_step(&self, now: Instant) -> f64 {
        let frame_bits = self.current / ASSUMED_FPS;
        let packets = (frame_bits / (8.0 * ASSUMED_PACKET_BYTES)).ceil().max(1.0);
        let response = (self.rtt + DETECTOR_DELAY).as_secs_f64();
        let rate = (frame_bits / packets / response).max(MIN_ADDITIVE_RATE);
        let secs = self.last_change.map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        rate * secs
    }

    #[cfg(test)]
    fn capacity_kbps(&self) -> Option<f64> {
        self.capacity.estimate_kbps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctl() -> AimdRateControl {
        AimdRateControl::new(Bitrate::kbps(1_000), Bitrate::kbps(30), Bitrate::mbps(10))
    }

    #[test]
    fn increases_eight_percent_a_second_far_from_capacity() {
        let t0 = Instant::now();
        let mut c = ctl();
        let acked = Some(Bitrate::kbps(1_000));
        c.update(BandwidthUsage::Normal, acked, t0);
        let mut now = t0;
        for _ in 0..10 {
            now += Duration::from_millis(100);
            c.update(BandwidthUsage::Normal, acked, now);
        }
        let r = c.estimate().as_f64();
        assert!((r - 1_080_000.0).abs() < 2_000.0, "{r}");
    }

    #[test]
    fn decrease_is_085_of_acked_then_additive_near_capacity() {
        let t0 = Instant::now();
        let mut c = ctl();
        c.set_rtt(Duration::from_millis(50));
        c.update(BandwidthUsage::Overusing, Some(Bitrate::kbps(800)), t0);
        assert_eq!(c.estimate(), Bitrate::kbps(680));
        assert_eq!(c.capacity_kbps(), Some(800.0));
        // Hold, then increase additively: 30 fps of 680 kbit/s is 2,833 B
        // frames, 3 packets of 944 B = 7,555 bit per 150 ms: 50 kbit/s/s.
        let acked = Some(Bitrate::kbps(680));
        let mut now = t0;
        c.update(BandwidthUsage::Normal, acked, now);
        for _ in 0..10 {
            now += Duration::from_millis(100);
            c.update(BandwidthUsage::Normal, acked, now);
        }
        let r = c.estimate().as_f64();
        assert!((r - 730_000.0).abs() < 3_000.0, "{r}");
    }

    #[test]
    fn underuse_holds_and_increase_is_capped_by_throughput() {
        let t0 = Instant::now();
        let mut c = ctl();
        c.update(BandwidthUsage::Underusing, Some(Bitrate::kbps(100)), t0);
        assert_eq!(c.estimate(), Bitrate::kbps(1_000));
        // Acked 100 kbit/s: the limit is 160 kbit/s, below the estimate,
        // which therefore does not grow (nor shrink).
        let mut now = t0;
        for _ in 0..20 {
            now += Duration::from_millis(100);
            c.update(BandwidthUsage::Normal, Some(Bitrate::kbps(100)), now);
        }
        assert_eq!(c.estimate(), Bitrate::kbps(1_000));
    }

    #[test]
    fn reduce_further_after_an_rtt_or_a_collapse() {
        let t0 = Instant::now();
        let mut c = ctl();
        c.set_rtt(Duration::from_millis(100));
        c.update(BandwidthUsage::Overusing, Some(Bitrate::kbps(1_000)), t0);
        let soon = t0 + Duration::from_millis(50);
        assert!(!c.time_to_reduce_further(soon, Bitrate::kbps(800)));
        assert!(c.time_to_reduce_further(soon, Bitrate::kbps(400)));
        assert!(c.time_to_reduce_further(t0 + Duration::from_millis(100), Bitrate::kbps(800)));
    }

    #[test]
    fn application_limited_decrease_starts_from_the_estimate() {
        let t0 = Instant::now();
        let mut c = ctl();
        c.set_app_limited(true);
        // 200 kbit/s acknowledged is what the application sent: the estimate
        // drops by the backoff factor, not to 0.85 x 200 kbit/s.
        c.update(BandwidthUsage::Overusing, Some(Bitrate::kbps(200)), t0);
        assert_eq!(c.estimate(), Bitrate::kbps(850));
        assert_eq!(c.capacity_kbps(), None);
        // Nor does it grow past 1.5 x acknowledged + 10 kbit/s.
        let mut now = t0;
        for _ in 0..20 {
            now += Duration::from_millis(100);
            c.update(BandwidthUsage::Normal, Some(Bitrate::kbps(200)), now);
        }
        assert_eq!(c.estimate(), Bitrate::kbps(850));
        c.set_app_limited(false);
        c.update(BandwidthUsage::Overusing, Some(Bitrate::kbps(200)), now + Duration::from_secs(1));
        assert_eq!(c.estimate(), Bitrate::kbps(170));
    }

    #[test]
    fn bounds_are_kept() {
        let t0 = Instant::now();
        let mut c = ctl();
        c.update(BandwidthUsage::Overusing, Some(Bitrate::kbps(10)), t0);
        assert_eq!(c.estimate(), Bitrate::kbps(30));
        c.set_estimate(Bitrate::mbps(50), t0);
        assert_eq!(c.estimate(), Bitrate::mbps(10));
    }
}
