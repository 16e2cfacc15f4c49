//! DATA (RFC 9260 3.3.1) and I-DATA (RFC 8260 2.1).
//!
//! ```text
//! DATA:   TSN | stream (2) | SSN (2) | PPID | user data
//! I-DATA: TSN | stream (2) | reserved (2) | MID | PPID (first fragment) or FSN | user data
//! flags: I (bit 3, immediate SACK), U (bit 2, unordered), B (bit 1, first), E (bit 0, last)
//! ```

use bytes::{BufMut, Bytes};

use super::be32;
use crate::error::ParseError;

/// A DATA or I-DATA chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataChunk {
    /// Transmission sequence number.
    pub tsn: u32,
    /// Stream identifier.
    pub stream: u16,
    /// DATA: the stream sequence number (16 bits); I-DATA: the message identifier.
    pub mid: u32,
    /// Payload protocol identifier. On I-DATA it is only on the wire in the first fragment;
    /// decoded as 0 on the others.
    pub ppid: u32,
    /// I-DATA fragment sequence number (0 for the first fragment and for DATA).
    pub fsn: u32,
    /// U: unordered.
    pub unordered: bool,
    /// B: first fragment.
    pub beginning: bool,
    /// E: last fragment.
    pub ending: bool,
    /// I: the receiver should SACK at once (RFC 7053).
    pub immediate: bool,
    /// True for I-DATA (RFC 8260), false for DATA.
    pub interleaved: bool,
    /// User data (never empty on the wire).
    pub payload: Bytes,
}

impl DataChunk {
    /// Header bytes before the payload, including the 4-byte chunk header.
    pub fn header_len(interleaved: bool) -> usize {
        if interleaved {
            20
        } else {
            16
        }
    }

    pub(crate) fn flags(&self) -> u8 {
        (self.immediate as u8) << 3 | (self.unordered as u8) << 2 | (self.beginning as u8) << 1 | self.ending as u8
    }

    pub(crate) fn parse(flags: u8, v: Bytes, interleaved: bool) -> Result<DataChunk, ParseError> {
        let hl = Self::header_len(interleaved) - 4;
        let what = if interleaved { "I-DATA" } else { "DATA" };
        if v.len() <= hl {
            // RFC 9260: a DATA chunk with no user data is a protocol violation.
            return Err(ParseError::Truncated { what, need: hl + 1, have: v.len() });
        }
        let tsn = be32(&v, 0).unwrap_or_default();
        let stream = u16::from_be_bytes([v[4], v[5]]);
        let beginning = flags & 2 != 0;
        let (mid, ppid, fsn) = if interleaved {
            let mid = be32(&v, 8).unwrap_or_default();
            let x = be32(&v, 12).unwrap_or_default();
            if beginning {
                (mid, x, 0)
            } else {
                (mid, 0, x)
            }
        } else {
            (u16::from_be_bytes([v[6], v[7]]) as u32, be32(&v, 8).unwrap_or_default(), 0)
        };
        Ok(DataChunk {
            tsn,
            stream,
            mid,
            ppid,
            fsn,
            unordered: flags & 4 != 0,
            beginning,
            ending: flags & 1 != 0,
            immediate: flags & 8 != 0,
            interleaved,
            payload: v.slice(hl..),
        })
    }

    pub(crate) fn value_len(&self) -> usize {
        Self::header_len(self.interleaved) - 4 + self.payload.len()
    }

    /// Writes the whole chunk: header, value and padding.
    pub(crate) fn write_chunk(&self, out: &mut Vec<u8>) {
        out.put_u8(if self.interleaved { super::kind::I_DATA } else { super::kind::DATA });
        out.put_u8(self.flags());
        out.put_u16((4 + self.value_len()) as u16);
        self.write_value(out);
        super::pad_to4(out);
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        out.put_u32(self.tsn);
        out.put_u16(self.stream);
        if self.interleaved {
            out.put_u16(0);
            out.put_u32(self.mid);
            out.put_u32(if self.beginning { self.ppid } else { self.fsn });
        } else {
            out.put_u16(self.mid as u16);
            out.put_u32(self.ppid);
        }
        out.extend_from_slice(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    fn sample(interleaved: bool, beginning: bool) -> DataChunk {
        DataChunk {
            tsn: 0xfffffffe,
            stream: 7,
            mid: if interleaved { 0x01020304 } else { 513 },
            ppid: if beginning { 51 } else { 0 },
            fsn: if beginning { 0 } else { 9 },
            unordered: true,
            beginning,
            ending: false,
            immediate: true,
            interleaved,
            payload: Bytes::from_static(b"hello"),
        }
    }

    #[test]
    fn data_and_idata_round_trip() {
        for i in [false, true] {
            for b in [false, true] {
                if !i && !b {
                    continue; // DATA has no FSN; a middle fragment keeps its PPID
                }
                let c = Chunk::Data(sample(i, b));
                assert_eq!(round_trip(&c), c);
            }
        }
    }

    #[test]
    fn direct_write_matches_the_generic_one() {
        let d = sample(true, false);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        d.write_chunk(&mut a);
        Chunk::Data(d).write(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_or_short_data_is_rejected() {
        for n in 0..=12 {
            assert!(DataChunk::parse(3, Bytes::from(vec![0; n]), false).is_err());
        }
        assert!(DataChunk::parse(3, Bytes::from(vec![0; 16]), true).is_err());
        assert!(DataChunk::parse(3, Bytes::from(vec![0; 13]), false).is_ok());
    }
}
