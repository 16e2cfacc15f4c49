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
/// Variance added when the rate is about to change fast (libwebrtc adds the
/// same in `ExpectFastRateChange`).
const FAST_CHANGE_VARIANCE: f64 = 200.0;

/// The estimator state (rates in kbit/s, times in ms of the remote clock).
#[derive(Debug)]
pub(crate) struct AckedBitrate {
    sum_bytes: u64,
    window_ms: i64,
    prev_ms: Option<i64>,
    estimate_kbps: Option<f64>,
    variance: f64,
    /// A fast change is expected from the next packet on.
    fast_change_next: bool,
    /// The open window holds packets of the expected fast change: trust
    /// its sample more.
    fast_change_in_window: bool,
}

impl Default for AckedBitrate {
    fn default() -> Self {
        AckedBitrate {
            sum_bytes: 0,
            window_ms: 0,
            prev_ms: None,
            estimate_kbps: None,
            variance: INITIAL_VARIANCE,
            fast_change_next: false,
            fast_change_in_window: false,
        }
    }
}

impl AckedBitrate {
    /// The estimate, once a full window was seen.
    pub(crate) fn bitrate(&self) -> Option<Bitrate> {
        self.estimate_kbps.map(|k| Bitrate::from_f64(k * 1_000.0))
    }

    /// The packets from the next one on were sent at a rate that may differ
    /// much from before (the application stopped being the limit): the
    /// first window that holds them is trusted more, so that the estimate
    /// leaves the application-limited rate in a few windows instead of
    /// many. (libwebrtc raises the variance at once; here it is raised for
    /// the first window holding such a packet, so that a window of the old
    /// rate closing first does not use it up.)
    pub(crate) fn expect_fast_rate_change(&mut self) {
        self.fast_change_next = true;
    }

    /// One acknowledged packet, in arrival order.
    pub(crate) fn update(&mut self, arrival: Duration, bytes: usize) {
        let window = if self.estimate_kbps.is_none() { INITIAL_WINDOW_MS } else { WINDOW_MS };
        let Some((sample, fast)) = self.update_window(arrival.as_millis() as i64, bytes as u64, window) else {
            return;
        };
        let Some(est) = self.estimate_kbps else {
            self.estimate_kbps = Some(sample);
            return;
        };
        let uncertainty = UNCERTAINTY_SCALE * (est - sample).abs() / est.max(1e-3);
        let sample_var = uncertainty * uncertainty;
        if fast {
            self.variance += FAST_CHANGE_VARIANCE;
        }
        let pred_var = self.variance + VARIANCE_GROWTH;
        let new = (sample_var * est + pred_var * sample) / (sample_var + pred_var);
        self.estimate_kbps = Some(new.max(0.0));
        self.variance = sample_var * pred_var / (sample_var + pred_var);
    }

    /// Adds bytes to the window; returns the window's rate when it closes,
    /// and whether it held packets of an expected fast change.
    fn update_window(&mut self, now_ms: i64, bytes: u64, window_ms: i64) -> Option<(f64, bool)> {
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
            let fast = std::mem::take(&mut self.fast_change_in_window);
            sample = Some((8.0 * self.sum_bytes as f64 / window_ms as f64, fast));
            self.window_ms -= window_ms;
            self.sum_bytes = 0;
        }
        self.sum_bytes += bytes;
        if std::mem::take(&mut self.fast_change_next) {
            self.fast_change_in_window = true;
        }
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
    fn an_expected_fast_change_is_followed_sooner() {
        // 200 kbit/s for 20 s (an audio-only sender), then 1.6 Mbit/s.
        let run = |fast: bool| {
            let mut a = AckedBitrate::default();
            feed(&mut a, 0, 20_000, 40, 1_000);
            if fast {
                a.expect_fast_rate_change();
            }
            feed(&mut a, 20_000, 21_000, 5, 1_000);
            a.bitrate().unwrap().as_f64()
        };
        let (slow, fast) = (run(false), run(true));
        assert!(slow < 400_000.0, "{slow}");
        assert!(fast > 1_200_000.0, "{fast}");
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
