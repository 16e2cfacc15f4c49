//! Receive-side transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01):
//! the arrival of every packet carrying a transport-wide sequence number is recorded, and
//! every [`TWCC_INTERVAL`] the arrivals since the last report go out as transport feedback
//! built by [`TwccBuilder`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::packet::extend_seq;
use crate::rtcp::{RtcpPacket, TwccAddError, TwccBuilder};

/// How often feedback is sent while packets arrive (libwebrtc: 100 ms by default).
pub const TWCC_INTERVAL: Duration = Duration::from_millis(100);
/// Arrivals kept at most between two reports; the oldest go first.
pub const MAX_TWCC_ARRIVALS: usize = 4096;
/// Bytes of one feedback packet at most (it must fit a datagram with others).
const MAX_FEEDBACK_BYTES: usize = 1000;

/// Arrivals by extended sequence number not reported yet, at most `max` (the oldest go
/// first); shared by transport-wide and RFC 8888 feedback.
#[derive(Debug)]
pub(crate) struct Arrivals {
    pub arrivals: BTreeMap<u64, Instant>,
    newest: Option<u64>,
    /// Everything below was reported.
    reported: Option<u64>,
    max: usize,
}

impl Arrivals {
    pub fn new(max: usize) -> Self {
        Arrivals { arrivals: BTreeMap::new(), newest: None, reported: None, max }
    }

    /// Records an arrival; false (and not recorded) when its range was reported already.
    pub fn record(&mut self, now: Instant, seq: u16) -> bool {
        let ext = self.newest.map_or(1 << 16 | seq as u64, |n| extend_seq(n, seq));
        if self.reported.is_some_and(|r| ext < r) {
            return false;
        }
        self.newest = Some(self.newest.map_or(ext, |n| n.max(ext)));
        self.arrivals.insert(ext, now);
        if self.arrivals.len() > self.max {
            self.arrivals.pop_first();
        }
        true
    }

    /// Takes what is to report: the first sequence number to report (packets lost right
    /// after the last report are reported lost from there) and the arrivals; everything
    /// up to the last arrival counts as reported.
    pub fn take(&mut self) -> Option<(u64, BTreeMap<u64, Instant>)> {
        let arrivals = std::mem::take(&mut self.arrivals);
        let (&first, _) = arrivals.first_key_value()?;
        let (&last, _) = arrivals.last_key_value()?;
        let begin = self.reported.filter(|&r| r < first && first - r < 1000).unwrap_or(first);
        self.reported = Some(last + 1);
        Some((begin, arrivals))
    }
}

/// The arrivals not reported yet.
#[derive(Debug)]
pub(crate) struct TwccRegister {
    epoch: Instant,
    arrivals: Arrivals,
    feedback_count: u8,
    next_send: Option<Instant>,
}

impl TwccRegister {
    pub fn new(epoch: Instant) -> Self {
        TwccRegister { epoch, arrivals: Arrivals::new(MAX_TWCC_ARRIVALS), feedback_count: 0, next_send: None }
    }

    pub fn record(&mut self, now: Instant, seq: u16) {
        if self.arrivals.record(now, seq) {
            self.next_send.get_or_insert(now + TWCC_INTERVAL);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_send
    }

    /// The feedback due at `now`, from `sender_ssrc` about `media_ssrc`.
    pub fn handle_timeout(&mut self, now: Instant, sender_ssrc: u32, media_ssrc: u32, out: &mut Vec<RtcpPacket>) {
        if self.next_send.is_none_or(|t| now < t) {
            return;
        }
        self.next_send = None;
        let Some((begin, arrivals)) = self.arrivals.take() else { return };
        let mut builder: Option<TwccBuilder> = None;
        if !arrivals.contains_key(&begin) {
            let mut b = self.builder(sender_ssrc, media_ssrc);
            if b.add(begin as u16, None).is_ok() {
                builder = Some(b);
            }
        }
        for (&ext, &at) in &arrivals {
            let us = at.saturating_duration_since(self.epoch).as_micros() as i64;
            let b = builder.get_or_insert_with(|| self.builder(sender_ssrc, media_ssrc));
            if b.wire_len() <= MAX_FEEDBACK_BYTES
                && matches!(b.add(ext as u16, Some(us)), Ok(()) | Err(TwccAddError::OutOfOrder { .. }))
            {
                continue;
            }
            // Full or a delta out of range: this one starts the next feedback.
            out.extend(builder.take().and_then(TwccBuilder::finish).map(RtcpPacket::TransportFeedback));
            let mut b = self.builder(sender_ssrc, media_ssrc);
            if b.add(ext as u16, Some(us)).is_ok() {
                builder = Some(b);
            }
        }
        out.extend(builder.and_then(TwccBuilder::finish).map(RtcpPacket::TransportFeedback));
    }

    fn builder(&mut self, sender_ssrc: u32, media_ssrc: u32) -> TwccBuilder {
        let b = TwccBuilder::new(sender_ssrc, media_ssrc, self.feedback_count);
        self.feedback_count = self.feedback_count.wrapping_add(1);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(r: &mut TwccRegister, now: Instant) -> Vec<(u16, Option<i64>)> {
        let mut out = Vec::new();
        r.handle_timeout(now, 1, 2, &mut out);
        out.iter()
            .flat_map(|p| match p {
                RtcpPacket::TransportFeedback(fb) => fb.packets().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn arrivals_are_reported_every_interval_with_losses_between_and_after_reports() {
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        let mut r = TwccRegister::new(t0);
        assert_eq!(r.poll_timeout(), None, "nothing to report, no timer");
        r.record(t0, 65_535);
        r.record(t0 + 2 * ms, 1);
        assert_eq!(r.poll_timeout(), Some(t0 + TWCC_INTERVAL));
        assert!(report(&mut r, t0 + 50 * ms).is_empty(), "not due yet");
        let got = report(&mut r, t0 + TWCC_INTERVAL);
        let seqs: Vec<_> = got.iter().map(|(s, a)| (*s, a.is_some())).collect();
        assert_eq!(seqs, [(65_535, true), (0, false), (1, true)]);
        assert_eq!(got[2].1.unwrap() - got[0].1.unwrap(), 2_000);
        // 2 is lost after the report; 3 arrives; a late 1 is not reported twice.
        r.record(t0 + 150 * ms, 1);
        r.record(t0 + 160 * ms, 3);
        let seqs: Vec<_> = report(&mut r, t0 + 300 * ms).iter().map(|(s, a)| (*s, a.is_some())).collect();
        assert_eq!(seqs, [(2, false), (3, true)]);
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn arrivals_are_bounded_and_split_over_several_packets() {
        let t0 = Instant::now();
        let mut r = TwccRegister::new(t0);
        for i in 0..10_000u32 {
            r.record(t0 + Duration::from_micros(i as u64 * 100), i as u16);
            assert!(r.arrivals.arrivals.len() <= MAX_TWCC_ARRIVALS);
        }
        let mut out = Vec::new();
        r.handle_timeout(t0 + Duration::from_secs(2), 1, 2, &mut out);
        assert!(out.len() > 1);
        let mut buf = Vec::new();
        for p in &out {
            buf.clear();
            p.write(&mut buf).unwrap();
            assert!(buf.len() <= MAX_FEEDBACK_BYTES + 20);
        }
    }
}
