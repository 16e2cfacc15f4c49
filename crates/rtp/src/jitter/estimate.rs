//! The measurements both buffers share: a windowed minimum (the fastest path
//! a packet took), a histogram of relative delays with forgetting (audio, in
//! the manner of NetEq's delay manager) and a frame delay variation filter
//! (video, a reduced form of libwebrtc's `JitterEstimator`).

use std::collections::VecDeque;

/// The minimum of the values pushed during the last `window` nanoseconds,
/// holding at most `cap` candidates (a monotonic deque: pushing is amortized
/// O(1) and the minimum is the front).
#[derive(Debug, Clone)]
pub(crate) struct MinWindow {
    window: i64,
    cap: usize,
    items: VecDeque<(i64, i64)>,
}

impl MinWindow {
    pub(crate) fn new(window: i64, cap: usize) -> Self {
        MinWindow { window, cap: cap.max(1), items: VecDeque::new() }
    }

    /// Adds `value` seen at time `at` (nanoseconds, non-decreasing).
    pub(crate) fn push(&mut self, at: i64, value: i64) {
        while self.items.back().is_some_and(|&(_, v)| v >= value) {
            self.items.pop_back();
        }
        self.items.push_back((at, value));
        while self.items.len() > self.cap || self.items.front().is_some_and(|&(t, _)| t < at - self.window) {
            self.items.pop_front();
        }
    }

    /// The smallest value in the window, if any.
    pub(crate) fn min(&self) -> Option<i64> {
        self.items.front().map(|&(_, v)| v)
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }
}

/// A histogram of delays in fixed buckets whose mass forgets old samples
/// geometrically: each sample multiplies every bucket by `forget` and adds
/// `1 - forget` to its own, so the buckets always sum to one. The first
/// samples weigh more (the factor ramps up as `(n - 1) / n`), so the
/// histogram is meaningful after a handful of packets.
#[derive(Debug, Clone)]
pub(crate) struct DelayHistogram {
    buckets: Vec<f64>,
    bucket_ns: i64,
    forget: f64,
    samples: u64,
}

impl DelayHistogram {
    /// Buckets of `bucket_ns` covering `0..=max_ns` (the last one also takes
    /// anything above).
    pub(crate) fn new(bucket_ns: i64, max_ns: i64, forget: f64) -> Self {
        let count = (max_ns / bucket_ns.max(1)).clamp(1, 4096) as usize + 1;
        DelayHistogram { buckets: vec![0.0; count], bucket_ns: bucket_ns.max(1), forget, samples: 0 }
    }

    pub(crate) fn add(&mut self, delay_ns: i64) {
        self.samples += 1;
        let ramp = (self.samples - 1) as f64 / self.samples as f64;
        let f = self.forget.min(ramp);
        let idx = ((delay_ns.max(0) / self.bucket_ns) as usize).min(self.buckets.len() - 1);
        for b in &mut self.buckets {
            *b *= f;
        }
        self.buckets[idx] += 1.0 - f;
    }

    /// The upper edge of the bucket where the cumulative mass reaches `q`;
    /// zero before any sample.
    pub(crate) fn quantile(&self, q: f64) -> i64 {
        if self.samples == 0 {
            return 0;
        }
        let mut sum = 0.0;
        for (i, b) in self.buckets.iter().enumerate() {
            sum += b;
            if sum >= q {
                return (i as i64 + 1) * self.bucket_ns;
            }
        }
        self.buckets.len() as i64 * self.bucket_ns
    }

    pub(crate) fn clear(&mut self) {
        self.buckets.iter_mut().for_each(|b| *b = 0.0);
        self.samples = 0;
    }
}

/// libwebrtc's `JitterEstimator` without its frame-size term: the frame delay
/// variation `d = (arrival - previous arrival) - (timestamp - previous
/// timestamp)` is filtered into a mean and a variance with an exponential
/// weight that ramps up to 1/400 (libwebrtc's `kAlphaCountMax`), samples
/// beyond 15 standard deviations are clipped (`kNumStdDevDelayOutlier`), and
/// the jitter is 2.33 standard deviations (`kNoiseStdDevs`: under 1% of
/// frames late for Gaussian noise). libwebrtc subtracts 30 ms from that
/// because its frame-size term covers the bulk; without that term we keep the
/// whole noise estimate.
#[derive(Debug, Clone)]
pub(crate) struct FrameDelayFilter {
    mean_ms: f64,
    var_ms2: f64,
    count: u32,
}

const ALPHA_COUNT_MAX: u32 = 400;
const OUTLIER_STD_DEVS: f64 = 15.0;
const NOISE_STD_DEVS: f64 = 2.33;
/// libwebrtc's initial noise variance (4 ms²).
const INITIAL_VAR_MS2: f64 = 4.0;

impl Default for FrameDelayFilter {
    fn default() -> Self {
        FrameDelayFilter { mean_ms: 0.0, var_ms2: INITIAL_VAR_MS2, count: 0 }
    }
}

impl FrameDelayFilter {
    /// Adds one frame delay variation, in milliseconds.
    pub(crate) fn add(&mut self, d_ms: f64) {
        self.count = (self.count + 1).min(ALPHA_COUNT_MAX);
        let alpha = if self.count < 2 { 0.5 } else { (self.count - 1) as f64 / self.count as f64 };
        let limit = OUTLIER_STD_DEVS * self.var_ms2.sqrt();
        let dev = (d_ms - self.mean_ms).clamp(-limit, limit);
        self.mean_ms += (1.0 - alpha) * dev;
        self.var_ms2 = (alpha * self.var_ms2 + (1.0 - alpha) * dev * dev).max(1e-3);
    }

    /// The jitter estimate in milliseconds.
    pub(crate) fn jitter_ms(&self) -> f64 {
        NOISE_STD_DEVS * self.var_ms2.sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_window_forgets_by_time_and_count() {
        let mut w = MinWindow::new(100, 3);
        w.push(0, 5);
        w.push(10, 7);
        assert_eq!(w.min(), Some(5));
        w.push(105, 9);
        assert_eq!(w.min(), Some(7), "the 5 left the window");
        w.push(106, 1);
        assert_eq!(w.min(), Some(1));
    }

    #[test]
    fn histogram_quantile_moves_with_repeated_spikes_and_forgets() {
        let mut h = DelayHistogram::new(5, 1000, 0.983);
        for _ in 0..300 {
            h.add(3);
        }
        assert_eq!(h.quantile(0.97), 5);
        h.add(200);
        assert_eq!(h.quantile(0.97), 5, "one spike does not move the 97th percentile");
        for _ in 0..3 {
            h.add(200);
        }
        assert_eq!(h.quantile(0.97), 205, "repeated spikes do");
        for _ in 0..300 {
            h.add(3);
        }
        assert_eq!(h.quantile(0.97), 5, "and they are forgotten");
    }

    #[test]
    fn frame_filter_tracks_noise() {
        let mut f = FrameDelayFilter::default();
        for i in 0..1000 {
            f.add(if i % 2 == 0 { 10.0 } else { -10.0 });
        }
        assert!((f.jitter_ms() - 23.3).abs() < 2.0, "{}", f.jitter_ms());
    }
}
