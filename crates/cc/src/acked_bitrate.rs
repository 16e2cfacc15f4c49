//! The acknowledged bitrate: what the receiver says actually arrived
//! (libwebrtc `BitrateEstimator`).
//!
//! Acknowledged bytes are summed over windows of arrival time (500 ms for
//! the first sample, 150 ms after) and each window's rate is merged into the
//! estimate by a scalar Bayesian update: a sample far from the estimate is
//! trusted less (its variance grows with the relative distance, times an
//! uncertainty scale of 10), and the estimate's own variance grows by 5 per
//! sample so that it keeps following real changes.

use std::time::Duration;

use crate::rate::Bitrate;

/// First window (`kInitialRateWindowMs`).
const INITIAL_WINDOW_MS: i64 = 500;
/// Later windows (`kRateWindowMs`).
const WINDOW_MS: i64 = 150;
/// Sample uncertainty scale (`uncertainty_scale`, also used in ALR here).
const UNCERTAINTY_SCALE: f64 = 10.0;
/// Variance added per update (the prediction step).
const VARIANCE_GROWTH: f64 = 5.0;
/// Initial variance.
const INITIAL_VARIANCE: f64 = 50.0;

/// The estimator state (rates in kbit/s, times in ms of the remote clock).
#[derive(Debug)]
pub(crate) struct AckedBitrate {
    sum_bytes: u64,
    window_ms: i64,
    prev_ms: Option<i64>,
    estimate_kbps: Option<f64>,
    variance: f64,
}

impl Default for AckedBitrate {
    fn default() -> Self {
        AckedBitrate { sum_bytes: 0, window_ms: 0, prev_ms: None, estimate_kbps: None, variance: INITIAL_VARIANCE }
    }
}

impl AckedBitrate {
    /// The estimate, once a full window was seen.
    pub(crate) fn bitrate(&self) -> Option<Bitrate> {
        self.estimate_kbps.map(|k| Bitrate::from_f64(k * 1_000.0))
    }

    /// One acknowledged packet, in arrival order.
    pub(crate) fn update(&mut self, arrival: Duration, bytes: usize) {
        let window = if self.estimate_kbps.is_none() { INITIAL_WINDOW_MS } else { WINDOW_MS };
        let Some(sample) = self.update_window(arrival.as_millis() as i64, bytes as u64, window) else { return };
        let Some(est) = self.estimate_kbps else {
            self.estimate_kbps = Some(sample);
            return;
        };
        let uncertainty = UNCERTAINTY_SCALE * (est - sample).abs() / est.max(1e-3);
        let sample_var = uncertainty * uncertainty;
        let pred_var = self.variance + VARIANCE_GROWTH;
        let new = (sample_var * est + pred_var * sample) / (sample_var + pred_var);
        self.estimate_kbps = Some(new.max(0.0));
        self.variance = sample_var * pred_var / (sample_var + pred_var);
    }

    /// Adds bytes to the window; returns the window's rate when it closes.
    fn update_window(&mut self, now_ms: i64, bytes: u64, window_ms: i64) -> Option<f64> {
        if self.prev_ms.is_some_and(|p| now_ms < p) {
            // Arrival times went backwards: start over.
            self.prev_ms = None;
            self.sum_bytes = 0;
            self.window_ms = 0;
        }
        if let Some(prev) = self.prev_ms {
            self.window_ms += now_ms - prev;
            if now_ms - prev > window_ms {
                // Nothing arrived for a whole window.
                self.sum_bytes = 0;
                self.window_ms %= window_ms;
            }
        }
        self.prev_ms = Some(now_ms);
        let mut sample = None;
        if self.window_ms >= window_ms {
            sample = Some(8.0 * self.sum_bytes as f64 / window_ms as f64);
            self.window_ms -= window_ms;
            self.sum_bytes = 0;
        }
        self.sum_bytes += bytes;
        sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(a: &mut AckedBitrate, from_ms: u64, to_ms: u64, every_ms: u64, bytes: usize) {
        let mut t = from_ms;
        while t < to_ms {
            a.update(Duration::from_millis(t), bytes);
            t += every_ms;
        }
    }

    #[test]
    fn measures_a_constant_rate() {
        let mut a = AckedBitrate::default();
        assert_eq!(a.bitrate(), None);
        // 1,000 B every 10 ms: 800 kbit/s.
        feed(&mut a, 0, 2_000, 10, 1_000);
        let r = a.bitrate().unwrap().as_f64();
        assert!((r - 800_000.0).abs() < 10_000.0, "{r}");
    }

    #[test]
    fn follows_a_drop() {
        let mut a = AckedBitrate::default();
        feed(&mut a, 0, 2_000, 10, 1_000);
        // Now 1,000 B every 40 ms: 200 kbit/s.
        // A sample far from the estimate is trusted little: it takes time.
        feed(&mut a, 2_000, 3_000, 40, 1_000);
        let after_1s = a.bitrate().unwrap().as_f64();
        assert!(after_1s < 350_000.0, "{after_1s}");
        feed(&mut a, 3_000, 4_000, 40, 1_000);
        let r = a.bitrate().unwrap().as_f64();
        assert!(r < 250_000.0, "{r}");
    }

    #[test]
    fn time_going_backwards_restarts_the_window() {
        let mut a = AckedBitrate::default();
        feed(&mut a, 1_000, 2_000, 10, 1_000);
        let before = a.bitrate();
        a.update(Duration::from_millis(10), 1_000);
        assert_eq!(a.bitrate(), before);
        assert_eq!(a.window_ms, 0);
    }
}
