//! Sending: stream queues and the round-robin scheduler, fragmentation, the outstanding
//! queue, SACK processing, retransmission (T3-rtx and fast retransmit), congestion control
//! (RFC 9260 section 7), peer window tracking and partial reliability (RFC 3758).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{unwrap_tsn, Association, SctpConfig, SctpEvent, SendParams, State, TSN_BASE};
use crate::chunk::{DataChunk, ForwardTsn, ForwardTsnStream, Sack};
use crate::error::SendError;
use crate::packet::PacketWriter;

/// A message waiting in a stream queue.
pub(crate) struct OutMsg {
    ppid: u32,
    data: Bytes,
    /// Bytes already cut into chunks.
    offset: usize,
    ordered: bool,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
    /// SSN or MID, assigned with the first fragment.
    mid: Option<u32>,
    next_fsn: u32,
}

#[derive(Default)]
pub(crate) struct OutStream {
    queue: VecDeque<OutMsg>,
    /// Bytes not yet cut into chunks (the W3C bufferedAmount).
    buffered: usize,
    low_threshold: usize,
    next_ssn: u16,
    next_mid: u32,
    next_umid: u32,
    in_ready: bool,
    /// A reset was requested and has not completed.
    pub(crate) resetting: bool,
}

impl OutStream {
    pub(crate) fn reset_sequence(&mut self) {
        self.next_ssn = 0;
        self.next_mid = 0;
        self.next_umid = 0;
        self.resetting = false;
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }
}

/// A chunk sent and not yet cumulatively acknowledged.
pub(crate) struct Sent {
    chunk: DataChunk,
    sent_at: Option<Instant>,
    tx_count: u32,
    acked: bool,
    abandoned: bool,
    in_flight: bool,
    misses: u8,
    fast_rtx_done: bool,
    /// Ever marked for retransmission: no RTT sample from it (Karn, and a late ack of an
    /// original after a timeout measures our own waiting).
    marked: bool,
    max_rtx: Option<u16>,
    expires: Option<Instant>,
}

pub(crate) struct SendState {
    pub(crate) streams: BTreeMap<u16, OutStream>,
    ready: VecDeque<u16>,
    /// DATA (not I-DATA): the stream whose message is being fragmented.
    current: Option<u16>,
    pub(crate) buffered_total: usize,
    pub(crate) next_tsn: u64,
    pub(crate) cum_ack: u64,
    adv_peer_ack: u64,
    /// Front is `cum_ack + 1`.
    pub(crate) outstanding: VecDeque<Sent>,
    rtx: BTreeSet<u64>,
    pub(crate) fwd_tsn_needed: bool,
    pub(crate) cwnd: usize,
    pub(crate) ssthresh: usize,
    pba: usize,
    pub(crate) flight: usize,
    pub(crate) peer_rwnd: usize,
    mtu: usize,
    fast_recovery: Option<u64>,
    /// One packet of fast retransmissions may ignore cwnd.
    fast_rtx_pending: bool,
    with_lifetime: usize,
}

impl SendState {
    pub(crate) fn new(c: &SctpConfig) -> Self {
        SendState {
            streams: BTreeMap::new(),
            ready: VecDeque::new(),
            current: None,
            buffered_total: 0,
            next_tsn: TSN_BASE,
            cum_ack: TSN_BASE - 1,
            adv_peer_ack: TSN_BASE - 1,
            outstanding: VecDeque::new(),
            rtx: BTreeSet::new(),
            fwd_tsn_needed: false,
            cwnd: c.mtu * c.initial_cwnd_packets.max(1),
            ssthresh: usize::MAX,
            pba: 0,
            flight: 0,
            peer_rwnd: 0,
            mtu: c.mtu,
            fast_recovery: None,
            fast_rtx_pending: false,
            with_lifetime: 0,
        }
    }

    pub(crate) fn start(&mut self, initial_tsn: u32, peer_rwnd: u32, mtu: usize, iw: usize) {
        self.next_tsn = TSN_BASE + initial_tsn as u64;
        self.cum_ack = self.next_tsn - 1;
        self.adv_peer_ack = self.cum_ack;
        self.outstanding.clear();
        self.rtx.clear();
        self.peer_rwnd = peer_rwnd as usize;
        self.ssthresh = peer_rwnd as usize;
        self.cwnd = mtu * iw.max(1);
        self.flight = 0;
        self.mtu = mtu;
    }

    pub(crate) fn clear(&mut self) {
        self.streams.clear();
        self.ready.clear();
        self.current = None;
        self.buffered_total = 0;
        self.outstanding.clear();
        self.rtx.clear();
        self.flight = 0;
    }

    /// Everything sent has been acknowledged and nothing waits.
    pub(crate) fn all_done(&self) -> bool {
        self.outstanding.is_empty() && self.buffered_total == 0
    }

    pub(crate) fn has_sendable(&self) -> bool {
        if !self.rtx.is_empty() {
            return self.flight < self.cwnd || self.fast_rtx_pending;
        }
        !self.ready.is_empty() && self.flight < self.cwnd && (self.peer_rwnd > 0 || self.flight == 0)
    }

    fn index(&self, tsn: u64) -> Option<usize> {
        let i = tsn.checked_sub(self.cum_ack + 1)? as usize;
        (i < self.outstanding.len()).then_some(i)
    }

    /// Builds FORWARD-TSN from the abandoned chunks up to the advanced ack point.
    pub(crate) fn make_forward_tsn(&self, idata: bool) -> Option<ForwardTsn> {
        if self.adv_peer_ack <= self.cum_ack {
            return None;
        }
        let mut streams: BTreeMap<(u16, bool), u32> = BTreeMap::new();
        let n = (self.adv_peer_ack - self.cum_ack) as usize;
        for s in self.outstanding.iter().take(n) {
            let c = &s.chunk;
            if !s.abandoned || (c.unordered && !idata) {
                continue;
            }
            let e = streams.entry((c.stream, c.unordered)).or_insert(c.mid);
            let newer = if idata {
                (c.mid.wrapping_sub(*e) as i32) > 0
            } else {
                (c.mid as u16).wrapping_sub(*e as u16) as i16 > 0
            };
            if newer {
                *e = c.mid;
            }
        }
        let streams = streams
            .into_iter()
            .take(200)
            .map(|((stream, unordered), mid)| ForwardTsnStream { stream, unordered, mid })
            .collect();
        Some(ForwardTsn { new_cum_tsn: self.adv_peer_ack as u32, streams, interleaved: idata })
    }

    fn advance_peer_ack_point(&mut self) {
        if self.adv_peer_ack < self.cum_ack {
            self.adv_peer_ack = self.cum_ack;
        }
        let before = self.adv_peer_ack;
        // Only over abandoned chunks (RFC 3758 3.5 C2): a DATA receiver drops every
        // fragment up to the new cumulative TSN, so skipping a gap-acked fragment would
        // throw away part of a message that is still to be completed.
        while let Some(i) = self.index(self.adv_peer_ack + 1) {
            if !self.outstanding[i].abandoned {
                break;
            }
            self.adv_peer_ack += 1;
        }
        // Only worth a FORWARD-TSN when it skips something abandoned.
        if self.adv_peer_ack > self.cum_ack {
            let n = (self.adv_peer_ack - self.cum_ack) as usize;
            if self.outstanding.iter().take(n).any(|s| s.abandoned)
                && (self.adv_peer_ack > before || !self.fwd_tsn_needed)
            {
                self.fwd_tsn_needed = true;
            }
        }
    }
}

impl Association {
    /// Queues a message. It is fragmented to the MTU, sent when the congestion and receive
    /// windows allow, and delivered whole to the peer. Messages queued before the
    /// association is established are sent once it is.
    pub fn send(
        &mut self,
        now: Instant,
        stream: u16,
        ppid: u32,
        data: Bytes,
        params: SendParams,
    ) -> Result<(), SendError> {
        if !matches!(self.state, State::Closed | State::CookieWait | State::CookieEchoed | State::Established) {
            return Err(SendError::NotConnected);
        }
        if data.is_empty() {
            return Err(SendError::Empty);
        }
        if data.len() > self.config.remote_max_message_size {
            return Err(SendError::TooLarge { size: data.len(), limit: self.config.remote_max_message_size });
        }
        if stream >= self.num_outbound {
            return Err(SendError::InvalidStream { stream, limit: self.num_outbound });
        }
        let limit = self.config.send_buffer_limit;
        if self.snd.buffered_total + data.len() > limit {
            return Err(SendError::BufferFull { buffered: self.snd.buffered_total, limit });
        }
        let s = self.snd.streams.entry(stream).or_default();
        if s.resetting {
            return Err(SendError::StreamResetting(stream));
        }
        let len = data.len();
        s.queue.push_back(OutMsg {
            ppid,
            data,
            offset: 0,
            ordered: params.ordered,
            max_rtx: params.max_retransmits,
            expires: params.max_lifetime.map(|d| now + d),
            mid: None,
            next_fsn: 0,
        });
        s.buffered += len;
        if !s.in_ready {
            s.in_ready = true;
            self.snd.ready.push_back(stream);
        }
        self.snd.buffered_total += len;
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Bytes queued on `stream` and not yet sent (the W3C `bufferedAmount`).
    pub fn buffered_amount(&self, stream: u16) -> usize {
        self.snd.streams.get(&stream).map_or(0, |s| s.buffered)
    }

    /// Bytes queued on all streams and not yet sent; never above
    /// [`SctpConfig::send_buffer_limit`].
    pub fn buffered_amount_total(&self) -> usize {
        self.snd.buffered_total
    }

    /// Sets the threshold below which [`SctpEvent::BufferedAmountLow`] fires for `stream`.
    pub fn set_buffered_amount_low_threshold(&mut self, stream: u16, threshold: usize) {
        self.snd.streams.entry(stream).or_default().low_threshold = threshold;
    }

    /// Writes retransmissions, then new data, into the packet while windows allow.
    pub(crate) fn fill_data(&mut self, now: Instant, w: &mut PacketWriter) {
        let mtu = self.config.mtu;
        let hl = DataChunk::header_len(self.idata);
        let mut bundled = false;
        // Retransmissions first. Right after a fast retransmit, one packet of them may
        // ignore cwnd (RFC 9260 7.2.4).
        let fast = std::mem::take(&mut self.snd.fast_rtx_pending);
        while let Some(&tsn) = self.snd.rtx.iter().next() {
            if self.snd.flight >= self.snd.cwnd && !fast && !bundled {
                return;
            }
            let Some(i) = self.snd.index(tsn) else {
                self.snd.rtx.remove(&tsn);
                continue;
            };
            let s = &self.snd.outstanding[i];
            if s.abandoned || s.acked {
                self.snd.rtx.remove(&tsn);
                continue;
            }
            let len = hl + s.chunk.payload.len();
            if w.len() + len > mtu {
                return;
            }
            self.snd.rtx.remove(&tsn);
            let s = &mut self.snd.outstanding[i];
            s.tx_count += 1;
            s.sent_at = None; // Karn: no RTT sample from a retransmission
            s.in_flight = true;
            s.misses = 0;
            w.push_data(&s.chunk);
            let plen = s.chunk.payload.len();
            self.snd.flight += plen;
            self.snd.peer_rwnd = self.snd.peer_rwnd.saturating_sub(plen);
            self.stats.retransmissions += 1;
            bundled = true;
            if self.timers.t3.is_none() {
                self.timers.t3 = Some(now + self.rto.rto);
            }
        }
        // New data.
        loop {
            if self.snd.flight >= self.snd.cwnd {
                break;
            }
            let room = mtu.saturating_sub(w.len() + hl);
            if room < 64.min(mtu / 4) {
                break;
            }
            // A message that would fit whole in a packet of its own is not split just to
            // fill this one (whole messages reach the receiver without a reassembly copy).
            let whole = (!w.is_empty()).then_some(mtu - crate::packet::HEADER_LEN - hl);
            let max = if self.snd.peer_rwnd == 0 {
                if self.snd.flight > 0 {
                    break; // window closed; T3 probes
                }
                room // zero window probe
            } else if self.snd.peer_rwnd < room {
                self.snd.peer_rwnd
            } else {
                room
            };
            let whole = if max == room { whole } else { None };
            let Some((chunk, max_rtx, expires)) = self.next_fragment(now, max, whole) else { break };
            let plen = chunk.payload.len();
            w.push_data(&chunk);
            self.snd.flight += plen;
            self.snd.peer_rwnd = self.snd.peer_rwnd.saturating_sub(plen);
            if expires.is_some() {
                self.snd.with_lifetime += 1;
            }
            self.snd.outstanding.push_back(Sent {
                chunk,
                sent_at: Some(now),
                tx_count: 1,
                acked: false,
                abandoned: false,
                in_flight: true,
                misses: 0,
                fast_rtx_done: false,
                marked: false,
                max_rtx,
                expires,
            });
            self.stats.data_chunks_sent += 1;
            if self.timers.t3.is_none() {
                self.timers.t3 = Some(now + self.rto.rto);
            }
        }
    }

    /// Cuts the next chunk (at most `max` payload bytes) from the stream queues.
    fn next_fragment(
        &mut self,
        now: Instant,
        max: usize,
        whole: Option<usize>,
    ) -> Option<(DataChunk, Option<u16>, Option<Instant>)> {
        let idata = self.idata;
        let pr = self.pr;
        loop {
            let sid = match self.snd.current {
                Some(c) => c,
                None => *self.snd.ready.front()?,
            };
            let Some(s) = self.snd.streams.get_mut(&sid) else {
                self.snd.ready.pop_front();
                self.snd.current = None;
                continue;
            };
            let Some(m) = s.queue.front_mut() else {
                s.in_ready = false;
                self.snd.ready.pop_front();
                self.snd.current = None;
                continue;
            };
            if pr && m.offset == 0 && m.expires.is_some_and(|e| e <= now) {
                let len = m.data.len();
                s.queue.pop_front();
                s.buffered -= len;
                self.snd.buffered_total -= len;
                self.stats.messages_abandoned += 1;
                Self::low_event(&mut self.events, sid, s, len);
                continue;
            }
            let remaining = m.data.len() - m.offset;
            if whole.is_some_and(|full| remaining > max && remaining <= full) {
                return None;
            }
            let mid = *m.mid.get_or_insert_with(|| {
                if m.ordered {
                    if idata {
                        s.next_mid = s.next_mid.wrapping_add(1);
                        s.next_mid.wrapping_sub(1)
                    } else {
                        s.next_ssn = s.next_ssn.wrapping_add(1);
                        s.next_ssn.wrapping_sub(1) as u32
                    }
                } else if idata {
                    s.next_umid = s.next_umid.wrapping_add(1);
                    s.next_umid.wrapping_sub(1)
                } else {
                    0
                }
            });
            let take = (m.data.len() - m.offset).min(max.max(1));
            let payload = m.data.slice(m.offset..m.offset + take);
            let beginning = m.offset == 0;
            m.offset += take;
            let ending = m.offset == m.data.len();
            let fsn = m.next_fsn;
            m.next_fsn = m.next_fsn.wrapping_add(1);
            let chunk = DataChunk {
                tsn: self.snd.next_tsn as u32,
                stream: sid,
                mid,
                ppid: m.ppid,
                fsn,
                unordered: !m.ordered,
                beginning,
                ending,
                immediate: false,
                interleaved: idata,
                payload,
            };
            let (max_rtx, expires) = if pr { (m.max_rtx, m.expires) } else { (None, None) };
            self.snd.next_tsn += 1;
            if ending {
                s.queue.pop_front();
            }
            s.buffered -= take;
            self.snd.buffered_total -= take;
            Self::low_event(&mut self.events, sid, s, take);
            // Scheduling: DATA keeps a message's fragments together; I-DATA interleaves
            // streams chunk by chunk. Either way streams take turns.
            if ending || idata {
                self.snd.current = None;
                self.snd.ready.pop_front();
                if s.queue.is_empty() {
                    s.in_ready = false;
                } else {
                    self.snd.ready.push_back(sid);
                }
            } else {
                self.snd.current = Some(sid);
            }
            return Some((chunk, max_rtx, expires));
        }
    }

    fn low_event(events: &mut VecDeque<SctpEvent>, stream: u16, s: &OutStream, taken: usize) {
        if s.buffered <= s.low_threshold && s.buffered + taken > s.low_threshold {
            events.push_back(SctpEvent::BufferedAmountLow { stream });
        }
    }

    /// Processes a cumulative ack carried by SHUTDOWN.
    pub(crate) fn on_cum_ack(&mut self, now: Instant, cum: u32) {
        let sack = Sack { cum_tsn_ack: cum, a_rwnd: self.snd.peer_rwnd as u32, gaps: Vec::new(), dups: Vec::new() };
        self.on_sack(now, &sack);
    }

    pub(crate) fn on_sack(&mut self, now: Instant, sack: &Sack) {
        let snd = &mut self.snd;
        let cum = unwrap_tsn(sack.cum_tsn_ack, snd.cum_ack);
        if cum < snd.cum_ack || cum >= snd.next_tsn {
            return; // stale, or acks what was never sent
        }
        let was_full = snd.flight + snd.mtu >= snd.cwnd;
        let old_cum = snd.cum_ack;
        let mut bytes_acked = 0usize;
        let mut htna: Option<u64> = None;
        // RTT from the newest chunk acked for the first time, if sent once and never marked.
        let mut rtt: Option<(u64, Duration)> = None;
        let sample = |s: &Sent, tsn: u64, rtt: &mut Option<(u64, Duration)>| {
            if s.tx_count == 1 && !s.marked && rtt.is_none_or(|(t, _)| t < tsn) {
                if let Some(d) = s.sent_at.and_then(|t| now.checked_duration_since(t)) {
                    *rtt = Some((tsn, d));
                }
            }
        };
        while snd.cum_ack < cum {
            let Some(s) = snd.outstanding.pop_front() else { break };
            snd.cum_ack += 1;
            let len = s.chunk.payload.len();
            if s.expires.is_some() {
                snd.with_lifetime = snd.with_lifetime.saturating_sub(1);
            }
            if !s.acked && !s.abandoned {
                bytes_acked += len;
                htna = Some(snd.cum_ack);
                sample(&s, snd.cum_ack, &mut rtt);
            }
            if s.in_flight {
                snd.flight -= len;
            }
            snd.rtx.remove(&snd.cum_ack);
        }
        snd.cum_ack = cum;
        let cum_advanced = cum > old_cum;
        // Gap ack blocks.
        let n = snd.outstanding.len() as u64;
        // Overlapping or repeated blocks are walked once: each offset at
        // most once per SACK, however many blocks the peer sends.
        let mut done_to = 0u64;
        for &(start, end) in &sack.gaps {
            if start == 0 || start > end {
                continue;
            }
            let (start, end) = ((start as u64).max(done_to + 1), (end as u64).min(n));
            if start > end {
                continue;
            }
            done_to = done_to.max(end);
            for off in start..=end {
                let i = (off - 1) as usize;
                let Some(s) = snd.outstanding.get_mut(i) else { break };
                if s.acked || s.abandoned {
                    continue;
                }
                s.acked = true;
                sample(s, cum + off, &mut rtt);
                bytes_acked += s.chunk.payload.len();
                if s.in_flight {
                    s.in_flight = false;
                    snd.flight -= s.chunk.payload.len();
                }
                let tsn = cum + off;
                snd.rtx.remove(&tsn);
                htna = Some(htna.map_or(tsn, |h| h.max(tsn)));
            }
        }
        // Leave fast recovery once its point is acked.
        if snd.fast_recovery.is_some_and(|p| cum >= p) {
            snd.fast_recovery = None;
        }
        // Miss indications (RFC 9260 7.2.4): TSNs missing below the highest newly acked
        // one; in fast recovery, a SACK advancing the cumulative ack counts for every TSN it
        // reports missing.
        let mut fast = Vec::new();
        if let Some(h) = htna {
            let highest_reported = sack.gaps.iter().map(|g| cum + g.1 as u64).max().unwrap_or(cum);
            let limit = if snd.fast_recovery.is_some() && cum_advanced { highest_reported.max(h) } else { h };
            let upto = limit.saturating_sub(cum + 1) as usize;
            for (i, s) in snd.outstanding.iter_mut().enumerate().take(upto) {
                if s.acked || s.abandoned || s.fast_rtx_done || !s.in_flight {
                    continue;
                }
                s.misses = s.misses.saturating_add(1);
                if s.misses >= 3 {
                    s.fast_rtx_done = true;
                    fast.push(cum + 1 + i as u64);
                }
            }
        }
        // Congestion window (RFC 9260 7.2.1, 7.2.2).
        if cum_advanced && snd.fast_recovery.is_none() && bytes_acked > 0 {
            if snd.cwnd <= snd.ssthresh {
                if was_full {
                    snd.cwnd += bytes_acked.min(snd.mtu);
                }
            } else {
                snd.pba += bytes_acked;
                if snd.pba >= snd.cwnd && was_full {
                    snd.pba -= snd.cwnd;
                    snd.cwnd += snd.mtu;
                }
            }
        }
        if !fast.is_empty() {
            if snd.fast_recovery.is_none() {
                snd.ssthresh = (snd.cwnd / 2).max(4 * snd.mtu);
                snd.cwnd = snd.ssthresh;
                snd.pba = 0;
                snd.fast_recovery = Some(snd.next_tsn - 1);
            }
            snd.fast_rtx_pending = true;
            self.stats.fast_retransmits += fast.len() as u64;
        }
        let outstanding_bytes: usize = self.snd.flight;
        self.snd.peer_rwnd = (sack.a_rwnd as usize).saturating_sub(outstanding_bytes);
        for tsn in fast {
            self.mark_for_retransmit(tsn);
        }
        if let Some((_, r)) = rtt {
            self.rto.sample(r);
        }
        if cum_advanced {
            self.error_count = 0;
            self.rto.progress();
        }
        self.expire_lifetimes(now);
        self.snd.advance_peer_ack_point();
        // T3 (RFC 9260 6.3.2).
        let any_in_flight = self.snd.outstanding.iter().any(|s| !s.acked && !s.abandoned);
        if !any_in_flight {
            self.timers.t3 = None;
        } else if cum_advanced {
            self.timers.t3 = Some(now + self.rto.rto);
        }
        if self.snd.adv_peer_ack > self.snd.cum_ack && self.timers.t3.is_none() {
            self.timers.t3 = Some(now + self.rto.rto);
        }
        self.check_shutdown(now);
    }

    /// Marks a chunk for retransmission, or abandons its message if partial reliability says so.
    fn mark_for_retransmit(&mut self, tsn: u64) {
        let Some(i) = self.snd.index(tsn) else { return };
        let s = &mut self.snd.outstanding[i];
        if s.acked || s.abandoned {
            return;
        }
        s.marked = true;
        if s.in_flight {
            s.in_flight = false;
            self.snd.flight -= s.chunk.payload.len();
        }
        if s.max_rtx.is_some_and(|m| s.tx_count > m as u32) {
            self.abandon(i);
        } else {
            self.snd.rtx.insert(tsn);
        }
    }

    fn expire_lifetimes(&mut self, now: Instant) {
        if self.snd.with_lifetime == 0 {
            return;
        }
        let expired: Vec<usize> = (0..self.snd.outstanding.len())
            .filter(|&i| {
                let s = &self.snd.outstanding[i];
                !s.acked && !s.abandoned && s.expires.is_some_and(|e| e <= now)
            })
            .collect();
        for i in expired {
            self.abandon(i);
        }
    }

    /// Abandons the message of the chunk at index `i`: all its fragments, sent or not.
    fn abandon(&mut self, i: usize) {
        let Some(s) = self.snd.outstanding.get(i) else { return };
        if s.abandoned {
            return;
        }
        let key = (s.chunk.stream, s.chunk.unordered, s.chunk.mid);
        // I-DATA: (stream, U, MID) names the message. DATA: its fragments are consecutive
        // TSNs from B to E (unordered DATA messages all share SSN 0).
        let range = if self.idata {
            0..self.snd.outstanding.len()
        } else {
            let q = &self.snd.outstanding;
            let mut a = i;
            while a > 0 && !q[a].chunk.beginning && q[a - 1].chunk.stream == key.0 {
                a -= 1;
            }
            let mut b = i;
            while !q[b].chunk.ending && b + 1 < q.len() && q[b + 1].chunk.stream == key.0 {
                b += 1;
            }
            a..b + 1
        };
        let mut found_end = false;
        for s in self.snd.outstanding.range_mut(range) {
            if (s.chunk.stream, s.chunk.unordered, s.chunk.mid) != key || s.abandoned {
                continue;
            }
            s.abandoned = true;
            found_end |= s.chunk.ending;
            if s.in_flight {
                s.in_flight = false;
                self.snd.flight -= s.chunk.payload.len();
            }
        }
        self.stats.messages_abandoned += 1;
        // Drop the unsent rest of the message.
        let mut placeholder = None;
        if !found_end {
            if let Some(st) = self.snd.streams.get_mut(&key.0) {
                if let Some(m) = st.queue.front() {
                    if m.offset > 0 && m.mid == Some(key.2) && m.ordered != key.1 {
                        let rest = m.data.len() - m.offset;
                        // The message's end gets a TSN that is never sent, abandoned from
                        // the start (as dcsctp and usrsctp do): the FORWARD-TSN that skips
                        // it then moves the peer's cumulative TSN past every fragment it
                        // holds of this message, even when it already acknowledged them
                        // all; without it the FORWARD-TSN would be stale there and ignored,
                        // and the stream would wait for this message forever.
                        placeholder = Some(DataChunk {
                            tsn: self.snd.next_tsn as u32,
                            stream: key.0,
                            mid: key.2,
                            ppid: m.ppid,
                            fsn: m.next_fsn,
                            unordered: key.1,
                            beginning: false,
                            ending: true,
                            immediate: false,
                            interleaved: self.idata,
                            payload: Bytes::new(),
                        });
                        st.queue.pop_front();
                        st.buffered -= rest;
                        self.snd.buffered_total -= rest;
                        if self.snd.current == Some(key.0) {
                            self.snd.current = None;
                            if let Some(p) = self.snd.ready.iter().position(|&x| x == key.0) {
                                self.snd.ready.remove(p);
                            }
                            if st.queue.is_empty() {
                                st.in_ready = false;
                            } else {
                                self.snd.ready.push_back(key.0);
                            }
                        }
                        Self::low_event(&mut self.events, key.0, st, rest);
                    }
                }
            }
        }
        if let Some(chunk) = placeholder {
            self.snd.next_tsn += 1;
            self.snd.outstanding.push_back(Sent {
                chunk,
                sent_at: None,
                tx_count: 0,
                acked: false,
                abandoned: true,
                in_flight: false,
                misses: 0,
                fast_rtx_done: false,
                marked: false,
                max_rtx: None,
                expires: None,
            });
        }
    }

    pub(crate) fn on_t3(&mut self, now: Instant) {
        self.stats.t3_expirations += 1;
        if !self.count_error() {
            return;
        }
        self.rto.back_off();
        let snd = &mut self.snd;
        snd.ssthresh = (snd.cwnd / 2).max(4 * snd.mtu);
        snd.cwnd = snd.mtu;
        snd.pba = 0;
        snd.fast_recovery = None;
        let base = snd.cum_ack + 1;
        let tsns: Vec<u64> = snd
            .outstanding
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.acked && !s.abandoned)
            .map(|(i, _)| base + i as u64)
            .collect();
        for tsn in tsns {
            self.mark_for_retransmit(tsn);
        }
        self.expire_lifetimes(now);
        self.snd.advance_peer_ack_point();
        if self.snd.adv_peer_ack > self.snd.cum_ack {
            self.snd.fwd_tsn_needed = true;
        }
        let pending =
            self.snd.outstanding.iter().any(|s| !s.acked && !s.abandoned) || self.snd.adv_peer_ack > self.snd.cum_ack;
        self.timers.t3 = pending.then(|| now + self.rto.rto);
    }
}
