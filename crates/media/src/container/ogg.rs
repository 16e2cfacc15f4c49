//! Ogg Opus (RFC 7845): `.ogg` / `.opus` files of one Opus stream.
//!
//! The demuxer reads the first Opus logical stream (other streams are
//! skipped): its `OpusHead` gives the channels and the pre-skip, each
//! packet becomes an [`Frame::Encoded`] whose `pts` is in 1/48000 s from the
//! granule positions minus the pre-skip (so the first packet usually starts
//! slightly below zero) and whose duration comes from its TOC byte
//! (RFC 6716 section 3.1), cut at the end by the last page's granule
//! position. Page checksums are checked.
//!
//! The muxer writes `OpusHead` (pre-skip 312, or what the first packet's
//! negative timestamp says, as when remuxing a file we read), `OpusTags`,
//! then pages of up to a second of packets with their granule positions,
//! the last page marked end-of-stream on [`Muxer::finish`]. A gap in the
//! timestamps is filled with 20 ms packets of no data, which decoders
//! conceal as lost (Ogg has no other way to say "nothing here").

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::OnceLock;

use bytes::Bytes;

use super::probe::opus_packet_samples;
use super::{malformed, read_exact_at, read_full, Demuxer, Format, Muxer, TrackInfo, TrackSpec};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, Frame, MediaKind, TimeBase};

const NAME: &str = "ogg";
/// The longest packet read or written (an Opus packet is far shorter).
const MAX_PACKET: usize = 1 << 20;
const OPUS_RATE: TimeBase = TimeBase { num: 1, den: 48_000 };

/// The Ogg Opus entry of [`super::FORMATS`].
pub const FORMAT: Format = Format {
    name: NAME,
    extensions: &["ogg", "opus"],
    sniff: |b| b.starts_with(b"OggS"),
    open: Some(open),
    create: Some(create),
};

fn open(r: BufReader<File>) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(OggDemuxer::new(r)?))
}

fn create(w: BufWriter<File>) -> Result<Box<dyn Muxer>> {
    Ok(Box::new(OggMuxer::new(w)))
}

/// The Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, zero initial value.
fn crc(data: &[u8]) -> u32 {
    static TABLE: OnceLock<[u32; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 { (r << 1) ^ 0x04C1_1DB7 } else { r << 1 };
            }
            *e = r;
        }
        t
    });
    data.iter().fold(0u32, |c, &b| (c << 8) ^ table[((c >> 24) as u8 ^ b) as usize])
}

/// One page as read.
struct Page {
    flags: u8,
    granule: i64,
    serial: u32,
    /// Packet pieces; `true` when the piece ends its packet.
    pieces: Vec<(Vec<u8>, bool)>,
}

/// Reads a page at `at`; `None` at the end of the input.
fn read_page(r: &mut impl Read, at: u64) -> Result<Option<(Page, u64)>> {
    let mut h = [0u8; 27];
    let n = read_full(r, &mut h)?;
    if n == 0 {
        return Ok(None);
    }
    if n < 27 {
        return Err(malformed(NAME, format!("page header at offset {at} is truncated ({n} of 27 bytes)")));
    }
    if &h[0..4] != b"OggS" || h[4] != 0 {
        return Err(malformed(NAME, format!("no Ogg page (OggS, version 0) at offset {at}")));
    }
    let segments = usize::from(h[26]);
    let mut lacing = vec![0u8; segments];
    read_exact_at(r, &mut lacing, NAME, "a page's segment table", at + 27)?;
    let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
    let mut body = vec![0u8; body_len];
    read_exact_at(r, &mut body, NAME, "a page's body", at + 27 + segments as u64)?;
    let stored = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
    h[22..26].fill(0);
    let mut all = Vec::with_capacity(27 + segments + body_len);
    all.extend_from_slice(&h);
    all.extend_from_slice(&lacing);
    all.extend_from_slice(&body);
    if crc(&all) != stored {
        return Err(malformed(NAME, format!("page at offset {at} fails its checksum")));
    }
    let mut pieces = Vec::new();
    let (mut start, mut at_body) = (0, 0);
    for (i, &l) in lacing.iter().enumerate() {
        at_body += usize::from(l);
        if l < 255 {
            pieces.push((body[start..at_body].to_vec(), true));
            start = at_body;
        } else if i == segments - 1 {
            pieces.push((body[start..at_body].to_vec(), false));
        }
    }
    let page = Page {
        flags: h[5],
        granule: i64::from_le_bytes(h[6..14].try_into().expect("8 bytes")),
        serial: u32::from_le_bytes([h[14], h[15], h[16], h[17]]),
        pieces,
    };
    Ok(Some((page, (27 + segments + body_len) as u64)))
}

/// Reads an Ogg Opus file from any seekable input.
pub struct OggDemuxer<R> {
    input: R,
    tracks: Vec<TrackInfo>,
    serial: u32,
    pre_skip: i64,
    /// Where the first audio page starts.
    data_start: u64,
    at: u64,
    partial: Vec<u8>,
    /// The granule-domain start of the next packet, once known.
    position: Option<i64>,
    ready: std::collections::VecDeque<EncodedFrame>,
    ended: bool,
}

impl<R: Read + Seek + Send> OggDemuxer<R> {
    /// Reads the `OpusHead` and `OpusTags` headers.
    pub fn new(mut input: R) -> Result<Self> {
        let mut at = 0u64;
        let mut head: Option<(u32, u16, i64)> = None; // serial, channels, pre-skip
        let mut partial = Vec::new();
        loop {
            let Some((page, len)) = read_page(&mut input, at)? else {
                return Err(malformed(NAME, format!("the file ends at offset {at} before the Opus headers")));
            };
            let page_at = at;
            at += len;
            match head {
                None => {
                    if page.flags & 0x02 == 0 {
                        return Err(malformed(NAME, format!("page at offset {page_at}: no Opus stream starts here")));
                    }
                    let Some((p, true)) = page.pieces.first() else { continue };
                    if !p.starts_with(b"OpusHead") {
                        continue; // another codec's stream
                    }
                    if p.len() < 19 || p[8] >> 4 != 0 {
                        return Err(malformed(NAME, format!("OpusHead at page offset {page_at} (version or length)")));
                    }
                    let channels = u16::from(p[9]);
                    let family = p[18];
                    if channels == 0 || channels > 8 || family == 0 && channels > 2 {
                        return Err(MediaError::Unsupported(format!(
                            "Opus with {channels} channels in mapping family {family} (page at offset {page_at})"
                        )));
                    }
                    let pre_skip = i64::from(u16::from_le_bytes([p[10], p[11]]));
                    head = Some((page.serial, channels, pre_skip));
                }
                Some((serial, channels, pre_skip)) => {
                    if page.serial != serial {
                        continue;
                    }
                    for (piece, done) in page.pieces {
                        partial.extend_from_slice(&piece);
                        if partial.len() > MAX_PACKET {
                            return Err(malformed(NAME, format!("OpusTags at page offset {page_at} is over 1 MiB")));
                        }
                        if done {
                            if !partial.starts_with(b"OpusTags") {
                                return Err(malformed(NAME, format!("no OpusTags packet at page offset {page_at}")));
                            }
                            let info = TrackInfo {
                                index: 0,
                                kind: MediaKind::Audio,
                                codec: Some(Codec::Opus),
                                time_base: OPUS_RATE,
                                size: None,
                                framerate: None,
                                audio: Some((48_000, channels)),
                                duration: None,
                            };
                            let mut d = OggDemuxer {
                                input,
                                tracks: vec![info],
                                serial,
                                pre_skip,
                                data_start: at,
                                at,
                                partial: Vec::new(),
                                position: None,
                                ready: Default::default(),
                                ended: false,
                            };
                            d.tracks[0].duration = d.last_granule()?.map(|g| (g - pre_skip).max(0));
                            d.input.seek(SeekFrom::Start(at))?;
                            return Ok(d);
                        }
                    }
                }
            }
        }
    }

    /// The granule position of the stream's last page (found in the last 64 KiB).
    fn last_granule(&mut self) -> Result<Option<i64>> {
        let end = self.input.seek(SeekFrom::End(0))?;
        let from = end.saturating_sub(65_536).max(self.data_start);
        self.input.seek(SeekFrom::Start(from))?;
        let mut tail = Vec::new();
        self.input.by_ref().take(65_536).read_to_end(&mut tail)?;
        let mut best = None;
        for i in 0..tail.len().saturating_sub(26) {
            if &tail[i..i + 4] == b"OggS"
                && u32::from_le_bytes(tail[i + 14..i + 18].try_into().expect("4")) == self.serial
            {
                let g = i64::from_le_bytes(tail[i + 6..i + 14].try_into().expect("8"));
                if g >= 0 {
                    best = Some(g);
                }
            }
        }
        Ok(best)
    }

    fn next_page(&mut self) -> Result<bool> {
        let Some((page, len)) = read_page(&mut self.input, self.at)? else { return Ok(false) };
        let page_at = self.at;
        self.at += len;
        if page.serial != self.serial {
            return Ok(true);
        }
        let mut packets = Vec::new();
        for (i, (piece, done)) in page.pieces.into_iter().enumerate() {
            if i == 0 && page.flags & 0x01 == 0 {
                self.partial.clear(); // a packet never finished: dropped
            }
            self.partial.extend_from_slice(&piece);
            if self.partial.len() > MAX_PACKET {
                return Err(malformed(NAME, format!("a packet ending after offset {page_at} is over 1 MiB")));
            }
            if done {
                packets.push(std::mem::take(&mut self.partial));
            }
        }
        if packets.is_empty() {
            return Ok(true);
        }
        let mut lengths = Vec::with_capacity(packets.len());
        for p in &packets {
            let n = opus_packet_samples(p).ok_or_else(|| {
                malformed(NAME, format!("an Opus packet with a bad TOC on the page at offset {page_at}"))
            })?;
            lengths.push(i64::from(n));
        }
        let total: i64 = lengths.iter().sum();
        let mut pos = *self.position.get_or_insert(page.granule.saturating_sub(total).max(0));
        let last = packets.len() - 1;
        for (i, (p, mut len)) in packets.into_iter().zip(lengths).enumerate() {
            if i == last && page.flags & 0x04 != 0 && page.granule >= pos {
                len = len.min(page.granule - pos); // end trimming
            }
            self.ready.push_back(EncodedFrame {
                codec: Codec::Opus,
                data: Bytes::from(p),
                pts: pos.saturating_sub(self.pre_skip),
                time_base: OPUS_RATE,
                duration: Some(len),
                keyframe: true,
            });
            pos = pos.saturating_add(len);
        }
        self.position = Some(pos);
        if page.flags & 0x04 != 0 {
            self.ended = true;
        }
        Ok(true)
    }
}

impl<R: Read + Seek + Send> Demuxer for OggDemuxer<R> {
    fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    fn read(&mut self) -> Result<Option<(usize, Frame)>> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Ok(Some((0, Frame::Encoded(f))));
            }
            if self.ended || !self.next_page()? {
                return Ok(None);
            }
        }
    }

    fn rewind(&mut self) -> Result<()> {
        self.input.seek(SeekFrom::Start(self.data_start))?;
        self.at = self.data_start;
        self.partial.clear();
        self.position = None;
        self.ready.clear();
        self.ended = false;
        Ok(())
    }
}

/// Pages hold up to this many packets (a second of 20 ms packets).
const PAGE_PACKETS: usize = 50;
/// The longest gap filled, in 48 kHz samples (an hour).
const MAX_GAP: i64 = 3600 * 48_000;

/// Writes one Opus track to an Ogg file.
pub struct OggMuxer<W: Write> {
    output: W,
    serial: u32,
    sequence: u32,
    added: bool,
    channels: Option<u16>,
    /// The first packet's timestamp in 1/48000 s, and the pre-skip.
    origin: Option<(i64, i64)>,
    /// Samples written (granule domain, before the pre-skip).
    written: i64,
    /// Packets of the page being filled.
    page: Vec<Vec<u8>>,
    /// Samples the last packet's duration says to cut from its end (the
    /// last page's granule position does, RFC 7845 section 4.4).
    trim: i64,
    finished: bool,
}

impl<W: Write + Send> OggMuxer<W> {
    /// A muxer writing to `output`.
    pub fn new(output: W) -> Self {
        OggMuxer {
            output,
            serial: 0x6F78_7274, // "oxrt"
            sequence: 0,
            added: false,
            channels: None,
            origin: None,
            written: 0,
            page: Vec::new(),
            trim: 0,
            finished: false,
        }
    }

    fn write_page(&mut self, flags: u8, granule: i64, packets: &[Vec<u8>]) -> Result<()> {
        let mut lacing = Vec::new();
        for p in packets {
            lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
            lacing.push((p.len() % 255) as u8);
        }
        if lacing.len() > 255 {
            return Err(MediaError::BadFrame("Ogg page of more than 255 segments".into()));
        }
        let mut page = Vec::with_capacity(27 + lacing.len() + packets.iter().map(Vec::len).sum::<usize>());
        page.extend_from_slice(b"OggS\0");
        page.push(flags);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&self.serial.to_le_bytes());
        page.extend_from_slice(&self.sequence.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(lacing.len() as u8);
        page.extend_from_slice(&lacing);
        for p in packets {
            page.extend_from_slice(p);
        }
        let c = crc(&page);
        page[22..26].copy_from_slice(&c.to_le_bytes());
        self.output.write_all(&page)?;
        self.sequence += 1;
        Ok(())
    }

    fn headers(&mut self, channels: u16, pre_skip: i64) -> Result<()> {
        let mut head = b"OpusHead".to_vec();
        head.push(1);
        head.push(channels as u8);
        head.extend_from_slice(&(pre_skip as u16).to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0, 0, 0]); // gain 0, mapping family 0
        self.write_page(0x02, 0, &[head])?;
        let vendor = b"oxrtc";
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        self.write_page(0, 0, &[tags])
    }

    /// Adds a packet of `len` samples to the page, writing out the page
    /// before when it is full.
    fn push(&mut self, packet: Vec<u8>, len: i64) -> Result<()> {
        let segments: usize = self.page.iter().map(|p| p.len() / 255 + 1).sum();
        if self.page.len() >= PAGE_PACKETS || segments + packet.len() / 255 + 1 > 255 {
            let packets = std::mem::take(&mut self.page);
            let granule = self.granule();
            self.write_page(0, granule, &packets)?;
        }
        self.page.push(packet);
        self.written += len;
        Ok(())
    }

    /// The granule position after the packets so far: samples from the
    /// stream's start, the pre-skip included.
    fn granule(&self) -> i64 {
        self.written
    }
}

impl<W: Write + Send> Muxer for OggMuxer<W> {
    fn add_track(&mut self, spec: TrackSpec) -> Result<usize> {
        if self.added {
            return Err(MediaError::Unsupported("this Ogg muxer writes one Opus stream".into()));
        }
        if spec.codec != Some(Codec::Opus) {
            return Err(MediaError::Unsupported(format!("an Ogg Opus file holds Opus, not {:?}", spec.codec)));
        }
        self.channels = spec.audio.map(|a| a.1);
        if self.channels.is_some_and(|c| !(1..=2).contains(&c)) {
            return Err(MediaError::Unsupported("Ogg Opus is written with 1 or 2 channels".into()));
        }
        self.added = true;
        Ok(0)
    }

    fn write(&mut self, index: usize, frame: &Frame) -> Result<()> {
        if index != 0 || !self.added || self.finished {
            return Err(MediaError::InvalidConfig(format!("no track {index} (or the file is finished)")));
        }
        let Frame::Encoded(e) = frame else {
            return Err(MediaError::BadFrame("an Ogg Opus file takes encoded Opus packets".into()));
        };
        if e.codec != Codec::Opus || e.data.len() > 60_000 {
            return Err(MediaError::BadFrame(format!("a {:?} packet of {} bytes", e.codec, e.data.len())));
        }
        let len = opus_packet_samples(&e.data)
            .ok_or_else(|| MediaError::BadFrame("an Opus packet without a valid TOC byte".into()))?;
        let pts = e.time_base.rescale(e.pts, OPUS_RATE);
        let start = match self.origin {
            Some((start, _)) => start,
            None => {
                let channels = *self.channels.get_or_insert(if e.data[0] & 0x04 != 0 { 2 } else { 1 });
                let pre_skip = if (-65_535..0).contains(&pts) { -pts } else { 312 };
                self.headers(channels, pre_skip)?;
                self.origin = Some((pts, pre_skip));
                pts
            }
        };
        let mut gap = (pts - start) - self.written;
        if gap > MAX_GAP {
            return Err(MediaError::BadFrame(format!("a gap of {gap} samples (over an hour) before this packet")));
        }
        let stereo = if self.channels == Some(2) { 0x04 } else { 0 };
        while gap >= 960 {
            self.push(vec![0xF8 | stereo], 960)?; // CELT 20 ms, no data: concealed
            gap -= 960;
        }
        let len = i64::from(len);
        let said = e.duration.map_or(len, |d| e.time_base.rescale(d, OPUS_RATE));
        self.trim = (len - said).clamp(0, len);
        self.push(e.data.to_vec(), len)
    }

    fn finish(&mut self) -> Result<()> {
        if self.finished || !self.added {
            return Ok(());
        }
        self.finished = true;
        if self.origin.is_none() {
            self.headers(self.channels.unwrap_or(2), 312)?;
            self.origin = Some((0, 312));
        }
        let packets = std::mem::take(&mut self.page);
        let granule = self.granule() - self.trim;
        self.write_page(0x04, granule, &packets)?;
        self.output.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn packet(ms20: i64, pts: i64) -> Frame {
        Frame::Encoded(EncodedFrame {
            codec: Codec::Opus,
            data: Bytes::from(vec![0xFC, 1, 2, 3]),
            pts,
            time_base: OPUS_RATE,
            duration: Some(960 * ms20),
            keyframe: true,
        })
    }

    #[test]
    fn checksum_matches_the_reference_polynomial() {
        // The CRC-32/MPEG-2 family without inversion: "123456789" gives 0x89A1897F.
        assert_eq!(crc(b"123456789"), 0x89A1_897F);
    }

    #[test]
    fn round_trip_keeps_timestamps_and_fills_gaps() {
        let mut m = OggMuxer::new(Vec::new());
        m.add_track(TrackSpec { kind: MediaKind::Audio, codec: Some(Codec::Opus), size: None, audio: None }).unwrap();
        for i in 0..120 {
            let skip = if i >= 100 { 2 * 960 } else { 0 }; // 40 ms lost after 2 s
            m.write(0, &packet(1, i * 960 - 312 + skip)).unwrap();
        }
        m.finish().unwrap();
        let mut d = OggDemuxer::new(Cursor::new(m.output)).unwrap();
        assert_eq!(d.tracks()[0].audio, Some((48_000, 2)));
        assert_eq!(d.tracks()[0].duration, Some(122 * 960 - 312));
        let mut got = Vec::new();
        while let Some((_, Frame::Encoded(e))) = d.read().unwrap() {
            got.push((e.pts, e.data.len()));
        }
        assert_eq!(got.len(), 122);
        assert_eq!(got[0], (-312, 4));
        assert_eq!(got[100], (100 * 960 - 312, 1), "the gap is filled");
        assert_eq!(got[121], (121 * 960 - 312, 4));
    }
}
