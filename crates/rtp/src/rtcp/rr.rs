//! Receiver report, RR (RFC 3550 §6.4.2), packet type 201: an SR without the
//! sender information, sent by participants that are not sending.
//!
//! ```text
//! |V=2|P|    RC   |   PT=RR=201   |             length            |
//! |                     SSRC of packet sender                     |
//! |                 report block 1 ... RC (24 bytes each)         |
//! |                  profile-specific extensions                  |
//! ```

use super::header::{u32_at, write_packet};
use super::report_block::ReportBlock;
use super::sr::{block_count, parse_blocks};
use super::{RtcpError, PT_RR};

const NAME: &str = "RR";

/// A receiver report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Reception reports, at most 31 in one packet.
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension bytes after the report blocks, kept as they came.
    pub profile_extensions: Vec<u8>,
}

impl ReceiverReport {
    /// Parses the body (after the header, padding removed); `count` is RC.
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < 4 {
            return Err(RtcpError::too_short(NAME, 4, body.len()));
        }
        let (reports, rest) = parse_blocks(NAME, count, &body[4..])?;
        Ok(ReceiverReport { ssrc: u32_at(body, 0), reports, profile_extensions: rest.to_vec() })
    }

    /// Appends the packet to `out`; fails on more than 31 report blocks.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        let count = block_count(NAME, &self.reports)?;
        write_packet(out, NAME, count, PT_RR, |out| {
            out.extend_from_slice(&self.ssrc.to_be_bytes());
            self.reports.iter().for_each(|r| r.write(out));
            out.extend_from_slice(&self.profile_extensions);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_rr_is_two_words() {
        let mut out = Vec::new();
        ReceiverReport { ssrc: 0x0102_0304, ..Default::default() }.write(&mut out).unwrap();
        assert_eq!(out, [0x80, 201, 0, 1, 1, 2, 3, 4]);
        assert_eq!(ReceiverReport::parse(0, &out[4..]).unwrap().ssrc, 0x0102_0304);
    }

    #[test]
    fn two_blocks_round_trip() {
        let rr = ReceiverReport {
            ssrc: 9,
            reports: vec![
                ReportBlock { ssrc: 1, fraction_lost: 255, cumulative_lost: -1, ..Default::default() },
                ReportBlock { ssrc: 2, jitter: 77, last_sr: 5, delay_since_last_sr: 6, ..Default::default() },
            ],
            profile_extensions: vec![],
        };
        let mut out = Vec::new();
        rr.write(&mut out).unwrap();
        assert_eq!(&out[..4], &[0x82, 201, 0, 13]);
        assert_eq!(&out[8..16], &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(ReceiverReport::parse(2, &out[4..]).unwrap(), rr);
    }

    #[test]
    fn errors() {
        assert_eq!(ReceiverReport::parse(0, &[1, 2, 3]), Err(RtcpError::too_short("RR", 4, 3)));
        assert_eq!(
            ReceiverReport::parse(1, &[0; 27]),
            Err(RtcpError::CountMismatch { packet: "RR", item: "report blocks", count: 1, present: 0 })
        );
        let rr = ReceiverReport { reports: vec![ReportBlock::default(); 32], ..Default::default() };
        assert!(matches!(rr.write(&mut Vec::new()), Err(RtcpError::Unencodable { packet: "RR", .. })));
    }
}
