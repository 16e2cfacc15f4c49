//! The overuse detector with its adaptive threshold
//! (draft-ietf-rmcat-gcc-02 sections 5.4 and 5.5).
//!
//! The trendline slope is scaled by the number of deltas seen (at most 60)
//! and by a gain of 4, then compared with a threshold `γ`. Above `γ` for
//! more than 10 ms (and two samples) while still rising is *overuse*; below
//! `-γ` is *underuse*; otherwise *normal*. `γ` follows the scaled slope:
//! slowly upwards (`k_up`) and faster downwards (`k_down`), so that a
//! concurrent TCP flow that keeps a standing queue does not starve us
//! (the threshold rises) while self-inflicted queues are still seen. All
//! constants are libwebrtc's `TrendlineEstimator` defaults.

/// Gain applied to the slope (`kDefaultTrendlineThresholdGain`).
const THRESHOLD_GAIN: f64 = 4.0;
/// Cap on the delta count factor (`kMinNumDeltas`).
const MAX_DELTA_FACTOR: u32 = 60;
/// Threshold adaptation rate upwards, per ms (`k_up_`).
const K_UP: f64 = 0.0087;
/// Threshold adaptation rate downwards, per ms (`k_down_`).
const K_DOWN: f64 = 0.039;
/// Initial threshold (`threshold_`, 12.5).
const INITIAL_THRESHOLD: f64 = 12.5;
/// Threshold bounds (6 and 600 in libwebrtc's `UpdateThreshold`).
const THRESHOLD_MIN: f64 = 6.0;
const THRESHOLD_MAX: f64 = 600.0;
/// Outliers this far above the threshold do not move it (`kMaxAdaptOffsetMs`).
const MAX_ADAPT_OFFSET: f64 = 15.0;
/// Time above the threshold before overuse is declared, ms
/// (`kOverUsingTimeThreshold`).
const OVERUSING_TIME_MS: f64 = 10.0;
/// Longest step of threshold adaptation, ms (`kMaxTimeDeltaMs`).
const MAX_ADAPT_STEP_MS: f64 = 100.0;

/// What the delay says about our sending rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BandwidthUsage {
    /// Queues are stable.
    #[default]
    Normal,
    /// A queue builds: we send more than the path carries.
    Overusing,
    /// A queue drains.
    Underusing,
}

/// The detector state.
#[derive(Debug)]
pub(crate) struct OveruseDetector {
    threshold: f64,
    last_update_ms: Option<f64>,
    time_over_ms: Option<f64>,
    overuse_count: u32,
    prev_slope: f64,
    state: BandwidthUsage,
}

impl Default for OveruseDetector {
    fn default() -> Self {
        OveruseDetector {
            threshold: INITIAL_THRESHOLD,
            last_update_ms: None,
            time_over_ms: None,
            overuse_count: 0,
            prev_slope: 0.0,
            state: BandwidthUsage::Normal,
        }
    }
}

impl OveruseDetector {
    /// The current hypothesis.
    pub(crate) fn state(&self) -> BandwidthUsage {
        self.state
    }

    /// Feeds one slope from the trendline. `deltas` is how many group
    /// deltas the filter has seen, `send_delta_ms` the send-time span of
    /// this sample and `now_ms` its arrival time.
    pub(crate) fn detect(&mut self, slope: f64, deltas: u32, send_delta_ms: f64, now_ms: f64) -> BandwidthUsage {
        if deltas < 2 {
            self.state = BandwidthUsage::Normal;
            return self.state;
        }
        let modified = f64::from(deltas.min(MAX_DELTA_FACTOR)) * slope * THRESHOLD_GAIN;
        if modified > self.threshold {
            // The first sample above is assumed to have been over for half
            // its span.
            let over = match self.time_over_ms {
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.time_over_ms = Some(over);
            self.overuse_count += 1;
            if over > OVERUSING_TIME_MS && self.overuse_count > 1 && slope >= self.prev_slope {
                self.time_over_ms = Some(0.0);
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if modified < -self.threshold {
            self.time_over_ms = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.time_over_ms = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.prev_slope = slope;
        self.adapt_threshold(modified, now_ms);
        self.state
    }

    fn adapt_threshold(&mut self, modified: f64, now_ms: f64) {
        let last = *self.last_update_ms.get_or_insert(now_ms);
        self.last_update_ms = Some(now_ms);
        if modified.abs() > self.threshold + MAX_ADAPT_OFFSET {
            // A spike (a sudden capacity drop): do not follow it.
            return;
        }
        let k = if modified.abs() < self.threshold { K_DOWN } else { K_UP };
        let dt = (now_ms - last).clamp(0.0, MAX_ADAPT_STEP_MS);
        self.threshold =
            (self.threshold + k * (modified.abs() - self.threshold) * dt).clamp(THRESHOLD_MIN, THRESHOLD_MAX);
    }

    #[cfg(test)]
    fn threshold(&self) -> f64 {
        self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sustained_positive_slope_is_overuse() {
        let mut d = OveruseDetector::default();
        let mut now = 0.0;
        let mut states = Vec::new();
        for _ in 0..5 {
            now += 5.0;
            states.push(d.detect(0.1, 60, 5.0, now));
        }
        // 60 * 0.1 * 4 = 24 > 12.5; needs > 10 ms and two samples.
        assert_eq!(states[0], BandwidthUsage::Normal);
        assert_eq!(states[1], BandwidthUsage::Normal);
        assert_eq!(states[2], BandwidthUsage::Overusing);
    }

    #[test]
    fn falling_slope_is_not_overuse_yet() {
        let mut d = OveruseDetector::default();
        d.detect(0.2, 60, 5.0, 5.0);
        d.detect(0.15, 60, 5.0, 10.0);
        assert_eq!(d.detect(0.1, 60, 5.0, 15.0), BandwidthUsage::Normal);
    }

    #[test]
    fn negative_slope_is_underuse_and_few_deltas_are_normal() {
        let mut d = OveruseDetector::default();
        assert_eq!(d.detect(-1.0, 1, 5.0, 0.0), BandwidthUsage::Normal);
        assert_eq!(d.detect(-0.1, 60, 5.0, 5.0), BandwidthUsage::Underusing);
        assert_eq!(d.detect(0.0, 60, 5.0, 10.0), BandwidthUsage::Normal);
    }

    #[test]
    fn threshold_adapts_within_bounds() {
        let mut d = OveruseDetector::default();
        // Small slopes pull the threshold down to its floor.
        for i in 0..100 {
            d.detect(0.0, 60, 5.0, f64::from(i) * 100.0);
        }
        assert_eq!(d.threshold(), THRESHOLD_MIN);
        // A moderate standing slope (modified 18, within the offset) raises it.
        for i in 100..200 {
            d.detect(0.075, 60, 5.0, f64::from(i) * 100.0);
        }
        assert!(d.threshold() > 17.0, "{}", d.threshold());
        // A spike far above it does not.
        let before = d.threshold();
        d.detect(10.0, 60, 5.0, 20_100.0);
        assert_eq!(d.threshold(), before);
    }
}
