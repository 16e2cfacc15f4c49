//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): transport-layer
//! feedback (PT 205, FMT 15) reporting, for a range of transport-wide
//! sequence numbers, which packets arrived and when.
//!
//! ```text
//! |V=2|P|  FMT=15 |    PT=205     |           length              |
//! |                     SSRC of packet sender                     |
//! |                      SSRC of media source                     |
//! |      base sequence number     |      packet status count      |
//! |                 reference time                | fb pkt. count |
//! |          packet chunk         |         packet chunk          |
//! .                              ...                              .
//! |         packet chunk          |  recv delta   |  recv delta   |
//! .                              ...                              .
//! |           recv delta          |  recv delta   | zero padding  |
//! ```
//!
//! Packet chunks (16 bits) give one status per packet: a *run length* chunk
//! (`0|SS|length:13`) repeats one status, a *status vector* chunk holds 14
//! one-bit symbols (`1|0|...`: not received / received with a small delta) or
//! 7 two-bit symbols (`1|1|...`). Each received packet then has a receive delta
//! in 250 µs ticks from the previous one (the first from the reference time,
//! in 64 ms ticks): one unsigned byte for a small delta, two signed bytes for
//! a large or negative one.
//!
//! [`TransportFeedback`] is the wire form; [`TransportFeedback::packets`]
//! expands it to `(sequence number, arrival time)` pairs and
//! [`TwccBuilder`](super::TwccBuilder) makes one from such pairs.

use super::header::{feedback_ssrcs, put_feedback_ssrcs, u16_at, u32_at, write_packet};
use super::{RtcpError, PT_RTPFB};

const NAME: &str = "transport-wide feedback";
/// FMT of transport-wide feedback.
pub const FMT_TWCC: u8 = 15;
/// The unit of receive deltas, in microseconds.
pub const DELTA_TICK_US: i64 = 250;
/// The unit of the reference time, in microseconds.
pub const REFERENCE_TICK_US: i64 = 64_000;
/// The longest run a run-length chunk holds (13 bits).
pub const MAX_RUN_LENGTH: u16 = 0x1fff;

/// What a feedback says of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketStatus {
    /// Not received (yet).
    NotReceived,
    /// Received; its delta fits one unsigned byte (0 to 63.75 ms).
    SmallDelta,
    /// Received; its delta takes two signed bytes (negative, or up to ±8.19 s).
    LargeDelta,
}

impl PacketStatus {
    fn from_symbol(symbol: u16) -> Result<Self, RtcpError> {
        match symbol {
            0 => Ok(PacketStatus::NotReceived),
            1 => Ok(PacketStatus::SmallDelta),
            2 => Ok(PacketStatus::LargeDelta),
            _ => Err(RtcpError::malformed(NAME, "reserved packet status symbol 11")),
        }
    }

    fn symbol(self) -> u16 {
        match self {
            PacketStatus::NotReceived => 0,
            PacketStatus::SmallDelta => 1,
            PacketStatus::LargeDelta => 2,
        }
    }

    /// Whether the packet arrived (and so has a receive delta).
    pub fn is_received(self) -> bool {
        self != PacketStatus::NotReceived
    }
}

/// One packet chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChunk {
    /// `length` packets (at most [`MAX_RUN_LENGTH`]) with the same status.
    RunLength {
        /// Their status.
        status: PacketStatus,
        /// How many.
        length: u16,
    },
    /// 14 one-bit symbols: bit 13 is the first packet, a set bit means
    /// received with a small delta. Bits 14 and 15 must be clear.
    OneBit(u16),
    /// 7 statuses in two-bit symbols.
    TwoBit([PacketStatus; 7]),
}

impl StatusChunk {
    /// How many packets the chunk describes.
    pub fn symbols(&self) -> usize {
        match self {
            StatusChunk::RunLength { length, .. } => *length as usize,
            StatusChunk::OneBit(_) => 14,
            StatusChunk::TwoBit(_) => 7,
        }
    }

    /// The status of the chunk's packet `i` (`i < self.symbols()`).
    pub fn status(&self, i: usize) -> PacketStatus {
        match self {
            StatusChunk::RunLength { status, .. } => *status,
            StatusChunk::OneBit(bits) if bits & (1 << (13 - i)) != 0 => PacketStatus::SmallDelta,
            StatusChunk::OneBit(_) => PacketStatus::NotReceived,
            StatusChunk::TwoBit(s) => s[i],
        }
    }

    fn parse(word: u16) -> Result<Self, RtcpError> {
        Ok(match word >> 14 {
            0 | 1 => StatusChunk::RunLength {
                status: PacketStatus::from_symbol(word >> 13 & 3)?,
                length: word & MAX_RUN_LENGTH,
            },
            2 => StatusChunk::OneBit(word & 0x3fff),
            _ => {
                let mut s = [PacketStatus::NotReceived; 7];
                for (i, status) in s.iter_mut().enumerate() {
                    *status = PacketStatus::from_symbol(word >> (12 - 2 * i) & 3)?;
                }
                StatusChunk::TwoBit(s)
            }
        })
    }

    fn word(&self) -> Result<u16, RtcpError> {
        match self {
            StatusChunk::RunLength { length, .. } if *length > MAX_RUN_LENGTH => {
                Err(RtcpError::unencodable(NAME, "run length above 8191"))
            }
            StatusChunk::RunLength { status, length } => Ok(status.symbol() << 13 | length),
            StatusChunk::OneBit(bits) if *bits > 0x3fff => {
                Err(RtcpError::unencodable(NAME, "one-bit vector with bits set above its 14 symbols"))
            }
            StatusChunk::OneBit(bits) => Ok(0x8000 | bits),
            StatusChunk::TwoBit(s) => {
                Ok(s.iter().enumerate().fold(0xc000, |w, (i, status)| w | status.symbol() << (12 - 2 * i)))
            }
        }
    }
}

/// A transport-wide feedback in its wire form.
///
/// Parsing guarantees the chunks cover `status_count` packets and `deltas`
/// holds exactly one delta per received one among them, so [`Self::packets`]
/// yields `status_count` pairs; a hostile count cannot make it yield more
/// than 65,535, and expansion is lazy (nothing is allocated).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportFeedback {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source (libwebrtc sends the first media SSRC; any works).
    pub media_ssrc: u32,
    /// Transport-wide sequence number of the first packet reported.
    pub base_seq: u16,
    /// How many packets are reported, from `base_seq` on (at least one).
    pub status_count: u16,
    /// Reference time in 64 ms ticks, 24 bits signed (-2^23..2^23).
    pub reference_time: i32,
    /// The sender's count of feedback packets, wrapping at 256: gaps show lost feedback.
    pub feedback_count: u8,
    /// The packet chunks, covering `status_count` packets (the last may describe more).
    pub chunks: Vec<StatusChunk>,
    /// One receive delta per received packet, in 250 µs ticks. A small delta is 0..=255.
    pub deltas: Vec<i16>,
}

/// The statuses the chunks describe, in order.
fn chunk_statuses(chunks: &[StatusChunk]) -> impl Iterator<Item = PacketStatus> + '_ {
    chunks.iter().flat_map(|c| (0..c.symbols()).map(move |i| c.status(i)))
}

impl TransportFeedback {
    /// The status of each reported packet, `status_count` of them.
    pub fn statuses(&self) -> impl Iterator<Item = PacketStatus> + '_ {
        chunk_statuses(&self.chunks).take(self.status_count as usize)
    }

    /// Each reported packet as `(sequence number, arrival time in µs)`, the
    /// arrival `None` when it was not received. Sequence numbers wrap past
    /// 65535. Arrival times are in the feedback sender's clock: the reference
    /// time times 64 ms plus the deltas so far; the 24-bit reference wraps
    /// every 2^24 × 64 ms (about 12.4 days), which callers comparing
    /// feedbacks far apart must unwrap. Stops early on a hand-built value
    /// with fewer deltas than received packets.
    pub fn packets(&self) -> impl Iterator<Item = (u16, Option<i64>)> + '_ {
        let mut time = self.reference_time as i64 * REFERENCE_TICK_US;
        let mut deltas = self.deltas.iter();
        let base = self.base_seq;
        self.statuses().enumerate().map_while(move |(i, status)| {
            let seq = base.wrapping_add(i as u16);
            if !status.is_received() {
                return Some((seq, None));
            }
            time += *deltas.next()? as i64 * DELTA_TICK_US;
            Some((seq, Some(time)))
        })
    }

    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < 16 {
            return Err(RtcpError::too_short(NAME, 16, body.len()));
        }
        let (sender_ssrc, media_ssrc, fci) = feedback_ssrcs(NAME, body)?;
        let status_count = u16_at(fci, 2);
        if status_count == 0 {
            return Err(RtcpError::malformed(NAME, "packet status count is 0"));
        }
        let mut at = 8;
        let mut chunks = Vec::new();
        let mut covered = 0;
        while covered < status_count as usize {
            if fci.len() - at < 2 {
                return Err(RtcpError::malformed(NAME, "packet chunks end before the status count is reached"));
            }
            let chunk = StatusChunk::parse(u16_at(fci, at))?;
            covered += chunk.symbols();
            chunks.push(chunk);
            at += 2;
        }
        let mut deltas = Vec::new();
        for status in chunk_statuses(&chunks).take(status_count as usize) {
            let delta = match status {
                PacketStatus::NotReceived => continue,
                PacketStatus::SmallDelta if at < fci.len() => fci[at] as i16,
                PacketStatus::LargeDelta if fci.len() - at >= 2 => u16_at(fci, at) as i16,
                _ => return Err(RtcpError::malformed(NAME, "receive deltas end before the last received packet")),
            };
            at += if status == PacketStatus::SmallDelta { 1 } else { 2 };
            deltas.push(delta);
        }
        if fci.len() - at > 3 {
            return Err(RtcpError::malformed(NAME, "bytes after the receive deltas"));
        }
        let word = u32_at(fci, 4);
        Ok(TransportFeedback {
            sender_ssrc,
            media_ssrc,
            base_seq: u16_at(fci, 0),
            status_count,
            // The top 24 bits, sign-extended.
            reference_time: (word & 0xffff_ff00) as i32 >> 8,
            feedback_count: word as u8,
            chunks,
            deltas,
        })
    }

    /// Appends the packet to `out`, RTCP-padded to 32 bits as libwebrtc does.
    /// Fails when the fields are inconsistent: a status count of 0, a
    /// reference time outside 24 bits, chunks that do not end right after
    /// covering the status count, a chunk that does not fit 16 bits, or
    /// deltas that do not match the received packets and their sizes.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let unencodable = |reason| Err(RtcpError::unencodable(NAME, reason));
        if self.status_count == 0 {
            return unencodable("packet status count is 0");
        }
        if !(-(1 << 23)..1 << 23).contains(&self.reference_time) {
            return unencodable("reference time outside 24 bits signed");
        }
        let mut covered = 0;
        for chunk in &self.chunks {
            if covered >= self.status_count as usize {
                return unencodable("packet chunks after the status count is covered");
            }
            covered += chunk.symbols();
        }
        if covered < self.status_count as usize {
            return unencodable("packet chunks cover fewer packets than the status count");
        }
        let mut deltas = self.deltas.iter();
        for status in self.statuses().filter(|s| s.is_received()) {
            match (status, deltas.next()) {
                (_, None) => return unencodable("fewer receive deltas than received packets"),
                (PacketStatus::SmallDelta, Some(d)) if !(0..=255).contains(d) => {
                    return unencodable("a small receive delta outside 0..=255 ticks")
                }
                _ => {}
            }
        }
        if deltas.next().is_some() {
            return unencodable("more receive deltas than received packets");
        }
        write_packet(out, NAME, FMT_TWCC, PT_RTPFB, |out| {
            put_feedback_ssrcs(out, self.sender_ssrc, self.media_ssrc);
            out.extend_from_slice(&self.base_seq.to_be_bytes());
            out.extend_from_slice(&self.status_count.to_be_bytes());
            out.extend_from_slice(&((self.reference_time as u32) << 8 | self.feedback_count as u32).to_be_bytes());
            for chunk in &self.chunks {
                out.extend_from_slice(&chunk.word()?.to_be_bytes());
            }
            let mut deltas = self.deltas.iter();
            for status in self.statuses().filter(|s| s.is_received()) {
                let d = *deltas.next().expect("counted above");
                if status == PacketStatus::SmallDelta {
                    out.push(d as u8);
                } else {
                    out.extend_from_slice(&d.to_be_bytes());
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PacketStatus::{LargeDelta as L, NotReceived as N, SmallDelta as S};
    use super::*;

    fn header(base: u16, count: u16, reference: u32, fb: u8) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 1, 0, 0, 0, 2];
        b.extend_from_slice(&base.to_be_bytes());
        b.extend_from_slice(&count.to_be_bytes());
        b.extend_from_slice(&(reference << 8 | fb as u32).to_be_bytes());
        b
    }

    #[test]
    fn chunk_words() {
        let cases = [
            (0x2005, StatusChunk::RunLength { status: S, length: 5 }),
            (0x5fff, StatusChunk::RunLength { status: L, length: 8191 }),
            (0x0000, StatusChunk::RunLength { status: N, length: 0 }),
            (0xa001, StatusChunk::OneBit(0x2001)),
            (0xd900, StatusChunk::TwoBit([S, L, S, N, N, N, N])),
            (0xc002, StatusChunk::TwoBit([N, N, N, N, N, N, L])),
        ];
        for (word, chunk) in cases {
            assert_eq!(StatusChunk::parse(word), Ok(chunk), "{word:04x}");
            assert_eq!(chunk.word(), Ok(word));
        }
        let one = StatusChunk::OneBit(0x2001);
        assert_eq!((one.status(0), one.status(1), one.status(13)), (S, N, S));
        assert_eq!(one.symbols(), 14);
        let reserved = Err(RtcpError::malformed(NAME, "reserved packet status symbol 11"));
        assert_eq!(StatusChunk::parse(0x6001), reserved);
        assert_eq!(StatusChunk::parse(0xc003), reserved);
        assert!(StatusChunk::RunLength { status: S, length: 8192 }.word().is_err());
        assert!(StatusChunk::OneBit(0x4000).word().is_err());
    }

    #[test]
    fn parses_small_large_and_negative_deltas() {
        // base 65534, 4 packets: received small, not received, large (+1 s), large (-1 ms).
        let mut body = header(65534, 4, 0x80_0001, 9);
        body.extend_from_slice(&[0xd2, 0x80]); // 2-bit vector: S N L L N N N
        body.extend_from_slice(&[4, 0x0f, 0xa0, 0xff, 0xfc]); // 1 ms, 4000 ticks, -4 ticks
        let fb = TransportFeedback::parse(&body).unwrap();
        assert_eq!(fb.reference_time, -(1 << 23) + 1);
        assert_eq!(fb.feedback_count, 9);
        assert_eq!(fb.deltas, vec![4, 4000, -4]);
        let base = (-(1i64 << 23) + 1) * REFERENCE_TICK_US;
        assert_eq!(
            fb.packets().collect::<Vec<_>>(),
            vec![(65534, Some(base + 1000)), (65535, None), (0, Some(base + 1_001_000)), (1, Some(base + 1_000_000))]
        );
        let mut out = Vec::new();
        fb.write(&mut out).unwrap();
        // 4 + 23 bytes: padded by 1 with the P bit.
        assert_eq!(&out[..4], &[0xaf, 205, 0, 6]);
        assert_eq!(&out[4..27], &body[..]);
        assert_eq!(&out[27..], &[1]);
    }

    #[test]
    fn trailing_zero_padding_is_accepted() {
        let mut body = header(1, 1, 0, 0);
        body.extend_from_slice(&[0x20, 0x01, 7, 0, 0, 0]);
        let fb = TransportFeedback::parse(&body).unwrap();
        assert_eq!(fb.packets().collect::<Vec<_>>(), vec![(1, Some(7 * 250))]);
        body.push(0);
        assert_eq!(TransportFeedback::parse(&body), Err(RtcpError::malformed(NAME, "bytes after the receive deltas")));
    }

    #[test]
    fn hostile_status_count_expands_only_what_chunks_describe() {
        // 65535 packets described by 9 run-length chunks of "not received".
        let mut body = header(0, u16::MAX, 0, 0);
        for _ in 0..8 {
            body.extend_from_slice(&[0x1f, 0xff]);
        }
        body.extend_from_slice(&[0x00, 0x07]);
        let fb = TransportFeedback::parse(&body).unwrap();
        assert_eq!(fb.packets().count(), 65535);
        assert_eq!(fb.packets().last(), Some((65534, None)));
        // One chunk short: rejected rather than expanded.
        body.truncate(body.len() - 2);
        assert_eq!(
            TransportFeedback::parse(&body),
            Err(RtcpError::malformed(NAME, "packet chunks end before the status count is reached"))
        );
    }

    #[test]
    fn parse_errors() {
        assert_eq!(TransportFeedback::parse(&[0; 15]), Err(RtcpError::too_short(NAME, 16, 15)));
        assert_eq!(
            TransportFeedback::parse(&header(0, 0, 0, 0)),
            Err(RtcpError::malformed(NAME, "packet status count is 0"))
        );
        let mut body = header(0, 2, 0, 0);
        body.extend_from_slice(&[0x40, 0x02, 0x00]); // two large deltas, one byte
        assert_eq!(
            TransportFeedback::parse(&body),
            Err(RtcpError::malformed(NAME, "receive deltas end before the last received packet"))
        );
        let mut body = header(0, 1, 0, 0);
        body.extend_from_slice(&[0x20, 0x01]); // a small delta, no byte
        assert!(TransportFeedback::parse(&body).is_err());
        let mut body = header(0, 1, 0, 0);
        body.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(
            TransportFeedback::parse(&body),
            Err(RtcpError::malformed(NAME, "reserved packet status symbol 11"))
        );
    }

    #[test]
    fn write_errors() {
        let good = TransportFeedback {
            status_count: 2,
            chunks: vec![StatusChunk::RunLength { status: S, length: 2 }],
            deltas: vec![1, 2],
            ..Default::default()
        };
        good.write(&mut Vec::new()).unwrap();
        let cases = [
            (TransportFeedback { status_count: 0, ..good.clone() }, "packet status count is 0"),
            (TransportFeedback { reference_time: 1 << 23, ..good.clone() }, "reference time outside 24 bits signed"),
            (
                TransportFeedback { status_count: 3, ..good.clone() },
                "packet chunks cover fewer packets than the status count",
            ),
            (
                TransportFeedback { chunks: vec![good.chunks[0], good.chunks[0]], ..good.clone() },
                "packet chunks after the status count is covered",
            ),
            (TransportFeedback { deltas: vec![1], ..good.clone() }, "fewer receive deltas than received packets"),
            (TransportFeedback { deltas: vec![1, 2, 3], ..good.clone() }, "more receive deltas than received packets"),
            (TransportFeedback { deltas: vec![1, 256], ..good.clone() }, "a small receive delta outside 0..=255 ticks"),
            (TransportFeedback { deltas: vec![-1, 2], ..good.clone() }, "a small receive delta outside 0..=255 ticks"),
            (
                TransportFeedback { chunks: vec![StatusChunk::RunLength { status: S, length: 9000 }], ..good.clone() },
                "run length above 8191",
            ),
        ];
        for (fb, reason) in cases {
            let mut out = vec![1];
            assert_eq!(fb.write(&mut out), Err(RtcpError::unencodable(NAME, reason)));
            assert_eq!(out, [1]);
        }
        let min = TransportFeedback { reference_time: -(1 << 23), ..good };
        let mut out = Vec::new();
        min.write(&mut out).unwrap();
        assert_eq!(TransportFeedback::parse(&out[4..]).unwrap(), min);
    }
}
