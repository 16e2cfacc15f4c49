//! INIT and INIT-ACK (RFC 9260 3.3.2, 3.3.3) with the parameters WebRTC uses.
//!
//! ```text
//! initiate tag | a_rwnd | #outbound streams (2) | #inbound streams (2) | initial TSN | params
//! ```
//! Parameters decoded: state cookie (7), unrecognized parameter (8, INIT-ACK),
//! supported extensions (0x8008, RFC 5061), forward-TSN supported (0xC000, RFC 3758) and
//! zero checksum acceptable (0x8001, RFC 9653). Addresses and other known parameters are
//! skipped; unknown ones are handled by their upper two bits (RFC 9260 3.2.1).

use bytes::{BufMut, Bytes};

use super::{be32, params, write_param};
use crate::error::ParseError;

const STATE_COOKIE: u16 = 7;
const UNRECOGNIZED_PARAMETER: u16 = 8;
const SUPPORTED_EXTENSIONS: u16 = 0x8008;
const FORWARD_TSN_SUPPORTED: u16 = 0xc000;
const ZERO_CHECKSUM_ACCEPTABLE: u16 = 0x8001;
/// Parameters RFC 9260 and its extensions define that this crate ignores.
const KNOWN_IGNORED: [u16; 9] = [5, 6, 9, 11, 12, 0x8002, 0x8003, 0x8004, 0xc004];

/// Largest unknown parameter echoed back in an Unrecognized Parameter.
const MAX_REPORTED: usize = 512;

/// Error detection method id of DTLS for zero checksum (RFC 9653 / RFC 8261).
pub const EDMID_DTLS: u32 = 1;

/// An INIT or INIT-ACK chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Init {
    /// The verification tag the sender wants on packets sent to it. Never 0.
    pub initiate_tag: u32,
    /// The sender's receive window in bytes.
    pub a_rwnd: u32,
    /// Streams the sender wants to open.
    pub outbound_streams: u16,
    /// Streams the sender accepts.
    pub inbound_streams: u16,
    /// First TSN the sender will use.
    pub initial_tsn: u32,
    /// INIT-ACK: the state cookie to echo.
    pub cookie: Option<Bytes>,
    /// Chunk types listed in Supported Extensions.
    pub supported_extensions: Vec<u8>,
    /// Forward-TSN-Supported present (partial reliability, RFC 3758).
    pub forward_tsn_supported: bool,
    /// Zero Checksum Acceptable with this error detection method id (RFC 9653).
    pub zero_checksum_edmid: Option<u32>,
    /// Unknown parameters whose type asks to be reported (whole TLVs, at most 8 of at most
    /// 512 bytes), and, in an INIT-ACK, the contents of its Unrecognized Parameters. Written
    /// wrapped in Unrecognized Parameters (an INIT-ACK reports them to the INIT's sender).
    pub unrecognized: Vec<Bytes>,
}

impl Init {
    /// Whether the sender listed `kind` among its supported extensions.
    pub fn supports(&self, kind: u8) -> bool {
        self.supported_extensions.contains(&kind)
    }

    pub(crate) fn parse(v: Bytes) -> Result<Init, ParseError> {
        if v.len() < 16 {
            return Err(ParseError::Truncated { what: "INIT", need: 16, have: v.len() });
        }
        let mut init = Init {
            initiate_tag: be32(&v, 0).unwrap_or_default(),
            a_rwnd: be32(&v, 4).unwrap_or_default(),
            outbound_streams: u16::from_be_bytes([v[8], v[9]]),
            inbound_streams: u16::from_be_bytes([v[10], v[11]]),
            initial_tsn: be32(&v, 12).unwrap_or_default(),
            ..Init::default()
        };
        if init.initiate_tag == 0 {
            return Err(ParseError::Invalid("INIT initiate tag 0"));
        }
        if init.outbound_streams == 0 || init.inbound_streams == 0 {
            return Err(ParseError::Invalid("INIT stream count 0"));
        }
        let body = v.slice(16..);
        for p in params(&body) {
            let (t, r) = p?;
            let val = &body[r.clone()];
            match t {
                STATE_COOKIE => init.cookie = Some(body.slice(r)),
                SUPPORTED_EXTENSIONS => init.supported_extensions = val.to_vec(),
                FORWARD_TSN_SUPPORTED => init.forward_tsn_supported = true,
                ZERO_CHECKSUM_ACCEPTABLE => init.zero_checksum_edmid = be32(val, 0),
                UNRECOGNIZED_PARAMETER => {
                    if init.unrecognized.len() < 8 && val.len() <= MAX_REPORTED {
                        init.unrecognized.push(body.slice(r));
                    }
                }
                t if KNOWN_IGNORED.contains(&t) => {}
                t => {
                    if t & 0x4000 != 0 && init.unrecognized.len() < 8 && r.len() + 4 <= MAX_REPORTED {
                        init.unrecognized.push(body.slice(r.start - 4..r.end));
                    }
                    if t & 0x8000 == 0 {
                        break; // 00 and 01: stop processing further parameters
                    }
                }
            }
        }
        Ok(init)
    }

    pub(crate) fn value_len(&self) -> usize {
        let mut n = 16;
        if let Some(c) = &self.cookie {
            n += super::pad4(4 + c.len());
        }
        if !self.supported_extensions.is_empty() {
            n += super::pad4(4 + self.supported_extensions.len());
        }
        if self.forward_tsn_supported {
            n += 4;
        }
        if self.zero_checksum_edmid.is_some() {
            n += 8;
        }
        n + self.unrecognized.iter().map(|u| super::pad4(4 + u.len())).sum::<usize>()
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        out.put_u32(self.initiate_tag);
        out.put_u32(self.a_rwnd);
        out.put_u16(self.outbound_streams);
        out.put_u16(self.inbound_streams);
        out.put_u32(self.initial_tsn);
        if let Some(c) = &self.cookie {
            write_param(out, STATE_COOKIE, c);
        }
        if !self.supported_extensions.is_empty() {
            write_param(out, SUPPORTED_EXTENSIONS, &self.supported_extensions);
        }
        if self.forward_tsn_supported {
            write_param(out, FORWARD_TSN_SUPPORTED, &[]);
        }
        if let Some(e) = self.zero_checksum_edmid {
            write_param(out, ZERO_CHECKSUM_ACCEPTABLE, &e.to_be_bytes());
        }
        for u in &self.unrecognized {
            write_param(out, UNRECOGNIZED_PARAMETER, u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    fn sample() -> Init {
        Init {
            initiate_tag: 0xdeadbeef,
            a_rwnd: 1 << 20,
            outbound_streams: 65535,
            inbound_streams: 1024,
            initial_tsn: 12345,
            cookie: Some(Bytes::from_static(b"a cookie of odd length")),
            supported_extensions: vec![130, 192, 64, 194],
            forward_tsn_supported: true,
            zero_checksum_edmid: Some(EDMID_DTLS),
            unrecognized: vec![],
        }
    }

    #[test]
    fn init_and_init_ack_round_trip() {
        let i = sample();
        assert_eq!(round_trip(&Chunk::Init(i.clone())), Chunk::Init(i.clone()));
        assert_eq!(round_trip(&Chunk::InitAck(i.clone())), Chunk::InitAck(i));
    }

    #[test]
    fn unknown_parameters_follow_the_upper_bits() {
        let mut v = Vec::new();
        let mut i = sample();
        i.cookie = None;
        i.write_value(&mut v);
        write_param(&mut v, 0x8123, b"skip"); // 10: skip silently
        write_param(&mut v, 0xc123, b"rep"); // 11: skip and report
        write_param(&mut v, 0x4123, b"stop"); // 01: stop and report
        write_param(&mut v, 0xc000, &[]); // never reached
        let got = Init::parse(Bytes::from(v)).unwrap();
        assert!(got.forward_tsn_supported, "the one before the unknowns still counts");
        assert_eq!(got.unrecognized.len(), 2);
        assert_eq!(&got.unrecognized[0][..4], &[0xc1, 0x23, 0, 7]);
        assert_eq!(&got.unrecognized[1][..4], &[0x41, 0x23, 0, 8]);
        // Reported back in an INIT-ACK, they decode to the same list.
        assert_eq!(round_trip(&Chunk::InitAck(got.clone())), Chunk::InitAck(got));
    }

    #[test]
    fn truncated_and_invalid_inits_are_rejected() {
        let mut v = Vec::new();
        sample().write_value(&mut v);
        for n in 0..16 {
            assert!(Init::parse(Bytes::copy_from_slice(&v[..n])).is_err());
        }
        assert!(Init::parse(Bytes::copy_from_slice(&v[..v.len() - 3])).is_err(), "cut parameter");
        let mut zero_tag = v.clone();
        zero_tag[..4].copy_from_slice(&[0; 4]);
        assert!(Init::parse(Bytes::from(zero_tag)).is_err());
    }
}
