//! Opus (RFC 6716) through libopus (cargo feature `opus`; Debian
//! `libopus-dev`, installed by `scripts/media-deps.sh`).
//!
//! - [`OpusEncoder`]: 48 kHz, mono or stereo, packets of 10, 20, 40 or
//!   60 ms; bitrate changes on the fly, in-band FEC tuned by the expected
//!   loss, DTX. Input of any length is buffered into whole packets.
//! - [`OpusDecoder`]: decodes, conceals lost packets (libopus's PLC) and
//!   recovers a lost packet from the FEC data in the next one
//!   ([`OpusDecoder::decode_fec`]).
//! - [`OpusSettings`]: the SDP `a=fmtp` parameters of RFC 7587 and the
//!   encoder settings they ask for.
//!
//! Timestamps are in 1/48000 s for raw frames and packets alike (the RTP
//! clock of Opus is 48 kHz whatever the audio bandwidth).

use std::ffi::{c_int, CStr};
use std::ptr::NonNull;

use bytes::Bytes;

use super::pcm::{check_codec, check_frame_ms, DecodeClock, PacketBuffer};
use super::{AudioDecoder, AudioEncoder, AudioEncoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Codec, EncodedFrame, TimeBase};

/// The hand-written part of libopus's C API that this module uses
/// (`opus.h`, `opus_defines.h` of libopus 1.3).
mod ffi {
    use std::ffi::{c_char, c_int, c_uchar};

    /// libopus's encoder state (opaque).
    #[repr(C)]
    pub(super) struct OpusEncoder {
        _opaque: [u8; 0],
    }

    /// libopus's decoder state (opaque).
    #[repr(C)]
    pub(super) struct OpusDecoder {
        _opaque: [u8; 0],
    }

    pub(super) const OPUS_OK: c_int = 0;
    pub(super) const OPUS_APPLICATION_VOIP: c_int = 2048;
    pub(super) const OPUS_SET_BITRATE_REQUEST: c_int = 4002;
    pub(super) const OPUS_SET_COMPLEXITY_REQUEST: c_int = 4010;
    pub(super) const OPUS_SET_INBAND_FEC_REQUEST: c_int = 4012;
    pub(super) const OPUS_SET_PACKET_LOSS_PERC_REQUEST: c_int = 4014;
    pub(super) const OPUS_SET_DTX_REQUEST: c_int = 4016;

    #[link(name = "opus")]
    extern "C" {
        pub(super) fn opus_encoder_create(
            fs: i32,
            channels: c_int,
            application: c_int,
            error: *mut c_int,
        ) -> *mut OpusEncoder;
        pub(super) fn opus_encode_float(
            st: *mut OpusEncoder,
            pcm: *const f32,
            frame_size: c_int,
            data: *mut c_uchar,
            max_data_bytes: i32,
        ) -> i32;
        /// Variadic: every request used here takes one `opus_int32`.
        pub(super) fn opus_encoder_ctl(st: *mut OpusEncoder, request: c_int, ...) -> c_int;
        pub(super) fn opus_encoder_destroy(st: *mut OpusEncoder);
        pub(super) fn opus_decoder_create(fs: i32, channels: c_int, error: *mut c_int) -> *mut OpusDecoder;
        pub(super) fn opus_decode(
            st: *mut OpusDecoder,
            data: *const c_uchar,
            len: i32,
            pcm: *mut i16,
            frame_size: c_int,
            decode_fec: c_int,
        ) -> c_int;
        pub(super) fn opus_decoder_destroy(st: *mut OpusDecoder);
        pub(super) fn opus_strerror(error: c_int) -> *const c_char;
    }
}

/// The sample rate of Opus here and its RTP clock.
pub const RATE: u32 = 48_000;
/// Packet durations the encoder makes, in milliseconds.
pub const FRAME_MS: [u32; 4] = [10, 20, 40, 60];
/// Bitrates libopus accepts, in bit/s.
pub const BITRATES: std::ops::RangeInclusive<u32> = 6_000..=510_000;
/// The encoder's default complexity (0..=10): libwebrtc's on desktop.
pub const DEFAULT_COMPLEXITY: u8 = 9;
/// Largest number of samples per channel in one packet (120 ms).
const MAX_FRAME: usize = 5760;
/// Samples per channel in 2.5 ms, the unit of concealment and FEC.
const PLC_UNIT: usize = 120;
/// Output buffer of the encoder: three 20 ms frames of the largest size
/// (1275 bytes) plus framing, enough for any 60 ms packet.
const MAX_PACKET: usize = 4000;

/// libopus's words for error `code`.
fn strerror(code: c_int) -> String {
    // SAFETY: opus_strerror returns a pointer to a static NUL-terminated
    // string for any code (unknown codes included).
    let s = unsafe { CStr::from_ptr(ffi::opus_strerror(code)) };
    s.to_string_lossy().into_owned()
}

fn opus_error(what: &str, code: c_int) -> MediaError {
    MediaError::Codec { codec: "Opus", message: format!("{what}: {} ({code})", strerror(code)) }
}

/// Opus encoder (libopus, application VoIP).
#[derive(Debug)]
pub struct OpusEncoder {
    st: NonNull<ffi::OpusEncoder>,
    config: AudioEncoderConfig,
    /// Float input: libopus codes in float, so s16 input is converted
    /// once here and float input is not cut to 16 bits.
    buffer: PacketBuffer<f32>,
    out: Vec<u8>,
}

// SAFETY: the encoder state is one heap block owned by this value alone,
// with no thread affinity and no state shared with other encoders; it is
// only reached through `&mut self` (or dropped), so moving it to another
// thread is sound. It is not `Sync` (no `&self` method touches it).
unsafe impl Send for OpusEncoder {}

impl OpusEncoder {
    /// An encoder: `config` must say 48000 Hz, 1 or 2 channels, a frame of
    /// 10, 20, 40 or 60 ms, a bitrate of 6 to 510 kbit/s and a loss of at
    /// most 100 %.
    pub fn new(config: AudioEncoderConfig) -> Result<Self> {
        if config.sample_rate != RATE {
            return Err(MediaError::InvalidConfig(format!(
                "the Opus encoder takes 48000 Hz, not {}: resample first (media::audio_convert::AudioConverter)",
                config.sample_rate
            )));
        }
        if !(1..=2).contains(&config.channels) {
            return Err(MediaError::InvalidConfig(format!(
                "Opus encodes 1 or 2 channels, not {}: mix down first",
                config.channels
            )));
        }
        check_frame_ms("Opus", config.frame_ms, &FRAME_MS)?;
        check_bitrate(config.bitrate)?;
        if config.expected_loss > 100 {
            return Err(MediaError::InvalidConfig(format!("expected loss {} %: give 0 to 100", config.expected_loss)));
        }
        let mut err: c_int = 0;
        // SAFETY: valid rate, channels and application; `err` is a valid
        // out-pointer. A null return is handled below.
        let st = unsafe {
            ffi::opus_encoder_create(RATE as i32, c_int::from(config.channels), ffi::OPUS_APPLICATION_VOIP, &mut err)
        };
        let st = NonNull::new(st).ok_or_else(|| opus_error("creating the encoder", err))?;
        let packet = (RATE * config.frame_ms / 1000) as usize;
        let mut enc = OpusEncoder {
            st,
            buffer: PacketBuffer::new("Opus", RATE, config.channels, packet),
            out: vec![0; MAX_PACKET],
            config,
        };
        enc.ctl("setting the bitrate", ffi::OPUS_SET_BITRATE_REQUEST, enc.config.bitrate as i32)?;
        enc.ctl("setting in-band FEC", ffi::OPUS_SET_INBAND_FEC_REQUEST, i32::from(enc.config.fec))?;
        enc.ctl(
            "setting the expected loss",
            ffi::OPUS_SET_PACKET_LOSS_PERC_REQUEST,
            i32::from(enc.config.expected_loss),
        )?;
        enc.ctl("setting DTX", ffi::OPUS_SET_DTX_REQUEST, i32::from(enc.config.dtx))?;
        enc.set_complexity(DEFAULT_COMPLEXITY)?;
        Ok(enc)
    }

    /// One `opus_encoder_ctl` setter that takes an `opus_int32`.
    fn ctl(&mut self, what: &str, request: c_int, value: i32) -> Result<()> {
        // SAFETY: `st` is a live encoder; every request passed here is a
        // setter whose single variadic argument is an opus_int32.
        let r = unsafe { ffi::opus_encoder_ctl(self.st.as_ptr(), request, value) };
        if r == ffi::OPUS_OK {
            Ok(())
        } else {
            Err(opus_error(what, r))
        }
    }

    /// Sets the complexity, 0 (fastest) to 10 (best).
    pub fn set_complexity(&mut self, complexity: u8) -> Result<()> {
        if complexity > 10 {
            return Err(MediaError::InvalidConfig(format!("Opus complexity {complexity}: give 0 to 10")));
        }
        self.ctl("setting the complexity", ffi::OPUS_SET_COMPLEXITY_REQUEST, i32::from(complexity))
    }

    /// Sets the expected packet loss in percent (more loss, more FEC).
    pub fn set_expected_loss(&mut self, percent: u8) -> Result<()> {
        if percent > 100 {
            return Err(MediaError::InvalidConfig(format!("expected loss {percent} %: give 0 to 100")));
        }
        self.ctl("setting the expected loss", ffi::OPUS_SET_PACKET_LOSS_PERC_REQUEST, i32::from(percent))?;
        self.config.expected_loss = percent;
        Ok(())
    }
}

fn check_bitrate(bitrate: u32) -> Result<()> {
    if BITRATES.contains(&bitrate) {
        Ok(())
    } else {
        Err(MediaError::InvalidConfig(format!("Opus bitrate {bitrate} bit/s: give 6000 to 510000")))
    }
}

impl Drop for OpusEncoder {
    fn drop(&mut self) {
        // SAFETY: `st` came from opus_encoder_create and is freed once, here.
        unsafe { ffi::opus_encoder_destroy(self.st.as_ptr()) }
    }
}

impl AudioEncoder for OpusEncoder {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    /// With DTX on, the packets of one or two bytes that libopus makes
    /// for silence are not emitted (libwebrtc does not send them either);
    /// the next packet's `pts` shows the gap.
    fn encode(&mut self, frame: &AudioFrame, out: &mut Vec<EncodedFrame>) -> Result<()> {
        self.buffer.push(frame)?;
        let (st, buf, dtx) = (self.st, &mut self.out, self.config.dtx);
        let channels = usize::from(self.config.channels);
        self.buffer.drain(|pts, pcm| {
            let samples = pcm.len() / channels;
            // SAFETY: `st` is live; `pcm` holds `samples` frames of
            // `channels` interleaved values (a valid Opus frame size, from
            // FRAME_MS); `buf` has `buf.len()` writable bytes.
            let n = unsafe {
                ffi::opus_encode_float(st.as_ptr(), pcm.as_ptr(), samples as c_int, buf.as_mut_ptr(), buf.len() as i32)
            };
            if n < 0 {
                return Err(opus_error("encoding", n));
            }
            if dtx && n <= 2 {
                return Ok(());
            }
            out.push(EncodedFrame {
                codec: Codec::Opus,
                data: Bytes::copy_from_slice(&buf[..n as usize]),
                pts,
                time_base: TimeBase::hz(RATE),
                duration: Some(samples as i64),
                keyframe: true,
            });
            Ok(())
        })
    }

    fn set_bitrate(&mut self, bitrate: u32) -> Result<()> {
        check_bitrate(bitrate)?;
        self.ctl("setting the bitrate", ffi::OPUS_SET_BITRATE_REQUEST, bitrate as i32)?;
        self.config.bitrate = bitrate;
        Ok(())
    }

    fn config(&self) -> &AudioEncoderConfig {
        &self.config
    }
}

/// Opus decoder (libopus): 48 kHz s16 frames of the channels asked for
/// (libopus mixes or duplicates when the packets have the other count).
#[derive(Debug)]
pub struct OpusDecoder {
    st: NonNull<ffi::OpusDecoder>,
    channels: u16,
    clock: DecodeClock,
    pcm: Vec<i16>,
}

// SAFETY: as for `OpusEncoder`: one heap block owned by this value, no
// thread affinity, only used through `&mut self`.
unsafe impl Send for OpusDecoder {}

impl OpusDecoder {
    /// A decoder giving `channels` (1 or 2) channels.
    pub fn new(channels: u16) -> Result<Self> {
        if !(1..=2).contains(&channels) {
            return Err(MediaError::InvalidConfig(format!(
                "Opus decodes to 1 or 2 channels, not {channels}: ask for 2 and upmix after"
            )));
        }
        let mut err: c_int = 0;
        // SAFETY: valid rate and channels; `err` is a valid out-pointer.
        let st = unsafe { ffi::opus_decoder_create(RATE as i32, c_int::from(channels), &mut err) };
        let st = NonNull::new(st).ok_or_else(|| opus_error("creating the decoder", err))?;
        Ok(OpusDecoder { st, channels, clock: DecodeClock::default(), pcm: vec![0; MAX_FRAME * usize::from(channels)] })
    }

    /// Runs `opus_decode` on `data` (`None`: a lost packet) for at most
    /// `frame` samples per channel; returns the samples it gave.
    fn run(&mut self, data: Option<&[u8]>, frame: usize, fec: bool) -> Result<&[i16]> {
        let frame = frame.min(MAX_FRAME);
        let (ptr, len) = match data {
            Some(d) => (d.as_ptr(), i32::try_from(d.len()).unwrap_or(i32::MAX)),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `st` is live; `ptr` is null (loss) or points at `len`
        // readable bytes; `pcm` has room for MAX_FRAME >= `frame` samples of
        // every channel.
        let n = unsafe {
            ffi::opus_decode(self.st.as_ptr(), ptr, len, self.pcm.as_mut_ptr(), frame as c_int, c_int::from(fec))
        };
        if n < 0 {
            let what = if data.is_some() { "decoding a packet" } else { "concealing a loss" };
            return Err(opus_error(what, n));
        }
        Ok(&self.pcm[..n as usize * usize::from(self.channels)])
    }

    /// Recovers a lost packet of `samples` per channel (a multiple of
    /// 120, 2.5 ms; the lost packet's duration) from the in-band FEC data
    /// of `next`, the packet after it. Decode `next` itself afterwards.
    /// Without FEC data in `next` libopus conceals instead.
    pub fn decode_fec(&mut self, next: &EncodedFrame, samples: usize, out: &mut Vec<AudioFrame>) -> Result<()> {
        check_codec(Codec::Opus, next.codec)?;
        if samples == 0 || !samples.is_multiple_of(PLC_UNIT) || samples > MAX_FRAME {
            return Err(MediaError::BadFrame(format!(
                "FEC for {samples} samples: the lost duration must be a multiple of 120 (2.5 ms), at most 5760"
            )));
        }
        if next.data.is_empty() {
            return Err(MediaError::BadFrame("an empty Opus packet carries no FEC: conceal instead".into()));
        }
        let channels = self.channels;
        let pcm = self.run(Some(&next.data), samples, true)?.to_vec();
        let pts = self.clock.gap(pcm.len() / usize::from(channels));
        out.push(AudioFrame::from_i16(pcm, RATE, channels, pts)?);
        Ok(())
    }
}

impl Drop for OpusDecoder {
    fn drop(&mut self) {
        // SAFETY: `st` came from opus_decoder_create and is freed once, here.
        unsafe { ffi::opus_decoder_destroy(self.st.as_ptr()) }
    }
}

impl AudioDecoder for OpusDecoder {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn decode(&mut self, packet: &EncodedFrame, out: &mut Vec<AudioFrame>) -> Result<()> {
        check_codec(Codec::Opus, packet.codec)?;
        if packet.data.is_empty() {
            return Err(MediaError::BadFrame("empty Opus packet: call conceal for lost packets".into()));
        }
        let channels = self.channels;
        let pcm = self.run(Some(&packet.data), MAX_FRAME, false)?.to_vec();
        let n = pcm.len() / usize::from(channels);
        let pts = self.clock.packet(packet.pts, packet.time_base, RATE, n);
        out.push(AudioFrame::from_i16(pcm, RATE, channels, pts)?);
        Ok(())
    }

    /// libopus's loss concealment, run in steps of 2.5 ms: a gap that is
    /// not a multiple of 120 samples is concealed rounded up and cut.
    fn conceal(&mut self, samples: usize, out: &mut Vec<AudioFrame>) -> Result<()> {
        let channels = usize::from(self.channels);
        let mut pcm = Vec::with_capacity(samples * channels);
        while pcm.len() < samples * channels {
            let want = (samples - pcm.len() / channels).div_ceil(PLC_UNIT) * PLC_UNIT;
            let got = self.run(None, want, false)?;
            if got.is_empty() {
                break;
            }
            pcm.extend_from_slice(got);
        }
        pcm.resize(samples * channels, 0);
        let pts = self.clock.gap(samples);
        out.push(AudioFrame::from_i16(pcm, RATE, self.channels, pts)?);
        Ok(())
    }
}

/// The Opus parameters of an SDP `a=fmtp` line (RFC 7587 section 6.1):
/// what the side that wrote them wants to receive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpusSettings {
    /// `stereo=1`: it wants stereo.
    pub stereo: bool,
    /// `useinbandfec=1`: it can use in-band FEC.
    pub fec: bool,
    /// `usedtx=1`: it prefers discontinuous transmission.
    pub dtx: bool,
    /// `maxaveragebitrate`: the most it wants, in bit/s.
    pub max_average_bitrate: Option<u32>,
}

impl OpusSettings {
    /// Reads the parameters from an fmtp value such as
    /// `minptime=10;useinbandfec=1;stereo=1`. Unknown parameters are
    /// ignored; a known one with a bad value is an error.
    pub fn from_fmtp(fmtp: &str) -> Result<Self> {
        let mut s = OpusSettings::default();
        for param in fmtp.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = param.split_once('=').map_or((param, ""), |(k, v)| (k.trim(), v.trim()));
            let flag = || match value {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(MediaError::InvalidConfig(format!("Opus fmtp {key}={value}: the value must be 0 or 1"))),
            };
            match key.to_ascii_lowercase().as_str() {
                "stereo" => s.stereo = flag()?,
                "useinbandfec" => s.fec = flag()?,
                "usedtx" => s.dtx = flag()?,
                "maxaveragebitrate" => {
                    let v: u32 = value.parse().map_err(|_| {
                        MediaError::InvalidConfig(format!(
                            "Opus fmtp maxaveragebitrate={value}: give a number of bit/s (6000 to 510000)"
                        ))
                    })?;
                    s.max_average_bitrate = Some(v.clamp(*BITRATES.start(), *BITRATES.end()));
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// The fmtp value that states these settings.
    pub fn to_fmtp(&self) -> String {
        let mut s = format!(
            "minptime=10;useinbandfec={};stereo={};usedtx={}",
            u8::from(self.fec),
            u8::from(self.stereo),
            u8::from(self.dtx)
        );
        if let Some(b) = self.max_average_bitrate {
            s.push_str(&format!(";maxaveragebitrate={b}"));
        }
        s
    }

    /// Encoder settings that honour them: 48 kHz, 20 ms, mono or stereo,
    /// 64 kbit/s capped by `maxaveragebitrate`, FEC and DTX as asked.
    pub fn encoder_config(&self) -> AudioEncoderConfig {
        let mut c = AudioEncoderConfig::for_codec(Codec::Opus);
        c.channels = if self.stereo { 2 } else { 1 };
        c.bitrate = self.max_average_bitrate.map_or(c.bitrate, |m| c.bitrate.min(m));
        c.fec = self.fec;
        c.dtx = self.dtx;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{dominant_frequency, SineTone};

    fn config(channels: u16, bitrate: u32) -> AudioEncoderConfig {
        let mut c = AudioEncoderConfig::for_codec(Codec::Opus);
        c.channels = channels;
        c.bitrate = bitrate;
        c
    }

    fn channel(frames: &[AudioFrame], ch: usize) -> Vec<f32> {
        frames
            .iter()
            .flat_map(|f| f.to_f32().iter().skip(ch).step_by(usize::from(f.channels())).copied().collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn a_stereo_tone_at_64k_comes_back_at_1khz() {
        let mut enc = OpusEncoder::new(config(2, 64_000)).unwrap();
        let mut dec = OpusDecoder::new(2).unwrap();
        let mut tone = SineTone::new(1000.0, 0.5, RATE, 2, 20);
        let (mut packets, mut frames) = (Vec::new(), Vec::new());
        for _ in 0..50 {
            enc.encode(&tone.next_frame().unwrap(), &mut packets).unwrap();
        }
        assert_eq!(packets.len(), 50);
        for (i, p) in packets.iter().enumerate() {
            assert_eq!((p.pts, p.duration, p.time_base), (960 * i as i64, Some(960), TimeBase::hz(48_000)));
            dec.decode(p, &mut frames).unwrap();
        }
        assert!(frames.iter().all(|f| f.samples_per_channel() == 960 && f.channels() == 2));
        assert_eq!(frames[7].pts, 7 * 960);
        for ch in 0..2 {
            let hz = dominant_frequency(&channel(&frames[10..], ch), RATE).unwrap();
            assert!((hz - 1000.0).abs() < 2.0, "channel {ch}: {hz} Hz");
        }
    }

    #[test]
    fn float_input_is_taken_as_is() {
        let mut enc = OpusEncoder::new(config(1, 48_000)).unwrap();
        let mut dec = OpusDecoder::new(1).unwrap();
        let (mut packets, mut frames) = (Vec::new(), Vec::new());
        for f in SineTone::new(1000.0, 0.5, RATE, 1, 10).take(40) {
            let float = AudioFrame::from_f32(f.to_f32().to_vec(), RATE, 1, f.pts).unwrap();
            enc.encode(&float, &mut packets).unwrap();
        }
        assert_eq!(packets.len(), 20);
        for p in &packets {
            dec.decode(p, &mut frames).unwrap();
        }
        let hz = dominant_frequency(&channel(&frames[5..], 0), RATE).unwrap();
        assert!((hz - 1000.0).abs() < 2.0, "{hz}");
    }

    /// One second of a noisy tone (noise makes the encoder use its bits).
    fn noisy(channels: u16) -> Vec<AudioFrame> {
        let mut seed = 7u32;
        SineTone::new(440.0, 0.3, RATE, channels, 20)
            .take(50)
            .map(|f| {
                let s: Vec<i16> = f
                    .to_i16()
                    .iter()
                    .map(|&v| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        v.saturating_add((seed >> 17) as i16 / 4)
                    })
                    .collect();
                AudioFrame::from_i16(s, RATE, channels, f.pts).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_bitrate_change_changes_packet_sizes_without_a_new_encoder() {
        let mut enc = OpusEncoder::new(config(1, 16_000)).unwrap();
        let frames = noisy(1);
        let mut low = Vec::new();
        for f in &frames[..25] {
            enc.encode(f, &mut low).unwrap();
        }
        enc.set_bitrate(128_000).unwrap();
        assert_eq!(enc.config().bitrate, 128_000);
        let mut high = Vec::new();
        for f in &frames[25..] {
            enc.encode(f, &mut high).unwrap();
        }
        let mean = |p: &[EncodedFrame]| p[5..].iter().map(|p| p.data.len()).sum::<usize>() / (p.len() - 5);
        let (l, h) = (mean(&low), mean(&high));
        // 20 ms at 16 and 128 kbit/s: about 40 and 320 bytes.
        assert!((25..=60).contains(&l) && h > 4 * l, "{l} then {h} bytes per packet");
        assert_eq!(high[0].pts, 25 * 960, "timestamps run on");
        assert!(matches!(enc.set_bitrate(1000), Err(MediaError::InvalidConfig(_))));
    }

    #[test]
    fn partial_input_is_buffered_into_whole_packets() {
        let mut c = config(1, 32_000);
        c.frame_ms = 60;
        let mut enc = OpusEncoder::new(c).unwrap();
        let mut tone = SineTone::new(500.0, 0.5, RATE, 1, 7);
        let mut packets = Vec::new();
        for _ in 0..30 {
            enc.encode(&tone.next_frame().unwrap(), &mut packets).unwrap();
        }
        // 30 × 7 ms = 210 ms: three 60 ms packets, 30 ms waiting.
        assert_eq!(
            packets.iter().map(|p| (p.pts, p.duration)).collect::<Vec<_>>(),
            [(0, Some(2880)), (2880, Some(2880)), (5760, Some(2880))]
        );
    }

    #[test]
    fn concealment_gives_the_samples_asked_for() {
        let mut enc = OpusEncoder::new(config(2, 64_000)).unwrap();
        let mut dec = OpusDecoder::new(2).unwrap();
        let mut packets = Vec::new();
        for f in SineTone::new(1000.0, 0.5, RATE, 2, 20).take(10) {
            enc.encode(&f, &mut packets).unwrap();
        }
        let mut frames = Vec::new();
        for p in &packets[..5] {
            dec.decode(p, &mut frames).unwrap();
        }
        for n in [960, 480, 2880, 100] {
            dec.conceal(n, &mut frames).unwrap();
            let f = frames.last().unwrap();
            assert_eq!((f.samples_per_channel(), f.channels()), (n, 2));
        }
        assert_eq!(frames[5].pts, 5 * 960, "concealment continues the timeline");
        let plc = channel(&frames[5..6], 0);
        assert!(plc.iter().any(|&v| v.abs() > 0.05), "PLC continues the tone, not silence");
        dec.decode(&packets[9], &mut frames).unwrap();
        assert_eq!(frames.last().unwrap().pts, 9 * 960);
    }

    #[test]
    fn fec_recovers_a_lost_packet_from_the_next() {
        // Speech-band settings where libopus codes FEC (SILK): mono,
        // 24 kbit/s, 20 % expected loss. The tone jumps from 300 to 700 Hz
        // in the packet that gets lost: the FEC copy knows, PLC cannot.
        let mut c = config(1, 24_000);
        c.expected_loss = 20;
        c.fec = true;
        let mut enc = OpusEncoder::new(c).unwrap();
        let mut packets = Vec::new();
        let mut low = SineTone::new(300.0, 0.4, RATE, 1, 20);
        let mut high = SineTone::new(700.0, 0.4, RATE, 1, 20);
        for i in 0..40 {
            let f = if i < 30 { low.next_frame().unwrap() } else { high.next_frame().unwrap() };
            let f = AudioFrame::from_i16(f.to_i16().to_vec(), RATE, 1, i * 960).unwrap();
            enc.encode(&f, &mut packets).unwrap();
        }
        let lost = 30;
        let run = |fec: bool| {
            let mut dec = OpusDecoder::new(1).unwrap();
            let mut frames = Vec::new();
            for p in &packets[..lost] {
                dec.decode(p, &mut frames).unwrap();
            }
            if fec {
                dec.decode_fec(&packets[lost + 1], 960, &mut frames).unwrap();
            } else {
                dec.conceal(960, &mut frames).unwrap();
            }
            let f = frames.pop().unwrap();
            assert_eq!((f.samples_per_channel(), f.pts), (960, lost as i64 * 960));
            dec.decode(&packets[lost + 1], &mut frames).unwrap();
            assert_eq!(frames.last().unwrap().pts, (lost as i64 + 1) * 960);
            // The second half: the first holds the end of the 300 Hz tone
            // (the codec delays by its look-ahead).
            dominant_frequency(&f.to_f32()[480..], RATE)
        };
        let with_fec = run(true).unwrap();
        assert!((with_fec - 700.0).abs() < 30.0, "FEC gave {with_fec} Hz");
        let plc = run(false);
        assert!(plc.is_none_or(|hz| (hz - 700.0).abs() > 30.0), "PLC gave {plc:?} Hz");
        let mut dec = OpusDecoder::new(1).unwrap();
        assert!(matches!(dec.decode_fec(&packets[1], 1000, &mut Vec::new()), Err(MediaError::BadFrame(_))));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut dec = OpusDecoder::new(2).unwrap();
        let packet = |data: Vec<u8>| EncodedFrame {
            codec: Codec::Opus,
            data: data.into(),
            pts: 0,
            time_base: TimeBase::hz(RATE),
            duration: None,
            keyframe: true,
        };
        // TOC code 3 (a counted number of frames) with a count of zero.
        let e = dec.decode(&packet(vec![0x03, 0x00]), &mut Vec::new()).unwrap_err();
        assert!(matches!(e, MediaError::Codec { codec: "Opus", .. }), "{e}");
        assert!(e.to_string().contains("corrupted"), "{e}");
        assert!(matches!(dec.decode(&packet(vec![]), &mut Vec::new()), Err(MediaError::BadFrame(_))));
        let mut seed = 1u32;
        for len in 1..200 {
            let data = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect();
            let _ = dec.decode(&packet(data), &mut Vec::new());
        }
        let pcmu = EncodedFrame { codec: Codec::Pcmu, ..packet(vec![1]) };
        assert!(matches!(dec.decode(&pcmu, &mut Vec::new()), Err(MediaError::BadFrame(_))));
    }

    #[test]
    fn bad_settings_are_refused() {
        for (rate, ch, ms, bitrate) in
            [(44_100, 1, 20, 64_000), (48_000, 3, 20, 64_000), (48_000, 1, 30, 64_000), (48_000, 1, 20, 100)]
        {
            let mut c = config(ch, bitrate);
            c.sample_rate = rate;
            c.frame_ms = ms;
            assert!(matches!(OpusEncoder::new(c), Err(MediaError::InvalidConfig(_))), "{rate} {ch} {ms} {bitrate}");
        }
        assert!(OpusDecoder::new(0).is_err());
        let mut enc = OpusEncoder::new(config(2, 64_000)).unwrap();
        let mono = AudioFrame::from_i16(vec![0; 960], RATE, 1, 0).unwrap();
        assert!(matches!(enc.encode(&mono, &mut Vec::new()), Err(MediaError::BadFrame(_))));
        assert!(enc.set_complexity(11).is_err());
    }

    #[test]
    fn fmtp_parameters_become_encoder_settings() {
        let s = OpusSettings::from_fmtp("minptime=10; useinbandfec=1;stereo=1;maxaveragebitrate=48000;usedtx=1;x-foo")
            .unwrap();
        assert_eq!(s, OpusSettings { stereo: true, fec: true, dtx: true, max_average_bitrate: Some(48_000) });
        let c = s.encoder_config();
        assert_eq!(
            (c.sample_rate, c.channels, c.bitrate, c.fec, c.dtx, c.frame_ms),
            (48_000, 2, 48_000, true, true, 20)
        );
        assert_eq!(OpusSettings::from_fmtp(&s.to_fmtp()).unwrap(), s);
        let mono = OpusSettings::from_fmtp("minptime=10;useinbandfec=0").unwrap();
        assert_eq!(mono.encoder_config().channels, 1);
        assert!(!mono.encoder_config().fec);
        assert_eq!(OpusSettings::from_fmtp("").unwrap(), OpusSettings::default());
        assert_eq!(OpusSettings::from_fmtp("maxaveragebitrate=1000000").unwrap().max_average_bitrate, Some(510_000));
        assert!(matches!(OpusSettings::from_fmtp("stereo=yes"), Err(MediaError::InvalidConfig(_))));
        assert!(OpusSettings::from_fmtp("maxaveragebitrate=lots").is_err());
        OpusEncoder::new(c).unwrap();
    }

    #[test]
    fn dtx_drops_silent_packets() {
        let mut c = config(1, 32_000);
        c.dtx = true;
        let mut enc = OpusEncoder::new(c).unwrap();
        let mut packets = Vec::new();
        for f in SineTone::silence(RATE, 1, 20).take(50) {
            enc.encode(&f, &mut packets).unwrap();
        }
        assert!(packets.len() < 25, "{} of 50 silent packets sent", packets.len());
    }

    #[test]
    fn the_factory_builds_it() {
        let mut enc = super::super::audio_encoder(Codec::Opus, config(2, 64_000)).unwrap();
        let mut dec = super::super::audio_decoder(Codec::Opus, 2).unwrap();
        let mut packets = Vec::new();
        enc.encode(&SineTone::new(1000.0, 0.5, RATE, 2, 20).next_frame().unwrap(), &mut packets).unwrap();
        let mut frames = Vec::new();
        dec.decode(&packets[0], &mut frames).unwrap();
        assert_eq!(frames[0].samples_per_channel(), 960);
    }
}
