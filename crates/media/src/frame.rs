//! Raw and encoded frames: cheap to clone (reference-counted data, no copy
//! per hop) and to send between tasks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{MediaError, Result};

/// The unit of a timestamp: `num/den` seconds (video in WebRTC: 1/90000;
/// audio: 1/sample rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeBase {
    /// Numerator.
    pub num: u32,
    /// Denominator (never zero).
    pub den: u32,
}

impl TimeBase {
    /// RTP video clock: 1/90000 s.
    pub const VIDEO: TimeBase = TimeBase { num: 1, den: 90_000 };
    /// Milliseconds (Matroska's default).
    pub const MILLIS: TimeBase = TimeBase { num: 1, den: 1_000 };
    /// Nanoseconds.
    pub const NANOS: TimeBase = TimeBase { num: 1, den: 1_000_000_000 };

    /// `1/hz`, the clock of audio at `hz` samples per second.
    pub const fn hz(hz: u32) -> TimeBase {
        TimeBase { num: 1, den: hz }
    }

    /// `ticks` of this base as a duration (negative ticks give zero).
    pub fn duration(self, ticks: i64) -> Duration {
        let nanos = i128::from(ticks.max(0)) * i128::from(self.num) * 1_000_000_000 / i128::from(self.den.max(1));
        Duration::from_nanos(nanos.min(i128::from(u64::MAX)) as u64)
    }

    /// `ticks` of this base in `to`'s ticks, rounded to nearest.
    pub fn rescale(self, ticks: i64, to: TimeBase) -> i64 {
        let num = i128::from(ticks) * i128::from(self.num) * i128::from(to.den);
        let den = i128::from(self.den.max(1)) * i128::from(to.num.max(1));
        let q = (num + num.signum() * den / 2) / den;
        q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// Pixel layouts of [`VideoFrame`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Planar Y, U, V; chroma halved in both directions (what codecs take).
    I420,
    /// Y plane, then one plane of interleaved U,V; chroma halved both ways.
    Nv12,
    /// Packed R,G,B bytes.
    Rgb24,
    /// Packed B,G,R bytes (OpenCV's order).
    Bgr24,
    /// Packed R,G,B,A bytes.
    Rgba,
    /// Packed B,G,R,A bytes.
    Bgra,
}

impl PixelFormat {
    /// Number of planes.
    pub fn planes(self) -> usize {
        match self {
            PixelFormat::I420 => 3,
            PixelFormat::Nv12 => 2,
            _ => 1,
        }
    }

    /// Bytes per pixel of a packed format (1 for the luma plane of planar ones).
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => 3,
            PixelFormat::Rgba | PixelFormat::Bgra => 4,
            PixelFormat::I420 | PixelFormat::Nv12 => 1,
        }
    }

    /// Width in bytes and height in rows of plane `i` of a `width`×`height` image.
    pub fn plane_size(self, i: usize, width: u32, height: u32) -> (usize, usize) {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        match (self, i) {
            (PixelFormat::I420 | PixelFormat::Nv12, 0) => (w, h),
            (PixelFormat::I420, _) => (cw, ch),
            (PixelFormat::Nv12, _) => (cw * 2, ch),
            (f, _) => (w * f.bytes_per_pixel(), h),
        }
    }
}

/// One plane of a [`VideoFrame`]: `stride` bytes per row (at least the row's width).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    /// The rows, `stride` bytes apart.
    pub data: Bytes,
    /// Bytes from one row to the next.
    pub stride: usize,
}

/// A raw video frame. Clones share the pixel data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFrame {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: Arc<[Plane]>,
    /// Presentation time in `time_base` units.
    pub pts: i64,
    /// The unit of `pts`.
    pub time_base: TimeBase,
}

impl VideoFrame {
    /// A frame from its planes, checked: the number of planes for `format`,
    /// each stride at least its row width, each plane holding its rows
    /// (the last row may stop at the row width).
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: Vec<Plane>,
        pts: i64,
        time_base: TimeBase,
    ) -> Result<Self> {
        if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
            return Err(MediaError::BadFrame(format!("{width}x{height}: each side must be 1..=16384")));
        }
        if planes.len() != format.planes() {
            return Err(MediaError::BadFrame(format!(
                "{format:?} has {} planes, got {}",
                format.planes(),
                planes.len()
            )));
        }
        for (i, p) in planes.iter().enumerate() {
            let (row, rows) = format.plane_size(i, width, height);
            if p.stride < row {
                return Err(MediaError::BadFrame(format!("plane {i}: stride {} below its row width {row}", p.stride)));
            }
            let need = p.stride * (rows - 1) + row;
            if p.data.len() < need {
                return Err(MediaError::BadFrame(format!(
                    "plane {i}: {} bytes, {rows} rows of stride {} need {need}",
                    p.data.len(),
                    p.stride
                )));
            }
        }
        Ok(VideoFrame { format, width, height, planes: planes.into(), pts, time_base })
    }

    /// A frame of tightly packed planes (stride = row width) from one buffer,
    /// as Y4M, raw files and most libraries lay them out.
    pub fn from_packed(
        format: PixelFormat,
        width: u32,
        height: u32,
        data: Bytes,
        pts: i64,
        time_base: TimeBase,
    ) -> Result<Self> {
        let mut planes = Vec::with_capacity(format.planes());
        let mut at = 0;
        for i in 0..format.planes() {
            let (row, rows) = format.plane_size(i, width, height);
            let len = row * rows;
            if data.len() < at + len {
                return Err(MediaError::BadFrame(format!(
                    "{format:?} {width}x{height} needs {} bytes, got {}",
                    Self::packed_len(format, width, height),
                    data.len()
                )));
            }
            planes.push(Plane { data: data.slice(at..at + len), stride: row });
            at += len;
        }
        Self::new(format, width, height, planes, pts, time_base)
    }

    /// Bytes of a tightly packed `format` image of `width`×`height`.
    pub fn packed_len(format: PixelFormat, width: u32, height: u32) -> usize {
        (0..format.planes())
            .map(|i| {
                let (row, rows) = format.plane_size(i, width, height);
                row * rows
            })
            .sum()
    }

    /// The pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// The planes (see [`PixelFormat::planes`]).
    pub fn planes(&self) -> &[Plane] {
        &self.planes
    }
    /// Plane `i`'s rows without stride padding, row by row.
    pub fn rows(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (row, rows) = self.format.plane_size(i, self.width, self.height);
        let p = &self.planes[i];
        (0..rows).map(move |r| &p.data[r * p.stride..r * p.stride + row])
    }
    /// The image tightly packed, plane after plane (copies only when strides pad).
    pub fn to_packed(&self) -> Bytes {
        if self.planes.len() == 1 {
            let (row, rows) = self.format.plane_size(0, self.width, self.height);
            if self.planes[0].stride == row {
                return self.planes[0].data.slice(..row * rows);
            }
        }
        let mut out = Vec::with_capacity(Self::packed_len(self.format, self.width, self.height));
        for i in 0..self.planes.len() {
            for r in self.rows(i) {
                out.extend_from_slice(r);
            }
        }
        out.into()
    }
    /// Presentation time.
    pub fn time(&self) -> Duration {
        self.time_base.duration(self.pts)
    }
}

/// Interleaved audio samples, shared between clones.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Signed 16-bit.
    S16(Arc<[i16]>),
    /// 32-bit float in [-1, 1].
    F32(Arc<[f32]>),
}

impl Samples {
    /// Number of values (all channels).
    pub fn len(&self) -> usize {
        match self {
            Samples::S16(s) => s.len(),
            Samples::F32(s) => s.len(),
        }
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A raw audio frame: interleaved samples. Clones share the samples.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    samples: Samples,
    sample_rate: u32,
    channels: u16,
    /// Presentation time in `time_base` units (usually 1/sample rate).
    pub pts: i64,
    /// The unit of `pts`.
    pub time_base: TimeBase,
}

impl AudioFrame {
    /// A frame, checked: 1..=8 channels, a rate of 1..=384000 Hz, whole sample frames.
    pub fn new(samples: Samples, sample_rate: u32, channels: u16, pts: i64, time_base: TimeBase) -> Result<Self> {
        if !(1..=8).contains(&channels) {
            return Err(MediaError::BadFrame(format!("{channels} channels: 1 to 8 are supported")));
        }
        if !(1..=384_000).contains(&sample_rate) {
            return Err(MediaError::BadFrame(format!("sample rate {sample_rate} Hz: 1 to 384000 are supported")));
        }
        if !samples.len().is_multiple_of(usize::from(channels)) {
            return Err(MediaError::BadFrame(format!(
                "{} samples do not divide into {channels} channels",
                samples.len()
            )));
        }
        Ok(AudioFrame { samples, sample_rate, channels, pts, time_base })
    }
    /// Signed 16-bit samples with `pts` in 1/`sample_rate` units.
    pub fn from_i16(samples: Vec<i16>, sample_rate: u32, channels: u16, pts: i64) -> Result<Self> {
        Self::new(Samples::S16(samples.into()), sample_rate, channels, pts, TimeBase::hz(sample_rate))
    }
    /// Float samples with `pts` in 1/`sample_rate` units.
    pub fn from_f32(samples: Vec<f32>, sample_rate: u32, channels: u16, pts: i64) -> Result<Self> {
        Self::new(Samples::F32(samples.into()), sample_rate, channels, pts, TimeBase::hz(sample_rate))
    }
    /// The samples, interleaved.
    pub fn samples(&self) -> &Samples {
        &self.samples
    }
    /// Samples per second per channel.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// Channels.
    pub fn channels(&self) -> u16 {
        self.channels
    }
    /// Samples per channel.
    pub fn samples_per_channel(&self) -> usize {
        self.samples.len() / usize::from(self.channels)
    }
    /// The frame's length in time.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.samples_per_channel() as u64 * 1_000_000_000 / u64::from(self.sample_rate))
    }
    /// Presentation time.
    pub fn time(&self) -> Duration {
        self.time_base.duration(self.pts)
    }
    /// The samples as i16 (converted from float with rounding and clipping).
    pub fn to_i16(&self) -> Arc<[i16]> {
        match &self.samples {
            Samples::S16(s) => s.clone(),
            Samples::F32(s) => s.iter().map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect(),
        }
    }
    /// The samples as f32 in [-1, 1].
    pub fn to_f32(&self) -> Arc<[f32]> {
        match &self.samples {
            Samples::F32(s) => s.clone(),
            Samples::S16(s) => s.iter().map(|&v| f32::from(v) / 32768.0).collect(),
        }
    }
}

/// Codecs this crate knows by name (whether each is built depends on features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Opus (RFC 6716), 48 kHz clock.
    Opus,
    /// G.711 µ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
    /// G.722, 16 kHz audio on an 8 kHz RTP clock (RFC 3551).
    G722,
    /// VP8.
    Vp8,
    /// VP9.
    Vp9,
    /// H.264 / AVC (Annex B byte stream in frames).
    H264,
    /// AV1 (low-overhead OBU stream in frames).
    Av1,
}

impl Codec {
    /// The SDP encoding name (`a=rtpmap`), as WebRTC spells it.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::H264 => "H264",
            Codec::Av1 => "AV1",
        }
    }
    /// The codec named `name` in SDP (case-insensitive).
    pub fn from_sdp_name(name: &str) -> Option<Codec> {
        [Codec::Opus, Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1]
            .into_iter()
            .find(|c| c.sdp_name().eq_ignore_ascii_case(name))
    }
    /// Whether it is an audio codec.
    pub fn is_audio(self) -> bool {
        matches!(self, Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722)
    }
    /// Its RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma | Codec::G722 => 8_000,
            _ => 90_000,
        }
    }
}

/// One encoded frame (a video frame or an audio packet), as it goes to a
/// packetizer or comes out of a depacketizer or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The codec.
    pub codec: Codec,
    /// The bitstream (H.264: Annex B; AV1: OBUs with size fields).
    pub data: Bytes,
    /// Presentation time in `time_base` units.
    pub pts: i64,
    /// The unit of `pts`.
    pub time_base: TimeBase,
    /// How long it lasts, in `time_base` units, when known (audio packets).
    pub duration: Option<i64>,
    /// Whether it decodes on its own.
    pub keyframe: bool,
}

impl EncodedFrame {
    /// Presentation time.
    pub fn time(&self) -> Duration {
        self.time_base.duration(self.pts)
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

/// What flows through a track: a raw frame of either kind or an encoded one.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Raw video.
    Video(VideoFrame),
    /// Raw audio.
    Audio(AudioFrame),
    /// Encoded audio or video (pass-through without decoding).
    Encoded(EncodedFrame),
}

impl Frame {
    /// Audio or video.
    pub fn kind(&self) -> MediaKind {
        match self {
            Frame::Video(_) => MediaKind::Video,
            Frame::Audio(_) => MediaKind::Audio,
            Frame::Encoded(e) if e.codec.is_audio() => MediaKind::Audio,
            Frame::Encoded(_) => MediaKind::Video,
        }
    }
    /// Presentation time.
    pub fn time(&self) -> Duration {
        match self {
            Frame::Video(f) => f.time(),
            Frame::Audio(f) => f.time(),
            Frame::Encoded(f) => f.time(),
        }
    }
    /// Sets the presentation time (in the frame's own time base, rounded).
    pub fn set_time(&mut self, t: Duration) {
        let (pts, tb) = match self {
            Frame::Video(v) => (&mut v.pts, v.time_base),
            Frame::Audio(a) => (&mut a.pts, a.time_base),
            Frame::Encoded(e) => (&mut e.pts, e.time_base),
        };
        *pts = TimeBase::NANOS.rescale(t.as_nanos().min(i64::MAX as u128) as i64, tb);
    }
    /// Whether a decoder can start here: raw frames and audio always,
    /// encoded video only at keyframes.
    pub fn is_keyframe(&self) -> bool {
        match self {
            Frame::Encoded(e) => e.keyframe || e.codec.is_audio(),
            _ => true,
        }
    }
    /// Bytes it holds (for queue budgets).
    pub fn byte_len(&self) -> usize {
        match self {
            Frame::Video(f) => f.planes().iter().map(|p| p.data.len()).sum(),
            Frame::Audio(f) => match f.samples() {
                Samples::S16(s) => s.len() * 2,
                Samples::F32(s) => s.len() * 4,
            },
            Frame::Encoded(e) => e.data.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bases_rescale_and_convert() {
        assert_eq!(TimeBase::VIDEO.rescale(90_000, TimeBase::MILLIS), 1000);
        assert_eq!(TimeBase::hz(48_000).rescale(960, TimeBase::VIDEO), 1800);
        assert_eq!(TimeBase::MILLIS.rescale(-33, TimeBase::VIDEO), -2970);
        assert_eq!(TimeBase::VIDEO.duration(45_000), Duration::from_millis(500));
        assert_eq!(TimeBase::VIDEO.duration(-5), Duration::ZERO);
    }

    #[test]
    fn packed_frames_split_into_planes_and_back() {
        let (w, h) = (5, 3); // odd sizes: chroma rounds up
        let len = VideoFrame::packed_len(PixelFormat::I420, w, h);
        assert_eq!(len, 15 + 3 * 2 * 2);
        let data: Bytes = (0..len as u8).collect::<Vec<_>>().into();
        let f = VideoFrame::from_packed(PixelFormat::I420, w, h, data.clone(), 0, TimeBase::VIDEO).unwrap();
        assert_eq!(f.planes()[1].stride, 3);
        assert_eq!(f.to_packed(), data);
        assert!(VideoFrame::from_packed(PixelFormat::I420, w, h, data.slice(1..), 0, TimeBase::VIDEO).is_err());
        let rgb = VideoFrame::from_packed(PixelFormat::Rgb24, 2, 2, vec![0; 12].into(), 0, TimeBase::VIDEO).unwrap();
        assert_eq!(rgb.rows(0).count(), 2);
    }

    #[test]
    fn bad_frames_are_refused_with_reasons() {
        let p = Plane { data: vec![0; 10].into(), stride: 3 };
        let e = VideoFrame::new(PixelFormat::Rgb24, 2, 2, vec![p], 0, TimeBase::VIDEO).unwrap_err();
        assert!(e.to_string().contains("stride 3 below its row width 6"), "{e}");
        assert!(AudioFrame::from_i16(vec![0; 3], 48_000, 2, 0).is_err());
        assert!(AudioFrame::from_i16(vec![0; 4], 48_000, 0, 0).is_err());
    }

    #[test]
    fn audio_converts_between_sample_formats() {
        let f = AudioFrame::from_i16(vec![0, 16384, -32768, 32767], 48_000, 2, 0).unwrap();
        assert_eq!(f.samples_per_channel(), 2);
        let back = AudioFrame::from_f32(f.to_f32().to_vec(), 48_000, 2, 0).unwrap();
        assert_eq!(&*back.to_i16(), &[0, 16384, -32768, 32767]);
        assert_eq!(f.duration(), Duration::from_nanos(41_666));
    }
}
