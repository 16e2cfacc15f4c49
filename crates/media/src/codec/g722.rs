//! G.722 (ITU-T G.722, 64 kbit/s mode): 16 kHz wideband audio as two
//! 8 kHz sub-bands, each coded by adaptive differential PCM. One byte per
//! pair of input samples: 6 bits for the lower band, 2 for the upper.
//!
//! The blocks, named as in the Recommendation:
//! - transmit and receive QMF: a 24-tap quadrature mirror filter pair that
//!   splits 16 kHz into two half-rate bands and joins them back;
//! - lower band: a 6-bit adaptive quantizer, of which the predictor sees
//!   only the top 4 bits (so 56 and 48 kbit/s decoders can drop bits);
//! - upper band: a 2-bit adaptive quantizer;
//! - each band: quantizer scale adaptation (LOGSCL/SCALEL, LOGSCH/SCALEH)
//!   and an adaptive predictor with a pole section of order 2 and a zero
//!   section of order 6 (UPPOL1, UPPOL2, UPZERO, FILTEP, FILTEZ).
//!
//! All arithmetic is integer and follows the Recommendation's fixed-point
//! description, so the output is bit-exact with other conforming
//! implementations (the tests compare against ffmpeg, both ways).
//!
//! Timestamps: raw frames are 16 kHz with `pts` in 1/16000 s; packets use
//! the RTP clock of G.722, 8000 Hz (RFC 3551 keeps the clock of the old
//! narrowband codecs), so a 20 ms packet lasts 160 ticks and holds 160
//! bytes for 320 samples.

use bytes::Bytes;

use super::pcm::{check_codec, check_frame_ms, DecodeClock, PacketBuffer, PTIME_MS};
use super::{AudioDecoder, AudioEncoder, AudioEncoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Codec, EncodedFrame, TimeBase};

/// Sample rate of G.722 audio.
pub const RATE: u32 = 16_000;
/// The RTP clock of G.722 (half the sample rate, RFC 3551 section 4.5.2).
pub const CLOCK: u32 = 8_000;

/// QMF coefficients h0..h23 (Recommendation G.722, table 11); symmetric.
const QMF: [i32; 24] = [
    3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11,
    3,
];

/// Decision levels of the lower-band 6-bit quantizer, for magnitudes in
/// units of the scale factor (×2^-10).
const LOW_DECISION: [i32; 29] = [
    35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339,
    1458, 1612, 1765, 1980, 2195, 2557, 2919,
];

/// 6-bit lower-band code to its quantized difference (QQ6, signed).
const LOW_INVERSE6: [i32; 64] = [
    -17, -17, -17, -17, -3101, -2738, -2376, -2088, -1873, -1689, -1535, -1399, -1279, -1170, -1072, -982, -899, -822,
    -750, -682, -618, -558, -501, -447, -396, -347, -300, -254, -211, -170, -130, -91, 3101, 2738, 2376, 2088, 1873,
    1689, 1535, 1399, 1279, 1170, 1072, 982, 899, 822, 750, 682, 618, 558, 501, 447, 396, 347, 300, 254, 211, 170, 130,
    91, 54, 17, -54, -17,
];

/// 4-bit (truncated) lower-band code to its quantized difference (QQ4).
const LOW_INVERSE4: [i32; 16] =
    [0, -2557, -1612, -1121, -786, -530, -323, -150, 2557, 1612, 1121, 786, 530, 323, 150, 0];

/// Log scale factor step of each 4-bit lower-band code (WL).
const LOW_LOG_STEP: [i32; 16] = [-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60];

/// 2-bit upper-band code to its quantized difference (QQ2).
const HIGH_INVERSE: [i32; 4] = [-926, -202, 926, 202];

/// Log scale factor step of the upper-band codes (WH), by magnitude bit.
const HIGH_LOG_STEP: [i32; 2] = [798, -214];

/// Antilog of the log scale factor's fraction, 32 steps per octave.
const ANTILOG: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
    3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];

fn clamp16(v: i32) -> i32 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX))
}

/// The adaptive state of one sub-band.
#[derive(Debug, Clone, Copy)]
struct Band {
    /// Signal estimate (predictor output) for the next sample: SL / SH.
    estimate: i32,
    /// Output of the zero section: SZL / SZH.
    zero_out: i32,
    /// Signs (negative?) of the last two partially reconstructed signals.
    p_neg: [bool; 2],
    /// The last reconstructed signal, doubled and clipped (the pole
    /// section's memory).
    last_r: i32,
    /// Pole coefficients a1, a2.
    a: [i32; 2],
    /// Zero coefficients b1..b6.
    b: [i32; 6],
    /// Last six quantized differences, doubled and clipped.
    d: [i32; 6],
    /// Log of the quantizer scale factor: NBL / NBH.
    log_scale: i32,
    /// Quantizer scale factor: DETL / DETH.
    scale: i32,
}

impl Band {
    fn new(scale: i32) -> Band {
        Band {
            estimate: 0,
            zero_out: 0,
            p_neg: [false; 2],
            last_r: 0,
            a: [0; 2],
            b: [0; 6],
            d: [0; 6],
            log_scale: 0,
            scale,
        }
    }

    /// Adapts the predictor to the quantized difference `dq` of the
    /// sample just coded (the same on both ends).
    fn adapt(&mut self, dq: i32) {
        // Partially reconstructed signal p = dq + zero-section output; the
        // pole coefficients follow its sign correlation.
        let p_neg = self.zero_out + dq < 0;
        let same1 = p_neg == self.p_neg[0];
        let same2 = p_neg == self.p_neg[1];
        self.p_neg = [p_neg, self.p_neg[0]];

        // UPPOL2: a2 leaks towards zero, moves by the sign products.
        let a1 = self.a[0].clamp(-8191, 8191);
        let a1_term = (if same1 { -a1 } else { a1 }) >> 5;
        let a2 = a1_term + if same2 { 128 } else { -128 } + ((self.a[1] * 127) >> 7);
        self.a[1] = a2.clamp(-12288, 12288);
        // UPPOL1: a1 leaks, moves by ±192, bounded for stability.
        let limit = 15360 - self.a[1];
        let a1 = (if same1 { 192 } else { -192 }) + ((self.a[0] * 255) >> 8);
        self.a[0] = a1.clamp(-limit, limit);

        // UPZERO: each b leaks, and moves by the sign correlation of dq
        // with its delayed difference (only when dq is not zero).
        for (b, &d) in self.b.iter_mut().zip(&self.d) {
            let step = match dq {
                0 => 0,
                _ if (d ^ dq) < 0 => -128,
                _ => 128,
            };
            *b = ((*b * 255) >> 8) + step;
        }
        self.d.copy_within(0..5, 1);
        self.d[0] = clamp16(dq << 1);

        // FILTEZ, FILTEP: the next estimate.
        self.zero_out = self.b.iter().zip(&self.d).map(|(&b, &d)| (b * d) >> 15).sum();
        let r = clamp16((self.estimate + dq) << 1);
        self.estimate = clamp16(self.zero_out + ((self.a[0] * r) >> 15) + ((self.a[1] * self.last_r) >> 15));
        self.last_r = r;
    }

    /// SCALEL/SCALEH: the linear scale factor of the log one, minus `bias`.
    fn rescale(&mut self, bias: i32) {
        let wd = self.log_scale - bias;
        let mantissa = ANTILOG[((wd >> 6) & 31) as usize];
        let shift = wd >> 11;
        self.scale = if shift < 0 { mantissa >> -shift } else { mantissa << shift };
    }

    /// Lower band after coding 4-bit code `code4`.
    fn update_low(&mut self, code4: usize) {
        self.adapt((self.scale * LOW_INVERSE4[code4]) >> 10);
        self.log_scale = (((self.log_scale * 127) >> 7) + LOW_LOG_STEP[code4]).clamp(0, 18432);
        self.rescale(8 << 11);
    }

    /// Upper band after coding `code` whose quantized difference is `dq`.
    fn update_high(&mut self, dq: i32, code: usize) {
        self.adapt(dq);
        self.log_scale = (((self.log_scale * 127) >> 7) + HIGH_LOG_STEP[code & 1]).clamp(0, 22528);
        self.rescale(10 << 11);
    }
}

/// Magnitude with negatives as one's complement: `d` or `-d - 1`.
fn ones_magnitude(d: i32) -> i32 {
    if d < 0 {
        !d
    } else {
        d
    }
}

/// The 24 most recent samples of the QMF, oldest first.
#[derive(Debug, Clone, Default)]
struct QmfWindow([i32; 24]);

impl QmfWindow {
    /// Shifts in two samples; returns the sums of the odd and even taps.
    fn push(&mut self, first: i32, second: i32) -> (i32, i32) {
        self.0.copy_within(2.., 0);
        self.0[22] = first;
        self.0[23] = second;
        let (mut odd, mut even) = (0, 0);
        for i in 0..12 {
            even += self.0[2 * i] * QMF[2 * i];
            odd += self.0[2 * i + 1] * QMF[2 * i + 1];
        }
        (odd, even)
    }
}

/// The G.722 coder proper, on bytes and sample pairs.
#[derive(Debug, Clone)]
pub struct G722State {
    low: Band,
    high: Band,
    qmf: QmfWindow,
}

impl Default for G722State {
    fn default() -> Self {
        G722State { low: Band::new(8), high: Band::new(2), qmf: QmfWindow::default() }
    }
}

impl G722State {
    /// A coder in the reset state (one per direction).
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes pairs of 16 kHz samples (an odd last sample is ignored),
    /// appending one byte per pair to `out`.
    pub fn encode(&mut self, samples: &[i16], out: &mut Vec<u8>) {
        out.reserve(samples.len() / 2);
        for pair in samples.chunks_exact(2) {
            let (odd, even) = self.qmf.push(i32::from(pair[0]), i32::from(pair[1]));
            let xlow = (odd + even) >> 14;
            let xhigh = (odd - even) >> 14;

            // Upper band: sign, and whether the difference is below the
            // one decision level.
            let dh = clamp16(xhigh - self.high.estimate);
            let level = (141 * self.high.scale) >> 8;
            let high = usize::from(ones_magnitude(dh) < level) + if dh >= 0 { 2 } else { 0 };

            // Lower band: count the decision levels below the magnitude.
            let dl = clamp16(xlow - self.low.estimate);
            let m = (ones_magnitude(dl) + 1) << 10;
            let step = LOW_DECISION.iter().take_while(|&&q| m > q * self.low.scale).count() as i32;
            let low = if dl >= 0 {
                61 - step
            } else if step < 2 {
                63 - step
            } else {
                33 - step
            } as usize;

            self.high.update_high((self.high.scale * HIGH_INVERSE[high]) >> 10, high);
            self.low.update_low(low >> 2);
            out.push((high << 6 | low) as u8);
        }
    }

    /// Decodes `bytes`, appending two 16 kHz samples per byte to `out`.
    pub fn decode(&mut self, bytes: &[u8], out: &mut Vec<i16>) {
        out.reserve(bytes.len() * 2);
        for &byte in bytes {
            let low = usize::from(byte & 0x3F);
            let high = usize::from(byte >> 6);
            let rlow = (self.low.estimate + ((self.low.scale * LOW_INVERSE6[low]) >> 10)).clamp(-16384, 16383);
            self.low.update_low(low >> 2);
            let dh = (self.high.scale * HIGH_INVERSE[high]) >> 10;
            let rhigh = (self.high.estimate + dh).clamp(-16384, 16383);
            self.high.update_high(dh, high);
            let (odd, even) = self.qmf.push(rlow + rhigh, rlow - rhigh);
            out.push(clamp16(odd >> 11) as i16);
            out.push(clamp16(even >> 11) as i16);
        }
    }
}

/// G.722 encoder: 16 kHz mono in, packets of `frame_ms` (10 to 120 ms in
/// steps of 10) out, `pts` and duration on the 8 kHz RTP clock.
#[derive(Debug)]
pub struct G722Encoder {
    config: AudioEncoderConfig,
    state: G722State,
    buffer: PacketBuffer,
}

impl G722Encoder {
    /// An encoder; `config` must say 16000 Hz, 1 channel.
    pub fn new(config: AudioEncoderConfig) -> Result<Self> {
        if config.sample_rate != RATE || config.channels != 1 {
            return Err(MediaError::InvalidConfig(format!(
                "G722 is 16000 Hz mono, not {} Hz with {} channel(s): resample first \
                 (media::audio_convert::AudioConverter)",
                config.sample_rate, config.channels
            )));
        }
        check_frame_ms("G722", config.frame_ms, &PTIME_MS)?;
        let packet = (RATE * config.frame_ms / 1000) as usize;
        Ok(G722Encoder { buffer: PacketBuffer::new("G722", RATE, 1, packet), config, state: G722State::new() })
    }
}

impl AudioEncoder for G722Encoder {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn encode(&mut self, frame: &AudioFrame, out: &mut Vec<EncodedFrame>) -> Result<()> {
        self.buffer.push(frame)?;
        let state = &mut self.state;
        self.buffer.drain(|pts, samples| {
            let mut data = Vec::with_capacity(samples.len() / 2);
            state.encode(samples, &mut data);
            out.push(EncodedFrame {
                codec: Codec::G722,
                data: Bytes::from(data),
                pts: TimeBase::hz(RATE).rescale(pts, TimeBase::hz(CLOCK)),
                time_base: TimeBase::hz(CLOCK),
                duration: Some((samples.len() / 2) as i64),
                keyframe: true,
            });
            Ok(())
        })
    }

    /// G.722 is used at 64 kbit/s only: accepted and ignored.
    fn set_bitrate(&mut self, _bitrate: u32) -> Result<()> {
        Ok(())
    }

    fn config(&self) -> &AudioEncoderConfig {
        &self.config
    }
}

/// G.722 decoder: 16 kHz mono s16 frames, `pts` in 1/16000 s. Lost
/// packets are filled with silence (the predictor state carries on).
#[derive(Debug, Default)]
pub struct G722Decoder {
    state: G722State,
    clock: DecodeClock,
}

impl G722Decoder {
    /// A decoder in the reset state.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AudioDecoder for G722Decoder {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn decode(&mut self, packet: &EncodedFrame, out: &mut Vec<AudioFrame>) -> Result<()> {
        check_codec(Codec::G722, packet.codec)?;
        let mut samples = Vec::with_capacity(packet.data.len() * 2);
        self.state.decode(&packet.data, &mut samples);
        let pts = self.clock.packet(packet.pts, packet.time_base, RATE, samples.len());
        out.push(AudioFrame::from_i16(samples, RATE, 1, pts)?);
        Ok(())
    }

    /// `samples` are counted at 16 kHz.
    fn conceal(&mut self, samples: usize, out: &mut Vec<AudioFrame>) -> Result<()> {
        let pts = self.clock.gap(samples);
        out.push(AudioFrame::from_i16(vec![0; samples], RATE, 1, pts)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::pcm::ffmpeg;
    use super::*;
    use crate::synthetic::{dominant_frequency, SineTone};

    /// Two seconds of a test signal that exercises both bands and the
    /// scale adaptation: a chirp, noise bursts, silence, full-scale clips.
    fn test_signal() -> Vec<i16> {
        let mut seed = 0x1234_5678u32;
        let mut noise = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 16) as i16
        };
        (0..32_000)
            .map(|i| {
                let t = f64::from(i) / 16_000.0;
                match i / 4000 {
                    0 | 1 => (12_000.0 * (std::f64::consts::TAU * (200.0 + 1800.0 * t) * t).sin()) as i16,
                    2 => noise() / 4,
                    3 => 0,
                    4 => (40_000.0 * (std::f64::consts::TAU * 300.0 * t).sin()).clamp(-32768.0, 32767.0) as i16,
                    5 => noise(),
                    _ => (3000.0 * (std::f64::consts::TAU * 6500.0 * t).sin()) as i16 + noise() / 64,
                }
            })
            .collect()
    }

    #[test]
    fn encoder_and_decoder_are_bit_exact_with_ffmpeg() {
        let dir = ffmpeg::Scratch::new("g722");
        let signal = test_signal();
        let raw = dir.path("in.s16");
        ffmpeg::write_s16(&raw, &signal);
        let coded = dir.path("out.g722");
        let fmt = ["-f", "s16le", "-ar", "16000", "-ac", "1", "-i"];
        let enc_args: Vec<&str> = fmt
            .iter()
            .copied()
            .chain([raw.to_str().unwrap(), "-acodec", "g722", "-f", "g722", coded.to_str().unwrap()])
            .collect();
        ffmpeg::run(&enc_args);
        let theirs = std::fs::read(&coded).unwrap();

        let mut ours = Vec::new();
        G722State::new().encode(&signal, &mut ours);
        assert_eq!(ours.len(), theirs.len());
        let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        assert_eq!(first, None, "first differing byte");

        let decoded = dir.path("back.s16");
        ffmpeg::run(&["-f", "g722", "-i", coded.to_str().unwrap(), "-f", "s16le", decoded.to_str().unwrap()]);
        let their_pcm = ffmpeg::read_s16(&decoded);
        let mut our_pcm = Vec::new();
        G722State::new().decode(&theirs, &mut our_pcm);
        assert_eq!(our_pcm.len(), their_pcm.len());
        let first = our_pcm.iter().zip(&their_pcm).position(|(a, b)| a != b);
        assert_eq!(first, None, "first differing sample");

        // Bytes no encoder makes (lower-band codes 0 to 3, wild jumps):
        // the decoders still agree.
        let mut seed = 99u32;
        let noise: Vec<u8> = (0..8000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let raw = dir.path("noise.g722");
        std::fs::write(&raw, &noise).unwrap();
        let decoded = dir.path("noise.s16");
        ffmpeg::run(&["-f", "g722", "-i", raw.to_str().unwrap(), "-f", "s16le", decoded.to_str().unwrap()]);
        let mut ours = Vec::new();
        G722State::new().decode(&noise, &mut ours);
        assert_eq!(ours, ffmpeg::read_s16(&decoded));
    }

    #[test]
    fn a_1khz_tone_comes_back_at_1khz() {
        let mut enc = G722Encoder::new(AudioEncoderConfig::for_codec(Codec::G722)).unwrap();
        let mut dec = G722Decoder::new();
        let mut tone = SineTone::new(1000.0, 0.5, RATE, 1, 20);
        let (mut packets, mut frames) = (Vec::new(), Vec::new());
        for _ in 0..25 {
            enc.encode(&tone.next_frame().unwrap(), &mut packets).unwrap();
        }
        assert_eq!(packets.len(), 25);
        for (i, p) in packets.iter().enumerate() {
            assert_eq!((p.pts, p.duration, p.data.len()), (160 * i as i64, Some(160), 160));
            assert_eq!(p.time_base, TimeBase::hz(8000));
            dec.decode(p, &mut frames).unwrap();
        }
        assert_eq!((frames[3].pts, frames[3].samples_per_channel(), frames[3].sample_rate()), (960, 320, 16_000));
        let pcm: Vec<f32> = frames[5..].iter().flat_map(|f| f.to_f32().to_vec()).collect();
        let hz = dominant_frequency(&pcm, RATE).unwrap();
        assert!((hz - 1000.0).abs() < 2.0, "{hz}");
        let rms = (pcm.iter().map(|v| v * v).sum::<f32>() / pcm.len() as f32).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.05, "rms {rms}");
        dec.conceal(320, &mut frames).unwrap();
        assert_eq!(frames.last().unwrap().pts, 25 * 320);
    }

    #[test]
    fn wrong_settings_are_refused() {
        let mut c = AudioEncoderConfig::for_codec(Codec::G722);
        c.sample_rate = 8000;
        assert!(matches!(G722Encoder::new(c), Err(MediaError::InvalidConfig(_))));
        assert!(matches!(super::super::audio_decoder(Codec::G722, 2), Err(MediaError::InvalidConfig(_))));
        let mut enc = super::super::audio_encoder(Codec::G722, AudioEncoderConfig::for_codec(Codec::G722)).unwrap();
        let f = AudioFrame::from_i16(vec![0; 160], 8000, 1, 0).unwrap();
        assert!(matches!(enc.encode(&f, &mut Vec::new()), Err(MediaError::BadFrame(_))));
    }
}
