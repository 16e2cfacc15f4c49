//! Sender report, SR (RFC 3550 §6.4.1), packet type 200:
//!
//! ```text
//! |V=2|P|    RC   |   PT=SR=200   |             length            |
//! |                         SSRC of sender                        |
//! |              NTP timestamp, most significant word             |
//! |             NTP timestamp, least significant word             |
//! |                         RTP timestamp                         |
//! |                     sender's packet count                     |
//! |                      sender's octet count                     |
//! |                 report block 1 ... RC (24 bytes each)         |
//! |                  profile-specific extensions                  |
//! ```

use super::header::{u32_at, u64_at, write_packet, MAX_COUNT};
use super::report_block::{ReportBlock, REPORT_BLOCK_LEN};
use super::{RtcpError, PT_SR};

const NAME: &str = "SR";
const FIXED: usize = 24;

/// A sender report: the sender's clocks and counters, then reception reports
/// on the sources it hears.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Wallclock time of the report, 64-bit NTP format (32.32 fixed-point seconds since 1900).
    pub ntp_time: u64,
    /// The same instant in the stream's RTP timestamp units.
    pub rtp_time: u32,
    /// RTP data packets sent since transmission began.
    pub packet_count: u32,
    /// Payload octets sent since transmission began.
    pub octet_count: u32,
    /// Reception reports, at most 31 in one packet.
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension bytes after the report blocks, kept as they came.
    pub profile_extensions: Vec<u8>,
}

impl SenderReport {
    /// Parses the body (after the header, padding removed); `count` is RC.
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < FIXED {
            return Err(RtcpError::too_short(NAME, FIXED, body.len()));
        }
        let (reports, rest) = parse_blocks(NAME, count, &body[FIXED..])?;
        Ok(SenderReport {
            ssrc: u32_at(body, 0),
            ntp_time: u64_at(body, 4),
            rtp_time: u32_at(body, 12),
            packet_count: u32_at(body, 16),
            octet_count: u32_at(body, 20),
            reports,
            profile_extensions: rest.to_vec(),
        })
    }

    /// Appends the packet to `out`; fails on more than 31 report blocks.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = block_count(NAME, &self.reports)?;
        write_packet(out, NAME, count, PT_SR, |out| {
            out.extend_from_slice(&self.ssrc.to_be_bytes());
            out.extend_from_slice(&self.ntp_time.to_be_bytes());
            out.extend_from_slice(&self.rtp_time.to_be_bytes());
            out.extend_from_slice(&self.packet_count.to_be_bytes());
            out.extend_from_slice(&self.octet_count.to_be_bytes());
            self.reports.iter().for_each(|r| r.write(out));
            out.extend_from_slice(&self.profile_extensions);
            Ok(())
        })
    }
}

/// Reads `count` report blocks off the front of `data`; returns them and
/// the bytes after them (profile extensions). Shared with RR.
pub(crate) fn parse_blocks<'a>(
    packet: &'static str,
    count: u8,
    data: &'a [u8],
) -> Result<(Vec<ReportBlock>, &'a [u8]), RtcpError> {
    let count = count as usize;
    if data.len() < count * REPORT_BLOCK_LEN {
        return Err(RtcpError::CountMismatch {
            packet,
            item: "report blocks",
            count,
            present: data.len() / REPORT_BLOCK_LEN,
        });
    }
    let (blocks, rest) = data.split_at(count * REPORT_BLOCK_LEN);
    let reports = blocks
        .chunks_exact(REPORT_BLOCK_LEN)
        .map(|b| ReportBlock::parse(b.try_into().expect("chunks_exact gives whole blocks")))
        .collect();
    Ok((reports, rest))
}

/// The RC field for `reports`, or an error past 31.
pub(crate) fn block_count(packet: &'static str, reports: &[ReportBlock]) -> Result<u8, RtcpError> {
    if reports.len() > MAX_COUNT as usize {
        return Err(RtcpError::unencodable(packet, "more than 31 report blocks (send the rest in RR packets)"));
    }
    Ok(reports.len() as u8)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_compound, RtcpPacket};
    use super::*;

    /// An SR with one report block and a 4-byte profile extension, laid out by hand.
    const WIRE: [u8; 56] = [
        0x81, 200, 0, 13, // V=2, RC=1, 14 words
        0x12, 0x34, 0x56, 0x78, // sender SSRC
        0xe9, 0x4a, 0x0b, 0x2c, 0x80, 0x00, 0x00, 0x00, // NTP
        0x00, 0x01, 0xe2, 0x40, // RTP 123456
        0x00, 0x00, 0x03, 0xe8, // 1000 packets
        0x00, 0x0f, 0x42, 0x40, // 1,000,000 octets
        0xaa, 0xbb, 0xcc, 0xdd, 0x10, 0x00, 0x00, 0x07, 0x00, 0x00, 0x12,
        0x34, // block: SSRC, 16/256, 7 lost, seq
        0x00, 0x00, 0x00, 0x20, 0x4a, 0x0b, 0x2c, 0x80, 0x00, 0x00, 0x40, 0x00, // jitter, LSR, DLSR
        0xde, 0xad, 0xbe, 0xef, // profile extension
    ];

    fn value() -> SenderReport {
        SenderReport {
            ssrc: 0x1234_5678,
            ntp_time: 0xe94a_0b2c_8000_0000,
            rtp_time: 123_456,
            packet_count: 1000,
            octet_count: 1_000_000,
            reports: vec![ReportBlock {
                ssrc: 0xaabb_ccdd,
                fraction_lost: 16,
                cumulative_lost: 7,
                extended_highest_seq: 0x1234,
                jitter: 32,
                last_sr: 0x4a0b_2c80,
                delay_since_last_sr: 0x4000,
            }],
            profile_extensions: vec![0xde, 0xad, 0xbe, 0xef],
        }
    }

    #[test]
    fn parses_and_writes_every_field() {
        assert_eq!(parse_compound(&WIRE).unwrap(), vec![RtcpPacket::SenderReport(value())]);
        let mut out = Vec::new();
        value().write(&mut out).unwrap();
        assert_eq!(out, WIRE);
    }

    #[test]
    fn empty_sr_is_seven_words() {
        let mut out = Vec::new();
        SenderReport { ssrc: 1, ..Default::default() }.write(&mut out).unwrap();
        assert_eq!(&out[..8], &[0x80, 200, 0, 6, 0, 0, 0, 1]);
        assert_eq!(out.len(), 28);
    }

    #[test]
    fn errors() {
        assert_eq!(SenderReport::parse(0, &WIRE[4..27]), Err(RtcpError::too_short("SR", 24, 23)));
        assert_eq!(
            SenderReport::parse(2, &WIRE[4..]),
            Err(RtcpError::CountMismatch { packet: "SR", item: "report blocks", count: 2, present: 1 })
        );
        let many = SenderReport { reports: vec![ReportBlock::default(); 32], ..value() };
        let mut out = vec![7];
        assert!(matches!(many.write(&mut out), Err(RtcpError::Unencodable { packet: "SR", .. })));
        assert_eq!(out, [7]);
        let most = SenderReport { reports: vec![ReportBlock::default(); 31], ..value() };
        most.write(&mut out).unwrap();
        assert_eq!(out[1], 0x80 | 31);
    }

    #[test]
    fn zero_count_keeps_blocks_as_extension() {
        // RC 0: the 28 bytes after the sender info are profile extensions.
        let sr = SenderReport::parse(0, &WIRE[4..]).unwrap();
        assert!(sr.reports.is_empty());
        assert_eq!(sr.profile_extensions, &WIRE[28..]);
    }
}
