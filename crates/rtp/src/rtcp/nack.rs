//! Generic NACK (RFC 4585 §6.2.1): transport-layer feedback (PT 205, FMT 1)
//! asking for the retransmission of lost RTP packets.
//!
//! ```text
//! |V=2|P|  FMT=1  |    PT=205     |             length            |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source                         |
//! |            PID                |             BLP               |   (1 or more)
//! ```
//!
//! PID is a lost sequence number; bit `i` of BLP (least significant first)
//! says that PID + i + 1 is lost too.

use super::header::{feedback_ssrcs, put_feedback_ssrcs, u16_at, write_packet};
use super::{RtcpError, PT_RTPFB};

const NAME: &str = "generic NACK";
/// FMT of a generic NACK.
pub const FMT_NACK: u8 = 1;

/// One FCI entry: a lost packet and a bitmask of the 16 after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NackPair {
    /// Packet ID: a lost sequence number.
    pub pid: u16,
    /// Bitmask of following lost packets: bit `i` set means `pid + i + 1` is lost.
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, in order.
    pub fn lost(&self) -> impl Iterator<Item = u16> {
        let (pid, blp) = (self.pid, self.blp);
        std::iter::once(pid).chain((0..16).filter(move |i| blp & (1 << i) != 0).map(move |i| pid.wrapping_add(i + 1)))
    }
}

/// A generic NACK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nack {
    /// SSRC of the packet's sender (the receiver of the media).
    pub sender_ssrc: u32,
    /// SSRC of the media source the losses are in.
    pub media_ssrc: u32,
    /// The lost packets, at least one entry.
    pub pairs: Vec<NackPair>,
}

impl Nack {
    /// Builds a NACK from lost sequence numbers given in RTP order (wrapping
    /// past 65535 is fine). Each number within 16 after the current entry's
    /// PID joins its bitmask; any other starts a new entry; repeats are
    /// dropped. Numbers out of order still all appear, in more entries.
    pub fn from_lost(sender_ssrc: u32, media_ssrc: u32, lost: impl IntoIterator<Item = u16>) -> Self {
        let mut pairs: Vec<NackPair> = Vec::new();
        for seq in lost {
            if let Some(last) = pairs.last_mut() {
                match seq.wrapping_sub(last.pid) {
                    0 => continue,
                    d @ 1..=16 => {
                        last.blp |= 1 << (d - 1);
                        continue;
                    }
                    _ => {}
                }
            }
            pairs.push(NackPair { pid: seq, blp: 0 });
        }
        Nack { sender_ssrc, media_ssrc, pairs }
    }

    /// Every sequence number reported lost, entry by entry.
    pub fn lost(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairs.iter().flat_map(NackPair::lost)
    }

    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = feedback_ssrcs(NAME, body)?;
        if fci.is_empty() {
            return Err(RtcpError::malformed(NAME, "no PID/BLP entry"));
        }
        if !fci.len().is_multiple_of(4) {
            return Err(RtcpError::malformed(NAME, "FCI is not a whole number of 4-byte entries"));
        }
        let pairs = fci.chunks_exact(4).map(|e| NackPair { pid: u16_at(e, 0), blp: u16_at(e, 2) }).collect();
        Ok(Nack { sender_ssrc, media_ssrc, pairs })
    }

    /// Appends the packet to `out`; fails without any entry.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.pairs.is_empty() {
            return Err(RtcpError::unencodable(NAME, "no PID/BLP entry"));
        }
        write_packet(out, NAME, FMT_NACK, PT_RTPFB, |out| {
            put_feedback_ssrcs(out, self.sender_ssrc, self.media_ssrc);
            for p in &self.pairs {
                out.extend_from_slice(&p.pid.to_be_bytes());
                out.extend_from_slice(&p.blp.to_be_bytes());
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let nack = Nack::from_lost(1, 2, [100, 101, 103, 116, 117]);
        // 101 is bit 0, 103 bit 2, 116 bit 15; 117 is 17 after 100: a new entry.
        assert_eq!(nack.pairs, vec![NackPair { pid: 100, blp: 0x8005 }, NackPair { pid: 117, blp: 0 }]);
        let mut out = Vec::new();
        nack.write(&mut out).unwrap();
        assert_eq!(out, [0x81, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0x80, 0x05, 0, 117, 0, 0]);
        assert_eq!(Nack::parse(&out[4..]).unwrap(), nack);
        assert_eq!(nack.lost().collect::<Vec<_>>(), vec![100, 101, 103, 116, 117]);
    }

    #[test]
    fn wraps_and_dedups() {
        let nack = Nack::from_lost(0, 0, [65534, 65534, 65535, 0, 3]);
        assert_eq!(nack.pairs, vec![NackPair { pid: 65534, blp: 0b10011 }]);
        assert_eq!(nack.lost().collect::<Vec<_>>(), vec![65534, 65535, 0, 3]);
        // Out of order: still every number, in a new entry.
        let back = Nack::from_lost(0, 0, [10, 5]);
        assert_eq!(back.lost().collect::<Vec<_>>(), vec![10, 5]);
        assert!(Nack::from_lost(0, 0, []).pairs.is_empty());
    }

    #[test]
    fn all_bits() {
        let pair = NackPair { pid: 65530, blp: 0xffff };
        let lost: Vec<u16> = pair.lost().collect();
        assert_eq!(lost.len(), 17);
        assert_eq!(lost[16], 10);
        assert_eq!(Nack::from_lost(0, 0, lost).pairs, vec![pair]);
    }

    #[test]
    fn errors() {
        assert_eq!(Nack::parse(&[0; 7]), Err(RtcpError::too_short(NAME, 8, 7)));
        assert_eq!(Nack::parse(&[0; 8]), Err(RtcpError::malformed(NAME, "no PID/BLP entry")));
        assert_eq!(
            Nack::parse(&[0; 10]),
            Err(RtcpError::malformed(NAME, "FCI is not a whole number of 4-byte entries"))
        );
        assert_eq!(Nack::default().write(&mut Vec::new()), Err(RtcpError::unencodable(NAME, "no PID/BLP entry")));
    }
}
