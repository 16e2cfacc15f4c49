//! The packets we sent, kept for retransmission: bounded by count, by bytes and by age,
//! found by sequence number in O(1).
//!
//! Bounds, and where they come from:
//! - age: libwebrtc's `RtpPacketHistory` never culls a packet younger than
//!   `max(1 s, 3 × RTT)` (`kMinPacketDurationMs`, `kMinPacketDurationRtt`) unless full, and
//!   str0m's RTX cache keeps 3 s (`DEFAULT_RTX_CACHE_DURATION`). We keep
//!   `max(max_age, 3 × RTT)` with `max_age` 3 s by default: a NACK is useful for about a
//!   jitter buffer's depth, and 3 s covers libwebrtc's floor up to a 1 s RTT.
//! - count: str0m keeps 2000 packets (`RtxCache::new(2000, ..)`); libwebrtc sizes video
//!   history at 600 (`kMinSendSidePacketHistorySize`) and never beyond 9600
//!   (`kMaxCapacity`). We default to 2000, which holds 3 s of a 5 Mbit/s stream of
//!   1200-byte packets.
//! - bytes: not in either; we add it so a caller sending large packets (or payloads that
//!   are slices of large buffers) cannot pin more than `max_bytes` (4 MiB by default). Every
//!   packet is charged its wire size plus the bookkeeping of its slot.
//!
//! The count and byte bounds win over the age floor: memory is bounded whatever the RTT.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::packet::{extend_seq, RtpPacket};

/// libwebrtc keeps packets at least this many RTTs (`kMinPacketDurationRtt`).
pub const MIN_RTTS_KEPT: u32 = 3;

/// How much [`SendHistory`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// The most packets kept (the span of sequence numbers, gaps included). Clamped to
    /// 1..=32768 so that a 16-bit sequence number always names one slot.
    pub max_packets: usize,
    /// Packets older than `max(max_age, 3 × RTT)` are dropped.
    pub max_age: Duration,
    /// The most bytes kept, wire sizes plus [`SLOT_OVERHEAD`] per packet.
    pub max_bytes: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig { max_packets: 2000, max_age: Duration::from_secs(3), max_bytes: 4 << 20 }
    }
}

/// The bookkeeping bytes charged per kept packet on top of its wire size.
pub const SLOT_OVERHEAD: usize = std::mem::size_of::<Option<StoredPacket>>();

/// One kept packet.
#[derive(Clone, Debug)]
pub struct StoredPacket {
    /// The packet as first sent (media SSRC and sequence number).
    pub packet: RtpPacket,
    /// When it was first sent.
    pub sent_at: Instant,
    /// When it was last retransmitted.
    pub last_resent: Option<Instant>,
    /// How many times it was retransmitted.
    pub resends: u32,
}

impl StoredPacket {
    fn charge(&self) -> usize {
        self.packet.encoded_len() + SLOT_OVERHEAD
    }
}

/// Sent packets by sequence number, oldest first.
#[derive(Clone, Debug)]
pub struct SendHistory {
    config: HistoryConfig,
    /// One slot per sequence number from `first`; a slot is empty when that number was
    /// never stored. The first and last slots are never empty.
    slots: VecDeque<Option<StoredPacket>>,
    /// The extended (64-bit) sequence number of `slots[0]`.
    first: u64,
    bytes: usize,
    len: usize,
    rtt: Option<Duration>,
}

impl SendHistory {
    /// An empty history.
    pub fn new(config: HistoryConfig) -> Self {
        let config = HistoryConfig { max_packets: config.max_packets.clamp(1, 1 << 15), ..config };
        SendHistory { config, slots: VecDeque::new(), first: 0, bytes: 0, len: 0, rtt: None }
    }

    /// The bounds in force.
    pub fn config(&self) -> HistoryConfig {
        self.config
    }

    /// Tells the history the round-trip time: packets are then kept at least 3 RTTs.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = Some(rtt);
    }

    /// How long packets are kept: `max(max_age, 3 × RTT)`.
    pub fn max_age(&self) -> Duration {
        let by_rtt = self.rtt.map_or(Duration::ZERO, |rtt| rtt.saturating_mul(MIN_RTTS_KEPT));
        self.config.max_age.max(by_rtt)
    }

    /// The packets kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes charged for what is kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps `packet`, sent at `now`, and drops what falls out of the bounds. A sequence
    /// number at or before the newest kept is ignored (we send in order); a jump of more than
    /// `max_packets` starts over. Returns whether the packet is kept.
    pub fn insert(&mut self, now: Instant, packet: RtpPacket) -> bool {
        let seq = packet.header.sequence_number;
        let stored = StoredPacket { packet, sent_at: now, last_resent: None, resends: 0 };
        if stored.charge() > self.config.max_bytes {
            return false;
        }
        if self.slots.is_empty() {
            // Start one cycle up so that extending older numbers never goes below zero.
            self.first = (1 << 16) + seq as u64;
        } else {
            let end = self.first + self.slots.len() as u64;
            let ext = extend_seq(end - 1, seq);
            if ext < end {
                return false;
            }
            let gap = ext - end;
            if gap >= self.config.max_packets as u64 {
                self.clear();
                self.first = (1 << 16) + seq as u64;
            } else {
                self.slots.extend(std::iter::repeat_with(|| None).take(gap as usize));
            }
        }
        self.bytes += stored.charge();
        self.len += 1;
        self.slots.push_back(Some(stored));
        while self.slots.len() > self.config.max_packets || self.bytes > self.config.max_bytes {
            self.pop_front();
        }
        self.cull(now);
        true
    }

    /// Drops the packets older than [`max_age`](Self::max_age) at `now`.
    pub fn cull(&mut self, now: Instant) {
        let max_age = self.max_age();
        while let Some(Some(front)) = self.slots.front() {
            if now.saturating_duration_since(front.sent_at) <= max_age {
                break;
            }
            self.pop_front();
        }
    }

    /// The packet with sequence number `seq`, if kept.
    pub fn get(&self, seq: u16) -> Option<&StoredPacket> {
        let index = self.index(seq)?;
        self.slots[index].as_ref()
    }

    /// The packet with sequence number `seq`, if kept, to update its resend state.
    pub fn get_mut(&mut self, seq: u16) -> Option<&mut StoredPacket> {
        let index = self.index(seq)?;
        self.slots[index].as_mut()
    }

    /// Drops everything.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.bytes = 0;
        self.len = 0;
    }

    fn index(&self, seq: u16) -> Option<usize> {
        let end = self.first + self.slots.len() as u64;
        if self.slots.is_empty() {
            return None;
        }
        let ext = extend_seq(end - 1, seq);
        (self.first..end).contains(&ext).then(|| (ext - self.first) as usize)
    }

    /// Removes the oldest packet and any empty slots after it.
    fn pop_front(&mut self) {
        if let Some(Some(old)) = self.slots.pop_front() {
            self.bytes -= old.charge();
            self.len -= 1;
        }
        self.first += 1;
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.first += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::packet::RtpHeader;

    fn packet(seq: u16, len: usize) -> RtpPacket {
        let header = RtpHeader { payload_type: 96, sequence_number: seq, ssrc: 1, ..Default::default() };
        RtpPacket::new(header, Bytes::from(vec![seq as u8; len]))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn finds_by_sequence_across_the_wrap() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(HistoryConfig::default());
        for (i, seq) in (65_530u16..=65_535).chain(0..10).enumerate() {
            assert!(h.insert(t0 + ms(i as u64), packet(seq, 100)));
        }
        assert_eq!(h.len(), 16);
        assert_eq!(h.get(65_533).unwrap().packet.header.sequence_number, 65_533);
        assert_eq!(h.get(3).unwrap().packet.payload[0], 3);
        assert!(h.get(10).is_none());
        assert!(h.get(65_529).is_none());
        assert!(h.get(30_000).is_none());
        // Older or repeated numbers are not stored again.
        assert!(!h.insert(t0, packet(65_531, 10)));
        assert_eq!(h.get(65_531).unwrap().packet.payload.len(), 100);
    }

    #[test]
    fn bounded_by_count() {
        let t0 = Instant::now();
        let config = HistoryConfig { max_packets: 100, ..Default::default() };
        let mut h = SendHistory::new(config);
        for seq in 0..1000u16 {
            h.insert(t0, packet(seq, 10));
        }
        assert_eq!(h.len(), 100);
        assert!(h.get(899).is_none());
        assert!(h.get(900).is_some());
        assert_eq!(h.bytes(), 100 * (packet(0, 10).encoded_len() + SLOT_OVERHEAD));
    }

    #[test]
    fn bounded_by_bytes() {
        let t0 = Instant::now();
        let one = packet(0, 1000).encoded_len() + SLOT_OVERHEAD;
        let config = HistoryConfig { max_bytes: 10 * one, ..Default::default() };
        let mut h = SendHistory::new(config);
        for seq in 0..50u16 {
            h.insert(t0, packet(seq, 1000));
            assert!(h.bytes() <= 10 * one);
        }
        assert_eq!(h.len(), 10);
        assert!(h.get(40).is_some() && h.get(39).is_none());
        // A packet larger than the whole budget is refused, not allowed to empty it.
        assert!(!h.insert(t0, packet(50, 20 * 1000)));
        assert_eq!(h.len(), 10);
    }

    #[test]
    fn bounded_by_age_and_three_rtts() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(HistoryConfig { max_age: ms(1000), ..Default::default() });
        for i in 0..30u16 {
            h.insert(t0 + ms(100 * i as u64), packet(i, 10));
        }
        // At 2.9 s only the packets of the last second remain.
        assert_eq!(h.len(), 11);
        assert!(h.get(18).is_none() && h.get(19).is_some());
        h.set_rtt(ms(500));
        assert_eq!(h.max_age(), ms(1500));
        h.cull(t0 + ms(3000));
        assert!(h.get(15).is_none() && h.get(20).is_some());
        h.cull(t0 + ms(100_000));
        assert!(h.is_empty());
        assert_eq!(h.bytes(), 0);
    }

    #[test]
    fn gaps_are_slots_and_jumps_start_over() {
        let t0 = Instant::now();
        let mut h = SendHistory::new(HistoryConfig { max_packets: 100, ..Default::default() });
        h.insert(t0, packet(10, 10));
        h.insert(t0, packet(20, 10));
        assert_eq!(h.len(), 2);
        assert!(h.get(15).is_none());
        assert!(h.get(20).is_some());
        // 90 after the newest fills the span: 10 falls out.
        h.insert(t0, packet(110, 10));
        assert!(h.get(10).is_none() && h.get(20).is_some());
        h.insert(t0, packet(5000, 10));
        assert_eq!(h.len(), 1);
        assert!(h.get(5000).is_some());
    }
}
