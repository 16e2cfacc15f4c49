//! The trendline filter: the slope of the queuing delay over time.
//!
//! The GCC draft (draft-ietf-rmcat-gcc-02 section 5.3) estimates the delay
//! gradient with a Kalman filter; libwebrtc replaced it with this simpler
//! filter. Each group delta `d = arrival_delta - send_delta` is accumulated
//! into a delay curve, smoothed exponentially, and a least-squares line is
//! fitted through the last 20 points (smoothed delay against arrival time).
//! Its slope is about `(send_rate - capacity) / capacity`: positive while a
//! queue builds, negative while it drains.

use std::collections::VecDeque;

/// Points in the regression (libwebrtc `kDefaultTrendlineWindowSize`).
pub(crate) const WINDOW: usize = 20;
/// Exponential smoothing of the accumulated delay
/// (`kDefaultTrendlineSmoothingCoeff`).
const SMOOTHING: f64 = 0.9;

/// The filter state.
#[derive(Debug, Default)]
pub(crate) struct Trendline {
    first_arrival_ms: Option<f64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    /// (arrival time since the first sample, smoothed delay), in ms.
    points: VecDeque<(f64, f64)>,
    slope: f64,
    deltas: u32,
}

impl Trendline {
    /// Adds one group delta; returns the current slope (the previous one
    /// until the window is full or when no line fits).
    pub(crate) fn update(&mut self, arrival_delta_ms: f64, send_delta_ms: f64, arrival_ms: f64) -> f64 {
        self.deltas = (self.deltas + 1).min(1000);
        let first = *self.first_arrival_ms.get_or_insert(arrival_ms);
        self.accumulated_ms += arrival_delta_ms - send_delta_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        self.points.push_back((arrival_ms - first, self.smoothed_ms));
        if self.points.len() > WINDOW {
            self.points.pop_front();
        }
        if self.points.len() == WINDOW {
            if let Some(slope) = fit_slope(&self.points) {
                self.slope = slope;
            }
        }
        self.slope
    }

    /// Group deltas seen so far (capped at 1000, as libwebrtc's
    /// `kDeltaCounterMax`).
    pub(crate) fn deltas(&self) -> u32 {
        self.deltas
    }
}

/// Least-squares slope of y over x; `None` if all x are equal.
fn fit_slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let (sx, sy) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) =
        points.iter().fold((0.0, 0.0), |(num, den), (x, y)| (num + (x - mx) * (y - my), den + (x - mx) * (x - mx)));
    (den != 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_delay_has_zero_slope() {
        let mut t = Trendline::default();
        let mut slope = 1.0;
        for i in 0..50 {
            slope = t.update(10.0, 10.0, f64::from(i) * 10.0);
        }
        assert_eq!(slope, 0.0);
        assert_eq!(t.deltas(), 50);
    }

    #[test]
    fn growing_queue_has_positive_slope() {
        // Sending 10% faster than the link: each 10 ms of sending takes
        // 11 ms to arrive, so delay grows by 0.1 ms per ms.
        let mut t = Trendline::default();
        let mut slope = 0.0;
        for i in 0..200 {
            slope = t.update(11.0, 10.0, f64::from(i) * 11.0);
        }
        assert!((slope - 1.0 / 11.0).abs() < 0.01, "{slope}");
    }

    #[test]
    fn draining_queue_has_negative_slope() {
        let mut t = Trendline::default();
        let mut slope = 0.0;
        for i in 0..200 {
            slope = t.update(8.0, 10.0, f64::from(i) * 8.0);
        }
        assert!(slope < -0.2, "{slope}");
    }

    #[test]
    fn no_slope_before_the_window_is_full() {
        let mut t = Trendline::default();
        for i in 0..WINDOW - 1 {
            assert_eq!(t.update(20.0, 10.0, i as f64 * 20.0), 0.0);
        }
        assert!(t.update(20.0, 10.0, 400.0) > 0.0);
    }
}
