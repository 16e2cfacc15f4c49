//! The audio jitter buffer: packets in, one frame per frame duration out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::estimate::{DelayHistogram, MinWindow};
use super::{duration, instant_at, nanos, nanos_since, ticks_to_nanos};
use crate::packet::extend_timestamp;

/// Settings of an [`AudioJitterBuffer`]; [`AudioJitterConfig::new`] gives the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioJitterConfig {
    /// The RTP clock rate in Hz (48000 for Opus).
    pub clock_rate: u32,
    /// The frame duration assumed until two consecutive packets show it.
    pub frame_duration: Duration,
    /// The least delay kept above the fastest packet's path.
    pub min_delay: Duration,
    /// The most delay kept; packets that would need more are late.
    pub max_delay: Duration,
    /// Added to the measured percentile, for jitter not seen yet.
    pub headroom: Duration,
    /// The share of packets the target delay should cover (NetEq: 0.95; we
    /// keep 0.97 as we cannot time-stretch away a late packet).
    pub quantile: f64,
    /// How much of the histogram each new packet keeps (NetEq: 0.983, about
    /// the last 60 packets carrying the weight).
    pub forget_factor: f64,
    /// At most this many packets are held; beyond it the oldest is dropped.
    pub max_packets: usize,
    /// Delay is removed at most one frame per this interval (slow decay).
    pub decrease_interval: Duration,
    /// After this much concealment in a row with nothing buffered the stream
    /// is idle: output stops and the next packet starts a fresh playout.
    pub max_conceal: Duration,
}

impl AudioJitterConfig {
    /// Defaults for a stream at `clock_rate`: 20 ms frames, delay between 20
    /// ms and 1 s, 10 ms headroom, 97th percentile, 250 packets.
    pub fn new(clock_rate: u32) -> Self {
        AudioJitterConfig {
            clock_rate,
            frame_duration: Duration::from_millis(20),
            min_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(1),
            headroom: Duration::from_millis(10),
            quantile: 0.97,
            forget_factor: 0.983,
            max_packets: 250,
            decrease_interval: Duration::from_millis(500),
            max_conceal: Duration::from_millis(500),
        }
    }
}

/// One frame to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Its RTP sequence number.
    pub sequence: u16,
    /// The payload (an Opus packet, G.711 samples...).
    pub payload: Bytes,
}

/// Why a [`Conceal`] was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcealReason {
    /// The frame due now never arrived (lost, or it will arrive late): an underrun.
    Missing,
    /// The buffer is growing its delay by one frame; the frame due stays for later.
    Stretch,
}

/// One frame's worth of audio the decoder must make up (packet loss
/// concealment, or comfort noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conceal {
    /// The RTP timestamp of the frame slot.
    pub timestamp: u32,
    /// How many RTP clock ticks to make up.
    pub samples: u32,
    /// Why.
    pub reason: ConcealReason,
}

/// One output of [`AudioJitterBuffer::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioOutput {
    /// Decode this frame now.
    Frame(AudioFrame),
    /// Conceal one frame now.
    Conceal(Conceal),
}

/// Counters and the current delay of an [`AudioJitterBuffer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioJitterStats {
    /// Packets given to `insert`.
    pub inserted: u64,
    /// Frames played.
    pub played: u64,
    /// Frames concealed because they were missing when due (underruns).
    pub concealed: u64,
    /// Concealment frames inserted to grow the delay.
    pub stretched: u64,
    /// Frames skipped to shrink the delay.
    pub skipped: u64,
    /// Packets that arrived after their playout time (duplicates of played
    /// frames included), dropped.
    pub late: u64,
    /// Packets already buffered, dropped.
    pub duplicates: u64,
    /// Packets dropped because the buffer was full.
    pub overflowed: u64,
    /// Packets dropped as timestamp outliers (far from the stream's timeline).
    pub outliers: u64,
    /// Times the playout restarted because the timeline jumped.
    pub resets: u64,
    /// The delay the buffer aims for, above the fastest path.
    pub target_delay: Duration,
    /// The delay it keeps now, above the fastest path.
    pub current_delay: Duration,
    /// Packets held.
    pub buffered: usize,
}

/// Outliers in a row that are taken as a jump of the sender's timeline.
const OUTLIERS_TO_RESET: u32 = 3;
/// Bucket width of the delay histogram.
const BUCKET: Duration = Duration::from_millis(5);
/// How long the fastest path is remembered.
const BASELINE_WINDOW: Duration = Duration::from_secs(5);
/// The longest frame the buffer learns (Opus allows 120 ms).
const MAX_FRAME: Duration = Duration::from_millis(120);

struct Packet {
    sequence: u16,
    payload: Bytes,
}

/// Where playout stands: the next frame slot and the mapping of RTP time to local time.
struct Playout {
    /// Extended timestamp of the next frame slot.
    next_ts: u64,
    /// Local time (ns since the epoch) minus media time (ns since the first
    /// timestamp): a slot is due at its media time plus this.
    offset: i64,
    /// Nothing was output since the playout was anchored.
    fresh: bool,
    concealed_in_a_row: u32,
    last_decrease: Option<i64>,
}

/// An adaptive jitter buffer for one audio stream; see the [module
/// documentation](super) for the contract.
///
/// Every packet measures its relative delay: its arrival minus its media
/// time, above the smallest such value in the last 5 s (the fastest path). A
/// histogram of those delays with forgetting gives a percentile; the target
/// delay is that percentile plus headroom, within the configured bounds. The
/// playout keeps its delay at or just above the target: when the target
/// rises it emits one [`ConcealReason::Stretch`] per due slot until the delay
/// covers it (fast), when the target falls more than a frame and a half
/// below the delay it skips one frame at most every `decrease_interval`
/// (slow). After `max_conceal` of silence the playout stops and the next
/// talkspurt starts at the target delay.
pub struct AudioJitterBuffer {
    config: AudioJitterConfig,
    epoch: Option<Instant>,
    origin_ts: u64,
    highest_ts: u64,
    frame_samples: u64,
    last_packet: Option<(u16, u64)>,
    packets: BTreeMap<u64, Packet>,
    baseline: MinWindow,
    histogram: DelayHistogram,
    playout: Option<Playout>,
    outliers_in_a_row: u32,
    stats: AudioJitterStats,
}

impl AudioJitterBuffer {
    /// An empty buffer.
    pub fn new(config: AudioJitterConfig) -> Self {
        let frame_samples = (config.frame_duration.as_nanos() * config.clock_rate as u128 / 1_000_000_000).max(1);
        AudioJitterBuffer {
            baseline: MinWindow::new(nanos(BASELINE_WINDOW), 4096),
            histogram: DelayHistogram::new(nanos(BUCKET), nanos(config.max_delay), config.forget_factor),
            frame_samples: frame_samples as u64,
            config,
            epoch: None,
            origin_ts: 0,
            highest_ts: 0,
            last_packet: None,
            packets: BTreeMap::new(),
            playout: None,
            outliers_in_a_row: 0,
            stats: AudioJitterStats::default(),
        }
    }

    /// Counters and delays.
    pub fn stats(&self) -> AudioJitterStats {
        let mut stats = self.stats.clone();
        stats.target_delay = duration(self.target());
        stats.current_delay = match (&self.playout, self.baseline.min()) {
            (Some(p), Some(base)) => duration(p.offset - base),
            _ => Duration::ZERO,
        };
        stats.buffered = self.packets.len();
        stats
    }

    /// The target delay above the fastest path, in ns.
    fn target(&self) -> i64 {
        let estimate = self.histogram.quantile(self.config.quantile) + nanos(self.config.headroom);
        estimate.clamp(nanos(self.config.min_delay), nanos(self.config.max_delay).max(nanos(self.config.min_delay)))
    }

    fn media_nanos(&self, ext_ts: u64) -> i64 {
        ticks_to_nanos(ext_ts as i64 - self.origin_ts as i64, self.config.clock_rate)
    }

    fn frame_nanos(&self) -> i64 {
        ticks_to_nanos(self.frame_samples as i64, self.config.clock_rate)
    }

    /// Takes one received packet: its sequence number, RTP timestamp and payload.
    pub fn insert(&mut self, now: Instant, sequence: u16, timestamp: u32, payload: Bytes) {
        self.stats.inserted += 1;
        let epoch = *self.epoch.get_or_insert(now);
        if self.last_packet.is_none() {
            // One cycle up, so timestamps before the first stay positive.
            self.origin_ts = timestamp as u64 + (1 << 32);
            self.highest_ts = self.origin_ts;
        }
        let ext = extend_timestamp(self.highest_ts, timestamp);
        let arrival = nanos_since(epoch, now);
        let relative = arrival - self.media_nanos(ext);

        if let Some(base) = self.baseline.min() {
            let limit = 2 * nanos(self.config.max_delay).max(nanos(Duration::from_secs(1)));
            if (relative - base).abs() > limit {
                self.outliers_in_a_row += 1;
                if self.outliers_in_a_row < OUTLIERS_TO_RESET {
                    self.stats.outliers += 1;
                    return;
                }
                self.reset();
                return self.insert_counted(now, sequence, timestamp, payload);
            }
        }
        self.outliers_in_a_row = 0;
        self.highest_ts = self.highest_ts.max(ext);
        self.learn_frame_size(sequence, ext);
        self.baseline.push(arrival, relative);
        let base = self.baseline.min().unwrap_or(relative);
        self.histogram.add(relative - base);

        let media = self.media_nanos(ext);
        if let Some(p) = &mut self.playout {
            if ext < p.next_ts {
                if !p.fresh {
                    self.stats.late += 1;
                    return;
                }
                // Nothing played yet: start earlier, later if need be.
                p.next_ts = ext;
                p.offset = p.offset.max(arrival - media);
            }
        }
        if self.packets.contains_key(&ext) {
            self.stats.duplicates += 1;
            return;
        }
        self.packets.insert(ext, Packet { sequence, payload });
        while self.packets.len() > self.config.max_packets.max(1) {
            self.packets.pop_first();
            self.stats.overflowed += 1;
        }
        if self.playout.is_none() {
            let offset = (base + self.target()).max(relative);
            self.playout =
                Some(Playout { next_ts: ext, offset, fresh: true, concealed_in_a_row: 0, last_decrease: None });
        }
    }

    /// `insert` after a reset, which must not count the packet twice.
    fn insert_counted(&mut self, now: Instant, sequence: u16, timestamp: u32, payload: Bytes) {
        self.stats.inserted -= 1;
        self.insert(now, sequence, timestamp, payload);
    }

    fn reset(&mut self) {
        self.stats.resets += 1;
        self.stats.overflowed += self.packets.len() as u64;
        self.packets.clear();
        self.playout = None;
        self.epoch = None;
        self.last_packet = None;
        self.baseline.clear();
        self.histogram.clear();
        self.outliers_in_a_row = 0;
    }

    fn learn_frame_size(&mut self, sequence: u16, ext: u64) {
        if let Some((seq, ts)) = self.last_packet {
            let max = (MAX_FRAME.as_millis() as u64 * self.config.clock_rate as u64) / 1000;
            if sequence == seq.wrapping_add(1) && ext > ts && ext - ts <= max {
                self.frame_samples = ext - ts;
            }
        }
        self.last_packet = Some((sequence, ext));
    }

    /// When the next output is due, if playing.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let p = self.playout.as_ref()?;
        Some(instant_at(self.epoch?, self.media_nanos(p.next_ts) + p.offset))
    }

    /// The output due at `now`, if any: call again until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<AudioOutput> {
        let epoch = self.epoch?;
        let now = nanos_since(epoch, now);
        let frame = self.frame_nanos();
        let desired = self.baseline.min()? + self.target();
        let max_delay = nanos(self.config.max_delay);
        let decrease_interval = nanos(self.config.decrease_interval);
        let mut p = self.playout.take()?;
        if now < self.media_nanos(p.next_ts) + p.offset {
            self.playout = Some(p);
            return None;
        }
        // Packets behind the slot were passed over: late.
        while self.packets.first_key_value().is_some_and(|(&ts, _)| ts < p.next_ts) {
            self.packets.pop_first();
            self.stats.late += 1;
        }
        let slot_samples = self.frame_samples as u32;
        if desired > p.offset && !p.fresh {
            // Grow the delay by one frame: conceal now, play the slot one frame later.
            p.offset += frame;
            self.stats.stretched += 1;
            let out = Conceal { timestamp: p.next_ts as u32, samples: slot_samples, reason: ConcealReason::Stretch };
            self.playout = Some(p);
            return Some(AudioOutput::Conceal(out));
        }
        // Shrink the delay by skipping frames: rate-limited unless above the maximum.
        let base = desired - self.target();
        while p.offset - frame >= desired + frame / 2
            && (p.offset - base > max_delay || p.last_decrease.is_none_or(|t| now - t >= decrease_interval))
        {
            let Some((&ts, _)) = self.packets.first_key_value() else { break };
            let next_frame = ts + self.frame_samples;
            if ts >= p.next_ts + self.frame_samples || !self.packets.contains_key(&next_frame) {
                break; // only skip a frame whose successor is here
            }
            self.packets.pop_first();
            self.stats.skipped += 1;
            p.next_ts = next_frame;
            p.offset -= frame;
            p.last_decrease = Some(now);
        }
        p.fresh = false;
        let out = match self.packets.first_key_value() {
            Some((&ts, _)) if ts < p.next_ts + self.frame_samples => {
                let (ts, packet) = self.packets.pop_first()?;
                p.next_ts = ts + self.frame_samples;
                p.concealed_in_a_row = 0;
                self.stats.played += 1;
                AudioOutput::Frame(AudioFrame {
                    timestamp: ts as u32,
                    sequence: packet.sequence,
                    payload: packet.payload,
                })
            }
            _ => {
                let out =
                    Conceal { timestamp: p.next_ts as u32, samples: slot_samples, reason: ConcealReason::Missing };
                p.next_ts += self.frame_samples;
                p.concealed_in_a_row += 1;
                self.stats.concealed += 1;
                if self.packets.is_empty() && p.concealed_in_a_row as i64 * frame >= nanos(self.config.max_conceal) {
                    return Some(AudioOutput::Conceal(out)); // idle: playout stays None
                }
                AudioOutput::Conceal(out)
            }
        };
        self.playout = Some(p);
        Some(out)
    }
}
