//! # Frames, codecs and media files for oxrtc
//!
//! - [`frame`]: [`VideoFrame`] (I420, NV12, packed RGB/BGR/RGBA),
//!   [`AudioFrame`] (interleaved s16 or f32) and [`EncodedFrame`], all cheap
//!   to clone (reference-counted data) and to pass between tasks.
//! - [`codec`]: one encoder/decoder interface; each codec library is a cargo
//!   feature, so a build without features needs nothing but cargo.
//! - [`container`]: file demuxers and muxers.
//! - [`synthetic`]: a moving test pattern with a readable frame counter, a
//!   sine tone, silence.
//!
//! This crate has no network code and does not depend on the transport
//! crates; the `oxrtc` facade joins the two.

pub mod codec;
pub mod container;
pub mod error;
pub mod frame;
pub mod synthetic;

pub use error::{MediaError, Result};
pub use frame::{AudioFrame, Codec, EncodedFrame, Frame, MediaKind, PixelFormat, Plane, Samples, TimeBase, VideoFrame};
