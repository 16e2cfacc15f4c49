//! The reception report block carried by SR and RR packets (RFC 3550 §6.4.1):
//!
//! ```text
//! |                 SSRC_1 (SSRC of first source)                 |
//! | fraction lost |       cumulative number of packets lost       |
//! |           extended highest sequence number received           |
//! |                      interarrival jitter                      |
//! |                         last SR (LSR)                         |
//! |                   delay since last SR (DLSR)                  |
//! ```

use super::header::u32_at;

/// Size of one report block on the wire.
pub const REPORT_BLOCK_LEN: usize = 24;

/// One reception report: what a receiver saw of one source since the last report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Packets lost since the previous report, as a fixed-point fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost since reception began: expected minus received, negative
    /// when duplicates arrived. 24 bits signed on the wire; written saturated
    /// to -8,388,608..=8,388,607.
    pub cumulative_lost: i32,
    /// Cycles count (high 16 bits) and highest sequence number received (low 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter estimate, in RTP timestamp units.
    pub jitter: u32,
    /// The middle 32 bits of the NTP timestamp of the last SR from this
    /// source (LSR), 0 if none was received.
    pub last_sr: u32,
    /// Delay between receiving that SR and sending this report, in 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    /// Reads a block from exactly [`REPORT_BLOCK_LEN`] bytes.
    pub(crate) fn parse(b: &[u8; REPORT_BLOCK_LEN]) -> Self {
        let lost = u32_at(b, 4) & 0x00ff_ffff;
        ReportBlock {
            ssrc: u32_at(b, 0),
            fraction_lost: b[4],
            // Sign-extend the 24-bit field.
            cumulative_lost: ((lost << 8) as i32) >> 8,
            extended_highest_seq: u32_at(b, 8),
            jitter: u32_at(b, 12),
            last_sr: u32_at(b, 16),
            delay_since_last_sr: u32_at(b, 20),
        }
    }

    /// Appends the block's 24 bytes.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        out.extend_from_slice(&((self.fraction_lost as u32) << 24 | lost).to_be_bytes());
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }

    /// The round-trip time this block reveals to the sender of the SR it
    /// answers (RFC 3550 §6.4.1): `now - LSR - DLSR`, in 1/65536 s, with
    /// `now` the middle 32 bits of the NTP time at which the block arrived.
    /// `None` when no SR was answered (LSR 0) or the result is negative.
    pub fn rtt(&self, now: u32) -> Option<u32> {
        compact_rtt(now, self.last_sr, self.delay_since_last_sr)
    }
}

/// The middle 32 bits of a 64-bit NTP timestamp (16.16 fixed-point seconds),
/// the "compact NTP" of LSR, DLSR, LRR and DLRR fields.
pub fn compact_ntp(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// `now - last - delay` in compact NTP units, or `None` when `last` is 0 (no
/// timestamp echoed yet) or the result would be negative (clocks or fields
/// inconsistent). Shared by report blocks and XR DLRR sub-blocks.
pub(crate) fn compact_rtt(now: u32, last: u32, delay: u32) -> Option<u32> {
    if last == 0 {
        return None;
    }
    let rtt = now.wrapping_sub(last).wrapping_sub(delay);
    // Within half the 16-bit-second circle, the difference is "positive".
    (rtt < 0x8000_0000).then_some(rtt)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u8; 24] = [
        0x11, 0x22, 0x33, 0x44, // SSRC
        0x40, 0xff, 0xff, 0xfe, // fraction 64/256, cumulative -2
        0x00, 0x01, 0x23, 0x45, // cycles 1, highest 0x2345
        0x00, 0x00, 0x01, 0x00, // jitter 256
        0xab, 0xcd, 0x12, 0x34, // LSR
        0x00, 0x01, 0x80, 0x00, // DLSR 1.5 s
    ];

    #[test]
    fn parses_every_field() {
        let b = ReportBlock::parse(&BYTES);
        assert_eq!(
            b,
            ReportBlock {
                ssrc: 0x1122_3344,
                fraction_lost: 64,
                cumulative_lost: -2,
                extended_highest_seq: 0x0001_2345,
                jitter: 256,
                last_sr: 0xabcd_1234,
                delay_since_last_sr: 0x0001_8000,
            }
        );
        let mut out = Vec::new();
        b.write(&mut out);
        assert_eq!(out, BYTES);
    }

    #[test]
    fn cumulative_lost_is_24_bit_signed_and_saturates() {
        for (value, wire) in [(0x7f_ffff, [0x7f, 0xff, 0xff]), (-0x80_0000, [0x80, 0, 0]), (5, [0, 0, 5])] {
            let mut out = Vec::new();
            ReportBlock { cumulative_lost: value, ..Default::default() }.write(&mut out);
            assert_eq!(&out[5..8], &wire);
            assert_eq!(ReportBlock::parse(out.as_slice().try_into().unwrap()).cumulative_lost, value);
        }
        let mut out = Vec::new();
        ReportBlock { cumulative_lost: 10_000_000, fraction_lost: 1, ..Default::default() }.write(&mut out);
        assert_eq!(&out[4..8], &[1, 0x7f, 0xff, 0xff]);
        out.clear();
        ReportBlock { cumulative_lost: i32::MIN, ..Default::default() }.write(&mut out);
        assert_eq!(&out[4..8], &[0, 0x80, 0, 0]);
    }

    #[test]
    fn rtt_from_lsr_and_dlsr() {
        let b = ReportBlock { last_sr: 0x0001_0000, delay_since_last_sr: 0x0000_8000, ..Default::default() };
        // Arrived at 2.0 s: 2.0 - 1.0 - 0.5 = 0.5 s.
        assert_eq!(b.rtt(0x0002_0000), Some(0x8000));
        // Arrived "before" the SR was answered: inconsistent.
        assert_eq!(b.rtt(0x0001_4000), None);
        assert_eq!(ReportBlock::default().rtt(0x0002_0000), None);
        // Wraps around the 16-bit seconds.
        let w = ReportBlock { last_sr: 0xffff_0000, delay_since_last_sr: 0, ..Default::default() };
        assert_eq!(w.rtt(0x0000_8000), Some(0x0001_8000));
        assert_eq!(compact_ntp(0x0001_0002_0003_0004), 0x0002_0003);
    }
}
