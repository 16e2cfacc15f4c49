//! VP8 speed on the test pattern: 640x480 at 30 fps and 1 Mbit/s, 300
//! frames; prints mean encode and decode ns per frame and the output rate.
//!
//! `cargo bench -p oxrtc-media --features vpx --bench vp8`

use std::time::Instant;

use media::codec::{video_decoder, video_encoder, VideoEncoderConfig};
use media::synthetic::TestPattern;
use media::Codec;

fn main() {
    const N: u64 = 300;
    let pattern = TestPattern::new(640, 480, 30);
    let frames: Vec<_> = (0..N).map(|i| pattern.frame_at(i)).collect();
    let config = VideoEncoderConfig::new(640, 480, 1_000_000);
    let threads = config.threads;
    let mut enc = video_encoder(Codec::Vp8, config).expect("VP8 encoder");
    let mut encoded = Vec::new();
    let start = Instant::now();
    for f in &frames {
        enc.encode(f, false, &mut encoded).expect("encode");
    }
    let encode_ns = start.elapsed().as_nanos() as f64 / N as f64;

    let mut dec = video_decoder(Codec::Vp8).expect("VP8 decoder");
    let mut pictures = Vec::with_capacity(encoded.len());
    let start = Instant::now();
    for f in &encoded {
        dec.decode(f, &mut pictures).expect("decode");
    }
    let decode_ns = start.elapsed().as_nanos() as f64 / encoded.len() as f64;

    let bytes: usize = encoded.iter().map(|f| f.data.len()).sum();
    println!(
        "VP8 640x480@30 1 Mbit/s, {N} frames (threads {:?} -> {:?}): encode {encode_ns:.0} ns/frame, decode {decode_ns:.0} ns/frame, output {:.0} kbit/s, {} pictures",
        threads,
        enc.config().threads,
        bytes as f64 * 8.0 * 30.0 / N as f64 / 1000.0,
        pictures.len()
    );
}
