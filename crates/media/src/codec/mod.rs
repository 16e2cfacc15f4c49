//! Encoders and decoders behind one interface.
//!
//! Each codec library is a cargo feature; [`video_encoder`],
//! [`video_decoder`], [`audio_encoder`] and [`audio_decoder`] build the one
//! asked for, or say which feature is missing.
//!
//! Audio codecs, what they take and the clock of their packets' `pts`:
//!
//! | codec | module | built | raw audio | packet clock |
//! |---|---|---|---|---|
//! | PCMU, PCMA | [`g711`] | always | 8 kHz mono | 8 kHz |
//! | G722 | [`g722`] | always | 16 kHz mono | 8 kHz (RFC 3551) |
//! | Opus | `opus` | feature `opus` (libopus) | 48 kHz mono or stereo | 48 kHz |
//!
//! Encoders take frames of any length and give whole packets of
//! `frame_ms`; other rates and channel counts go through
//! [`crate::audio_convert::AudioConverter`] first.

use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Codec, EncodedFrame, VideoFrame};

#[cfg(feature = "av1")]
pub mod av1;
pub mod g711;
pub mod g722;
#[cfg(feature = "h264")]
pub mod h264;
#[cfg(feature = "opus")]
pub mod opus;
mod pcm;
#[cfg(feature = "vpx")]
pub mod vpx;

/// Settings of a video encoder. The bitrate can change later
/// ([`VideoEncoder::set_bitrate`]) without recreating the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoEncoderConfig {
    /// Width of the frames it will get.
    pub width: u32,
    /// Height of the frames it will get.
    pub height: u32,
    /// Target bitrate in bits per second.
    pub bitrate: u32,
    /// Expected frame rate (rate control, timestamps).
    pub framerate: f64,
    /// A keyframe at least every this many frames (`None`: only when asked
    /// and when the codec decides).
    pub keyframe_interval: Option<u32>,
    /// Encoder threads (`None`: chosen by resolution).
    pub threads: Option<usize>,
    /// Temporal layers (1: none; VP8 supports 2 and 3).
    pub temporal_layers: u8,
    /// libvpx speed (`cpu-used`: VP8 -16..=16, VP9 0..=9; higher is faster
    /// and coarser); `None`: the real-time default (VP8 -8, VP9 7). Other
    /// codecs ignore it.
    pub speed: Option<i8>,
}

impl VideoEncoderConfig {
    /// Real-time defaults for `width`×`height` at `bitrate` bit/s: 30 fps,
    /// a keyframe every 3000 frames, threads by resolution, no layers.
    pub fn new(width: u32, height: u32, bitrate: u32) -> Self {
        VideoEncoderConfig {
            width,
            height,
            bitrate,
            framerate: 30.0,
            keyframe_interval: Some(3000),
            threads: None,
            temporal_layers: 1,
            speed: None,
        }
    }
}

/// Settings of an audio encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioEncoderConfig {
    /// Input sample rate (Opus: 48000 in WebRTC; G.711: 8000; G.722: 16000).
    pub sample_rate: u32,
    /// Input channels (1 or 2).
    pub channels: u16,
    /// Target bitrate in bits per second (ignored by fixed-rate codecs).
    pub bitrate: u32,
    /// Packet duration in milliseconds (10, 20, 40, 60; 20 in WebRTC).
    pub frame_ms: u32,
    /// In-band forward error correction (Opus `useinbandfec`).
    pub fec: bool,
    /// Discontinuous transmission (Opus `usedtx`).
    pub dtx: bool,
    /// Expected packet loss in percent (tunes Opus FEC).
    pub expected_loss: u8,
}

impl AudioEncoderConfig {
    /// WebRTC defaults for `codec`: its rate, mono (Opus: stereo if asked
    /// later), 20 ms packets, Opus at 64 kbit/s with in-band FEC.
    pub fn for_codec(codec: Codec) -> Self {
        let sample_rate = match codec {
            Codec::G722 => 16_000,
            Codec::Pcmu | Codec::Pcma => 8_000,
            _ => 48_000,
        };
        AudioEncoderConfig {
            sample_rate,
            channels: 1,
            bitrate: 64_000,
            frame_ms: 20,
            fec: true,
            dtx: false,
            expected_loss: 0,
        }
    }
}

/// Encodes raw video frames.
pub trait VideoEncoder: Send {
    /// The codec it produces.
    fn codec(&self) -> Codec;
    /// Encodes `frame` (I420 at the configured size) and appends what comes
    /// out (usually one frame) to `out`. `keyframe` forces a keyframe.
    fn encode(&mut self, frame: &VideoFrame, keyframe: bool, out: &mut Vec<EncodedFrame>) -> Result<()>;
    /// Changes the target bitrate from the next frame on, without a keyframe.
    fn set_bitrate(&mut self, bitrate: u32) -> Result<()>;
    /// The settings in force.
    fn config(&self) -> &VideoEncoderConfig;
    /// The temporal layer (0 = base) of the frame the last [`encode`](Self::encode)
    /// produced, for the packetizer (VP8 `TID`); `None` without temporal layers.
    /// Kept here rather than in [`EncodedFrame`] so that frame stays a plain
    /// struct literal for every other producer.
    fn last_temporal_layer(&self) -> Option<u8> {
        None
    }
}

/// Decodes video frames.
pub trait VideoDecoder: Send {
    /// The codec it takes.
    fn codec(&self) -> Codec;
    /// Decodes one encoded frame and appends the pictures it completes to `out`.
    fn decode(&mut self, frame: &EncodedFrame, out: &mut Vec<VideoFrame>) -> Result<()>;
}

/// Encodes raw audio frames into packets.
pub trait AudioEncoder: Send {
    /// The codec it produces.
    fn codec(&self) -> Codec;
    /// Takes `frame` (any length, at the configured rate and channels) and
    /// appends every complete packet to `out`; the rest waits for the next call.
    fn encode(&mut self, frame: &AudioFrame, out: &mut Vec<EncodedFrame>) -> Result<()>;
    /// Changes the target bitrate (codecs with a fixed rate ignore it).
    fn set_bitrate(&mut self, bitrate: u32) -> Result<()>;
    /// The settings in force.
    fn config(&self) -> &AudioEncoderConfig;
}

/// Decodes audio packets.
pub trait AudioDecoder: Send {
    /// The codec it takes.
    fn codec(&self) -> Codec;
    /// Decodes one packet and appends the samples to `out`.
    fn decode(&mut self, packet: &EncodedFrame, out: &mut Vec<AudioFrame>) -> Result<()>;
    /// Fills a gap of `samples` per channel where packets were lost
    /// (concealment where the codec has it, silence otherwise).
    fn conceal(&mut self, samples: usize, out: &mut Vec<AudioFrame>) -> Result<()>;
}

/// `frame` as an encoder set up by `config` takes it: refused if its size
/// is not the configured one, converted if it is not I420.
#[cfg_attr(not(any(feature = "vpx", feature = "h264")), allow(dead_code))]
pub(crate) fn i420_input<'a>(
    frame: &'a VideoFrame,
    config: &VideoEncoderConfig,
) -> Result<std::borrow::Cow<'a, VideoFrame>> {
    if frame.width() != config.width || frame.height() != config.height {
        return Err(MediaError::BadFrame(format!(
            "{}x{} frame for an encoder set up for {}x{}: scale it first (VideoFrame::scale)",
            frame.width(),
            frame.height(),
            config.width,
            config.height
        )));
    }
    Ok(if frame.format() == crate::frame::PixelFormat::I420 {
        std::borrow::Cow::Borrowed(frame)
    } else {
        std::borrow::Cow::Owned(frame.to_format(crate::frame::PixelFormat::I420)?)
    })
}

/// Encoder threads for `width`×`height` on a machine of `cores` cores, when
/// the settings leave them open. After libwebrtc's rule (`NumberOfThreads`
/// in its VP8 encoder): a second thread only from 640x480 and on 4 cores or
/// more, 3 from 1280x720 on 6 cores, 8 from 1920x1080 on more than 8.
/// libvpx's worker threads spin while they wait: on a machine without spare
/// cores two threads at 640x480 encode several times slower than one.
pub fn default_threads(width: u32, height: u32, cores: usize) -> usize {
    let pixels = u64::from(width) * u64::from(height);
    if pixels >= 1920 * 1080 && cores > 8 {
        8
    } else if pixels >= 1280 * 720 && cores >= 6 {
        3
    } else if pixels >= 640 * 480 && cores >= 4 {
        2
    } else {
        1
    }
}

/// Cores of this machine (1 when unknown).
#[cfg_attr(not(any(feature = "vpx", feature = "h264")), allow(dead_code))]
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg_attr(all(feature = "opus", feature = "vpx", feature = "h264", feature = "av1"), allow(dead_code))]
fn not_built(codec: &'static str, feature: &'static str) -> MediaError {
    MediaError::NotBuilt { codec, feature }
}

/// A video encoder for `codec`.
pub fn video_encoder(codec: Codec, config: VideoEncoderConfig) -> Result<Box<dyn VideoEncoder>> {
    #[cfg(not(any(feature = "vpx", feature = "h264")))]
    let _ = &config;
    match codec {
        #[cfg(feature = "vpx")]
        Codec::Vp8 | Codec::Vp9 => Ok(Box::new(vpx::VpxEncoder::new(codec, config)?)),
        #[cfg(not(feature = "vpx"))]
        Codec::Vp8 | Codec::Vp9 => Err(not_built(codec.sdp_name(), "vpx")),
        #[cfg(feature = "h264")]
        Codec::H264 => Ok(Box::new(h264::H264Encoder::new(config)?)),
        #[cfg(not(feature = "h264"))]
        Codec::H264 => Err(not_built("H264", "h264")),
        Codec::Av1 => {
            Err(MediaError::Unsupported("no AV1 encoder: this build decodes AV1 only (feature `av1`)".into()))
        }
        other => Err(MediaError::Unsupported(format!("no video encoder for {other:?}"))),
    }
}

/// A video decoder for `codec`.
pub fn video_decoder(codec: Codec) -> Result<Box<dyn VideoDecoder>> {
    match codec {
        #[cfg(feature = "vpx")]
        Codec::Vp8 | Codec::Vp9 => Ok(Box::new(vpx::VpxDecoder::new(codec)?)),
        #[cfg(not(feature = "vpx"))]
        Codec::Vp8 | Codec::Vp9 => Err(not_built(codec.sdp_name(), "vpx")),
        #[cfg(feature = "h264")]
        Codec::H264 => Ok(Box::new(h264::H264Decoder::new()?)),
        #[cfg(not(feature = "h264"))]
        Codec::H264 => Err(not_built("H264", "h264")),
        #[cfg(feature = "av1")]
        Codec::Av1 => Ok(Box::new(av1::Av1Decoder::new()?)),
        #[cfg(not(feature = "av1"))]
        Codec::Av1 => Err(not_built("AV1", "av1")),
        other => Err(MediaError::Unsupported(format!("no video decoder for {other:?}"))),
    }
}

/// An audio encoder for `codec`.
pub fn audio_encoder(codec: Codec, config: AudioEncoderConfig) -> Result<Box<dyn AudioEncoder>> {
    match codec {
        Codec::Pcmu => Ok(Box::new(g711::G711Encoder::new(g711::Law::Mu, config)?)),
        Codec::Pcma => Ok(Box::new(g711::G711Encoder::new(g711::Law::A, config)?)),
        Codec::G722 => Ok(Box::new(g722::G722Encoder::new(config)?)),
        #[cfg(feature = "opus")]
        Codec::Opus => Ok(Box::new(opus::OpusEncoder::new(config)?)),
        #[cfg(not(feature = "opus"))]
        Codec::Opus => Err(not_built("Opus", "opus")),
        other => Err(MediaError::Unsupported(format!("no audio encoder for {other:?}"))),
    }
}

/// An audio decoder for `codec`.
pub fn audio_decoder(codec: Codec, channels: u16) -> Result<Box<dyn AudioDecoder>> {
    if matches!(codec, Codec::Pcmu | Codec::Pcma | Codec::G722) && channels != 1 {
        return Err(MediaError::InvalidConfig(format!(
            "{} is mono: ask for 1 channel, not {channels} (mix after decoding)",
            codec.sdp_name()
        )));
    }
    match codec {
        Codec::Pcmu => Ok(Box::new(g711::G711Decoder::new(g711::Law::Mu))),
        Codec::Pcma => Ok(Box::new(g711::G711Decoder::new(g711::Law::A))),
        Codec::G722 => Ok(Box::new(g722::G722Decoder::new())),
        #[cfg(feature = "opus")]
        Codec::Opus => Ok(Box::new(opus::OpusDecoder::new(channels)?)),
        #[cfg(not(feature = "opus"))]
        Codec::Opus => Err(not_built("Opus", "opus")),
        other => Err(MediaError::Unsupported(format!("no audio decoder for {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_grow_with_size_and_spare_cores() {
        assert_eq!(default_threads(320, 240, 16), 1);
        assert_eq!(default_threads(640, 480, 2), 1, "no spare core: one thread");
        assert_eq!(default_threads(640, 480, 4), 2);
        assert_eq!(default_threads(1280, 720, 4), 2);
        assert_eq!(default_threads(1280, 720, 6), 3);
        assert_eq!(default_threads(1920, 1080, 8), 3);
        assert_eq!(default_threads(1920, 1080, 12), 8);
    }
}
