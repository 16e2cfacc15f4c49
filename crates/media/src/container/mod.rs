//! Media files: demuxers that read encoded or raw frames from a file and
//! muxers that write them.
//!
//! [`open`] picks a demuxer by the file's first bytes (and its extension
//! where bytes do not tell); [`create`] picks a muxer by extension.
//!
//! | Format | Extensions | Frames | Module |
//! |---|---|---|---|
//! | WAV | `.wav` | raw audio | [`wav`] |
//! | YUV4MPEG2 | `.y4m` | raw I420 video | [`y4m`] |
//! | IVF | `.ivf` | VP8, VP9, AV1 | [`ivf`] |
//! | Ogg Opus | `.ogg`, `.opus` | Opus | [`ogg`] |
//! | WebM/Matroska | `.webm`, `.mkv` | VP8, VP9, AV1, Opus; H.264 read only | [`webm`] |
//! | MP4 | `.mp4`, `.m4v` (read: also `.m4a`, `.mov`) | H.264, Opus | [`mp4`] |
//! | H.264 Annex B | `.h264`, `.264` | H.264 | [`h264`] |
//!
//! Every demuxer is generic over `Read + Seek`, so it reads memory as well as
//! files ([`crate::fuzzing`] does). Malformed or truncated input gives
//! [`MediaError::Malformed`] naming the problem and its offset ([`open`]
//! adds the file name); no length field makes a demuxer allocate more than
//! [`MAX_FRAME`] or more than the input holds.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
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

/// Opens a file of one format for reading.
pub type OpenFn = fn(BufReader<File>) -> Result<Box<dyn Demuxer>>;
/// Creates a file of one format for writing.
pub type CreateFn = fn(BufWriter<File>) -> Result<Box<dyn Muxer>>;

/// One file format: how to recognise it and how to read and write it.
pub struct Format {
    /// Its name in errors and docs (`"webm"`, `"wav"`, ...).
    pub name: &'static str,
    /// File name extensions, lower case, without the dot.
    pub extensions: &'static [&'static str],
    /// Whether the first bytes of a file (up to 64, fewer if the file is
    /// shorter) are this format's.
    pub sniff: fn(&[u8]) -> bool,
    /// Reads a file of this format.
    pub open: Option<OpenFn>,
    /// Writes a file of this format.
    pub create: Option<CreateFn>,
}

pub mod h264;
pub mod ivf;
pub mod mp4;
pub mod ogg;
pub mod probe;
pub mod wav;
pub mod webm;
pub mod y4m;

/// The formats this build reads or writes, in sniffing order.
pub static FORMATS: &[Format] =
    &[wav::FORMAT, y4m::FORMAT, ivf::FORMAT, ogg::FORMAT, webm::FORMAT, mp4::FORMAT, h264::FORMAT];

/// The largest frame (or packet, or chunk read whole) a demuxer accepts:
/// a length field above it is an error, never an allocation.
pub const MAX_FRAME: usize = 64 << 20;

/// A [`MediaError::Malformed`] of `format`.
pub(crate) fn malformed(format: &'static str, message: impl Into<String>) -> MediaError {
    MediaError::Malformed { format, message: message.into() }
}

/// Reads into `buf` until it is full or the input ends; returns how much was read.
pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(MediaError::Io(e)),
        }
    }
    Ok(n)
}

/// Reads exactly `buf.len()` bytes of `what` at `offset`; a short read is a
/// [`MediaError::Malformed`] saying so.
pub(crate) fn read_exact_at(
    r: &mut impl Read,
    buf: &mut [u8],
    format: &'static str,
    what: &str,
    offset: u64,
) -> Result<()> {
    let n = read_full(r, buf)?;
    if n < buf.len() {
        return Err(malformed(format, format!("{what} at offset {offset} is truncated ({n} of {} bytes)", buf.len())));
    }
    Ok(())
}

/// Reads `len` bytes of `what` at `offset` (at most [`MAX_FRAME`]); memory
/// grows with the bytes actually there, not with the length field.
pub(crate) fn read_vec_at(
    r: &mut impl Read,
    len: u64,
    format: &'static str,
    what: &str,
    offset: u64,
) -> Result<Vec<u8>> {
    if len > MAX_FRAME as u64 {
        return Err(malformed(
            format,
            format!("{what} at offset {offset} claims {len} bytes, above the {MAX_FRAME} limit"),
        ));
    }
    let mut out = Vec::with_capacity((len as usize).min(1 << 16));
    let n = r.take(len).read_to_end(&mut out)?;
    if (n as u64) < len {
        return Err(malformed(format, format!("{what} at offset {offset} is truncated ({n} of {len} bytes)")));
    }
    Ok(out)
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())
}

/// Opens `path` for reading, choosing the format by its first bytes, or by
/// its extension for formats without a signature (raw H.264).
pub fn open(path: &Path) -> Result<Box<dyn Demuxer>> {
    let mut file = File::open(path).map_err(|e| MediaError::Io(e).in_file(path))?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(MediaError::Io(e).in_file(path)),
        }
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| MediaError::Io(e).in_file(path))?;
    let ext = extension(path);
    let format = FORMATS
        .iter()
        .filter(|f| f.open.is_some())
        .find(|f| (f.sniff)(&head[..n]))
        .or_else(|| {
            FORMATS
                .iter()
                .filter(|f| f.open.is_some())
                .find(|f| ext.as_deref().is_some_and(|e| f.extensions.contains(&e)))
        })
        .ok_or_else(|| MediaError::File {
            path: path.into(),
            message: format!("not a file format this build reads ({})", readable_names(|f| f.open.is_some())),
        })?;
    let open = format.open.expect("filtered on open");
    open(BufReader::new(file)).map_err(|e| e.in_file(path))
}

/// Creates `path` for writing, choosing the format by its extension.
pub fn create(path: &Path) -> Result<Box<dyn Muxer>> {
    let ext = extension(path);
    let format = FORMATS
        .iter()
        .find(|f| f.create.is_some() && ext.as_deref().is_some_and(|e| f.extensions.contains(&e)))
        .ok_or_else(|| MediaError::File {
            path: path.into(),
            message: format!(
                "no format this build writes has this extension (it writes {})",
                readable_names(|f| f.create.is_some())
            ),
        })?;
    let file = File::create(path).map_err(|e| MediaError::Io(e).in_file(path))?;
    let create = format.create.expect("filtered on create");
    create(BufWriter::new(file)).map_err(|e| e.in_file(path))
}

fn readable_names(keep: impl Fn(&Format) -> bool) -> String {
    let names: Vec<String> = FORMATS.iter().filter(|f| keep(f)).map(|f| f.extensions.join("/")).collect();
    if names.is_empty() {
        "none yet".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::FileCodecs;

    /// Every extension the recorder takes has a muxer, and a file is read by
    /// its content whatever its name.
    #[test]
    fn the_table_covers_the_recorder_and_sniffs_content() {
        for ext in ["webm", "mkv", "mp4", "m4v", "ivf", "h264", "264", "ogg", "opus", "wav", "y4m"] {
            assert!(FileCodecs::for_path(Path::new(&format!("a.{ext}"))).is_ok());
            let f = FORMATS.iter().find(|f| f.create.is_some() && f.extensions.contains(&ext));
            assert!(f.is_some(), "nothing writes .{ext}");
        }
        let dir = std::env::temp_dir().join(format!("oxrtc-media-sniff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("named-wrong.bin");
        let mut ivf = b"DKIF\0\0\x20\0VP80\x40\0\x20\0\x1e\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        ivf.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x51, 0, 0]);
        std::fs::write(&path, &ivf).unwrap();
        let mut d = open(&path).unwrap();
        assert_eq!(d.tracks()[0].codec, Some(Codec::Vp8));
        assert!(d.read().unwrap().is_some());
        std::fs::write(&path, b"not media").unwrap();
        let e = open(&path).err().unwrap().to_string();
        assert!(e.contains("named-wrong.bin") && e.contains("webm/mkv") && e.contains("wav"), "{e}");
        let e = create(&dir.join("a.avi")).err().unwrap().to_string();
        assert!(e.contains("a.avi") && e.contains("mp4"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
