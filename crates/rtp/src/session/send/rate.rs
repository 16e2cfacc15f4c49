//! Bytes over a sliding window, counted in fixed buckets: constant memory and O(1) work per
//! packet whatever the packet rate, so a flood cannot grow it.

use std::time::{Duration, Instant};

/// The bytes of the last `window`, in `buckets` equal slices; the current slice is partial,
/// so a sum covers between `window - window / buckets` and `window` of time.
#[derive(Clone, Debug)]
pub(crate) struct ByteWindow {
    bucket: Duration,
    buckets: Vec<u64>,
    /// The slot of the current bucket.
    head: usize,
    /// When the current bucket began; `None` before the first sample.
    head_start: Option<Instant>,
    total: u64,
}

impl ByteWindow {
    /// A window of `window` in `buckets` slices (at least one, at least 1 ms each).
    pub(crate) fn new(window: Duration, buckets: usize) -> Self {
        let buckets = buckets.max(1);
        let bucket = (window / buckets as u32).max(Duration::from_millis(1));
        ByteWindow { bucket, buckets: vec![0; buckets], head: 0, head_start: None, total: 0 }
    }

    /// The window's span.
    pub(crate) fn window(&self) -> Duration {
        self.bucket * self.buckets.len() as u32
    }

    /// Moves the window to `now`, forgetting the buckets that left it. Time going
    /// backwards counts as the current bucket.
    fn advance(&mut self, now: Instant) {
        let Some(start) = self.head_start else {
            self.head_start = Some(now);
            return;
        };
        if now < start + self.bucket {
            return;
        }
        let bucket_ns = self.bucket.as_nanos();
        let elapsed_ns = (now - start).as_nanos();
        let steps = elapsed_ns / bucket_ns;
        let n = self.buckets.len();
        if steps >= n as u128 {
            self.buckets.iter_mut().for_each(|b| *b = 0);
            self.total = 0;
        } else {
            for _ in 0..steps {
                self.head = (self.head + 1) % n;
                self.total -= self.buckets[self.head];
                self.buckets[self.head] = 0;
            }
        }
        self.head_start = Some(now - Duration::from_nanos((elapsed_ns % bucket_ns) as u64));
    }

    /// Counts `bytes` at `now`.
    pub(crate) fn add(&mut self, now: Instant, bytes: u64) {
        self.advance(now);
        self.buckets[self.head] += bytes;
        self.total += bytes;
    }

    /// The bytes counted within the window ending at `now`.
    pub(crate) fn sum(&mut self, now: Instant) -> u64 {
        self.advance(now);
        self.total
    }

    /// The rate over the window ending at `now`, in bits per second.
    pub(crate) fn bitrate(&mut self, now: Instant) -> u64 {
        let window_ns = self.window().as_nanos().max(1);
        (self.sum(now) as u128 * 8 * 1_000_000_000 / window_ns) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_what_left_the_window() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = ByteWindow::new(ms(500), 20);
        assert_eq!(w.window(), ms(500));
        w.add(t0, 100);
        w.add(t0 + ms(10), 50);
        w.add(t0 + ms(260), 25);
        assert_eq!(w.sum(t0 + ms(499)), 175);
        // The first bucket (0..25 ms) leaves once 20 buckets have started after it.
        assert_eq!(w.sum(t0 + ms(500)), 25);
        assert_eq!(w.sum(t0 + ms(760)), 0);
        w.add(t0 + ms(10_000), 7);
        assert_eq!(w.sum(t0 + ms(10_001)), 7);
    }

    #[test]
    fn bitrate_of_a_steady_flow() {
        let t0 = Instant::now();
        let mut w = ByteWindow::new(Duration::from_millis(500), 20);
        // 1250 bytes every 10 ms: 1 Mbit/s.
        for i in 0..200 {
            w.add(t0 + Duration::from_millis(10 * i), 1250);
        }
        let rate = w.bitrate(t0 + Duration::from_millis(1995));
        assert!((960_000..=1_000_000).contains(&rate), "{rate}");
    }

    #[test]
    fn time_going_backwards_is_the_current_bucket() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let mut w = ByteWindow::new(Duration::from_millis(100), 4);
        w.add(t0, 10);
        w.add(t0 - Duration::from_millis(300), 5);
        assert_eq!(w.sum(t0), 15);
    }
}
