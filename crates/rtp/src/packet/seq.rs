//! RTP sequence numbers and timestamps wrap around (16 and 32 bits): comparisons that
//! respect the wrap, unwrapping to 64 bits, and the per-source sequence tracking of RFC 3550
//! Appendix A.1 (extended sequence numbers, dropout and misorder limits, restarts).

/// A jump of this many sequence numbers or more is not a gap but a jump (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet at most this many sequence numbers behind the highest is late, not a jump
/// (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;
/// Sequential packets a new source must send before it counts, in RFC 3550 A.1
/// ([`SeqTracker::with_probation`]).
pub const MIN_SEQUENTIAL: u16 = 2;

/// `a - b` as the shortest signed distance on the 16-bit circle; at exactly half the
/// circle, the larger value is ahead (so the relation stays antisymmetric).
pub fn seq_diff(a: u16, b: u16) -> i32 {
    match a.wrapping_sub(b) {
        d if d < 0x8000 => d as i32,
        0x8000 if a > b => 0x8000,
        d => d as i32 - 0x1_0000,
    }
}

/// Whether sequence number `a` comes after `b`, across the wrap.
pub fn seq_newer(a: u16, b: u16) -> bool {
    seq_diff(a, b) > 0
}

/// `a - b` as the shortest signed distance on the 32-bit circle (tie as in [`seq_diff`]).
pub fn timestamp_diff(a: u32, b: u32) -> i64 {
    match a.wrapping_sub(b) {
        d if d < 0x8000_0000 => d as i64,
        0x8000_0000 if a > b => 0x8000_0000,
        d => d as i64 - 0x1_0000_0000,
    }
}

/// Whether RTP timestamp `a` is later than `b`, across the wrap.
pub fn timestamp_newer(a: u32, b: u32) -> bool {
    timestamp_diff(a, b) > 0
}

/// The 64-bit sequence number for `seq` closest to `reference` (an unwrapped number seen
/// before). Values that would fall below zero are taken one cycle up.
pub fn extend_seq(reference: u64, seq: u16) -> u64 {
    let near = reference as i128 + seq_diff(seq, reference as u16) as i128;
    if near < 0 {
        (near + 0x1_0000) as u64
    } else {
        near as u64
    }
}

/// The 64-bit timestamp for `ts` closest to `reference` (an unwrapped timestamp seen
/// before). Values that would fall below zero are taken one cycle up.
pub fn extend_timestamp(reference: u64, ts: u32) -> u64 {
    let near = reference as i128 + timestamp_diff(ts, reference as u32) as i128;
    if near < 0 {
        (near + 0x1_0000_0000) as u64
    } else {
        near as u64
    }
}

/// What [`SeqTracker::update`] made of a packet's sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqUpdate {
    /// The packet counts: in order, after a gap smaller than [`MAX_DROPOUT`], a duplicate,
    /// or up to [`MAX_MISORDER`] late. Carries its extended sequence number.
    Valid(u64),
    /// The source restarted (a packet followed the one that jumped): counting starts over
    /// from this packet, its extended number with zero cycles (as `init_seq` in A.1).
    Restarted(u64),
    /// A packet late (within [`MAX_MISORDER`]) from before the first one tracked, which
    /// has no extended number: count it or drop it.
    BeforeFirst,
    /// The source is still on probation: fewer than the required sequential packets.
    Probation,
    /// A jump of [`MAX_DROPOUT`] or more ahead, or more than [`MAX_MISORDER`] late: not
    /// counted. If the next packet follows this one, the source restarts there.
    Jumped,
}

/// Sequence number tracking of one source (RFC 3550 Appendix A.1): counts the cycles of the
/// 16-bit sequence number into 64-bit extended numbers, tells late packets and restarts
/// from gaps.
///
/// [`new`](Self::new) accepts the first packet right away: over SRTP every packet is
/// authenticated, so the probation A.1 uses against stray packets is not needed;
/// [`with_probation`](Self::with_probation) restores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqTracker {
    /// The required sequential packets; 0 or 1 means none.
    min_sequential: u16,
    started: bool,
    probation: u16,
    max_seq: u16,
    /// Wraps of the sequence number since the (re)start.
    cycles: u64,
    /// The sequence number after a jump, which confirms a restart (None: no jump pending).
    bad_seq: Option<u16>,
}

impl Default for SeqTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl SeqTracker {
    /// Tracks a source whose first packet counts.
    pub fn new() -> Self {
        Self::with_probation(1)
    }

    /// Tracks a source that counts only after `min_sequential` packets in sequence (A.1
    /// uses [`MIN_SEQUENTIAL`]).
    pub fn with_probation(min_sequential: u16) -> Self {
        Self { min_sequential, started: false, probation: 0, max_seq: 0, cycles: 0, bad_seq: None }
    }

    /// The highest extended sequence number so far (None before the first valid packet):
    /// cycles in the upper bits, the highest sequence number in the low 16.
    pub fn max_extended(&self) -> Option<u64> {
        (self.started && self.probation == 0).then(|| self.extended(self.max_seq))
    }

    /// The number of times the sequence number wrapped since the (re)start.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    fn extended(&self, seq: u16) -> u64 {
        self.cycles << 16 | seq as u64
    }

    fn restart(&mut self, seq: u16) {
        self.max_seq = seq;
        self.cycles = 0;
        self.bad_seq = None;
        self.probation = 0;
    }

    /// Takes the sequence number of a received packet.
    pub fn update(&mut self, seq: u16) -> SeqUpdate {
        if !self.started {
            self.started = true;
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential.max(1);
        }
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.restart(seq);
                    return SeqUpdate::Valid(self.extended(seq));
                }
            } else {
                self.probation = self.min_sequential.max(1) - 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.restart(seq);
                    return SeqUpdate::Valid(self.extended(seq));
                }
            }
            return SeqUpdate::Probation;
        }
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += 1;
            }
            self.max_seq = seq;
            SeqUpdate::Valid(self.extended(seq))
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A very large jump: the sender may have restarted; wait for a second packet.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
                SeqUpdate::Restarted(self.extended(seq))
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                SeqUpdate::Jumped
            }
        } else {
            // A duplicate or a late packet.
            let behind = self.max_seq.wrapping_sub(seq) as u64;
            match self.extended(self.max_seq).checked_sub(behind) {
                Some(extended) => SeqUpdate::Valid(extended),
                None => SeqUpdate::BeforeFirst,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_comparisons_across_the_wrap() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, 65535));
        assert!(!seq_newer(65535, 0));
        assert!(!seq_newer(5, 5));
        assert_eq!(seq_diff(2, 65534), 4);
        assert_eq!(seq_diff(65534, 2), -4);
        // Exactly half the circle: the larger value is ahead, in one direction only.
        assert_eq!(seq_diff(0x8000, 0), 0x8000);
        assert_eq!(seq_diff(0, 0x8000), -0x8000);
        assert!(seq_newer(0x8000, 0) && !seq_newer(0, 0x8000));
        assert!(seq_newer(0x7FFF, 0) && !seq_newer(0, 0x7FFF));
        assert!(seq_newer(0, 0x8001));
    }

    #[test]
    fn timestamp_comparisons_across_the_wrap() {
        assert!(timestamp_newer(3000, 0));
        assert!(timestamp_newer(100, u32::MAX - 100));
        assert!(!timestamp_newer(u32::MAX - 100, 100));
        assert_eq!(timestamp_diff(100, u32::MAX - 100), 201);
        assert_eq!(timestamp_diff(u32::MAX - 100, 100), -201);
        assert_eq!(timestamp_diff(0x8000_0000, 0), 0x8000_0000);
        assert_eq!(timestamp_diff(0, 0x8000_0000), -0x8000_0000);
        assert!(!timestamp_newer(7, 7));
    }

    #[test]
    fn extend_to_the_nearest_cycle() {
        assert_eq!(extend_seq(0, 5), 5);
        assert_eq!(extend_seq(65_535, 0), 65_536);
        assert_eq!(extend_seq(65_536, 65_535), 65_535);
        assert_eq!(extend_seq(3 << 16 | 10, 65_530), 2 << 16 | 65_530);
        assert_eq!(extend_seq(3 << 16 | 65_530, 10), 4 << 16 | 10);
        // Below zero: one cycle up.
        assert_eq!(extend_seq(2, 65_535), 65_535);
        assert_eq!(extend_timestamp(0, 90_000), 90_000);
        assert_eq!(extend_timestamp(u32::MAX as u64, 10), (1 << 32) + 10);
        assert_eq!(extend_timestamp(1 << 32 | 5, u32::MAX), u32::MAX as u64);
        assert_eq!(extend_timestamp(5, u32::MAX), u32::MAX as u64);
    }

    #[test]
    fn tracker_counts_cycles() {
        let mut t = SeqTracker::new();
        assert_eq!(t.max_extended(), None);
        assert_eq!(t.update(65_534), SeqUpdate::Valid(65_534));
        assert_eq!(t.update(65_535), SeqUpdate::Valid(65_535));
        assert_eq!(t.update(0), SeqUpdate::Valid(65_536));
        assert_eq!(t.cycles(), 1);
        // A gap below MAX_DROPOUT is still in order.
        assert_eq!(t.update(2_999), SeqUpdate::Valid(65_536 + 2_999));
        // Late and duplicate packets keep their place; the maximum stays.
        assert_eq!(t.update(2_990), SeqUpdate::Valid(65_536 + 2_990));
        assert_eq!(t.update(65_535), SeqUpdate::Jumped, "more than MAX_MISORDER late");
        assert_eq!(t.update(2_999), SeqUpdate::Valid(65_536 + 2_999));
        assert_eq!(t.max_extended(), Some(65_536 + 2_999));
        let mut late = SeqTracker::new();
        late.update(10);
        assert_eq!(late.update(5), SeqUpdate::Valid(5));
        assert_eq!(late.update(65_535), SeqUpdate::BeforeFirst, "late, from before the first packet");
        assert_eq!(late.max_extended(), Some(10));
    }

    #[test]
    fn tracker_jump_then_restart() {
        let mut t = SeqTracker::new();
        for s in 100..110 {
            assert_eq!(t.update(s), SeqUpdate::Valid(s as u64));
        }
        assert_eq!(t.update(40_000), SeqUpdate::Jumped);
        assert_eq!(t.update(50_000), SeqUpdate::Jumped, "not the one after the jump");
        // In-order packets count and leave the pending restart (as A.1 does).
        assert_eq!(t.update(110), SeqUpdate::Valid(110));
        assert_eq!(t.update(50_001), SeqUpdate::Restarted(50_001));
        assert_eq!(t.cycles(), 0);
        assert_eq!(t.update(40_001), SeqUpdate::Jumped, "a jump back");
        assert_eq!(t.update(50_002), SeqUpdate::Valid(50_002));
        assert_eq!(t.update(65_535), SeqUpdate::Jumped);
        assert_eq!(t.update(0), SeqUpdate::Restarted(0));
        assert_eq!(t.update(1), SeqUpdate::Valid(1));
        assert_eq!(t.update(2), SeqUpdate::Valid(2));
        assert_eq!(t.max_extended(), Some(2));
    }

    #[test]
    fn tracker_probation() {
        let mut t = SeqTracker::with_probation(MIN_SEQUENTIAL);
        assert_eq!(t.update(500), SeqUpdate::Probation);
        assert_eq!(t.max_extended(), None);
        // Out of sequence: probation starts over from this packet.
        assert_eq!(t.update(700), SeqUpdate::Probation);
        assert_eq!(t.update(701), SeqUpdate::Valid(701));
        assert_eq!(t.update(702), SeqUpdate::Valid(702));
        let mut t3 = SeqTracker::with_probation(3);
        assert_eq!(t3.update(1), SeqUpdate::Probation);
        assert_eq!(t3.update(2), SeqUpdate::Probation);
        assert_eq!(t3.update(3), SeqUpdate::Valid(3));
        let mut none = SeqTracker::with_probation(0);
        assert_eq!(none.update(9), SeqUpdate::Valid(9));
    }
}
