//! Per-frame cost of `AudioConverter` on 10 ms frames: the conversions a
//! WebRTC endpoint makes (capture at 44.1 or 48 kHz to a codec's rate).
//!
//! `cargo bench -p oxrtc-media --bench audio_convert`; prints nanoseconds
//! per 10 ms input frame.

use std::hint::black_box;
use std::time::Instant;

use media::audio_convert::{AudioConverter, AudioFormat, SampleFormat};
use media::synthetic::SineTone;

const FRAMES: usize = 2000;

fn run(from: AudioFormat, to: AudioFormat) {
    let frames: Vec<_> = SineTone::new(1000.0, 0.5, from.sample_rate, from.channels, 10).take(FRAMES).collect();
    let mut c = AudioConverter::new(from, to, SampleFormat::S16).expect("converter");
    for f in &frames[..100] {
        black_box(c.convert(f).expect("convert"));
    }
    let start = Instant::now();
    for f in &frames {
        black_box(c.convert(black_box(f)).expect("convert"));
    }
    let ns = start.elapsed().as_nanos() / FRAMES as u128;
    println!(
        "{} Hz x{} -> {} Hz x{}: {ns} ns per 10 ms frame",
        from.sample_rate, from.channels, to.sample_rate, to.channels
    );
}

fn main() {
    run(AudioFormat::new(44_100, 2), AudioFormat::new(48_000, 2));
    run(AudioFormat::new(48_000, 2), AudioFormat::new(16_000, 1));
    run(AudioFormat::new(48_000, 1), AudioFormat::new(8_000, 1));
    run(AudioFormat::new(16_000, 1), AudioFormat::new(48_000, 2));
}
