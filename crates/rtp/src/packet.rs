//! RTP packets (RFC 3550 §5.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           timestamp                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                             SSRC                              |
//! +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
//! |                  CSRC list (CC items, 0..=15)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  defined by profile (X=1)     |  length in 32-bit words       |
//! |                  header extension (RFC 8285)                  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            payload                            |
//! |                               +-------------------------------+
//! |                               | padding (P=1) ...   | count   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`RtpPacket::parse`] takes the datagram as [`Bytes`] and slices the payload (and the
//! padding) out of it without copying; the header fields land in an owned [`RtpHeader`],
//! whose CSRC list and extension elements are stored inline. [`RtpPacket::write`] and
//! [`RtpPacket::write_to`] serialize into a caller's buffer, and write back what was parsed
//! byte for byte. The same [`RtpHeader`] is the send side's builder.
//!
//! ```
//! use bytes::Bytes;
//! use rtp::packet::{RtpHeader, RtpPacket};
//!
//! let mut header = RtpHeader { payload_type: 111, sequence_number: 7, timestamp: 960, ssrc: 0x1234, ..Default::default() };
//! header.marker = true;
//! header.extensions.set(1, &[0x80 | 30]).unwrap(); // audio level, id 1 in the session's map
//! let packet = RtpPacket::new(header, Bytes::from_static(b"opus"));
//! let mut wire = Vec::new();
//! packet.write(&mut wire).unwrap();
//!
//! let back = RtpPacket::parse(Bytes::from(wire.clone())).unwrap();
//! assert_eq!(back.header.sequence_number, 7);
//! assert_eq!(back.header.extensions.get(1), Some(&[0x80 | 30][..]));
//! assert_eq!(&back.payload[..], b"opus");
//! let mut again = Vec::new();
//! back.write(&mut again).unwrap();
//! assert_eq!(again, wire);
//! ```
//!
//! Every parse error is noise to drop and count; none is fatal to a session.

mod seq;

use std::ops::Deref;

use bytes::Bytes;

pub use seq::{
    extend_seq, extend_timestamp, seq_diff, seq_newer, timestamp_diff, timestamp_newer, SeqTracker, SeqUpdate,
    MAX_DROPOUT, MAX_MISORDER, MIN_SEQUENTIAL,
};

use crate::extension::{ExtensionError, Extensions};

/// The RTP version, the top two bits of every packet.
pub const VERSION: u8 = 2;
/// The fixed part of the header: 12 bytes.
pub const FIXED_HEADER_LEN: usize = 12;
/// The most CSRCs a header can list (4 bits of count).
pub const MAX_CSRCS: usize = 15;

/// Why bytes are not an RTP packet, or a packet cannot be written.
///
/// The parse errors are noise: drop the datagram, count it, carry on. The write errors
/// are the caller's (a payload type above 127, a buffer too small).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Fewer bytes than the fixed header.
    #[error("RTP packet of {0} bytes is shorter than the 12-byte fixed header")]
    TooShort(usize),
    /// The version bits are not 2.
    #[error("RTP version {0}, expected 2: not an RTP packet")]
    BadVersion(u8),
    /// The CSRC count runs past the end of the packet.
    #[error("RTP header lists {count} CSRCs, {needed} header bytes, but the packet has {len}")]
    CsrcsTruncated {
        /// The CC field.
        count: usize,
        /// The header bytes the CSRCs need.
        needed: usize,
        /// The packet's length.
        len: usize,
    },
    /// The X bit is set but the 4-byte extension header is cut off.
    #[error("RTP X bit set but the packet ends before the extension header ({len} bytes, {needed} needed)")]
    ExtensionHeaderTruncated {
        /// The header bytes the extension header needs.
        needed: usize,
        /// The packet's length.
        len: usize,
    },
    /// The extension length runs past the end of the packet.
    #[error("RTP header extension declares {declared} bytes but only {available} follow its header")]
    ExtensionTruncated {
        /// The extension body length (the length field times 4).
        declared: usize,
        /// The bytes after the extension header.
        available: usize,
    },
    /// An extension element is malformed (RFC 8285).
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    /// The P bit is set but no byte follows the header to hold the padding count.
    #[error("RTP P bit set but the packet ends with its header: no padding count")]
    PaddingMissing,
    /// The padding count is 0; it counts itself, so it is at least 1.
    #[error("RTP padding count is 0; it counts itself, so it must be at least 1")]
    PaddingZero,
    /// The padding count is larger than what follows the header.
    #[error("RTP padding count {padding} is more than the {available} bytes after the header")]
    PaddingTooLong {
        /// The padding count (the last byte).
        padding: usize,
        /// The bytes after the header.
        available: usize,
    },
    /// A payload type above 127 (it has 7 bits).
    #[error("RTP payload type {0} does not fit 7 bits (0..=127)")]
    InvalidPayloadType(u8),
    /// More than 15 CSRCs.
    #[error("an RTP header lists at most 15 CSRCs")]
    TooManyCsrcs,
    /// Padding bytes whose last byte is not their count.
    #[error("RTP padding of {len} bytes ends with {last}; its last byte must be its length (use set_padding)")]
    InvalidPadding {
        /// The padding's length.
        len: usize,
        /// Its last byte.
        last: u8,
    },
    /// The caller's buffer is too small.
    #[error("buffer of {available} bytes is too small for the {needed}-byte RTP packet")]
    BufferTooSmall {
        /// The packet's length.
        needed: usize,
        /// The buffer's length.
        available: usize,
    },
}

/// The contributing sources of a packet: up to 15 SSRCs, stored inline.
#[derive(Clone, Copy, Default)]
pub struct Csrcs {
    len: u8,
    ids: [u32; MAX_CSRCS],
}

impl Csrcs {
    /// No CSRCs.
    pub fn new() -> Self {
        Self::default()
    }

    /// The given CSRCs, at most 15.
    pub fn from_slice(ids: &[u32]) -> Result<Self, RtpError> {
        let mut csrcs = Self::new();
        for &id in ids {
            csrcs.push(id)?;
        }
        Ok(csrcs)
    }

    /// Appends a CSRC; fails when 15 are listed.
    pub fn push(&mut self, id: u32) -> Result<(), RtpError> {
        let slot = self.ids.get_mut(self.len as usize).ok_or(RtpError::TooManyCsrcs)?;
        *slot = id;
        self.len += 1;
        Ok(())
    }

    /// Removes every CSRC.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}

impl Deref for Csrcs {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        &self.ids[..self.len as usize]
    }
}

impl PartialEq for Csrcs {
    fn eq(&self, other: &Self) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Csrcs {}

impl std::fmt::Debug for Csrcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The header of an RTP packet, parsed or to be sent. The version is always 2; the P bit
/// belongs to the packet ([`RtpPacket::padding`]); the X bit is set when
/// [`extensions`](Self::extensions) has a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpHeader {
    /// M: the profile's marker (the last packet of a video frame, the first of a talkspurt).
    pub marker: bool,
    /// PT: the payload type, 0..=127, mapped to a codec by the SDP.
    pub payload_type: u8,
    /// The sequence number, +1 per packet of the source.
    pub sequence_number: u16,
    /// The sampling instant of the first payload byte, in the codec's clock rate.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// The contributing sources (set by mixers).
    pub csrcs: Csrcs,
    /// The header extension elements (RFC 8285).
    pub extensions: Extensions,
}

impl RtpHeader {
    /// Parses the header at the start of `buf`; returns it and its length in bytes (where
    /// the payload starts). The P bit is not looked at: [`RtpPacket::parse`] handles it.
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<(Self, usize), RtpError> {
        if buf.len() < FIXED_HEADER_LEN {
            return Err(RtpError::TooShort(buf.len()));
        }
        let version = buf[0] >> 6;
        if version != VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let word = |at: usize| u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
        let count = (buf[0] & 0x0F) as usize;
        let mut at = FIXED_HEADER_LEN + 4 * count;
        if buf.len() < at {
            return Err(RtpError::CsrcsTruncated { count, needed: at, len: buf.len() });
        }
        let mut csrcs = Csrcs::new();
        csrcs.len = count as u8;
        for (i, id) in csrcs.ids[..count].iter_mut().enumerate() {
            *id = word(FIXED_HEADER_LEN + 4 * i);
        }
        let mut extensions = Extensions::new();
        if buf[0] & 0x10 != 0 {
            if buf.len() < at + 4 {
                return Err(RtpError::ExtensionHeaderTruncated { needed: at + 4, len: buf.len() });
            }
            let profile = u16::from_be_bytes([buf[at], buf[at + 1]]);
            let declared = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize * 4;
            at += 4;
            let available = buf.len() - at;
            if declared > available {
                return Err(RtpError::ExtensionTruncated { declared, available });
            }
            extensions = Extensions::parse(profile, &buf[at..at + declared])?;
            at += declared;
        }
        let header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence_number: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: word(4),
            ssrc: word(8),
            csrcs,
            extensions,
        };
        Ok((header, at))
    }

    /// The header's length in bytes.
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + self.extensions.encoded_len()
    }

    /// Writes the header (P bit clear) at the start of `out`; returns its length.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        if self.payload_type > 0x7F {
            return Err(RtpError::InvalidPayloadType(self.payload_type));
        }
        let len = self.encoded_len();
        if out.len() < len {
            return Err(RtpError::BufferTooSmall { needed: len, available: out.len() });
        }
        let x = if self.extensions.is_present() { 0x10 } else { 0 };
        out[0] = VERSION << 6 | x | self.csrcs.len() as u8;
        out[1] = (self.marker as u8) << 7 | self.payload_type;
        out[2..4].copy_from_slice(&self.sequence_number.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = FIXED_HEADER_LEN;
        for id in self.csrcs.iter() {
            out[at..at + 4].copy_from_slice(&id.to_be_bytes());
            at += 4;
        }
        at += self.extensions.write_to(&mut out[at..]);
        debug_assert_eq!(at, len);
        Ok(len)
    }

    /// Appends the header (P bit clear) to `out`; returns its length. On error `out` is
    /// unchanged.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<usize, RtpError> {
        append(out, self.encoded_len(), |buf| self.write_to(buf))
    }
}

/// Grows `out` by `len` bytes, lets `write` fill them, and shrinks it back on error.
fn append(
    out: &mut Vec<u8>,
    len: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize, RtpError>,
) -> Result<usize, RtpError> {
    let start = out.len();
    out.resize(start + len, 0);
    let written = write(&mut out[start..]);
    out.truncate(start + *written.as_ref().unwrap_or(&0));
    written
}

/// An RTP packet: its header, its payload and its padding, the latter two sharing the
/// received datagram's memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtpPacket {
    /// The header.
    pub header: RtpHeader,
    /// The payload, between the header and the padding.
    pub payload: Bytes,
    /// The padding (P bit), the count in its last byte included; empty when there is none.
    /// Parsed padding keeps its bytes so the packet writes back unchanged; build new
    /// padding with [`set_padding`](Self::set_padding).
    pub padding: Bytes,
}

impl RtpPacket {
    /// A packet without padding.
    pub fn new(header: RtpHeader, payload: Bytes) -> Self {
        Self { header, payload, padding: Bytes::new() }
    }

    /// Parses a datagram. The payload and padding are slices of `buf`: nothing is copied
    /// but the header fields (and the extension block, inline).
    #[inline]
    pub fn parse(buf: Bytes) -> Result<Self, RtpError> {
        let (header, header_len) = RtpHeader::parse(&buf)?;
        let mut end = buf.len();
        if buf[0] & 0x20 != 0 {
            let available = end - header_len;
            let padding = *buf[header_len..].last().ok_or(RtpError::PaddingMissing)? as usize;
            if padding == 0 {
                return Err(RtpError::PaddingZero);
            }
            if padding > available {
                return Err(RtpError::PaddingTooLong { padding, available });
            }
            end -= padding;
        }
        Ok(Self { header, payload: buf.slice(header_len..end), padding: buf.slice(end..) })
    }

    /// Sets `len` bytes of padding, zeros and then the count; 0 removes it. Senders pad to
    /// a block size or send padding-only packets to probe bandwidth.
    pub fn set_padding(&mut self, len: u8) {
        self.padding = match len {
            0 => Bytes::new(),
            len => {
                let mut padding = vec![0; len as usize];
                padding[len as usize - 1] = len;
                Bytes::from(padding)
            }
        };
    }

    /// The packet's length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.payload.len() + self.padding.len()
    }

    /// Writes the packet at the start of `out`; returns its length.
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, RtpError> {
        if let Some(&last) = self.padding.last() {
            if self.padding.len() > 255 || last as usize != self.padding.len() {
                return Err(RtpError::InvalidPadding { len: self.padding.len(), last });
            }
        }
        let len = self.encoded_len();
        if out.len() < len {
            return Err(RtpError::BufferTooSmall { needed: len, available: out.len() });
        }
        let mut at = self.header.write_to(out)?;
        if !self.padding.is_empty() {
            out[0] |= 0x20;
        }
        for part in [&self.payload, &self.padding] {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        Ok(at)
    }

    /// Appends the packet to `out`; returns its length. On error `out` is unchanged.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<usize, RtpError> {
        append(out, self.encoded_len(), |buf| self.write_to(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::ONE_BYTE_PROFILE;

    fn parse(wire: &[u8]) -> Result<RtpPacket, RtpError> {
        RtpPacket::parse(Bytes::copy_from_slice(wire))
    }

    fn round_trip(wire: &[u8]) -> RtpPacket {
        let packet = parse(wire).unwrap();
        let mut out = vec![0xEE; 3];
        assert_eq!(packet.write(&mut out).unwrap(), wire.len());
        assert_eq!(&out[3..], wire, "written back byte for byte");
        assert_eq!(packet.encoded_len(), wire.len());
        packet
    }

    const FIXED: [u8; 12] = [0x80, 0x60, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04];

    #[test]
    fn fixed_header_fields() {
        let wire = [&FIXED[..], b"payload"].concat();
        let p = round_trip(&wire);
        let h = &p.header;
        assert!(!h.marker);
        assert_eq!(h.payload_type, 96);
        assert_eq!(h.sequence_number, 0x1234);
        assert_eq!(h.timestamp, 0xDEADBEEF);
        assert_eq!(h.ssrc, 0x01020304);
        assert!(h.csrcs.is_empty());
        assert!(!h.extensions.is_present());
        assert_eq!(&p.payload[..], b"payload");
        assert!(p.padding.is_empty());
        let mut marked = wire.clone();
        marked[1] = 0xFF;
        let p = round_trip(&marked);
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 127);
        // A header alone is a packet with an empty payload.
        assert!(round_trip(&FIXED).payload.is_empty());
    }

    #[test]
    fn payload_is_not_copied() {
        let buf = Bytes::from([&FIXED[..], b"payload"].concat());
        let p = RtpPacket::parse(buf.clone()).unwrap();
        assert_eq!(p.payload.as_ptr(), buf[12..].as_ptr());
    }

    #[test]
    fn csrc_list() {
        let mut wire = FIXED.to_vec();
        wire[0] = 0x82;
        wire.extend_from_slice(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]);
        wire.extend_from_slice(b"x");
        let p = round_trip(&wire);
        assert_eq!(&p.header.csrcs[..], &[1, u32::MAX]);
        assert_eq!(&p.payload[..], b"x");
        let mut full = FIXED.to_vec();
        full[0] = 0x8F;
        full.extend((0..60).map(|i| i as u8));
        let p = round_trip(&full);
        assert_eq!(p.header.csrcs.len(), 15);
        assert_eq!(p.header.csrcs[14], 0x38393A3B);
    }

    #[test]
    fn csrcs_type() {
        let mut c = Csrcs::from_slice(&[1, 2, 3]).unwrap();
        assert_eq!(format!("{c:?}"), "[1, 2, 3]");
        assert_eq!(c, Csrcs::from_slice(&[1, 2, 3]).unwrap());
        c.clear();
        assert!(c.is_empty());
        assert_eq!(Csrcs::from_slice(&[7; 16]), Err(RtpError::TooManyCsrcs));
        let mut full = Csrcs::from_slice(&[7; 15]).unwrap();
        assert_eq!(full.push(8), Err(RtpError::TooManyCsrcs));
        assert_eq!(full.len(), 15);
    }

    #[test]
    fn extension_block() {
        let mut wire = FIXED.to_vec();
        wire[0] = 0x90;
        wire.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAB, 0, 0]);
        wire.extend_from_slice(b"pl");
        let p = round_trip(&wire);
        assert_eq!(p.header.extensions.profile(), Some(ONE_BYTE_PROFILE));
        assert_eq!(p.header.extensions.get(1), Some(&[0xAB][..]));
        assert_eq!(&p.payload[..], b"pl");
        // An empty block still sets X and is written back.
        let mut empty = FIXED.to_vec();
        empty[0] = 0x90;
        empty.extend_from_slice(&[0xBE, 0xDE, 0, 0]);
        let p = round_trip(&empty);
        assert!(p.header.extensions.is_present() && p.header.extensions.is_empty());
        // CSRCs and an extension together: the block follows the CSRCs.
        let mut both = FIXED.to_vec();
        both[0] = 0x91;
        both.extend_from_slice(&[0, 0, 0, 9, 0x10, 0x00, 0, 1, 5, 1, 0xCD, 0]);
        let p = round_trip(&both);
        assert_eq!(&p.header.csrcs[..], &[9]);
        assert_eq!(p.header.extensions.get(5), Some(&[0xCD][..]));
    }

    #[test]
    fn padding() {
        let mut wire = FIXED.to_vec();
        wire[0] = 0xA0;
        wire.extend_from_slice(&[1, 2, 3, 0xAA, 0xBB, 0, 3]);
        let p = round_trip(&wire);
        assert_eq!(&p.payload[..], &[1, 2, 3, 0xAA]);
        assert_eq!(&p.padding[..], &[0xBB, 0, 3], "padding bytes are kept as received");
        // Padding only: the count covers everything after the header (bandwidth probes).
        let mut probe = FIXED.to_vec();
        probe[0] = 0xA0;
        probe.extend_from_slice(&[0, 0, 0, 4]);
        let p = round_trip(&probe);
        assert!(p.payload.is_empty());
        assert_eq!(p.padding.len(), 4);
    }

    #[test]
    fn set_padding_builds_valid_padding() {
        let mut p = RtpPacket::new(RtpHeader { payload_type: 100, ..Default::default() }, Bytes::from_static(b"ab"));
        p.set_padding(3);
        let mut wire = Vec::new();
        p.write(&mut wire).unwrap();
        assert_eq!(wire[0], 0xA0);
        assert_eq!(&wire[12..], &[b'a', b'b', 0, 0, 3]);
        assert_eq!(parse(&wire).unwrap(), p);
        p.set_padding(0);
        assert!(p.padding.is_empty());
        wire.clear();
        p.write(&mut wire).unwrap();
        assert_eq!(wire[0], 0x80);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse(&[]), Err(RtpError::TooShort(0)));
        assert_eq!(parse(&FIXED[..11]), Err(RtpError::TooShort(11)));
        for (byte, version) in [(0x00, 0), (0x40, 1), (0xC0, 3)] {
            let mut wire = FIXED;
            wire[0] = byte;
            assert_eq!(parse(&wire), Err(RtpError::BadVersion(version)));
        }
        let mut csrcs = FIXED.to_vec();
        csrcs[0] = 0x83;
        csrcs.extend_from_slice(&[0; 11]);
        assert_eq!(parse(&csrcs), Err(RtpError::CsrcsTruncated { count: 3, needed: 24, len: 23 }));
        let mut ext = FIXED.to_vec();
        ext[0] = 0x90;
        ext.extend_from_slice(&[0xBE, 0xDE, 0]);
        assert_eq!(parse(&ext), Err(RtpError::ExtensionHeaderTruncated { needed: 16, len: 15 }));
        ext.extend_from_slice(&[2, 0x10, 1, 0, 0, 0]);
        assert_eq!(parse(&ext), Err(RtpError::ExtensionTruncated { declared: 8, available: 5 }));
        let mut element = FIXED.to_vec();
        element[0] = 0x90;
        element.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x14, 1, 2, 3]);
        assert_eq!(
            parse(&element),
            Err(RtpError::Extension(ExtensionError::Truncated { id: 1, len: 5, available: 3 }))
        );
        let mut pad = FIXED;
        pad[0] = 0xA0;
        assert_eq!(parse(&pad), Err(RtpError::PaddingMissing));
        let zero = [&pad[..], &[1, 0]].concat();
        assert_eq!(parse(&zero), Err(RtpError::PaddingZero));
        let long = [&pad[..], &[1, 2, 4]].concat();
        assert_eq!(parse(&long), Err(RtpError::PaddingTooLong { padding: 4, available: 3 }));
        // Padding cannot reach into the header, even with CSRCs and an extension.
        let mut deep = FIXED.to_vec();
        deep[0] = 0xB1;
        deep.extend_from_slice(&[0, 0, 0, 1, 0xBE, 0xDE, 0, 0, 2]);
        assert_eq!(parse(&deep), Err(RtpError::PaddingTooLong { padding: 2, available: 1 }));
    }

    #[test]
    fn error_messages_say_what_is_wrong() {
        let msg = RtpError::CsrcsTruncated { count: 3, needed: 24, len: 23 }.to_string();
        assert!(msg.contains("3 CSRCs") && msg.contains("23"), "{msg}");
        assert!(RtpError::BadVersion(1).to_string().contains("version 1"));
        let ext = RtpError::from(ExtensionError::HeaderTruncated(7)).to_string();
        assert!(ext.contains("id 7"), "{ext}");
    }

    #[test]
    fn write_errors() {
        let header = RtpHeader { payload_type: 128, ..Default::default() };
        let mut out = vec![1, 2];
        assert_eq!(header.write(&mut out), Err(RtpError::InvalidPayloadType(128)));
        assert_eq!(out, [1, 2], "unchanged on error");
        let p = RtpPacket::new(RtpHeader::default(), Bytes::from_static(b"abc"));
        assert_eq!(p.write_to(&mut [0; 14]), Err(RtpError::BufferTooSmall { needed: 15, available: 14 }));
        assert_eq!(p.header.write_to(&mut [0; 11]), Err(RtpError::BufferTooSmall { needed: 12, available: 11 }));
        let mut buf = [0; 15];
        assert_eq!(p.write_to(&mut buf), Ok(15));
        let bad = RtpPacket { padding: Bytes::from_static(&[0, 0, 2]), ..p.clone() };
        assert_eq!(bad.write(&mut out), Err(RtpError::InvalidPadding { len: 3, last: 2 }));
        let huge = RtpPacket { padding: Bytes::from(vec![0; 300]), ..p };
        assert!(matches!(huge.write(&mut out), Err(RtpError::InvalidPadding { len: 300, .. })));
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn header_writer_for_the_send_side() {
        let mut header = RtpHeader {
            marker: true,
            payload_type: 111,
            sequence_number: 65535,
            timestamp: 48_000,
            ssrc: 0xCAFE_F00D,
            csrcs: Csrcs::from_slice(&[0x11, 0x22]).unwrap(),
            extensions: Extensions::new(),
        };
        header.extensions.set(3, &[0, 1]).unwrap();
        let mut out = Vec::new();
        let len = header.write(&mut out).unwrap();
        assert_eq!(len, 12 + 8 + 8);
        assert_eq!(
            out,
            [
                0x92, 0xEF, 0xFF, 0xFF, 0, 0, 0xBB, 0x80, 0xCA, 0xFE, 0xF0, 0x0D, 0, 0, 0, 0x11, 0, 0, 0, 0x22, 0xBE,
                0xDE, 0, 1, 0x31, 0, 1, 0
            ]
        );
        let (back, back_len) = RtpHeader::parse(&out).unwrap();
        assert_eq!(back_len, len);
        assert_eq!(back.extensions.get(3), Some(&[0, 1][..]));
        assert_eq!((back.marker, back.payload_type, back.sequence_number), (true, 111, 65535));
        assert_eq!((back.timestamp, back.ssrc), (48_000, 0xCAFE_F00D));
        assert_eq!(back.csrcs, header.csrcs);
    }
}
