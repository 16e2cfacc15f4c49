//! Extended reports, XR (RFC 3611), packet type 207: a list of typed report
//! blocks. Two are decoded, the pair that gives a *receiver* its round-trip
//! time (RFC 3611 §4.4, §4.5): the receiver sends a Receiver Reference Time
//! (RRTR) block, the sender answers with a DLRR sub-block echoing it, and
//! the receiver computes `now - LRR - DLRR` ([`DlrrItem::rtt`]). Other blocks
//! are kept raw.
//!
//! ```text
//! |V=2|P|reserved |   PT=XR=207   |             length            |
//! |                              SSRC                             |
//! |      BT       | type-specific |         block length          |   (each block;
//! :             type-specific block contents                      :    length in words)
//! ```

use super::header::{u16_at, u32_at, u64_at, write_packet};
use super::report_block::compact_rtt;
use super::{RtcpError, PT_XR};

const NAME: &str = "XR";
/// Block type of a Receiver Reference Time block.
pub const BT_RRTR: u8 = 4;
/// Block type of a DLRR block.
pub const BT_DLRR: u8 = 5;

/// A Receiver Reference Time block: the receiver's wallclock as it sent the XR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rrtr {
    /// 64-bit NTP timestamp.
    pub ntp_time: u64,
}

/// One DLRR sub-block: the answer to one receiver's RRTR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DlrrItem {
    /// The receiver whose RRTR is answered.
    pub ssrc: u32,
    /// The middle 32 bits of that RRTR's NTP timestamp (LRR).
    pub last_rr: u32,
    /// Delay between receiving the RRTR and sending this, in 1/65536 s (DLRR).
    pub delay_since_last_rr: u32,
}

impl DlrrItem {
    /// The round-trip time, in 1/65536 s, for the receiver this item answers,
    /// with `now` the middle 32 bits of the NTP time at which it arrived.
    /// `None` when LRR is 0 or the result is negative.
    pub fn rtt(&self, now: u32) -> Option<u32> {
        compact_rtt(now, self.last_rr, self.delay_since_last_rr)
    }
}

/// An XR block this crate does not decode, kept as it came.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawXrBlock {
    /// Block type (BT).
    pub block_type: u8,
    /// The type-specific header byte.
    pub type_specific: u8,
    /// The block's contents after its 4-byte header (a whole number of words).
    pub content: Vec<u8>,
}

/// One XR report block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrBlock {
    /// Receiver Reference Time (BT 4).
    Rrtr(Rrtr),
    /// DLRR (BT 5): one sub-block per receiver answered.
    Dlrr(Vec<DlrrItem>),
    /// Any other block type.
    Other(RawXrBlock),
}

/// An extended report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedReport {
    /// SSRC of the packet's originator.
    pub ssrc: u32,
    /// The report blocks, in wire order.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < 4 {
            return Err(RtcpError::too_short(NAME, 4, body.len()));
        }
        let mut rest = &body[4..];
        let mut blocks = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(RtcpError::malformed(NAME, "bytes after the last report block"));
            }
            let (block_type, type_specific) = (rest[0], rest[1]);
            let len = u16_at(rest, 2) as usize * 4;
            if rest.len() - 4 < len {
                return Err(RtcpError::malformed(NAME, "report block runs past the packet"));
            }
            let content = &rest[4..4 + len];
            blocks.push(match block_type {
                BT_RRTR if len != 8 => return Err(RtcpError::malformed(NAME, "RRTR block length is not 2 words")),
                BT_RRTR => XrBlock::Rrtr(Rrtr { ntp_time: u64_at(content, 0) }),
                BT_DLRR if !len.is_multiple_of(12) => {
                    return Err(RtcpError::malformed(NAME, "DLRR block length is not a multiple of 3 words"))
                }
                BT_DLRR => XrBlock::Dlrr(
                    content
                        .chunks_exact(12)
                        .map(|s| DlrrItem {
                            ssrc: u32_at(s, 0),
                            last_rr: u32_at(s, 4),
                            delay_since_last_rr: u32_at(s, 8),
                        })
                        .collect(),
                ),
                _ => XrBlock::Other(RawXrBlock { block_type, type_specific, content: content.to_vec() }),
            });
            rest = &rest[4 + len..];
        }
        Ok(ExtendedReport { ssrc: u32_at(body, 0), blocks })
    }

    /// Appends the packet to `out`; fails on a raw block whose content is not
    /// whole words or longer than 65,535 words, or on a DLRR of more than
    /// 21,845 sub-blocks.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_packet(out, NAME, 0, PT_XR, |out| {
            out.extend_from_slice(&self.ssrc.to_be_bytes());
            for block in &self.blocks {
                match block {
                    XrBlock::Rrtr(r) => {
                        out.extend_from_slice(&[BT_RRTR, 0, 0, 2]);
                        out.extend_from_slice(&r.ntp_time.to_be_bytes());
                    }
                    XrBlock::Dlrr(items) => {
                        let words = u16::try_from(items.len() * 3)
                            .map_err(|_| RtcpError::unencodable(NAME, "DLRR block longer than 65,535 words"))?;
                        out.extend_from_slice(&[BT_DLRR, 0]);
                        out.extend_from_slice(&words.to_be_bytes());
                        for i in items {
                            out.extend_from_slice(&i.ssrc.to_be_bytes());
                            out.extend_from_slice(&i.last_rr.to_be_bytes());
                            out.extend_from_slice(&i.delay_since_last_rr.to_be_bytes());
                        }
                    }
                    XrBlock::Other(raw) => {
                        if !raw.content.len().is_multiple_of(4) {
                            return Err(RtcpError::unencodable(NAME, "raw block content is not whole 32-bit words"));
                        }
                        let words = u16::try_from(raw.content.len() / 4)
                            .map_err(|_| RtcpError::unencodable(NAME, "raw block longer than 65,535 words"))?;
                        out.extend_from_slice(&[raw.block_type, raw.type_specific]);
                        out.extend_from_slice(&words.to_be_bytes());
                        out.extend_from_slice(&raw.content);
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrtr_dlrr_and_raw_layout() {
        let xr = ExtendedReport {
            ssrc: 0x0102_0304,
            blocks: vec![
                XrBlock::Rrtr(Rrtr { ntp_time: 0xe94a_0b2c_8000_0000 }),
                XrBlock::Dlrr(vec![DlrrItem { ssrc: 5, last_rr: 0x0b2c_8000, delay_since_last_rr: 0x0000_8000 }]),
                XrBlock::Other(RawXrBlock { block_type: 42, type_specific: 0x81, content: vec![1, 2, 3, 4] }),
            ],
        };
        let mut out = Vec::new();
        xr.write(&mut out).unwrap();
        #[rustfmt::skip]
        let expected = [
            0x80, 207, 0, 10,
            1, 2, 3, 4,
            4, 0, 0, 2, 0xe9, 0x4a, 0x0b, 0x2c, 0x80, 0, 0, 0,
            5, 0, 0, 3, 0, 0, 0, 5, 0x0b, 0x2c, 0x80, 0, 0, 0, 0x80, 0,
            42, 0x81, 0, 1, 1, 2, 3, 4,
        ];
        assert_eq!(out, expected);
        assert_eq!(ExtendedReport::parse(&out[4..]).unwrap(), xr);
    }

    #[test]
    fn receiver_rtt_from_dlrr() {
        // RRTR sent at 100.0 s; the sender held it 0.25 s; the DLRR arrived at 100.75 s.
        let item = DlrrItem { ssrc: 1, last_rr: 100 << 16, delay_since_last_rr: 1 << 14 };
        assert_eq!(item.rtt((100 << 16) + (3 << 14)), Some(1 << 15));
        assert_eq!(DlrrItem { last_rr: 0, ..item }.rtt(1 << 20), None);
    }

    #[test]
    fn empty_dlrr_and_empty_xr() {
        let xr = ExtendedReport { ssrc: 9, blocks: vec![XrBlock::Dlrr(vec![])] };
        let mut out = Vec::new();
        xr.write(&mut out).unwrap();
        assert_eq!(out, [0x80, 207, 0, 2, 0, 0, 0, 9, 5, 0, 0, 0]);
        assert_eq!(ExtendedReport::parse(&out[4..]).unwrap(), xr);
        assert_eq!(ExtendedReport::parse(&[0, 0, 0, 9]).unwrap(), ExtendedReport { ssrc: 9, blocks: vec![] });
    }

    #[test]
    fn errors() {
        let m = |reason| Err(RtcpError::malformed(NAME, reason));
        assert_eq!(ExtendedReport::parse(&[0; 3]), Err(RtcpError::too_short(NAME, 4, 3)));
        assert_eq!(ExtendedReport::parse(&[0, 0, 0, 1, 4, 0]), m("bytes after the last report block"));
        assert_eq!(
            ExtendedReport::parse(&[0, 0, 0, 1, 4, 0, 0, 2, 0, 0, 0, 0]),
            m("report block runs past the packet")
        );
        assert_eq!(ExtendedReport::parse(&[0, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0, 0]), m("RRTR block length is not 2 words"));
        assert_eq!(
            ExtendedReport::parse(&[0, 0, 0, 1, 5, 0, 0, 1, 0, 0, 0, 0]),
            m("DLRR block length is not a multiple of 3 words")
        );
        let bad = ExtendedReport {
            ssrc: 1,
            blocks: vec![XrBlock::Other(RawXrBlock { block_type: 1, type_specific: 0, content: vec![1] })],
        };
        let mut out = vec![3];
        assert_eq!(
            bad.write(&mut out),
            Err(RtcpError::unencodable(NAME, "raw block content is not whole 32-bit words"))
        );
        let long = ExtendedReport { ssrc: 1, blocks: vec![XrBlock::Dlrr(vec![DlrrItem::default(); 21_846])] };
        assert_eq!(long.write(&mut out), Err(RtcpError::unencodable(NAME, "DLRR block longer than 65,535 words")));
        assert_eq!(out, [3]);
    }
}
