//! Inputs shared by the benches.

use media::synthetic::SineTone;
use media::AudioFrame;

/// `frames` 20 ms frames of 48 kHz stereo: a two-tone chord with a little
/// noise, so that an audio encoder has real work in every band.
pub fn chord(frames: usize) -> Vec<AudioFrame> {
    let mut seed = 0x2545_f491u32;
    let low = SineTone::new(220.0, 0.3, 48_000, 2, 20);
    let high = SineTone::new(1760.0, 0.1, 48_000, 2, 20);
    low.zip(high)
        .take(frames)
        .map(|(a, b)| {
            let s = a
                .to_i16()
                .iter()
                .zip(b.to_i16().iter())
                .map(|(&x, &y)| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    x.saturating_add(y).saturating_add((seed >> 22) as i16 - 512)
                })
                .collect();
            AudioFrame::from_i16(s, 48_000, 2, a.pts).expect("a valid frame")
        })
        .collect()
}
