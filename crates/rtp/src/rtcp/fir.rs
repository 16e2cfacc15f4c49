//! Full intra request, FIR (RFC 5104 §4.3.1): payload-specific feedback (PT
//! 206, FMT 4) asking one or more senders for a decoder refresh point.
//!
//! ```text
//! |V=2|P|  FMT=4  |    PT=206     |             length            |
//! |                  SSRC of packet sender                        |
//! |             SSRC of media source (unused, 0)                  |
//! |                              SSRC                             |   (1 or more)
//! | Seq nr.       |    Reserved (0)                               |
//! ```

use super::header::{feedback_ssrcs, put_feedback_ssrcs, u32_at, write_packet};
use super::{RtcpError, PT_PSFB};

const NAME: &str = "FIR";
/// FMT of a FIR.
pub const FMT_FIR: u8 = 4;

/// One FIR request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirEntry {
    /// The media sender asked for a refresh.
    pub ssrc: u32,
    /// Command sequence number: incremented per new request to this sender,
    /// repeated on a retransmitted one.
    pub seq_nr: u8,
}

/// A full intra request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fir {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The header's media source field; RFC 5104 sets it to 0 (kept as read).
    pub media_ssrc: u32,
    /// The requests, at least one.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = feedback_ssrcs(NAME, body)?;
        if fci.is_empty() {
            return Err(RtcpError::malformed(NAME, "no FCI entry"));
        }
        if !fci.len().is_multiple_of(8) {
            return Err(RtcpError::malformed(NAME, "FCI is not a whole number of 8-byte entries"));
        }
        let entries = fci.chunks_exact(8).map(|e| FirEntry { ssrc: u32_at(e, 0), seq_nr: e[4] }).collect();
        Ok(Fir { sender_ssrc, media_ssrc, entries })
    }

    /// Appends the packet to `out`; fails without any entry.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.entries.is_empty() {
            return Err(RtcpError::unencodable(NAME, "no FCI entry"));
        }
        write_packet(out, NAME, FMT_FIR, PT_PSFB, |out| {
            put_feedback_ssrcs(out, self.sender_ssrc, self.media_ssrc);
            for e in &self.entries {
                out.extend_from_slice(&e.ssrc.to_be_bytes());
                out.extend_from_slice(&[e.seq_nr, 0, 0, 0]);
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
        let fir = Fir {
            sender_ssrc: 1,
            media_ssrc: 0,
            entries: vec![FirEntry { ssrc: 0x0a0b_0c0d, seq_nr: 7 }, FirEntry { ssrc: 2, seq_nr: 255 }],
        };
        let mut out = Vec::new();
        fir.write(&mut out).unwrap();
        assert_eq!(
            out,
            [0x84, 206, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0x0a, 0x0b, 0x0c, 0x0d, 7, 0, 0, 0, 0, 0, 0, 2, 255, 0, 0, 0]
        );
        assert_eq!(Fir::parse(&out[4..]).unwrap(), fir);
    }

    #[test]
    fn reserved_bytes_are_ignored() {
        let body = [0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 3, 4, 0xff, 0xff, 0xff];
        let fir = Fir::parse(&body).unwrap();
        assert_eq!(fir.media_ssrc, 9);
        assert_eq!(fir.entries, vec![FirEntry { ssrc: 3, seq_nr: 4 }]);
    }

    #[test]
    fn errors() {
        assert_eq!(Fir::parse(&[0; 6]), Err(RtcpError::too_short(NAME, 8, 6)));
        assert_eq!(Fir::parse(&[0; 8]), Err(RtcpError::malformed(NAME, "no FCI entry")));
        assert_eq!(
            Fir::parse(&[0; 12]),
            Err(RtcpError::malformed(NAME, "FCI is not a whole number of 8-byte entries"))
        );
        assert_eq!(Fir::default().write(&mut Vec::new()), Err(RtcpError::unencodable(NAME, "no FCI entry")));
    }
}
