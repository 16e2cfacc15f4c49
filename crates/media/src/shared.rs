//! One encode for many senders: [`SharedEncoder`] encodes a raw track once
//! and fans the encoded frames out; [`EncoderPool`] finds the shared encoder
//! of a track, codec and size, so ten viewers of one camera cost one encode.
//!
//! Bitrate policy: the encoder follows the **weakest** subscriber (the
//! lowest bitrate asked for), so no viewer gets more than its link carries;
//! viewers that could take more get the same stream. A keyframe asked for by
//! any subscriber (and by every new one) is encoded for all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::codec::{AudioEncoder, VideoEncoder};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, Frame};
use crate::relay::MediaRelay;
use crate::track::{FrameReceiver, QueueLimits};

#[derive(Debug, Default)]
struct Control {
    bitrates: HashMap<u64, u32>,
    next_id: u64,
    keyframe: bool,
    encoded: u64,
    errors: u64,
}

impl Control {
    fn lock(c: &Mutex<Control>) -> std::sync::MutexGuard<'_, Control> {
        c.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The encoder behind a [`SharedEncoder`].
pub enum Encoder {
    /// A video encoder; frames of another size than its configured one are dropped and counted.
    Video(Box<dyn VideoEncoder>),
    /// An audio encoder.
    Audio(Box<dyn AudioEncoder>),
}

impl Encoder {
    fn codec(&self) -> Codec {
        match self {
            Encoder::Video(e) => e.codec(),
            Encoder::Audio(e) => e.codec(),
        }
    }
}

/// A raw track encoded once for any number of subscribers. It runs on a
/// blocking thread of the current tokio runtime until its source ends or
/// its last subscriber leaves.
#[derive(Clone)]
pub struct SharedEncoder {
    relay: MediaRelay,
    control: Arc<Mutex<Control>>,
    codec: Codec,
}

impl SharedEncoder {
    /// Starts encoding `source` with `encoder`.
    pub fn start(mut source: FrameReceiver, mut encoder: Encoder) -> Self {
        let relay = MediaRelay::new();
        let control = Arc::new(Mutex::new(Control::default()));
        let codec = encoder.codec();
        let (out, ctl) = (relay.clone(), control.clone());
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut bitrate = None;
            let mut encoded = Vec::new();
            while let Some(frame) = runtime.block_on(source.recv()) {
                let (keyframe, want) = {
                    let mut c = Control::lock(&ctl);
                    (std::mem::take(&mut c.keyframe), c.bitrates.values().min().copied())
                };
                if out.subscribers() == 0 && Control::lock(&ctl).next_id > 0 {
                    break; // everyone left
                }
                if want.is_some() && want != bitrate {
                    bitrate = want;
                    let set = match &mut encoder {
                        Encoder::Video(e) => e.set_bitrate(want.unwrap_or_default()),
                        Encoder::Audio(e) => e.set_bitrate(want.unwrap_or_default()),
                    };
                    if set.is_err() {
                        Control::lock(&ctl).errors += 1;
                    }
                }
                let result = match (&mut encoder, &frame) {
                    (Encoder::Video(e), Frame::Video(v)) => e.encode(v, keyframe, &mut encoded),
                    (Encoder::Audio(e), Frame::Audio(a)) => e.encode(a, &mut encoded),
                    _ => Err(MediaError::BadFrame("a shared encoder takes raw frames of its kind".into())),
                };
                let mut c = Control::lock(&ctl);
                match result {
                    Ok(()) => c.encoded += 1,
                    Err(_) => {
                        c.errors += 1;
                        c.keyframe |= keyframe; // ask again with the next frame
                    }
                }
                drop(c);
                for e in encoded.drain(..) {
                    out.push(Frame::Encoded(e));
                }
            }
            out.close();
        });
        SharedEncoder { relay, control, codec }
    }

    /// A new subscriber with a queue of `limits` (for video, use a
    /// [`crate::track::DropPolicy::UntilKeyframe`] queue); its first frame
    /// is a keyframe, encoded for it.
    pub fn subscribe(&self, limits: QueueLimits) -> EncodedSubscription {
        let frames = self.relay.subscribe(limits);
        let mut c = Control::lock(&self.control);
        let id = c.next_id;
        c.next_id += 1;
        c.keyframe = true;
        drop(c);
        EncodedSubscription {
            frames: Some(frames),
            id,
            control: self.control.clone(),
            skipping_to_keyframe: self.codec.is_audio(),
        }
    }

    /// Frames encoded so far, and encoder errors (each error drops a frame).
    pub fn counts(&self) -> (u64, u64) {
        let c = Control::lock(&self.control);
        (c.encoded, c.errors)
    }

    /// The codec it encodes to.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Subscribers still there.
    pub fn subscribers(&self) -> usize {
        self.relay.subscribers()
    }

    /// Whether it still encodes: its source has not ended and someone subscribed
    /// (a new encoder counts as running until its first subscriber leaves).
    pub fn is_running(&self) -> bool {
        !self.relay.is_closed() && (self.relay.subscribers() > 0 || Control::lock(&self.control).next_id == 0)
    }
}

/// One subscriber's view of a [`SharedEncoder`]: its encoded frames, its
/// bitrate wish and its keyframe requests.
pub struct EncodedSubscription {
    frames: Option<FrameReceiver>,
    id: u64,
    control: Arc<Mutex<Control>>,
    /// Audio: every packet stands alone; video: frames before the first keyframe are skipped.
    skipping_to_keyframe: bool,
}

impl EncodedSubscription {
    /// The next encoded frame, starting at a keyframe; `None` when the encoder stopped.
    pub async fn recv(&mut self) -> Option<Frame> {
        loop {
            let f = self.frames.as_mut()?.recv().await?;
            if self.skipping_to_keyframe || f.is_keyframe() {
                self.skipping_to_keyframe = true;
                return Some(f);
            }
        }
    }

    /// The bitrate this subscriber can take (its bandwidth estimate); the
    /// encoder runs at the lowest of all subscribers' wishes.
    pub fn set_bitrate(&self, bitrate: u32) {
        Control::lock(&self.control).bitrates.insert(self.id, bitrate);
    }

    /// Asks for a keyframe (a peer's PLI or FIR); every subscriber gets it.
    pub fn request_keyframe(&self) {
        Control::lock(&self.control).keyframe = true;
    }

    /// The queue's counters (frames dropped because this subscriber was slow).
    pub fn stats(&self) -> crate::track::QueueStats {
        self.frames.as_ref().map(|f| f.stats()).unwrap_or_default()
    }
}

impl Drop for EncodedSubscription {
    fn drop(&mut self) {
        self.frames = None;
        Control::lock(&self.control).bitrates.remove(&self.id);
    }
}

/// What makes two senders share an encoder: the same track, codec and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncoderKey {
    /// The source track's id.
    pub track: String,
    /// The codec.
    pub codec: Codec,
    /// Video size (`None` for audio).
    pub size: Option<(u32, u32)>,
}

/// Shared encoders by [`EncoderKey`]: the first subscriber of a key starts
/// one, later ones join it, and it stops when the last one leaves.
#[derive(Default)]
pub struct EncoderPool {
    encoders: Mutex<HashMap<EncoderKey, SharedEncoder>>,
}

impl EncoderPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to the encoder of `key`, starting one with `make` on a
    /// subscription of `source` if there is none (or it stopped).
    pub fn subscribe(
        &self,
        key: EncoderKey,
        source: &MediaRelay,
        limits: QueueLimits,
        make: impl FnOnce() -> Result<Encoder>,
    ) -> Result<EncodedSubscription> {
        let mut map = self.encoders.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| e.is_running());
        if let Some(shared) = map.get(&key) {
            return Ok(shared.subscribe(limits));
        }
        let source_limits = QueueLimits { frames: 4, ..QueueLimits::LIVE };
        let shared = SharedEncoder::start(source.subscribe(source_limits), make()?);
        let sub = shared.subscribe(limits);
        map.insert(key, shared);
        Ok(sub)
    }

    /// Encoders running.
    pub fn len(&self) -> usize {
        let mut map = self.encoders.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| e.is_running());
        map.len()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;
    use crate::codec::VideoEncoderConfig;
    use crate::frame::{EncodedFrame, VideoFrame};
    use crate::synthetic::TestPattern;
    use crate::track::{channel, DropPolicy};

    /// Counts its work and stamps each output with the bitrate in force.
    struct Counting {
        config: VideoEncoderConfig,
        calls: Arc<Mutex<Vec<(u32, bool)>>>,
    }

    impl VideoEncoder for Counting {
        fn codec(&self) -> Codec {
            Codec::Vp8
        }
        fn encode(&mut self, frame: &VideoFrame, keyframe: bool, out: &mut Vec<EncodedFrame>) -> Result<()> {
            let first = self.calls.lock().unwrap().is_empty();
            self.calls.lock().unwrap().push((self.config.bitrate, keyframe || first));
            out.push(EncodedFrame {
                codec: Codec::Vp8,
                data: Bytes::from(self.config.bitrate.to_be_bytes().to_vec()),
                pts: frame.pts,
                time_base: frame.time_base,
                duration: None,
                keyframe: keyframe || first,
            });
            Ok(())
        }
        fn set_bitrate(&mut self, bitrate: u32) -> Result<()> {
            self.config.bitrate = bitrate;
            Ok(())
        }
        fn config(&self) -> &VideoEncoderConfig {
            &self.config
        }
    }

    const SUB: QueueLimits = QueueLimits { frames: 100, bytes: 1 << 20, policy: DropPolicy::UntilKeyframe };

    #[tokio::test]
    async fn ten_subscribers_share_one_encode_at_the_weakest_bitrate() {
        let (camera, rx) = channel(QueueLimits { frames: 4, ..QueueLimits::LIVE });
        let source = MediaRelay::forward(rx);
        let pool = EncoderPool::new();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let key = EncoderKey { track: "camera".into(), codec: Codec::Vp8, size: Some((64, 32)) };
        let mut subs = Vec::new();
        for i in 0..10u32 {
            let c = calls.clone();
            let sub = pool
                .subscribe(key.clone(), &source, SUB, || {
                    Ok(Encoder::Video(Box::new(Counting {
                        config: VideoEncoderConfig::new(64, 32, 2_000_000),
                        calls: c,
                    })))
                })
                .unwrap();
            sub.set_bitrate(1_000_000 + 100_000 * i);
            subs.push(sub);
        }
        assert_eq!(pool.len(), 1, "one key, one encoder");
        let mut pattern = TestPattern::new(64, 32, 30);
        // The camera's queue to the encoder is live (it drops the oldest): one
        // frame at a time, each read by every subscriber before the next.
        for n in 0..20 {
            camera.send(Frame::Video(pattern.next().unwrap())).await.unwrap();
            for sub in &mut subs {
                let Some(Frame::Encoded(f)) = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await.unwrap()
                else {
                    panic!("ended early")
                };
                assert_eq!(f.pts, n * 3000);
                assert_eq!(u32::from_be_bytes(f.data[..].try_into().unwrap()), 1_000_000, "the weakest bitrate");
                assert_eq!(f.keyframe, n == 0);
            }
        }
        assert_eq!(calls.lock().unwrap().len(), 20, "each frame encoded once for ten subscribers");
        // The weakest leaves: the next weakest sets the rate; a keyframe asked by one reaches all.
        subs.remove(0);
        subs[3].request_keyframe();
        camera.send(Frame::Video(pattern.next().unwrap())).await.unwrap();
        for sub in &mut subs {
            let Some(Frame::Encoded(f)) = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await.unwrap()
            else {
                panic!("ended early")
            };
            assert_eq!((u32::from_be_bytes(f.data[..].try_into().unwrap()), f.keyframe), (1_100_000, true));
        }
        // Everyone leaves: the encoder stops at the next frame.
        subs.clear();
        camera.send(Frame::Video(pattern.next().unwrap())).await.unwrap();
        for _ in 0..200 {
            if pool.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(pool.is_empty());
        assert_eq!(calls.lock().unwrap().len(), 21);
    }

    #[tokio::test]
    async fn a_late_subscriber_starts_at_a_keyframe_made_for_it() {
        let (camera, rx) = channel(QueueLimits::LIVE);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let shared = SharedEncoder::start(
            rx,
            Encoder::Video(Box::new(Counting {
                config: VideoEncoderConfig::new(64, 32, 500_000),
                calls: calls.clone(),
            })),
        );
        let mut first = shared.subscribe(SUB);
        let mut pattern = TestPattern::new(64, 32, 30);
        for _ in 0..5 {
            camera.send(Frame::Video(pattern.next().unwrap())).await.unwrap();
            first.recv().await.unwrap();
        }
        let mut late = shared.subscribe(SUB);
        camera.send(Frame::Video(pattern.next().unwrap())).await.unwrap();
        let f = late.recv().await.unwrap();
        assert!(f.is_keyframe());
        assert_eq!(f.time(), Duration::from_nanos(166_666_666));
        let keys: Vec<bool> = calls.lock().unwrap().iter().map(|c| c.1).collect();
        assert_eq!(keys, [true, false, false, false, false, true]);
    }
}
