//! G.711 (ITU-T G.711): PCMU (µ-law) and PCMA (A-law), 8 kHz mono, one
//! byte per sample. Always built: the codec is a few table look-ups.
//!
//! The encoders follow the decision values of G.711's tables 1a and 2a, as
//! ITU-T's reference software (G.191) and libwebrtc do: a 16-bit sample
//! is taken as sign and magnitude with negative values as their one's
//! complement (−1 is "−0"), then cut to 13 bits (A-law) or 14 bits (µ-law).
//! The decoders give each code's reconstruction value scaled to 16 bits,
//! the same numbers ffmpeg and libwebrtc give.
//!
//! ffmpeg's encoders (`-f mulaw`, `-f alaw`) differ on 964 of the 65536
//! inputs, by one step: they round to the nearest reconstruction value
//! (G.711's decision values at segment edges are not midpoints) and decide
//! on the input rounded down to a multiple of 4, which moves negative
//! decision values by a few units. The tests pin that difference and check
//! the two agree byte for byte elsewhere.
//!
//! Timestamps: raw frames and packets both use 1/8000 s.

use bytes::Bytes;

use super::pcm::{check_codec, check_frame_ms, DecodeClock, PacketBuffer, PTIME_MS};
use super::{AudioDecoder, AudioEncoder, AudioEncoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Codec, EncodedFrame, TimeBase};

/// Sample rate of G.711 audio and its RTP clock.
pub const RATE: u32 = 8_000;

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// µ-law (PCMU, North America and Japan).
    Mu,
    /// A-law (PCMA, elsewhere).
    A,
}

impl Law {
    /// The law of `codec` (`None` for codecs other than PCMU and PCMA).
    pub fn of(codec: Codec) -> Option<Law> {
        match codec {
            Codec::Pcmu => Some(Law::Mu),
            Codec::Pcma => Some(Law::A),
            _ => None,
        }
    }
    /// The codec it names.
    pub fn codec(self) -> Codec {
        match self {
            Law::Mu => Codec::Pcmu,
            Law::A => Codec::Pcma,
        }
    }
    /// One sample to its code.
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Mu => encode_mulaw(sample),
            Law::A => encode_alaw(sample),
        }
    }
    /// One code to its sample.
    pub fn decode(self, code: u8) -> i16 {
        match self {
            Law::Mu => MULAW_TO_LINEAR[usize::from(code)],
            Law::A => ALAW_TO_LINEAR[usize::from(code)],
        }
    }
}

/// Sign (0x80 for zero and up) and magnitude, negatives as one's complement.
fn sign_magnitude(sample: i16) -> (u8, u16) {
    if sample < 0 {
        (0x00, (!sample) as u16)
    } else {
        (0x80, sample as u16)
    }
}

/// Number of significant bits of `v`.
fn bit_len(v: u16) -> u32 {
    16 - v.leading_zeros()
}

/// A 16-bit sample to its µ-law code.
pub fn encode_mulaw(sample: i16) -> u8 {
    let (sign, magnitude) = sign_magnitude(sample);
    // 14-bit magnitude plus the bias of 33 that makes the segments start on
    // powers of two; the top of the range is clipped to the last code.
    let biased = ((magnitude >> 2) + 33).min(0x1FFF);
    let segment = bit_len(biased) - 6; // 33..=63 is segment 0
    let step = ((biased >> (segment + 1)) & 0x0F) as u8;
    (((segment as u8) << 4) | step) ^ 0x7F | sign
}

/// A 16-bit sample to its A-law code.
pub fn encode_alaw(sample: i16) -> u8 {
    let (sign, magnitude) = sign_magnitude(sample);
    let m = magnitude >> 4; // 12-bit magnitude, 0..=2047
    let (segment, step) = if m < 16 {
        (0, m)
    } else {
        let segment = bit_len(m) - 4; // 16..=31 is segment 1
        (segment, (m >> (segment - 1)) & 0x0F)
    };
    (((segment as u8) << 4) | step as u8 | sign) ^ 0x55
}

/// A µ-law code to its 16-bit sample.
pub fn decode_mulaw(code: u8) -> i16 {
    MULAW_TO_LINEAR[usize::from(code)]
}

/// An A-law code to its 16-bit sample.
pub fn decode_alaw(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

const fn mulaw_value(code: u8) -> i16 {
    let u = !code;
    let segment = (u >> 4) & 0x07;
    let step = (u & 0x0F) as i32;
    // The middle of the step's interval, bias added back, then removed.
    let biased = ((step << 3) + 0x84) << segment;
    if u & 0x80 != 0 {
        (0x84 - biased) as i16
    } else {
        (biased - 0x84) as i16
    }
}

const fn alaw_value(code: u8) -> i16 {
    let a = code ^ 0x55;
    let segment = (a >> 4) & 0x07;
    let step = (a & 0x0F) as i32;
    let magnitude = if segment == 0 { (2 * step + 1) << 3 } else { (2 * step + 33) << (segment + 2) };
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn table(mu: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if mu { mulaw_value(i as u8) } else { alaw_value(i as u8) };
        i += 1;
    }
    t
}

const MULAW_TO_LINEAR: [i16; 256] = table(true);
const ALAW_TO_LINEAR: [i16; 256] = table(false);

/// PCMU or PCMA encoder: 8 kHz mono in, one byte per sample out, in
/// packets of `frame_ms` (10 to 120 ms in steps of 10).
#[derive(Debug)]
pub struct G711Encoder {
    law: Law,
    config: AudioEncoderConfig,
    buffer: PacketBuffer,
}

impl G711Encoder {
    /// An encoder for `law`. `config` must say 8000 Hz, 1 channel.
    pub fn new(law: Law, config: AudioEncoderConfig) -> Result<Self> {
        let name = law.codec().sdp_name();
        if config.sample_rate != RATE || config.channels != 1 {
            return Err(MediaError::InvalidConfig(format!(
                "{name} is 8000 Hz mono, not {} Hz with {} channel(s): resample first \
                 (media::audio_convert::AudioConverter)",
                config.sample_rate, config.channels
            )));
        }
        check_frame_ms(name, config.frame_ms, &PTIME_MS)?;
        let packet = (RATE * config.frame_ms / 1000) as usize;
        Ok(G711Encoder { law, buffer: PacketBuffer::new(name, RATE, 1, packet), config })
    }
}

impl AudioEncoder for G711Encoder {
    fn codec(&self) -> Codec {
        self.law.codec()
    }

    fn encode(&mut self, frame: &AudioFrame, out: &mut Vec<EncodedFrame>) -> Result<()> {
        self.buffer.push(frame)?;
        let law = self.law;
        self.buffer.drain(|pts, samples| {
            let data: Vec<u8> = samples.iter().map(|&s| law.encode(s)).collect();
            out.push(EncodedFrame {
                codec: law.codec(),
                data: Bytes::from(data),
                pts,
                time_base: TimeBase::hz(RATE),
                duration: Some(samples.len() as i64),
                keyframe: true,
            });
            Ok(())
        })
    }

    /// G.711 has one rate (64 kbit/s): accepted and ignored.
    fn set_bitrate(&mut self, _bitrate: u32) -> Result<()> {
        Ok(())
    }

    fn config(&self) -> &AudioEncoderConfig {
        &self.config
    }
}

/// PCMU or PCMA decoder: 8 kHz mono s16 frames with `pts` in 1/8000 s.
/// Lost packets are filled with silence.
#[derive(Debug)]
pub struct G711Decoder {
    law: Law,
    clock: DecodeClock,
}

impl G711Decoder {
    /// A decoder for `law`.
    pub fn new(law: Law) -> Self {
        G711Decoder { law, clock: DecodeClock::default() }
    }
}

impl AudioDecoder for G711Decoder {
    fn codec(&self) -> Codec {
        self.law.codec()
    }

    fn decode(&mut self, packet: &EncodedFrame, out: &mut Vec<AudioFrame>) -> Result<()> {
        check_codec(self.law.codec(), packet.codec)?;
        let samples: Vec<i16> = packet.data.iter().map(|&c| self.law.decode(c)).collect();
        let pts = self.clock.packet(packet.pts, packet.time_base, RATE, samples.len());
        out.push(AudioFrame::from_i16(samples, RATE, 1, pts)?);
        Ok(())
    }

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
    use crate::synthetic::SineTone;

    #[test]
    fn known_codes_of_the_itu_tables() {
        // Zero, −0, full scale both ways.
        assert_eq!(encode_mulaw(0), 0xFF);
        assert_eq!(encode_mulaw(-1), 0x7F);
        assert_eq!(encode_mulaw(i16::MAX), 0x80);
        assert_eq!(encode_mulaw(i16::MIN), 0x00);
        assert_eq!(encode_alaw(0), 0xD5);
        assert_eq!(encode_alaw(-1), 0x55);
        assert_eq!(encode_alaw(i16::MAX), 0xAA);
        assert_eq!(encode_alaw(i16::MIN), 0x2A);
        // Reconstruction values (table 2a ×4, table 1a ×8).
        assert_eq!((decode_mulaw(0xFF), decode_mulaw(0x7F)), (0, 0));
        assert_eq!((decode_mulaw(0x80), decode_mulaw(0x00)), (32_124, -32_124));
        assert_eq!((decode_mulaw(0xFE), decode_mulaw(0xEF)), (8, 132));
        assert_eq!((decode_alaw(0xD5), decode_alaw(0x55)), (8, -8));
        assert_eq!((decode_alaw(0xAA), decode_alaw(0x2A)), (32_256, -32_256));
        assert_eq!(decode_alaw(0xC5), 264); // first code of segment 1
    }

    #[test]
    fn decision_values_at_segment_edges() {
        // µ-law decision values where segments start (table 2a, 14-bit
        // scale): 31, 95, ..., 4063; ×4 in 16 bits.
        for (segment, d) in [31i32, 95, 223, 479, 991, 2015, 4063].into_iter().enumerate() {
            let below = !encode_mulaw((4 * d - 1) as i16) & 0x7F;
            let at = !encode_mulaw((4 * d) as i16) & 0x7F;
            assert_eq!((below >> 4, below & 15), (segment as u8, 15), "µ-law below {d}");
            assert_eq!((at >> 4, at & 15), (segment as u8 + 1, 0), "µ-law at {d}");
            // The negative side mirrors it around −½ (one's complement).
            assert_eq!(encode_mulaw((-4 * d - 1) as i16), at & 0x7F ^ 0x7F);
            assert_eq!(encode_mulaw((-4 * d) as i16), below & 0x7F ^ 0x7F);
        }
        // A-law segment edges (table 1a, 12-bit scale): 32, 64, ..., 2048;
        // ×8 in 16 bits. Segments 0 and 1 have the same step.
        for (segment, d) in [32i32, 64, 128, 256, 512, 1024, 2048].into_iter().enumerate() {
            let below = encode_alaw((8 * d - 1) as i16) ^ 0x55;
            let at = encode_alaw((8 * d) as i16) ^ 0x55;
            assert_eq!((below & 0x7F) >> 4, segment as u8, "A-law below {d}");
            assert_eq!(below & 15, 15, "A-law below {d}");
            assert_eq!((at & 0x7F) >> 4, segment as u8 + 1, "A-law at {d}");
            assert_eq!(at & 15, 0, "A-law at {d}");
            assert_eq!(encode_alaw((-8 * d - 1) as i16) ^ 0x55, at & 0x7F);
        }
    }

    #[test]
    fn every_code_survives_a_round_trip() {
        for law in [Law::Mu, Law::A] {
            for c in 0..=255u8 {
                let v = law.decode(c);
                assert_eq!(law.decode(law.encode(v)), v, "{law:?} code {c:#04x}");
            }
        }
        // Codes are monotonic in the input.
        let mut last = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let v = Law::Mu.decode(encode_mulaw(x));
            assert!(v >= last, "µ-law not monotonic at {x}");
            last = v;
        }
    }

    #[test]
    fn decoders_match_ffmpeg_for_every_code() {
        let dir = ffmpeg::Scratch::new("g711-dec");
        let codes: Vec<u8> = (0..=255).collect();
        std::fs::write(dir.path("codes.raw"), &codes).unwrap();
        for (law, format) in [(Law::Mu, "mulaw"), (Law::A, "alaw")] {
            let out = dir.path(&format!("{format}.s16"));
            let inp = dir.path("codes.raw");
            ffmpeg::run(
                &["-f", format, "-ar", "8000", "-ac", "1", "-i", inp.to_str().unwrap()]
                    .into_iter()
                    .chain(["-f", "s16le", out.to_str().unwrap()])
                    .collect::<Vec<_>>(),
            );
            let theirs = ffmpeg::read_s16(&out);
            let ours: Vec<i16> = codes.iter().map(|&c| law.decode(c)).collect();
            assert_eq!(ours, theirs, "{law:?}");
        }
    }

    /// The step index (0..=127, 127 loudest) and sign of a code.
    fn level(law: Law, code: u8) -> (bool, u8) {
        match law {
            Law::Mu => (code & 0x80 != 0, !code & 0x7F),
            Law::A => ((code ^ 0x55) & 0x80 != 0, (code ^ 0x55) & 0x7F),
        }
    }

    #[test]
    fn encoders_match_ffmpeg_except_where_it_rounds_to_nearest() {
        let dir = ffmpeg::Scratch::new("g711-enc");
        let all: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let inp = dir.path("all.s16");
        ffmpeg::write_s16(&inp, &all);
        for (law, format) in [(Law::Mu, "mulaw"), (Law::A, "alaw")] {
            let out = dir.path(&format!("{format}.raw"));
            ffmpeg::run(&[
                "-f",
                "s16le",
                "-ar",
                "8000",
                "-ac",
                "1",
                "-i",
                inp.to_str().unwrap(),
                "-f",
                format,
                out.to_str().unwrap(),
            ]);
            let theirs = std::fs::read(&out).unwrap();
            assert_eq!(theirs.len(), all.len());
            let mut differ = 0;
            for (&x, &t) in all.iter().zip(&theirs) {
                let ours = law.encode(x);
                if ours == t {
                    continue;
                }
                differ += 1;
                // Never more than one step apart, and ffmpeg's code is within
                // 7 of being as close to the input (it decides on the input rounded
                // down to a multiple of 4, with thresholds on that grid).
                let ((s1, l1), (s2, l2)) = (level(law, ours), level(law, t));
                assert!(s1 == s2 && l1.abs_diff(l2) == 1, "{law:?} {x}: ours {ours:#04x}, ffmpeg {t:#04x}");
                let err = |c| (i32::from(law.decode(c)) - i32::from(x)).abs();
                assert!(err(t) <= err(ours) + 7, "{law:?} {x}: ours {ours:#04x}, ffmpeg {t:#04x}");
            }
            assert_eq!(differ, 964, "{law:?}: ffmpeg's encoder changed");
        }
    }

    #[test]
    fn a_tone_matches_ffmpeg_byte_for_byte_where_it_avoids_decision_values() {
        // A tone with every sample moved to a µ-law reconstruction value
        // (away from decision values, where both encoders must agree) goes
        // through our encoder in 20 ms packets and through ffmpeg: the
        // bytes are identical.
        let dir = ffmpeg::Scratch::new("g711-tone");
        let levels: Vec<i16> = (0..=255u8).map(decode_mulaw).collect();
        let tone: Vec<i16> = SineTone::new(440.0, 0.8, RATE, 1, 1000)
            .next_frame()
            .unwrap()
            .to_i16()
            .iter()
            .map(|&v| *levels.iter().min_by_key(|&&l| (i32::from(l) - i32::from(v)).abs()).unwrap())
            .collect();
        let inp = dir.path("tone.s16");
        ffmpeg::write_s16(&inp, &tone);
        let out = dir.path("tone.mulaw");
        ffmpeg::run(&[
            "-f",
            "s16le",
            "-ar",
            "8000",
            "-ac",
            "1",
            "-i",
            inp.to_str().unwrap(),
            "-f",
            "mulaw",
            out.to_str().unwrap(),
        ]);
        let mut enc = G711Encoder::new(Law::Mu, AudioEncoderConfig::for_codec(Codec::Pcmu)).unwrap();
        let mut packets = Vec::new();
        for chunk in tone.chunks(123) {
            enc.encode(&AudioFrame::from_i16(chunk.to_vec(), RATE, 1, 0).unwrap(), &mut packets).unwrap();
        }
        let ours: Vec<u8> = packets.iter().flat_map(|p| p.data.iter().copied()).collect();
        assert_eq!(ours, std::fs::read(&out).unwrap());
    }

    #[test]
    fn packets_have_20ms_timestamps_and_durations() {
        let mut enc = G711Encoder::new(Law::A, AudioEncoderConfig::for_codec(Codec::Pcma)).unwrap();
        let mut tone = SineTone::new(1000.0, 0.5, RATE, 1, 30);
        let mut packets = Vec::new();
        for _ in 0..4 {
            enc.encode(&tone.next_frame().unwrap(), &mut packets).unwrap();
        }
        // 120 ms in: six 20 ms packets.
        assert_eq!(packets.len(), 6);
        for (i, p) in packets.iter().enumerate() {
            assert_eq!((p.pts, p.duration, p.data.len()), (160 * i as i64, Some(160), 160));
            assert_eq!((p.codec, p.time_base), (Codec::Pcma, TimeBase::hz(8000)));
        }
        let mut dec = G711Decoder::new(Law::A);
        let mut frames = Vec::new();
        dec.decode(&packets[5], &mut frames).unwrap();
        dec.conceal(160, &mut frames).unwrap();
        assert_eq!((frames[0].pts, frames[1].pts, frames[1].samples_per_channel()), (800, 960, 160));
        let hz = crate::synthetic::dominant_frequency(&frames[0].to_f32(), RATE).unwrap();
        assert!((hz - 1000.0).abs() < 10.0, "{hz}");
    }

    #[test]
    fn the_factory_builds_both_laws() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut enc = super::super::audio_encoder(codec, AudioEncoderConfig::for_codec(codec)).unwrap();
            let mut dec = super::super::audio_decoder(codec, 1).unwrap();
            let mut packets = Vec::new();
            enc.encode(&SineTone::new(1000.0, 0.5, RATE, 1, 20).next_frame().unwrap(), &mut packets).unwrap();
            assert_eq!((packets.len(), packets[0].codec), (1, codec));
            let mut frames = Vec::new();
            dec.decode(&packets[0], &mut frames).unwrap();
            assert_eq!((frames[0].samples_per_channel(), dec.codec()), (160, codec));
        }
        assert!(matches!(super::super::audio_decoder(Codec::Pcmu, 2), Err(MediaError::InvalidConfig(_))));
    }

    #[test]
    fn wrong_settings_and_frames_are_refused() {
        let mut c = AudioEncoderConfig::for_codec(Codec::Pcmu);
        c.sample_rate = 16_000;
        let e = G711Encoder::new(Law::Mu, c).unwrap_err();
        assert!(matches!(e, MediaError::InvalidConfig(_)), "{e}");
        let mut c = AudioEncoderConfig::for_codec(Codec::Pcmu);
        c.channels = 2;
        assert!(matches!(G711Encoder::new(Law::Mu, c), Err(MediaError::InvalidConfig(_))));
        let mut c = AudioEncoderConfig::for_codec(Codec::Pcmu);
        c.frame_ms = 25;
        assert!(matches!(G711Encoder::new(Law::Mu, c), Err(MediaError::InvalidConfig(_))));
        let mut enc = G711Encoder::new(Law::Mu, AudioEncoderConfig::for_codec(Codec::Pcmu)).unwrap();
        let stereo = AudioFrame::from_i16(vec![0; 320], 8000, 2, 0).unwrap();
        let e = enc.encode(&stereo, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("convert the audio first"), "{e}");
        let mut dec = G711Decoder::new(Law::Mu);
        let alaw = EncodedFrame {
            codec: Codec::Pcma,
            data: Bytes::from_static(&[0xD5]),
            pts: 0,
            time_base: TimeBase::hz(8000),
            duration: None,
            keyframe: true,
        };
        assert!(matches!(dec.decode(&alaw, &mut Vec::new()), Err(MediaError::BadFrame(_))));
    }
}
