//! Synthetic sources for tests and demos: a moving test pattern with its
//! frame number drawn in it, a sine tone and silence; [`play_pattern`] and
//! [`play_tone`] make live tracks of them.

use std::f64::consts::TAU;
use std::time::Duration;

use crate::error::Result;
use crate::frame::{AudioFrame, Frame, PixelFormat, TimeBase, VideoFrame};
use crate::track::{channel, FrameReceiver, QueueLimits};

/// 3×5 bitmaps of the digits 0–9, one row per 3 low bits (MSB left).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// A moving I420 test pattern: colour bars that scroll one column every
/// frame, a diagonal gradient, and the frame number drawn in white digits
/// in the top-left corner (8 digits, readable back with
/// [`TestPattern::read_counter`]).
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: u32,
    height: u32,
    fps: u32,
    frame: u64,
}

impl TestPattern {
    /// A pattern of `width`×`height` (even sides, at least 64×32) at `fps` frames per second.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        TestPattern { width: width.max(64) & !1, height: height.max(32) & !1, fps: fps.max(1), frame: 0 }
    }

    /// Size of a digit cell in pixels (digits are 3×5 cells, 1 cell apart).
    fn cell(&self) -> usize {
        (self.width as usize / 64).max(2)
    }

    /// Frame `n` of the pattern, `pts` in 1/90000 s.
    pub fn frame_at(&self, n: u64) -> VideoFrame {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut data = vec![0u8; VideoFrame::packed_len(PixelFormat::I420, self.width, self.height)];
        let (y, uv) = data.split_at_mut(w * h);
        let (u, v) = uv.split_at_mut((w / 2) * (h / 2));
        // Bars of (Y, U, V): white, yellow, cyan, green, magenta, red, blue, black.
        const BARS: [(u8, u8, u8); 8] = [
            (235, 128, 128),
            (210, 16, 146),
            (170, 166, 16),
            (145, 54, 34),
            (106, 202, 222),
            (81, 90, 240),
            (41, 240, 110),
            (16, 128, 128),
        ];
        let shift = n as usize;
        for row in 0..h {
            for col in 0..w {
                let bar = ((col + shift) % w) * 8 / w;
                let grad = ((row + col + 2 * shift) % 64) as u8;
                y[row * w + col] = BARS[bar].0.saturating_sub(32).saturating_add(grad / 2);
            }
        }
        for row in 0..h / 2 {
            for col in 0..w / 2 {
                let bar = ((2 * col + shift) % w) * 8 / w;
                u[row * (w / 2) + col] = BARS[bar].1;
                v[row * (w / 2) + col] = BARS[bar].2;
            }
        }
        self.draw_counter(y, n);
        let pts = (n as i64).saturating_mul(90_000) / i64::from(self.fps);
        VideoFrame::from_packed(PixelFormat::I420, self.width, self.height, data.into(), pts, TimeBase::VIDEO)
            .expect("the pattern's buffer has its size")
    }

    fn draw_counter(&self, y: &mut [u8], n: u64) {
        let (w, c) = (self.width as usize, self.cell());
        // A black box behind the digits, then the digits in white.
        for row in 0..7 * c {
            y[row * w..row * w + (8 * 4 + 1) * c].fill(16);
        }
        for (i, d) in format!("{:08}", n % 100_000_000).bytes().enumerate() {
            let glyph = DIGITS[usize::from(d - b'0')];
            for (gr, bits) in glyph.iter().enumerate() {
                for gc in 0..3 {
                    if bits & (4 >> gc) != 0 {
                        let (x0, y0) = ((1 + i * 4 + gc) * c, (1 + gr) * c);
                        for yy in y0..y0 + c {
                            y[yy * w + x0..yy * w + x0 + c].fill(235);
                        }
                    }
                }
            }
        }
    }

    /// Reads the frame number back from a decoded frame of this pattern's
    /// size (after lossy coding too), or `None` if a digit is unreadable.
    pub fn read_counter(&self, frame: &VideoFrame) -> Option<u64> {
        if frame.width() != self.width || frame.height() != self.height || frame.format() != PixelFormat::I420 {
            return None;
        }
        let (c, plane) = (self.cell(), &frame.planes()[0]);
        let lit = |gx: usize, gy: usize| {
            let (cx, cy) = (gx * c + c / 2, gy * c + c / 2);
            plane.data[cy * plane.stride + cx] > 128
        };
        let mut n = 0u64;
        for i in 0..8 {
            let mut glyph = [0u8; 5];
            for (gr, bits) in glyph.iter_mut().enumerate() {
                for gc in 0..3 {
                    if lit(1 + i * 4 + gc, 1 + gr) {
                        *bits |= 4 >> gc;
                    }
                }
            }
            n = n * 10 + DIGITS.iter().position(|g| *g == glyph)? as u64;
        }
        Some(n)
    }
}

impl Iterator for TestPattern {
    type Item = VideoFrame;
    fn next(&mut self) -> Option<VideoFrame> {
        let f = self.frame_at(self.frame);
        self.frame += 1;
        Some(f)
    }
}

/// A sine tone, in frames of `frame_ms` milliseconds of s16 samples
/// (the same value on every channel), `pts` in samples.
#[derive(Debug, Clone)]
pub struct SineTone {
    hz: f64,
    amplitude: f64,
    sample_rate: u32,
    channels: u16,
    frame_samples: usize,
    at: u64,
}

impl SineTone {
    /// A tone of `hz` at `amplitude` (0..=1 of full scale).
    pub fn new(hz: f64, amplitude: f64, sample_rate: u32, channels: u16, frame_ms: u32) -> Self {
        let frame_samples = (sample_rate as usize * frame_ms as usize / 1000).max(1);
        SineTone {
            hz,
            amplitude: amplitude.clamp(0.0, 1.0),
            sample_rate,
            channels: channels.max(1),
            frame_samples,
            at: 0,
        }
    }

    /// Silence in the same framing (a tone of amplitude 0).
    pub fn silence(sample_rate: u32, channels: u16, frame_ms: u32) -> Self {
        Self::new(0.0, 0.0, sample_rate, channels, frame_ms)
    }

    /// The next frame.
    pub fn next_frame(&mut self) -> Result<AudioFrame> {
        let ch = usize::from(self.channels);
        let mut s = Vec::with_capacity(self.frame_samples * ch);
        for i in 0..self.frame_samples as u64 {
            let t = (self.at + i) as f64 / f64::from(self.sample_rate);
            let v = (self.amplitude * 32767.0 * (TAU * self.hz * t).sin()).round() as i16;
            s.extend(std::iter::repeat_n(v, ch));
        }
        let f = AudioFrame::from_i16(s, self.sample_rate, self.channels, self.at as i64)?;
        self.at += self.frame_samples as u64;
        Ok(f)
    }
}

impl Iterator for SineTone {
    type Item = AudioFrame;
    fn next(&mut self) -> Option<AudioFrame> {
        self.next_frame().ok()
    }
}

/// Plays `pattern` live, as a camera would: frame `n` is released at
/// `n / fps` s after the start, on a task of the current tokio runtime,
/// into a queue of `limits` (a slow reader loses frames by its policy).
/// It runs until the receiver is dropped.
pub fn play_pattern(pattern: TestPattern, limits: QueueLimits) -> FrameReceiver {
    let period = Duration::from_secs(1) / pattern.fps;
    play(limits, period, (0u64..).map(move |n| Frame::Video(pattern.frame_at(n))))
}

/// Plays `tone` live, as a microphone would: one frame per frame length.
pub fn play_tone(tone: SineTone, limits: QueueLimits) -> FrameReceiver {
    let period = Duration::from_secs_f64(tone.frame_samples as f64 / f64::from(tone.sample_rate));
    play(limits, period, tone.map(Frame::Audio))
}

fn play(limits: QueueLimits, period: Duration, frames: impl Iterator<Item = Frame> + Send + 'static) -> FrameReceiver {
    let (tx, rx) = channel(limits);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        // Behind (a busy machine): catch up at once, as a device's buffer would.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for f in frames {
            tick.tick().await;
            if tx.push(f).is_err() {
                break; // the receiver is gone
            }
        }
    });
    rx
}

/// The dominant frequency of `samples` (mono, at `sample_rate`), from
/// zero crossings with linear interpolation: enough to check that a tone
/// survived a codec.
pub fn dominant_frequency(samples: &[f32], sample_rate: u32) -> Option<f64> {
    let mut crossings = Vec::new();
    for (i, w) in samples.windows(2).enumerate() {
        if w[0] <= 0.0 && w[1] > 0.0 {
            crossings.push(i as f64 + f64::from(-w[0] / (w[1] - w[0])));
        }
    }
    let (first, last) = (crossings.first()?, crossings.last()?);
    (crossings.len() >= 3).then(|| (crossings.len() - 1) as f64 * f64::from(sample_rate) / (last - first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_moves_and_its_counter_reads_back() {
        let mut p = TestPattern::new(320, 240, 30);
        let a = p.next().unwrap();
        let b = p.next().unwrap();
        assert_ne!(a.planes()[0].data, b.planes()[0].data, "the pattern moves");
        assert_eq!((a.pts, b.pts), (0, 3000));
        assert_eq!(p.read_counter(&a), Some(0));
        assert_eq!(p.read_counter(&p.frame_at(12_345_678)), Some(12_345_678));
    }

    #[test]
    fn the_tone_has_its_frequency_and_framing() {
        let mut t = SineTone::new(1000.0, 0.5, 48_000, 2, 20);
        let f = t.next_frame().unwrap();
        assert_eq!((f.samples_per_channel(), f.channels(), f.pts), (960, 2, 0));
        assert_eq!(t.next_frame().unwrap().pts, 960);
        let mono: Vec<f32> = f.to_f32().iter().step_by(2).copied().collect();
        let hz = dominant_frequency(&mono, 48_000).unwrap();
        assert!((hz - 1000.0).abs() < 1.0, "{hz}");
        let s = SineTone::silence(8000, 1, 10).next_frame().unwrap();
        assert!(s.to_i16().iter().all(|&v| v == 0));
    }
}
