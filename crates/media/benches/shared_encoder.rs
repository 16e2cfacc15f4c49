//! One encode for many viewers: the CPU of one [`SharedEncoder`] feeding
//! ten subscribers next to the same encoder feeding one, on the same 300
//! frames of the 640×480 test pattern (VP8 at 1 Mbit/s, one thread), and
//! next to ten encoders of their own (what a stack without sharing pays).
//! Each frame is handed over only when every subscriber has received the
//! previous one, so nothing is dropped and every run encodes every frame.
//!
//! `cargo bench -p oxrtc-media --features vpx --bench shared_encoder`
//! prints process CPU time per run and the ratios (target: ten subscribers
//! at most 1.2× one).

use std::time::Duration;

use media::codec::{video_encoder, VideoEncoderConfig};
use media::shared::{Encoder, SharedEncoder};
use media::synthetic::TestPattern;
use media::track::{channel, DropPolicy, QueueLimits};
use media::{Codec, Frame, VideoFrame};

const FRAMES: u64 = 300;

fn cpu_time() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always available on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn config() -> VideoEncoderConfig {
    VideoEncoderConfig { threads: Some(1), ..VideoEncoderConfig::new(640, 480, 1_000_000) }
}

/// CPU of one shared encoder with `subscribers` subscribers over `frames`.
fn shared(runtime: &tokio::runtime::Runtime, frames: &[VideoFrame], subscribers: usize) -> Duration {
    runtime.block_on(async {
        let limits = QueueLimits { frames: 4, bytes: 64 << 20, policy: DropPolicy::Oldest };
        let (source, receiver) = channel(limits);
        let encoder = SharedEncoder::start(receiver, Encoder::Video(video_encoder(Codec::Vp8, config()).unwrap()));
        let mut subs: Vec<_> = (0..subscribers).map(|_| encoder.subscribe(QueueLimits::LIVE_ENCODED_VIDEO)).collect();
        let start = cpu_time();
        for f in frames {
            source.send(Frame::Video(f.clone())).await.unwrap();
            for s in &mut subs {
                let got = tokio::time::timeout(Duration::from_secs(10), s.recv()).await;
                assert!(matches!(got, Ok(Some(Frame::Encoded(_)))), "every subscriber gets every frame");
            }
        }
        let spent = cpu_time() - start;
        assert_eq!(encoder.counts(), (frames.len() as u64, 0));
        spent
    })
}

/// CPU of `n` separate encoders, each encoding every frame.
fn separate(frames: &[VideoFrame], n: usize) -> Duration {
    let mut encoders: Vec<_> = (0..n).map(|_| video_encoder(Codec::Vp8, config()).unwrap()).collect();
    let mut out = Vec::new();
    let start = cpu_time();
    for f in frames {
        for e in &mut encoders {
            e.encode(f, false, &mut out).unwrap();
            out.clear();
        }
    }
    cpu_time() - start
}

fn main() {
    let pattern = TestPattern::new(640, 480, 30);
    let frames: Vec<_> = (0..FRAMES).map(|n| pattern.frame_at(n)).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    shared(&runtime, &frames[..30], 1); // warm up
    let mut one = Vec::new();
    let mut ten = Vec::new();
    for _ in 0..3 {
        one.push(shared(&runtime, &frames, 1));
        ten.push(shared(&runtime, &frames, 10));
    }
    one.sort();
    ten.sort();
    let (one, ten) = (one[1], ten[1]);
    let own = separate(&frames, 10);
    let per_frame = |d: Duration| d.as_secs_f64() * 1e3 / FRAMES as f64;
    println!("VP8 640x480 1 Mbit/s, {FRAMES} frames, process CPU (median of 3):");
    println!("  shared encoder, 1 subscriber:   {:8.3} ms/frame", per_frame(one));
    println!("  shared encoder, 10 subscribers: {:8.3} ms/frame", per_frame(ten));
    println!("  10 encoders of their own:       {:8.3} ms/frame", per_frame(own));
    println!("  10 subscribers / 1 subscriber:  {:.3}x (target <= 1.2x)", ten.as_secs_f64() / one.as_secs_f64());
    println!("  10 own encoders / shared (10):  {:.2}x", own.as_secs_f64() / ten.as_secs_f64());
}
