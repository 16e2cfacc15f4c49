//! Audio conversion between what a source gives and what a codec or a
//! sink takes: sample rate (any to any), channel count (mono ↔ stereo, any
//! count → mono, mono → any count) and sample format (s16 ↔ f32).
//!
//! The resampler is a windowed-sinc interpolator written here (no
//! dependency): a Blackman-Harris window over 16 zero crossings of the
//! sinc, the cutoff at 95 % of the lower of the two Nyquist frequencies,
//! so that a rate reduction does not alias. For rates whose ratio reduces
//! to at most [`MAX_PHASES`] output phases (every pair of the usual rates
//! 8, 16, 22.05, 24, 32, 44.1, 48, 96 kHz) the filter is computed once per
//! phase; other ratios compute it per output sample.
//!
//! It is causal and streams: after `n` input samples in total it has given
//! exactly ⌈n · out_rate / in_rate⌉ output samples, whatever the chunking
//! (so 10 ms in gives 10 ms out, and chunks give the very samples one block
//! gives). The price is a fixed delay ([`AudioConverter::delay`]), which
//! [`AudioConverter::flush`] pushes out at the end of a stream.

use std::f64::consts::PI;

use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Samples, TimeBase};

/// Zero crossings of the sinc on each side of the filter's centre (at the
/// cutoff frequency).
const ZERO_CROSSINGS: f64 = 16.0;
/// Cutoff as a fraction of the lower Nyquist frequency.
const ROLLOFF: f64 = 0.95;
/// Largest number of filter phases kept in a table (beyond it, the
/// filter is computed for each output sample).
pub const MAX_PHASES: u64 = 4096;

/// A sample format of raw audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// Signed 16-bit.
    S16,
    /// 32-bit float in [-1, 1].
    F32,
}

/// What an [`AudioConverter`] takes or gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioFormat {
    /// Samples per second per channel (1..=384000).
    pub sample_rate: u32,
    /// Channels (1..=8).
    pub channels: u16,
}

impl AudioFormat {
    /// `sample_rate` Hz with `channels` channels.
    pub const fn new(sample_rate: u32, channels: u16) -> Self {
        AudioFormat { sample_rate, channels }
    }
}

/// Copies interleaved `samples` of `from` channels into `to` channels:
/// the same count is a copy, mono goes to every channel, any count goes
/// to mono as the average. Other changes are refused.
pub fn mix_channels(samples: &[f32], from: u16, to: u16) -> Result<Vec<f32>> {
    let (f, t) = (usize::from(from), usize::from(to));
    if f == 0 || t == 0 {
        return Err(MediaError::InvalidConfig("a channel count of 0".into()));
    }
    if f == t {
        return Ok(samples.to_vec());
    }
    if f == 1 {
        return Ok(samples.iter().flat_map(|&s| std::iter::repeat_n(s, t)).collect());
    }
    if t == 1 {
        let scale = 1.0 / f as f32;
        return Ok(samples.chunks_exact(f).map(|c| c.iter().sum::<f32>() * scale).collect());
    }
    Err(MediaError::Unsupported(format!(
        "mixing {from} channels into {to}: only mono to any, any to mono, or the same count"
    )))
}

/// The windowed sinc at `tau` input samples from the centre.
fn kernel(tau: f64, cutoff: f64, half: f64) -> f64 {
    let x = tau / half;
    if x.abs() >= 1.0 {
        return 0.0;
    }
    let arg = PI * cutoff * tau;
    let sinc = if arg.abs() < 1e-12 { 1.0 } else { arg.sin() / arg };
    let w = PI * (x + 1.0); // Blackman-Harris over [-1, 1]
    let window = 0.35875 - 0.48829 * w.cos() + 0.14128 * (2.0 * w).cos() - 0.01168 * (3.0 * w).cos();
    cutoff * sinc * window
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A streaming resampler of interleaved f32 samples.
#[derive(Debug, Clone)]
struct Resampler {
    channels: usize,
    /// Output samples per `down` input samples (the reduced ratio).
    up: u64,
    down: u64,
    cutoff: f64,
    /// Filter taps per output sample.
    taps: usize,
    /// `up` phases of `taps` coefficients, or empty (computed per sample).
    table: Vec<f32>,
    /// Per channel: the last `taps - 1` input samples, then the new ones.
    history: Vec<Vec<f32>>,
    /// Input index (from the start of `history`) of the next output's
    /// newest tap, and its phase (0..up).
    base: usize,
    phase: u64,
    scratch: Vec<f32>,
}

impl Resampler {
    fn new(from: u32, to: u32, channels: usize) -> Self {
        let g = gcd(u64::from(from), u64::from(to));
        let (up, down) = (u64::from(to) / g, u64::from(from) / g);
        let cutoff = ROLLOFF * (f64::from(to) / f64::from(from)).min(1.0);
        let half = (ZERO_CROSSINGS / cutoff).ceil() as usize;
        let taps = 2 * half;
        let mut r = Resampler {
            channels,
            up,
            down,
            cutoff,
            taps,
            table: Vec::new(),
            history: vec![vec![0.0; taps - 1]; channels],
            base: taps - 1,
            phase: 0,
            scratch: vec![0.0; taps],
        };
        if up <= MAX_PHASES {
            let mut table = vec![0.0; up as usize * taps];
            for (p, row) in table.chunks_exact_mut(taps).enumerate() {
                r.coefficients(p as u64, row);
            }
            r.table = table;
        }
        r
    }

    /// Input samples per channel by which the output lags (the filter's
    /// half length).
    fn delay_in(&self) -> usize {
        self.taps / 2
    }

    /// The taps of phase `p`, oldest input first, normalized to a gain of 1.
    fn coefficients(&self, p: u64, out: &mut [f32]) {
        let half = (self.taps / 2) as f64;
        let frac = p as f64 / self.up as f64;
        let mut sum = 0.0;
        for (k, o) in out.iter_mut().enumerate() {
            let v = kernel(frac + half - 1.0 - k as f64, self.cutoff, half);
            sum += v;
            *o = v as f32;
        }
        let scale = (1.0 / sum) as f32;
        out.iter_mut().for_each(|o| *o *= scale);
    }

    /// Resamples `input` (interleaved), appending to `out`.
    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let ch = self.channels;
        for (c, h) in self.history.iter_mut().enumerate() {
            h.extend(input.iter().skip(c).step_by(ch));
        }
        let available = self.history[0].len();
        while self.base < available {
            let first = self.base + 1 - self.taps;
            let coefs: &[f32] = if self.table.is_empty() {
                let mut s = std::mem::take(&mut self.scratch);
                self.coefficients(self.phase, &mut s);
                self.scratch = s;
                &self.scratch
            } else {
                let p = self.phase as usize;
                &self.table[p * self.taps..(p + 1) * self.taps]
            };
            for h in &self.history {
                out.push(dot(&h[first..first + self.taps], coefs));
            }
            self.phase += self.down;
            self.base += (self.phase / self.up) as usize;
            self.phase %= self.up;
        }
        // Keep what the next output needs (at most the last taps - 1).
        let keep_from = available.saturating_sub(self.taps - 1).min(self.base + 1 - self.taps);
        for h in &mut self.history {
            h.drain(..keep_from);
        }
        self.base -= keep_from;
    }
}

/// The dot product of two equally long slices, in eight lanes (which the
/// compiler turns into vector instructions) and a fixed order, so that
/// the result does not depend on anything but the inputs.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Converts audio frames from one rate, channel count and format to
/// another, keeping state between frames (one converter per stream).
#[derive(Debug, Clone)]
pub struct AudioConverter {
    input: AudioFormat,
    output: AudioFormat,
    format: SampleFormat,
    resampler: Option<Resampler>,
    /// Output samples per channel given so far, and the output timestamp
    /// of the first (from the first frame's `pts`).
    produced: i64,
    start_pts: Option<i64>,
}

impl AudioConverter {
    /// A converter from `input` to `output` giving `format` samples.
    pub fn new(input: AudioFormat, output: AudioFormat, format: SampleFormat) -> Result<Self> {
        for (what, f) in [("input", input), ("output", output)] {
            if !(1..=384_000).contains(&f.sample_rate) || !(1..=8).contains(&f.channels) {
                return Err(MediaError::InvalidConfig(format!(
                    "{what} of {} Hz with {} channels: rates of 1 to 384000 Hz and 1 to 8 channels are supported",
                    f.sample_rate, f.channels
                )));
            }
        }
        // Refuses channel changes that mix_channels does not do.
        mix_channels(&[], input.channels, output.channels)?;
        let resampler = (input.sample_rate != output.sample_rate).then(|| {
            Resampler::new(input.sample_rate, output.sample_rate, usize::from(input.channels.min(output.channels)))
        });
        Ok(AudioConverter { input, output, format, resampler, produced: 0, start_pts: None })
    }

    /// What it takes.
    pub fn input(&self) -> AudioFormat {
        self.input
    }

    /// What it gives.
    pub fn output(&self) -> AudioFormat {
        self.output
    }

    /// Output samples (per channel) by which the output lags the input.
    pub fn delay(&self) -> usize {
        self.resampler.as_ref().map_or(0, |r| {
            (r.delay_in() as u64 * u64::from(self.output.sample_rate)).div_ceil(u64::from(self.input.sample_rate))
                as usize
        })
    }

    /// Converts `frame` (which must be in the input format). The result
    /// holds every output sample computable so far, possibly none; its
    /// `pts` (1/output rate) counts on from the first frame's.
    pub fn convert(&mut self, frame: &AudioFrame) -> Result<AudioFrame> {
        if frame.sample_rate() != self.input.sample_rate || frame.channels() != self.input.channels {
            return Err(MediaError::BadFrame(format!(
                "the converter takes {} Hz with {} channel(s), got {} Hz with {}: use one converter per stream format",
                self.input.sample_rate,
                self.input.channels,
                frame.sample_rate(),
                frame.channels()
            )));
        }
        if self.start_pts.is_none() {
            self.start_pts = Some(frame.time_base.rescale(frame.pts, TimeBase::hz(self.output.sample_rate)));
        }
        if self.resampler.is_none() && self.input.channels == self.output.channels {
            // Only the sample format (if that) changes.
            let samples = match (self.format, frame.samples()) {
                (SampleFormat::S16, Samples::S16(s)) => Samples::S16(s.clone()),
                (SampleFormat::F32, Samples::F32(s)) => Samples::F32(s.clone()),
                (SampleFormat::S16, _) => Samples::S16(frame.to_i16()),
                (SampleFormat::F32, _) => Samples::F32(frame.to_f32()),
            };
            return self.emit(samples);
        }
        let pcm = frame.to_f32();
        let out = self.run(&pcm)?;
        self.emit_f32(out)
    }

    /// The samples still in the filter at the end of a stream (fed with
    /// silence); then the converter starts over at the next frame.
    pub fn flush(&mut self) -> Result<AudioFrame> {
        let tail = match &self.resampler {
            Some(r) => {
                let silence = vec![0.0; r.delay_in() * usize::from(self.input.channels)];
                self.run(&silence)?
            }
            None => Vec::new(),
        };
        let f = self.emit_f32(tail)?;
        let fresh = Self::new(self.input, self.output, self.format)?;
        *self = fresh;
        Ok(f)
    }

    fn run(&mut self, pcm: &[f32]) -> Result<Vec<f32>> {
        let (i, o) = (self.input.channels, self.output.channels);
        let mut mid = if o < i { mix_channels(pcm, i, o)? } else { pcm.to_vec() };
        if let Some(r) = &mut self.resampler {
            let mut out = Vec::with_capacity((mid.len() as u64 * r.up / r.down) as usize + usize::from(i.min(o)) * 2);
            r.process(&mid, &mut out);
            mid = out;
        }
        if o > i {
            mid = mix_channels(&mid, i, o)?;
        }
        Ok(mid)
    }

    fn emit_f32(&mut self, samples: Vec<f32>) -> Result<AudioFrame> {
        let s = match self.format {
            SampleFormat::F32 => Samples::F32(samples.into()),
            SampleFormat::S16 => {
                Samples::S16(samples.iter().map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect())
            }
        };
        self.emit(s)
    }

    fn emit(&mut self, samples: Samples) -> Result<AudioFrame> {
        let rate = self.output.sample_rate;
        let pts = self.start_pts.unwrap_or(0) + self.produced;
        let f = AudioFrame::new(samples, rate, self.output.channels, pts, TimeBase::hz(rate))?;
        self.produced += f.samples_per_channel() as i64;
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{dominant_frequency, SineTone};

    fn mono(frames: &[AudioFrame]) -> Vec<f32> {
        frames
            .iter()
            .flat_map(|f| f.to_f32().iter().step_by(usize::from(f.channels())).copied().collect::<Vec<_>>())
            .collect()
    }

    fn rms(s: &[f32]) -> f32 {
        (s.iter().map(|v| v * v).sum::<f32>() / s.len().max(1) as f32).sqrt()
    }

    /// One second of a tone through a converter in 10 ms frames.
    fn one_second(hz: f64, from: AudioFormat, to: AudioFormat) -> Vec<AudioFrame> {
        let mut c = AudioConverter::new(from, to, SampleFormat::F32).unwrap();
        SineTone::new(hz, 0.5, from.sample_rate, from.channels, 10).take(100).map(|f| c.convert(&f).unwrap()).collect()
    }

    #[test]
    fn a_1khz_tone_survives_44k1_to_48k() {
        let out = one_second(1000.0, AudioFormat::new(44_100, 2), AudioFormat::new(48_000, 2));
        assert!(out.iter().all(|f| f.samples_per_channel() == 480), "10 ms in, 10 ms out");
        assert_eq!(out[3].pts, 3 * 480);
        let s = mono(&out);
        assert_eq!(s.len(), 48_000);
        let hz = dominant_frequency(&s[500..], 48_000).unwrap();
        assert!((hz - 1000.0).abs() < 0.5, "{hz}");
        assert!((rms(&s[500..]) - 0.5 / 2f32.sqrt()).abs() < 0.005, "{}", rms(&s[500..]));
    }

    #[test]
    fn a_1khz_tone_survives_48k_to_16k_and_high_tones_do_not_alias() {
        let out = one_second(1000.0, AudioFormat::new(48_000, 1), AudioFormat::new(16_000, 1));
        let s = mono(&out);
        assert_eq!(s.len(), 16_000);
        let hz = dominant_frequency(&s[500..], 16_000).unwrap();
        assert!((hz - 1000.0).abs() < 0.5, "{hz}");
        assert!((rms(&s[500..]) - 0.5 / 2f32.sqrt()).abs() < 0.005);
        // 10 kHz is above the new Nyquist frequency (8 kHz): filtered out,
        // not folded down to 6 kHz.
        let s = mono(&one_second(10_000.0, AudioFormat::new(48_000, 1), AudioFormat::new(16_000, 1)));
        assert!(rms(&s[500..]) < 0.001, "{}", rms(&s[500..]));
    }

    #[test]
    fn upsampling_from_8k_and_odd_ratios_keep_counts_and_pitch() {
        for (from, to) in [(8_000, 48_000), (48_000, 8_000), (16_000, 44_100), (44_100, 44_101)] {
            let out = one_second(440.0, AudioFormat::new(from, 1), AudioFormat::new(to, 1));
            let s = mono(&out);
            assert_eq!(s.len(), to as usize, "{from} -> {to}");
            let hz = dominant_frequency(&s[s.len() / 10..], to).unwrap();
            assert!((hz - 440.0).abs() < 0.5, "{from} -> {to}: {hz}");
        }
    }

    #[test]
    fn chunks_give_the_samples_one_block_gives() {
        let (from, to) = (AudioFormat::new(44_100, 2), AudioFormat::new(48_000, 2));
        let block = SineTone::new(1000.0, 0.5, 44_100, 2, 1000).next_frame().unwrap();
        let mut one = AudioConverter::new(from, to, SampleFormat::S16).unwrap();
        let mut whole: Vec<i16> = one.convert(&block).unwrap().to_i16().to_vec();
        let all = block.to_i16();
        let mut chunked = AudioConverter::new(from, to, SampleFormat::S16).unwrap();
        let mut pieces = Vec::new();
        let mut at = 0;
        for (i, n) in [1usize, 37, 441, 1000, 5, 2048].iter().cycle().enumerate() {
            if at >= all.len() / 2 {
                break;
            }
            let end = (at + n).min(all.len() / 2);
            let f = AudioFrame::from_i16(all[at * 2..end * 2].to_vec(), 44_100, 2, at as i64).unwrap();
            let out = chunked.convert(&f).unwrap();
            assert_eq!(out.pts, pieces.len() as i64 / 2, "chunk {i}");
            pieces.extend_from_slice(&out.to_i16());
            at = end;
        }
        assert_eq!(pieces.len(), 2 * 48_000);
        assert_eq!(pieces, whole);
        // The tail comes out on flush, the same either way.
        let tail = one.flush().unwrap();
        assert_eq!(tail.samples_per_channel(), one.delay());
        whole.extend_from_slice(&tail.to_i16());
        pieces.extend_from_slice(&chunked.flush().unwrap().to_i16());
        assert_eq!(pieces, whole);
    }

    #[test]
    fn channels_and_formats_convert() {
        let stereo = AudioFormat::new(48_000, 2);
        let monof = AudioFormat::new(48_000, 1);
        let f = AudioFrame::from_i16(vec![1000, 3000, -2000, 0], 48_000, 2, 7).unwrap();
        let mut down = AudioConverter::new(stereo, monof, SampleFormat::S16).unwrap();
        let m = down.convert(&f).unwrap();
        assert_eq!((&*m.to_i16(), m.pts, m.channels()), (&[2000, -1000][..], 7, 1));
        let mut up = AudioConverter::new(monof, stereo, SampleFormat::F32).unwrap();
        let s = up.convert(&m).unwrap();
        assert_eq!(&*s.to_f32(), &[2000.0 / 32768.0, 2000.0 / 32768.0, -1000.0 / 32768.0, -1000.0 / 32768.0]);
        assert!(matches!(s.samples(), Samples::F32(_)));
        let mut same = AudioConverter::new(stereo, stereo, SampleFormat::F32).unwrap();
        let back = same.convert(&f).unwrap();
        assert_eq!(&*back.to_i16(), &*f.to_i16());
        // Mono 16 kHz f32 from stereo 48 kHz s16: both steps at once.
        let mut both = AudioConverter::new(stereo, AudioFormat::new(16_000, 1), SampleFormat::F32).unwrap();
        let out = both.convert(&SineTone::new(1000.0, 0.5, 48_000, 2, 30).next_frame().unwrap()).unwrap();
        assert_eq!((out.samples_per_channel(), out.channels(), out.sample_rate()), (480, 1, 16_000));
    }

    #[test]
    fn a_cd_rate_stereo_source_fits_every_audio_codec() {
        use crate::codec::{audio_decoder, audio_encoder, AudioEncoderConfig};
        use crate::frame::Codec;
        let source = AudioFormat::new(44_100, 2);
        for codec in [Codec::Pcmu, Codec::Pcma, Codec::G722] {
            let config = AudioEncoderConfig::for_codec(codec);
            let to = AudioFormat::new(config.sample_rate, config.channels);
            let mut conv = AudioConverter::new(source, to, SampleFormat::S16).unwrap();
            let mut enc = audio_encoder(codec, config).unwrap();
            let mut dec = audio_decoder(codec, 1).unwrap();
            let (mut packets, mut decoded) = (Vec::new(), Vec::new());
            for f in SineTone::new(1000.0, 0.5, 44_100, 2, 10).take(100) {
                enc.encode(&conv.convert(&f).unwrap(), &mut packets).unwrap();
            }
            assert_eq!(packets.len(), 50, "{codec:?}: one second in 20 ms packets");
            for p in &packets {
                dec.decode(p, &mut decoded).unwrap();
            }
            let s = mono(&decoded);
            assert_eq!(s.len(), to.sample_rate as usize);
            let hz = dominant_frequency(&s[s.len() / 10..], to.sample_rate).unwrap();
            assert!((hz - 1000.0).abs() < 2.0, "{codec:?}: {hz}");
        }
    }

    #[test]
    fn bad_setups_and_frames_are_refused() {
        let e = AudioConverter::new(AudioFormat::new(48_000, 2), AudioFormat::new(48_000, 6), SampleFormat::S16);
        assert!(matches!(e, Err(MediaError::Unsupported(_))));
        let e = AudioConverter::new(AudioFormat::new(0, 1), AudioFormat::new(48_000, 1), SampleFormat::S16);
        assert!(matches!(e, Err(MediaError::InvalidConfig(_))));
        let mut c =
            AudioConverter::new(AudioFormat::new(48_000, 1), AudioFormat::new(8_000, 1), SampleFormat::S16).unwrap();
        let f = AudioFrame::from_i16(vec![0; 320], 16_000, 1, 0).unwrap();
        assert!(matches!(c.convert(&f), Err(MediaError::BadFrame(_))));
        assert_eq!(mix_channels(&[1.0, 2.0, 3.0], 3, 1).unwrap(), [2.0]);
    }
}
