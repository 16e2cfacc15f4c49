//! # Jitter buffers: time based, adaptive, bounded
//!
//! Packets cross the network with varying delay (jitter) and sometimes out of
//! order; a receiver holds media back just long enough that it can be played
//! at a steady pace. Holding too little means gaps (audio concealment, video
//! stutter), holding too much means latency. Both buffers here measure the
//! jitter and choose their delay from it, count time rather than packets, and
//! bound what they hold.
//!
//! - [`AudioJitterBuffer`]: RTP packets of one audio stream in, one frame (or
//!   a concealment marker) out per frame duration at playout time. The target
//!   delay is a percentile of a histogram of relative arrival delays, in the
//!   manner of NetEq's delay manager. Delay is added by inserting one
//!   concealment frame and removed by skipping one frame, at frame boundaries;
//!   there is no time stretching.
//! - [`VideoJitterBuffer`]: complete frames (from a
//!   [`Depacketizer`](crate::payload::Depacketizer)) in, frames out complete
//!   and in decode order at their render time. A frame goes out only when what
//!   it depends on went out before it; a gap stops delta frames and asks for a
//!   keyframe (rate-limited, repeated until one comes) instead of waiting
//!   forever. The delay follows a frame-level jitter estimate, a reduced form
//!   of libwebrtc's `JitterEstimator`.
//!
//! ## Contract
//! Both are sans-IO: time is an argument. After every `insert` (and whenever
//! the time given by `poll_timeout` comes), call `poll(now)` until it returns
//! `None`. `now` must not go backwards. Nothing here is fatal: late,
//! duplicate, stale or excess input is dropped and counted in the stats.
//!
//! ## Decisions and limits
//! - Audio changes its delay in whole frames: the decoder conceals one frame
//!   to grow it and one frame is skipped to shrink it. Neither looks for
//!   silence yet (an audio level or DTX hint would let shrinking wait for
//!   it); shrinking is rate-limited instead. A sender clock drifting against
//!   ours therefore costs one such step per frame duration of drift.
//! - Video delay has no decode-time term and no frame-size term; a frame
//!   late for its render time is released at once, never dropped for
//!   lateness. The buffer does not ask for a keyframe when frames stop
//!   coming altogether: that is the session's timer.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use rtp::jitter::{AudioJitterBuffer, AudioJitterConfig, AudioOutput};
//!
//! let start = Instant::now();
//! let mut jb = AudioJitterBuffer::new(AudioJitterConfig::new(48_000));
//! for i in 0..3u16 {
//!     // 20 ms Opus frames, arriving on time.
//!     let at = start + Duration::from_millis(20 * i as u64);
//!     jb.insert(at, i, 960 * i as u32, Bytes::from_static(b"opus"));
//! }
//! let due = jb.poll_timeout().unwrap();
//! assert!(matches!(jb.poll(due), Some(AudioOutput::Frame(f)) if f.sequence == 0));
//! ```

mod audio;
mod estimate;
mod video;

use std::time::{Duration, Instant};

pub use audio::{
    AudioFrame, AudioJitterBuffer, AudioJitterConfig, AudioJitterStats, AudioOutput, Conceal, ConcealReason,
};
pub use video::{
    Dependencies, EncodedFrame, ReleasedFrame, VideoJitterBuffer, VideoJitterConfig, VideoJitterStats, VideoOutput,
};

/// Nanoseconds from `epoch` to `t`, negative when `t` is earlier.
fn nanos_since(epoch: Instant, t: Instant) -> i64 {
    match t.checked_duration_since(epoch) {
        Some(d) => d.as_nanos().min(i64::MAX as u128) as i64,
        None => -(epoch.duration_since(t).as_nanos().min(i64::MAX as u128) as i64),
    }
}

/// The instant `nanos` after `epoch` (before it when negative).
fn instant_at(epoch: Instant, nanos: i64) -> Instant {
    let d = Duration::from_nanos(nanos.unsigned_abs());
    if nanos >= 0 {
        epoch.checked_add(d).unwrap_or(epoch)
    } else {
        epoch.checked_sub(d).unwrap_or(epoch)
    }
}

/// `samples` RTP clock ticks at `clock_rate` Hz in nanoseconds.
fn ticks_to_nanos(samples: i64, clock_rate: u32) -> i64 {
    (samples as i128 * 1_000_000_000 / clock_rate.max(1) as i128) as i64
}

fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

fn duration(nanos: i64) -> Duration {
    Duration::from_nanos(nanos.max(0) as u64)
}
