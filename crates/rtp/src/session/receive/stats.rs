//! Reception statistics of one source (RFC 3550 §6.4.1, Appendix A.1, A.3 and A.8): the
//! numbers a receiver reports in its report blocks, and the sender's clocks from its last
//! SR (for LSR/DLSR and for lip sync).
//!
//! Memory is fixed per source: duplicates are told apart from late packets by a bitmap of
//! the last [`DUPLICATE_WINDOW`] sequence numbers, which covers every late packet the
//! sequence tracking accepts (at most [`MAX_MISORDER`] behind).

use std::time::{Duration, Instant};

use crate::packet::{timestamp_diff, SeqTracker, SeqUpdate, MAX_MISORDER};
use crate::rtcp::{compact_ntp, ReportBlock, SenderReport};

/// How many of the latest sequence numbers are remembered to tell duplicates from late
/// packets: more than [`MAX_MISORDER`], so every late packet accepted is in the window.
pub const DUPLICATE_WINDOW: u64 = 128;
const _: () = assert!(DUPLICATE_WINDOW > MAX_MISORDER as u64 && DUPLICATE_WINDOW.is_multiple_of(64));

/// A change of transit time this large or larger (in RTP units) is not counted in the jitter:
/// a timestamp jump, not network jitter. libwebrtc's receive statistics use 450,000 (5 s at
/// 90 kHz).
pub const MAX_JITTER_STEP: u32 = 450_000;

const WORDS: usize = (DUPLICATE_WINDOW / 64) as usize;

/// What [`ReceiveStats::on_packet`] made of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// The newest packet so far (possibly after a gap); its extended sequence number.
    New(u64),
    /// Older than the newest and not seen before; its extended sequence number, `None` for
    /// a packet from before the first one received.
    Late(Option<u64>),
    /// A copy of a packet already received (within [`DUPLICATE_WINDOW`]).
    Duplicate(u64),
    /// The source restarted its sequence numbers (RFC 3550 A.1): counting starts over here.
    Restarted(u64),
    /// A jump too far from the stream (not yet a restart): not counted.
    Discarded,
}

/// The sender's clocks as its last SR gave them: the NTP wallclock and the RTP timestamp of
/// one instant, the pair lip sync maps media timestamps with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderClock {
    /// The SR's 64-bit NTP timestamp (32.32 fixed-point seconds since 1900).
    pub ntp_time: u64,
    /// The same instant in the stream's RTP timestamp units.
    pub rtp_time: u32,
    /// When the SR arrived here.
    pub received_at: Instant,
    /// The sender's packet count in that SR.
    pub packet_count: u32,
    /// The sender's payload octet count in that SR.
    pub octet_count: u32,
}

/// Reception statistics of one SSRC (RFC 3550 §6.4.1): extended highest sequence number,
/// cumulative and fraction lost, interarrival jitter, packet and byte counts, duplicates;
/// and the last SR, which gives a report block its LSR/DLSR and lip sync its clock pair.
#[derive(Clone, Debug)]
pub struct ReceiveStats {
    ssrc: u32,
    clock_rate: u32,
    seq: SeqTracker,
    /// Extended sequence number of the first packet since the (re)start (A.3 `base_seq`).
    base: u64,
    /// The newest extended sequence number (None before the first packet).
    max: Option<u64>,
    /// Valid packets since the (re)start, late and duplicates included (A.3 `received`).
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Which of the last DUPLICATE_WINDOW sequence numbers arrived, indexed by number modulo.
    seen: [u64; WORDS],
    /// Arrival time of the first packet: the origin of the arrival clock in RTP units.
    epoch: Option<Instant>,
    /// The previous in-order packet's transit time and timestamp (A.8).
    last_transit: Option<(u32, u32)>,
    /// The jitter estimate times 16 (A.8's integer form).
    jitter_q4: u64,
    packets: u64,
    bytes: u64,
    duplicates: u64,
    discarded: u64,
    restarts: u64,
    last_sr: Option<SenderClock>,
}

impl ReceiveStats {
    /// Statistics for the source `ssrc`, whose RTP clock ticks `clock_rate` times a second
    /// (90,000 for video, 48,000 for Opus...; 0 is taken as 1).
    pub fn new(ssrc: u32, clock_rate: u32) -> Self {
        ReceiveStats {
            ssrc,
            clock_rate: clock_rate.max(1),
            seq: SeqTracker::new(),
            base: 0,
            max: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            seen: [0; WORDS],
            epoch: None,
            last_transit: None,
            jitter_q4: 0,
            packets: 0,
            bytes: 0,
            duplicates: 0,
            discarded: 0,
            restarts: 0,
            last_sr: None,
        }
    }

    /// The source these statistics are about.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Takes a packet of this source that arrived at `now`: its sequence number, RTP
    /// timestamp and size in bytes (the caller chooses what it counts; SR octet counts are
    /// payload bytes).
    pub fn on_packet(&mut self, now: Instant, seq: u16, rtp_timestamp: u32, bytes: usize) -> Arrival {
        let arrival = match self.seq.update(seq) {
            SeqUpdate::Valid(ext) => match self.max {
                None => {
                    self.start(ext);
                    Arrival::New(ext)
                }
                Some(max) if ext > max => {
                    self.advance(max, ext);
                    Arrival::New(ext)
                }
                Some(max) if max - ext < DUPLICATE_WINDOW && self.is_seen(ext) => Arrival::Duplicate(ext),
                Some(_) => {
                    self.mark(ext);
                    Arrival::Late(Some(ext))
                }
            },
            SeqUpdate::BeforeFirst => Arrival::Late(None),
            SeqUpdate::Restarted(ext) => {
                self.restarts += 1;
                self.start(ext);
                Arrival::Restarted(ext)
            }
            SeqUpdate::Jumped | SeqUpdate::Probation => Arrival::Discarded,
        };
        match arrival {
            Arrival::Discarded => {
                self.discarded += 1;
                return arrival;
            }
            Arrival::Duplicate(_) => self.duplicates += 1,
            _ => {}
        }
        // RFC 3550 A.3: `received` counts late packets and duplicates too.
        self.received += 1;
        self.packets += 1;
        self.bytes += bytes as u64;
        if matches!(arrival, Arrival::New(_) | Arrival::Restarted(_)) {
            self.update_jitter(now, rtp_timestamp);
        }
        arrival
    }

    /// (Re)starts counting at extended sequence number `ext` (A.1 `init_seq`).
    fn start(&mut self, ext: u64) {
        self.base = ext;
        self.max = Some(ext);
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.seen = [0; WORDS];
        self.last_transit = None;
        self.mark(ext);
    }

    /// Moves the newest number from `max` to `ext`, forgetting the window's old bits.
    fn advance(&mut self, max: u64, ext: u64) {
        if ext - max >= DUPLICATE_WINDOW {
            self.seen = [0; WORDS];
        } else {
            for n in max + 1..ext {
                self.unmark(n);
            }
        }
        self.max = Some(ext);
        self.mark(ext);
    }

    fn bit(n: u64) -> (usize, u64) {
        let i = n % DUPLICATE_WINDOW;
        ((i / 64) as usize, 1 << (i % 64))
    }

    fn is_seen(&self, n: u64) -> bool {
        let (w, b) = Self::bit(n);
        self.seen[w] & b != 0
    }

    fn mark(&mut self, n: u64) {
        let (w, b) = Self::bit(n);
        self.seen[w] |= b;
    }

    fn unmark(&mut self, n: u64) {
        let (w, b) = Self::bit(n);
        self.seen[w] &= !b;
    }

    /// RFC 3550 A.8 in its integer form (the estimate kept times 16). As libwebrtc does,
    /// only in-order packets with a new timestamp count (the packets of one video frame
    /// share a timestamp but leave paced), and steps of [`MAX_JITTER_STEP`] or more are
    /// skipped.
    fn update_jitter(&mut self, now: Instant, rtp_timestamp: u32) {
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch).as_nanos();
        let arrival = (elapsed * self.clock_rate as u128 / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some((last_transit, last_ts)) = self.last_transit {
            if last_ts == rtp_timestamp {
                return;
            }
            let d = (transit.wrapping_sub(last_transit) as i32).unsigned_abs();
            if d < MAX_JITTER_STEP {
                self.jitter_q4 = self.jitter_q4 + d as u64 - ((self.jitter_q4 + 8) >> 4);
            }
        }
        self.last_transit = Some((transit, rtp_timestamp));
    }

    /// Takes an SR from this source that arrived at `now`; one from another SSRC is
    /// ignored (returns false).
    pub fn on_sender_report(&mut self, now: Instant, sr: &SenderReport) -> bool {
        if sr.ssrc != self.ssrc {
            return false;
        }
        self.last_sr = Some(SenderClock {
            ntp_time: sr.ntp_time,
            rtp_time: sr.rtp_time,
            received_at: now,
            packet_count: sr.packet_count,
            octet_count: sr.octet_count,
        });
        true
    }

    /// The sender's clocks from its last SR, None before one arrived.
    pub fn sender_clock(&self) -> Option<SenderClock> {
        self.last_sr
    }

    /// The sender's NTP wallclock (64-bit NTP format) at which media with RTP timestamp
    /// `rtp_timestamp` was sampled, from the last SR's clock pair: what lip sync compares
    /// across an audio and a video stream. None before an SR arrived.
    pub fn ntp_time_of(&self, rtp_timestamp: u32) -> Option<u64> {
        let sr = self.last_sr?;
        let ticks = timestamp_diff(rtp_timestamp, sr.rtp_time) as i128;
        let offset = (ticks << 32) / self.clock_rate as i128;
        Some((sr.ntp_time as i128 + offset) as u64)
    }

    /// The newest extended sequence number (cycles above the low 16 bits), None before the
    /// first packet.
    pub fn extended_highest_seq(&self) -> Option<u64> {
        self.max
    }

    /// Packets expected since the (re)start: the newest extended number minus the first,
    /// plus one (A.3).
    pub fn expected(&self) -> u64 {
        self.max.map_or(0, |max| max - self.base + 1)
    }

    /// Packets lost since the (re)start: expected minus received (A.3). Negative when
    /// duplicates arrived; the report block clamps it to 24 bits signed on the wire.
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// The interarrival jitter estimate, in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4).min(u32::MAX as u64) as u32
    }

    /// The interarrival jitter estimate as a duration.
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_nanos(self.jitter() as u64 * 1_000_000_000 / self.clock_rate as u64)
    }

    /// Packets counted (not discarded), duplicates included.
    pub fn packets_received(&self) -> u64 {
        self.packets
    }

    /// Bytes of the packets counted.
    pub fn bytes_received(&self) -> u64 {
        self.bytes
    }

    /// Duplicates seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Packets discarded as too far from the stream (jumps that did not become a restart).
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Times the source restarted its sequence numbers.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// The report block on this source at `now`, None before its first packet. Fraction
    /// lost covers the time since the previous call (A.3), which this call starts anew;
    /// LSR/DLSR answer the last SR.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let max = self.max?;
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received as i64 - self.received_prior as i64;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some(sr) => {
                let delay = now.saturating_duration_since(sr.received_at).as_nanos();
                (compact_ntp(sr.ntp_time), (delay * 65_536 / 1_000_000_000).min(u32::MAX as u128) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost().clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            extended_highest_seq: max as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn stats() -> (ReceiveStats, Instant) {
        (ReceiveStats::new(0xabcd, 8000), Instant::now())
    }

    #[test]
    fn jitter_follows_a8_by_hand() {
        // 8 kHz: 20 ms packets are 160 units apart. Arrivals at 0, 20, 45, 60 ms are 0, 160,
        // 360, 480 units: transits 0, 0, 40, 0, so D = 0, 40, 40.
        // J = J + (|D| - J) / 16: 0, 2.5, 2.5 + 37.5 / 16 = 4.84; the integer form of A.8
        // keeps 16 J = 0, 40, 40 + 40 - (48 >> 4) = 77 and reports 0, 2, 4.
        let (mut s, t0) = stats();
        let mut jitters = Vec::new();
        for (i, at) in [0, 20, 45, 60].into_iter().enumerate() {
            s.on_packet(t0 + at * MS, i as u16, i as u32 * 160, 100);
            jitters.push(s.jitter());
        }
        assert_eq!(jitters, [0, 0, 2, 4]);
        assert_eq!(s.jitter_q4, 77);
        assert_eq!(s.jitter_duration(), Duration::from_micros(500));
    }

    #[test]
    fn jitter_skips_one_frames_packets_and_timestamp_jumps() {
        let (mut s, t0) = stats();
        s.on_packet(t0, 0, 1000, 1);
        // Same timestamp (one frame), arriving later: no jitter.
        s.on_packet(t0 + 5 * MS, 1, 1000, 1);
        s.on_packet(t0 + 10 * MS, 2, 1000, 1);
        assert_eq!(s.jitter(), 0);
        // A jump of the timestamp by an hour is not jitter.
        s.on_packet(t0 + 20 * MS, 3, 1000 + 8000 * 3600, 1);
        assert_eq!(s.jitter(), 0);
    }

    #[test]
    fn loss_and_fraction_lost() {
        let (mut s, t0) = stats();
        assert_eq!(s.report_block(t0), None);
        // 0..10 with 3 and 7 missing.
        for seq in (0..10).filter(|s| *s != 3 && *s != 7) {
            assert!(matches!(s.on_packet(t0, seq, seq as u32 * 160, 10), Arrival::New(_)));
        }
        let block = s.report_block(t0).unwrap();
        assert_eq!((block.cumulative_lost, block.extended_highest_seq), (2, 9));
        // 2 of 10: 51/256.
        assert_eq!(block.fraction_lost, 51);
        // Nothing new: no fraction.
        assert_eq!(s.report_block(t0).unwrap().fraction_lost, 0);
        // 3 arrives late: cumulative loss goes down, this interval lost "-1": fraction 0.
        assert_eq!(s.on_packet(t0, 3, 480, 10), Arrival::Late(Some(3)));
        let block = s.report_block(t0).unwrap();
        assert_eq!((block.cumulative_lost, block.fraction_lost), (1, 0));
        assert_eq!((s.packets_received(), s.bytes_received()), (9, 90));
    }

    #[test]
    fn duplicates_count_and_can_make_loss_negative() {
        let (mut s, t0) = stats();
        s.on_packet(t0, 10, 0, 1);
        s.on_packet(t0, 11, 160, 1);
        assert_eq!(s.on_packet(t0, 11, 160, 1), Arrival::Duplicate(11));
        assert_eq!(s.on_packet(t0, 10, 0, 1), Arrival::Duplicate(10));
        assert_eq!(s.duplicates(), 2);
        // RFC 3550 A.3: received includes duplicates, so the loss is negative.
        assert_eq!(s.cumulative_lost(), -2);
        assert_eq!(s.report_block(t0).unwrap().cumulative_lost, -2);
    }

    #[test]
    fn sequence_wraps_into_cycles() {
        let (mut s, t0) = stats();
        for (i, seq) in (65_530..=65_535).chain(0..5).enumerate() {
            s.on_packet(t0 + i as u32 * 20 * MS, seq, i as u32 * 160, 1);
        }
        assert_eq!(s.extended_highest_seq(), Some(65_536 + 4));
        // A late one from before the wrap, and a duplicate across it.
        assert_eq!(s.on_packet(t0, 65_533, 0, 1), Arrival::Duplicate(65_533));
        let block = s.report_block(t0).unwrap();
        assert_eq!(block.extended_highest_seq, 0x0001_0004);
        assert_eq!(block.cumulative_lost, -1);
    }

    #[test]
    fn reordering_is_not_loss() {
        let (mut s, t0) = stats();
        for seq in [0u16, 2, 1, 4, 3, 5] {
            s.on_packet(t0, seq, seq as u32 * 160, 1);
        }
        let block = s.report_block(t0).unwrap();
        assert_eq!((block.cumulative_lost, block.fraction_lost, s.duplicates()), (0, 0, 0));
    }

    #[test]
    fn every_late_packet_accepted_is_within_the_duplicate_window() {
        let (mut s, t0) = stats();
        for seq in (0..=200).filter(|s| *s != 150) {
            s.on_packet(t0, seq, 0, 1);
        }
        assert_eq!(s.on_packet(t0, 150, 0, 1), Arrival::Late(Some(150)));
        assert_eq!(s.on_packet(t0, 150, 0, 1), Arrival::Duplicate(150));
        // More than MAX_MISORDER behind: the sequence tracker calls it a jump.
        assert_eq!(s.on_packet(t0, 99, 0, 1), Arrival::Discarded);
        assert_eq!((s.discarded(), s.duplicates(), s.cumulative_lost()), (1, 1, -1));
    }

    #[test]
    fn sender_restart_starts_counting_over() {
        let (mut s, t0) = stats();
        for seq in 100..110 {
            s.on_packet(t0, seq, 0, 1);
        }
        s.report_block(t0);
        assert_eq!(s.on_packet(t0, 40_000, 0, 1), Arrival::Discarded);
        assert_eq!(s.on_packet(t0, 40_001, 0, 1), Arrival::Restarted(40_001));
        s.on_packet(t0, 40_003, 0, 1);
        assert_eq!(s.restarts(), 1);
        assert_eq!(s.expected(), 3);
        let block = s.report_block(t0).unwrap();
        assert_eq!((block.cumulative_lost, block.extended_highest_seq), (1, 40_003));
        // One of three lost since the restart: 85/256.
        assert_eq!(block.fraction_lost, 85);
    }

    #[test]
    fn lsr_dlsr_and_lip_sync_from_the_last_sr() {
        let (mut s, t0) = stats();
        s.on_packet(t0, 1, 0, 1);
        assert_eq!(s.report_block(t0).unwrap().last_sr, 0);
        let sr = SenderReport { ssrc: 0xabcd, ntp_time: 0x0000_1234_5678_0000, rtp_time: 8000, ..Default::default() };
        assert!(!s.on_sender_report(t0, &SenderReport { ssrc: 1, ..sr.clone() }));
        assert!(s.on_sender_report(t0, &sr));
        let block = s.report_block(t0 + Duration::from_millis(1500)).unwrap();
        assert_eq!((block.last_sr, block.delay_since_last_sr), (0x1234_5678, 0x0001_8000));
        // Half a second of RTP units later (and earlier) on the sender's wallclock.
        assert_eq!(s.ntp_time_of(12_000), Some(0x0000_1234_d678_0000));
        assert_eq!(s.ntp_time_of(12_000), Some(sr.ntp_time + (1 << 31)));
        assert_eq!(s.ntp_time_of(4_000), Some(sr.ntp_time - (1 << 31)));
        assert_eq!(s.sender_clock().unwrap().rtp_time, 8000);
    }
}
