//! Records a camera and a microphone to a file, falling back to what this
//! machine has: a V4L2 camera (feature `v4l2`) or else the moving test
//! pattern; an ALSA input (feature `alsa`) or else a 440 Hz tone; or, with
//! `--input FILE`, a file played in real time instead of both.
//!
//! ```sh
//! cargo run -p oxrtc-media --features vpx,opus --example record -- out.webm --seconds 5
//! cargo run -p oxrtc-media --features vpx,opus,v4l2,alsa --example record -- out.webm --camera /dev/video0 --mic default
//! cargo run -p oxrtc-media --features vpx,opus,h264 --example record -- out.mp4 --input in.webm
//! ```
//!
//! The output's extension chooses the format and codecs (`.webm`: VP8 and
//! Opus; `.mp4`: H.264 and Opus; `.ogg`, `.wav`, `.y4m`, `.ivf`, `.h264`).

use std::path::PathBuf;
use std::time::Duration;

use media::player::{MediaPlayer, PlayerOptions};
use media::recorder::{MediaRecorder, RecorderOptions};
use media::synthetic::{play_pattern, play_tone, SineTone, TestPattern};
use media::track::{FrameReceiver, QueueLimits};
use media::MediaKind;

struct Args {
    out: PathBuf,
    seconds: f64,
    input: Option<PathBuf>,
    camera: PathBuf,
    mic: String,
}

fn usage(why: &str) -> ! {
    eprintln!("record: {why}");
    eprintln!("usage: record OUT [--seconds S] [--input FILE] [--camera /dev/videoN] [--mic ALSA-DEVICE]");
    std::process::exit(2);
}

fn args() -> Args {
    let mut a =
        Args { out: PathBuf::new(), seconds: 5.0, input: None, camera: "/dev/video0".into(), mic: "default".into() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage(&format!("{arg} takes a value")));
        match arg.as_str() {
            "--seconds" => a.seconds = value().parse().unwrap_or_else(|_| usage("--seconds takes a number")),
            "--input" => a.input = Some(value().into()),
            "--camera" => a.camera = value().into(),
            "--mic" => a.mic = value(),
            s if s.starts_with("--") => usage(&format!("unknown option {s}")),
            s => a.out = s.into(),
        }
    }
    if a.out.as_os_str().is_empty() {
        usage("give the file to write");
    }
    a
}

/// The camera, or the test pattern when there is none (or no `v4l2` feature).
fn video(args: &Args, keep: &mut Vec<Box<dyn std::any::Any>>) -> FrameReceiver {
    #[cfg(feature = "v4l2")]
    match media::capture::v4l2::Camera::open(&args.camera, 640, 480, 30).and_then(|c| c.start(QueueLimits::LIVE)) {
        Ok((frames, capture)) => {
            println!("video: camera {}", args.camera.display());
            keep.push(Box::new(capture));
            return frames;
        }
        Err(e) => println!("video: no camera ({e}): the test pattern instead"),
    }
    #[cfg(not(feature = "v4l2"))]
    println!("video: the test pattern (build with --features v4l2 for {})", args.camera.display());
    let _ = keep;
    play_pattern(TestPattern::new(640, 480, 30), QueueLimits::LIVE)
}

/// The microphone, or a tone when there is none (or no `alsa` feature).
fn audio(args: &Args, keep: &mut Vec<Box<dyn std::any::Any>>) -> FrameReceiver {
    #[cfg(feature = "alsa")]
    match media::capture::alsa::AlsaInput::open(&args.mic, 48_000, 1, 20).and_then(|m| m.start(QueueLimits::LIVE)) {
        Ok((frames, capture)) => {
            println!("audio: ALSA {}", args.mic);
            keep.push(Box::new(capture));
            return frames;
        }
        Err(e) => println!("audio: no microphone ({e}): a 440 Hz tone instead"),
    }
    #[cfg(not(feature = "alsa"))]
    println!("audio: a 440 Hz tone (build with --features alsa for ALSA device {})", args.mic);
    let _ = keep;
    play_tone(SineTone::new(440.0, 0.3, 48_000, 1, 20), QueueLimits { frames: 50, ..QueueLimits::LIVE })
}

#[tokio::main]
async fn main() {
    let args = args();
    let mut recorder =
        MediaRecorder::create(&args.out, RecorderOptions::default()).unwrap_or_else(|e| usage(&e.to_string()));
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut player = None;
    let (video, audio) = match &args.input {
        Some(file) => {
            let mut p = MediaPlayer::open(file, PlayerOptions::default()).unwrap_or_else(|e| usage(&e.to_string()));
            println!("playing {}", file.display());
            let tracks = (p.video(), p.audio());
            player = Some(p);
            tracks
        }
        None => (Some(video(&args, &mut keep)), Some(audio(&args, &mut keep))),
    };
    for (kind, track) in [(MediaKind::Video, video), (MediaKind::Audio, audio)] {
        if let Some(t) = track {
            recorder.add_track(kind, t).unwrap_or_else(|e| usage(&e.to_string()));
        }
    }
    recorder.start().unwrap_or_else(|e| usage(&e.to_string()));
    tokio::time::sleep(Duration::from_secs_f64(args.seconds)).await;
    drop(keep); // stops the devices
    match recorder.stop().await {
        Ok(stats) => println!("wrote {}: frames per track {:?}", args.out.display(), stats.written),
        Err(e) => {
            eprintln!("record: {}: {e}", args.out.display());
            std::process::exit(1);
        }
    }
    if let Some(e) = player.and_then(|p| p.error()) {
        eprintln!("record: the input failed: {e}");
        std::process::exit(1);
    }
}
