//! The few RTP and RTCP header fields SRTP needs (RFC 3550 section 5.1,
//! RFC 8285 header extensions), parsed with explicit bounds checks.

use crate::SrtpError;

/// The fields of an RTP header that SRTP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Sequence number.
    pub sequence: u16,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Length of the header in bytes: fixed part, CSRCs and the header
    /// extension. SRTP encrypts everything after it.
    pub len: usize,
}

impl RtpHeader {
    /// Parses the header of an RTP (or SRTP) packet. Never panics.
    pub fn parse(packet: &[u8]) -> Result<Self, SrtpError> {
        if packet.len() < 12 {
            return Err(SrtpError::Malformed("shorter than an RTP header"));
        }
        if packet[0] >> 6 != 2 {
            return Err(SrtpError::Malformed("RTP version is not 2"));
        }
        let mut len = 12 + 4 * usize::from(packet[0] & 0x0f);
        if packet.len() < len {
            return Err(SrtpError::Malformed("RTP CSRC list runs past the end"));
        }
        if packet[0] & 0x10 != 0 {
            let Some(ext) = packet.get(len..len + 4) else {
                return Err(SrtpError::Malformed("RTP header extension header runs past the end"));
            };
            len += 4 + 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            if packet.len() < len {
                return Err(SrtpError::Malformed("RTP header extension runs past the end"));
            }
        }
        Ok(RtpHeader {
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            len,
        })
    }
}

/// Reads the sender SSRC of an RTCP (or SRTCP) packet: bytes 4..8 of the
/// first packet of a compound. Never panics.
pub fn rtcp_sender_ssrc(packet: &[u8]) -> Result<u32, SrtpError> {
    if packet.len() < 8 {
        return Err(SrtpError::Malformed("shorter than an RTCP header"));
    }
    if packet[0] >> 6 != 2 {
        return Err(SrtpError::Malformed("RTCP version is not 2"));
    }
    Ok(u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrcs_and_extension() {
        let mut p = vec![0x80 | 0x10 | 2, 96, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        p.extend_from_slice(&[0; 8]); // two CSRCs
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]); // one-byte extension, 1 word
        p.extend_from_slice(b"payload");
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h, RtpHeader { sequence: 0x1234, ssrc: 0xdeadbeef, len: 12 + 8 + 8 });
        for cut in 0..h.len {
            assert!(RtpHeader::parse(&p[..cut]).is_err(), "cut at {cut}");
        }
    }
}
