//! WAV (RIFF WAVE): raw PCM audio.
//!
//! Reads 8-bit unsigned, 16-bit, 24-bit and 32-bit integer and 32-bit float
//! PCM (plain or `WAVE_FORMAT_EXTENSIBLE`), 1 to 8 channels, as
//! [`Frame::Audio`] of 20 ms (8-bit becomes s16; 24/32-bit integer and
//! float become f32). Writes 16-bit PCM: float frames are converted. A data
//! chunk whose size is 0 or `0xFFFFFFFF` (a file still being written) is read
//! to the end of the file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::{malformed, read_exact_at, read_full, Demuxer, Format, Muxer, TrackInfo, TrackSpec};
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Frame, MediaKind, Samples, TimeBase};

const NAME: &str = "wav";

/// The WAV entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["wav"],
    sniff: |b| b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WAVE",
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(WavDemuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(WavMuxer::new(w)))
}

/// How the samples of a WAV file are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SampleFormat {
    U8,
    S16,
    S24,
    S32,
    F32,
}

impl SampleFormat {
    fn bytes(self) -> usize {
        match self {
            SampleFormat::U8 => 1,
            SampleFormat::S16 => 2,
            SampleFormat::S24 => 3,
            SampleFormat::S32 | SampleFormat::F32 => 4,
        }
    }
}

/// Reads a WAV file from any seekable input.
pub struct WavDemuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    format: SampleFormat,
    channels: u16,
    rate: u32,
    data_start: u64,
    /// Bytes of the data chunk (`None`: to the end of the input).
    data_len: Option<u64>,
    /// Bytes of the data chunk read so far.
    read: u64,
    ended: bool,
}

impl<R: Read + Seek + Send> WavDemuxer<R> {
    /// Reads the header up to the data chunk.
    pub fn new(mut input: R) -> Result<Self> {
        let mut riff = [0u8; 12];
        read_exact_at(&mut input, &mut riff, NAME, "the RIFF header", 0)?;
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(malformed(NAME, "no RIFF WAVE header at offset 0"));
        }
        let mut at = 12u64;
        let mut fmt: Option<(SampleFormat, u16, u32)> = None;
        loop {
            let mut head = [0u8; 8];
            read_exact_at(&mut input, &mut head, NAME, "a chunk header (no data chunk before it)", at)?;
            let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            let body = at + 8;
            if &head[0..4] == b"fmt " {
                if !(16..=1024).contains(&size) {
                    return Err(malformed(NAME, format!("fmt chunk at offset {at} has size {size} (16 to 1024)")));
                }
                let mut f = vec![0u8; size as usize];
                read_exact_at(&mut input, &mut f, NAME, "the fmt chunk", body)?;
                fmt = Some(parse_fmt(&f, at)?);
                if size % 2 == 1 {
                    input.seek(SeekFrom::Current(1))?;
                }
            } else if &head[0..4] == b"data" {
                let Some((format, channels, rate)) = fmt else {
                    return Err(malformed(NAME, format!("data chunk at offset {at} comes before any fmt chunk")));
                };
                let data_len = (size != 0 && size != u32::MAX).then_some(u64::from(size));
                let block = (format.bytes() * usize::from(channels)) as u64;
                let duration = data_len.map(|l| (l / block) as i64);
                let info = TrackInfo {
                    index: 0,
                    kind: MediaKind::Audio,
                    codec: None,
                    time_base: TimeBase::hz(rate),
                    size: None,
                    framerate: None,
                    audio: Some((rate, channels)),
                    duration,
                };
                return Ok(WavDemuxer {
                    input,
                    tracks: vec![info],
                    format,
                    channels,
                    rate,
                    data_start: body,
                    data_len,
                    read: 0,
                    ended: false,
                });
            } else {
                // Another chunk (LIST, fact, ...): skipped, padded to an even size.
                let skip = u64::from(size) + u64::from(size % 2);
                input.seek(SeekFrom::Start(body + skip))?;
            }
            at = body + u64::from(size) + u64::from(size % 2);
        }
    }
}

/// Sample format, channels and rate from a fmt chunk at `at`.
fn parse_fmt(f: &[u8], at: u64) -> Result<(SampleFormat, u16, u32)> {
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let rate = u32::from_le_bytes([f[4], f[5], f[6], f[7]]);
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag.
        if f.len() < 40 {
            return Err(malformed(NAME, format!("extensible fmt chunk at offset {at} is {} bytes, not 40", f.len())));
        }
        tag = u16_at(24);
    }
    let format = match (tag, bits) {
        (1, 8) => SampleFormat::U8,
        (1, 16) => SampleFormat::S16,
        (1, 24) => SampleFormat::S24,
        (1, 32) => SampleFormat::S32,
        (3, 32) => SampleFormat::F32,
        _ => {
            return Err(MediaError::Unsupported(format!(
                "WAV sample format tag {tag} with {bits} bits (fmt chunk at offset {at}): \
                 8/16/24/32-bit PCM and 32-bit float are read"
            )))
        }
    };
    if !(1..=8).contains(&channels) || !(1..=384_000).contains(&rate) {
        return Err(malformed(NAME, format!("fmt chunk at offset {at}: {channels} channels at {rate} Hz")));
    }
    if usize::from(block_align) != format.bytes() * usize::from(channels) {
        return Err(malformed(
            NAME,
            format!("fmt chunk at offset {at}: block align {block_align} for {channels} channels of {bits} bits"),
        ));
    }
    Ok((format, channels, rate))
}

impl<R: Read + Seek + Send> Demuxer for WavDemuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        if self.ended {
            return Ok(None);
        }
        let block = self.format.bytes() * usize::from(self.channels);
        let per_frame = (self.rate as usize / 50).max(1);
        let mut want = per_frame * block;
        if let Some(len) = self.data_len {
            want = want.min((len - self.read) as usize);
        }
        let mut buf = vec![0u8; want];
        let n = read_full(&mut self.input, &mut buf)?;
        let whole = n - n % block;
        if n < want {
            // The end of the input (a data chunk cut short is played as far
            // as it goes, a partial sample frame dropped).
            self.ended = true;
        }
        if whole == 0 {
            self.ended = true;
            return Ok(None);
        }
        let pts = (self.read / block as u64) as i64;
        self.read += whole as u64;
        if self.data_len == Some(self.read) {
            self.ended = true;
        }
        let bytes = &buf[..whole];
        let samples = match self.format {
            SampleFormat::U8 => Samples::S16(bytes.iter().map(|&b| (i16::from(b) - 128) << 8).collect()),
            SampleFormat::S16 => {
                Samples::S16(bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect())
            }
            SampleFormat::S24 => Samples::F32(
                bytes
                    .chunks_exact(3)
                    .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
                    .collect(),
            ),
            SampleFormat::S32 => Samples::F32(
                bytes
                    .chunks_exact(4)
                    .map(|c| (f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) / 2_147_483_648.0) as f32)
                    .collect(),
            ),
            SampleFormat::F32 => {
                Samples::F32(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
        };
        let frame = AudioFrame::new(samples, self.rate, self.channels, pts, TimeBase::hz(self.rate))?;
        Ok(Some((0, Frame::Audio(frame))))
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(self.data_start))?;
        self.read = 0;
        self.ended = false;
        Ok(())
    }
}

/// The longest silence written to fill a gap between frames.
const MAX_GAP_SECONDS: u64 = 3600;

/// Writes one track of 16-bit PCM; the RIFF and data sizes are written on
/// [`Muxer::finish`]. A gap between frames' timestamps is filled with
/// silence (up to an hour); overlapping frames are appended as they are.
pub struct WavMuxer<W: Write + Seek> {
    output: W,
    /// Rate and channels, once the track is added.
    audio: Option<(u32, u16)>,
    /// Sample frames written.
    written: u64,
    finished: bool,
}

impl<W: Write + Seek + Send> WavMuxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        WavMuxer { output, audio: None, written: 0, finished: false }
    }

    fn data_bytes(&self) -> u64 {
        self.written * 2 * u64::from(self.audio.map_or(1, |a| a.1))
    }
}

impl<W: Write + Seek + Send> Muxer for WavMuxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.audio.is_some() {
            return Err(MediaError::Unsupported("a WAV file holds one track".into()));
        }
        if spec.kind != MediaKind::Audio || spec.codec.is_some() {
            return Err(MediaError::Unsupported(format!(
                "a WAV file holds raw audio, not {:?} {:?}",
                spec.kind, spec.codec
            )));
        }
        let Some((rate, channels)) = spec.audio else {
            return Err(MediaError::InvalidConfig("a WAV track needs its sample rate and channels".into()));
        };
        if !(1..=8).contains(&channels) || !(1..=384_000).contains(&rate) {
            return Err(MediaError::InvalidConfig(format!("{channels} channels at {rate} Hz")));
        }
        let block = 2 * channels;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&36u32.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        h.extend_from_slice(&block.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&0u32.to_le_bytes());
        self.output.write_all(&h)?;
        self.audio = Some((rate, channels));
        Ok(0)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        let Some((rate, channels)) = self.audio else {
            return Err(MediaError::InvalidConfig("add the track before writing".into()));
        };
        if index != 0 || self.finished {
            return Err(MediaError::InvalidConfig(format!("no track {index} (or the file is finished)")));
        }
        let Frame::Audio(a) = frame else {
            return Err(MediaError::BadFrame("a WAV file takes raw audio frames".into()));
        };
        if (a.sample_rate(), a.channels()) != (rate, channels) {
            return Err(MediaError::BadFrame(format!(
                "{} Hz {} channels in a {rate} Hz {channels} channel file",
                a.sample_rate(),
                a.channels()
            )));
        }
        let start = a.time_base.rescale(a.pts, TimeBase::hz(rate)).max(0) as u64;
        if start > self.written {
            let gap = start - self.written;
            if gap > MAX_GAP_SECONDS * u64::from(rate) {
                return Err(MediaError::BadFrame(format!("a gap of {gap} samples (over an hour) before this frame")));
            }
            let zeros = vec![0u8; 4096 * 2 * usize::from(channels)];
            let mut left = gap;
            while left > 0 {
                let n = left.min(4096);
                self.output.write_all(&zeros[..n as usize * 2 * usize::from(channels)])?;
                left -= n;
            }
            self.written = start;
        }
        let pcm = a.to_i16();
        if self.data_bytes() + pcm.len() as u64 * 2 > u64::from(u32::MAX - 36) {
            return Err(MediaError::Unsupported("a WAV file cannot grow past 4 GiB".into()));
        }
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.output.write_all(&bytes)?;
        self.written += a.samples_per_channel() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if self.audio.is_none() {
            return Err(MediaError::InvalidConfig("a WAV file needs its track before it can be finished".into()));
        }
        let data = self.data_bytes() as u32;
        self.output.seek(SeekFrom::Start(4))?;
        self.output.write_all(&(36 + data).to_le_bytes())?;
        self.output.seek(SeekFrom::Start(40))?;
        self.output.write_all(&data.to_le_bytes())?;
        self.output.seek(SeekFrom::End(0))?;
        self.output.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn write(frames: &[AudioFrame]) -> Vec<u8> {
        let mut m = WavMuxer::new(Cursor::new(Vec::new()));
        let f = &frames[0];
        m.add_track(TrackSpec {
            kind: MediaKind::Audio,
            codec: None,
            size: None,
            audio: Some((f.sample_rate(), f.channels())),
        })
        .unwrap();
        for f in frames {
            m.write(0, &Frame::Audio(f.clone())).unwrap();
        }
        m.finish().unwrap();
        m.output.into_inner()
    }

    #[test]
    fn round_trip_keeps_samples_and_fills_gaps() {
        let a = AudioFrame::from_i16(vec![1, -1, 2, -2], 8000, 2, 0).unwrap();
        let b = AudioFrame::from_f32(vec![0.5, -0.5], 8000, 2, 4).unwrap(); // 2 frames of gap
        let file = write(&[a, b]);
        assert_eq!(file.len(), 44 + 5 * 4);
        assert_eq!(u32::from_le_bytes(file[4..8].try_into().unwrap()), 36 + 20);
        let mut d = WavDemuxer::new(Cursor::new(file)).unwrap();
        assert_eq!(d.tracks()[0].duration, Some(5));
        let Some((0, Frame::Audio(f))) = d.read().unwrap() else { panic!() };
        assert_eq!(&*f.to_i16(), &[1, -1, 2, -2, 0, 0, 0, 0, 16384, -16384]);
        assert!(d.read().unwrap().is_none());
        d.rewind().unwrap();
        assert!(d.read().unwrap().is_some());
    }

    #[test]
    fn bad_headers_say_where() {
        let e = WavDemuxer::new(Cursor::new(b"RIFF\0\0\0\0WAVEdata\0\0\0\0".to_vec())).err().unwrap();
        assert!(e.to_string().contains("before any fmt chunk"), "{e}");
        let e = WavDemuxer::new(Cursor::new(b"RIFF\0\0\0\0WAVEfmt ".to_vec())).err().unwrap();
        assert!(e.to_string().contains("offset 12"), "{e}");
    }
}
