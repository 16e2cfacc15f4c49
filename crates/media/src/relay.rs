//! One source, many consumers ([`MediaRelay`]), and a consumer that
//! discards ([`MediaBlackhole`]).

use std::sync::{Arc, Mutex};

use crate::error::MediaError;
use crate::frame::Frame;
use crate::track::{channel, FrameReceiver, FrameSender, QueueLimits};

/// Fans frames out to subscribers, each through its own bounded queue.
///
/// A push never waits: a subscriber whose queue is full loses frames by its
/// queue's policy (the oldest, or everything until the next keyframe) while
/// the others get every frame. Subscribers that went away are forgotten at
/// the next push. Clones share the subscriber list.
#[derive(Debug, Clone, Default)]
pub struct MediaRelay {
    state: Arc<Mutex<RelayState>>,
}

#[derive(Debug, Default)]
struct RelayState {
    subscribers: Vec<FrameSender>,
    /// After [`MediaRelay::close`]: new subscribers get an ended track.
    closed: bool,
}

impl MediaRelay {
    /// A relay with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A relay fed by `source` from a task on the current tokio runtime,
    /// until the source ends (subscribers then see the end).
    pub fn forward(mut source: FrameReceiver) -> Self {
        let relay = MediaRelay::new();
        let feed = relay.clone();
        tokio::spawn(async move {
            while let Some(frame) = source.recv().await {
                feed.push(frame);
            }
            feed.close();
        });
        relay
    }

    /// A new consumer with a queue of `limits`.
    pub fn subscribe(&self, limits: QueueLimits) -> FrameReceiver {
        let (tx, rx) = channel(limits);
        let mut state = self.lock();
        if !state.closed {
            state.subscribers.push(tx);
        }
        rx
    }

    /// Gives `frame` to every subscriber (shared, not copied: frames are
    /// reference-counted). Returns how many subscribers queued it.
    pub fn push(&self, frame: Frame) -> usize {
        let mut state = self.lock();
        let mut queued = 0;
        state.subscribers.retain(|s| match s.push(frame.clone()) {
            Ok(q) => {
                queued += usize::from(q);
                true
            }
            Err(MediaError::Ended) => false,
            Err(_) => true,
        });
        queued
    }

    /// Subscribers still there.
    pub fn subscribers(&self) -> usize {
        let mut state = self.lock();
        state.subscribers.retain(|s| !s.is_closed());
        state.subscribers.len()
    }

    /// Ends every subscriber's track (after what is queued); later
    /// subscribers get an ended track.
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.subscribers.clear();
    }

    /// Whether [`MediaRelay::close`] was called (its source ended).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RelayState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Reads a track and discards its frames, counting them (aiortc's
/// `MediaBlackhole`): keeps a producer that needs a consumer going.
#[derive(Debug)]
pub struct MediaBlackhole {
    counted: Arc<Mutex<(u64, u64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl MediaBlackhole {
    /// Starts discarding `track` on the current tokio runtime.
    pub fn start(mut track: FrameReceiver) -> Self {
        let counted = Arc::new(Mutex::new((0u64, 0u64)));
        let c = counted.clone();
        let task = tokio::spawn(async move {
            while let Some(f) = track.recv().await {
                let mut c = c.lock().unwrap_or_else(|p| p.into_inner());
                c.0 += 1;
                c.1 += f.byte_len() as u64;
            }
        });
        MediaBlackhole { counted, task }
    }

    /// Frames and bytes discarded so far.
    pub fn counted(&self) -> (u64, u64) {
        *self.counted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the track has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops reading (the track's producer then sees it closed).
    pub fn stop(self) -> (u64, u64) {
        self.task.abort();
        self.counted()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::frame::{Codec, EncodedFrame, TimeBase};
    use crate::track::DropPolicy;

    fn frame(n: i64) -> Frame {
        Frame::Encoded(EncodedFrame {
            codec: Codec::Vp8,
            data: Bytes::from(vec![n as u8; 1000]),
            pts: n * 3000,
            time_base: TimeBase::VIDEO,
            duration: None,
            keyframe: n % 30 == 0,
        })
    }

    /// One slow and two fast subscribers: the fast ones get every frame in
    /// order, the slow one loses frames by its policy, and what it holds
    /// stays within its bounds the whole time.
    #[tokio::test(start_paused = true)]
    async fn a_slow_subscriber_costs_the_fast_ones_nothing() {
        let (source, rx) = channel(QueueLimits { frames: 4, bytes: 1 << 20, policy: DropPolicy::Oldest });
        let relay = MediaRelay::forward(rx);
        let limits = QueueLimits { frames: 8, bytes: 64 << 10, policy: DropPolicy::UntilKeyframe };
        let fast: Vec<_> = (0..2).map(|_| relay.subscribe(limits)).collect();
        let mut slow = relay.subscribe(limits);
        let readers: Vec<_> = fast
            .into_iter()
            .map(|mut rx| {
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while let Some(Frame::Encoded(f)) = rx.recv().await {
                        seen.push(f.pts / 3000);
                    }
                    seen
                })
            })
            .collect();
        let slow_reader = tokio::spawn(async move {
            let (mut seen, mut max_queued) = (Vec::new(), 0);
            while let Some(Frame::Encoded(f)) = slow.recv().await {
                max_queued = max_queued.max(slow.stats().queued_bytes);
                seen.push((f.pts / 3000, f.keyframe));
                tokio::time::sleep(Duration::from_millis(200)).await; // 5 fps against 30
            }
            (seen, max_queued, slow.stats())
        });
        for n in 0..300 {
            source.send(frame(n)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(33)).await;
        }
        drop(source);
        for r in readers {
            assert_eq!(r.await.unwrap(), (0..300).collect::<Vec<_>>(), "a fast subscriber missed or reordered frames");
        }
        let (seen, max_queued, stats) = slow_reader.await.unwrap();
        assert!(stats.dropped > 200, "the slow one lost frames: {stats:?}");
        assert!(max_queued <= 8 * 1000, "bounded: {max_queued}");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in order");
        // After every gap, the slow subscriber resumes at a keyframe.
        for w in seen.windows(2) {
            if w[1].0 != w[0].0 + 1 {
                assert!(w[1].1, "resumed at frame {} which is not a keyframe", w[1].0);
            }
        }
        assert_eq!(relay.subscribers(), 0, "ended subscribers are forgotten");
    }

    #[tokio::test]
    async fn the_blackhole_counts_and_ends_with_its_track() {
        let (tx, rx) = channel(QueueLimits::LIVE);
        let hole = MediaBlackhole::start(rx);
        for n in 0..10 {
            tx.send(frame(n)).await.unwrap();
        }
        drop(tx);
        for _ in 0..100 {
            if hole.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(hole.is_finished());
        assert_eq!(hole.stop(), (10, 10_000));
    }
}
