//! Round-trip time for a receiver that sends no media (RFC 3611 §4.4, §4.5): it sends an
//! XR with a Receiver Reference Time block (RRTR); the media sender answers with a DLRR
//! sub-block that echoes the RRTR's middle 32 NTP bits (LRR) and says how long it held it
//! (DLRR). The round trip is then the time since that RRTR left, less DLRR.
//!
//! The RRTRs sent are remembered with the `Instant` they left (the last [`RRTR_HISTORY`]),
//! so the RTT is measured on the monotonic clock the caller drives; the NTP time only has
//! to be unique enough to be echoed.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtcp::{compact_ntp, DlrrItem, ExtendedReport, Rrtr, XrBlock};

/// How many RRTRs sent are remembered to match DLRR answers with. A DLRR answering an
/// older one is ignored.
pub const RRTR_HISTORY: usize = 8;

/// The receiver's side of RFC 3611 RTT: makes RRTR blocks and turns DLRR answers into a
/// round-trip time.
#[derive(Clone, Debug)]
pub struct ReceiverRtt {
    local_ssrc: u32,
    /// (LRR value, when the RRTR left), oldest first.
    sent: VecDeque<(u32, Instant)>,
    rtt: Option<Duration>,
}

impl ReceiverRtt {
    /// The RTT of the receiver whose own SSRC (the one its RTCP carries) is `local_ssrc`.
    pub fn new(local_ssrc: u32) -> Self {
        ReceiverRtt { local_ssrc, sent: VecDeque::with_capacity(RRTR_HISTORY), rtt: None }
    }

    /// The RRTR block to send at `now`, whose wallclock is `ntp_now` (64-bit NTP format);
    /// remembered to match its answer.
    pub fn rrtr(&mut self, now: Instant, ntp_now: u64) -> Rrtr {
        let lrr = compact_ntp(ntp_now);
        self.sent.retain(|(l, _)| *l != lrr);
        if self.sent.len() == RRTR_HISTORY {
            self.sent.pop_front();
        }
        self.sent.push_back((lrr, now));
        Rrtr { ntp_time: ntp_now }
    }

    /// An XR from this receiver carrying one RRTR block ([`rrtr`](Self::rrtr)).
    pub fn extended_report(&mut self, now: Instant, ntp_now: u64) -> ExtendedReport {
        ExtendedReport { ssrc: self.local_ssrc, blocks: vec![XrBlock::Rrtr(self.rrtr(now, ntp_now))] }
    }

    /// Takes an XR that arrived at `now`: the DLRR sub-blocks addressed to this receiver
    /// give the RTT. Returns the newest one measured from it, if any.
    pub fn on_extended_report(&mut self, now: Instant, xr: &ExtendedReport) -> Option<Duration> {
        let mut measured = None;
        for block in &xr.blocks {
            if let XrBlock::Dlrr(items) = block {
                for item in items {
                    if item.ssrc == self.local_ssrc {
                        measured = self.on_dlrr(now, item).or(measured);
                    }
                }
            }
        }
        measured
    }

    /// Takes one DLRR sub-block that arrived at `now` (addressed to this receiver: the
    /// caller checks the SSRC, as [`on_extended_report`](Self::on_extended_report) does).
    /// Returns the RTT, or None when it answers no RRTR remembered or its delay is longer
    /// than the time since that RRTR left (inconsistent).
    pub fn on_dlrr(&mut self, now: Instant, item: &DlrrItem) -> Option<Duration> {
        if item.last_rr == 0 {
            return None;
        }
        let &(_, sent_at) = self.sent.iter().find(|(lrr, _)| *lrr == item.last_rr)?;
        let held = Duration::from_nanos(item.delay_since_last_rr as u64 * 1_000_000_000 / 65_536);
        let rtt = now.saturating_duration_since(sent_at).checked_sub(held)?;
        self.rtt = Some(rtt);
        Some(rtt)
    }

    /// The latest RTT measured, None before the first answer.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A 64-bit NTP time whose middle 32 bits (compact NTP, 16.16 seconds) are `compact`.
    fn ntp(compact: u32) -> u64 {
        (compact as u64) << 16
    }

    #[test]
    fn rtt_from_a_dlrr_answer() {
        let t0 = Instant::now();
        let mut r = ReceiverRtt::new(7);
        let xr = r.extended_report(t0, ntp(100 << 16));
        assert_eq!(xr, ExtendedReport { ssrc: 7, blocks: vec![XrBlock::Rrtr(Rrtr { ntp_time: ntp(100 << 16) })] });
        assert_eq!(r.rtt(), None);
        // The sender held it 250 ms (1/4 s = 0x4000) and the answer came 330 ms after: 80 ms.
        let answer = ExtendedReport {
            ssrc: 99,
            blocks: vec![XrBlock::Dlrr(vec![
                DlrrItem { ssrc: 8, last_rr: 100 << 16, delay_since_last_rr: 0 },
                DlrrItem { ssrc: 7, last_rr: 100 << 16, delay_since_last_rr: 0x4000 },
            ])],
        };
        assert_eq!(r.on_extended_report(t0 + 330 * MS, &answer), Some(80 * MS));
        assert_eq!(r.rtt(), Some(80 * MS));
    }

    #[test]
    fn unknown_zero_and_inconsistent_answers_are_ignored() {
        let t0 = Instant::now();
        let mut r = ReceiverRtt::new(7);
        r.rrtr(t0, ntp(5 << 16));
        let item = DlrrItem { ssrc: 7, last_rr: 5 << 16, delay_since_last_rr: 0x8000 };
        assert_eq!(r.on_dlrr(t0 + 100 * MS, &item), None, "held 500 ms of a 100 ms round trip");
        assert_eq!(r.on_dlrr(t0 + 100 * MS, &DlrrItem { last_rr: 6 << 16, ..item }), None);
        assert_eq!(r.on_dlrr(t0 + 100 * MS, &DlrrItem { last_rr: 0, ..item }), None);
        assert_eq!(r.rtt(), None);
    }

    #[test]
    fn history_is_bounded_and_old_answers_expire() {
        let t0 = Instant::now();
        let mut r = ReceiverRtt::new(1);
        for i in 0..100u32 {
            r.rrtr(t0 + i * 1000 * MS, ntp((i + 1) << 16));
        }
        assert_eq!(r.sent.len(), RRTR_HISTORY);
        let old = DlrrItem { ssrc: 1, last_rr: 1 << 16, delay_since_last_rr: 0 };
        assert_eq!(r.on_dlrr(t0 + 100_000 * MS, &old), None);
        let last = DlrrItem { ssrc: 1, last_rr: 100 << 16, delay_since_last_rr: 0 };
        assert_eq!(r.on_dlrr(t0 + 99_040 * MS, &last), Some(40 * MS));
    }
}
