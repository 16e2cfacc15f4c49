//! YUV4MPEG2 (`.y4m`): raw 8-bit 4:2:0 video.
//!
//! Reads the 4:2:0 colour spaces (`C420jpeg`, `C420mpeg2`, `C420paldv`,
//! `C420`, and no `C` at all, which means 4:2:0) as I420 [`Frame::Video`];
//! other chroma layouts (4:4:4, 4:2:2, mono, high bit depth) are refused
//! with an error saying so. Timestamps count frames at the header's `F`
//! rate (time base `den/num` of it).
//!
//! Writes I420 as `C420jpeg`. A Y4M file has one frame rate and no
//! timestamps: the muxer takes the rate from the first two frames'
//! timestamps (30 fps when there is one frame), and a gap in timestamps
//! repeats the previous frame to keep the timing.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::{malformed, read_full, read_vec_at, Demuxer, Format, Muxer, TrackInfo, TrackSpec};
use crate::error::{MediaError, Result};
use crate::frame::{Frame, MediaKind, PixelFormat, TimeBase, VideoFrame};

const NAME: &str = "y4m";
const MAGIC: &[u8] = b"YUV4MPEG2 ";
/// The longest header or frame header line read.
const MAX_LINE: usize = 1024;

/// The Y4M entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["y4m"],
    sniff: |b| b.starts_with(MAGIC),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(Y4mDemuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(Y4mMuxer::new(w)))
}

/// Reads a line (without its `\n`) of at most [`MAX_LINE`] bytes; `None` at
/// the end of the input before any byte.
fn read_line(r: &mut impl Read, what: &str, at: u64) -> Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if read_full(r, &mut byte)? == 0 {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(malformed(NAME, format!("{what} at offset {at} ends without a newline")));
        }
        if byte[0] == b'\n' {
            return Ok(Some(line));
        }
        if line.len() == MAX_LINE {
            return Err(malformed(NAME, format!("{what} at offset {at} is longer than {MAX_LINE} bytes")));
        }
        line.push(byte[0]);
    }
}

/// Reads a Y4M file from any seekable input.
pub struct Y4mDemuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    width: u32,
    height: u32,
    data_start: u64,
    /// Where the next frame header is.
    at: u64,
    frame: i64,
}

impl<R: Read + Seek + Send> Y4mDemuxer<R> {
    /// Reads the stream header.
    pub fn new(mut input: R) -> Result<Self> {
        let line = read_line(&mut input, "the stream header", 0)?.unwrap_or_default();
        let Some(params) = line.strip_prefix(MAGIC) else {
            return Err(malformed(NAME, "no YUV4MPEG2 signature at offset 0"));
        };
        let params =
            std::str::from_utf8(params).map_err(|_| malformed(NAME, "the stream header at offset 0 is not text"))?;
        let (mut width, mut height, mut rate) = (0u32, 0u32, (30u32, 1u32));
        for p in params.split(' ').filter(|p| !p.is_empty()) {
            let (tag, value) = p.split_at(1);
            let bad = || malformed(NAME, format!("stream header parameter {p:?} at offset 0"));
            match tag {
                "W" => width = value.parse().map_err(|_| bad())?,
                "H" => height = value.parse().map_err(|_| bad())?,
                "F" => {
                    let (n, d) = value.split_once(':').ok_or_else(bad)?;
                    rate = (n.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
                    if rate.0 == 0 || rate.1 == 0 {
                        return Err(bad());
                    }
                }
                "C" if !matches!(value, "420jpeg" | "420mpeg2" | "420paldv" | "420") => {
                    return Err(MediaError::Unsupported(format!("Y4M colour space {value}: only 8-bit 4:2:0 is read")));
                }
                _ => {} // interlacing, aspect, comments, C420*: nothing to do
            }
        }
        if !(1..=16_384).contains(&width) || !(1..=16_384).contains(&height) {
            return Err(malformed(NAME, format!("frame size {width}x{height} in the stream header (1 to 16384)")));
        }
        let data_start = line.len() as u64 + 1;
        let info = TrackInfo {
            index: 0,
            kind: MediaKind::Video,
            codec: None,
            time_base: TimeBase { num: rate.1, den: rate.0 },
            size: Some((width, height)),
            framerate: Some(f64::from(rate.0) / f64::from(rate.1)),
            audio: None,
            duration: None,
        };
        Ok(Y4mDemuxer { input, tracks: vec![info], width, height, data_start, at: data_start, frame: 0 })
    }
}

impl<R: Read + Seek + Send> Demuxer for Y4mDemuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        let Some(line) = read_line(&mut self.input, "a frame header", self.at)? else { return Ok(None) };
        if !line.starts_with(b"FRAME") {
            return Err(malformed(NAME, format!("no FRAME header at offset {}", self.at)));
        }
        let body = self.at + line.len() as u64 + 1;
        let len = VideoFrame::packed_len(PixelFormat::I420, self.width, self.height);
        let data = read_vec_at(&mut self.input, len as u64, NAME, "a frame", body)?;
        self.at = body + len as u64;
        let tb = self.tracks[0].time_base;
        let f = VideoFrame::from_packed(PixelFormat::I420, self.width, self.height, Bytes::from(data), self.frame, tb)?;
        self.frame += 1;
        Ok(Some((0, Frame::Video(f))))
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(self.data_start))?;
        self.at = self.data_start;
        self.frame = 0;
        Ok(())
    }
}

/// The most frames written to fill one gap (10 minutes at 60 fps).
const MAX_REPEATS: u64 = 36_000;

/// Writes I420 frames to a Y4M file (see the module doc for the frame rate).
pub struct Y4mMuxer<W: Write> {
    output: W,
    size: Option<(u32, u32)>,
    added: bool,
    /// The first frame, held until the second gives the rate.
    first: Option<VideoFrame>,
    /// Frames per second as `num/den`, once known.
    rate: Option<(u32, u32)>,
    /// The first frame's time (frame 0).
    origin: std::time::Duration,
    /// Frames written (the next frame's slot).
    written: u64,
    last: Option<Bytes>,
}

impl<W: Write + Send> Y4mMuxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        Y4mMuxer {
            output,
            size: None,
            added: false,
            first: None,
            rate: None,
            origin: Default::default(),
            written: 0,
            last: None,
        }
    }

    fn start(&mut self, rate: (u32, u32)) -> Result<()> {
        let (w, h) = self.size.expect("set by the first frame");
        writeln!(self.output, "YUV4MPEG2 W{w} H{h} F{}:{} Ip A1:1 C420jpeg", rate.0, rate.1)?;
        self.rate = Some(rate);
        Ok(())
    }

    fn put(&mut self, f: &VideoFrame) -> Result<()> {
        let (num, den) = self.rate.expect("started");
        let since = f.time().saturating_sub(self.origin).as_secs_f64();
        let slot = (since * f64::from(num) / f64::from(den)).round() as u64;
        let packed = f.to_packed();
        if slot > self.written {
            let repeats = slot - self.written;
            if repeats > MAX_REPEATS {
                return Err(MediaError::BadFrame(format!("a gap of {repeats} frames before this frame")));
            }
            if let Some(last) = self.last.clone() {
                for _ in 0..repeats {
                    self.output.write_all(b"FRAME\n")?;
                    self.output.write_all(&last)?;
                }
                self.written += repeats;
            }
        }
        self.output.write_all(b"FRAME\n")?;
        self.output.write_all(&packed)?;
        self.written += 1;
        self.last = Some(packed);
        Ok(())
    }
}

/// The frame rate `num/den` that a frame interval of `secs` comes from:
/// whole rates when close, NTSC rates, else thousandths.
fn rate_of(secs: f64) -> (u32, u32) {
    if !(secs > 0.0 && secs.is_finite()) {
        return (30, 1);
    }
    let fps = (1.0 / secs).clamp(0.001, 1000.0);
    for (n, d) in [(24_000, 1001), (30_000, 1001), (60_000, 1001)] {
        if (fps - f64::from(n) / f64::from(d)).abs() < 0.005 {
            return (n, d);
        }
    }
    if (fps - fps.round()).abs() < 0.01 {
        return (fps.round() as u32, 1);
    }
    ((fps * 1000.0).round() as u32, 1000)
}

impl<W: Write + Send> Muxer for Y4mMuxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.added {
            return Err(MediaError::Unsupported("a Y4M file holds one track".into()));
        }
        if spec.kind != MediaKind::Video || spec.codec.is_some() {
            return Err(MediaError::Unsupported(format!(
                "a Y4M file holds raw video, not {:?} {:?}",
                spec.kind, spec.codec
            )));
        }
        self.added = true;
        self.size = spec.size;
        Ok(0)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        if index != 0 || !self.added {
            return Err(MediaError::InvalidConfig(format!("no track {index}")));
        }
        let Frame::Video(f) = frame else {
            return Err(MediaError::BadFrame("a Y4M file takes raw video frames".into()));
        };
        if f.format() != PixelFormat::I420 {
            return Err(MediaError::BadFrame(format!("{:?} frame: a Y4M file takes I420", f.format())));
        }
        let size = *self.size.get_or_insert((f.width(), f.height()));
        if (f.width(), f.height()) != size {
            return Err(MediaError::BadFrame(format!(
                "a {}x{} frame in a {}x{} file",
                f.width(),
                f.height(),
                size.0,
                size.1
            )));
        }
        if self.rate.is_some() {
            return self.put(f);
        }
        match self.first.take() {
            None => {
                self.origin = f.time();
                self.first = Some(f.clone());
                Ok(())
            }
            Some(first) => {
                self.start(rate_of(f.time().saturating_sub(first.time()).as_secs_f64()))?;
                self.put(&first)?;
                self.put(f)
            }
        }
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(first) = self.first.take() {
            self.start((30, 1))?;
            self.put(&first)?;
        }
        self.output.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::synthetic::TestPattern;

    #[test]
    fn round_trip_takes_the_rate_from_timestamps_and_keeps_gaps() {
        let pattern = TestPattern::new(64, 32, 25);
        let mut m = Y4mMuxer::new(Vec::new());
        m.add_track(TrackSpec { kind: MediaKind::Video, codec: None, size: None, audio: None }).unwrap();
        for n in [0, 1, 2, 4] {
            let mut f = pattern.frame_at(n);
            f.pts = n as i64 * 3600; // 25 fps in 1/90000
            m.write(0, &Frame::Video(f)).unwrap();
        }
        m.finish().unwrap();
        let mut d = Y4mDemuxer::new(Cursor::new(m.output)).unwrap();
        assert_eq!(d.tracks()[0].framerate, Some(25.0));
        let mut n = 0;
        while let Some((_, Frame::Video(f))) = d.read().unwrap() {
            assert_eq!(f.pts, n);
            let expect = if n == 3 { 2 } else { n as u64 }; // the gap repeats frame 2
            assert_eq!(f.to_packed(), pattern.frame_at(expect).to_packed());
            n += 1;
        }
        assert_eq!(n, 5);
    }

    #[test]
    fn rates_are_recognised() {
        assert_eq!(rate_of(1.0 / 30.0), (30, 1));
        assert_eq!(rate_of(1001.0 / 30_000.0), (30_000, 1001));
        assert_eq!(rate_of(0.4), (2500, 1000));
    }

    #[test]
    fn other_chroma_and_bad_headers_are_refused() {
        let e = Y4mDemuxer::new(Cursor::new(b"YUV4MPEG2 W2 H2 C444\n".to_vec())).err().unwrap();
        assert!(e.to_string().contains("4:2:0"), "{e}");
        let e = Y4mDemuxer::new(Cursor::new(b"YUV4MPEG2 W2 H2 C420p10\n".to_vec())).err().unwrap();
        assert!(e.to_string().contains("4:2:0"), "{e}");
        let e = Y4mDemuxer::new(Cursor::new(b"YUV4MPEG2 W0 H2\n".to_vec())).err().unwrap();
        assert!(e.to_string().contains("0x2"), "{e}");
        let mut d = Y4mDemuxer::new(Cursor::new(b"YUV4MPEG2 W2 H2\nFRAME\n\x01\x02".to_vec())).unwrap();
        let e = d.read().unwrap_err();
        assert!(e.to_string().contains("offset 22 is truncated"), "{e}");
    }
}
