//! The video frame buffer: complete frames in, frames out in decode order at
//! their render time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::estimate::{FrameDelayFilter, MinWindow};
use super::{duration, instant_at, nanos, nanos_since, ticks_to_nanos};
use crate::packet::{extend_seq, extend_timestamp, seq_diff};
use crate::payload::{Frame, VIDEO_CLOCK_RATE};

/// Settings of a [`VideoJitterBuffer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoJitterConfig {
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The least playout delay above the fastest frame's path.
    pub min_delay: Duration,
    /// The most playout delay: no frame is held longer than this after it arrived
    /// (unless it waits for a reference, see `max_age`).
    pub max_delay: Duration,
    /// Added to the jitter estimate for rendering (libwebrtc's default render delay: 10 ms).
    pub render_delay: Duration,
    /// How fast the delay may move toward its target, per second
    /// (libwebrtc's `kDelayMaxChangeMsPerS`: 100 ms).
    pub max_delay_change_per_second: Duration,
    /// At most this many frames are held; a full buffer is emptied and
    /// waits for a keyframe.
    pub max_frames: usize,
    /// A frame held this long after its arrival is dropped.
    pub max_age: Duration,
    /// Keyframe requests are repeated at this interval while none comes
    /// (libwebrtc's `max_wait_for_keyframe`: 200 ms).
    pub keyframe_request_interval: Duration,
}

impl Default for VideoJitterConfig {
    fn default() -> Self {
        VideoJitterConfig {
            clock_rate: VIDEO_CLOCK_RATE,
            min_delay: Duration::ZERO,
            max_delay: Duration::from_secs(1),
            render_delay: Duration::from_millis(10),
            max_delay_change_per_second: Duration::from_millis(100),
            max_frames: 300,
            max_age: Duration::from_secs(3),
            keyframe_request_interval: Duration::from_millis(200),
        }
    }
}

/// What a frame depends on, when the codec says it (VP9 flexible mode, the
/// AV1 dependency descriptor, VP8 picture ids with temporal layers).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dependencies {
    /// The frame's id, increasing in decode order (the caller unwraps picture ids or frame numbers).
    pub frame_id: u64,
    /// The ids of the frames it references; empty for a frame decodable on its own.
    pub references: Vec<u64>,
}

/// One complete frame given to [`VideoJitterBuffer::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The frame's bytes.
    pub data: Bytes,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// The sequence number of its first packet.
    pub first_sequence: u16,
    /// The sequence number of its last packet.
    pub last_sequence: u16,
    /// Whether it decodes on its own.
    pub keyframe: bool,
    /// Whether media was lost just before it (the depacketizer's flag): for
    /// frames without dependencies, as if [`VideoJitterBuffer::lost`] had been called.
    pub discontinuity: bool,
    /// Its references, when known; without them each frame depends on the
    /// one before it (sequence numbers adjacent) back to the last keyframe.
    pub dependencies: Option<Dependencies>,
}

impl<M> From<Frame<M>> for EncodedFrame {
    fn from(f: Frame<M>) -> Self {
        EncodedFrame {
            data: f.data,
            timestamp: f.timestamp,
            first_sequence: f.first_sequence,
            last_sequence: f.last_sequence,
            keyframe: f.keyframe,
            discontinuity: f.discontinuity,
            dependencies: None,
        }
    }
}

/// A frame released for decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedFrame {
    /// The frame as inserted.
    pub frame: EncodedFrame,
    /// When to show it.
    pub render_time: Instant,
}

/// One output of [`VideoJitterBuffer::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoOutput {
    /// Decode this frame: what it depends on was released before it.
    Frame(ReleasedFrame),
    /// Ask the sender for a keyframe (send a PLI or FIR).
    RequestKeyframe,
}

/// Counters and delays of a [`VideoJitterBuffer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoJitterStats {
    /// Frames given to `insert`.
    pub inserted: u64,
    /// Frames released.
    pub released: u64,
    /// Frames dropped, for any reason below.
    pub dropped: u64,
    /// Of those, frames whose references were lost or never came in time.
    pub undecodable: u64,
    /// Of those, frames at or behind what was already released, or repeated.
    pub stale: u64,
    /// Of those, frames dropped because the buffer was full or they grew too old.
    pub overflowed: u64,
    /// Keyframe requests emitted.
    pub keyframe_requests: u64,
    /// The frame-level jitter estimate.
    pub jitter: Duration,
    /// The delay the buffer aims for.
    pub target_delay: Duration,
    /// The delay it applies now, above the fastest frame's path.
    pub current_delay: Duration,
    /// Frames held.
    pub buffered: usize,
}

/// Remembered released and lost frame ids (dependency mode).
const MAX_IDS: usize = 512;
/// How long the fastest path is remembered.
const BASELINE_WINDOW: Duration = Duration::from_secs(10);
/// Outliers in a row that are taken as a jump of the sender's timeline.
const OUTLIERS_TO_RESET: u32 = 3;

struct Entry {
    frame: EncodedFrame,
    ext_last: u64,
    arrival: i64,
    render: i64,
}

enum Verdict {
    Ready,
    Wait,
    Never,
}

/// A frame buffer for one video stream; see the [module documentation](super).
///
/// Frames are kept by extended first sequence number, which is decode
/// order. The head is released at its render time when decodable: a
/// keyframe, a frame whose references were all released (with
/// [`Dependencies`]), or the frame right after the last one released
/// (without). A head that cannot be decoded at its render time, or can
/// never be, is dropped and a keyframe is requested (again every
/// `keyframe_request_interval` until a keyframe is released). Frames late
/// for their render time go out at once: lateness never drops video.
///
/// Render time = media time + the fastest path seen in the last 10 s + the
/// current delay, at most `max_delay` after arrival. The current delay moves
/// toward the target (jitter estimate + render delay, within the bounds) by
/// at most `max_delay_change_per_second`.
pub struct VideoJitterBuffer {
    config: VideoJitterConfig,
    frames: BTreeMap<u64, Entry>,
    highest_seq: Option<u64>,
    last_released: Option<u64>,
    newest_released_id: Option<u64>,
    released_ids: BTreeSet<u64>,
    lost_ids: BTreeSet<u64>,
    last_inserted: Option<u64>,
    gap_after: Option<u64>,
    need_keyframe: bool,
    uses_dependencies: bool,
    last_request: Option<i64>,
    // Timing.
    epoch: Option<Instant>,
    origin_ts: u64,
    highest_ts: u64,
    baseline: MinWindow,
    filter: FrameDelayFilter,
    previous: Option<(i64, u64)>,
    current_delay: i64,
    last_delay_update: i64,
    outliers_in_a_row: u32,
    stats: VideoJitterStats,
}

impl VideoJitterBuffer {
    /// An empty buffer.
    pub fn new(config: VideoJitterConfig) -> Self {
        VideoJitterBuffer {
            current_delay: nanos(config.min_delay),
            config,
            frames: BTreeMap::new(),
            highest_seq: None,
            last_released: None,
            newest_released_id: None,
            released_ids: BTreeSet::new(),
            lost_ids: BTreeSet::new(),
            last_inserted: None,
            gap_after: None,
            need_keyframe: false,
            uses_dependencies: false,
            last_request: None,
            epoch: None,
            origin_ts: 0,
            highest_ts: 0,
            baseline: MinWindow::new(nanos(BASELINE_WINDOW), 1024),
            filter: FrameDelayFilter::default(),
            previous: None,
            last_delay_update: 0,
            outliers_in_a_row: 0,
            stats: VideoJitterStats::default(),
        }
    }

    /// Counters and delays.
    pub fn stats(&self) -> VideoJitterStats {
        let mut stats = self.stats.clone();
        stats.jitter = duration((self.filter.jitter_ms() * 1e6) as i64);
        stats.target_delay = duration(self.target());
        stats.current_delay = duration(self.current_delay);
        stats.buffered = self.frames.len();
        stats
    }

    fn target(&self) -> i64 {
        let estimate = (self.filter.jitter_ms() * 1e6) as i64 + nanos(self.config.render_delay);
        estimate.clamp(nanos(self.config.min_delay), nanos(self.config.max_delay).max(nanos(self.config.min_delay)))
    }

    fn media_nanos(&self, ext_ts: u64) -> i64 {
        ticks_to_nanos(ext_ts as i64 - self.origin_ts as i64, self.config.clock_rate)
    }

    /// Media was lost before the next frame to be inserted (a
    /// [`Dropped`](crate::payload::Dropped) report): without dependency
    /// information, the frames after it wait for a keyframe, which is requested.
    ///
    /// With dependency information (the last frame inserted had some) a loss
    /// alone asks for nothing: only a frame whose reference is missing does.
    pub fn lost(&mut self, _now: Instant) {
        if self.uses_dependencies {
            return;
        }
        let at = self.last_inserted.or(self.last_released).unwrap_or(0);
        self.gap_after = Some(self.gap_after.map_or(at, |g| g.max(at)));
        self.need_keyframe = true;
    }

    /// Takes one complete frame.
    pub fn insert(&mut self, now: Instant, frame: EncodedFrame) {
        self.stats.inserted += 1;
        self.uses_dependencies = frame.dependencies.is_some();
        if frame.discontinuity {
            self.lost(now);
        }
        let ext_first = match self.highest_seq {
            Some(h) => extend_seq(h, frame.first_sequence),
            None => frame.first_sequence as u64 + (1 << 16),
        };
        let ext_last = ext_first + seq_diff(frame.last_sequence, frame.first_sequence).max(0) as u64;
        self.highest_seq = Some(self.highest_seq.map_or(ext_last, |h| h.max(ext_last)));
        self.last_inserted = Some(self.last_inserted.map_or(ext_last, |h| h.max(ext_last)));
        let render = self.timing(now, frame.timestamp);
        if self.last_released.is_some_and(|l| ext_first <= l) || self.frames.contains_key(&ext_first) {
            self.stats.dropped += 1;
            self.stats.stale += 1;
            return;
        }
        if self.frames.len() >= self.config.max_frames.max(1) {
            // Full: drop everything and start again from a keyframe.
            let frames = std::mem::take(&mut self.frames);
            self.stats.dropped += frames.len() as u64;
            self.stats.overflowed += frames.len() as u64;
            for entry in frames.values() {
                self.mark_gap(entry);
            }
        }
        let arrival = nanos_since(self.epoch.unwrap_or(now), now);
        self.frames.insert(ext_first, Entry { frame, ext_last, arrival, render });
    }

    /// Feeds the delay estimate and returns the frame's render time (ns since the epoch).
    fn timing(&mut self, now: Instant, timestamp: u32) -> i64 {
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = nanos_since(epoch, now);
        if self.previous.is_none() && self.baseline.min().is_none() {
            self.origin_ts = timestamp as u64 + (1 << 32);
            self.highest_ts = self.origin_ts;
        }
        let ext = extend_timestamp(self.highest_ts, timestamp);
        let relative = arrival - self.media_nanos(ext);
        // Move the current delay toward the target, rate-limited.
        let elapsed = (arrival - self.last_delay_update).max(0);
        let step = (elapsed as i128 * nanos(self.config.max_delay_change_per_second) as i128 / 1_000_000_000) as i64;
        let target = self.target();
        self.current_delay += (target - self.current_delay).clamp(-step, step);
        self.last_delay_update = arrival;
        let max_delay = nanos(self.config.max_delay);

        let limit = 2 * max_delay.max(nanos(Duration::from_secs(1)));
        if self.baseline.min().is_some_and(|base| (relative - base).abs() > limit) {
            self.outliers_in_a_row += 1;
            if self.outliers_in_a_row < OUTLIERS_TO_RESET {
                return arrival + self.current_delay.min(max_delay);
            }
            // The sender's timeline jumped: measure afresh from here.
            self.baseline.clear();
            self.previous = None;
            self.origin_ts = timestamp as u64 + (1 << 32);
            self.highest_ts = self.origin_ts;
            return self.timing(now, timestamp);
        }
        self.outliers_in_a_row = 0;
        self.highest_ts = self.highest_ts.max(ext);
        if let Some((prev_arrival, prev_ts)) = self.previous {
            if ext > prev_ts {
                let media = self.media_nanos(ext) - self.media_nanos(prev_ts);
                if media < nanos(Duration::from_secs(1)) {
                    self.filter.add(((arrival - prev_arrival) - media) as f64 / 1e6);
                }
            }
        }
        if self.previous.is_none_or(|(_, ts)| ext > ts) {
            self.previous = Some((arrival, ext));
        }
        self.baseline.push(arrival, relative);
        let base = self.baseline.min().unwrap_or(relative);
        (self.media_nanos(ext) + base + self.current_delay).min(arrival + max_delay)
    }

    fn mark_gap(&mut self, entry: &Entry) {
        self.gap_after = Some(self.gap_after.map_or(entry.ext_last, |g| g.max(entry.ext_last)));
        if let Some(deps) = &entry.frame.dependencies {
            self.lost_ids.insert(deps.frame_id);
            while self.lost_ids.len() > MAX_IDS {
                self.lost_ids.pop_first();
            }
        }
        self.need_keyframe = true;
    }

    fn verdict(&self, ext_first: u64, entry: &Entry) -> Verdict {
        if entry.frame.keyframe {
            return Verdict::Ready;
        }
        if self.last_released.is_some_and(|l| ext_first <= l) {
            return Verdict::Never;
        }
        match &entry.frame.dependencies {
            Some(deps) => {
                let mut verdict = Verdict::Ready;
                for r in &deps.references {
                    if self.released_ids.contains(r) {
                        continue;
                    }
                    if self.lost_ids.contains(r) || self.newest_released_id.is_some_and(|n| *r <= n) {
                        return Verdict::Never;
                    }
                    verdict = Verdict::Wait;
                }
                verdict
            }
            None => match self.last_released {
                Some(l) if l + 1 == ext_first => Verdict::Ready,
                None => Verdict::Never,
                Some(_) if self.gap_after.is_some_and(|g| ext_first > g) => Verdict::Never,
                Some(_) => Verdict::Wait,
            },
        }
    }

    /// When `poll` has something next: a frame's render time or a keyframe request.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let epoch = self.epoch?;
        let frame = self.frames.values().next().map(|e| e.render.min(e.arrival + nanos(self.config.max_age)));
        let keyframe_waiting = self.frames.values().any(|e| e.frame.keyframe);
        let request = (self.need_keyframe && !keyframe_waiting)
            .then(|| self.last_request.map_or(0, |t| t + nanos(self.config.keyframe_request_interval)));
        let at = match (frame, request) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(instant_at(epoch, at))
    }

    /// The next output due at `now`, if any: call again until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<VideoOutput> {
        let epoch = self.epoch?;
        let now = nanos_since(epoch, now);
        loop {
            while let Some((&key, entry)) = self.frames.first_key_value() {
                let due = now >= entry.render;
                match self.verdict(key, entry) {
                    Verdict::Ready if due => {
                        let (key, entry) = self.frames.pop_first()?;
                        return Some(VideoOutput::Frame(self.release(epoch, key, entry)));
                    }
                    Verdict::Ready | Verdict::Wait if !due => break,
                    _ => {
                        let (_, entry) = self.frames.pop_first()?;
                        self.stats.dropped += 1;
                        self.stats.undecodable += 1;
                        self.mark_gap(&entry);
                    }
                }
            }
            // A safety net: frames held past `max_age` behind the head go.
            let max_age = nanos(self.config.max_age);
            let too_old: Vec<u64> =
                self.frames.iter().filter(|(_, e)| e.arrival + max_age <= now).map(|(k, _)| *k).collect();
            if too_old.is_empty() {
                break;
            }
            for key in too_old {
                if let Some(entry) = self.frames.remove(&key) {
                    self.stats.dropped += 1;
                    self.stats.overflowed += 1;
                    self.mark_gap(&entry);
                }
            }
        }
        let interval = nanos(self.config.keyframe_request_interval);
        let keyframe_waiting = self.frames.values().any(|e| e.frame.keyframe);
        if self.need_keyframe && !keyframe_waiting && self.last_request.is_none_or(|t| now - t >= interval) {
            self.last_request = Some(now);
            self.stats.keyframe_requests += 1;
            return Some(VideoOutput::RequestKeyframe);
        }
        None
    }

    fn release(&mut self, epoch: Instant, ext_first: u64, entry: Entry) -> ReleasedFrame {
        self.stats.released += 1;
        self.last_released = Some(entry.ext_last);
        if entry.frame.keyframe {
            self.need_keyframe = false;
            if self.gap_after.is_some_and(|g| ext_first > g) {
                self.gap_after = None;
            }
        }
        if let Some(deps) = &entry.frame.dependencies {
            self.newest_released_id = Some(self.newest_released_id.map_or(deps.frame_id, |n| n.max(deps.frame_id)));
            self.released_ids.insert(deps.frame_id);
            while self.released_ids.len() > MAX_IDS {
                self.released_ids.pop_first();
            }
        }
        ReleasedFrame { frame: entry.frame, render_time: instant_at(epoch, entry.render) }
    }
}
