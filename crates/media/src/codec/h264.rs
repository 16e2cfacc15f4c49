//! H.264 through OpenH264 (cargo feature `h264`), built from the source the
//! `openh264` crate bundles.
//!
//! The encoder makes constrained-baseline Annex B frames (what every WebRTC
//! endpoint decodes: profile-level-id 42e0xx), camera real-time mode,
//! bitrate rate control that never skips frames, SPS and PPS in front of
//! every keyframe. The bitrate changes in place (OpenH264's
//! `ENCODER_OPTION_BITRATE`), without a keyframe.
//!
//! Frame skipping is off, so every frame in gives a frame out; OpenH264
//! warns on stderr that it then cannot hold the bitrate strictly, but at
//! 640x480 and 1 Mbit/s the test pattern comes out at 999 kbit/s.

use openh264::decoder::{Decoder, DecoderConfig};
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile, RateControlMode,
    UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};
use openh264_sys2 as sys;

use super::{VideoDecoder, VideoEncoder, VideoEncoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, PixelFormat, Plane, TimeBase, VideoFrame};

fn codec_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Codec { codec: "H264", message: format!("{what}: {e}") }
}

/// An I420 [`VideoFrame`] as OpenH264 reads it (planes and strides, no copy).
struct Source<'a>(&'a VideoFrame);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }
    fn strides(&self) -> (usize, usize, usize) {
        let p = self.0.planes();
        (p[0].stride, p[1].stride, p[2].stride)
    }
    fn y(&self) -> &[u8] {
        &self.0.planes()[0].data
    }
    fn u(&self) -> &[u8] {
        &self.0.planes()[1].data
    }
    fn v(&self) -> &[u8] {
        &self.0.planes()[2].data
    }
}

/// An H.264 encoder on OpenH264.
pub struct H264Encoder {
    config: VideoEncoderConfig,
    enc: Encoder,
    /// Whether a frame went through (OpenH264 sets itself up on the first one).
    started: bool,
}

impl H264Encoder {
    /// An encoder with `config` (even width and height up to 3840x2160;
    /// temporal layers are not supported).
    pub fn new(mut config: VideoEncoderConfig) -> Result<Self> {
        let (w, h) = (config.width, config.height);
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || w.max(h) > 3840 || w.min(h) > 2160 {
            return Err(MediaError::InvalidConfig(format!(
                "{w}x{h}: OpenH264 takes even sides up to 3840x2160 (or 2160x3840)"
            )));
        }
        if config.temporal_layers > 1 {
            return Err(MediaError::InvalidConfig(format!(
                "{} temporal layers: this H.264 encoder supports none (set temporal_layers to 1)",
                config.temporal_layers
            )));
        }
        if config.bitrate < 1000 {
            return Err(MediaError::InvalidConfig(format!("bitrate {} bit/s: give at least 1000", config.bitrate)));
        }
        if !(config.framerate.is_finite() && config.framerate > 0.0 && config.framerate <= 1000.0) {
            return Err(MediaError::InvalidConfig(format!(
                "frame rate {}: give a value in (0, 1000]",
                config.framerate
            )));
        }
        let threads = config.threads.unwrap_or_else(|| super::default_threads(w, h, super::cores()));
        config.threads = Some(threads);
        let enc = Encoder::with_api_config(OpenH264API::from_source(), encoder_config(&config, threads))
            .map_err(|e| codec_err("starting the encoder", e))?;
        Ok(H264Encoder { config, enc, started: false })
    }

    /// One `SetOption` with a bitrate.
    fn set_option(&mut self, option: sys::ENCODER_OPTION, bitrate: u32) -> Result<()> {
        let mut info =
            sys::SBitrateInfo { iLayer: sys::SPATIAL_LAYER_ALL, iBitrate: i32::try_from(bitrate).unwrap_or(i32::MAX) };
        // SAFETY: the encoder was initialized by its first frame (`started`);
        // both bitrate options take a pointer to an SBitrateInfo that lives
        // for the call, and only rate fields change.
        let rc = unsafe { self.enc.raw_api().set_option(option, (&raw mut info).cast()) };
        if rc != 0 {
            return Err(codec_err("changing the bitrate", format!("OpenH264 refused it (code {rc})")));
        }
        Ok(())
    }
}

fn encoder_config(c: &VideoEncoderConfig, threads: usize) -> EncoderConfig {
    EncoderConfig::new()
        .bitrate(BitRate::from_bps(c.bitrate))
        .max_frame_rate(FrameRate::from_hz(c.framerate as f32))
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .profile(Profile::Baseline)
        .complexity(Complexity::Low)
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(c.keyframe_interval.unwrap_or(0)))
        .num_threads(threads.min(4) as u16)
}

impl VideoEncoder for H264Encoder {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn encode(&mut self, frame: &VideoFrame, keyframe: bool, out: &mut Vec<EncodedFrame>) -> Result<()> {
        let frame = &*super::i420_input(frame, &self.config)?;
        if keyframe && self.started {
            self.enc.force_intra_frame();
        }
        let ms = frame.time_base.rescale(frame.pts, TimeBase::MILLIS).max(0) as u64;
        let bs =
            self.enc.encode_at(&Source(frame), Timestamp::from_millis(ms)).map_err(|e| codec_err("encoding", e))?;
        self.started = true;
        let kind = bs.frame_type();
        if matches!(kind, FrameType::Skip | FrameType::Invalid) {
            return Ok(());
        }
        let data = bs.to_vec();
        if data.is_empty() {
            return Ok(());
        }
        out.push(EncodedFrame {
            codec: Codec::H264,
            data: data.into(),
            pts: frame.pts,
            time_base: frame.time_base,
            duration: None,
            keyframe: matches!(kind, FrameType::IDR | FrameType::I),
        });
        Ok(())
    }

    fn set_bitrate(&mut self, bitrate: u32) -> Result<()> {
        if bitrate < 1000 {
            return Err(MediaError::InvalidConfig(format!("bitrate {bitrate} bit/s: give at least 1000")));
        }
        if !self.started {
            // Nothing encoded yet: OpenH264 reads the settings on the first frame.
            let threads = self.config.threads.unwrap_or(1);
            let mut c = self.config.clone();
            c.bitrate = bitrate;
            self.enc = Encoder::with_api_config(OpenH264API::from_source(), encoder_config(&c, threads))
                .map_err(|e| codec_err("starting the encoder", e))?;
        } else if bitrate > self.config.bitrate {
            // The cap first, so the new target fits under it.
            self.set_option(sys::ENCODER_OPTION_MAX_BITRATE, bitrate)?;
            self.set_option(sys::ENCODER_OPTION_BITRATE, bitrate)?;
        } else {
            self.set_option(sys::ENCODER_OPTION_BITRATE, bitrate)?;
            self.set_option(sys::ENCODER_OPTION_MAX_BITRATE, bitrate)?;
        }
        self.config.bitrate = bitrate;
        Ok(())
    }

    fn config(&self) -> &VideoEncoderConfig {
        &self.config
    }
}

/// An H.264 decoder on OpenH264, taking Annex B frames, giving I420 frames.
pub struct H264Decoder {
    dec: Decoder,
}

impl H264Decoder {
    /// A decoder (no frame delay: each complete frame gives its picture).
    pub fn new() -> Result<Self> {
        let dec = Decoder::with_api_config(OpenH264API::from_source(), DecoderConfig::new())
            .map_err(|e| codec_err("starting the decoder", e))?;
        Ok(H264Decoder { dec })
    }
}

/// NAL unit types (low 5 bits) of an Annex B buffer, or `None` if it has no start code.
fn nal_types(data: &[u8]) -> Option<Vec<u8>> {
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(&h) = data.get(i + 3) {
                types.push(h & 0x1f);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    (!types.is_empty()).then_some(types)
}

impl VideoDecoder for H264Decoder {
    fn codec(&self) -> Codec {
        Codec::H264
    }

    fn decode(&mut self, frame: &EncodedFrame, out: &mut Vec<VideoFrame>) -> Result<()> {
        let Some(types) = nal_types(&frame.data) else {
            return Err(codec_err("decoding", "no Annex B start code: not an H.264 byte stream"));
        };
        let has_slice = types.iter().any(|t| matches!(t, 1 | 5));
        let picture = self.dec.decode(&frame.data).map_err(|e| codec_err("decoding (corrupt data?)", e))?;
        let Some(yuv) = picture else {
            if has_slice {
                return Err(codec_err(
                    "decoding",
                    "the frame gave no picture (corrupt, or missing SPS/PPS: start at a keyframe)",
                ));
            }
            return Ok(());
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let (w32, h32) = (w as u32, h as u32);
        let mut planes = Vec::with_capacity(3);
        for (i, (src, stride)) in [(yuv.y(), sy), (yuv.u(), su), (yuv.v(), sv)].into_iter().enumerate() {
            let (row, rows) = PixelFormat::I420.plane_size(i, w32, h32);
            let mut copy = Vec::with_capacity(row * rows);
            for r in 0..rows {
                let line = src
                    .get(r * stride..r * stride + row)
                    .ok_or_else(|| codec_err("decoding", "the decoder returned a picture smaller than its size"))?;
                copy.extend_from_slice(line);
            }
            planes.push(Plane { data: copy.into(), stride: row });
        }
        out.push(VideoFrame::new(PixelFormat::I420, w32, h32, planes, frame.pts, frame.time_base)?);
        Ok(())
    }
}
