//! IVF: the simple VP8/VP9/AV1 frame file of libvpx and libaom.
//!
//! A 32-byte header (`DKIF`, the codec's fourcc, the size, the time base)
//! and frames of a 12-byte header (size, 64-bit timestamp) each. Frames come
//! out as [`Frame::Encoded`] in the file's time base, with the keyframe
//! flag read from the bitstream (see [`super::probe::is_keyframe`]).
//!
//! The muxer writes a 1/90000 time base. When the track's size is not
//! given, it is taken from the first keyframe (VP8, VP9, AV1 sequence
//! header); the size and the frame count are written on finish.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::probe::{is_keyframe, keyframe_size};
use super::{malformed, read_exact_at, read_full, read_vec_at, Demuxer, Format, Muxer, TrackInfo, TrackSpec};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, Frame, MediaKind, TimeBase};

const NAME: &str = "ivf";

/// The IVF entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["ivf"],
    sniff: |b| b.starts_with(b"DKIF"),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(IvfDemuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(IvfMuxer::new(w)))
}

fn fourcc(codec: Codec) -> Option<&'static [u8; 4]> {
    match codec {
        Codec::Vp8 => Some(b"VP80"),
        Codec::Vp9 => Some(b"VP90"),
        Codec::Av1 => Some(b"AV01"),
        _ => None,
    }
}

/// Reads an IVF file from any seekable input.
pub struct IvfDemuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    codec: Codec,
    data_start: u64,
    at: u64,
}

impl<R: Read + Seek + Send> IvfDemuxer<R> {
    /// Reads the file header.
    pub fn new(mut input: R) -> Result<Self> {
        let mut h = [0u8; 32];
        read_exact_at(&mut input, &mut h, NAME, "the file header", 0)?;
        if &h[0..4] != b"DKIF" {
            return Err(malformed(NAME, "no DKIF signature at offset 0"));
        }
        let header_len = u16::from_le_bytes([h[6], h[7]]);
        if !(32..=1024).contains(&header_len) {
            return Err(malformed(NAME, format!("header length {header_len} at offset 6 (32 to 1024)")));
        }
        let codec = match &h[8..12] {
            b"VP80" => Codec::Vp8,
            b"VP90" => Codec::Vp9,
            b"AV01" => Codec::Av1,
            other => {
                return Err(MediaError::Unsupported(format!(
                    "IVF fourcc {:?} at offset 8: VP80, VP90 and AV01 are read",
                    String::from_utf8_lossy(other)
                )))
            }
        };
        let (w, h16) = (u16::from_le_bytes([h[12], h[13]]), u16::from_le_bytes([h[14], h[15]]));
        let den = u32::from_le_bytes([h[16], h[17], h[18], h[19]]);
        let num = u32::from_le_bytes([h[20], h[21], h[22], h[23]]);
        if den == 0 || num == 0 {
            return Err(malformed(NAME, format!("time base {num}/{den} at offset 16")));
        }
        input.seek(SeekFrom::Start(u64::from(header_len)))?;
        // The header's rate is a time base; it is the frame rate when it is a plausible one.
        let rate = f64::from(den) / f64::from(num);
        let info = TrackInfo {
            index: 0,
            kind: MediaKind::Video,
            codec: Some(codec),
            time_base: TimeBase { num, den },
            size: (w > 0 && h16 > 0).then_some((u32::from(w), u32::from(h16))),
            framerate: (1.0..=240.0).contains(&rate).then_some(rate),
            audio: None,
            duration: None,
        };
        let start = u64::from(header_len);
        Ok(IvfDemuxer { input, tracks: vec![info], codec, data_start: start, at: start })
    }
}

impl<R: Read + Seek + Send> Demuxer for IvfDemuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        let mut h = [0u8; 12];
        let n = read_full(&mut self.input, &mut h)?;
        if n == 0 {
            return Ok(None);
        }
        if n < 12 {
            return Err(malformed(NAME, format!("frame header at offset {} is truncated ({n} of 12 bytes)", self.at)));
        }
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let pts = i64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
        let data = read_vec_at(&mut self.input, u64::from(len), NAME, "a frame", self.at + 12)?;
        self.at += 12 + u64::from(len);
        let frame = EncodedFrame {
            codec: self.codec,
            keyframe: is_keyframe(self.codec, &data),
            data: Bytes::from(data),
            pts,
            time_base: self.tracks[0].time_base,
            duration: None,
        };
        Ok(Some((0, Frame::Encoded(frame))))
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(self.data_start))?;
        self.at = self.data_start;
        Ok(())
    }
}

/// Writes VP8, VP9 or AV1 frames to an IVF file.
pub struct IvfMuxer<W: Write + Seek> {
    output: W,
    codec: Option<Codec>,
    size: Option<(u32, u32)>,
    frames: u32,
    finished: bool,
}

impl<W: Write + Seek + Send> IvfMuxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        IvfMuxer { output, codec: None, size: None, frames: 0, finished: false }
    }

    fn header(&self, codec: Codec) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[0..4].copy_from_slice(b"DKIF");
        h[6..8].copy_from_slice(&32u16.to_le_bytes());
        h[8..12].copy_from_slice(fourcc(codec).expect("checked on add_track"));
        let (w, hh) = self.size.unwrap_or((0, 0));
        h[12..14].copy_from_slice(&(w.min(0xFFFF) as u16).to_le_bytes());
        h[14..16].copy_from_slice(&(hh.min(0xFFFF) as u16).to_le_bytes());
        h[16..20].copy_from_slice(&90_000u32.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..28].copy_from_slice(&self.frames.to_le_bytes());
        h
    }
}

impl<W: Write + Seek + Send> Muxer for IvfMuxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.codec.is_some() {
            return Err(MediaError::Unsupported("an IVF file holds one track".into()));
        }
        let codec = spec.codec.filter(|&c| fourcc(c).is_some()).ok_or_else(|| {
            MediaError::Unsupported(format!("an IVF file holds VP8, VP9 or AV1, not {:?} {:?}", spec.kind, spec.codec))
        })?;
        self.size = spec.size;
        let h = self.header(codec);
        self.output.write_all(&h)?;
        self.codec = Some(codec);
        Ok(0)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        let Some(codec) = self.codec.filter(|_| index == 0 && !self.finished) else {
            return Err(MediaError::InvalidConfig(format!("no track {index} (or the file is finished)")));
        };
        let Frame::Encoded(e) = frame else {
            return Err(MediaError::BadFrame("an IVF file takes encoded frames".into()));
        };
        if e.codec != codec {
            return Err(MediaError::BadFrame(format!("a {:?} frame in a {codec:?} file", e.codec)));
        }
        let len = u32::try_from(e.data.len())
            .map_err(|_| MediaError::BadFrame(format!("a frame of {} bytes", e.data.len())))?;
        if self.size.is_none() {
            self.size = keyframe_size(codec, &e.data);
        }
        let pts = e.time_base.rescale(e.pts, TimeBase::VIDEO);
        let mut h = [0u8; 12];
        h[0..4].copy_from_slice(&len.to_le_bytes());
        h[4..12].copy_from_slice(&pts.to_le_bytes());
        self.output.write_all(&h)?;
        self.output.write_all(&e.data)?;
        self.frames = self.frames.saturating_add(1);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if let Some(codec) = self.codec {
            let h = self.header(codec);
            self.output.seek(SeekFrom::Start(0))?;
            self.output.write_all(&h)?;
            self.output.seek(SeekFrom::End(0))?;
        }
        self.output.flush()?;
        Ok(())
    }
}
