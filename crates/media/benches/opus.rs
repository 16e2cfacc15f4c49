//! Per-frame cost of Opus through libopus: 48 kHz stereo, 20 ms packets,
//! 64 kbit/s, complexity 9 (the encoder's default).
//!
//! `cargo bench -p oxrtc-media --features opus --bench opus`; prints
//! nanoseconds per 20 ms frame for encoding and for decoding.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use media::codec::opus::{OpusDecoder, OpusEncoder, RATE};
use media::codec::{AudioDecoder, AudioEncoder, AudioEncoderConfig};
use media::{AudioFrame, Codec};

const FRAMES: usize = 1000;

/// Ten seconds of a two-tone chord with a little noise.
fn signal() -> Vec<AudioFrame> {
    assert_eq!(RATE, 48_000);
    common::chord(FRAMES)
}

fn per_frame(total: Duration, frames: usize) -> u128 {
    total.as_nanos() / frames as u128
}

fn main() {
    let frames = signal();
    let mut config = AudioEncoderConfig::for_codec(Codec::Opus);
    config.channels = 2;
    config.bitrate = 64_000;

    // Warm up once (caches, lazy tables), then measure a fresh encoder.
    let mut warm = OpusEncoder::new(config.clone()).expect("encoder");
    let mut packets = Vec::with_capacity(FRAMES);
    for f in &frames[..50] {
        warm.encode(f, &mut packets).expect("encode");
    }
    let mut enc = OpusEncoder::new(config).expect("encoder");
    packets.clear();
    let start = Instant::now();
    for f in &frames {
        enc.encode(black_box(f), &mut packets).expect("encode");
    }
    let encode = start.elapsed();
    assert_eq!(packets.len(), FRAMES);
    let bytes: usize = packets.iter().map(|p| p.data.len()).sum();

    let mut dec = OpusDecoder::new(2).expect("decoder");
    let mut out = Vec::with_capacity(FRAMES);
    let start = Instant::now();
    for p in &packets {
        dec.decode(black_box(p), &mut out).expect("decode");
    }
    let decode = start.elapsed();
    assert_eq!(out.len(), FRAMES);

    println!("opus 48 kHz stereo 20 ms @ 64 kbit/s, {FRAMES} frames ({} bytes/packet on average)", bytes / FRAMES);
    println!("encode: {} ns/frame", per_frame(encode, FRAMES));
    println!("decode: {} ns/frame", per_frame(decode, FRAMES));
}
