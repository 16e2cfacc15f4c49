//! RTP congestion control feedback (RFC 8888 §3.1): transport-layer feedback
//! (PT 205, FMT 11) reporting, per RTP stream, which packets of a sequence
//! range arrived, their ECN marks and how long before the report they arrived.
//!
//! ```text
//! |V=2|P| FMT=11  |   PT = 205    |          length               |
//! |                 SSRC of RTCP packet sender                    |
//! |                   SSRC of 1st RTP Stream                      |
//! |          begin_seq            |          num_reports          |
//! |R|ECN|  Arrival time offset    | ...                           .
//! .                                                               .
//! |                   SSRC of nth RTP Stream  ...                 |
//! |                 Report Timestamp (32 bits)                    |
//! ```
//!
//! Unlike other feedback there is no "SSRC of media source" word. Each
//! stream's block holds `num_reports` 16-bit metrics, padded with a zero
//! metric to 32 bits when odd.

use super::header::{u16_at, u32_at, write_packet};
use super::{RtcpError, PT_RTPFB};

const NAME: &str = "congestion control feedback";
/// FMT of RFC 8888 congestion control feedback.
pub const FMT_CCFB: u8 = 11;
/// The most metrics one stream's block may hold (RFC 8888 §3.1).
pub const MAX_REPORTS: usize = 16384;
/// Arrival time offset meaning "8190/1024 s or more before the report".
pub const ATO_OVERRANGE: u16 = 0x1ffe;
/// Arrival time offset meaning "arrival time not available".
pub const ATO_UNAVAILABLE: u16 = 0x1fff;

/// The ECN codepoint a packet arrived with (RFC 3168).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Ecn {
    /// Not ECN-capable transport (00).
    #[default]
    NotEct,
    /// ECN-capable, ECT(1) (01).
    Ect1,
    /// ECN-capable, ECT(0) (10).
    Ect0,
    /// Congestion experienced (11).
    Ce,
}

impl Ecn {
    fn from_bits(bits: u16) -> Self {
        match bits & 3 {
            0 => Ecn::NotEct,
            1 => Ecn::Ect1,
            2 => Ecn::Ect0,
            _ => Ecn::Ce,
        }
    }

    fn bits(self) -> u16 {
        match self {
            Ecn::NotEct => 0,
            Ecn::Ect1 => 1,
            Ecn::Ect0 => 2,
            Ecn::Ce => 3,
        }
    }
}

/// What the feedback says of one received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcfbMetric {
    /// The ECN mark it arrived with.
    pub ecn: Ecn,
    /// How long before the report timestamp it arrived, in 1/1024 s (13
    /// bits), or [`ATO_OVERRANGE`] / [`ATO_UNAVAILABLE`].
    pub arrival_offset: u16,
}

/// One stream's report block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CcfbStream {
    /// The RTP stream reported on.
    pub media_ssrc: u32,
    /// Sequence number of the first packet reported.
    pub begin_seq: u16,
    /// One entry per packet from `begin_seq` on (at most 16384): the metric
    /// when received, `None` when not (R bit clear).
    pub metrics: Vec<Option<CcfbMetric>>,
}

impl CcfbStream {
    /// Each reported packet as `(sequence number, metric)`, wrapping past 65535.
    pub fn packets(&self) -> impl Iterator<Item = (u16, Option<CcfbMetric>)> + '_ {
        self.metrics.iter().enumerate().map(|(i, m)| (self.begin_seq.wrapping_add(i as u16), *m))
    }
}

/// An RFC 8888 congestion control feedback.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CongestionControlFeedback {
    /// SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The report blocks, one per RTP stream.
    pub streams: Vec<CcfbStream>,
    /// When the report was sent: the middle 32 bits of an NTP timestamp.
    pub report_timestamp: u32,
}

impl CongestionControlFeedback {
    /// Parses the body (after the header, padding removed).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        if body.len() < 8 {
            return Err(RtcpError::too_short(NAME, 8, body.len()));
        }
        let mut blocks = &body[4..body.len() - 4];
        let mut streams = Vec::new();
        while !blocks.is_empty() {
            if blocks.len() < 8 {
                return Err(RtcpError::malformed(NAME, "report block header runs into the report timestamp"));
            }
            let count = u16_at(blocks, 6) as usize;
            if count > MAX_REPORTS {
                return Err(RtcpError::malformed(NAME, "num_reports above 16384"));
            }
            let len = 8 + count.div_ceil(2) * 4;
            if blocks.len() < len {
                return Err(RtcpError::CountMismatch {
                    packet: NAME,
                    item: "metric blocks",
                    count,
                    present: (blocks.len() - 8) / 2,
                });
            }
            let metrics = (0..count)
                .map(|i| {
                    let m = u16_at(blocks, 8 + 2 * i);
                    // R clear: ECN and ATO are meaningless (RFC 8888 sets them to 0).
                    (m & 0x8000 != 0).then(|| CcfbMetric { ecn: Ecn::from_bits(m >> 13), arrival_offset: m & 0x1fff })
                })
                .collect();
            streams.push(CcfbStream { media_ssrc: u32_at(blocks, 0), begin_seq: u16_at(blocks, 4), metrics });
            blocks = &blocks[len..];
        }
        Ok(CongestionControlFeedback {
            sender_ssrc: u32_at(body, 0),
            streams,
            report_timestamp: u32_at(body, body.len() - 4),
        })
    }

    /// Appends the packet to `out`; fails on a block of more than 16384
    /// metrics or an arrival offset above 13 bits.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        for s in &self.streams {
            if s.metrics.len() > MAX_REPORTS {
                return Err(RtcpError::unencodable(NAME, "more than 16384 metrics in one report block"));
            }
            if s.metrics.iter().flatten().any(|m| m.arrival_offset > 0x1fff) {
                return Err(RtcpError::unencodable(NAME, "arrival time offset above 13 bits"));
            }
        }
        write_packet(out, NAME, FMT_CCFB, PT_RTPFB, |out| {
            out.extend_from_slice(&self.sender_ssrc.to_be_bytes());
            for s in &self.streams {
                out.extend_from_slice(&s.media_ssrc.to_be_bytes());
                out.extend_from_slice(&s.begin_seq.to_be_bytes());
                out.extend_from_slice(&(s.metrics.len() as u16).to_be_bytes());
                for m in &s.metrics {
                    let word = m.map_or(0, |m| 0x8000 | m.ecn.bits() << 13 | m.arrival_offset);
                    out.extend_from_slice(&word.to_be_bytes());
                }
                if !s.metrics.len().is_multiple_of(2) {
                    out.extend_from_slice(&[0, 0]);
                }
            }
            out.extend_from_slice(&self.report_timestamp.to_be_bytes());
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value() -> CongestionControlFeedback {
        CongestionControlFeedback {
            sender_ssrc: 0x0102_0304,
            streams: vec![
                CcfbStream {
                    media_ssrc: 0x0a0b_0c0d,
                    begin_seq: 65535,
                    metrics: vec![
                        Some(CcfbMetric { ecn: Ecn::Ect0, arrival_offset: 100 }),
                        None,
                        Some(CcfbMetric { ecn: Ecn::Ce, arrival_offset: ATO_UNAVAILABLE }),
                    ],
                },
                CcfbStream {
                    media_ssrc: 5,
                    begin_seq: 7,
                    metrics: vec![
                        Some(CcfbMetric { ecn: Ecn::NotEct, arrival_offset: 0 }),
                        Some(CcfbMetric { ecn: Ecn::Ect1, arrival_offset: ATO_OVERRANGE }),
                    ],
                },
            ],
            report_timestamp: 0xdead_beef,
        }
    }

    #[test]
    fn layout() {
        let mut out = Vec::new();
        value().write(&mut out).unwrap();
        #[rustfmt::skip]
        let expected = [
            0x8b, 205, 0, 9,
            1, 2, 3, 4,
            0x0a, 0x0b, 0x0c, 0x0d, 0xff, 0xff, 0, 3,
            0xc0, 100, 0, 0, // R, ECT(0), 100/1024 s; not received
            0xff, 0xff, 0, 0, // R, CE, unavailable; padding metric
            0, 0, 0, 5, 0, 7, 0, 2,
            0x80, 0, 0xbf, 0xfe, // R, Not-ECT, 0; R, ECT(1), overrange
            0xde, 0xad, 0xbe, 0xef,
        ];
        assert_eq!(out, expected);
        let parsed = CongestionControlFeedback::parse(&out[4..]).unwrap();
        assert_eq!(parsed, value());
        let seqs: Vec<u16> = parsed.streams[0].packets().map(|p| p.0).collect();
        assert_eq!(seqs, vec![65535, 0, 1]);
    }

    #[test]
    fn empty_feedback_and_empty_block() {
        let fb = CongestionControlFeedback {
            sender_ssrc: 1,
            streams: vec![CcfbStream { media_ssrc: 2, begin_seq: 3, metrics: vec![] }],
            report_timestamp: 4,
        };
        let mut out = Vec::new();
        fb.write(&mut out).unwrap();
        assert_eq!(out, [0x8b, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 4]);
        assert_eq!(CongestionControlFeedback::parse(&out[4..]).unwrap(), fb);
        let none = CongestionControlFeedback::parse(&[0, 0, 0, 1, 0, 0, 0, 2]).unwrap();
        assert_eq!(none, CongestionControlFeedback { sender_ssrc: 1, streams: vec![], report_timestamp: 2 });
    }

    #[test]
    fn not_received_metric_drops_stray_bits() {
        let body = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0x7f, 0xff, 0, 0, 0, 0, 0, 3];
        let fb = CongestionControlFeedback::parse(&body).unwrap();
        assert_eq!(fb.streams[0].metrics, vec![None]);
    }

    #[test]
    fn errors() {
        assert_eq!(CongestionControlFeedback::parse(&[0; 7]), Err(RtcpError::too_short(NAME, 8, 7)));
        assert_eq!(
            CongestionControlFeedback::parse(&[0; 12]),
            Err(RtcpError::malformed(NAME, "report block header runs into the report timestamp"))
        );
        let body = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x80, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(
            CongestionControlFeedback::parse(&body),
            Err(RtcpError::CountMismatch { packet: NAME, item: "metric blocks", count: 3, present: 2 })
        );
        let body = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x40, 0x01, 0, 0, 0, 0];
        assert_eq!(CongestionControlFeedback::parse(&body), Err(RtcpError::malformed(NAME, "num_reports above 16384")));
        let big = CongestionControlFeedback {
            streams: vec![CcfbStream { metrics: vec![None; MAX_REPORTS + 1], ..Default::default() }],
            ..Default::default()
        };
        assert!(matches!(big.write(&mut Vec::new()), Err(RtcpError::Unencodable { .. })));
        let ato = CongestionControlFeedback {
            streams: vec![CcfbStream {
                metrics: vec![Some(CcfbMetric { ecn: Ecn::Ce, arrival_offset: 0x2000 })],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(ato.write(&mut Vec::new()), Err(RtcpError::unencodable(NAME, "arrival time offset above 13 bits")));
        let full = CongestionControlFeedback {
            streams: vec![CcfbStream { metrics: vec![None; MAX_REPORTS], ..Default::default() }],
            ..Default::default()
        };
        let mut out = Vec::new();
        full.write(&mut out).unwrap();
        assert_eq!(CongestionControlFeedback::parse(&out[4..]).unwrap(), full);
    }
}
