//! Raw H.264 Annex B streams (`.h264`, `.264`).
//!
//! The demuxer reads the stream in 64 KiB chunks (a NAL unit may span any
//! number of them, up to [`super::MAX_FRAME`]) and groups NAL units into
//! access units (H.264 section 7.4.1.2.3): an access unit delimiter, or an
//! SPS, PPS, SEI or other non-slice NAL after a slice, or a slice whose
//! `first_mb_in_slice` is 0 after a slice, starts a new one. So parameter
//! sets travel with the IDR picture after them. Each access unit is one
//! [`Frame::Encoded`], its NAL units behind 4-byte start codes, a keyframe
//! when it holds an IDR slice.
//!
//! The stream has no timestamps: frames are numbered at a frame rate the
//! caller gives ([`H264Demuxer::with_framerate`]), 30 fps when opened by
//! [`super::open`]. The muxer writes the frames one after another.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::probe::{annexb_nals, h264_sps_size, Bits};
use super::{malformed, read_full, Demuxer, Format, Muxer, TrackInfo, TrackSpec, MAX_FRAME};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, Frame, MediaKind, TimeBase};

const NAME: &str = "h264";
/// How much is read at a time.
const CHUNK: usize = 64 * 1024;
/// The frame rate of a stream opened without one.
pub const DEFAULT_FRAMERATE: f64 = 30.0;

/// The raw H.264 entry of [`super::FORMATS`]: a stream starting with a
/// 4-byte start code and an SPS or an access unit delimiter, or by extension.
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["h264", "264"],
    sniff: |b| b.len() >= 5 && b[0..4] == [0, 0, 0, 1] && matches!(b[4], 0x09 | 0x27 | 0x47 | 0x67),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(H264Demuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(H264Muxer { output: w, added: false }))
}

/// Reads access units from an Annex B stream.
pub struct H264Demuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    /// Bytes read and not yet taken as NAL units.
    buf: Vec<u8>,
    /// The stream offset of `buf[0]`.
    offset: u64,
    /// Where in `buf` to look for the next start code.
    scan: usize,
    eof: bool,
    /// The access unit being gathered: its NAL units, whether it has a slice, an IDR.
    unit: Vec<Vec<u8>>,
    unit_len: usize,
    has_slice: bool,
    has_idr: bool,
    frames: i64,
    /// 1/90000 s per frame.
    step: f64,
}

impl<R: Read + Seek + Send> H264Demuxer<R> {
    /// A demuxer at [`DEFAULT_FRAMERATE`].
    pub fn new(input: R) -> Result<Self> {
        Self::with_framerate(input, DEFAULT_FRAMERATE)
    }

    /// A demuxer numbering frames at `fps` (30 when not a positive number up
    /// to 1000). The picture size is taken from an SPS in the first 64 KiB.
    pub fn with_framerate(input: R, fps: f64) -> Result<Self> {
        let fps = if fps > 0.0 && fps <= 1000.0 { fps } else { DEFAULT_FRAMERATE };
        let info = TrackInfo {
            index: 0,
            kind: MediaKind::Video,
            codec: Some(Codec::H264),
            time_base: TimeBase::VIDEO,
            size: None,
            framerate: Some(fps),
            audio: None,
            duration: None,
        };
        let mut d = H264Demuxer {
            input,
            tracks: vec![info],
            buf: Vec::new(),
            offset: 0,
            scan: 0,
            eof: false,
            unit: Vec::new(),
            unit_len: 0,
            has_slice: false,
            has_idr: false,
            frames: 0,
            step: 90_000.0 / fps,
        };
        d.fill()?;
        d.tracks[0].size = annexb_nals(&d.buf).find_map(h264_sps_size);
        Ok(d)
    }

    /// Reads another chunk; false at the end of the input.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let at = self.buf.len();
        self.buf.resize(at + CHUNK, 0);
        let n = read_full(&mut self.input, &mut self.buf[at..])?;
        self.buf.truncate(at + n);
        self.eof = n < CHUNK;
        Ok(n > 0)
    }

    /// The position of the next `00 00 01` in `buf` at or after `from`.
    fn find_start(&self, from: usize) -> Option<usize> {
        self.buf.get(from..)?.windows(3).position(|w| w == [0, 0, 1]).map(|p| p + from)
    }

    /// The next NAL unit (without start code or trailing zeros); `None` at the end.
    fn next_nal(&mut self) -> Result<Option<Vec<u8>>> {
        // The first start code.
        let begin = loop {
            if let Some(p) = self.find_start(0) {
                break p + 3;
            }
            // Nothing but leading bytes so far: keep the last two (a start code may span reads).
            let keep = self.buf.len().min(2);
            self.offset += (self.buf.len() - keep) as u64;
            self.buf.drain(..self.buf.len() - keep);
            if !self.fill()? {
                return Ok(None);
            }
        };
        self.scan = self.scan.max(begin);
        let end = loop {
            if let Some(p) = self.find_start(self.scan) {
                break p;
            }
            self.scan = self.buf.len().saturating_sub(2).max(begin);
            if self.buf.len() - begin > MAX_FRAME {
                return Err(malformed(
                    NAME,
                    format!("NAL unit at offset {} is over {MAX_FRAME} bytes", self.offset + begin as u64),
                ));
            }
            if !self.fill()? {
                break self.buf.len();
            }
        };
        let mut stop = end;
        while stop > begin && self.buf[stop - 1] == 0 {
            stop -= 1;
        }
        let nal = self.buf[begin..stop].to_vec();
        self.offset += end as u64;
        self.buf.drain(..end);
        self.scan = 0;
        Ok(Some(nal))
    }

    fn take_unit(&mut self) -> Option<EncodedFrame> {
        if self.unit.is_empty() {
            return None;
        }
        let mut data = Vec::with_capacity(self.unit_len + 4 * self.unit.len());
        for nal in self.unit.drain(..) {
            data.extend_from_slice(&[0, 0, 0, 1]);
            data.extend_from_slice(&nal);
        }
        let frame = EncodedFrame {
            codec: Codec::H264,
            data: Bytes::from(data),
            pts: (self.frames as f64 * self.step).round() as i64,
            time_base: TimeBase::VIDEO,
            duration: Some(self.step.round() as i64),
            keyframe: self.has_idr,
        };
        self.frames += 1;
        self.unit_len = 0;
        self.has_slice = false;
        self.has_idr = false;
        Some(frame)
    }
}

impl<R: Read + Seek + Send> Demuxer for H264Demuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        loop {
            let at = self.offset;
            let Some(nal) = self.next_nal()? else {
                return Ok(self.take_unit().map(|f| (0, Frame::Encoded(f))));
            };
            let Some(&header) = nal.first() else { continue };
            if header & 0x80 != 0 {
                return Err(malformed(NAME, format!("NAL unit near offset {at} has its forbidden bit set")));
            }
            let kind = header & 0x1F;
            let slice = matches!(kind, 1 | 5);
            let starts_unit = match kind {
                9 => true,
                1 | 5 => self.has_slice && Bits::new(&nal[1..]).ue() == Some(0),
                6..=8 | 13..=18 => self.has_slice,
                _ => false,
            };
            let done = if starts_unit { self.take_unit() } else { None };
            if self.unit_len + nal.len() > MAX_FRAME {
                return Err(malformed(NAME, format!("access unit near offset {at} is over {MAX_FRAME} bytes")));
            }
            self.unit_len += nal.len();
            self.has_slice |= slice;
            self.has_idr |= kind == 5;
            self.unit.push(nal);
            if let Some(f) = done {
                return Ok(Some((0, Frame::Encoded(f))));
            }
        }
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(0))?;
        self.buf.clear();
        self.offset = 0;
        self.scan = 0;
        self.eof = false;
        self.unit.clear();
        self.unit_len = 0;
        self.has_slice = false;
        self.has_idr = false;
        self.frames = 0;
        Ok(())
    }
}

/// Writes H.264 access units (Annex B) one after another.
pub struct H264Muxer<W: Write> {
    output: W,
    added: bool,
}

impl<W: Write + Send> H264Muxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        H264Muxer { output, added: false }
    }
}

impl<W: Write + Send> Muxer for H264Muxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.added || spec.codec != Some(Codec::H264) {
            return Err(MediaError::Unsupported(format!(
                "a raw H.264 file holds one H.264 track (asked for {:?} {:?})",
                spec.kind, spec.codec
            )));
        }
        self.added = true;
        Ok(0)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        if index != 0 || !self.added {
            return Err(MediaError::InvalidConfig(format!("no track {index}")));
        }
        let Frame::Encoded(e) = frame else {
            return Err(MediaError::BadFrame("a raw H.264 file takes encoded frames".into()));
        };
        if e.codec != Codec::H264 || !(e.data.starts_with(&[0, 0, 1]) || e.data.starts_with(&[0, 0, 0, 1])) {
            return Err(MediaError::BadFrame(format!("a {:?} frame that does not start with a start code", e.codec)));
        }
        self.output.write_all(&e.data)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.output.flush()?;
        Ok(())
    }
}
