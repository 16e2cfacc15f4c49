//! WebM and Matroska (`.webm`, `.mkv`): VP8, VP9, AV1, H.264 (read only)
//! and Opus tracks, EBML read and written here.
//!
//! The demuxer reads element by element, so segments and clusters of
//! unknown size (live recordings) are read as well as sized ones. It lists
//! the tracks of codecs it knows and skips the others' blocks. SimpleBlocks
//! and BlockGroups are read with any lacing; the keyframe flag comes from
//! the SimpleBlock flags, or in a BlockGroup from the absence of a
//! ReferenceBlock. Timestamps are in TimecodeScale units (1 ms in most
//! files); an Opus track's CodecDelay is subtracted, as its pre-skip is in
//! Ogg. H.264 (`V_MPEG4/ISO/AVC`) becomes Annex B, the parameter sets of
//! CodecPrivate put before each keyframe.
//!
//! The muxer writes DocType `webm`, a 1 ms TimecodeScale and SimpleBlocks in
//! clusters that start at each video keyframe, after 5 s, or before a block
//! would be more than 32.767 s from its cluster's time. The Segment size and
//! the Duration are written on [`Muxer::finish`]; so are a video size and
//! Opus channel count not given in the [`TrackSpec`]: they are taken from
//! the first keyframe (VP8, VP9, AV1) and the first packet's TOC byte. Opus
//! blocks are placed CodecDelay (the 312-sample pre-skip) later than their
//! timestamps, so a first packet at -312 samples, as read from Ogg, starts
//! at zero. No Cues are written (players read the file front to back).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use bytes::Bytes;

use super::probe::{keyframe_size, opus_packet_samples, AvcConfig};
use super::{malformed, read_full, read_vec_at, Demuxer, Format, Muxer, TrackInfo, TrackSpec, MAX_FRAME};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, Frame, MediaKind, TimeBase};

const NAME: &str = "webm";

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const DEFAULT_DURATION: u32 = 0x23_E383;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const BLOCK_DURATION: u32 = 0x9B;
const REFERENCE_BLOCK: u32 = 0xFB;

/// The largest header element (Info, Tracks) read whole.
const MAX_HEADER: u64 = 16 << 20;

/// The WebM/Matroska entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["webm", "mkv"],
    sniff: |b| b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(WebmDemuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(WebmMuxer::new(w)))
}

/// Reads an element ID and size at `at`; `None` at the end of the input.
/// The size is `None` when unknown.
fn read_header(r: &mut impl Read, at: u64) -> Result<Option<(u32, Option<u64>, u64)>> {
    let mut first = [0u8; 1];
    if read_full(r, &mut first)? == 0 {
        return Ok(None);
    }
    let id_len = first[0].leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(malformed(NAME, format!("bad element ID at offset {at}")));
    }
    let mut id = u32::from(first[0]);
    let mut b = [0u8; 8];
    if read_full(r, &mut b[..id_len - 1])? < id_len - 1 {
        return Err(malformed(NAME, format!("element ID at offset {at} is truncated")));
    }
    for &x in &b[..id_len - 1] {
        id = (id << 8) | u32::from(x);
    }
    if read_full(r, &mut first)? == 0 {
        return Err(malformed(NAME, format!("element size at offset {} is missing", at + id_len as u64)));
    }
    let size_len = first[0].leading_zeros() as usize + 1;
    if size_len > 8 {
        return Err(malformed(NAME, format!("bad element size at offset {}", at + id_len as u64)));
    }
    if read_full(r, &mut b[..size_len - 1])? < size_len - 1 {
        return Err(malformed(NAME, format!("element size at offset {} is truncated", at + id_len as u64)));
    }
    let mut size = u64::from(first[0]) & (0xFF >> size_len);
    let mut all_ones = size == 0xFF >> size_len;
    for &x in &b[..size_len - 1] {
        size = (size << 8) | u64::from(x);
        all_ones &= x == 0xFF;
    }
    Ok(Some((id, (!all_ones).then_some(size), (id_len + size_len) as u64)))
}

/// The child elements of a master element's body at `base`.
fn children(data: &[u8], base: u64) -> Result<Vec<(u32, &[u8])>> {
    let mut out = Vec::new();
    let mut cursor = std::io::Cursor::new(data);
    loop {
        let at = cursor.position();
        let Some((id, size, head)) = read_header(&mut cursor, base + at)? else { return Ok(out) };
        let start = (at + head) as usize;
        let size =
            size.ok_or_else(|| malformed(NAME, format!("element at offset {} has an unknown size", base + at)))?;
        let end = start.checked_add(usize::try_from(size).unwrap_or(usize::MAX)).filter(|&e| e <= data.len());
        let Some(end) = end else {
            return Err(malformed(NAME, format!("element {id:X} at offset {} overruns its parent", base + at)));
        };
        out.push((id, &data[start..end]));
        cursor.set_position(end as u64);
    }
}

fn uint(data: &[u8]) -> u64 {
    data.iter().take(8).fold(0, |v, &b| (v << 8) | u64::from(b))
}

fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// What the demuxer keeps per listed track.
struct Track {
    number: u64,
    index: usize,
    codec: Codec,
    avc: Option<AvcConfig>,
    /// CodecDelay in the file's ticks.
    delay: i64,
    /// DefaultDuration in the file's ticks.
    default_duration: Option<i64>,
}

/// Reads a WebM or Matroska file from any seekable input.
pub struct WebmDemuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    map: Vec<Track>,
    time_base: TimeBase,
    data_start: u64,
    at: u64,
    cluster_time: i64,
    ready: VecDeque<(usize, EncodedFrame)>,
}

impl<R: Read + Seek + Send> WebmDemuxer<R> {
    /// Reads the headers up to the first cluster.
    pub fn new(mut input: R) -> Result<Self> {
        let Some((id, Some(size), head)) = read_header(&mut input, 0)? else {
            return Err(malformed(NAME, "no EBML header at offset 0"));
        };
        if id != EBML || size > 4096 {
            return Err(malformed(NAME, "no EBML header at offset 0"));
        }
        let body = read_vec_at(&mut input, size, NAME, "the EBML header", head)?;
        let doc = children(&body, head)?.into_iter().find(|(i, _)| *i == DOC_TYPE).map(|(_, d)| d.to_vec());
        if !matches!(doc.as_deref(), Some(b"webm") | Some(b"matroska")) {
            return Err(MediaError::Unsupported(format!(
                "EBML DocType {:?}: webm and matroska are read",
                String::from_utf8_lossy(doc.as_deref().unwrap_or(b""))
            )));
        }
        let mut at = head + size;
        let mut scale = 1_000_000u64;
        let mut duration = None;
        let mut entries: Vec<Vec<u8>> = Vec::new();
        let mut tracks_at = 0;
        let mut saw_tracks = false;
        let data_start = loop {
            let Some((id, size, head)) = read_header(&mut input, at)? else { break at };
            match (id, size) {
                (SEGMENT, _) => at += head,
                (CLUSTER, _) => break at,
                (INFO | TRACKS, Some(size)) if size <= MAX_HEADER => {
                    let body = read_vec_at(&mut input, size, NAME, "a header element", at + head)?;
                    for (child, data) in children(&body, at + head)? {
                        match child {
                            TIMECODE_SCALE => scale = uint(data),
                            DURATION => duration = float(data),
                            TRACK_ENTRY => entries.push(data.to_vec()),
                            _ => {}
                        }
                    }
                    if id == TRACKS {
                        saw_tracks = true;
                        tracks_at = at + head;
                    }
                    at += head + size;
                }
                (_, Some(size)) if id != INFO && id != TRACKS => {
                    input.seek(SeekFrom::Start(at + head + size))?;
                    at += head + size;
                }
                _ => return Err(malformed(NAME, format!("element {id:X} at offset {at}: unknown or too large size"))),
            }
        };
        if !saw_tracks {
            return Err(malformed(NAME, format!("no Tracks before the first cluster (offset {data_start})")));
        }
        if !(1..=1_000_000_000).contains(&scale) {
            return Err(malformed(NAME, format!("TimecodeScale {scale} ns (1 ns to 1 s)")));
        }
        let g = gcd(scale, 1_000_000_000);
        let time_base = TimeBase { num: (scale / g) as u32, den: (1_000_000_000 / g) as u32 };
        let ns = |v: u64| (v / scale) as i64;
        let mut tracks = Vec::new();
        let mut map = Vec::new();
        for entry in &entries {
            let (mut number, mut codec_id, mut private, mut delay, mut dd) = (0, Vec::new(), None, 0, None);
            let (mut size, mut audio) = (None, None);
            for (id, data) in children(entry, tracks_at)? {
                match id {
                    TRACK_NUMBER => number = uint(data),
                    CODEC_ID => codec_id = data.to_vec(),
                    CODEC_PRIVATE => private = Some(data.to_vec()),
                    CODEC_DELAY => delay = ns(uint(data)),
                    DEFAULT_DURATION => dd = Some(ns(uint(data))).filter(|&d| d > 0),
                    VIDEO => {
                        let (mut w, mut h) = (0, 0);
                        for (id, d) in children(data, tracks_at)? {
                            match id {
                                PIXEL_WIDTH => w = uint(d),
                                PIXEL_HEIGHT => h = uint(d),
                                _ => {}
                            }
                        }
                        size = (w > 0 && h > 0 && w <= 65_535 && h <= 65_535).then_some((w as u32, h as u32));
                    }
                    AUDIO => {
                        let (mut rate, mut ch) = (8000.0, 1);
                        for (id, d) in children(data, tracks_at)? {
                            match id {
                                SAMPLING_FREQUENCY => rate = float(d).unwrap_or(rate),
                                CHANNELS => ch = uint(d),
                                _ => {}
                            }
                        }
                        if (1.0..=384_000.0).contains(&rate) && (1..=8).contains(&ch) {
                            audio = Some((rate as u32, ch as u16));
                        }
                    }
                    _ => {}
                }
            }
            let codec = match codec_id.as_slice() {
                b"V_VP8" => Codec::Vp8,
                b"V_VP9" => Codec::Vp9,
                b"V_AV1" => Codec::Av1,
                b"A_OPUS" => Codec::Opus,
                b"V_MPEG4/ISO/AVC" => Codec::H264,
                _ => continue, // a codec this crate does not know: its blocks are skipped
            };
            let avc = if codec == Codec::H264 {
                let c = private.as_deref().and_then(AvcConfig::parse);
                Some(c.ok_or_else(|| malformed(NAME, format!("H.264 track {number} without a valid avcC")))?)
            } else {
                None
            };
            let index = tracks.len();
            let kind = if codec.is_audio() { MediaKind::Audio } else { MediaKind::Video };
            let framerate = dd.map(|d| 1.0 / time_base.duration(d).as_secs_f64().max(1e-9)).filter(|f| *f <= 1000.0);
            tracks.push(TrackInfo {
                index,
                kind,
                codec: Some(codec),
                time_base,
                size: if kind == MediaKind::Video { size } else { None },
                framerate: if kind == MediaKind::Video { framerate } else { None },
                audio: if kind == MediaKind::Audio { audio } else { None },
                duration: duration.filter(|d| d.is_finite() && *d >= 0.0 && *d < 1e15).map(|d| d.round() as i64),
            });
            map.push(Track { number, index, codec, avc, delay, default_duration: dd });
        }
        input.seek(SeekFrom::Start(data_start))?;
        Ok(WebmDemuxer {
            input,
            tracks,
            map,
            time_base,
            data_start,
            at: data_start,
            cluster_time: 0,
            ready: VecDeque::new(),
        })
    }

    /// Splits a block at `at` into frames of a listed track.
    fn block(&mut self, data: &[u8], at: u64, key: bool, duration: Option<i64>) -> Result<()> {
        let bad = |what: &str| malformed(NAME, format!("block at offset {at}: {what}"));
        let len = data.first().map_or(9, |b| b.leading_zeros() as usize + 1);
        if len > 8 || data.len() < len + 3 {
            return Err(bad("truncated header"));
        }
        let number = uint(&data[..len]) & ((1u64 << (7 * len)) - 1);
        let rel = i64::from(i16::from_be_bytes([data[len], data[len + 1]]));
        let flags = data[len + 2];
        let Some(track) = self.map.iter().find(|t| t.number == number) else { return Ok(()) };
        let mut rest = &data[len + 3..];
        let frames: Vec<&[u8]> = match (flags >> 1) & 3 {
            0 => vec![rest],
            lacing => {
                let count = usize::from(*rest.first().ok_or_else(|| bad("no lace count"))?) + 1;
                rest = &rest[1..];
                let mut sizes = Vec::with_capacity(count);
                match lacing {
                    1 => {
                        for _ in 0..count - 1 {
                            let mut n = 0usize;
                            loop {
                                let (&b, r) = rest.split_first().ok_or_else(|| bad("truncated Xiph lacing"))?;
                                rest = r;
                                n += usize::from(b);
                                if b != 255 {
                                    break;
                                }
                            }
                            sizes.push(n);
                        }
                    }
                    3 => {
                        let mut prev = 0i64;
                        for k in 0..count - 1 {
                            let l = rest.first().map_or(9, |b| b.leading_zeros() as usize + 1);
                            if l > 8 || rest.len() < l {
                                return Err(bad("truncated EBML lacing"));
                            }
                            let raw = (uint(&rest[..l]) & ((1u64 << (7 * l)) - 1)) as i64;
                            rest = &rest[l..];
                            prev = if k == 0 {
                                raw
                            } else {
                                prev.checked_add(raw - ((1i64 << (7 * l - 1)) - 1))
                                    .ok_or_else(|| bad("EBML lace sizes overflow"))?
                            };
                            sizes.push(usize::try_from(prev).map_err(|_| bad("negative EBML lace size"))?);
                        }
                    }
                    _ => {
                        if !rest.len().is_multiple_of(count) {
                            return Err(bad("fixed lacing does not divide the block"));
                        }
                        sizes.resize(count - 1, rest.len() / count);
                    }
                }
                let mut frames = Vec::with_capacity(count);
                for s in sizes {
                    if s > rest.len() {
                        return Err(bad("a laced frame overruns the block"));
                    }
                    let (f, r) = rest.split_at(s);
                    frames.push(f);
                    rest = r;
                }
                frames.push(rest);
                frames
            }
        };
        let mut pts = self.cluster_time.saturating_add(rel).saturating_sub(track.delay);
        let tb = self.time_base;
        for f in frames {
            let (data, length) = match track.codec {
                Codec::Opus => {
                    let samples = opus_packet_samples(f).ok_or_else(|| bad("an Opus packet with a bad TOC"))?;
                    (Bytes::copy_from_slice(f), Some(TimeBase::hz(48_000).rescale(i64::from(samples), tb)))
                }
                Codec::H264 => {
                    let avc = track.avc.as_ref().expect("set for H.264");
                    let annexb = avc.to_annexb(f, key).ok_or_else(|| bad("H.264 NAL lengths overrun the frame"))?;
                    (Bytes::from(annexb), duration.or(track.default_duration))
                }
                _ => (Bytes::copy_from_slice(f), duration.or(track.default_duration)),
            };
            let frame = EncodedFrame {
                codec: track.codec,
                data,
                pts,
                time_base: tb,
                duration: length,
                keyframe: key || track.codec.is_audio(),
            };
            pts = pts.saturating_add(length.unwrap_or(0));
            self.ready.push_back((track.index, frame));
        }
        Ok(())
    }
}

impl<R: Read + Seek + Send> Demuxer for WebmDemuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        loop {
            if let Some((i, f)) = self.ready.pop_front() {
                return Ok(Some((i, Frame::Encoded(f))));
            }
            let at = self.at;
            let Some((id, size, head)) = read_header(&mut self.input, at)? else { return Ok(None) };
            match (id, size) {
                (SEGMENT | CLUSTER, _) => self.at += head,
                (_, None) => return Err(malformed(NAME, format!("element {id:X} at offset {at} has an unknown size"))),
                (TIMECODE | SIMPLE_BLOCK | BLOCK_GROUP, Some(size)) => {
                    let body = read_vec_at(&mut self.input, size, NAME, "a cluster element", at + head)?;
                    self.at += head + size;
                    match id {
                        TIMECODE => self.cluster_time = uint(&body).min(i64::MAX as u64) as i64,
                        SIMPLE_BLOCK => {
                            let key = body.first().is_some_and(|&b| {
                                let len = b.leading_zeros() as usize + 1;
                                body.get(len + 2).is_some_and(|f| f & 0x80 != 0)
                            });
                            self.block(&body, at + head, key, None)?;
                        }
                        _ => {
                            let (mut block, mut duration, mut referenced) = (None, None, false);
                            for (child, data) in children(&body, at + head)? {
                                match child {
                                    BLOCK => block = Some(data),
                                    BLOCK_DURATION => duration = Some(uint(data).min(i64::MAX as u64) as i64),
                                    REFERENCE_BLOCK => referenced = true,
                                    _ => {}
                                }
                            }
                            if let Some(block) = block {
                                let block = block.to_vec();
                                self.block(&block, at + head, !referenced, duration)?;
                            }
                        }
                    }
                }
                (_, Some(size)) => {
                    if size > (1 << 40) {
                        return Err(malformed(NAME, format!("element {id:X} at offset {at} claims {size} bytes")));
                    }
                    self.at += head + size;
                    self.input.seek(SeekFrom::Start(self.at))?;
                }
            }
        }
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(self.data_start))?;
        self.at = self.data_start;
        self.cluster_time = 0;
        self.ready.clear();
        Ok(())
    }
}

// ---- writing ----

fn put_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8) as usize;
    out.extend_from_slice(&bytes[skip.min(3)..]);
}

fn put_size(out: &mut Vec<u8>, size: u64) {
    let len = (1..=8).find(|&l| size < (1u64 << (7 * l)) - 1).unwrap_or(8);
    let marked = size | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn put_bytes(out: &mut Vec<u8>, id: u32, data: &[u8]) {
    put_id(out, id);
    put_size(out, data.len() as u64);
    out.extend_from_slice(data);
}

fn put_uint(out: &mut Vec<u8>, id: u32, v: u64) {
    let skip = ((v.leading_zeros() / 8) as usize).min(7);
    put_bytes(out, id, &v.to_be_bytes()[skip..]);
}

/// A `len`-byte unsigned integer element; returns where its value starts.
fn put_fixed_uint(out: &mut Vec<u8>, id: u32, v: u64, len: usize) -> usize {
    put_id(out, id);
    put_size(out, len as u64);
    let at = out.len();
    out.extend_from_slice(&v.to_be_bytes()[8 - len..]);
    at
}

fn put_float(out: &mut Vec<u8>, id: u32, v: f64) -> usize {
    put_id(out, id);
    put_size(out, 8);
    let at = out.len();
    out.extend_from_slice(&v.to_be_bytes());
    at
}

/// Opens a master element whose size is patched by [`close_master`].
fn open_master(out: &mut Vec<u8>, id: u32) -> usize {
    put_id(out, id);
    out.extend_from_slice(&[0x10, 0, 0, 0]);
    out.len()
}

fn close_master(out: &mut [u8], body: usize) {
    let size = (out.len() - body) as u32 | 0x1000_0000;
    out[body - 4..body].copy_from_slice(&size.to_be_bytes());
}

/// The pre-skip written in OpusHead and, as CodecDelay, before Opus blocks.
const OPUS_PRE_SKIP: u16 = 312;
const OPUS_DELAY_NS: i64 = OPUS_PRE_SKIP as i64 * 1_000_000_000 / 48_000;

struct MuxTrack {
    codec: Codec,
    size: Option<(u32, u32)>,
    channels: Option<u16>,
    /// Offsets of the values patched on finish.
    width_at: usize,
    height_at: usize,
    channels_at: usize,
    head_channels_at: usize,
    /// The last block's time and the step before it, in ms.
    last: Option<i64>,
    step: i64,
    end: i64,
}

/// Writes VP8, VP9, AV1 and Opus tracks to a WebM file (see the module doc).
pub struct WebmMuxer<W: Write + Seek> {
    output: W,
    tracks: Vec<MuxTrack>,
    started: bool,
    segment_size_at: u64,
    segment_start: u64,
    duration_at: u64,
    /// The open cluster: its time in ms and its body.
    cluster: Option<(i64, Vec<u8>)>,
    written: u64,
    finished: bool,
}

/// The longest a cluster runs before a new one starts.
const CLUSTER_MS: i64 = 5_000;
/// The most bytes a cluster holds in memory before it is written.
const CLUSTER_BYTES: usize = 32 << 20;

impl<W: Write + Seek + Send> WebmMuxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        WebmMuxer {
            output,
            tracks: Vec::new(),
            started: false,
            segment_size_at: 0,
            segment_start: 0,
            duration_at: 0,
            cluster: None,
            written: 0,
            finished: false,
        }
    }

    fn start(&mut self) -> Result<()> {
        self.started = true;
        let mut h = Vec::new();
        let ebml = open_master(&mut h, EBML);
        put_uint(&mut h, 0x4286, 1);
        put_uint(&mut h, 0x42F7, 1);
        put_uint(&mut h, 0x42F2, 4);
        put_uint(&mut h, 0x42F3, 8);
        put_bytes(&mut h, DOC_TYPE, b"webm");
        put_uint(&mut h, 0x4287, 4);
        put_uint(&mut h, 0x4285, 2);
        close_master(&mut h, ebml);
        put_id(&mut h, SEGMENT);
        self.segment_size_at = h.len() as u64;
        h.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        self.segment_start = h.len() as u64;
        let info = open_master(&mut h, INFO);
        put_uint(&mut h, TIMECODE_SCALE, 1_000_000);
        put_bytes(&mut h, 0x4D80, b"oxrtc");
        put_bytes(&mut h, 0x5741, b"oxrtc");
        self.duration_at = put_float(&mut h, DURATION, 0.0) as u64;
        close_master(&mut h, info);
        let tracks = open_master(&mut h, TRACKS);
        for (i, t) in self.tracks.iter_mut().enumerate() {
            let entry = open_master(&mut h, TRACK_ENTRY);
            put_uint(&mut h, TRACK_NUMBER, i as u64 + 1);
            put_uint(&mut h, 0x73C5, i as u64 + 1);
            put_uint(&mut h, 0x9C, 0);
            match t.codec {
                Codec::Opus => {
                    put_uint(&mut h, 0x83, 2);
                    put_bytes(&mut h, CODEC_ID, b"A_OPUS");
                    let mut head = b"OpusHead\x01".to_vec();
                    head.push(t.channels.unwrap_or(2) as u8);
                    head.extend_from_slice(&OPUS_PRE_SKIP.to_le_bytes());
                    head.extend_from_slice(&48_000u32.to_le_bytes());
                    head.extend_from_slice(&[0, 0, 0]);
                    put_bytes(&mut h, CODEC_PRIVATE, &head);
                    t.head_channels_at = h.len() - 19 + 9;
                    put_uint(&mut h, CODEC_DELAY, OPUS_DELAY_NS as u64);
                    put_uint(&mut h, 0x56BB, 80_000_000);
                    let audio = open_master(&mut h, AUDIO);
                    put_float(&mut h, SAMPLING_FREQUENCY, 48_000.0);
                    t.channels_at = put_fixed_uint(&mut h, CHANNELS, u64::from(t.channels.unwrap_or(2)), 1);
                    close_master(&mut h, audio);
                }
                codec => {
                    put_uint(&mut h, 0x83, 1);
                    let id: &[u8] = match codec {
                        Codec::Vp8 => b"V_VP8",
                        Codec::Vp9 => b"V_VP9",
                        _ => b"V_AV1",
                    };
                    put_bytes(&mut h, CODEC_ID, id);
                    let video = open_master(&mut h, VIDEO);
                    let (w, hh) = t.size.unwrap_or((0, 0));
                    t.width_at = put_fixed_uint(&mut h, PIXEL_WIDTH, u64::from(w), 4);
                    t.height_at = put_fixed_uint(&mut h, PIXEL_HEIGHT, u64::from(hh), 4);
                    close_master(&mut h, video);
                }
            }
            close_master(&mut h, entry);
        }
        close_master(&mut h, tracks);
        self.output.write_all(&h)?;
        self.written = h.len() as u64;
        Ok(())
    }

    fn flush_cluster(&mut self) -> Result<()> {
        if let Some((_, body)) = self.cluster.take() {
            let mut h = Vec::new();
            put_id(&mut h, CLUSTER);
            put_size(&mut h, body.len() as u64);
            self.output.write_all(&h)?;
            self.output.write_all(&body)?;
            self.written += (h.len() + body.len()) as u64;
        }
        Ok(())
    }

    fn patch(&mut self, at: u64, bytes: &[u8]) -> Result<()> {
        self.output.seek(SeekFrom::Start(at))?;
        self.output.write_all(bytes)?;
        Ok(())
    }
}

impl<W: Write + Seek + Send> Muxer for WebmMuxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.started {
            return Err(MediaError::InvalidConfig("add tracks before the first frame".into()));
        }
        let codec = match spec.codec {
            Some(c @ (Codec::Vp8 | Codec::Vp9 | Codec::Av1 | Codec::Opus)) => c,
            other => {
                return Err(MediaError::Unsupported(format!(
                    "a WebM file holds VP8, VP9, AV1 and Opus, not {:?} {other:?}",
                    spec.kind
                )))
            }
        };
        if self.tracks.len() >= 126 {
            return Err(MediaError::Unsupported("more than 126 tracks".into()));
        }
        let channels = spec.audio.map(|a| a.1).filter(|&c| (1..=2).contains(&c));
        self.tracks.push(MuxTrack {
            size: spec.size,
            channels,
            codec,
            width_at: 0,
            height_at: 0,
            channels_at: 0,
            head_channels_at: 0,
            last: None,
            step: 0,
            end: 0,
        });
        Ok(self.tracks.len() - 1)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        if self.finished || index >= self.tracks.len() {
            return Err(MediaError::InvalidConfig(format!("no track {index} (or the file is finished)")));
        }
        let Frame::Encoded(e) = frame else {
            return Err(MediaError::BadFrame("a WebM file takes encoded frames".into()));
        };
        if e.codec != self.tracks[index].codec || e.data.len() > MAX_FRAME {
            return Err(MediaError::BadFrame(format!(
                "a {:?} frame of {} bytes for a {:?} track",
                e.codec,
                e.data.len(),
                self.tracks[index].codec
            )));
        }
        if !self.started {
            self.start()?;
        }
        let t = &mut self.tracks[index];
        let audio = t.codec.is_audio();
        let mut ns = e.time_base.rescale(e.pts, TimeBase::NANOS);
        let mut length = e.duration.map(|d| e.time_base.rescale(d, TimeBase::MILLIS));
        if audio {
            ns += OPUS_DELAY_NS;
            if t.channels.is_none() {
                t.channels = Some(if e.data.first().is_some_and(|b| b & 0x04 != 0) { 2 } else { 1 });
            }
            if length.is_none() {
                length = opus_packet_samples(&e.data).map(|s| i64::from(s) / 48);
            }
        } else if e.keyframe && t.size.is_none() {
            t.size = keyframe_size(t.codec, &e.data);
        }
        let ms = TimeBase::NANOS.rescale(ns, TimeBase::MILLIS).max(0);
        if let Some(last) = t.last {
            if ms > last {
                t.step = ms - last;
            }
        }
        t.last = Some(ms);
        t.end = t.end.max(ms + length.unwrap_or(t.step));
        let has_video = self.tracks.iter().any(|t| !t.codec.is_audio());
        let new_cluster = match &self.cluster {
            None => true,
            Some((start, body)) => {
                (!audio && e.keyframe && !body.is_empty())
                    || (!has_video && ms - start >= CLUSTER_MS)
                    || ms - start >= CLUSTER_MS * 2
                    || ms - start > i64::from(i16::MAX)
                    || ms - start < i64::from(i16::MIN)
                    || body.len() > CLUSTER_BYTES
            }
        };
        if new_cluster {
            self.flush_cluster()?;
            let mut body = Vec::new();
            put_uint(&mut body, TIMECODE, ms as u64);
            self.cluster = Some((ms, body));
        }
        let (start, body) = self.cluster.as_mut().expect("opened above");
        let rel = (ms - *start) as i16;
        put_id(body, SIMPLE_BLOCK);
        put_size(body, e.data.len() as u64 + 4);
        body.push(0x81 + index as u8);
        body.extend_from_slice(&rel.to_be_bytes());
        body.push(if e.keyframe || audio { 0x80 } else { 0 });
        body.extend_from_slice(&e.data);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if !self.started {
            self.start()?;
        }
        self.flush_cluster()?;
        for i in 0..self.tracks.len() {
            let t = &self.tracks[i];
            let (size, channels) = (t.size, t.channels);
            let (wa, ha, ca, hca) = (t.width_at, t.height_at, t.channels_at, t.head_channels_at);
            if t.codec.is_audio() {
                let c = channels.unwrap_or(2) as u8;
                self.patch(ca as u64, &[c])?;
                self.patch(hca as u64, &[c])?;
            } else if let Some((w, h)) = size {
                self.patch(wa as u64, &w.to_be_bytes())?;
                self.patch(ha as u64, &h.to_be_bytes())?;
            }
        }
        let duration = self.tracks.iter().map(|t| t.end).max().unwrap_or(0) as f64;
        self.patch(self.duration_at, &duration.to_be_bytes())?;
        let segment = (self.written - self.segment_start) | (1u64 << 56);
        self.patch(self.segment_size_at, &segment.to_be_bytes())?;
        self.output.seek(SeekFrom::End(0))?;
        self.output.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn sizes_and_ids_encode_as_ebml() {
        let mut v = Vec::new();
        put_size(&mut v, 5);
        put_size(&mut v, 126);
        put_size(&mut v, 127);
        assert_eq!(v, [0x85, 0xFE, 0x40, 0x7F]);
        let mut v = Vec::new();
        put_id(&mut v, CLUSTER);
        put_id(&mut v, SIMPLE_BLOCK);
        assert_eq!(v, [0x1F, 0x43, 0xB6, 0x75, 0xA3]);
    }

    /// Laced blocks (Xiph, EBML, fixed) split into their frames.
    #[test]
    fn laced_blocks_split() {
        let mut d = WebmDemuxer {
            input: Cursor::new(Vec::new()),
            tracks: Vec::new(),
            map: vec![Track {
                number: 1,
                index: 0,
                codec: Codec::Vp8,
                avc: None,
                delay: 0,
                default_duration: Some(10),
            }],
            time_base: TimeBase::MILLIS,
            data_start: 0,
            at: 0,
            cluster_time: 100,
            ready: VecDeque::new(),
        };
        let frames = |d: &mut WebmDemuxer<Cursor<Vec<u8>>>| -> Vec<(i64, Vec<u8>)> {
            d.ready.drain(..).map(|(_, f)| (f.pts, f.data.to_vec())).collect()
        };
        // Xiph: 3 frames of 2, 256 and 1 bytes.
        let mut b = vec![0x81, 0, 5, 0x02, 2, 2, 255, 1];
        b.extend([1, 1]);
        b.extend([2; 256]);
        b.push(3);
        d.block(&b, 0, true, None).unwrap();
        let got = frames(&mut d);
        assert_eq!(got.iter().map(|f| (f.0, f.1.len())).collect::<Vec<_>>(), vec![(105, 2), (115, 256), (125, 1)]);
        // EBML: sizes 3, then 3 - 1 = 2, the last 4.
        let b = [0x81, 0, 0, 0x06, 2, 0x83, 0xBE, 1, 1, 1, 2, 2, 3, 3, 3, 3];
        d.block(&b, 0, true, None).unwrap();
        assert_eq!(frames(&mut d).iter().map(|f| f.1.len()).collect::<Vec<_>>(), vec![3, 2, 4]);
        // Fixed: 2 frames of 2.
        d.block(&[0x81, 0, 0, 0x04, 1, 7, 7, 8, 8], 0, true, None).unwrap();
        assert_eq!(frames(&mut d).iter().map(|f| f.1.clone()).collect::<Vec<_>>(), vec![vec![7, 7], vec![8, 8]]);
        assert!(d.block(&[0x81, 0, 0, 0x04, 1, 7, 7, 8], 0, true, None).is_err());
        assert!(d.block(&[0x81, 0, 0, 0x02, 1, 9], 0, true, None).is_err());
    }
}
