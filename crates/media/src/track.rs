//! Bounded frame queues between a producer (a player, a decoder, a relay,
//! the network) and a consumer (an encoder, a recorder, your code).
//!
//! A queue is bounded in frames and in bytes. When it is full, a producer
//! either waits ([`FrameSender::send`], for files played as fast as the
//! consumer reads) or never waits and drops by the queue's [`DropPolicy`]
//! ([`FrameSender::push`], for live media: one slow consumer must not stall
//! its producer). Drops are counted ([`FrameReceiver::stats`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::error::{MediaError, Result};
use crate::frame::Frame;

/// What a full queue gives up when a frame is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPolicy {
    /// Drop the oldest frames until the new one fits (audio, raw video).
    Oldest,
    /// Drop everything queued and every new frame until the next keyframe
    /// (encoded video: a decoder cannot use frames after a hole anyway).
    UntilKeyframe,
}

/// The bounds of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Frames held at most (at least 1).
    pub frames: usize,
    /// Bytes held at most ([`Frame::byte_len`]); one frame larger than this
    /// still passes when the queue is empty.
    pub bytes: usize,
    /// What a push into a full queue drops.
    pub policy: DropPolicy,
}

impl QueueLimits {
    /// Live audio or raw video: 30 frames, 32 MiB, oldest dropped.
    pub const LIVE: QueueLimits = QueueLimits { frames: 30, bytes: 32 << 20, policy: DropPolicy::Oldest };
    /// Live encoded video: 60 frames, 8 MiB, dropped until the next keyframe.
    pub const LIVE_ENCODED_VIDEO: QueueLimits =
        QueueLimits { frames: 60, bytes: 8 << 20, policy: DropPolicy::UntilKeyframe };
}

/// Counters of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Frames accepted.
    pub pushed: u64,
    /// Frames dropped by the policy (queued ones given up and new ones refused).
    pub dropped: u64,
    /// Frames waiting now.
    pub queued: usize,
    /// Bytes waiting now.
    pub queued_bytes: usize,
}

#[derive(Debug)]
struct State {
    frames: VecDeque<Frame>,
    bytes: usize,
    /// After an `UntilKeyframe` drop: new frames are refused until a keyframe.
    skipping: bool,
    sender_gone: bool,
    receiver_gone: bool,
    stats: QueueStats,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    limits: QueueLimits,
    /// Wakes the receiver (a frame or the end arrived).
    readable: Notify,
    /// Wakes a waiting sender (room, or the receiver left).
    writable: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue inconsistent
        // in a way that matters more than losing frames: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fits(&self, s: &State, len: usize) -> bool {
        s.frames.is_empty() || (s.frames.len() < self.limits.frames && s.bytes + len <= self.limits.bytes)
    }
}

/// A bounded queue of frames: the producer's end and the consumer's end.
pub fn channel(limits: QueueLimits) -> (FrameSender, FrameReceiver) {
    let limits = QueueLimits { frames: limits.frames.max(1), ..limits };
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            frames: VecDeque::new(),
            bytes: 0,
            skipping: false,
            sender_gone: false,
            receiver_gone: false,
            stats: QueueStats::default(),
        }),
        limits,
        readable: Notify::new(),
        writable: Notify::new(),
    });
    (FrameSender { shared: shared.clone() }, FrameReceiver { shared })
}

/// The producing end of a frame queue. Dropping it ends the track once the
/// queued frames are read.
#[derive(Debug)]
pub struct FrameSender {
    shared: Arc<Shared>,
}

impl FrameSender {
    /// Queues `frame` without waiting; a full queue drops by its policy.
    /// Returns whether `frame` was queued, or [`MediaError::Ended`] once the
    /// receiver is gone.
    pub fn push(&self, frame: Frame) -> Result<bool> {
        let mut s = self.shared.lock();
        if s.receiver_gone {
            return Err(MediaError::Ended);
        }
        let len = frame.byte_len();
        if s.skipping {
            if !frame.is_keyframe() {
                s.stats.dropped += 1;
                return Ok(false);
            }
            s.skipping = false;
        }
        if !self.shared.fits(&s, len) {
            match self.shared.limits.policy {
                DropPolicy::Oldest => {
                    while !self.shared.fits(&s, len) {
                        let old = s.frames.pop_front().expect("a full queue has frames");
                        s.bytes -= old.byte_len();
                        s.stats.dropped += 1;
                    }
                }
                DropPolicy::UntilKeyframe => {
                    s.stats.dropped += s.frames.len() as u64;
                    s.frames.clear();
                    s.bytes = 0;
                    if !frame.is_keyframe() {
                        s.skipping = true;
                        s.stats.dropped += 1;
                        return Ok(false);
                    }
                }
            }
        }
        s.bytes += len;
        s.frames.push_back(frame);
        s.stats.pushed += 1;
        drop(s);
        self.shared.readable.notify_one();
        Ok(true)
    }

    /// Queues `frame`, waiting while the queue is full (backpressure).
    /// [`MediaError::Ended`] once the receiver is gone.
    pub async fn send(&self, frame: Frame) -> Result<()> {
        let len = frame.byte_len();
        loop {
            let notified = self.shared.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.shared.lock();
                if s.receiver_gone {
                    return Err(MediaError::Ended);
                }
                if self.shared.fits(&s, len) {
                    s.skipping = false;
                    s.bytes += len;
                    s.frames.push_back(frame);
                    s.stats.pushed += 1;
                    drop(s);
                    self.shared.readable.notify_one();
                    return Ok(());
                }
            }
            notified.await;
        }
    }

    /// Whether the receiver has gone away.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        let s = self.shared.lock();
        QueueStats { queued: s.frames.len(), queued_bytes: s.bytes, ..s.stats }
    }
}

impl Drop for FrameSender {
    fn drop(&mut self) {
        self.shared.lock().sender_gone = true;
        self.shared.readable.notify_one();
    }
}

/// The consuming end of a frame queue.
#[derive(Debug)]
pub struct FrameReceiver {
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// The next frame, waiting for one; `None` when the sender is gone and
    /// the queue is empty.
    pub async fn recv(&mut self) -> Option<Frame> {
        loop {
            let notified = self.shared.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.shared.lock();
                if let Some(f) = s.frames.pop_front() {
                    s.bytes -= f.byte_len();
                    drop(s);
                    self.shared.writable.notify_one();
                    return Some(f);
                }
                if s.sender_gone {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Frame> {
        let mut s = self.shared.lock();
        let f = s.frames.pop_front()?;
        s.bytes -= f.byte_len();
        drop(s);
        self.shared.writable.notify_one();
        Some(f)
    }

    /// Whether the sender is gone and nothing is left to read.
    pub fn is_ended(&self) -> bool {
        let s = self.shared.lock();
        s.sender_gone && s.frames.is_empty()
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        let s = self.shared.lock();
        QueueStats { queued: s.frames.len(), queued_bytes: s.bytes, ..s.stats }
    }

    /// The queue's bounds.
    pub fn limits(&self) -> QueueLimits {
        self.shared.limits
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        let mut s = self.shared.lock();
        s.receiver_gone = true;
        s.frames.clear();
        s.bytes = 0;
        drop(s);
        self.shared.writable.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::frame::{Codec, EncodedFrame, TimeBase};

    fn video(pts: i64, keyframe: bool) -> Frame {
        Frame::Encoded(EncodedFrame {
            codec: Codec::Vp8,
            data: Bytes::from(vec![0; 100]),
            pts,
            time_base: TimeBase::VIDEO,
            duration: None,
            keyframe,
        })
    }

    fn pts(f: Option<Frame>) -> Option<i64> {
        f.map(|f| match f {
            Frame::Encoded(e) => e.pts,
            _ => unreachable!(),
        })
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let (tx, mut rx) = channel(QueueLimits { frames: 3, bytes: 1 << 20, policy: DropPolicy::Oldest });
        for i in 0..5 {
            assert!(tx.push(video(i, false)).unwrap());
        }
        assert_eq!(rx.stats(), QueueStats { pushed: 5, dropped: 2, queued: 3, queued_bytes: 300 });
        assert_eq!([pts(rx.try_recv()), pts(rx.try_recv()), pts(rx.try_recv())], [Some(2), Some(3), Some(4)]);
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn a_full_encoded_video_queue_waits_for_the_next_keyframe() {
        let (tx, mut rx) = channel(QueueLimits { frames: 2, bytes: 1 << 20, policy: DropPolicy::UntilKeyframe });
        assert!(tx.push(video(0, true)).unwrap());
        assert!(tx.push(video(1, false)).unwrap());
        assert!(!tx.push(video(2, false)).unwrap(), "full: all dropped, waiting for a keyframe");
        assert!(!tx.push(video(3, false)).unwrap());
        assert!(tx.push(video(4, true)).unwrap());
        assert!(tx.push(video(5, false)).unwrap());
        assert_eq!(rx.stats().dropped, 4);
        assert_eq!([pts(rx.try_recv()), pts(rx.try_recv()), pts(rx.try_recv())], [Some(4), Some(5), None]);
    }

    #[test]
    fn the_byte_bound_holds_and_one_big_frame_still_passes() {
        let (tx, rx) = channel(QueueLimits { frames: 100, bytes: 250, policy: DropPolicy::Oldest });
        for i in 0..10 {
            tx.push(video(i, false)).unwrap();
        }
        assert_eq!(rx.stats().queued_bytes, 200);
        let big = Frame::Encoded(EncodedFrame {
            data: Bytes::from(vec![0; 1000]),
            ..match video(10, true) {
                Frame::Encoded(e) => e,
                _ => unreachable!(),
            }
        });
        assert!(tx.push(big).unwrap());
        assert_eq!((rx.stats().queued, rx.stats().queued_bytes), (1, 1000));
    }

    #[tokio::test]
    async fn send_waits_for_room_and_the_end_is_seen_after_the_last_frame() {
        let (tx, mut rx) = channel(QueueLimits { frames: 1, bytes: 1 << 20, policy: DropPolicy::Oldest });
        let producer = tokio::spawn(async move {
            for i in 0..20 {
                tx.send(video(i, false)).await.unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(f) = rx.recv().await {
            got.push(pts(Some(f)).unwrap());
        }
        producer.await.unwrap();
        assert_eq!(got, (0..20).collect::<Vec<_>>(), "backpressure loses nothing");
        assert_eq!(rx.stats().dropped, 0);
        assert!(rx.is_ended());
    }

    #[tokio::test]
    async fn a_sender_learns_that_the_receiver_left() {
        let (tx, rx) = channel(QueueLimits { frames: 1, bytes: 1 << 20, policy: DropPolicy::Oldest });
        tx.push(video(0, true)).unwrap();
        let waiting = tokio::spawn(async move { tx.send(video(1, true)).await });
        tokio::task::yield_now().await;
        drop(rx);
        assert!(matches!(waiting.await.unwrap(), Err(MediaError::Ended)));
    }
}
