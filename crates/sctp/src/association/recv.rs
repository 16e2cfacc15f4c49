//! Receiving: TSN tracking, SACK generation (delayed, with gap blocks and duplicates),
//! reassembly of DATA (by consecutive TSNs) and I-DATA (by MID and FSN), ordered delivery by
//! SSN/MID, and FORWARD-TSN / I-FORWARD-TSN.
//!
//! Memory is bounded by the receive window: chunks that do not fit are dropped (the peer
//! retransmits them), chunks far ahead of the cumulative TSN are dropped, and a message
//! growing past `max_message_size` aborts the association.

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::streamset::StreamSet;
use super::{unwrap_tsn, Association, SctpEvent, State};
use crate::chunk::{cause, Chunk, DataChunk, ErrorCause, ForwardTsn, Sack};

/// DATA further than this many TSNs ahead of the cumulative TSN is dropped.
pub(crate) const MAX_TSN_AHEAD: u64 = 1 << 16;
/// Gaps tracked above the cumulative TSN. A chunk that would open one more
/// is dropped unmarked (the peer retransmits it), so a peer cannot make the
/// range list, and the work of inserting into it, grow without bound.
pub(crate) const MAX_RANGES: usize = 1024;
/// Most duplicate TSNs reported in one SACK.
const MAX_DUPS: usize = 32;
/// What a delivered, unconsumed message costs beyond its payload (its
/// event and buffer handle), charged against the receive window so that
/// many tiny messages cannot hold more memory than the window says.
pub(crate) const MESSAGE_OVERHEAD: usize = 64;
/// What holding one chunk or one waiting message costs beyond its payload:
/// its map entry and chunk fields and the allocation of a copied small
/// payload (156 bytes of heap per 1-byte fragment, measured by
/// `tests/memory.rs`). Charged against the receive window, so that a peer
/// sending 1-byte fragments is stopped after about 6,500 of them per window
/// instead of holding a million.
pub(crate) const CHUNK_OVERHEAD: usize = 160;
/// A chunk whose payload is under this share of its packet is copied out
/// of the packet before it is kept, so that a small payload never pins a
/// large datagram: what is held is at most twice what is charged.
const COPY_BELOW_SHARE: usize = 2;
/// Most stream entries of one FORWARD-TSN that are looked at; the rest are
/// ignored (a peer abandons messages on at most a few streams at once).
pub(crate) const MAX_FORWARD_TSN_ENTRIES: usize = 1024;
/// Most gap blocks one SACK reports (the lowest ones).
pub(crate) const MAX_SACK_GAPS: usize = 64;

#[derive(Default)]
struct InStream {
    next: u32,
    waiting: BTreeMap<u32, (u32, Bytes)>,
}

#[derive(Default)]
struct Partial {
    frags: BTreeMap<u32, Bytes>,
    size: usize,
    ppid: u32,
    last_fsn: Option<u32>,
}

pub(crate) struct RecvState {
    pub(crate) cum: u64,
    /// Received TSNs above `cum + 1`, as sorted disjoint inclusive ranges.
    ranges: Vec<(u64, u64)>,
    dups: Vec<u32>,
    pub(crate) sack_now: bool,
    owed: bool,
    packets_since_sack: u32,
    /// What is held for reassembly, reordering and deferred resets: payload
    /// bytes plus [`CHUNK_OVERHEAD`] per chunk or waiting message.
    pub(crate) held: usize,
    /// Chunks and waiting messages in `held`.
    held_items: usize,
    /// The length of the packet being processed.
    pub(crate) packet_len: usize,
    /// Bytes delivered and not yet consumed (with `hold_until_consumed`),
    /// each message charged [`MESSAGE_OVERHEAD`] more.
    pub(crate) unconsumed: usize,
    /// Messages in `unconsumed`.
    pub(crate) unconsumed_messages: usize,
    /// The window of the last SACK sent.
    pub(crate) advertised: usize,
    /// DATA fragments by TSN, with the bytes of their message up to them when known.
    frags: BTreeMap<u64, (DataChunk, Option<usize>)>,
    /// I-DATA partial messages by (stream, unordered, MID).
    ifrags: BTreeMap<(u16, bool, u32), Partial>,
    streams: HashMap<u16, InStream>,
    /// Chunks held back by a deferred stream reset (RFC 6525 5.2.2).
    pub(crate) deferred: Vec<(u64, DataChunk)>,
}

impl RecvState {
    pub(crate) fn new(cum: u64) -> Self {
        RecvState {
            cum,
            ranges: Vec::new(),
            dups: Vec::new(),
            sack_now: false,
            owed: false,
            packets_since_sack: 0,
            held: 0,
            held_items: 0,
            packet_len: 0,
            unconsumed: 0,
            unconsumed_messages: 0,
            advertised: usize::MAX,
            frags: BTreeMap::new(),
            ifrags: BTreeMap::new(),
            streams: HashMap::new(),
            deferred: Vec::new(),
        }
    }

    pub(crate) fn sack_owed(&self) -> bool {
        self.owed
    }

    /// Charges one kept chunk or message of `len` payload bytes.
    fn hold(&mut self, len: usize) {
        self.held += len + CHUNK_OVERHEAD;
        self.held_items += 1;
    }

    /// Releases `items` kept chunks or messages of `len` payload bytes in all.
    pub(crate) fn release(&mut self, len: usize, items: usize) {
        self.held -= len + items * CHUNK_OVERHEAD;
        self.held_items -= items;
    }

    /// Payload bytes held or delivered and unconsumed, without the charges:
    /// what the sender counts against the window we advertise.
    fn payload_used(&self) -> usize {
        (self.held - self.held_items * CHUNK_OVERHEAD)
            + self.unconsumed.saturating_sub(self.unconsumed_messages * MESSAGE_OVERHEAD)
    }

    fn contains(&self, tsn: u64) -> bool {
        if tsn <= self.cum {
            return true;
        }
        let i = self.ranges.partition_point(|r| r.1 < tsn);
        self.ranges.get(i).is_some_and(|r| r.0 <= tsn)
    }

    /// Whether `tsn` touches an existing range (marking it opens none).
    fn extends_range(&self, tsn: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 + 1 < tsn);
        self.ranges.get(i).is_some_and(|r| r.0 <= tsn + 1)
    }

    /// Records `tsn` as received (it must be new).
    fn mark(&mut self, tsn: u64) {
        if tsn == self.cum + 1 {
            self.cum = tsn;
        } else {
            let i = self.ranges.partition_point(|r| r.1 + 1 < tsn);
            let merged = match self.ranges.get_mut(i) {
                Some(r) if r.1 + 1 == tsn => {
                    r.1 = tsn;
                    if self.ranges.get(i + 1).is_some_and(|n| n.0 == tsn + 1) {
                        self.ranges[i].1 = self.ranges[i + 1].1;
                        self.ranges.remove(i + 1);
                    }
                    true
                }
                Some(r) if r.0 == tsn + 1 => {
                    r.0 = tsn;
                    true
                }
                _ => false,
            };
            if !merged {
                self.ranges.insert(i, (tsn, tsn));
            }
        }
        self.absorb();
    }

    /// Moves `cum` over ranges that now touch it.
    fn absorb(&mut self) {
        let n = self.ranges.iter().take_while(|r| r.0 <= self.cum + 1).count();
        for r in self.ranges.drain(..n) {
            self.cum = self.cum.max(r.1);
        }
    }

    /// How many gap blocks (at most `max_gaps`) and duplicate TSNs the next SACK holds.
    pub(crate) fn sack_entries(&self, max_gaps: usize) -> usize {
        self.ranges.len().min(max_gaps) + self.dups.len()
    }

    /// The SACK to send now, with at most `max_gaps` gap blocks and at most `max_entries`
    /// gap blocks and duplicate TSNs together; duplicates left out go in the next one.
    pub(crate) fn make_sack(&mut self, window: u32, max_gaps: usize, max_entries: usize) -> Sack {
        let gaps: Vec<(u16, u16)> = self
            .ranges
            .iter()
            .map(|&(a, b)| (a - self.cum, b - self.cum))
            .take_while(|&(_, b)| b <= u16::MAX as u64)
            .take(max_gaps.min(max_entries))
            .map(|(a, b)| (a as u16, b as u16))
            .collect();
        let dups = max_entries.saturating_sub(gaps.len()).min(self.dups.len());
        self.sack_now = false;
        self.owed = false;
        self.packets_since_sack = 0;
        self.advertised = (window as usize).saturating_sub(self.held + self.unconsumed);
        Sack {
            cum_tsn_ack: self.cum as u32,
            a_rwnd: self.advertised as u32,
            gaps,
            dups: self.dups.drain(..dups).collect(),
        }
    }
}

fn newer(a: u32, b: u32, idata: bool) -> bool {
    if idata {
        (a.wrapping_sub(b) as i32) > 0
    } else {
        ((a as u16).wrapping_sub(b as u16) as i16) > 0
    }
}

/// The sequence numbers not newer than `mid` (RFC 1982 serial order: 16-bit
/// SSNs, or 32-bit MIDs with I-DATA), `mid - half ..= mid`, as one or two
/// ranges of raw values (two when the span wraps).
fn not_newer_than(mid: u32, idata: bool) -> [Option<RangeInclusive<u32>>; 2] {
    let (max, half) = if idata { (u32::MAX, 1 << 31) } else { (0xffff, 1 << 15) };
    let mid = mid & max;
    let lower = mid.wrapping_sub(half) & max;
    if lower <= mid {
        [Some(lower..=mid), None]
    } else {
        [Some(lower..=max), Some(0..=mid)]
    }
}

fn inc(a: u32, idata: bool) -> u32 {
    if idata {
        a.wrapping_add(1)
    } else {
        (a + 1) & 0xffff
    }
}

impl Association {
    /// Handles one DATA or I-DATA chunk. Err: the association was aborted.
    pub(crate) fn on_data(&mut self, now: Instant, mut d: DataChunk) -> Result<(), ()> {
        let rcv = &mut self.rcv;
        let tsn = unwrap_tsn(d.tsn, rcv.cum);
        if rcv.contains(tsn) {
            if rcv.dups.len() < MAX_DUPS {
                rcv.dups.push(d.tsn);
            }
            rcv.sack_now = true;
            self.stats.duplicate_tsns += 1;
            return Ok(());
        }
        if tsn > rcv.cum + MAX_TSN_AHEAD {
            self.stats.dropped_chunks += 1;
            return Ok(());
        }
        if d.interleaved != self.idata {
            // RFC 8260 2.1: I-DATA without negotiation, or DATA once I-DATA is in use.
            return self.violation(if d.interleaved {
                "I-DATA was not negotiated"
            } else {
                "DATA after I-DATA was negotiated"
            });
        }
        let len = d.payload.len();
        let window = self.config.receive_window as usize;
        let slack = 4 * self.config.mtu;
        // Admission counts payload first: the sender keeps within the window
        // we advertise by payload bytes, and the charges (which shrink what
        // we advertise) must not make us drop what it legitimately sent.
        // What is really held, charges included, may reach twice the window
        // and no more: a peer of tiny chunks is stopped there.
        let used = rcv.payload_used();
        let memory = rcv.held + rcv.unconsumed + len + CHUNK_OVERHEAD;
        let next = tsn == rcv.cum + 1;
        if (used + len > window && !(next && used + len <= window + slack))
            || (memory > 2 * window && !(next && memory <= 2 * window + slack))
        {
            self.stats.dropped_chunks += 1;
            rcv.sack_now = true;
            return Ok(());
        }
        if rcv.ranges.len() >= MAX_RANGES && tsn != rcv.cum + 1 && !rcv.extends_range(tsn) {
            self.stats.dropped_chunks += 1;
            rcv.sack_now = true;
            return Ok(());
        }
        if !rcv.ranges.is_empty() {
            rcv.sack_now = true; // filling (or widening) a gap: tell the sender at once
        }
        rcv.mark(tsn);
        if len * COPY_BELOW_SHARE < rcv.packet_len {
            d.payload = Bytes::copy_from_slice(&d.payload);
        }
        if d.stream >= self.num_inbound {
            // Acknowledge but discard (RFC 9260 6.5).
            if self.ctrl.len() < 8 {
                let mut info = d.stream.to_be_bytes().to_vec();
                info.extend_from_slice(&[0, 0]);
                let causes = ErrorCause::encode(&[ErrorCause { code: cause::INVALID_STREAM, info }]);
                self.ctrl.push_back(Chunk::Error { causes: causes.into() });
            }
            return Ok(());
        }
        if self.rcf.defers(d.stream, tsn) {
            self.rcv.hold(len);
            self.rcv.deferred.push((tsn, d));
            return Ok(());
        }
        self.accept_chunk(tsn, d)?;
        self.check_deferred_reset(now);
        Ok(())
    }

    /// Puts a chunk into reassembly; delivers what completes.
    pub(crate) fn accept_chunk(&mut self, tsn: u64, d: DataChunk) -> Result<(), ()> {
        let max = self.config.max_message_size;
        let len = d.payload.len();
        if d.beginning && d.ending && d.fsn == 0 {
            if len > max {
                return self.violation("message larger than our max-message-size");
            }
            self.complete(d.stream, d.unordered, d.mid, d.ppid, d.payload);
            return Ok(());
        }
        if !self.idata {
            let rcv = &mut self.rcv;
            let run = if d.beginning {
                Some(len)
            } else {
                rcv.frags
                    .get(&(tsn - 1))
                    .filter(|(p, _)| p.stream == d.stream && !p.ending)
                    .and_then(|(_, r)| *r)
                    .map(|r| r + len)
            };
            if run.is_some_and(|r| r > max) {
                return self.violation("message larger than our max-message-size");
            }
            let (b, e) = (d.beginning, d.ending);
            rcv.hold(len);
            rcv.frags.insert(tsn, (d, run));
            let has = |t: u64| rcv.frags.contains_key(&t);
            if (b || has(tsn - 1)) && (e || has(tsn + 1)) {
                return self.assemble(tsn);
            }
            return Ok(());
        }
        let key = (d.stream, d.unordered, d.mid);
        let p = self.rcv.ifrags.entry(key).or_default();
        if p.frags.contains_key(&d.fsn) {
            return Ok(());
        }
        p.size += len;
        if d.beginning {
            p.ppid = d.ppid;
        }
        if d.ending {
            p.last_fsn = Some(d.fsn);
        }
        p.frags.insert(d.fsn, d.payload);
        let too_large = p.size > max;
        let done = p.last_fsn.is_some_and(|l| p.frags.len() as u64 == l as u64 + 1);
        self.rcv.hold(len);
        if too_large {
            return self.violation("message larger than our max-message-size");
        }
        if done {
            let Some(p) = self.rcv.ifrags.remove(&key) else { return Ok(()) };
            self.rcv.release(p.size, p.frags.len());
            let data = concat(p.frags.into_values(), p.size);
            self.complete(key.0, key.1, key.2, p.ppid, data);
        }
        Ok(())
    }

    /// DATA: assembles the message through `tsn` if all its fragments are here.
    fn assemble(&mut self, tsn: u64) -> Result<(), ()> {
        let frags = &self.rcv.frags;
        let Some((c, _)) = frags.get(&tsn) else { return Ok(()) };
        let (stream, unordered) = (c.stream, c.unordered);
        let same = |t: u64| frags.get(&t).filter(|(p, _)| p.stream == stream && p.unordered == unordered);
        let mut a = tsn;
        let mut size = 0usize;
        loop {
            let Some((p, _)) = same(a) else { return Ok(()) };
            size += p.payload.len();
            if p.beginning {
                break;
            }
            a -= 1;
        }
        let mut b = tsn;
        loop {
            let Some((p, _)) = same(b) else { return Ok(()) };
            if b != tsn {
                size += p.payload.len();
            }
            if p.ending {
                break;
            }
            b += 1;
        }
        if size > self.config.max_message_size {
            return self.violation("message larger than our max-message-size");
        }
        let mut rest = self.rcv.frags.split_off(&a);
        let mut after = rest.split_off(&(b + 1));
        self.rcv.frags.append(&mut after);
        self.rcv.release(size, rest.len());
        let mut it = rest.into_values().map(|(c, _)| c);
        let Some(first) = it.next() else { return Ok(()) };
        let (mid, ppid) = (first.mid, first.ppid);
        let data = concat(std::iter::once(first.payload).chain(it.map(|c| c.payload)), size);
        self.complete(stream, unordered, mid, ppid, data);
        Ok(())
    }

    fn violation(&mut self, what: &str) -> Result<(), ()> {
        let causes =
            ErrorCause::encode(&[ErrorCause { code: cause::PROTOCOL_VIOLATION, info: what.as_bytes().to_vec() }]);
        self.send_raw(self.peer_tag, &Chunk::Abort { t_bit: false, causes: causes.into() }, self.zero_checksum_send);
        self.fail(format!("peer violated the protocol: {what}"));
        Err(())
    }

    /// A complete message: deliver it now or when its turn in the stream comes.
    fn complete(&mut self, stream: u16, unordered: bool, mid: u32, ppid: u32, data: Bytes) {
        if unordered {
            self.deliver(stream, ppid, data);
            return;
        }
        let idata = self.idata;
        let st = self.rcv.streams.entry(stream).or_default();
        if mid == st.next {
            st.next = inc(st.next, idata);
            self.deliver(stream, ppid, data);
            self.drain_stream(stream);
        } else if newer(mid, st.next, idata) {
            if let std::collections::btree_map::Entry::Vacant(v) = st.waiting.entry(mid) {
                let len = data.len();
                v.insert((ppid, data));
                self.rcv.hold(len);
            }
        }
    }

    fn drain_stream(&mut self, stream: u16) {
        let idata = self.idata;
        let Some(st) = self.rcv.streams.get_mut(&stream) else { return };
        let mut ready = Vec::new();
        while let Some((ppid, data)) = st.waiting.remove(&st.next) {
            st.next = inc(st.next, idata);
            ready.push((ppid, data));
        }
        for (ppid, data) in ready {
            self.rcv.release(data.len(), 1);
            self.deliver(stream, ppid, data);
        }
    }

    fn deliver(&mut self, stream: u16, ppid: u32, data: Bytes) {
        self.stats.messages_received += 1;
        if self.config.hold_until_consumed {
            self.rcv.unconsumed += data.len() + MESSAGE_OVERHEAD;
            self.rcv.unconsumed_messages += 1;
        }
        self.events.push_back(SctpEvent::Message { stream, ppid, data });
    }

    /// Resets the incoming sequence numbers of `streams` (RFC 6525), in time linear in
    /// what is held.
    pub(crate) fn reset_incoming(&mut self, streams: &StreamSet) {
        // Partial I-DATA messages of reset streams can never complete: MIDs restart at 0.
        let rcv = &mut self.rcv;
        let gone: Vec<_> = rcv.ifrags.keys().filter(|k| streams.contains(k.0)).copied().collect();
        for k in gone {
            if let Some(p) = rcv.ifrags.remove(&k) {
                rcv.release(p.size, p.frags.len());
            }
        }
        let (mut bytes, mut items) = (0, 0);
        rcv.streams.retain(|&s, st| {
            if !streams.contains(s) {
                return true;
            }
            bytes += st.waiting.values().map(|(_, d)| d.len()).sum::<usize>();
            items += st.waiting.len();
            false
        });
        rcv.release(bytes, items);
    }

    /// Decides when to SACK after a packet with DATA (RFC 9260 6.2).
    pub(crate) fn after_data_packet(&mut self, now: Instant) {
        let rcv = &mut self.rcv;
        rcv.owed = true;
        rcv.packets_since_sack += 1;
        if !rcv.ranges.is_empty()
            || !rcv.dups.is_empty()
            || rcv.packets_since_sack >= 2
            || self.state != State::Established
        {
            rcv.sack_now = true;
        } else if self.timers.delayed_ack.is_none() {
            self.timers.delayed_ack = Some(now + self.config.delayed_ack);
        }
    }

    pub(crate) fn on_forward_tsn(&mut self, now: Instant, f: &ForwardTsn) {
        self.rcv.sack_now = true;
        self.rcv.owed = true;
        if f.interleaved != self.idata {
            return;
        }
        let new = unwrap_tsn(f.new_cum_tsn, self.rcv.cum);
        if new <= self.rcv.cum || new > self.rcv.cum + MAX_TSN_AHEAD {
            return;
        }
        let rcv = &mut self.rcv;
        rcv.cum = new;
        rcv.ranges.retain(|r| r.1 > new);
        rcv.absorb();
        if !self.idata {
            let keep = rcv.frags.split_off(&(new + 1));
            let dropped = std::mem::replace(&mut rcv.frags, keep);
            rcv.release(dropped.values().map(|(c, _)| c.payload.len()).sum::<usize>(), dropped.len());
        }
        let idata = self.idata;
        // Each entry costs a lookup plus what it frees: the held pieces it
        // names are found by range, never by scanning a stream's queue.
        for e in f.streams.iter().take(MAX_FORWARD_TSN_ENTRIES) {
            if e.stream >= self.num_inbound {
                continue; // no such stream: nothing to skip
            }
            if idata {
                let mut gone = Vec::new();
                for r in not_newer_than(e.mid, true).into_iter().flatten() {
                    let keys =
                        self.rcv.ifrags.range((e.stream, e.unordered, *r.start())..=(e.stream, e.unordered, *r.end()));
                    gone.extend(keys.map(|(k, _)| *k));
                }
                for k in gone {
                    if let Some(p) = self.rcv.ifrags.remove(&k) {
                        self.rcv.release(p.size, p.frags.len());
                    }
                }
            }
            if e.unordered {
                continue;
            }
            let st = self.rcv.streams.entry(e.stream).or_default();
            let after = inc(e.mid, idata);
            if !newer(after, st.next, idata) {
                // Already past it: every waiting message is newer than `next`.
                continue;
            }
            // Deliver what waited for the skipped messages, in order, then move on.
            let mut held_freed = 0;
            let mut ready: Vec<u32> = Vec::new();
            for r in not_newer_than(e.mid, idata).into_iter().flatten() {
                ready.extend(st.waiting.range(r).map(|(k, _)| *k));
            }
            let next = st.next;
            ready.sort_by_key(|&k| k.wrapping_sub(next) & if idata { u32::MAX } else { 0xffff });
            let mut out = Vec::new();
            for k in ready {
                if let Some((ppid, data)) = st.waiting.remove(&k) {
                    held_freed += data.len();
                    out.push((ppid, data));
                }
            }
            st.next = after;
            self.rcv.release(held_freed, out.len());
            for (ppid, data) in out {
                self.deliver(e.stream, ppid, data);
            }
            let sid = e.stream;
            self.drain_stream(sid);
        }
        self.check_deferred_reset(now);
    }
}

fn concat(parts: impl Iterator<Item = Bytes>, size: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(size);
    for p in parts {
        b.extend_from_slice(&p);
    }
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsn_ranges_merge_and_advance() {
        let mut r = RecvState::new(100);
        r.mark(103);
        r.mark(105);
        r.mark(104);
        assert_eq!(r.ranges, vec![(103, 105)]);
        assert!(r.contains(104) && !r.contains(102) && r.contains(100));
        r.mark(101);
        r.mark(102);
        assert_eq!((r.cum, r.ranges.len()), (105, 0));
        r.mark(110);
        r.mark(108);
        let s = r.make_sack(1000, 10, 100);
        assert_eq!((s.cum_tsn_ack, s.gaps), (105, vec![(3, 3), (5, 5)]));
    }

    #[test]
    fn not_newer_than_is_the_complement_of_newer() {
        let inside =
            |k: u32, mid: u32, idata: bool| not_newer_than(mid, idata).into_iter().flatten().any(|r| r.contains(&k));
        for mid in [0u32, 1, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff] {
            for k in 0..=0xffffu32 {
                assert_eq!(inside(k, mid, false), !newer(k, mid, false), "ssn {k} vs {mid}");
            }
        }
        let mut x = 0x9e37_79b9_u32;
        for mid in [0u32, 1, 1 << 31, (1 << 31) + 1, u32::MAX, 12345] {
            for _ in 0..10_000 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                for k in [x, mid, mid.wrapping_add(1), mid.wrapping_sub(1 << 31), mid.wrapping_add(1 << 31)] {
                    assert_eq!(inside(k, mid, true), !newer(k, mid, true), "mid {k} vs {mid}");
                }
            }
        }
    }

    #[test]
    fn serial_comparisons_wrap() {
        assert!(newer(0, 65535, false));
        assert!(!newer(65535, 0, false));
        assert!(newer(0, u32::MAX, true));
        assert_eq!(inc(65535, false), 0);
    }
}
