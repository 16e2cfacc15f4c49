//! SACK (RFC 9260 3.3.4).
//!
//! ```text
//! cumulative TSN ack | a_rwnd | #gap blocks (2) | #dup TSNs (2) | (start, end)* | dup TSN*
//! ```
//! Gap block offsets are relative to the cumulative TSN ack.

use bytes::BufMut;

use super::{be16, be32};
use crate::error::ParseError;

/// A selective acknowledgement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sack {
    /// Highest TSN received in sequence.
    pub cum_tsn_ack: u32,
    /// Advertised receiver window credit in bytes.
    pub a_rwnd: u32,
    /// Gap ack blocks as (start, end) offsets from `cum_tsn_ack`, inclusive.
    pub gaps: Vec<(u16, u16)>,
    /// TSNs received more than once since the last SACK.
    pub dups: Vec<u32>,
}

impl Sack {
    pub(crate) fn parse(v: &[u8]) -> Result<Sack, ParseError> {
        if v.len() < 12 {
            return Err(ParseError::Truncated { what: "SACK", need: 12, have: v.len() });
        }
        let ngaps = be16(v, 8).unwrap_or_default() as usize;
        let ndups = be16(v, 10).unwrap_or_default() as usize;
        let need = 12 + 4 * ngaps + 4 * ndups;
        if v.len() < need {
            return Err(ParseError::Truncated { what: "SACK blocks", need, have: v.len() });
        }
        let gaps = (0..ngaps)
            .map(|i| (be16(v, 12 + 4 * i).unwrap_or_default(), be16(v, 14 + 4 * i).unwrap_or_default()))
            .collect();
        let base = 12 + 4 * ngaps;
        let dups = (0..ndups).map(|i| be32(v, base + 4 * i).unwrap_or_default()).collect();
        Ok(Sack { cum_tsn_ack: be32(v, 0).unwrap_or_default(), a_rwnd: be32(v, 4).unwrap_or_default(), gaps, dups })
    }

    pub(crate) fn value_len(&self) -> usize {
        12 + 4 * self.gaps.len() + 4 * self.dups.len()
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        out.put_u32(self.cum_tsn_ack);
        out.put_u32(self.a_rwnd);
        out.put_u16(self.gaps.len() as u16);
        out.put_u16(self.dups.len() as u16);
        for (s, e) in &self.gaps {
            out.put_u16(*s);
            out.put_u16(*e);
        }
        for d in &self.dups {
            out.put_u32(*d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    #[test]
    fn sack_round_trips() {
        let s = Sack { cum_tsn_ack: 100, a_rwnd: 65536, gaps: vec![(2, 3), (5, 9)], dups: vec![99, 97] };
        assert_eq!(round_trip(&Chunk::Sack(s.clone())), Chunk::Sack(s));
    }

    #[test]
    fn sack_with_too_many_claimed_blocks_is_rejected() {
        let mut out = Vec::new();
        Sack { cum_tsn_ack: 1, a_rwnd: 2, gaps: vec![(1, 1)], dups: vec![] }.write_value(&mut out);
        out[9] = 200; // claims 200 gap blocks
        assert!(Sack::parse(&out).is_err());
        for n in 0..12 {
            assert!(Sack::parse(&out[..n]).is_err());
        }
    }
}
