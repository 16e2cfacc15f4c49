//! Helpers shared by the file format tests: a scratch folder, ffmpeg and
//! ffprobe (a test tool: install it with `scripts/media-deps.sh`), and
//! reading a whole file with our demuxers or our player.

#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use media::container::{self, TrackInfo};
use media::player::{MediaPlayer, Pace, PlayerOptions};
use media::recorder::{MediaRecorder, RecorderOptions};
use media::track::{channel, QueueLimits};
use media::{Frame, MediaKind};

/// A fresh scratch folder for one test.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("media-files").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("{name} is needed by the media file tests ({e}): run scripts/media-deps.sh to install it")
    });
    assert!(
        out.status.success(),
        "{name} {}: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs ffmpeg with `args` (quiet, overwriting); panics with its error output if it fails.
pub fn ffmpeg(args: &[&str]) {
    let mut all = vec!["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
    all.extend_from_slice(args);
    tool("ffmpeg", &all);
}

/// One stream as ffprobe describes it (`codec_name`, `codec_type`, `width`,
/// `sample_rate`, `channels`, `duration`, `nb_read_packets`, ...).
#[derive(Debug, Clone)]
pub struct Stream(pub HashMap<String, String>);

impl Stream {
    /// A field as text (empty when ffprobe did not say).
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map_or("", |s| s.as_str())
    }
    /// A field as a number.
    pub fn num(&self, key: &str) -> f64 {
        self.get(key).parse().unwrap_or_else(|_| panic!("ffprobe field {key} is {:?}", self.get(key)))
    }
}

/// The streams of `path`, packets counted.
pub fn ffprobe_streams(path: &Path) -> Vec<Stream> {
    let p = path.to_str().unwrap();
    let text = tool("ffprobe", &["-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "flat", p]);
    let mut streams: Vec<Stream> = Vec::new();
    let mut format_duration = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim_matches('"').to_string();
        if let Some(rest) = key.strip_prefix("streams.stream.") {
            let (i, field) = rest.split_once('.').unwrap();
            let i: usize = i.parse().unwrap();
            while streams.len() <= i {
                streams.push(Stream(HashMap::new()));
            }
            streams[i].0.insert(field.to_string(), value);
        } else if key == "format.duration" {
            format_duration = Some(value);
        }
    }
    for s in &mut streams {
        if let Some(d) = &format_duration {
            s.0.insert("format_duration".into(), d.clone());
        }
    }
    streams
}

/// One packet as ffprobe reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Its stream.
    pub stream: usize,
    /// Presentation time in seconds (`None`: not given).
    pub pts: Option<f64>,
    /// Its length in seconds.
    pub duration: Option<f64>,
    /// Size in bytes.
    pub size: usize,
    /// Whether it is a keyframe.
    pub key: bool,
}

/// The packets of `path`, in file order.
pub fn ffprobe_packets(path: &Path) -> Vec<Packet> {
    let p = path.to_str().unwrap();
    let text = tool(
        "ffprobe",
        &["-v", "error", "-show_entries", "packet=stream_index,pts_time,duration_time,size,flags", "-of", "csv=p=0", p],
    );
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Packet {
                stream: f[0].parse().unwrap(),
                pts: f[1].parse().ok(),
                duration: f[2].parse().ok(),
                size: f[3].parse().unwrap(),
                key: f[4].contains('K'),
            }
        })
        .collect()
}

/// Every frame of `path` through our demuxer, with its tracks.
pub fn demux_all(path: &Path) -> (Vec<TrackInfo>, Vec<(usize, Frame)>) {
    let mut d = container::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    while let Some(f) = d.read().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(f);
    }
    (d.tracks().to_vec(), frames)
}

/// What a [`MediaPlayer`] without decoding gives for one kind: the frames'
/// count and the end of the last one (its time plus its duration, or one
/// `step` when it has none).
pub async fn play(path: &Path, kind: MediaKind, step: Duration) -> (usize, Duration) {
    let options = PlayerOptions {
        decode: false,
        pace: Pace::AsFastAsRead,
        video_queue: QueueLimits { frames: 1000, bytes: 1 << 30, ..QueueLimits::LIVE },
        audio_queue: QueueLimits { frames: 1000, bytes: 1 << 30, ..QueueLimits::LIVE },
        ..PlayerOptions::default()
    };
    let mut player = MediaPlayer::open(path, options).unwrap_or_else(|e| panic!("{e}"));
    let mut rx = match kind {
        MediaKind::Video => player.video(),
        MediaKind::Audio => player.audio(),
    }
    .expect("the file has a track of that kind");
    let (mut n, mut end) = (0, Duration::ZERO);
    while let Some(f) = rx.recv().await {
        n += 1;
        let len = match &f {
            Frame::Audio(a) => a.duration(),
            Frame::Encoded(e) => e.duration.map_or(step, |d| e.time_base.duration(d)),
            Frame::Video(_) => step,
        };
        end = end.max(f.time() + len);
    }
    assert!(player.error().is_none(), "{:?}", player.error());
    (n, end)
}

/// The keyframe flags of `track`'s frames.
pub fn keys(frames: &[(usize, Frame)], track: usize) -> Vec<bool> {
    frames.iter().filter(|(i, _)| *i == track).map(|(_, f)| f.is_keyframe()).collect()
}

/// Records demuxed `frames` into `path` through a [`MediaRecorder`], one
/// recorder track per file track (`kinds[i]` is file track `i`'s kind),
/// frames passed through as they are; returns the frames written per track.
pub async fn record_tracks(frames: Vec<(usize, Frame)>, kinds: &[MediaKind], path: &Path) -> Vec<u64> {
    let mut rec = MediaRecorder::create(path, RecorderOptions::default()).unwrap();
    let queue = QueueLimits { frames: 500, ..QueueLimits::LIVE };
    let mut senders = Vec::new();
    for &kind in kinds {
        let (tx, rx) = channel(queue);
        rec.add_track(kind, rx).unwrap();
        senders.push(tx);
    }
    rec.start().unwrap();
    for (i, f) in frames {
        senders[i].send(f).await.unwrap();
    }
    drop(senders);
    rec.finish().await.unwrap().written
}

/// Whether `a` and `b` are within `tolerance` of each other.
pub fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// Encodes `frames` of a 30 fps `size` test pattern with ffmpeg's `encoder`
/// (extra `args` after it) into `path`, a keyframe every `gop` frames.
pub fn ffmpeg_encode(path: &Path, encoder: &str, args: &[&str], size: &str, frames: u32, gop: u32) {
    let src = format!("testsrc=size={size}:rate=30");
    let (frames, gop) = (frames.to_string(), gop.to_string());
    let mut all = vec!["-f", "lavfi", "-i", &src, "-frames:v", &frames, "-g", &gop, "-c:v", encoder];
    all.extend_from_slice(args);
    all.push(path.to_str().unwrap());
    ffmpeg(&all);
}

/// The fast settings of each video encoder: (our codec, ffmpeg encoder, its options).
pub const VIDEO_ENCODERS: &[(media::Codec, &str, &[&str])] = &[
    (media::Codec::Vp8, "libvpx", &["-deadline", "realtime", "-cpu-used", "8"]),
    (media::Codec::Vp9, "libvpx-vp9", &["-deadline", "realtime", "-cpu-used", "8"]),
    (media::Codec::Av1, "libaom-av1", &["-usage", "realtime", "-cpu-used", "8"]),
];
