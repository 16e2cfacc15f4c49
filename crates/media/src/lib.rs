//! # Frames, codecs and media files for oxrtc
//!
//! - [`frame`]: [`VideoFrame`] (I420, NV12, packed RGB/BGR/RGBA),
//!   [`AudioFrame`] (interleaved s16 or f32) and [`EncodedFrame`], all cheap
//!   to clone (reference-counted data) and to pass between tasks.
//! - [`codec`]: one encoder/decoder interface; each codec library is a cargo
//!   feature, so a build without features needs nothing but cargo. G.711
//!   and G.722 are written here and always built; Opus is feature `opus`.
//! - [`audio_convert`]: resampling, channel mixing and sample formats, so
//!   that any source fits any audio codec.
//! - [`container`]: file demuxers and muxers.
//! - [`convert`]: pixel format conversion and scaling ([`VideoFrame::to_format`],
//!   [`VideoFrame::scale`]).
//! - [`track`]: bounded frame queues between a producer and a consumer;
//!   a full queue makes the producer wait or drops by policy (the oldest, or
//!   everything until the next keyframe), never grows.
//! - [`relay`]: [`relay::MediaRelay`] (one source, many consumers, each with
//!   its own bounded queue) and [`relay::MediaBlackhole`].
//! - [`synthetic`]: a moving test pattern with a readable frame counter, a
//!   sine tone, silence.
//!
//! This crate has no network code and does not depend on the transport
//! crates; the `oxrtc` facade joins the two.

pub mod audio_convert;
pub mod capture;
pub mod codec;
pub mod container;
pub mod convert;
pub mod error;
pub mod frame;
pub mod fuzzing;
pub mod player;
pub mod recorder;
pub mod relay;
pub mod shared;
pub mod synthetic;
pub mod track;

pub use error::{MediaError, Result};
pub use frame::{AudioFrame, Codec, EncodedFrame, Frame, MediaKind, PixelFormat, Plane, Samples, TimeBase, VideoFrame};
