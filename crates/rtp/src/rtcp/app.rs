//! Application-defined packet, APP (RFC 3550 §6.7), packet type 204.
//!
//! ```text
//! |V=2|P| subtype |   PT=APP=204  |             length            |
//! |                           SSRC/CSRC                           |
//! |                          name (ASCII)                         |
//! |                   application-dependent data                ...
//! ```

use super::header::{u32_at, write_packet};
use super::{RtcpError, PT_APP};

const NAME: &str = "APP";

/// An application-defined packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct App {
    /// The 5-bit subtype (0..=31) the application defines.
    pub subtype: u8,
    /// The sender's SSRC or CSRC.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// The application's data; RFC 3550 asks for a multiple of 32 bits (other
    /// lengths are written with RTCP padding).
    pub data: Vec<u8>,
}

impl App {
    /// Parses the body (after the header, padding removed); `count` is the subtype.
    pub(crate) fn parse(subtype: u8, body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < 8 {
            return Err(RtcpError::too_short(NAME, 8, body.len()));
        }
        Ok(App { subtype, ssrc: u32_at(body, 0), name: [body[4], body[5], body[6], body[7]], data: body[8..].to_vec() })
    }

    /// Appends the packet to `out`; fails on a subtype above 31.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_packet(out, NAME, self.subtype, PT_APP, |out| {
            out.extend_from_slice(&self.ssrc.to_be_bytes());
            out.extend_from_slice(&self.name);
            out.extend_from_slice(&self.data);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_round_trip() {
        let app = App { subtype: 5, ssrc: 0x0a0b_0c0d, name: *b"OXRT", data: vec![1, 2, 3, 4] };
        let mut out = Vec::new();
        app.write(&mut out).unwrap();
        assert_eq!(out, [0x85, 204, 0, 3, 0x0a, 0x0b, 0x0c, 0x0d, b'O', b'X', b'R', b'T', 1, 2, 3, 4]);
        assert_eq!(App::parse(5, &out[4..]).unwrap(), app);
    }

    #[test]
    fn unaligned_data_is_padded() {
        let app = App { subtype: 0, ssrc: 1, name: *b"abcd", data: vec![9] };
        let mut out = Vec::new();
        app.write(&mut out).unwrap();
        assert_eq!(&out[..4], &[0xa0, 204, 0, 3]);
        assert_eq!(&out[12..], &[9, 0, 0, 3]);
    }

    #[test]
    fn errors() {
        assert_eq!(App::parse(0, &[0; 7]), Err(RtcpError::too_short("APP", 8, 7)));
        let bad = App { subtype: 32, ..Default::default() };
        assert!(matches!(bad.write(&mut Vec::new()), Err(RtcpError::Unencodable { packet: "APP", .. })));
    }
}
