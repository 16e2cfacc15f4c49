//! Stream reset (RFC 6525): outgoing SSN reset requests to close data channels, their
//! responses, and deferred processing of a peer's request that is ahead of our cumulative TSN.

use std::time::Instant;

use super::streamset::StreamSet;
use super::{unwrap_tsn, Association, SctpEvent, State};
use crate::chunk::{Chunk, ReConfig, ReconfigParam, ReconfigResult};
use crate::error::SendError;

#[derive(Default)]
pub(crate) struct ReconfigState {
    next_req_seq: u32,
    /// Streams waiting for a request, in the order asked.
    pending: Vec<u16>,
    /// The same streams, for a duplicate check in constant time.
    pending_set: Option<StreamSet>,
    /// Our request on the wire: (seq, streams, last TSN).
    in_flight: Option<(u32, Vec<u16>, u32)>,
    peer_next_req_seq: u32,
    last_response: Option<(u32, ReconfigResult)>,
    /// The peer's request waiting for our cumulative TSN: (seq, last TSN, streams).
    deferred: Option<(u32, u64, StreamSet)>,
    /// The last deferred reset performed: (last TSN, streams). A peer that asks again with a
    /// new sequence number after "in progress" gets "performed" without a second reset.
    performed: Option<(u64, StreamSet)>,
}

impl ReconfigState {
    pub(crate) fn new(local_tsn: u32, peer_tsn: u32) -> Self {
        ReconfigState { next_req_seq: local_tsn, peer_next_req_seq: peer_tsn, ..Default::default() }
    }

    /// Whether a chunk must wait for a deferred reset of its stream.
    pub(crate) fn defers(&self, stream: u16, tsn: u64) -> bool {
        self.deferred.as_ref().is_some_and(|(_, last, s)| tsn > *last && s.contains(stream))
    }
}

impl Association {
    /// Resets outgoing streams (RFC 6525), which is how a data channel is closed: messages
    /// already queued on them are still delivered, then the peer is asked to reset its
    /// incoming side. [`SctpEvent::OutgoingStreamsReset`] follows; until then `send` on those
    /// streams fails with [`SendError::StreamResetting`].
    pub fn reset_streams(&mut self, now: Instant, streams: &[u16]) -> Result<(), SendError> {
        if self.state != State::Established {
            return Err(SendError::NotConnected);
        }
        if !self.reconfig_ok {
            return Err(SendError::ResetUnsupported);
        }
        if let Some(&s) = streams.iter().find(|&&s| s >= self.num_outbound) {
            return Err(SendError::InvalidStream { stream: s, limit: self.num_outbound });
        }
        if self.rcf.pending.is_empty() {
            self.rcf.pending_set = None;
        }
        let set = self.rcf.pending_set.get_or_insert_with(StreamSet::empty);
        for &s in streams {
            self.snd.streams.entry(s).or_default().resetting = true;
            if !set.contains(s) {
                set.insert(s);
                self.rcf.pending.push(s);
            }
        }
        self.maybe_send_reconfig(now);
        Ok(())
    }

    /// Sends the next request once the streams' queued data all has TSNs.
    pub(crate) fn maybe_send_reconfig(&mut self, now: Instant) {
        if self.rcf.in_flight.is_some() || self.rcf.pending.is_empty() || !self.is_up() {
            return;
        }
        let drained = self.rcf.pending.iter().all(|s| self.snd.streams.get(s).is_none_or(|st| st.is_drained()));
        if !drained {
            return;
        }
        let streams = std::mem::take(&mut self.rcf.pending);
        let last_tsn = (self.snd.next_tsn - 1) as u32;
        let seq = self.rcf.next_req_seq;
        self.rcf.in_flight = Some((seq, streams, last_tsn));
        self.send_reconfig_request();
        self.timers.reconfig = Some(now + self.rto.rto);
    }

    fn send_reconfig_request(&mut self) {
        let Some((seq, streams, last_tsn)) = self.rcf.in_flight.clone() else { return };
        let param = ReconfigParam::OutgoingReset {
            req_seq: seq,
            resp_seq: self.rcf.peer_next_req_seq.wrapping_sub(1),
            last_tsn,
            streams,
        };
        self.ctrl.push_back(Chunk::ReConfig(ReConfig { params: vec![param] }));
    }

    pub(crate) fn on_reconfig_timer(&mut self, now: Instant) {
        self.timers.reconfig = None;
        if self.rcf.in_flight.is_some() {
            self.send_reconfig_request();
            self.timers.reconfig = Some(now + self.rto.rto);
        }
    }

    pub(crate) fn on_reconfig(&mut self, now: Instant, r: ReConfig) {
        let mut responses = Vec::new();
        for p in r.params {
            match p {
                ReconfigParam::OutgoingReset { req_seq, last_tsn, streams, .. } => {
                    let result = match self.check_req_seq(req_seq) {
                        Err(r) => r,
                        Ok(()) => self.peer_outgoing_reset(req_seq, last_tsn, streams),
                    };
                    responses.push(ReconfigParam::Response { resp_seq: req_seq, result });
                }
                ReconfigParam::IncomingReset { req_seq, .. }
                | ReconfigParam::SsnTsnReset { req_seq }
                | ReconfigParam::AddStreams { req_seq, .. } => {
                    let result = match self.check_req_seq(req_seq) {
                        Err(r) => r,
                        Ok(()) => {
                            self.rcf.last_response = Some((req_seq, ReconfigResult::Denied));
                            ReconfigResult::Denied
                        }
                    };
                    responses.push(ReconfigParam::Response { resp_seq: req_seq, result });
                }
                ReconfigParam::Response { resp_seq, result } => self.on_reconfig_response(now, resp_seq, result),
            }
        }
        if !responses.is_empty() {
            self.ctrl.push_back(Chunk::ReConfig(ReConfig { params: responses }));
        }
        self.check_deferred_reset(now);
    }

    /// Accepts the expected request sequence number; answers a retransmission with the
    /// last result.
    fn check_req_seq(&mut self, seq: u32) -> Result<(), ReconfigResult> {
        if seq == self.rcf.peer_next_req_seq {
            self.rcf.peer_next_req_seq = seq.wrapping_add(1);
            return Ok(());
        }
        if seq == self.rcf.peer_next_req_seq.wrapping_sub(1) {
            if let Some((s, r)) = self.rcf.last_response {
                if s == seq {
                    return Err(r);
                }
            }
        }
        Err(ReconfigResult::ErrorBadSequenceNumber)
    }

    fn peer_outgoing_reset(&mut self, seq: u32, last_tsn: u32, streams: Vec<u16>) -> ReconfigResult {
        let result = if streams.iter().any(|&s| s >= self.num_inbound) {
            ReconfigResult::Denied
        } else {
            let last = unwrap_tsn(last_tsn, self.rcv.cum);
            let set = StreamSet::from_request(&streams);
            let repeated = self.rcf.performed.as_ref().is_some_and(|(l, done)| *l == last && done.covers(&set));
            if repeated {
                ReconfigResult::SuccessPerformed
            } else if last <= self.rcv.cum && self.rcf.deferred.is_none() {
                self.reset_incoming(&set);
                self.events.push_back(SctpEvent::IncomingStreamsReset { streams });
                ReconfigResult::SuccessPerformed
            } else {
                // Deferred (RFC 6525 5.2.2): perform once everything up to `last` arrived.
                // A newer request joins the waiting one (a "reset all" makes it all).
                let (last, all) = match self.rcf.deferred.take() {
                    Some((_, l, mut waiting)) => {
                        waiting.merge(&set);
                        (l.max(last), waiting)
                    }
                    None => (last, set),
                };
                self.rcf.deferred = Some((seq, last, all));
                ReconfigResult::InProgress
            }
        };
        self.rcf.last_response = Some((seq, result));
        result
    }

    /// Performs a deferred reset once the cumulative TSN reached it, then releases the
    /// chunks that waited for it.
    pub(crate) fn check_deferred_reset(&mut self, _now: Instant) {
        let Some((seq, last, _)) = &self.rcf.deferred else { return };
        if self.rcv.cum < *last {
            return;
        }
        let seq = *seq;
        let Some((_, last, streams)) = self.rcf.deferred.take() else { return };
        self.reset_incoming(&streams);
        let list = streams.to_list();
        self.rcf.performed = Some((last, streams));
        self.events.push_back(SctpEvent::IncomingStreamsReset { streams: list });
        self.rcf.last_response = Some((seq, ReconfigResult::SuccessPerformed));
        let param = ReconfigParam::Response { resp_seq: seq, result: ReconfigResult::SuccessPerformed };
        self.ctrl.push_back(Chunk::ReConfig(ReConfig { params: vec![param] }));
        let held = std::mem::take(&mut self.rcv.deferred);
        for (tsn, d) in held {
            self.rcv.release(d.payload.len(), 1);
            if self.accept_chunk(tsn, d).is_err() {
                return;
            }
        }
    }

    fn on_reconfig_response(&mut self, now: Instant, resp_seq: u32, result: ReconfigResult) {
        let Some((seq, streams, _)) = self.rcf.in_flight.clone() else { return };
        if seq != resp_seq {
            return;
        }
        match result {
            ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {
                for &s in &streams {
                    self.snd.streams.entry(s).or_default().reset_sequence();
                }
                self.finish_request();
                self.events.push_back(SctpEvent::OutgoingStreamsReset { streams });
            }
            ReconfigResult::InProgress => {
                // Ask again later with the same sequence number: the peer answers a repeated
                // request with its current result, "performed" once it is (RFC 6525 5.2.1).
                // It also tells us unasked when it performs a deferred reset.
                self.timers.reconfig = Some(now + self.rto.rto);
            }
            other => {
                for &s in &streams {
                    self.snd.streams.entry(s).or_default().resetting = false;
                }
                self.finish_request();
                self.events
                    .push_back(SctpEvent::StreamResetFailed { streams, reason: format!("peer answered {other:?}") });
            }
        }
        self.maybe_send_reconfig(now);
    }

    fn finish_request(&mut self) {
        self.rcf.in_flight = None;
        self.rcf.next_req_seq = self.rcf.next_req_seq.wrapping_add(1);
        self.timers.reconfig = None;
    }
}
