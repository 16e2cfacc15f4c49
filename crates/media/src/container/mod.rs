//! Media files: demuxers that read encoded or raw frames from a file and
//! muxers that write them.
//!
//! [`open`] picks a demuxer by the file's first bytes (and its extension
//! where bytes do not tell); [`create`] picks a muxer by extension.

use std::path::Path;

use crate::error::{MediaError, Result};
use crate::frame::{Codec, Frame, MediaKind, TimeBase};

/// One track of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackInfo {
    /// Its index in the file, as [`Demuxer::read`] reports it.
    pub index: usize,
    /// Audio or video.
    pub kind: MediaKind,
    /// The codec of its encoded frames; `None` for raw frames (WAV, Y4M).
    pub codec: Option<Codec>,
    /// The unit of its timestamps.
    pub time_base: TimeBase,
    /// Video: width and height, when the file says.
    pub size: Option<(u32, u32)>,
    /// Video: frames per second, when the file says.
    pub framerate: Option<f64>,
    /// Audio: sample rate and channels.
    pub audio: Option<(u32, u16)>,
    /// Length in `time_base` units, when the file says.
    pub duration: Option<i64>,
}

/// Reads frames from a file in file order.
pub trait Demuxer: Send {
    /// The tracks.
    fn tracks(&self) -> &[TrackInfo];
    /// The next frame and its track index; `None` at the end.
    /// Malformed data gives an error naming the problem (and never panics).
    fn read(&mut self) -> Result<Option<(usize, Frame)>>;
    /// Starts again from the beginning (for looping).
    fn rewind(&mut self) -> Result<()>;
}

/// What a muxer is asked to write for one track.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSpec {
    /// Audio or video.
    pub kind: MediaKind,
    /// The codec of the encoded frames it will get (`None`: raw frames, WAV/Y4M).
    pub codec: Option<Codec>,
    /// Video: width and height.
    pub size: Option<(u32, u32)>,
    /// Audio: sample rate and channels.
    pub audio: Option<(u32, u16)>,
}

/// Writes frames to a file.
pub trait Muxer: Send {
    /// Adds a track before the first frame; returns its index.
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize>;
    /// Writes one frame of track `index`. Timestamps are taken from the
    /// frame (rescaled to the file's base); gaps stay gaps.
    fn write(&mut self, index: usize, frame: &Frame) -> Result<()>;
    /// Completes the file (indexes, sizes, durations) and flushes it.
    fn finish(&mut self) -> Result<()>;
}

/// Opens `path` for reading, choosing the format by its content.
pub fn open(path: &Path) -> Result<Box<dyn Demuxer>> {
    Err(MediaError::File { path: path.into(), message: "no container format is built yet".into() })
}

/// Creates `path` for writing, choosing the format by its extension.
pub fn create(path: &Path) -> Result<Box<dyn Muxer>> {
    Err(MediaError::File { path: path.into(), message: "no container format is built yet".into() })
}
