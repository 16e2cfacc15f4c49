//! Send-side packet tracking: what was sent under each transport-wide
//! sequence number, and what the receiver's feedback says became of it.
//!
//! Transport-wide sequence numbers (draft-holmer-rmcat-transport-wide-cc-
//! extensions-01) are 16 bits on the wire; they are unwrapped here to 64
//! bits against the newest packet sent. Feedback may repeat a packet (the
//! receiver re-reports), come out of order, or first report a packet lost
//! and later received: each packet is reported received at most once and
//! lost at most once, a late arrival still counts.
//!
//! A packet leaves the bytes in flight when feedback reports it, or reports
//! a later one (as libwebrtc's `TransportFeedbackAdapter` counts): a report
//! that got lost on the way back must not leave its packets in flight for
//! the history's lifetime. Such a packet still counts if a report names it
//! later.
//!
//! The history is bounded by count and by age (libwebrtc's
//! `TransportFeedbackAdapter` keeps 60 s); the count bound is kept below
//! 2^15 so that a 16-bit number always names one packet.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One packet as handed to the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentPacket {
    /// The transport-wide sequence number it carries.
    pub seq: u16,
    /// When it left (the caller's clock).
    pub send_time: Instant,
    /// Its size on the wire in bytes (RTP header and payload at least; the
    /// estimators only need consistency).
    pub size: usize,
    /// The probe cluster it belongs to, as given by [`crate::Pacer`].
    pub probe_cluster: Option<u32>,
}

/// The fate of one sent packet, as learned from feedback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketResult {
    /// The unwrapped transport-wide sequence number.
    pub seq: u64,
    /// When it was sent (local clock).
    pub send_time: Instant,
    /// Its size in bytes.
    pub size: usize,
    /// The probe cluster it belonged to.
    pub probe_cluster: Option<u32>,
    /// Its arrival on the remote clock, or `None` if reported lost.
    pub arrival: Option<Duration>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Unacked,
    /// Not reported, but a later packet was: no longer in flight.
    Passed,
    Lost,
    Received,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    send_time: Instant,
    size: usize,
    probe_cluster: Option<u32>,
    fate: Fate,
}

/// Counters of input the history could not use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryStats {
    /// Sends whose sequence number was not newer than the last one.
    pub out_of_order_sends: u64,
    /// Feedback entries for packets never sent or already forgotten.
    pub unknown_feedback: u64,
    /// Feedback entries that repeated what was already known.
    pub duplicate_feedback: u64,
}

/// The bounded record of sent packets.
#[derive(Debug)]
pub(crate) struct SendHistory {
    /// Entry `i` holds sequence number `first_seq + i`; gaps are `None`.
    entries: VecDeque<Option<Entry>>,
    first_seq: u64,
    last_seq: Option<u64>,
    max_packets: usize,
    max_age: Duration,
    in_flight: usize,
    /// The highest number any feedback reported.
    reported_through: Option<u64>,
    stats: HistoryStats,
}

/// Hard ceiling on the count bound: a 16-bit number must name one packet.
const MAX_PACKETS: usize = 1 << 14;

impl SendHistory {
    pub(crate) fn new(max_packets: usize, max_age: Duration) -> Self {
        SendHistory {
            entries: VecDeque::new(),
            first_seq: 0,
            last_seq: None,
            max_packets: max_packets.clamp(1, MAX_PACKETS),
            max_age,
            in_flight: 0,
            reported_through: None,
            stats: HistoryStats::default(),
        }
    }

    /// Bytes sent and neither acknowledged nor reported lost.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// When the oldest packet that no feedback has covered yet was sent.
    pub(crate) fn oldest_unreported(&self) -> Option<Instant> {
        let from = self.reported_through.map_or(0, |r| (r + 1).saturating_sub(self.first_seq) as usize);
        self.entries.iter().skip(from).flatten().find(|e| e.fate == Fate::Unacked).map(|e| e.send_time)
    }

    pub(crate) fn stats(&self) -> HistoryStats {
        self.stats
    }

    /// The 64-bit number closest to `reference` whose low 16 bits are `seq`.
    fn unwrap(seq: u16, reference: u64) -> Option<u64> {
        let delta = seq.wrapping_sub(reference as u16) as i16 as i64;
        reference.checked_add_signed(delta)
    }

    /// Records a sent packet. Returns false (and counts it) if its number is
    /// not newer than the last one recorded.
    pub(crate) fn on_sent(&mut self, p: SentPacket) -> bool {
        let seq = match self.last_seq {
            None => {
                // Start far from zero so that numbers just below the first
                // one still unwrap.
                self.first_seq = (1 << 32) + u64::from(p.seq);
                self.first_seq
            }
            Some(last) => match Self::unwrap(p.seq, last + 1) {
                Some(s) if s > last => s,
                _ => {
                    self.stats.out_of_order_sends += 1;
                    return false;
                }
            },
        };
        if let Some(last) = self.last_seq {
            for _ in last + 1..seq {
                self.entries.push_back(None);
            }
        }
        self.entries.push_back(Some(Entry {
            send_time: p.send_time,
            size: p.size,
            probe_cluster: p.probe_cluster,
            fate: Fate::Unacked,
        }));
        self.last_seq = Some(seq);
        self.in_flight += p.size;
        self.prune(p.send_time);
        true
    }

    fn prune(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let too_many = self.entries.len() > self.max_packets;
            let too_old = match front {
                Some(e) => now.saturating_duration_since(e.send_time) > self.max_age,
                None => true,
            };
            if !too_many && !too_old {
                break;
            }
            if let Some(Some(e)) = self.entries.pop_front() {
                if e.fate == Fate::Unacked {
                    self.in_flight -= e.size;
                }
            }
            self.first_seq += 1;
        }
    }

    /// Applies one feedback report of `(sequence number, arrival)` pairs and
    /// appends what it newly taught to `out` (in report order).
    pub(crate) fn on_feedback(&mut self, report: &[(u16, Option<Duration>)], out: &mut Vec<PacketResult>) {
        let Some(last) = self.last_seq else {
            self.stats.unknown_feedback += report.len() as u64;
            return;
        };
        let mut highest = None;
        for &(seq16, arrival) in report {
            let Some(seq) = Self::unwrap(seq16, last).filter(|s| *s >= self.first_seq && *s <= last) else {
                self.stats.unknown_feedback += 1;
                continue;
            };
            highest = highest.max(Some(seq));
            let Some(Some(entry)) = self.entries.get_mut((seq - self.first_seq) as usize) else {
                self.stats.unknown_feedback += 1;
                continue;
            };
            let new_fate = match (entry.fate, arrival) {
                (Fate::Unacked | Fate::Passed, None) => Fate::Lost,
                (Fate::Unacked | Fate::Passed | Fate::Lost, Some(_)) => Fate::Received,
                _ => {
                    self.stats.duplicate_feedback += 1;
                    continue;
                }
            };
            if entry.fate == Fate::Unacked {
                self.in_flight -= entry.size;
            }
            entry.fate = new_fate;
            out.push(PacketResult {
                seq,
                send_time: entry.send_time,
                size: entry.size,
                probe_cluster: entry.probe_cluster,
                arrival,
            });
        }
        if let Some(h) = highest.filter(|h| self.reported_through.is_none_or(|r| *h > r)) {
            let from = self.reported_through.map_or(0, |r| (r + 1).saturating_sub(self.first_seq) as usize);
            let to = (h - self.first_seq) as usize;
            for e in self.entries.range_mut(from..to).flatten() {
                if e.fate == Fate::Unacked {
                    e.fate = Fate::Passed;
                    self.in_flight -= e.size;
                }
            }
            self.reported_through = Some(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn sent(h: &mut SendHistory, t0: Instant, seq: u16, at_ms: u64) -> bool {
        h.on_sent(SentPacket { seq, send_time: t0 + ms(at_ms), size: 100, probe_cluster: None })
    }

    #[test]
    fn feedback_reports_arrivals_and_losses() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(1000, Duration::from_secs(60));
        for i in 0..4 {
            assert!(sent(&mut h, t0, i, u64::from(i)));
        }
        assert_eq!(h.in_flight(), 400);
        let mut out = Vec::new();
        h.on_feedback(&[(0, Some(ms(50))), (1, None), (2, Some(ms(52)))], &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].arrival, Some(ms(50)));
        assert_eq!(out[0].send_time, t0);
        assert_eq!(out[1].arrival, None);
        assert_eq!(out[2].seq, out[0].seq + 2);
        assert_eq!(h.in_flight(), 100);
    }

    #[test]
    fn duplicates_are_reported_once_and_late_arrivals_count() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(1000, Duration::from_secs(60));
        sent(&mut h, t0, 7, 0);
        sent(&mut h, t0, 8, 1);
        let mut out = Vec::new();
        h.on_feedback(&[(7, Some(ms(10))), (8, None)], &mut out);
        h.on_feedback(&[(7, Some(ms(10))), (8, None)], &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(h.stats().duplicate_feedback, 2);
        // Packet 8 turns up after all, in a later (out of order) report.
        h.on_feedback(&[(8, Some(ms(30)))], &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].arrival, Some(ms(30)));
        h.on_feedback(&[(8, Some(ms(30))), (8, None)], &mut out);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn a_later_report_takes_earlier_packets_out_of_flight() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(1000, Duration::from_secs(60));
        assert_eq!(h.oldest_unreported(), None);
        for i in 0..6 {
            sent(&mut h, t0, i, u64::from(i));
        }
        assert_eq!(h.oldest_unreported(), Some(t0));
        // The report on 0..=2 was lost; the next one covers 3 and 4.
        let mut out = Vec::new();
        h.on_feedback(&[(3, Some(ms(40))), (4, None)], &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(h.in_flight(), 100);
        assert_eq!(h.oldest_unreported(), Some(t0 + ms(5)));
        // A late report on 1 still counts, and is not taken out twice.
        h.on_feedback(&[(1, Some(ms(30))), (2, None)], &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(h.in_flight(), 100);
        h.on_feedback(&[(5, Some(ms(50)))], &mut out);
        assert_eq!((h.in_flight(), h.oldest_unreported()), (0, None));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(1000, Duration::from_secs(60));
        for (i, seq) in [65534u16, 65535, 0, 1].into_iter().enumerate() {
            assert!(sent(&mut h, t0, seq, i as u64));
        }
        let mut out = Vec::new();
        h.on_feedback(&[(65535, Some(ms(5))), (0, Some(ms(6))), (1, None)], &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].seq, out[0].seq + 1);
        assert_eq!(out[1].send_time, t0 + ms(2));
        assert_eq!(out[2].seq, out[0].seq + 2);
    }

    #[test]
    fn old_sends_unknown_feedback_and_gaps() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(1000, Duration::from_secs(60));
        sent(&mut h, t0, 10, 0);
        assert!(!sent(&mut h, t0, 10, 1));
        assert!(!sent(&mut h, t0, 9, 1));
        assert_eq!(h.stats().out_of_order_sends, 2);
        // A gap: 11 and 12 were never sent.
        assert!(sent(&mut h, t0, 13, 2));
        let mut out = Vec::new();
        h.on_feedback(&[(11, Some(ms(1))), (14, Some(ms(1))), (13, Some(ms(3)))], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(h.stats().unknown_feedback, 2);
    }

    #[test]
    fn bounded_by_count_and_age() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(100, Duration::from_secs(1));
        for i in 0..300u16 {
            sent(&mut h, t0, i, 0);
        }
        assert_eq!(h.entries.len(), 100);
        assert_eq!(h.in_flight(), 100 * 100);
        let mut out = Vec::new();
        h.on_feedback(&[(0, Some(ms(1)))], &mut out);
        assert!(out.is_empty());
        sent(&mut h, t0, 300, 2_000);
        assert_eq!(h.entries.len(), 1);
        assert_eq!(h.in_flight(), 100);
    }
}
