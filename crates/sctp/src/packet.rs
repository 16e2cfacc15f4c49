//! The SCTP common header (RFC 9260 3.1) and the CRC32c checksum (RFC 9260 appendix A),
//! or its absence under RFC 9653 (zero checksum).
//!
//! ```text
//! source port (2) | destination port (2) | verification tag (4) | checksum (4) | chunks
//! ```
//! The CRC32c is computed with the checksum field zeroed and stored little-endian
//! (the reflected CRC's natural byte order), as every SCTP implementation does.

use bytes::{BufMut, Bytes};

use crate::chunk::{pad4, Chunk};
use crate::error::ParseError;

/// Size of the common header.
pub const HEADER_LEN: usize = 12;

/// The common header of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommonHeader {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub vtag: u32,
    /// Checksum field as on the wire (0 under zero checksum).
    pub checksum: u32,
}

impl CommonHeader {
    /// Reads the header of `b`.
    pub fn parse(b: &[u8]) -> Result<CommonHeader, ParseError> {
        let h: &[u8; HEADER_LEN] = b
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(ParseError::Truncated { what: "SCTP common header", need: HEADER_LEN, have: b.len() })?;
        Ok(CommonHeader {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            vtag: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            checksum: u32::from_le_bytes([h[8], h[9], h[10], h[11]]),
        })
    }
}

/// The CRC32c of a whole packet, computed as if its checksum field were zero.
pub fn checksum(b: &[u8]) -> u32 {
    if b.len() < HEADER_LEN {
        return 0;
    }
    let c = crc32c::crc32c(&b[..8]);
    let c = crc32c::crc32c_append(c, &[0; 4]);
    crc32c::crc32c_append(c, &b[HEADER_LEN..])
}

/// Iterates the chunks of a packet body as `(type, flags, value)`; a bad length ends the
/// iteration with an error.
pub fn chunks(packet: &Bytes) -> impl Iterator<Item = Result<(u8, u8, Bytes), ParseError>> + '_ {
    let mut at = HEADER_LEN;
    std::iter::from_fn(move || {
        if at >= packet.len() {
            return None;
        }
        let rest = &packet[at..];
        if rest.len() < 4 {
            at = packet.len();
            return Some(Err(ParseError::Truncated { what: "chunk header", need: 4, have: rest.len() }));
        }
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        if len < 4 || len > rest.len() {
            at = packet.len();
            return Some(Err(ParseError::BadLength { what: "chunk", len }));
        }
        let item = (rest[0], rest[1], packet.slice(at + 4..at + len));
        at += pad4(len).min(rest.len());
        Some(Ok(item))
    })
}

/// A fully decoded packet (used by tests and the fuzzer; the association decodes lazily).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The common header.
    pub header: CommonHeader,
    /// Its chunks, in order.
    pub chunks: Vec<Chunk>,
}

impl Packet {
    /// Decodes `b`; checks the CRC32c unless `accept_zero_checksum` and the field is 0.
    pub fn decode(b: &[u8], accept_zero_checksum: bool) -> Result<Packet, ParseError> {
        let header = CommonHeader::parse(b)?;
        if !(accept_zero_checksum && header.checksum == 0) && checksum(b) != header.checksum {
            return Err(ParseError::BadChecksum);
        }
        let b = Bytes::copy_from_slice(b);
        let chunks = chunks(&b).map(|c| c.and_then(|(t, f, v)| Chunk::parse(t, f, v))).collect::<Result<_, _>>()?;
        Ok(Packet { header, chunks })
    }

    /// Encodes the packet with a CRC32c, or a zero checksum when `zero_checksum`.
    pub fn encode(&self, zero_checksum: bool) -> Vec<u8> {
        let mut w = PacketWriter::new(self.header.src_port, self.header.dst_port, self.header.vtag, 1 << 16);
        for c in &self.chunks {
            w.push(c);
        }
        w.finish(zero_checksum)
    }
}

/// Builds one packet: header, chunks, then the checksum.
pub(crate) struct PacketWriter {
    buf: Vec<u8>,
}

impl PacketWriter {
    pub(crate) fn new(src: u16, dst: u16, vtag: u32, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.put_u16(src);
        buf.put_u16(dst);
        buf.put_u32(vtag);
        buf.put_u32(0);
        PacketWriter { buf }
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    pub(crate) fn push(&mut self, c: &Chunk) {
        c.write(&mut self.buf);
    }

    /// Writes a DATA or I-DATA chunk without wrapping it in a [`Chunk`] (no clone).
    pub(crate) fn push_data(&mut self, d: &crate::chunk::DataChunk) {
        d.write_chunk(&mut self.buf);
    }

    pub(crate) fn finish(mut self, zero_checksum: bool) -> Vec<u8> {
        let c = if zero_checksum { 0 } else { checksum(&self.buf) };
        self.buf[8..12].copy_from_slice(&c.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_rfc_3720_vector() {
        // 32 bytes of zeros: CRC32c 0x8a9136aa (RFC 3720 B.4).
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a9136aa);
    }

    #[test]
    fn checksum_matches_scapys_init_vector() {
        // Scapy's regression test: an INIT with one IPv4 address parameter; its checksum
        // bytes on the wire are 40 2c 0b 5f.
        let mut b = vec![0u8; 12];
        b[8..12].copy_from_slice(&[0x40, 0x2c, 0x0b, 0x5f]);
        b.extend_from_slice(&[1, 0, 0, 0x1c]);
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[0, 5, 0, 8, 0x7f, 0, 0, 1]);
        let h = CommonHeader::parse(&b).unwrap();
        assert_eq!(checksum(&b), h.checksum);
    }

    #[test]
    fn packet_round_trips_and_detects_corruption() {
        let p = Packet {
            header: CommonHeader { src_port: 5000, dst_port: 5000, vtag: 0x11223344, checksum: 0 },
            chunks: vec![Chunk::CookieAck, Chunk::Shutdown { cum_tsn_ack: 9 }],
        };
        let b = p.encode(false);
        let d = Packet::decode(&b, false).unwrap();
        assert_eq!(d.chunks, p.chunks);
        assert_eq!(d.header.checksum, checksum(&b));
        let mut bad = b.clone();
        bad[13] ^= 1;
        assert_eq!(Packet::decode(&bad, false), Err(ParseError::BadChecksum));
        let z = p.encode(true);
        assert_eq!(&z[8..12], &[0; 4]);
        assert!(Packet::decode(&z, false).is_err());
        assert!(Packet::decode(&z, true).is_ok());
    }

    #[test]
    fn bad_chunk_lengths_are_errors() {
        let mut b = Packet {
            header: CommonHeader { src_port: 1, dst_port: 2, vtag: 3, checksum: 0 },
            chunks: vec![Chunk::Shutdown { cum_tsn_ack: 9 }],
        }
        .encode(true);
        for len in [0u16, 3, 9, 200] {
            b[14..16].copy_from_slice(&len.to_be_bytes());
            assert!(Packet::decode(&b, true).is_err(), "length {len}");
        }
        assert!(Packet::decode(&b[..11], true).is_err());
        assert!(Packet::decode(&b[..14], true).is_err());
    }
}
