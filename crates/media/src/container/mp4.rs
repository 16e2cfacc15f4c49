//! MP4 (ISO BMFF, `.mp4`/`.m4v`): H.264 and Opus tracks.
//!
//! The demuxer reads the `moov` box (before or after `mdat`), lists the
//! H.264 (`avc1`/`avc3` with `avcC`) and Opus (`Opus` with `dOps`) tracks
//! and gives their samples in file order: H.264 as Annex B with the
//! parameter sets before each keyframe (`stss`; every sample without it),
//! presentation times from `stts` plus `ctts`; Opus with the pre-skip
//! subtracted, as from Ogg. Edit lists are not applied. Fragmented files
//! (`moof`) are not read.
//!
//! The muxer writes `ftyp`, one `mdat` and the `moov` at the end on
//! [`Muxer::finish`] (`stts`, `stss`, `stsz`, `stsc`, `stco` or `co64`; no
//! `ctts`, so H.264 must come without B-frames, in presentation order).
//! The `avcC` is made from the SPS and PPS of the first keyframe, which are
//! then left out of the samples, as are access unit delimiters. Opus gets a
//! `dOps` with a 312-sample pre-skip and an edit list that skips it.
//! Times start at the first frame of each track; a later start is kept by
//! an empty edit.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::probe::{annexb_nals, h264_sps_size, opus_packet_samples, AvcConfig};
use super::{malformed, read_exact_at, read_vec_at, Demuxer, Format, Muxer, TrackInfo, TrackSpec, MAX_FRAME};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, Frame, MediaKind, TimeBase};

const NAME: &str = "mp4";
/// The most samples a file may list (all tracks together).
const MAX_SAMPLES: usize = 4_000_000;

/// The MP4 entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["mp4", "m4v", "m4a", "mov"],
    sniff: |b| b.len() >= 8 && matches!(&b[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide"),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(Mp4Demuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(Mp4Muxer::new(w)?))
}

/// The boxes in `data` (the body of a box at `base`): (type, body).
fn boxes(data: &[u8], base: u64) -> Result<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let bad = || malformed(NAME, format!("box at offset {} overruns its parent", base + at as u64));
        let head = data.get(at..at + 8).ok_or_else(bad)?;
        let kind: [u8; 4] = head[4..8].try_into().expect("4 bytes");
        let (start, size) = match u32::from_be_bytes(head[0..4].try_into().expect("4")) {
            0 => (at + 8, data.len() - at),
            1 => {
                let large = data.get(at + 8..at + 16).ok_or_else(bad)?;
                (at + 16, usize::try_from(u64::from_be_bytes(large.try_into().expect("8"))).unwrap_or(usize::MAX))
            }
            n => (at + 8, n as usize),
        };
        let end = at.checked_add(size).filter(|&e| e <= data.len() && e >= start).ok_or_else(bad)?;
        out.push((kind, &data[start..end]));
        at = end;
    }
    Ok(out)
}

fn child<'a>(data: &'a [u8], base: u64, kind: &[u8; 4]) -> Result<Option<&'a [u8]>> {
    Ok(boxes(data, base)?.into_iter().find(|(k, _)| k == kind).map(|(_, b)| b))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
}

/// Where one sample is, when it is shown and whether it is a keyframe.
#[derive(Debug, Clone, Copy)]
struct Sample {
    track: usize,
    offset: u64,
    size: u32,
    pts: i64,
    duration: i64,
    key: bool,
}

enum Kind {
    H264(AvcConfig),
    Opus { pre_skip: i64 },
}

/// Reads an MP4 file from any seekable input.
pub struct Mp4Demuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    kinds: Vec<Kind>,
    samples: Vec<Sample>,
    next: usize,
}

impl<R: Read + Seek + Send> Mp4Demuxer<R> {
    /// Finds and reads the `moov` box.
    pub fn new(mut input: R) -> Result<Self> {
        let end = input.seek(SeekFrom::End(0))?;
        let mut at = 0u64;
        let moov = loop {
            if at + 8 > end {
                return Err(malformed(NAME, format!("no moov box in the file (it ends at offset {end})")));
            }
            input.seek(SeekFrom::Start(at))?;
            let mut h = [0u8; 16];
            read_exact_at(&mut input, &mut h[..8], NAME, "a box header", at)?;
            let (head, size) = match u32::from_be_bytes(h[0..4].try_into().expect("4")) {
                0 => (8, end - at),
                1 => {
                    read_exact_at(&mut input, &mut h[8..16], NAME, "a box's 64-bit size", at + 8)?;
                    (16, u64::from_be_bytes(h[8..16].try_into().expect("8")))
                }
                n => (8, u64::from(n)),
            };
            if size < head {
                return Err(malformed(NAME, format!("box at offset {at} has size {size}")));
            }
            match &h[4..8] {
                b"moov" => break read_vec_at(&mut input, size - head, NAME, "the moov box", at + head)?,
                b"moof" => return Err(MediaError::Unsupported("fragmented MP4 (moof) is not read".into())),
                _ => at += size,
            }
        };
        let base = at + 8;
        let mut tracks = Vec::new();
        let mut kinds = Vec::new();
        let mut samples = Vec::new();
        for (kind, trak) in boxes(&moov, base)? {
            if &kind != b"trak" {
                continue;
            }
            let Some((info, k, mut list)) = Self::track(trak, base, tracks.len(), end)? else { continue };
            if samples.len() + list.len() > MAX_SAMPLES {
                return Err(malformed(NAME, format!("more than {MAX_SAMPLES} samples")));
            }
            samples.append(&mut list);
            tracks.push(info);
            kinds.push(k);
        }
        samples.sort_by_key(|s| (s.offset, s.track));
        Ok(Mp4Demuxer { input, tracks, kinds, samples, next: 0 })
    }

    /// A track of a known codec: its info, codec data and samples.
    /// A file of `file_len` bytes cannot hold more samples than it has bytes
    /// (of a non-zero fixed size), so a sample count cannot make memory grow
    /// beyond the file's size.
    fn track(trak: &[u8], base: u64, index: usize, file_len: u64) -> Result<Option<(TrackInfo, Kind, Vec<Sample>)>> {
        let bad = |what: &str| malformed(NAME, format!("track {index}: {what}"));
        let mdia = child(trak, base, b"mdia")?.ok_or_else(|| bad("no mdia box"))?;
        let mdhd = child(mdia, base, b"mdhd")?.ok_or_else(|| bad("no mdhd box"))?;
        let (timescale, duration) = if mdhd.first() == Some(&1) {
            (be32(mdhd, 20), be64(mdhd, 24))
        } else {
            (be32(mdhd, 12), be32(mdhd, 16).map(u64::from))
        };
        let timescale = timescale.filter(|&t| t > 0).ok_or_else(|| bad("mdhd without a timescale"))?;
        let minf = child(mdia, base, b"minf")?.ok_or_else(|| bad("no minf box"))?;
        let stbl = child(minf, base, b"stbl")?.ok_or_else(|| bad("no stbl box"))?;
        let table = |k: &[u8; 4]| child(stbl, base, k);
        let stsd = table(b"stsd")?.ok_or_else(|| bad("no stsd box"))?;
        let entry = boxes(stsd.get(8..).ok_or_else(|| bad("short stsd"))?, base)?;
        let Some((format, body)) = entry.first().copied() else { return Ok(None) };
        let (kind, size, audio) = match &format {
            b"avc1" | b"avc3" => {
                let w = body.get(24..26).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                let h = body.get(26..28).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
                let avcc = child(body.get(78..).ok_or_else(|| bad("short avc1 entry"))?, base, b"avcC")?;
                let config = avcc.and_then(AvcConfig::parse).ok_or_else(|| bad("H.264 without a valid avcC"))?;
                let size = (w > 0 && h > 0).then_some((u32::from(w), u32::from(h)));
                (Kind::H264(config), size, None)
            }
            b"Opus" => {
                let dops = child(body.get(28..).ok_or_else(|| bad("short Opus entry"))?, base, b"dOps")?
                    .filter(|d| d.len() >= 11)
                    .ok_or_else(|| bad("Opus without a valid dOps"))?;
                let channels = u16::from(dops[1]);
                if !(1..=8).contains(&channels) {
                    return Err(bad("Opus with no channels"));
                }
                let pre_skip = i64::from(u16::from_be_bytes([dops[2], dops[3]]));
                (Kind::Opus { pre_skip }, None, Some((48_000, channels)))
            }
            _ => return Ok(None),
        };
        let counted = |d: Option<&[u8]>, what: &str, width: usize, skip: usize| -> Result<Vec<u8>> {
            let d = d.ok_or_else(|| bad(&format!("no {what} box")))?;
            let n = be32(d, 4).ok_or_else(|| bad(&format!("short {what}")))? as usize;
            let need = n.checked_mul(width).and_then(|v| v.checked_add(8 + skip));
            if n > MAX_SAMPLES || need.is_none_or(|need| need > d.len()) {
                return Err(bad(&format!("{what} lists {n} entries in {} bytes", d.len())));
            }
            Ok(d[8 + skip..8 + skip + n * width].to_vec())
        };
        // Sizes.
        let stsz = table(b"stsz")?.ok_or_else(|| bad("no stsz box"))?;
        let fixed = be32(stsz, 4).ok_or_else(|| bad("short stsz"))?;
        let count = be32(stsz, 8).ok_or_else(|| bad("short stsz"))? as usize;
        if count > MAX_SAMPLES {
            return Err(bad("too many samples"));
        }
        let sizes: Vec<u32> = if fixed != 0 {
            if count as u64 > file_len / u64::from(fixed) {
                return Err(bad(&format!("{count} samples of {fixed} bytes do not fit in the file")));
            }
            vec![fixed; count]
        } else {
            if stsz.len() < 12 + count * 4 {
                return Err(bad("stsz is truncated"));
            }
            (0..count).map(|i| be32(stsz, 12 + 4 * i).expect("checked")).collect()
        };
        // Chunk offsets.
        let offsets: Vec<u64> = if let Some(co) = table(b"stco")? {
            counted(Some(co), "stco", 4, 0)?.chunks(4).map(|c| u64::from(be32(c, 0).expect("4"))).collect()
        } else {
            counted(table(b"co64")?, "co64", 8, 0)?.chunks(8).map(|c| be64(c, 0).expect("8")).collect()
        };
        let stsc = counted(table(b"stsc")?, "stsc", 12, 0)?;
        let stts = counted(table(b"stts")?, "stts", 8, 0)?;
        let ctts = match table(b"ctts")? {
            Some(c) => counted(Some(c), "ctts", 8, 0)?,
            None => Vec::new(),
        };
        let stss: Option<Vec<u32>> = match table(b"stss")? {
            Some(s) => Some(counted(Some(s), "stss", 4, 0)?.chunks(4).map(|c| be32(c, 0).expect("4")).collect()),
            None => None,
        };
        // Walk the chunks.
        let mut samples = Vec::with_capacity(count.min(1 << 16));
        let runs: Vec<(u32, u32)> = stsc.chunks(12).map(|c| (be32(c, 0).expect("4"), be32(c, 4).expect("4"))).collect();
        let mut n = 0usize;
        let mut run = 0;
        'chunks: for (ci, &chunk_offset) in offsets.iter().enumerate() {
            let chunk = ci as u32 + 1;
            while runs.get(run + 1).is_some_and(|r| r.0 <= chunk) {
                run += 1;
            }
            let per = runs.get(run).filter(|r| r.0 <= chunk).map_or(0, |r| r.1) as usize;
            let mut offset = chunk_offset;
            for _ in 0..per {
                if n == count {
                    break 'chunks;
                }
                samples.push(Sample { track: index, offset, size: sizes[n], pts: 0, duration: 0, key: true });
                offset = offset.saturating_add(u64::from(sizes[n]));
                n += 1;
            }
        }
        if n < count {
            return Err(bad(&format!("the chunks hold {n} of {count} samples")));
        }
        let mut dts = 0i64;
        let mut deltas =
            stts.chunks(8).flat_map(|c| std::iter::repeat_n(be32(c, 4).expect("4"), be32(c, 0).expect("4") as usize));
        let mut offsets = ctts
            .chunks(8)
            .flat_map(|c| std::iter::repeat_n(be32(c, 4).expect("4") as i32, be32(c, 0).expect("4") as usize));
        let skip = match kind {
            Kind::Opus { pre_skip } => TimeBase::hz(48_000).rescale(pre_skip, TimeBase::hz(timescale)),
            Kind::H264(_) => 0,
        };
        for (i, s) in samples.iter_mut().enumerate() {
            let delta = i64::from(deltas.next().unwrap_or(0));
            s.pts = dts + i64::from(offsets.next().unwrap_or(0)) - skip;
            s.duration = delta;
            dts += delta;
            if let Some(keys) = &stss {
                s.key = keys.binary_search(&(i as u32 + 1)).is_ok();
            }
        }
        let time_base = TimeBase::hz(timescale);
        let is_video = matches!(kind, Kind::H264(_));
        let seconds = time_base.duration(duration.unwrap_or(0) as i64).as_secs_f64();
        let info = TrackInfo {
            index,
            kind: if is_video { MediaKind::Video } else { MediaKind::Audio },
            codec: Some(if is_video { Codec::H264 } else { Codec::Opus }),
            time_base,
            size,
            framerate: (is_video && seconds > 0.0).then(|| count as f64 / seconds),
            audio,
            duration: duration.map(|d| d.min(i64::MAX as u64) as i64),
        };
        Ok(Some((info, kind, samples)))
    }
}

impl<R: Read + Seek + Send> Demuxer for Mp4Demuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        let Some(s) = self.samples.get(self.next).copied() else { return Ok(None) };
        self.next += 1;
        if s.size as usize > MAX_FRAME {
            return Err(malformed(NAME, format!("sample at offset {} claims {} bytes", s.offset, s.size)));
        }
        self.input.seek(SeekFrom::Start(s.offset))?;
        let data = read_vec_at(&mut self.input, u64::from(s.size), NAME, "a sample", s.offset)?;
        let t = &self.tracks[s.track];
        let (codec, data) = match &self.kinds[s.track] {
            Kind::H264(avc) => {
                let annexb = avc.to_annexb(&data, s.key).ok_or_else(|| {
                    malformed(NAME, format!("H.264 sample at offset {}: NAL lengths overrun it", s.offset))
                })?;
                (Codec::H264, annexb)
            }
            Kind::Opus { .. } => (Codec::Opus, data),
        };
        let frame = EncodedFrame {
            codec,
            data: Bytes::from(data),
            pts: s.pts,
            time_base: t.time_base,
            duration: Some(s.duration),
            keyframe: s.key,
        };
        Ok(Some((s.track, Frame::Encoded(frame))))
    }

    fn rewind(&mut self) -> Result<()> {
        self.next = 0;
        Ok(())
    }
}

// ---- writing ----

/// A box: size, type, then what `body` writes.
fn mp4_box(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box (version and flags first).
fn full_box(out: &mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Vec<u8>)) {
    mp4_box(out, kind, |o| {
        o.push(version);
        o.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(o);
    });
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
const MOVIE_TIMESCALE: u32 = 1000;
const OPUS_PRE_SKIP: u16 = 312;

struct MuxTrack {
    codec: Codec,
    size: Option<(u32, u32)>,
    channels: Option<u16>,
    timescale: u32,
    /// The SPS and PPS of the first keyframe.
    parameter_sets: Option<(Vec<u8>, Vec<u8>)>,
    /// (offset, size, dts, keyframe).
    samples: Vec<(u64, u32, i64, bool)>,
    /// The last sample's duration, when its frame says.
    last_duration: Option<i64>,
}

/// Writes H.264 and Opus tracks to an MP4 file (see the module doc).
pub struct Mp4Muxer<W: Write + Seek> {
    output: W,
    tracks: Vec<MuxTrack>,
    /// Where the mdat box starts, and the next write position.
    mdat_at: u64,
    at: u64,
    started: bool,
    finished: bool,
}

impl<W: Write + Seek + Send> Mp4Muxer<W> {
    /// A muxer writing to `output`; writes `ftyp` and the `mdat` header.
    pub fn new(mut output: W) -> Result<Self> {
        let mut h = Vec::new();
        mp4_box(&mut h, b"ftyp", |o| {
            o.extend_from_slice(b"isom");
            o.extend_from_slice(&512u32.to_be_bytes());
            o.extend_from_slice(b"isomiso2avc1mp41");
        });
        let mdat_at = h.len() as u64;
        h.extend_from_slice(&1u32.to_be_bytes());
        h.extend_from_slice(b"mdat");
        h.extend_from_slice(&0u64.to_be_bytes());
        output.write_all(&h)?;
        Ok(Mp4Muxer { output, tracks: Vec::new(), mdat_at, at: h.len() as u64, started: false, finished: false })
    }

    fn write_moov(&mut self) -> Result<()> {
        let mut m = Vec::new();
        let durations: Vec<i64> = self
            .tracks
            .iter()
            .map(|t| {
                let last = t.samples.last().map_or(0, |s| s.2);
                let step = t.last_duration.unwrap_or_else(|| match t.samples.len() {
                    0 | 1 => i64::from(t.timescale) / 30,
                    n => (t.samples[n - 1].2 - t.samples[n - 2].2).max(0),
                });
                last + step
            })
            .collect();
        let movie = |t: &MuxTrack, d: i64| TimeBase::hz(t.timescale).rescale(d, TimeBase::hz(MOVIE_TIMESCALE)).max(0);
        let movie_duration = self.tracks.iter().zip(&durations).map(|(t, &d)| movie(t, d)).max().unwrap_or(0);
        mp4_box(&mut m, b"moov", |o| {
            full_box(o, b"mvhd", 1, 0, |o| {
                o.extend_from_slice(&[0; 16]);
                o.extend_from_slice(&MOVIE_TIMESCALE.to_be_bytes());
                o.extend_from_slice(&(movie_duration as u64).to_be_bytes());
                o.extend_from_slice(&0x0001_0000u32.to_be_bytes());
                o.extend_from_slice(&0x0100u16.to_be_bytes());
                o.extend_from_slice(&[0; 10]);
                MATRIX.iter().for_each(|v| o.extend_from_slice(&v.to_be_bytes()));
                o.extend_from_slice(&[0; 24]);
                o.extend_from_slice(&(self.tracks.len() as u32 + 1).to_be_bytes());
            });
            for (i, t) in self.tracks.iter().enumerate() {
                let video = t.codec == Codec::H264;
                let first = t.samples.first().map_or(0, |s| s.2);
                let media_duration = durations[i] - first;
                mp4_box(o, b"trak", |o| {
                    full_box(o, b"tkhd", 1, 3, |o| {
                        o.extend_from_slice(&[0; 16]);
                        o.extend_from_slice(&(i as u32 + 1).to_be_bytes());
                        o.extend_from_slice(&[0; 4]);
                        o.extend_from_slice(&(movie(t, durations[i]) as u64).to_be_bytes());
                        o.extend_from_slice(&[0; 8]);
                        o.extend_from_slice(&[0; 4]); // layer, alternate group
                        o.extend_from_slice(&(if video { 0u16 } else { 0x0100 }).to_be_bytes());
                        o.extend_from_slice(&[0; 2]);
                        MATRIX.iter().for_each(|v| o.extend_from_slice(&v.to_be_bytes()));
                        let (w, h) = if video { t.size.unwrap_or((0, 0)) } else { (0, 0) };
                        o.extend_from_slice(&(w << 16).to_be_bytes());
                        o.extend_from_slice(&(h << 16).to_be_bytes());
                    });
                    // Edits: a late start stays late; Opus skips its pre-skip.
                    let skip = if video { 0 } else { i64::from(OPUS_PRE_SKIP) };
                    let start = TimeBase::hz(t.timescale).rescale(first, TimeBase::hz(MOVIE_TIMESCALE));
                    let late = if video { start } else { start - i64::from(OPUS_PRE_SKIP) * 1000 / 48_000 };
                    mp4_box(o, b"edts", |o| {
                        full_box(o, b"elst", 1, 0, |o| {
                            let entries = if late > 0 { 2u32 } else { 1 };
                            o.extend_from_slice(&entries.to_be_bytes());
                            if late > 0 {
                                o.extend_from_slice(&(late as u64).to_be_bytes());
                                o.extend_from_slice(&(-1i64).to_be_bytes());
                                o.extend_from_slice(&0x0001_0000u32.to_be_bytes());
                            }
                            let shown = movie(t, media_duration - skip);
                            o.extend_from_slice(&(shown as u64).to_be_bytes());
                            o.extend_from_slice(&skip.to_be_bytes()); // stts starts at zero
                            o.extend_from_slice(&0x0001_0000u32.to_be_bytes());
                        });
                    });
                    mp4_box(o, b"mdia", |o| {
                        full_box(o, b"mdhd", 1, 0, |o| {
                            o.extend_from_slice(&[0; 16]);
                            o.extend_from_slice(&t.timescale.to_be_bytes());
                            o.extend_from_slice(&(durations[i].max(0) as u64).to_be_bytes());
                            o.extend_from_slice(&0x55C4u16.to_be_bytes()); // "und"
                            o.extend_from_slice(&[0; 2]);
                        });
                        full_box(o, b"hdlr", 0, 0, |o| {
                            o.extend_from_slice(&[0; 4]);
                            o.extend_from_slice(if video { b"vide" } else { b"soun" });
                            o.extend_from_slice(&[0; 12]);
                            o.extend_from_slice(if video { b"VideoHandler\0" } else { b"SoundHandler\0" });
                        });
                        mp4_box(o, b"minf", |o| {
                            if video {
                                full_box(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
                            } else {
                                full_box(o, b"smhd", 0, 0, |o| o.extend_from_slice(&[0; 4]));
                            }
                            mp4_box(o, b"dinf", |o| {
                                full_box(o, b"dref", 0, 0, |o| {
                                    o.extend_from_slice(&1u32.to_be_bytes());
                                    full_box(o, b"url ", 0, 1, |_| {});
                                });
                            });
                            mp4_box(o, b"stbl", |o| stbl(o, t, durations[i]));
                        });
                    });
                });
            }
        });
        self.output.write_all(&m)?;
        Ok(())
    }
}

/// The sample tables of `t`, whose last sample ends at `end`.
fn stbl(o: &mut Vec<u8>, t: &MuxTrack, end: i64) {
    full_box(o, b"stsd", 0, 0, |o| {
        o.extend_from_slice(&1u32.to_be_bytes());
        if t.codec == Codec::H264 {
            mp4_box(o, b"avc1", |o| {
                o.extend_from_slice(&[0; 6]);
                o.extend_from_slice(&1u16.to_be_bytes());
                o.extend_from_slice(&[0; 16]);
                let (w, h) = t.size.unwrap_or((0, 0));
                o.extend_from_slice(&(w as u16).to_be_bytes());
                o.extend_from_slice(&(h as u16).to_be_bytes());
                o.extend_from_slice(&0x0048_0000u32.to_be_bytes());
                o.extend_from_slice(&0x0048_0000u32.to_be_bytes());
                o.extend_from_slice(&[0; 4]);
                o.extend_from_slice(&1u16.to_be_bytes());
                o.extend_from_slice(&[0; 32]);
                o.extend_from_slice(&0x0018u16.to_be_bytes());
                o.extend_from_slice(&0xFFFFu16.to_be_bytes());
                mp4_box(o, b"avcC", |o| {
                    let (sps, pps) = t.parameter_sets.clone().unwrap_or_default();
                    o.push(1);
                    o.extend_from_slice(&[sps.get(1), sps.get(2), sps.get(3)].map(|b| b.copied().unwrap_or(0)));
                    o.push(0xFF);
                    o.push(0xE1);
                    o.extend_from_slice(&(sps.len() as u16).to_be_bytes());
                    o.extend_from_slice(&sps);
                    o.push(1);
                    o.extend_from_slice(&(pps.len() as u16).to_be_bytes());
                    o.extend_from_slice(&pps);
                });
            });
        } else {
            let channels = t.channels.unwrap_or(2);
            mp4_box(o, b"Opus", |o| {
                o.extend_from_slice(&[0; 6]);
                o.extend_from_slice(&1u16.to_be_bytes());
                o.extend_from_slice(&[0; 8]);
                o.extend_from_slice(&channels.to_be_bytes());
                o.extend_from_slice(&16u16.to_be_bytes());
                o.extend_from_slice(&[0; 4]);
                o.extend_from_slice(&(48_000u32 << 16).to_be_bytes());
                mp4_box(o, b"dOps", |o| {
                    o.push(0);
                    o.push(channels as u8);
                    o.extend_from_slice(&OPUS_PRE_SKIP.to_be_bytes());
                    o.extend_from_slice(&48_000u32.to_be_bytes());
                    o.extend_from_slice(&[0, 0, 0]);
                });
            });
        }
    });
    // Decoding times as runs of equal deltas.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for (i, s) in t.samples.iter().enumerate() {
        let next = t.samples.get(i + 1).map_or(end, |n| n.2);
        let delta = (next - s.2).clamp(0, i64::from(u32::MAX)) as u32;
        match runs.last_mut() {
            Some(r) if r.1 == delta => r.0 += 1,
            _ => runs.push((1, delta)),
        }
    }
    full_box(o, b"stts", 0, 0, |o| {
        o.extend_from_slice(&(runs.len() as u32).to_be_bytes());
        for (n, d) in &runs {
            o.extend_from_slice(&n.to_be_bytes());
            o.extend_from_slice(&d.to_be_bytes());
        }
    });
    if t.codec == Codec::H264 {
        full_box(o, b"stss", 0, 0, |o| {
            let keys: Vec<u32> = (1..).zip(&t.samples).filter(|(_, s)| s.3).map(|(i, _)| i).collect();
            o.extend_from_slice(&(keys.len() as u32).to_be_bytes());
            keys.iter().for_each(|k| o.extend_from_slice(&k.to_be_bytes()));
        });
    }
    full_box(o, b"stsc", 0, 0, |o| {
        o.extend_from_slice(&1u32.to_be_bytes());
        o.extend_from_slice(&1u32.to_be_bytes());
        o.extend_from_slice(&1u32.to_be_bytes());
        o.extend_from_slice(&1u32.to_be_bytes());
    });
    full_box(o, b"stsz", 0, 0, |o| {
        o.extend_from_slice(&0u32.to_be_bytes());
        o.extend_from_slice(&(t.samples.len() as u32).to_be_bytes());
        t.samples.iter().for_each(|s| o.extend_from_slice(&s.1.to_be_bytes()));
    });
    let large = t.samples.last().is_some_and(|s| s.0 > u64::from(u32::MAX));
    full_box(o, if large { b"co64" } else { b"stco" }, 0, 0, |o| {
        o.extend_from_slice(&(t.samples.len() as u32).to_be_bytes());
        for s in &t.samples {
            if large {
                o.extend_from_slice(&s.0.to_be_bytes());
            } else {
                o.extend_from_slice(&(s.0 as u32).to_be_bytes());
            }
        }
    });
}

impl<W: Write + Seek + Send> Muxer for Mp4Muxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.started {
            return Err(MediaError::InvalidConfig("add tracks before the first frame".into()));
        }
        let (codec, timescale) = match spec.codec {
            Some(Codec::H264) => (Codec::H264, 90_000),
            Some(Codec::Opus) => (Codec::Opus, 48_000),
            other => return Err(MediaError::Unsupported(format!("an MP4 file holds H.264 and Opus, not {other:?}"))),
        };
        self.tracks.push(MuxTrack {
            codec,
            size: spec.size,
            channels: spec.audio.map(|a| a.1).filter(|c| (1..=2).contains(c)),
            timescale,
            parameter_sets: None,
            samples: Vec::new(),
            last_duration: None,
        });
        Ok(self.tracks.len() - 1)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        if self.finished || index >= self.tracks.len() {
            return Err(MediaError::InvalidConfig(format!("no track {index} (or the file is finished)")));
        }
        let Frame::Encoded(e) = frame else {
            return Err(MediaError::BadFrame("an MP4 file takes encoded frames".into()));
        };
        let t = &mut self.tracks[index];
        if e.codec != t.codec || e.data.len() > MAX_FRAME {
            return Err(MediaError::BadFrame(format!(
                "a {:?} frame of {} bytes for a {:?} track",
                e.codec,
                e.data.len(),
                t.codec
            )));
        }
        self.started = true;
        let tb = TimeBase::hz(t.timescale);
        let mut dts = e.time_base.rescale(e.pts, tb);
        let sample: Vec<u8> = if t.codec == Codec::H264 {
            let mut out = Vec::with_capacity(e.data.len());
            for nal in annexb_nals(&e.data) {
                match nal.first().map(|b| b & 0x1F) {
                    Some(7) => {
                        if t.parameter_sets.is_none() {
                            t.size = t.size.or_else(|| h264_sps_size(nal));
                            t.parameter_sets = Some((nal.to_vec(), Vec::new()));
                        }
                    }
                    Some(8) => {
                        if let Some((_, pps)) = t.parameter_sets.as_mut().filter(|p| p.1.is_empty()) {
                            *pps = nal.to_vec();
                        }
                    }
                    Some(9) | None => {}
                    Some(_) => {
                        out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
                        out.extend_from_slice(nal);
                    }
                }
            }
            out
        } else {
            if t.channels.is_none() {
                t.channels = Some(if e.data.first().is_some_and(|b| b & 0x04 != 0) { 2 } else { 1 });
            }
            dts += i64::from(OPUS_PRE_SKIP);
            e.data.to_vec()
        };
        if let Some(last) = t.samples.last() {
            dts = dts.max(last.2); // decoding times never go back
        }
        t.last_duration = match (t.codec, e.duration) {
            (_, Some(d)) => Some(e.time_base.rescale(d, tb)),
            (Codec::Opus, None) => opus_packet_samples(&e.data).map(i64::from),
            _ => None,
        };
        t.samples.push((self.at, sample.len() as u32, dts.max(0), e.keyframe || t.codec.is_audio()));
        self.output.write_all(&sample)?;
        self.at += sample.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let mdat_size = self.at - self.mdat_at;
        self.output.seek(SeekFrom::Start(self.mdat_at + 8))?;
        self.output.write_all(&mdat_size.to_be_bytes())?;
        self.output.seek(SeekFrom::Start(self.at))?;
        self.write_moov()?;
        self.output.flush()?;
        Ok(())
    }
}
