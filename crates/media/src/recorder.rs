//! Recording tracks to a file ([`MediaRecorder`], aiortc's `MediaRecorder`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::audio_convert::{AudioConverter, AudioFormat, SampleFormat};
use crate::codec::{
    self, AudioDecoder, AudioEncoder, AudioEncoderConfig, VideoDecoder, VideoEncoder, VideoEncoderConfig,
};
use crate::container::{self, Muxer, TrackSpec};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, Frame, MediaKind};
use crate::track::FrameReceiver;

/// What a file takes per kind: encoded with one of these codecs (the first
/// is what raw frames are encoded to), or raw frames (`Some(&[])`), or
/// nothing (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCodecs {
    /// Video.
    pub video: Option<&'static [Codec]>,
    /// Audio.
    pub audio: Option<&'static [Codec]>,
}

impl FileCodecs {
    /// What the file `path` takes, by its extension: `.webm`/`.mkv` VP8, VP9,
    /// AV1 and Opus; `.mp4` H.264 and Opus; `.ivf` VP8, VP9, AV1; `.h264`;
    /// `.ogg`/`.opus` Opus; `.wav` raw audio; `.y4m` raw video.
    pub fn for_path(path: &Path) -> Result<Self> {
        const RAW: &[Codec] = &[];
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let (video, audio): (Option<&'static [Codec]>, Option<&'static [Codec]>) = match ext.as_str() {
            "webm" | "mkv" => (Some(&[Codec::Vp8, Codec::Vp9, Codec::Av1]), Some(&[Codec::Opus])),
            "mp4" | "m4v" => (Some(&[Codec::H264]), Some(&[Codec::Opus])),
            "ivf" => (Some(&[Codec::Vp8, Codec::Vp9, Codec::Av1]), None),
            "h264" | "264" => (Some(&[Codec::H264]), None),
            "ogg" | "opus" => (None, Some(&[Codec::Opus])),
            "wav" => (None, Some(RAW)),
            "y4m" => (Some(RAW), None),
            _ => {
                return Err(MediaError::File {
                    path: path.into(),
                    message: "unknown extension: use .webm, .mkv, .mp4, .ivf, .h264, .ogg, .opus, .wav or .y4m".into(),
                })
            }
        };
        Ok(FileCodecs { video, audio })
    }

    fn for_kind(&self, kind: MediaKind) -> Option<&'static [Codec]> {
        match kind {
            MediaKind::Video => self.video,
            MediaKind::Audio => self.audio,
        }
    }
}

/// Options of a [`MediaRecorder`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    /// Bitrate when raw video has to be encoded.
    pub video_bitrate: u32,
    /// Bitrate when raw audio has to be encoded.
    pub audio_bitrate: u32,
    /// How long (in media time) to wait for every track's first frame
    /// before starting the file without the tracks still silent.
    pub wait_for_tracks: Duration,
    /// Frames held while waiting (at most).
    pub max_waiting_frames: usize,
}

impl Default for RecorderOptions {
    /// 1 Mbit/s video, 64 kbit/s audio, tracks waited for 2 s or 300 frames.
    fn default() -> Self {
        RecorderOptions {
            video_bitrate: 1_000_000,
            audio_bitrate: 64_000,
            wait_for_tracks: Duration::from_secs(2),
            max_waiting_frames: 300,
        }
    }
}

/// What a recording wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Frames written per added track (in [`MediaRecorder::add_track`] order).
    pub written: Vec<u64>,
    /// Frames not written per track: no frame before the file started,
    /// a size change, a codec error.
    pub dropped: Vec<u64>,
    /// Why frames were dropped, the first time each reason came up.
    pub problems: Vec<String>,
}

/// Writes tracks to a file: encoded frames of a codec the file takes go in
/// untouched; raw frames are encoded (and frames of another codec decoded
/// and re-encoded). Timestamps start at zero at the earliest first frame;
/// gaps stay gaps. [`MediaRecorder::stop`] finalizes the file.
pub struct MediaRecorder {
    path: PathBuf,
    muxer: Option<Box<dyn Muxer>>,
    codecs: FileCodecs,
    options: RecorderOptions,
    tracks: Vec<(MediaKind, FrameReceiver)>,
    running: Option<Running>,
}

impl MediaRecorder {
    /// A recorder writing `path` (the format by extension, see [`FileCodecs::for_path`]).
    /// The file is created here, so a bad path fails now.
    pub fn create(path: &Path, options: RecorderOptions) -> Result<Self> {
        let codecs = FileCodecs::for_path(path)?;
        let muxer = container::create(path)?;
        Ok(Self::with_muxer(muxer, codecs, path, options))
    }

    /// A recorder writing through `muxer`, which takes `codecs`; `path` names it in errors.
    pub fn with_muxer(muxer: Box<dyn Muxer>, codecs: FileCodecs, path: &Path, options: RecorderOptions) -> Self {
        MediaRecorder { path: path.into(), muxer: Some(muxer), codecs, options, tracks: Vec::new(), running: None }
    }

    /// Adds a track of `kind` before [`MediaRecorder::start`]. A kind the file
    /// cannot hold (video into `.wav`) is an error.
    pub fn add_track(&mut self, kind: MediaKind, track: FrameReceiver) -> Result<()> {
        if self.running.is_some() {
            return Err(MediaError::InvalidConfig("add tracks before start()".into()));
        }
        if self.codecs.for_kind(kind).is_none() {
            return Err(MediaError::File {
                path: self.path.clone(),
                message: format!("this format cannot hold {kind:?}"),
            });
        }
        self.tracks.push((kind, track));
        Ok(())
    }

    /// Starts recording on the current tokio runtime.
    pub fn start(&mut self) -> Result<()> {
        let Some(muxer) = self.muxer.take() else {
            return Err(MediaError::InvalidConfig("the recorder was already started".into()));
        };
        let (tx, rx) = mpsc::channel(64);
        let mut readers = Vec::new();
        let mut kinds = Vec::new();
        for (slot, (kind, mut track)) in self.tracks.drain(..).enumerate() {
            kinds.push(kind);
            let tx = tx.clone();
            readers.push(tokio::spawn(async move {
                while let Some(f) = track.recv().await {
                    if tx.send((slot, f)).await.is_err() {
                        return;
                    }
                }
            }));
        }
        let writer = Writer::new(muxer, self.codecs, kinds, self.options.clone());
        let path = self.path.clone();
        let write = tokio::task::spawn_blocking(move || writer.run(rx).map_err(|e| e.in_file(path)));
        self.running = Some(Running { readers, writer: write });
        Ok(())
    }

    /// Stops reading the tracks, writes what is buffered, finalizes the file
    /// and says what was written.
    pub async fn stop(mut self) -> Result<RecorderStats> {
        let Some(Running { readers, writer }) = self.running.take() else {
            return Err(MediaError::InvalidConfig("the recorder was not started".into()));
        };
        for r in &readers {
            r.abort();
        }
        for r in readers {
            let _ = r.await;
        }
        writer.await.map_err(|e| MediaError::Io(std::io::Error::other(e)))?
    }

    /// Waits until every track has ended by itself, then finalizes the file.
    pub async fn finish(mut self) -> Result<RecorderStats> {
        let Some(Running { readers, writer }) = self.running.take() else {
            return Err(MediaError::InvalidConfig("the recorder was not started".into()));
        };
        for r in readers {
            let _ = r.await;
        }
        writer.await.map_err(|e| MediaError::Io(std::io::Error::other(e)))?
    }
}

/// How a track's frames become what the file takes: decoded first when
/// they come encoded in a codec the file does not take, encoded when the
/// file takes encoded frames and they are raw (by then). Encoders are
/// created at the first raw frame, which gives the size.
/// The tasks of a started recording: one reader per track, one writer.
struct Running {
    readers: Vec<tokio::task::JoinHandle<()>>,
    writer: tokio::task::JoinHandle<Result<RecorderStats>>,
}

enum Transcode {
    /// Written as they come.
    Pass,
    /// Video: `decoder` for encoded input, then encoded to `to` (or kept raw).
    Video { decoder: Option<Box<dyn VideoDecoder>>, encoder: Option<Box<dyn VideoEncoder>>, to: Option<Codec> },
    /// Audio: the same.
    Audio {
        decoder: Option<Box<dyn AudioDecoder>>,
        /// The encoder and, when the source's rate or channels are not what it takes, a converter.
        encoder: Option<(Box<dyn AudioEncoder>, Option<AudioConverter>)>,
        to: Option<Codec>,
    },
}

struct Slot {
    kind: MediaKind,
    index: Option<usize>,
    transcode: Option<Transcode>,
    /// Whether the track's first keyframe (any raw frame) was written.
    started: bool,
    written: u64,
    dropped: u64,
}

struct Writer {
    muxer: Box<dyn Muxer>,
    codecs: FileCodecs,
    options: RecorderOptions,
    slots: Vec<Slot>,
    problems: Vec<String>,
    /// The earliest first frame's time: written as zero.
    origin: Option<Duration>,
}

impl Writer {
    fn new(muxer: Box<dyn Muxer>, codecs: FileCodecs, kinds: Vec<MediaKind>, options: RecorderOptions) -> Self {
        let slots = kinds
            .into_iter()
            .map(|kind| Slot { kind, index: None, transcode: None, started: false, written: 0, dropped: 0 })
            .collect();
        Writer { muxer, codecs, options, slots, problems: Vec::new(), origin: None }
    }

    fn run(mut self, mut frames: mpsc::Receiver<(usize, Frame)>) -> Result<RecorderStats> {
        // Wait for every track's first frame (bounded), then set up the file.
        let mut waiting: Vec<(usize, Frame)> = Vec::new();
        let mut open = true;
        while open {
            match frames.blocking_recv() {
                Some(item) => waiting.push(item),
                None => open = false,
            }
            let first = waiting.iter().map(|(_, f)| f.time()).min().unwrap_or_default();
            let newest = waiting.last().map(|(_, f)| f.time()).unwrap_or_default();
            let all = (0..self.slots.len()).all(|s| waiting.iter().any(|(w, f)| *w == s && f.is_keyframe()));
            if all
                || waiting.len() >= self.options.max_waiting_frames
                || newest.saturating_sub(first) >= self.options.wait_for_tracks
            {
                break;
            }
        }
        if waiting.is_empty() {
            self.muxer.finish()?;
            return Ok(self.stats());
        }
        self.origin = waiting.iter().filter(|(_, f)| f.is_keyframe()).map(|(_, f)| f.time()).min();
        for s in 0..self.slots.len() {
            if let Some((_, f)) = waiting.iter().find(|(w, f)| *w == s && f.is_keyframe()) {
                let f = f.clone();
                self.set_up(s, &f)?;
            }
        }
        for (s, f) in waiting {
            self.write(s, f)?;
        }
        while let Some((s, f)) = frames.blocking_recv() {
            self.write(s, f)?;
        }
        self.muxer.finish()?;
        Ok(self.stats())
    }

    fn stats(&self) -> RecorderStats {
        RecorderStats {
            written: self.slots.iter().map(|s| s.written).collect(),
            dropped: self.slots.iter().map(|s| s.dropped).collect(),
            problems: self.problems.clone(),
        }
    }

    fn problem(&mut self, s: usize, why: String) {
        self.slots[s].dropped += 1;
        if !self.problems.contains(&why) && self.problems.len() < 16 {
            self.problems.push(why);
        }
    }

    /// Chooses how track `s` is written from its first frame, and adds it to the file.
    fn set_up(&mut self, s: usize, first: &Frame) -> Result<()> {
        let kind = self.slots[s].kind;
        let accepted = self.codecs.for_kind(kind).unwrap_or(&[]);
        let raw_file = accepted.is_empty();
        let to = accepted.first().copied();
        let (transcode, codec) = match first {
            Frame::Encoded(e) if accepted.contains(&e.codec) => (Transcode::Pass, Some(e.codec)),
            Frame::Video(_) | Frame::Audio(_) if raw_file => (Transcode::Pass, None),
            Frame::Encoded(e) => match kind {
                MediaKind::Video => {
                    (Transcode::Video { decoder: Some(codec::video_decoder(e.codec)?), encoder: None, to }, to)
                }
                MediaKind::Audio => (
                    Transcode::Audio {
                        decoder: Some(codec::audio_decoder(e.codec, if e.codec == Codec::Opus { 2 } else { 1 })?),
                        encoder: None,
                        to,
                    },
                    to,
                ),
            },
            _ => match kind {
                MediaKind::Video => (Transcode::Video { decoder: None, encoder: None, to }, to),
                MediaKind::Audio => (Transcode::Audio { decoder: None, encoder: None, to }, to),
            },
        };
        let spec = spec_of(kind, codec, first);
        self.slots[s].index = Some(self.muxer.add_track(spec)?);
        self.slots[s].transcode = Some(transcode);
        Ok(())
    }

    fn write(&mut self, s: usize, mut frame: Frame) -> Result<()> {
        let Some(index) = self.slots[s].index else {
            self.problem(s, format!("track {s} sent nothing before the file started: its frames are not recorded"));
            return Ok(());
        };
        if !self.slots[s].started {
            if !frame.is_keyframe() {
                self.problem(s, format!("track {s}: encoded video before its first keyframe is not recorded"));
                return Ok(());
            }
            self.slots[s].started = true;
        }
        let origin = self.origin.unwrap_or_default();
        if frame.time() < origin {
            self.problem(s, format!("track {s} went back before the recording's start"));
            return Ok(());
        }
        frame.set_time(frame.time() - origin);
        let mut out = Vec::new();
        if let Err(e) = self.transcode(s, frame, &mut out) {
            self.problem(s, format!("track {s}: {e}"));
            return Ok(());
        }
        for f in out {
            self.muxer.write(index, &f)?;
            self.slots[s].written += 1;
        }
        Ok(())
    }

    fn transcode(&mut self, s: usize, frame: Frame, out: &mut Vec<Frame>) -> Result<()> {
        let (vb, ab) = (self.options.video_bitrate, self.options.audio_bitrate);
        let Some(t) = self.slots[s].transcode.as_mut() else { return Ok(()) };
        let mut encoded = Vec::new();
        match (t, frame) {
            (Transcode::Pass, f) => out.push(f),
            (Transcode::Video { decoder, encoder, to }, frame) => {
                let mut raw = Vec::new();
                match (decoder, frame) {
                    (Some(d), Frame::Encoded(e)) => d.decode(&e, &mut raw)?,
                    (None, Frame::Video(v)) => raw.push(v),
                    (_, f) => return Err(changed_form(&f)),
                }
                for v in raw {
                    match to {
                        Some(to) => encode_video(encoder, *to, vb, &v, &mut encoded)?,
                        None => out.push(Frame::Video(v)),
                    }
                }
            }
            (Transcode::Audio { decoder, encoder, to }, frame) => {
                let mut raw = Vec::new();
                match (decoder, frame) {
                    (Some(d), Frame::Encoded(e)) => d.decode(&e, &mut raw)?,
                    (None, Frame::Audio(a)) => raw.push(a),
                    (_, f) => return Err(changed_form(&f)),
                }
                for a in raw {
                    match to {
                        Some(to) => encode_audio(encoder, *to, ab, &a, &mut encoded)?,
                        None => out.push(Frame::Audio(a)),
                    }
                }
            }
        }
        out.extend(encoded.into_iter().map(Frame::Encoded));
        Ok(())
    }
}

fn encode_video(
    enc: &mut Option<Box<dyn VideoEncoder>>,
    to: Codec,
    bitrate: u32,
    v: &crate::frame::VideoFrame,
    out: &mut Vec<crate::frame::EncodedFrame>,
) -> Result<()> {
    if enc.is_none() {
        *enc = Some(codec::video_encoder(to, VideoEncoderConfig::new(v.width(), v.height(), bitrate))?);
    }
    let e = enc.as_mut().expect("just set");
    let (w, h) = (e.config().width, e.config().height);
    if (v.width(), v.height()) != (w, h) {
        return Err(MediaError::BadFrame(format!("the size changed from {w}x{h} to {}x{}", v.width(), v.height())));
    }
    e.encode(v, false, out)
}

/// The sample rate and channels `to` encodes from `rate` Hz, `channels`:
/// Opus at 48 kHz keeping mono or stereo, G.711 at 8 kHz mono, G.722 at
/// 16 kHz mono.
fn encoder_input(to: Codec, rate: u32, channels: u16) -> (u32, u16) {
    match to {
        Codec::Opus => (48_000, channels.min(2)),
        Codec::Pcmu | Codec::Pcma => (8_000, 1),
        Codec::G722 => (16_000, 1),
        _ => (rate, channels),
    }
}

fn encode_audio(
    enc: &mut Option<(Box<dyn AudioEncoder>, Option<AudioConverter>)>,
    to: Codec,
    bitrate: u32,
    a: &crate::frame::AudioFrame,
    out: &mut Vec<crate::frame::EncodedFrame>,
) -> Result<()> {
    if enc.is_none() {
        let (sample_rate, channels) = encoder_input(to, a.sample_rate(), a.channels());
        let config = AudioEncoderConfig { sample_rate, channels, bitrate, ..AudioEncoderConfig::for_codec(to) };
        let (from, into) = (AudioFormat::new(a.sample_rate(), a.channels()), AudioFormat::new(sample_rate, channels));
        let converter = (from != into).then(|| AudioConverter::new(from, into, SampleFormat::F32)).transpose()?;
        *enc = Some((codec::audio_encoder(to, config)?, converter));
    }
    let (encoder, converter) = enc.as_mut().expect("just set");
    match converter {
        Some(c) => {
            let converted = c.convert(a)?;
            if converted.samples_per_channel() > 0 {
                encoder.encode(&converted, out)?;
            }
            Ok(())
        }
        None => encoder.encode(a, out),
    }
}

fn changed_form(f: &Frame) -> MediaError {
    MediaError::BadFrame(format!("a {:?} track changed between raw and encoded frames", f.kind()))
}

fn spec_of(kind: MediaKind, codec: Option<Codec>, first: &Frame) -> TrackSpec {
    let (size, audio) = match first {
        Frame::Video(v) => (Some((v.width(), v.height())), None),
        Frame::Audio(a) => (None, Some((a.sample_rate(), a.channels()))),
        Frame::Encoded(_) => (None, None),
    };
    TrackSpec { kind, codec, size, audio }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;

    use super::*;
    use crate::frame::{AudioFrame, EncodedFrame, TimeBase};
    use crate::track::{channel, QueueLimits};

    #[derive(Default)]
    struct Log {
        tracks: Vec<TrackSpec>,
        writes: Vec<(usize, Duration, bool)>,
        finished: bool,
    }

    struct Memory(Arc<Mutex<Log>>);

    impl Muxer for Memory {
        fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
            let mut log = self.0.lock().unwrap();
            assert!(log.writes.is_empty(), "tracks are added before the first frame");
            log.tracks.push(spec);
            Ok(log.tracks.len() - 1)
        }
        fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
            self.0.lock().unwrap().writes.push((index, frame.time(), frame.is_keyframe()));
            Ok(())
        }
        fn finish(&mut self) -> Result<()> {
            self.0.lock().unwrap().finished = true;
            Ok(())
        }
    }

    fn vp8(ms: u64, keyframe: bool) -> Frame {
        Frame::Encoded(EncodedFrame {
            codec: Codec::Vp8,
            data: Bytes::from_static(b"frame"),
            pts: (ms * 90) as i64,
            time_base: TimeBase::VIDEO,
            duration: None,
            keyframe,
        })
    }

    /// Encoded VP8 passes into a file that takes VP8 and raw audio into one
    /// that takes raw audio: times start at zero at the earliest first frame,
    /// a gap stays a gap, video before the first keyframe is left out, and
    /// stopping finalizes the file.
    #[tokio::test]
    async fn frames_are_rebased_to_zero_and_gaps_kept() {
        let log = Arc::new(Mutex::new(Log::default()));
        const VP8: &[Codec] = &[Codec::Vp8];
        let codecs = FileCodecs { video: Some(VP8), audio: Some(&[]) };
        let mut rec = MediaRecorder::with_muxer(
            Box::new(Memory(log.clone())),
            codecs,
            Path::new("mem"),
            RecorderOptions::default(),
        );
        let (vtx, vrx) = channel(QueueLimits::LIVE);
        let (atx, arx) = channel(QueueLimits::LIVE);
        rec.add_track(MediaKind::Video, vrx).unwrap();
        rec.add_track(MediaKind::Audio, arx).unwrap();
        rec.start().unwrap();
        vtx.send(vp8(10_000, false)).await.unwrap(); // before the first keyframe
        vtx.send(vp8(10_033, true)).await.unwrap();
        vtx.send(vp8(10_066, false)).await.unwrap();
        vtx.send(vp8(11_000, false)).await.unwrap(); // after a 1 s gap
        let pcm = AudioFrame::from_i16(vec![0; 480], 48_000, 1, 48 * 10_050).unwrap();
        atx.send(Frame::Audio(pcm)).await.unwrap();
        drop((vtx, atx));
        let stats = rec.finish().await.unwrap();
        assert_eq!(stats.written, vec![3, 1]);
        assert_eq!(stats.dropped, vec![1, 0]);
        let log = log.lock().unwrap();
        assert!(log.finished);
        assert_eq!(log.tracks[0].codec, Some(Codec::Vp8));
        assert_eq!((log.tracks[1].codec, log.tracks[1].audio), (None, Some((48_000, 1))));
        let ms = |i: usize| log.writes.iter().filter(|w| w.0 == i).map(|w| w.1.as_millis()).collect::<Vec<_>>();
        assert_eq!(ms(0), vec![0, 33, 967]);
        assert_eq!(ms(1), vec![17]);
    }

    #[test]
    fn formats_say_what_they_take() {
        assert!(FileCodecs::for_path(Path::new("a.webm")).unwrap().video.unwrap().contains(&Codec::Vp8));
        assert_eq!(FileCodecs::for_path(Path::new("a.WAV")).unwrap().video, None);
        let e = FileCodecs::for_path(Path::new("a.avi")).unwrap_err().to_string();
        assert!(e.contains("a.avi") && e.contains(".webm"), "{e}");
    }
}
