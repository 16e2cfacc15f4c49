//! Application-limited region (ALR) detection (libwebrtc `AlrDetector`).
//!
//! When the application sends much less than the estimate (a static screen,
//! an audio-only call), feedback no longer says anything about the link's
//! capacity: the estimate stops being tested. The detector keeps a budget
//! that fills at 65% of the estimate and drains by the bytes actually sent,
//! capped at 500 ms worth. More than 80% of it unused starts ALR; under 50%
//! ends it. In ALR the controller sends periodic probes.

use std::time::Instant;

use crate::rate::Bitrate;

/// Share of the estimate the budget fills at (`bandwidth_usage_ratio`).
const USAGE_RATIO: f64 = 0.65;
/// Unused budget share that starts ALR (`start_budget_level_ratio`).
const START_RATIO: f64 = 0.80;
/// Unused budget share that ends it (`stop_budget_level_ratio`).
const STOP_RATIO: f64 = 0.50;
/// Budget window in seconds (`IntervalBudget`'s `kWindowMs`, 500 ms).
const WINDOW_SECS: f64 = 0.5;

/// The detector.
#[derive(Debug, Default)]
pub(crate) struct AlrDetector {
    /// Budget fill rate in bytes per second.
    rate: f64,
    /// Unused bytes, within ±`rate × window`.
    remaining: f64,
    last_send: Option<Instant>,
    started: Option<Instant>,
}

impl AlrDetector {
    /// Since when we are application limited, if we are.
    pub(crate) fn alr_start(&self) -> Option<Instant> {
        self.started
    }

    pub(crate) fn set_estimate(&mut self, estimate: Bitrate) {
        self.rate = estimate.as_f64() * USAGE_RATIO / 8.0;
        let max = self.max();
        self.remaining = self.remaining.clamp(-max, max);
    }

    fn max(&self) -> f64 {
        self.rate * WINDOW_SECS
    }

    pub(crate) fn on_sent(&mut self, now: Instant, bytes: usize) {
        let Some(last) = self.last_send.replace(now) else { return };
        let max = self.max();
        self.remaining = (self.remaining - bytes as f64).max(-max);
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        self.remaining = (self.remaining + self.rate * elapsed).min(max);
        let ratio = if max > 0.0 { self.remaining / max } else { 0.0 };
        if ratio > START_RATIO && self.started.is_none() {
            self.started = Some(now);
        } else if ratio < STOP_RATIO && self.started.is_some() {
            self.started = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn send(a: &mut AlrDetector, from: Instant, secs: u64, rate: Bitrate) -> Instant {
        // 1,000-byte packets at `rate`.
        let gap = Duration::from_secs_f64(8_000.0 / rate.as_f64());
        let mut now = from;
        while now < from + Duration::from_secs(secs) {
            a.on_sent(now, 1_000);
            now += gap;
        }
        now
    }

    #[test]
    fn sending_at_the_estimate_is_not_alr() {
        let mut a = AlrDetector::default();
        a.set_estimate(Bitrate::mbps(1));
        send(&mut a, Instant::now(), 2, Bitrate::kbps(900));
        assert_eq!(a.alr_start(), None);
    }

    #[test]
    fn sending_little_is_alr_until_sending_more() {
        let t0 = Instant::now();
        let mut a = AlrDetector::default();
        a.set_estimate(Bitrate::mbps(1));
        let now = send(&mut a, t0, 2, Bitrate::kbps(100));
        assert!(a.alr_start().is_some());
        send(&mut a, now, 2, Bitrate::kbps(900));
        assert_eq!(a.alr_start(), None);
    }
}
