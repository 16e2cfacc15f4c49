//! Picture loss indication, PLI (RFC 4585 §6.3.1): payload-specific feedback
//! (PT 206, FMT 1) asking the sender for a key frame. It has no FCI.
//!
//! ```text
//! |V=2|P|  FMT=1  |    PT=206     |          length = 2           |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source                         |
//! ```

use super::header::{feedback_ssrcs, put_feedback_ssrcs, write_packet};
use super::{RtcpError, PT_PSFB};

const NAME: &str = "PLI";
/// FMT of a PLI.
pub const FMT_PLI: u8 = 1;

/// A picture loss indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pli {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// SSRC of the media source whose picture was lost.
    pub media_ssrc: u32,
}

impl Pli {
    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = feedback_ssrcs(NAME, body)?;
        if !fci.is_empty() {
            return Err(RtcpError::malformed(NAME, "a PLI carries no FCI"));
        }
        Ok(Pli { sender_ssrc, media_ssrc })
    }

    /// Appends the packet to `out`.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_packet(out, NAME, FMT_PLI, PT_PSFB, |out| {
            put_feedback_ssrcs(out, self.sender_ssrc, self.media_ssrc);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let pli = Pli { sender_ssrc: 0x0102_0304, media_ssrc: 0x0506_0708 };
        let mut out = Vec::new();
        pli.write(&mut out).unwrap();
        assert_eq!(out, [0x81, 206, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Pli::parse(&out[4..]), Ok(pli));
    }

    #[test]
    fn errors() {
        assert_eq!(Pli::parse(&[0; 4]), Err(RtcpError::too_short("PLI", 8, 4)));
        assert_eq!(Pli::parse(&[0; 12]), Err(RtcpError::malformed("PLI", "a PLI carries no FCI")));
    }
}
