//! Goodbye, BYE (RFC 3550 §6.6), packet type 203: the listed sources leave
//! the session, optionally saying why.
//!
//! ```text
//! |V=2|P|    SC   |   PT=BYE=203  |             length            |
//! |                           SSRC/CSRC                           |
//! :                              ...                              :
//! |     length    |               reason for leaving            ...
//! ```

use super::header::{u32_at, write_packet, MAX_COUNT};
use super::{RtcpError, PT_BYE};

const NAME: &str = "BYE";

/// A goodbye.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bye {
    /// The sources leaving, at most 31.
    pub sources: Vec<u32>,
    /// Why, as UTF-8 text of at most 255 bytes (kept as bytes).
    pub reason: Option<Vec<u8>>,
}

impl Bye {
    /// Parses the body (after the header, padding removed); `count` is SC.
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self, RtcpError> {
        let count = count as usize;
        if body.len() < count * 4 {
            return Err(RtcpError::CountMismatch { packet: NAME, item: "SSRCs", count, present: body.len() / 4 });
        }
        let sources = (0..count).map(|i| u32_at(body, i * 4)).collect();
        let rest = &body[count * 4..];
        let reason = match rest.first() {
            None => None,
            Some(&len) => {
                let len = len as usize;
                if rest.len() - 1 < len {
                    return Err(RtcpError::malformed(NAME, "reason runs past the packet"));
                }
                // Null octets pad the reason to 32 bits, and nothing follows.
                if rest.len() - 1 - len > 3 {
                    return Err(RtcpError::malformed(NAME, "bytes after the reason for leaving"));
                }
                Some(rest[1..1 + len].to_vec())
            }
        };
        Ok(Bye { sources, reason })
    }

    /// The reason as text, when present and UTF-8.
    pub fn reason_str(&self) -> Option<&str> {
        self.reason.as_deref().and_then(|r| std::str::from_utf8(r).ok())
    }

    /// Appends the packet to `out`; fails on more than 31 sources or a
    /// reason longer than 255 bytes.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.sources.len() > MAX_COUNT as usize {
            return Err(RtcpError::unencodable(NAME, "more than 31 sources"));
        }
        write_packet(out, NAME, self.sources.len() as u8, PT_BYE, |out| {
            self.sources.iter().for_each(|s| out.extend_from_slice(&s.to_be_bytes()));
            if let Some(reason) = &self.reason {
                let len = u8::try_from(reason.len())
                    .map_err(|_| RtcpError::unencodable(NAME, "reason longer than 255 bytes"))?;
                out.push(len);
                out.extend_from_slice(reason);
                out.resize(out.len() + (4 - (1 + reason.len()) % 4) % 4, 0);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bye_with_reason() {
        let bye = Bye { sources: vec![0x0102_0304, 5], reason: Some(b"done".to_vec()) };
        let mut out = Vec::new();
        bye.write(&mut out).unwrap();
        assert_eq!(out, [0x82, 203, 0, 4, 1, 2, 3, 4, 0, 0, 0, 5, 4, b'd', b'o', b'n', b'e', 0, 0, 0]);
        let parsed = Bye::parse(2, &out[4..]).unwrap();
        assert_eq!(parsed, bye);
        assert_eq!(parsed.reason_str(), Some("done"));
    }

    #[test]
    fn bye_without_reason_and_empty_reason() {
        let mut out = Vec::new();
        Bye { sources: vec![7], reason: None }.write(&mut out).unwrap();
        assert_eq!(out, [0x81, 203, 0, 1, 0, 0, 0, 7]);
        assert_eq!(Bye::parse(1, &out[4..]).unwrap().reason, None);
        out.clear();
        let empty = Bye { sources: vec![], reason: Some(vec![]) };
        empty.write(&mut out).unwrap();
        assert_eq!(out, [0x80, 203, 0, 1, 0, 0, 0, 0]);
        assert_eq!(Bye::parse(0, &out[4..]).unwrap(), empty);
    }

    #[test]
    fn errors() {
        assert_eq!(
            Bye::parse(2, &[0, 0, 0, 1]),
            Err(RtcpError::CountMismatch { packet: "BYE", item: "SSRCs", count: 2, present: 1 })
        );
        assert_eq!(Bye::parse(0, &[5, b'a', 0, 0]), Err(RtcpError::malformed("BYE", "reason runs past the packet")));
        assert_eq!(
            Bye::parse(0, &[1, b'a', 0, 0, 0, 0]),
            Err(RtcpError::malformed("BYE", "bytes after the reason for leaving"))
        );
        let mut out = Vec::new();
        let long = Bye { sources: vec![], reason: Some(vec![b'x'; 256]) };
        assert_eq!(long.write(&mut out), Err(RtcpError::unencodable("BYE", "reason longer than 255 bytes")));
        let many = Bye { sources: vec![1; 32], reason: None };
        assert_eq!(many.write(&mut out), Err(RtcpError::unencodable("BYE", "more than 31 sources")));
        assert!(out.is_empty());
    }
}
