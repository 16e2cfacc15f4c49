//! NACK generation for one received stream (RFC 4585 generic NACK), in the manner of
//! libwebrtc's `NackRequester` (`modules/video_coding/nack_requester.cc`).
//!
//! Every sequence number skipped by an arriving packet becomes an entry of the NACK list.
//! An entry is first asked for once the gap is unlikely to be reordering: a packet
//! [`NackConfig::reordering_threshold`] numbers newer arrived, or
//! [`NackConfig::reordering_wait`] passed. It is asked for again only once an RTT passed
//! since the last request (`now >= last_sent + rtt`), at most [`MAX_NACK_RETRIES`] times,
//! then given up. A packet that arrives late or recovered (RTX, FEC) removes its entry.
//!
//! The list is bounded: at most [`MAX_NACK_PACKETS`] entries, none more than
//! [`MAX_PACKET_AGE`] sequence numbers behind the newest nor older than
//! [`MAX_ENTRY_AGE`]. When a gap would overflow it, the entries before the newest keyframe
//! that frees room are dropped first (they are not needed to decode from that keyframe on);
//! if that is not enough the list is cleared and a keyframe is requested instead: a burst
//! of 2,000 lost packets becomes one keyframe request, not 2,000 NACKs.
//!
//! Time-based requests are made on a periodic tick ([`NACK_TICK`], libwebrtc's
//! `NackPeriodicProcessor::kUpdateInterval`): [`NackGenerator::poll_timeout`] says when the
//! next one is due (None while the list is empty), [`NackGenerator::handle_timeout`] runs
//! it. After every input, drain [`NackGenerator::poll_output`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::packet::extend_seq;

/// The most entries the NACK list holds (libwebrtc `kMaxNackPackets`).
pub const MAX_NACK_PACKETS: usize = 1000;
/// How far behind the newest packet, in sequence numbers, an entry or a keyframe is kept
/// (libwebrtc `kMaxPacketAge`).
pub const MAX_PACKET_AGE: u64 = 10_000;
/// How long an entry is kept at most, whatever its retries.
pub const MAX_ENTRY_AGE: Duration = Duration::from_secs(10);
/// How many times one sequence number is asked for before it is given up (libwebrtc
/// `kMaxNackRetries`).
pub const MAX_NACK_RETRIES: u8 = 10;
/// The RTT assumed until [`NackGenerator::set_rtt`] gives one (libwebrtc `kDefaultRtt`).
pub const DEFAULT_RTT: Duration = Duration::from_millis(100);
/// The period of time-based NACKs (libwebrtc `NackPeriodicProcessor::kUpdateInterval`).
pub const NACK_TICK: Duration = Duration::from_millis(20);
/// Newer packets that must arrive before a gap is asked for: three, as TCP's duplicate
/// ACK threshold (RFC 5681) tells reordering from loss.
pub const DEFAULT_REORDERING_THRESHOLD: u16 = 3;
/// How long a gap may wait for a reordered packet before it is asked for anyway; within
/// the 0–20 ms libwebrtc allows its `WebRTC-SendNackDelayMs` field trial.
pub const DEFAULT_REORDERING_WAIT: Duration = Duration::from_millis(10);
/// The most keyframe starts remembered (to drop older entries when the list overflows).
pub const MAX_KEYFRAMES: usize = 64;

/// What a [`NackGenerator`] tolerates and how patient it is; [`Default`] holds libwebrtc's
/// constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackConfig {
    /// The most entries in the NACK list ([`MAX_NACK_PACKETS`]).
    pub max_packets: usize,
    /// Requests per sequence number before giving it up ([`MAX_NACK_RETRIES`]).
    pub max_retries: u8,
    /// How long an entry is kept at most ([`MAX_ENTRY_AGE`]).
    pub max_age: Duration,
    /// Newer packets that must arrive before a gap is first asked for
    /// ([`DEFAULT_REORDERING_THRESHOLD`]).
    pub reordering_threshold: u16,
    /// How long a gap waits at most for a reordered packet ([`DEFAULT_REORDERING_WAIT`]).
    pub reordering_wait: Duration,
    /// The period of time-based requests ([`NACK_TICK`]).
    pub tick: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            max_packets: MAX_NACK_PACKETS,
            max_retries: MAX_NACK_RETRIES,
            max_age: MAX_ENTRY_AGE,
            reordering_threshold: DEFAULT_REORDERING_THRESHOLD,
            reordering_wait: DEFAULT_REORDERING_WAIT,
            tick: NACK_TICK,
        }
    }
}

/// What a [`NackGenerator`] asks the caller to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NackOutput {
    /// The NACK list overflowed and was cleared: ask the sender for a keyframe (PLI or
    /// FIR, through a [`KeyframeRequester`](super::KeyframeRequester)).
    RequestKeyframe,
    /// Sequence numbers to NACK now, in RTP order: `rtcp::Nack::from_lost` builds the
    /// packet.
    Nack(Vec<u16>),
}

/// Counters of a [`NackGenerator`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NackStats {
    /// Sequence numbers asked for, each request counted.
    pub requested: u64,
    /// Entries removed because their packet arrived (late, RTX or FEC).
    pub arrived: u64,
    /// Entries given up after the most retries.
    pub given_up: u64,
    /// Entries dropped as too old (by sequence number or time) or behind a keyframe.
    pub expired: u64,
    /// Times the list overflowed into a keyframe request.
    pub overflows: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    created: Instant,
    /// The first request is due at this time, or earlier once enough newer packets came.
    send_at: Instant,
    sent_at: Option<Instant>,
    retries: u8,
}

/// The NACK list of one stream: which packets are missing, and when to ask for each.
#[derive(Clone, Debug)]
pub struct NackGenerator {
    config: NackConfig,
    rtt: Duration,
    /// The newest extended sequence number; extended numbers start one cycle up, so that
    /// packets from before the first one stay below it.
    newest: Option<u64>,
    list: BTreeMap<u64, Entry>,
    /// Entries from this number up were never asked for, those below were: entries are
    /// added above all others and first asked for in order (by sequence number or by
    /// creation time), so the unasked ones are always the newest. Lets a packet's arrival
    /// look only at the entries it makes due.
    unsent_from: u64,
    /// Extended numbers of the first packets of keyframes.
    keyframes: BTreeSet<u64>,
    pending: Vec<u16>,
    keyframe_request: bool,
    next_tick: Option<Instant>,
    stats: NackStats,
}

impl Default for NackGenerator {
    fn default() -> Self {
        Self::new(NackConfig::default())
    }
}

impl NackGenerator {
    /// A generator with `config` and the [`DEFAULT_RTT`].
    pub fn new(config: NackConfig) -> Self {
        NackGenerator {
            config,
            rtt: DEFAULT_RTT,
            newest: None,
            list: BTreeMap::new(),
            unsent_from: 0,
            keyframes: BTreeSet::new(),
            pending: Vec::new(),
            keyframe_request: false,
            next_tick: None,
            stats: NackStats::default(),
        }
    }

    /// The round-trip time to wait between two requests for the same packet.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt;
    }

    /// The counters.
    pub fn stats(&self) -> NackStats {
        self.stats
    }

    /// How many sequence numbers are missing and still asked for.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether `seq` is in the NACK list.
    pub fn is_missing(&self, seq: u16) -> bool {
        self.newest.is_some_and(|newest| self.list.contains_key(&extend_seq(newest, seq)))
    }

    /// Takes a media packet that arrived at `now`; `keyframe` when it is the first packet
    /// of a keyframe. Returns how many times it had been asked for (0 for packets never
    /// missed).
    pub fn on_packet(&mut self, now: Instant, seq: u16, keyframe: bool) -> u8 {
        let Some(newest) = self.newest else {
            let ext = 1 << 16 | seq as u64;
            self.newest = Some(ext);
            if keyframe {
                self.keyframes.insert(ext);
            }
            return 0;
        };
        let ext = extend_seq(newest, seq);
        if ext <= newest {
            return self.arrived(ext);
        }
        if keyframe {
            self.keyframes.insert(ext);
            if self.keyframes.len() > MAX_KEYFRAMES {
                self.keyframes.pop_first();
            }
        }
        let horizon = ext.saturating_sub(MAX_PACKET_AGE);
        self.keyframes = self.keyframes.split_off(&horizon);
        self.add_missing(now, newest + 1, ext);
        self.newest = Some(ext);
        // Gaps that this packet shows are loss rather than reordering.
        let ripe = ext.saturating_sub(self.config.reordering_threshold as u64);
        if ripe >= self.unsent_from {
            let due = self.list.range(self.unsent_from..=ripe).filter(|(_, e)| e.sent_at.is_none()).map(|(s, _)| *s);
            let due: Vec<u64> = due.collect();
            self.request(now, due);
        }
        0
    }

    /// Takes a packet recovered at `now` (an RTX retransmission or an FEC repair): its
    /// entry goes. Recovered packets newer than the newest count as a media packet would.
    /// Returns how many times it had been asked for.
    pub fn on_recovered(&mut self, now: Instant, seq: u16) -> u8 {
        self.on_packet(now, seq, false)
    }

    /// Forgets every entry and keyframe before `seq` (for example once the jitter buffer
    /// decoded past it, or dropped the frames it belonged to).
    pub fn clear_up_to(&mut self, seq: u16) {
        let Some(newest) = self.newest else { return };
        let ext = extend_seq(newest, seq);
        let kept = self.list.split_off(&ext);
        self.stats.expired += self.list.len() as u64;
        self.list = kept;
        self.keyframes = self.keyframes.split_off(&ext);
    }

    fn arrived(&mut self, ext: u64) -> u8 {
        match self.list.remove(&ext) {
            Some(entry) => {
                self.stats.arrived += 1;
                entry.retries
            }
            None => 0,
        }
    }

    /// Adds `start..end` (extended) to the list, in libwebrtc's way: drop what is too old,
    /// then on overflow drop entries before keyframes, and if that is not enough, clear the
    /// list and ask for a keyframe.
    fn add_missing(&mut self, now: Instant, start: u64, end: u64) {
        let horizon = end.saturating_sub(MAX_PACKET_AGE);
        let kept = self.list.split_off(&horizon);
        self.stats.expired += self.list.len() as u64;
        self.list = kept;
        let new = (end - start) as usize;
        if new == 0 {
            return;
        }
        let max = self.config.max_packets;
        if self.list.len() + new > max {
            while self.list.len() + new > max && self.drop_before_keyframe() {}
            if self.list.len() + new > max {
                self.stats.expired += self.list.len() as u64;
                self.list.clear();
                self.stats.overflows += 1;
                self.keyframe_request = true;
                return;
            }
        }
        let entry = Entry { created: now, send_at: now + self.config.reordering_wait, sent_at: None, retries: 0 };
        self.list.extend((start..end).map(|ext| (ext, entry)));
        if self.next_tick.is_none() {
            self.next_tick = Some(now + self.config.tick);
        }
    }

    /// Drops the entries before the oldest keyframe that has any before it; false when no
    /// keyframe does.
    fn drop_before_keyframe(&mut self) -> bool {
        while let Some(&keyframe) = self.keyframes.first() {
            let kept = self.list.split_off(&keyframe);
            let dropped = std::mem::replace(&mut self.list, kept).len();
            if dropped > 0 {
                self.stats.expired += dropped as u64;
                return true;
            }
            self.keyframes.pop_first();
        }
        false
    }

    /// Marks `due` as requested now and queues them.
    fn request(&mut self, now: Instant, due: Vec<u64>) {
        for ext in due {
            let Some(entry) = self.list.get_mut(&ext) else { continue };
            if entry.sent_at.is_none() {
                self.unsent_from = self.unsent_from.max(ext + 1);
            }
            entry.sent_at = Some(now);
            entry.retries += 1;
            self.stats.requested += 1;
            self.pending.push(ext as u16);
            if entry.retries >= self.config.max_retries {
                self.list.remove(&ext);
                self.stats.given_up += 1;
            }
        }
        // Bounded even if the caller never drains: keep the newest requests.
        let cap = self.config.max_packets;
        if self.pending.len() > cap {
            self.pending.drain(..self.pending.len() - cap);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to run next: the next tick while
    /// the list has entries, None while it is empty.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_tick.filter(|_| !self.list.is_empty())
    }

    /// Runs the periodic tick if it is due at `now`: expires old entries, asks for those
    /// whose wait or RTT passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(tick) = self.next_tick else { return };
        if now < tick {
            return;
        }
        let max_age = self.config.max_age;
        let before = self.list.len();
        self.list.retain(|_, e| now.saturating_duration_since(e.created) < max_age);
        self.stats.expired += (before - self.list.len()) as u64;
        let rtt = self.rtt;
        let due: Vec<u64> = self
            .list
            .iter()
            .filter(|(_, e)| match e.sent_at {
                None => now >= e.send_at,
                Some(sent) => now >= sent + rtt,
            })
            .map(|(s, _)| *s)
            .collect();
        self.request(now, due);
        self.next_tick = if self.list.is_empty() {
            None
        } else {
            let next = tick + self.config.tick;
            Some(if next > now { next } else { now + self.config.tick })
        };
    }

    /// The next output: a keyframe request first, then the sequence numbers to NACK.
    pub fn poll_output(&mut self) -> Option<NackOutput> {
        if std::mem::take(&mut self.keyframe_request) {
            return Some(NackOutput::RequestKeyframe);
        }
        if self.pending.is_empty() {
            return None;
        }
        Some(NackOutput::Nack(std::mem::take(&mut self.pending)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn drain(g: &mut NackGenerator) -> Vec<NackOutput> {
        std::iter::from_fn(|| g.poll_output()).collect()
    }

    fn nacks(g: &mut NackGenerator) -> Vec<u16> {
        drain(g)
            .into_iter()
            .flat_map(|o| match o {
                NackOutput::Nack(seqs) => seqs,
                NackOutput::RequestKeyframe => panic!("unexpected keyframe request"),
            })
            .collect()
    }

    #[test]
    fn gap_is_asked_for_once_three_newer_packets_arrived() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        for seq in [0, 1, 3, 4] {
            g.on_packet(t0, seq, false);
            assert_eq!(nacks(&mut g), []);
        }
        assert!(g.is_missing(2) && !g.is_missing(3));
        g.on_packet(t0, 5, false);
        assert_eq!(nacks(&mut g), [2]);
        assert_eq!(g.stats().requested, 1);
    }

    #[test]
    fn reordering_is_not_asked_for() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        for seq in [0, 1, 3, 2, 4, 6, 5, 7, 8, 9] {
            assert_eq!(g.on_packet(t0, seq, false), 0);
        }
        g.handle_timeout(t0 + 100 * MS);
        assert_eq!(nacks(&mut g), []);
        assert!(g.is_empty());
        assert_eq!(g.poll_timeout(), None);
    }

    #[test]
    fn gap_is_asked_for_after_the_wait_on_the_tick() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 10, false);
        g.on_packet(t0, 12, false);
        assert_eq!(g.poll_timeout(), Some(t0 + NACK_TICK));
        g.handle_timeout(t0 + 5 * MS);
        assert_eq!(nacks(&mut g), [], "not due yet");
        g.handle_timeout(t0 + NACK_TICK);
        assert_eq!(nacks(&mut g), [11]);
        assert_eq!(g.poll_timeout(), Some(t0 + 2 * NACK_TICK));
    }

    #[test]
    fn repeats_wait_one_rtt_and_stop_after_the_retries() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.set_rtt(50 * MS);
        for seq in [0, 2, 3, 4] {
            g.on_packet(t0, seq, false);
        }
        assert_eq!(nacks(&mut g), [1]);
        let mut sent_at = vec![t0];
        while let Some(now) = g.poll_timeout() {
            g.handle_timeout(now);
            if !nacks(&mut g).is_empty() {
                sent_at.push(now);
            }
        }
        assert_eq!(sent_at.len(), MAX_NACK_RETRIES as usize);
        assert!(sent_at.windows(2).all(|w| w[1] - w[0] >= 50 * MS && w[1] - w[0] <= 70 * MS));
        assert_eq!((g.stats().given_up, g.stats().requested), (1, 10));
        assert!(g.is_empty());
    }

    #[test]
    fn late_and_recovered_packets_remove_their_entries() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 5, false);
        g.handle_timeout(t0 + NACK_TICK);
        assert_eq!(nacks(&mut g), [1, 2, 3, 4]);
        assert_eq!(g.on_recovered(t0 + 30 * MS, 2), 1, "asked for once");
        assert_eq!(g.on_packet(t0 + 30 * MS, 3, false), 1);
        assert_eq!(g.on_packet(t0 + 30 * MS, 3, false), 0, "a duplicate");
        assert_eq!(g.stats().arrived, 2);
        assert!(g.is_missing(1) && g.is_missing(4) && !g.is_missing(2));
    }

    #[test]
    fn sequence_numbers_wrap() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        for seq in [65_533, 65_535, 1, 2, 3] {
            g.on_packet(t0, seq, false);
        }
        assert_eq!(nacks(&mut g), [65_534, 0]);
        // A packet from before the first one is not a jump forward.
        g.on_packet(t0, 65_000, false);
        assert_eq!(g.len(), 2);
        assert!(g.is_missing(65_534) && g.is_missing(0));
        assert_eq!(drain(&mut g), []);
    }

    #[test]
    fn overflow_clears_the_list_and_asks_for_a_keyframe() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 2, false);
        g.on_packet(t0, 2003, false);
        assert_eq!(drain(&mut g), [NackOutput::RequestKeyframe]);
        assert!(g.is_empty());
        assert_eq!(g.stats().overflows, 1);
        // A gap that fits is tracked again afterwards.
        g.on_packet(t0, 2005, false);
        assert!(g.is_missing(2004));
    }

    #[test]
    fn overflow_drops_entries_before_a_keyframe_first() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 601, false); // 600 missing
        assert_eq!(nacks(&mut g), (1..=598).collect::<Vec<_>>());
        g.on_packet(t0, 602, true); // a keyframe starts
        assert_eq!(nacks(&mut g), [599]);
        g.on_packet(t0, 1103, false); // 500 more: 1,100 > 1,000
        assert_eq!(nacks(&mut g), (603..=1100).collect::<Vec<_>>(), "no keyframe request");
        assert!(!g.is_missing(1) && g.is_missing(603) && g.is_missing(1102));
        assert_eq!((g.len(), g.stats().overflows), (500, 0));
    }

    #[test]
    fn entries_expire_by_age() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.set_rtt(Duration::from_secs(4));
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 2, false);
        let mut now = t0;
        while let Some(tick) = g.poll_timeout() {
            now = tick;
            g.handle_timeout(now);
        }
        assert!(now >= t0 + MAX_ENTRY_AGE && now < t0 + MAX_ENTRY_AGE + 2 * NACK_TICK);
        assert_eq!(g.stats().requested, 3, "at 20 ms, 4 s and 8 s");
        assert_eq!(g.stats().expired, 1);
    }

    #[test]
    fn entries_far_behind_the_newest_expire() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 2, false);
        for seq in 3..=10_001 {
            g.on_packet(t0, seq, false);
        }
        assert!(g.is_missing(1), "exactly MAX_PACKET_AGE behind");
        g.on_packet(t0, 10_002, false);
        assert!(!g.is_missing(1));
        assert_eq!(g.stats().expired, 1);
    }

    #[test]
    fn clear_up_to_forgets_older_entries() {
        let t0 = Instant::now();
        let mut g = NackGenerator::default();
        g.on_packet(t0, 0, false);
        g.on_packet(t0, 10, false);
        g.clear_up_to(6);
        assert_eq!(g.len(), 4);
        assert!(!g.is_missing(5) && g.is_missing(6));
    }
}
