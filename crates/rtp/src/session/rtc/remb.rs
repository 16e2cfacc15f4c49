//! A receive-side estimate for REMB, for peers that negotiated `goog-remb` without
//! transport-wide (or RFC 8888) feedback. It is not libwebrtc's receive-side GCC; it is a
//! simple, bounded rule on three measurements, updated every [`REMB_UPDATE_INTERVAL`]:
//!
//! - the incoming rate `R`: RTP bytes (media, RTX, padding) of the last second;
//! - the loss over the last second, from the streams' RFC 3550 counters;
//! - a standing queue: per stream, the one-way delay (arrival less RTP timestamp) at its
//!   lowest over the last 300 ms, above its lowest over the last 10 s. The minimum
//!   ignores the spread of a paced frame; only a queue that does not drain raises it.
//!
//! Then: loss above 10% halves the estimate (from at most `R`); else a standing queue
//! above 20 ms sets it to 0.85 × `R`; after either, it holds for a second (the queue
//! drains, `R` follows). Otherwise it is 1.5 × `R` (room for the sender to grow) until
//! the first decrease, and from then on grows by at most 8% a second from the larger of
//! itself and `R` (AIMD), never above 1.5 × `R`. The first is sent after a second of
//! packets, then every [`REMB_INTERVAL`], and at once when it falls by more than 3%. In a
//! pause (no packet for 500 ms) it is neither updated nor sent.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How often a REMB is sent while the estimate holds.
pub const REMB_INTERVAL: Duration = Duration::from_secs(1);
/// How often the estimate is updated while packets arrive.
pub const REMB_UPDATE_INTERVAL: Duration = Duration::from_millis(250);
/// A standing queue above this is congestion.
const QUEUE_THRESHOLD: Duration = Duration::from_millis(20);
/// The loss fraction that halves the estimate.
const LOSS_THRESHOLD: f64 = 0.10;
/// The window of the incoming rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// Bins of the incoming rate and of the delay minima.
const BIN: Duration = Duration::from_millis(100);
/// Bins of delay minima kept (10 s).
const DELAY_BINS: usize = 100;
/// Bins of the recent delay minimum (300 ms).
const RECENT_BINS: usize = 3;
/// Streams whose delay is followed at most.
const MAX_STREAMS: usize = 16;
/// The lowest estimate sent.
const MIN_ESTIMATE_BPS: u64 = 30_000;

/// One stream's one-way delay minima per bin.
#[derive(Debug)]
struct Delay {
    clock_rate: u32,
    /// The extended RTP timestamp of the last packet.
    last_ts: Option<(u32, i64)>,
    /// (bin start, lowest one-way delay in µs), oldest first.
    bins: VecDeque<(Instant, i64)>,
    heard: Instant,
}

impl Delay {
    /// The standing queue: the lowest delay of the last 300 ms above the lowest of 10 s;
    /// None before 2 s of history.
    fn queue(&self) -> Option<Duration> {
        let (first, _) = self.bins.front()?;
        let (last, _) = self.bins.back()?;
        if last.saturating_duration_since(*first) < 2 * RATE_WINDOW {
            return None;
        }
        let base = self.bins.iter().map(|b| b.1).min()?;
        let recent = self.bins.iter().rev().take(RECENT_BINS).map(|b| b.1).min()?;
        Some(Duration::from_micros(recent.saturating_sub(base).max(0) as u64))
    }
}

/// The receive-side estimate.
#[derive(Debug)]
pub(crate) struct RembEstimator {
    epoch: Instant,
    /// (bin start, bytes), oldest first.
    bytes: VecDeque<(Instant, u64)>,
    first_packet: Option<Instant>,
    delays: HashMap<u32, Delay>,
    /// The counters at the updates of the last second: (when, expected, lost).
    counters: VecDeque<(Instant, u64, i64)>,
    estimate: Option<u64>,
    /// No increase and no delay decrease before this.
    hold_until: Option<Instant>,
    /// The estimate was decreased once: it grows slowly from then on.
    decreased: bool,
    last_update: Option<Instant>,
    next_update: Option<Instant>,
    /// (when, what) was last sent.
    sent: Option<(Instant, u64)>,
}

impl RembEstimator {
    pub fn new(epoch: Instant) -> Self {
        RembEstimator {
            epoch,
            bytes: VecDeque::new(),
            first_packet: None,
            delays: HashMap::new(),
            counters: VecDeque::new(),
            estimate: None,
            hold_until: None,
            decreased: false,
            last_update: None,
            next_update: None,
            sent: None,
        }
    }

    /// An RTP packet of `size` bytes arrived at `now` on stream `ssrc` with RTP timestamp
    /// `ts` at `clock_rate` (None for RTX and padding: counted, not timed).
    pub fn on_packet(&mut self, now: Instant, size: usize, timing: Option<(u32, u32, u32)>) {
        self.first_packet.get_or_insert(now);
        match self.bytes.back_mut() {
            Some((start, bytes)) if now < *start + BIN => *bytes += size as u64,
            _ => self.bytes.push_back((now, size as u64)),
        }
        while self.bytes.front().is_some_and(|(start, _)| *start + RATE_WINDOW + BIN <= now) {
            self.bytes.pop_front();
        }
        self.next_update.get_or_insert(now + REMB_UPDATE_INTERVAL);
        let Some((ssrc, ts, clock_rate)) = timing else { return };
        if !self.delays.contains_key(&ssrc) && self.delays.len() >= MAX_STREAMS {
            if let Some(old) = self.delays.iter().min_by_key(|(_, d)| d.heard).map(|(k, _)| *k) {
                self.delays.remove(&old);
            }
        }
        let d = self.delays.entry(ssrc).or_insert_with(|| Delay {
            clock_rate: clock_rate.max(1),
            last_ts: None,
            bins: VecDeque::new(),
            heard: now,
        });
        d.heard = now;
        // The peer picks the timestamps: wide arithmetic, saturated, so that
        // no jump overflows.
        let ext = match d.last_ts {
            None => ts as i64,
            Some((last, ext)) => ext.saturating_add(ts.wrapping_sub(last) as i32 as i64),
        };
        d.last_ts = Some((ts, ext));
        let arrival_us = now.saturating_duration_since(self.epoch).as_micros() as i64;
        let media_us = (i128::from(ext) * 1_000_000 / i128::from(d.clock_rate)).clamp(i64::MIN.into(), i64::MAX.into());
        let owd = arrival_us.saturating_sub(media_us as i64);
        match d.bins.back_mut() {
            Some((start, min)) if now < *start + BIN => *min = (*min).min(owd),
            _ => d.bins.push_back((now, owd)),
        }
        while d.bins.len() > DELAY_BINS {
            d.bins.pop_front();
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_update
    }

    /// The incoming rate over the last second (or since the first packet), bits/s.
    fn incoming_bps(&self, now: Instant) -> u64 {
        let bins = || self.bytes.iter().filter(|(start, _)| *start + RATE_WINDOW > now);
        let bytes: u64 = bins().map(|b| b.1).sum();
        let span = bins().next().map_or(RATE_WINDOW, |(start, _)| now.saturating_duration_since(*start).max(BIN));
        (bytes * 8) * 1_000_000 / span.as_micros().max(1) as u64
    }

    /// Updates the estimate at `now` with the streams' cumulative `expected` and `lost`
    /// packets; returns the bitrate to send in a REMB now, if one is due.
    pub fn handle_timeout(&mut self, now: Instant, expected: u64, lost: i64) -> Option<u64> {
        if self.next_update.is_none_or(|t| now < t) {
            return None;
        }
        let recent = self.bytes.back().is_some_and(|(start, _)| *start + RATE_WINDOW > now);
        self.next_update = recent.then_some(now + REMB_UPDATE_INTERVAL);
        // Not before a second of packets; not in a pause (the estimate and the last REMB
        // stand until media resumes).
        let idle = self.bytes.back().is_none_or(|(start, _)| *start + 5 * BIN <= now);
        if idle || self.first_packet.is_some_and(|f| now < f + RATE_WINDOW) {
            return None;
        }
        let elapsed = self.last_update.map_or(REMB_UPDATE_INTERVAL, |t| now.saturating_duration_since(t));
        self.last_update = Some(now);
        while self.counters.front().is_some_and(|c| c.0 + RATE_WINDOW < now) || self.counters.len() > 8 {
            self.counters.pop_front();
        }
        let loss = match self.counters.front() {
            Some(&(_, e, l)) if expected > e => (lost - l).max(0) as f64 / (expected - e) as f64,
            _ => 0.0,
        };
        self.counters.push_back((now, expected, lost));
        let incoming = self.incoming_bps(now);
        let queue = self.delays.values().filter_map(Delay::queue).min();
        let held = self.hold_until.is_some_and(|t| now < t);
        let previous = self.estimate.unwrap_or(u64::MAX);
        let estimate = if held && (loss > LOSS_THRESHOLD || queue.is_some_and(|q| q > QUEUE_THRESHOLD)) {
            previous
        } else if loss > LOSS_THRESHOLD {
            self.hold_until = Some(now + RATE_WINDOW);
            self.decreased = true;
            previous.min(incoming) / 2
        } else if queue.is_some_and(|q| q > QUEUE_THRESHOLD) {
            self.hold_until = Some(now + RATE_WINDOW);
            self.decreased = true;
            previous.min(incoming * 85 / 100)
        } else if held {
            previous
        } else if self.decreased {
            let grown = previous.max(incoming) as f64 * (1.0 + 0.08 * elapsed.as_secs_f64());
            (incoming * 3 / 2).min(grown as u64)
        } else {
            incoming * 3 / 2
        };
        let estimate = estimate.max(MIN_ESTIMATE_BPS);
        self.estimate = Some(estimate);
        let due = match self.sent {
            None => true,
            Some((at, value)) => now >= at + REMB_INTERVAL || estimate * 100 < value * 97,
        };
        if due {
            self.sent = Some((now, estimate));
            return Some(estimate);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Feeds 1 s of 1 Mbit/s (125 packets of 1,000 bytes, 8 ms apart) from `start`, with
    /// `delay(i)` added to each arrival; runs the updates; returns the REMBs.
    fn feed(e: &mut RembEstimator, t0: Instant, start: u64, delay: impl Fn(u64) -> u64) -> Vec<u64> {
        let mut out = Vec::new();
        for i in start * 125..(start + 1) * 125 {
            let at = t0 + Duration::from_millis(i * 8 + delay(i));
            if let Some(t) = e.poll_timeout().filter(|t| *t <= at) {
                out.extend(e.handle_timeout(t, i, 0));
            }
            e.on_packet(at, 1_000, Some((1, (i * 8 * 90) as u32, 90_000)));
        }
        out
    }

    #[test]
    fn the_estimate_is_one_and_a_half_times_the_incoming_rate_and_falls_on_a_standing_queue() {
        let t0 = Instant::now();
        let mut e = RembEstimator::new(t0);
        let mut rembs = Vec::new();
        for s in 0..4 {
            rembs.extend(feed(&mut e, t0, s, |_| 0));
        }
        let last = *rembs.last().unwrap();
        assert!((1_400_000..=1_600_000).contains(&last), "{rembs:?}");
        // Then the delay grows by 1 ms per packet up to 100 ms: a standing queue.
        for s in 4..6 {
            rembs.extend(feed(&mut e, t0, s, |i| (i - 500).min(100)));
        }
        let last = *rembs.last().unwrap();
        assert!(last <= 900_000, "{rembs:?}");
    }

    /// A peer's timestamps jump by half the 32-bit range, forever in one
    /// direction, on a 1 Hz clock: the wide, saturating arithmetic neither
    /// overflows (a debug build would panic) nor stops the estimate.
    #[test]
    fn hostile_timestamp_jumps_neither_overflow_nor_stop_the_estimate() {
        let t0 = Instant::now();
        let mut e = RembEstimator::new(t0);
        let mut ts = 0u32;
        let mut rembs = Vec::new();
        // 5,000 jumps of 2^31 ticks: past where microseconds (x 1e6) overflow an i64.
        for i in 0..5_000u64 {
            let at = t0 + Duration::from_millis(i * 2);
            if let Some(t) = e.poll_timeout().filter(|t| *t <= at) {
                rembs.extend(e.handle_timeout(t, i, 0));
            }
            ts = ts.wrapping_add(0x7fff_ffff);
            e.on_packet(at, 1_000, Some((7, ts, 1)));
            e.on_packet(at, 1_000, Some((8, ts.wrapping_neg(), 0)));
        }
        assert!(!rembs.is_empty(), "estimates kept coming");
    }

    #[test]
    fn heavy_loss_halves_it() {
        let t0 = Instant::now();
        let mut e = RembEstimator::new(t0);
        for s in 0..3 {
            feed(&mut e, t0, s, |_| 0);
        }
        let at = t0 + 3000 * MS;
        e.on_packet(at, 1_000, None);
        let before = e.estimate.unwrap();
        // 20% of what was expected since the last update was lost.
        let remb = e.handle_timeout(e.poll_timeout().unwrap().max(at), 1_000, 200);
        assert!(remb.is_some_and(|r| r <= before / 2 + 1), "{remb:?} after {before}");
    }
}
