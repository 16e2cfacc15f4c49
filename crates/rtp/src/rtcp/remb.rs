//! Receiver estimated maximum bitrate, REMB (draft-alvestrand-rmcat-remb-03
//! §2): application-layer feedback (PT 206, FMT 15) carrying the bitrate a
//! receiver estimates the path allows, for the listed media sources.
//!
//! ```text
//! |V=2|P| FMT=15  |   PT=206      |             length            |
//! |                  SSRC of packet sender                        |
//! |                  SSRC of media source (0)                     |
//! |  Unique identifier 'R' 'E' 'M' 'B'                            |
//! |  Num SSRC     | BR Exp    |  BR Mantissa                      |
//! |   SSRC feedback                                               |   (Num SSRC)
//! ```
//!
//! The bitrate is `mantissa * 2^exp` bits per second (18-bit mantissa, 6-bit
//! exponent).

use super::header::{feedback_ssrcs, put_feedback_ssrcs, u16_at, u32_at, write_packet};
use super::{RtcpError, PT_PSFB};

const NAME: &str = "REMB";
/// FMT of application-layer feedback, REMB's carrier.
pub const FMT_AFB: u8 = 15;
/// The unique identifier that makes an application-layer feedback a REMB.
pub const REMB_ID: [u8; 4] = *b"REMB";
const MAX_MANTISSA: u64 = (1 << 18) - 1;

/// A receiver estimated maximum bitrate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remb {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The header's media source field; the draft sets it to 0 (kept as read).
    pub media_ssrc: u32,
    /// The estimate in bits per second. Written as the largest value of the
    /// form `mantissa * 2^exp` not above it (see [`Remb::representable`]).
    pub bitrate: u64,
    /// The media sources the estimate applies to, at most 255.
    pub ssrcs: Vec<u32>,
}

impl Remb {
    /// Whether an application-layer feedback body carries the REMB identifier.
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(&REMB_ID[..])
    }

    /// The wire encoding of `bitrate` as `(exp, mantissa)`: the smallest
    /// exponent whose mantissa fits 18 bits, and the mantissa rounded down.
    pub fn encode_bitrate(bitrate: u64) -> (u8, u32) {
        let mut exp = 0;
        while bitrate >> exp > MAX_MANTISSA {
            exp += 1;
        }
        (exp, (bitrate >> exp) as u32)
    }

    /// The largest bitrate a REMB can carry exactly that is not above `bitrate`.
    pub fn representable(bitrate: u64) -> u64 {
        let (exp, mantissa) = Self::encode_bitrate(bitrate);
        (mantissa as u64) << exp
    }

    /// Parses the body (after the header, padding removed) of an
    /// application-layer feedback carrying the REMB identifier.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let (sender_ssrc, media_ssrc, fci) = feedback_ssrcs(NAME, body)?;
        if fci.len() < 8 {
            return Err(RtcpError::too_short(NAME, 16, body.len()));
        }
        if fci[..4] != REMB_ID {
            return Err(RtcpError::malformed(NAME, "no 'REMB' identifier"));
        }
        let count = fci[4] as usize;
        let exp = fci[5] >> 2;
        let mantissa = ((fci[5] & 3) as u64) << 16 | u16_at(fci, 6) as u64;
        let bitrate = mantissa << exp;
        if bitrate >> exp != mantissa {
            return Err(RtcpError::malformed(NAME, "bitrate overflows 64 bits"));
        }
        let list = &fci[8..];
        if list.len() != count * 4 {
            return Err(RtcpError::CountMismatch { packet: NAME, item: "SSRCs", count, present: list.len() / 4 });
        }
        let ssrcs = (0..count).map(|i| u32_at(list, i * 4)).collect();
        Ok(Remb { sender_ssrc, media_ssrc, bitrate, ssrcs })
    }

    /// Appends the packet to `out`; fails on more than 255 SSRCs.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = u8::try_from(self.ssrcs.len()).map_err(|_| RtcpError::unencodable(NAME, "more than 255 SSRCs"))?;
        let (exp, mantissa) = Self::encode_bitrate(self.bitrate);
        write_packet(out, NAME, FMT_AFB, PT_PSFB, |out| {
            put_feedback_ssrcs(out, self.sender_ssrc, self.media_ssrc);
            out.extend_from_slice(&REMB_ID);
            out.push(count);
            out.push(exp << 2 | (mantissa >> 16) as u8);
            out.extend_from_slice(&(mantissa as u16).to_be_bytes());
            self.ssrcs.iter().for_each(|s| out.extend_from_slice(&s.to_be_bytes()));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        // 1,000,000 bps needs 20 bits: exp 2, mantissa 250,000 (0x3d090).
        let remb = Remb { sender_ssrc: 1, media_ssrc: 0, bitrate: 1_000_000, ssrcs: vec![0x0a0b_0c0d, 2] };
        let mut out = Vec::new();
        remb.write(&mut out).unwrap();
        assert_eq!(
            out,
            [
                0x8f, 206, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 2, 0x0b, 0xd0, 0x90, 0x0a, 0x0b, 0x0c,
                0x0d, 0, 0, 0, 2
            ]
        );
        assert_eq!(Remb::parse(&out[4..]).unwrap(), remb);
        assert!(Remb::is_remb(&out[4..]));
    }

    #[test]
    fn bitrate_encoding_rounds_down_to_representable() {
        assert_eq!(Remb::encode_bitrate(0), (0, 0));
        assert_eq!(Remb::encode_bitrate(MAX_MANTISSA), (0, MAX_MANTISSA as u32));
        assert_eq!(Remb::encode_bitrate(MAX_MANTISSA + 1), (1, 1 << 17));
        // 2^18 + 1 is not representable: the next value down is 2^18.
        assert_eq!(Remb::representable((1 << 18) + 1), 1 << 18);
        assert_eq!(Remb::representable(1_000_001), 1_000_000);
        assert_eq!(Remb::representable(1_000_003), 1_000_000);
        assert_eq!(Remb::representable(1_000_004), 1_000_004);
        assert_eq!(Remb::encode_bitrate(u64::MAX), (46, MAX_MANTISSA as u32));
        assert_eq!(Remb::representable(u64::MAX), MAX_MANTISSA << 46);
        let remb = Remb { bitrate: 12_345_678_901, ..Default::default() };
        let mut out = Vec::new();
        remb.write(&mut out).unwrap();
        let parsed = Remb::parse(&out[4..]).unwrap();
        assert_eq!(parsed.bitrate, Remb::representable(12_345_678_901));
        assert!(parsed.bitrate <= 12_345_678_901 && parsed.bitrate > 12_345_678_901 - (1 << 16));
    }

    #[test]
    fn representable_is_the_largest_below() {
        // Every value of the form m * 2^e with m < 2^18 that is <= v is <= representable(v).
        let mut rng = testkit::Rng::xorshift64(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let x = rng.next_u64();
            let v = x >> (x % 64);
            let r = Remb::representable(v);
            assert!(r <= v);
            let (exp, _) = Remb::encode_bitrate(v);
            // One more unit at the chosen exponent would exceed v.
            assert!(r.checked_add(1 << exp).is_none_or(|next| next > v));
        }
    }

    #[test]
    fn errors() {
        let mut body = vec![0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 1, 0, 0, 1];
        assert_eq!(
            Remb::parse(&body),
            Err(RtcpError::CountMismatch { packet: NAME, item: "SSRCs", count: 1, present: 0 })
        );
        body.extend_from_slice(&[0, 0, 0, 5, 0, 0, 0, 6]);
        assert_eq!(
            Remb::parse(&body),
            Err(RtcpError::CountMismatch { packet: NAME, item: "SSRCs", count: 1, present: 2 })
        );
        assert_eq!(Remb::parse(&body[..12]), Err(RtcpError::too_short(NAME, 16, 12)));
        let mut wrong = body.clone();
        wrong[11] = b'X';
        assert_eq!(Remb::parse(&wrong), Err(RtcpError::malformed(NAME, "no 'REMB' identifier")));
        // exp 63 with a mantissa above 1 overflows.
        let over = [0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 0, 0xfc, 0, 2];
        assert_eq!(Remb::parse(&over), Err(RtcpError::malformed(NAME, "bitrate overflows 64 bits")));
        let max = [0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 0, 0xfc, 0, 1];
        assert_eq!(Remb::parse(&max).unwrap().bitrate, 1 << 63);
        let many = Remb { ssrcs: vec![0; 256], ..Default::default() };
        assert_eq!(many.write(&mut Vec::new()), Err(RtcpError::unencodable(NAME, "more than 255 SSRCs")));
    }
}
