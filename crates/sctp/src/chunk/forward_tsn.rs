//! FORWARD-TSN (RFC 3758 3.2) and I-FORWARD-TSN (RFC 8260 2.3.1).
//!
//! ```text
//! FORWARD-TSN:   new cumulative TSN | (stream (2) | SSN (2))*
//! I-FORWARD-TSN: new cumulative TSN | (stream (2) | reserved (15 bits) U (1 bit) | MID (4))*
//! ```

use bytes::BufMut;

use super::{be16, be32};
use crate::error::ParseError;

/// One skipped stream entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardTsnStream {
    /// Stream identifier.
    pub stream: u16,
    /// I-FORWARD-TSN only: the skipped message was unordered.
    pub unordered: bool,
    /// Largest skipped SSN (DATA, 16 bits) or MID (I-DATA).
    pub mid: u32,
}

/// A FORWARD-TSN or I-FORWARD-TSN chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardTsn {
    /// The receiver moves its cumulative TSN to this value.
    pub new_cum_tsn: u32,
    /// Ordered streams whose messages were skipped.
    pub streams: Vec<ForwardTsnStream>,
    /// True for I-FORWARD-TSN.
    pub interleaved: bool,
}

impl ForwardTsn {
    fn entry_len(interleaved: bool) -> usize {
        if interleaved {
            8
        } else {
            4
        }
    }

    pub(crate) fn parse(v: &[u8], interleaved: bool) -> Result<ForwardTsn, ParseError> {
        let what = if interleaved { "I-FORWARD-TSN" } else { "FORWARD-TSN" };
        let new_cum_tsn = be32(v, 0).ok_or(ParseError::Truncated { what, need: 4, have: v.len() })?;
        let el = Self::entry_len(interleaved);
        let rest = &v[4..];
        if !rest.len().is_multiple_of(el) {
            return Err(ParseError::BadLength { what, len: v.len() });
        }
        let streams = rest
            .chunks_exact(el)
            .map(|e| {
                let stream = be16(e, 0).unwrap_or_default();
                if interleaved {
                    let unordered = be16(e, 2).unwrap_or_default() & 1 != 0;
                    ForwardTsnStream { stream, unordered, mid: be32(e, 4).unwrap_or_default() }
                } else {
                    ForwardTsnStream { stream, unordered: false, mid: be16(e, 2).unwrap_or_default() as u32 }
                }
            })
            .collect();
        Ok(ForwardTsn { new_cum_tsn, streams, interleaved })
    }

    pub(crate) fn value_len(&self) -> usize {
        4 + self.streams.len() * Self::entry_len(self.interleaved)
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        out.put_u32(self.new_cum_tsn);
        for s in &self.streams {
            out.put_u16(s.stream);
            if self.interleaved {
                out.put_u16(s.unordered as u16);
                out.put_u32(s.mid);
            } else {
                out.put_u16(s.mid as u16);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    #[test]
    fn forward_tsn_round_trips() {
        for interleaved in [false, true] {
            let f = ForwardTsn {
                new_cum_tsn: 42,
                streams: vec![
                    ForwardTsnStream { stream: 1, unordered: interleaved, mid: 7 },
                    ForwardTsnStream { stream: 9, unordered: false, mid: 65535 },
                ],
                interleaved,
            };
            assert_eq!(round_trip(&Chunk::ForwardTsn(f.clone())), Chunk::ForwardTsn(f));
        }
    }

    #[test]
    fn forward_tsn_bad_lengths_are_rejected() {
        assert!(ForwardTsn::parse(&[0, 0, 1], false).is_err());
        assert!(ForwardTsn::parse(&[0, 0, 0, 1, 0, 1], false).is_err());
        assert!(ForwardTsn::parse(&[0, 0, 0, 1, 0, 1, 0, 0], true).is_err());
    }
}
