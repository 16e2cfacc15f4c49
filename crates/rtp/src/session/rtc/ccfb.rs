//! RFC 8888 congestion control feedback, both sides.
//!
//! Receive side ([`CcfbRegister`]): the arrival of every routed RTP packet (media, RTX,
//! padding) is recorded per SSRC, and every [`CCFB_INTERVAL`] the packets since the last
//! report go out as one feedback: per SSRC a sequence range with, for each packet, whether
//! it arrived and how long before the report timestamp (1/1024 s; ECN is not measured and
//! reported as 0, Not-ECT). A packet is reported once; one arriving after its range was
//! reported is dropped, as for transport-wide feedback.
//!
//! Send side ([`CcfbSent`]): the congestion controller works on transport-wide sequence
//! numbers, so every packet of a ccfb section gets one from the session's counter when
//! the pacer releases it (not written into the packet), and the pair (SSRC, RTP sequence
//! number) → that number is remembered ([`MAX_CCFB_SENT`] at most). Feedback is mapped
//! back through it into the `(sequence number, arrival)` report
//! [`CongestionController::on_transport_feedback`](cc::CongestionController::on_transport_feedback)
//! takes, arrivals on the receiver's clock (the unwrapped report timestamp less the
//! offset).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::feedback::Arrivals;
use crate::rtcp::{compact_ntp, CcfbMetric, CcfbStream, CongestionControlFeedback, Ecn, RtcpPacket, ATO_OVERRANGE};

/// How often feedback is sent while packets arrive (RFC 8888 suggests one report per
/// frame or RTT; 100 ms as transport-wide feedback).
pub const CCFB_INTERVAL: Duration = Duration::from_millis(100);
/// Arrivals kept per SSRC between two reports; the oldest go first.
pub const MAX_CCFB_ARRIVALS: usize = 2048;
/// SSRCs whose arrivals are kept at most; a new one beyond pushes out the one heard from
/// least recently.
pub const MAX_CCFB_SSRCS: usize = 32;
/// Sent packets remembered for mapping feedback back, at most (the oldest go first).
pub const MAX_CCFB_SENT: usize = 8192;
/// Metrics per feedback packet at most (one packet fits a datagram).
const MAX_METRICS_PER_PACKET: usize = 480;

/// One SSRC's arrivals not reported yet.
#[derive(Debug)]
struct Stream {
    arrivals: Arrivals,
    heard: Instant,
}

/// The receive side: arrivals per SSRC until the next report.
#[derive(Debug, Default)]
pub(crate) struct CcfbRegister {
    streams: HashMap<u32, Stream>,
    next_send: Option<Instant>,
}

impl CcfbRegister {
    pub fn record(&mut self, now: Instant, ssrc: u32, seq: u16) {
        if !self.streams.contains_key(&ssrc) && self.streams.len() >= MAX_CCFB_SSRCS {
            if let Some(old) = self.streams.iter().min_by_key(|(_, s)| s.heard).map(|(k, _)| *k) {
                self.streams.remove(&old);
            }
        }
        let s = self
            .streams
            .entry(ssrc)
            .or_insert_with(|| Stream { arrivals: Arrivals::new(MAX_CCFB_ARRIVALS), heard: now });
        s.heard = now;
        if s.arrivals.record(now, seq) {
            self.next_send.get_or_insert(now + CCFB_INTERVAL);
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_send
    }

    /// The feedback due at `now` (whose NTP time is `ntp_now`), from `sender_ssrc`;
    /// returns how many packets were added to `out`.
    pub fn handle_timeout(&mut self, now: Instant, ntp_now: u64, sender_ssrc: u32, out: &mut Vec<RtcpPacket>) -> u64 {
        if self.next_send.is_none_or(|t| now < t) {
            return 0;
        }
        self.next_send = None;
        let report_timestamp = compact_ntp(ntp_now);
        let mut packet = CongestionControlFeedback { sender_ssrc, streams: Vec::new(), report_timestamp };
        let mut metrics = 0;
        let mut sent = 0;
        let mut ssrcs: Vec<u32> = self.streams.keys().copied().collect();
        ssrcs.sort_unstable();
        for ssrc in ssrcs {
            let Some(s) = self.streams.get_mut(&ssrc) else { continue };
            let Some((begin, arrivals)) = s.arrivals.take() else { continue };
            let Some((&last, _)) = arrivals.last_key_value() else { continue };
            let begin = begin.max((last + 1).saturating_sub(MAX_CCFB_ARRIVALS as u64));
            let mut seq = begin;
            while seq <= last {
                let end = (seq + (MAX_METRICS_PER_PACKET - metrics) as u64).min(last + 1);
                let block = (seq..end)
                    .map(|ext| {
                        arrivals.get(&ext).map(|&at| {
                            let ago = now.saturating_duration_since(at).as_micros() * 1024 / 1_000_000;
                            CcfbMetric { ecn: Ecn::NotEct, arrival_offset: ago.min(ATO_OVERRANGE as u128) as u16 }
                        })
                    })
                    .collect::<Vec<_>>();
                metrics += block.len();
                packet.streams.push(CcfbStream { media_ssrc: ssrc, begin_seq: seq as u16, metrics: block });
                seq = end;
                if metrics >= MAX_METRICS_PER_PACKET {
                    let streams = std::mem::take(&mut packet.streams);
                    let full = CongestionControlFeedback { sender_ssrc, streams, report_timestamp };
                    out.push(RtcpPacket::CongestionControlFeedback(full));
                    sent += 1;
                    metrics = 0;
                }
            }
        }
        if !packet.streams.is_empty() {
            out.push(RtcpPacket::CongestionControlFeedback(packet));
            sent += 1;
        }
        sent
    }
}

/// The send side: which transport-wide sequence number each packet got, and the
/// receiver's report clock.
#[derive(Debug, Default)]
pub(crate) struct CcfbSent {
    numbers: HashMap<(u32, u16), u16>,
    order: VecDeque<(u32, u16)>,
    /// The last report timestamp, unwrapped, in 1/65536 s.
    clock: Option<u64>,
}

impl CcfbSent {
    /// Packet `(ssrc, seq)` left with transport-wide sequence number `transport`.
    pub fn on_sent(&mut self, ssrc: u32, seq: u16, transport: u16) {
        if self.numbers.insert((ssrc, seq), transport).is_none() {
            self.order.push_back((ssrc, seq));
        }
        while self.order.len() > MAX_CCFB_SENT {
            if let Some(old) = self.order.pop_front() {
                self.numbers.remove(&old);
            }
        }
    }

    /// Appends what `fb` says to `report` as `(transport-wide sequence number, arrival)`;
    /// returns the entries about packets not remembered. Packets that arrived without a
    /// usable time (over range, unavailable) are left out.
    pub fn on_feedback(&mut self, fb: &CongestionControlFeedback, report: &mut Vec<(u16, Option<Duration>)>) -> u64 {
        let ts = fb.report_timestamp;
        let reference = match self.clock {
            None => 1 << 32 | ts as u64,
            Some(last) => last.saturating_add_signed(ts.wrapping_sub(last as u32) as i32 as i64),
        };
        self.clock = Some(reference);
        let mut unknown = 0;
        for s in &fb.streams {
            for (seq, metric) in s.packets() {
                let Some(&transport) = self.numbers.get(&(s.media_ssrc, seq)) else {
                    unknown += 1;
                    continue;
                };
                let arrival = match metric {
                    None => None,
                    Some(m) if m.arrival_offset >= ATO_OVERRANGE => continue,
                    Some(m) => {
                        let units = reference.saturating_sub(m.arrival_offset as u64 * 64);
                        Some(Duration::from_nanos((units as u128 * 1_000_000_000 / 65_536) as u64))
                    }
                };
                report.push((transport, arrival));
            }
        }
        unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn arrivals_are_reported_per_ssrc_with_losses_and_mapped_back_on_the_send_side() {
        let t0 = Instant::now();
        let mut r = CcfbRegister::default();
        assert_eq!(r.poll_timeout(), None);
        r.record(t0, 7, 65_535);
        r.record(t0 + 10 * MS, 7, 1);
        r.record(t0 + 20 * MS, 9, 100);
        assert_eq!(r.poll_timeout(), Some(t0 + CCFB_INTERVAL));
        let ntp = 5u64 << 32;
        let mut out = Vec::new();
        assert_eq!(r.handle_timeout(t0 + 50 * MS, ntp, 1, &mut out), 0, "not due");
        assert_eq!(r.handle_timeout(t0 + CCFB_INTERVAL, ntp, 1, &mut out), 1);
        let RtcpPacket::CongestionControlFeedback(fb) = &out[0] else { panic!("{out:?}") };
        assert_eq!(fb.report_timestamp, 5 << 16);
        let got: Vec<_> = fb.streams.iter().flat_map(|s| s.packets().map(|(q, m)| (s.media_ssrc, q, m))).collect();
        let ato = |ms: u64| Some(CcfbMetric { ecn: Ecn::NotEct, arrival_offset: (ms * 1024 / 1000) as u16 });
        assert_eq!(got, [(7, 65_535, ato(100)), (7, 0, None), (7, 1, ato(90)), (9, 100, ato(80))]);

        // The sender numbered them 10, 11, 12 and 13 as they left.
        let mut sent = CcfbSent::default();
        for (i, (ssrc, seq)) in [(7, 65_535), (7, 0), (7, 1), (9, 100)].into_iter().enumerate() {
            sent.on_sent(ssrc, seq, 10 + i as u16);
        }
        let mut report = Vec::new();
        assert_eq!(sent.on_feedback(fb, &mut report), 0);
        let base = report[0].1.unwrap();
        let rel: Vec<_> = report
            .iter()
            .map(|(s, a)| (*s, a.map(|a| (a.as_micros() as i64 - base.as_micros() as i64) / 100)))
            .collect();
        // 1/1024 s resolution: 10 and 20 ms later, within a millisecond.
        assert_eq!(rel.iter().map(|r| r.0).collect::<Vec<_>>(), [10, 11, 12, 13]);
        assert_eq!(rel[1].1, None);
        assert!((95..=105).contains(&rel[2].1.unwrap()) && (195..=205).contains(&rel[3].1.unwrap()), "{rel:?}");

        // A late packet of a reported range is not reported again; a loss after the
        // report is.
        r.record(t0 + 120 * MS, 7, 0);
        r.record(t0 + 130 * MS, 7, 3);
        out.clear();
        r.handle_timeout(t0 + 300 * MS, ntp, 1, &mut out);
        let RtcpPacket::CongestionControlFeedback(fb) = &out[0] else { panic!() };
        let got: Vec<_> = fb.streams[0].packets().map(|(q, m)| (q, m.is_some())).collect();
        assert_eq!(got, [(2, false), (3, true)]);
    }

    #[test]
    fn state_is_bounded() {
        let t0 = Instant::now();
        let mut r = CcfbRegister::default();
        for i in 0..100_000u32 {
            r.record(t0 + i * MS / 10, i % 100, (i / 100) as u16);
        }
        assert!(r.streams.len() <= MAX_CCFB_SSRCS);
        assert!(r.streams.values().all(|s| s.arrivals.arrivals.len() <= MAX_CCFB_ARRIVALS));
        let mut out = Vec::new();
        r.handle_timeout(t0 + 20_000 * MS, 0, 1, &mut out);
        let mut buf = Vec::new();
        for p in &out {
            buf.clear();
            p.write(&mut buf).unwrap();
            assert!(buf.len() <= 1_200, "{}", buf.len());
        }
        let mut sent = CcfbSent::default();
        for i in 0..100_000u32 {
            sent.on_sent(i, i as u16, i as u16);
        }
        assert!(sent.numbers.len() <= MAX_CCFB_SENT && sent.order.len() <= MAX_CCFB_SENT);
    }
}
