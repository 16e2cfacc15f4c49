//! Playing files: [`MediaReader`] turns a file into frames in file order
//! (decoded or as they are), [`MediaPlayer`] plays them into bounded tracks
//! in real time, at a rate, or as fast as the consumer reads.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::codec::{self, AudioDecoder, VideoDecoder};
use crate::container::{self, Demuxer, TrackInfo};
use crate::error::{MediaError, Result};
use crate::frame::{Frame, MediaKind};
use crate::track::{channel, FrameReceiver, FrameSender, QueueLimits};

enum Decoder {
    Video(Box<dyn VideoDecoder>),
    Audio(Box<dyn AudioDecoder>),
}

struct Selected {
    index: usize,
    kind: MediaKind,
    decoder: Option<Decoder>,
    /// End of the last frame seen, as a time from the file's start.
    end: Duration,
    /// Typical frame length, for frames that do not say.
    step: Duration,
}

/// Reads the first video and the first audio track of a file as frames in
/// file order: decoded (with the codec features built in) or as they are
/// (pre-encoded frames for pass-through without decoding). Raw formats
/// (WAV, Y4M) give raw frames either way. Looping continues timestamps.
pub struct MediaReader {
    demuxer: Box<dyn Demuxer>,
    selected: Vec<Selected>,
    looped: bool,
    /// Added to every timestamp: the length of the loops played so far.
    offset: Duration,
    pending: std::collections::VecDeque<(MediaKind, Frame)>,
}

impl MediaReader {
    /// Opens `path` (format by content, see [`container::open`]).
    pub fn open(path: &Path, decode: bool, looped: bool) -> Result<Self> {
        Self::new(container::open(path)?, decode, looped).map_err(|e| e.in_file(path))
    }

    /// Reads from an opened demuxer.
    pub fn new(demuxer: Box<dyn Demuxer>, decode: bool, looped: bool) -> Result<Self> {
        let mut selected = Vec::new();
        for kind in [MediaKind::Video, MediaKind::Audio] {
            let Some(t) = demuxer.tracks().iter().find(|t| t.kind == kind) else { continue };
            let decoder = match (decode, t.codec) {
                (true, Some(c)) if kind == MediaKind::Video => Some(Decoder::Video(codec::video_decoder(c)?)),
                (true, Some(c)) => Some(Decoder::Audio(codec::audio_decoder(c, t.audio.map_or(2, |a| a.1))?)),
                _ => None,
            };
            let step = match (kind, t.framerate) {
                (MediaKind::Video, Some(fps)) if fps > 0.0 => Duration::from_secs_f64(1.0 / fps),
                (MediaKind::Video, _) => Duration::from_millis(33),
                (MediaKind::Audio, _) => Duration::from_millis(20),
            };
            selected.push(Selected { index: t.index, kind, decoder, end: Duration::ZERO, step });
        }
        if selected.is_empty() {
            return Err(MediaError::Unsupported("the file has no audio or video track".into()));
        }
        Ok(MediaReader { demuxer, selected, looped, offset: Duration::ZERO, pending: Default::default() })
    }

    /// The file's tracks.
    pub fn tracks(&self) -> &[TrackInfo] {
        self.demuxer.tracks()
    }

    /// Whether the reader gives frames of `kind`.
    pub fn has(&self, kind: MediaKind) -> bool {
        self.selected.iter().any(|s| s.kind == kind)
    }

    /// The next frame and its kind; `None` at the end (never, when looping
    /// a file that has frames).
    pub fn next_frame(&mut self) -> Result<Option<(MediaKind, Frame)>> {
        let mut empty_loops = 0;
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Ok(Some(f));
            }
            let Some((index, frame)) = self.demuxer.read()? else {
                let end = self.selected.iter().map(|s| s.end).max().unwrap_or_default();
                if !self.looped || end.is_zero() || empty_loops > 0 {
                    return Ok(None);
                }
                empty_loops += 1;
                self.offset = end;
                self.demuxer.rewind()?;
                continue;
            };
            let Some(sel) = self.selected.iter_mut().find(|s| s.index == index) else { continue };
            empty_loops = 0;
            let kind = sel.kind;
            let mut out = Vec::new();
            match (&mut sel.decoder, frame) {
                (Some(Decoder::Video(d)), Frame::Encoded(e)) => {
                    let mut pics = Vec::new();
                    d.decode(&e, &mut pics)?;
                    out.extend(pics.into_iter().map(Frame::Video));
                }
                (Some(Decoder::Audio(d)), Frame::Encoded(e)) => {
                    let mut pcm = Vec::new();
                    d.decode(&e, &mut pcm)?;
                    out.extend(pcm.into_iter().map(Frame::Audio));
                }
                (_, f) => out.push(f),
            }
            for mut f in out {
                let len = match &f {
                    Frame::Audio(a) => a.duration(),
                    Frame::Encoded(e) => e.duration.map_or(sel.step, |d| e.time_base.duration(d)),
                    Frame::Video(_) => sel.step,
                };
                if !self.offset.is_zero() {
                    f.set_time(f.time() + self.offset);
                }
                sel.end = sel.end.max(f.time() + len);
                self.pending.push_back((kind, f));
            }
        }
    }
}

/// How fast a [`MediaPlayer`] plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// In real time: each frame is released at its timestamp; a consumer
    /// that falls behind loses frames by its queue's policy.
    RealTime,
    /// At `rate` times real time (2.0: twice as fast).
    Rate(f64),
    /// As fast as the consumers read (they get every frame).
    AsFastAsRead,
}

/// Options of a [`MediaPlayer`].
#[derive(Debug, Clone)]
pub struct PlayerOptions {
    /// Decode (true) or pass encoded frames through as they are.
    pub decode: bool,
    /// Start again at the end, timestamps continuing.
    pub looped: bool,
    /// How fast.
    pub pace: Pace,
    /// The video track's queue.
    pub video_queue: QueueLimits,
    /// The audio track's queue.
    pub audio_queue: QueueLimits,
}

impl Default for PlayerOptions {
    /// Decoded, once, in real time, live queues.
    fn default() -> Self {
        PlayerOptions {
            decode: true,
            looped: false,
            pace: Pace::RealTime,
            video_queue: QueueLimits::LIVE,
            audio_queue: QueueLimits { frames: 50, ..QueueLimits::LIVE },
        }
    }
}

/// Plays a file (aiortc's `MediaPlayer`): its first video and audio track
/// become [`FrameReceiver`]s. Reading and decoding run on a thread of their
/// own; pacing runs as a task on the current tokio runtime. Dropping the
/// player, or both tracks, stops it.
pub struct MediaPlayer {
    video: Option<FrameReceiver>,
    audio: Option<FrameReceiver>,
    tracks: Vec<TrackInfo>,
    error: Arc<Mutex<Option<MediaError>>>,
    pacer: tokio::task::JoinHandle<()>,
}

impl MediaPlayer {
    /// Opens `path` and starts playing it. Must be called within a tokio runtime.
    pub fn open(path: &Path, options: PlayerOptions) -> Result<Self> {
        let reader = MediaReader::open(path, options.decode, options.looped)?;
        Ok(Self::start(reader, options, path.display().to_string()))
    }

    /// Plays what `reader` reads; `name` names the source in errors.
    pub fn start(mut reader: MediaReader, options: PlayerOptions, name: String) -> Self {
        let tracks = reader.tracks().to_vec();
        let (video_tx, video) = reader.has(MediaKind::Video).then(|| channel(options.video_queue)).unzip();
        let (audio_tx, audio) = reader.has(MediaKind::Audio).then(|| channel(options.audio_queue)).unzip();
        let error = Arc::new(Mutex::new(None));
        // The reader thread stays a few frames ahead of the pacer.
        let (frames_tx, frames_rx) = mpsc::channel(8);
        let err = error.clone();
        let spawned = std::thread::Builder::new().name(format!("oxrtc-media player {name}")).spawn(move || loop {
            match reader.next_frame() {
                Ok(Some(item)) => {
                    if frames_tx.blocking_send(item).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    *err.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.in_file(&name));
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(MediaError::Io(e));
        }
        let pacer = tokio::spawn(pace(frames_rx, video_tx, audio_tx, options.pace));
        MediaPlayer { video, audio, tracks, error, pacer }
    }

    /// The video track (once; `None` after or if the file has none).
    pub fn video(&mut self) -> Option<FrameReceiver> {
        self.video.take()
    }

    /// The audio track (once; `None` after or if the file has none).
    pub fn audio(&mut self) -> Option<FrameReceiver> {
        self.audio.take()
    }

    /// The file's tracks.
    pub fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    /// The error that ended playback early, if any (a malformed file, a
    /// decoder error). Tracks end when it happens.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|e| e.to_string())
    }

    /// Whether playback is over (the end, an error, or no one listening).
    pub fn is_finished(&self) -> bool {
        self.pacer.is_finished()
    }
}

impl Drop for MediaPlayer {
    fn drop(&mut self) {
        self.pacer.abort();
    }
}

async fn pace(
    mut frames: mpsc::Receiver<(MediaKind, Frame)>,
    mut video: Option<FrameSender>,
    mut audio: Option<FrameSender>,
    pace: Pace,
) {
    let rate = match pace {
        Pace::RealTime => Some(1.0),
        Pace::Rate(r) if r > 0.0 && r.is_finite() => Some(r),
        _ => None,
    };
    let mut origin: Option<(Instant, Duration)> = None;
    while let Some((kind, frame)) = frames.recv().await {
        let sender = match kind {
            MediaKind::Video => &mut video,
            MediaKind::Audio => &mut audio,
        };
        let Some(tx) = sender else { continue };
        let outcome = match rate {
            Some(rate) => {
                let (start, t0) = *origin.get_or_insert((Instant::now(), frame.time()));
                let due = start + frame.time().saturating_sub(t0).div_f64(rate);
                tokio::time::sleep_until(due).await;
                tx.push(frame).map(|_| ())
            }
            None => tx.send(frame).await,
        };
        if outcome.is_err() {
            *sender = None; // that consumer left
            if video.is_none() && audio.is_none() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::TrackInfo;
    use crate::frame::TimeBase;
    use crate::synthetic::TestPattern;
    use crate::track::DropPolicy;

    /// A file of `n` raw 30 fps test-pattern frames that fails at frame
    /// `fail_at`, if given.
    struct Frames {
        tracks: Vec<TrackInfo>,
        pattern: TestPattern,
        n: u64,
        at: u64,
        fail_at: Option<u64>,
    }

    fn frames(n: u64, fail_at: Option<u64>) -> Box<dyn Demuxer> {
        let info = TrackInfo {
            index: 0,
            kind: MediaKind::Video,
            codec: None,
            time_base: TimeBase::VIDEO,
            size: Some((64, 32)),
            framerate: Some(30.0),
            audio: None,
            duration: None,
        };
        Box::new(Frames { tracks: vec![info], pattern: TestPattern::new(64, 32, 30), n, at: 0, fail_at })
    }

    impl Demuxer for Frames {
        fn tracks(&self) -> &[TrackInfo] {
            &self.tracks
        }
        fn read(&mut self) -> Result<Option<(usize, Frame)>> {
            if Some(self.at) == self.fail_at {
                return Err(MediaError::Malformed { format: "test", message: "bad frame".into() });
            }
            if self.at == self.n {
                return Ok(None);
            }
            self.at += 1;
            Ok(Some((0, Frame::Video(self.pattern.frame_at(self.at - 1)))))
        }
        fn rewind(&mut self) -> Result<()> {
            self.at = 0;
            Ok(())
        }
    }

    fn pts(f: &Frame) -> i64 {
        match f {
            Frame::Video(v) => v.pts,
            _ => unreachable!(),
        }
    }

    #[test]
    fn looping_continues_the_timestamps() {
        let mut r = MediaReader::new(frames(3, None), true, true).unwrap();
        let got: Vec<i64> = (0..9).map(|_| pts(&r.next_frame().unwrap().unwrap().1)).collect();
        assert_eq!(got, (0..9).map(|i| i * 3000).collect::<Vec<_>>());
        let mut once = MediaReader::new(frames(3, None), true, false).unwrap();
        assert_eq!((0..4).filter_map(|_| once.next_frame().unwrap()).count(), 3);
        let mut empty = MediaReader::new(frames(0, None), true, true).unwrap();
        assert!(empty.next_frame().unwrap().is_none(), "an empty file does not loop forever");
    }

    #[tokio::test(start_paused = true)]
    async fn real_time_releases_each_frame_at_its_timestamp() {
        let reader = MediaReader::new(frames(30, None), true, false).unwrap();
        let mut player = MediaPlayer::start(reader, PlayerOptions::default(), "test".into());
        let mut video = player.video().unwrap();
        assert!(player.audio().is_none());
        let start = Instant::now();
        let mut n = 0;
        while let Some(f) = video.recv().await {
            let late = Instant::now().duration_since(start).abs_diff(f.time());
            assert!(late < Duration::from_millis(2), "frame {n} at {:?} for {:?}", start.elapsed(), f.time());
            n += 1;
        }
        assert_eq!(n, 30);
        assert!(start.elapsed() >= Duration::from_millis(966));
        assert!(player.error().is_none());
    }

    /// In real time (here ten times real time, on the real clock: the reading
    /// thread runs on it too) a consumer that reads at a third of the frame
    /// rate loses frames; as fast as read, it loses none.
    #[tokio::test]
    async fn a_slow_consumer_loses_frames_in_real_time_and_none_as_fast_as_read() {
        let queue = QueueLimits { frames: 2, bytes: 1 << 20, policy: DropPolicy::Oldest };
        for (pace, lossless) in [(Pace::Rate(10.0), false), (Pace::AsFastAsRead, true)] {
            let options = PlayerOptions { pace, video_queue: queue, ..PlayerOptions::default() };
            let mut player =
                MediaPlayer::start(MediaReader::new(frames(60, None), true, false).unwrap(), options, "t".into());
            let mut video = player.video().unwrap();
            let mut got = Vec::new();
            while let Some(f) = video.recv().await {
                got.push(pts(&f) / 3000);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(got == (0..60).collect::<Vec<_>>(), lossless, "{pace:?}: {got:?}");
            assert!(got.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[tokio::test]
    async fn a_broken_file_ends_the_tracks_with_an_error_naming_it() {
        let options = PlayerOptions { pace: Pace::AsFastAsRead, ..PlayerOptions::default() };
        let mut player =
            MediaPlayer::start(MediaReader::new(frames(10, Some(4)), true, false).unwrap(), options, "clip.y4m".into());
        let mut video = player.video().unwrap();
        let mut n = 0;
        while video.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, 4);
        let e = player.error().unwrap();
        assert!(e.contains("clip.y4m") && e.contains("bad frame"), "{e}");
    }
}
