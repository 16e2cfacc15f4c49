//! Gathering: host, server-reflexive and relayed candidates (RFC 8445
//! section 5.1), STUN server queries and TURN allocations.

use std::net::SocketAddr;
use std::time::Instant;

use rand::Rng;
use stun::{Attribute, Class, Message, Method, RetransmitTimer, TimerAction, TransactionId};

use crate::candidate::{Candidate, CandidateKind};
use crate::config::{TransportPolicy, TurnTransport};
use crate::turn::{TurnError, TurnEvent};
use crate::types::{GatheringState, IceEvent, IceTransportState};
use crate::Transmit;

use super::{IceAgent, Local, ServerQuery};

impl IceAgent {
    pub(super) fn on_query_response(&mut self, now: Instant, q: usize, msg: &Message<'_>) {
        let query = self.queries.swap_remove(q);
        if msg.class == Class::Success {
            let mapped = msg.find(|a| match a {
                Attribute::XorMappedAddress(m) | Attribute::MappedAddress(m) => Some(*m),
                _ => None,
            });
            if let Some(mapped) = mapped {
                self.add_server_reflexive(now, mapped, query.base, query.server);
            }
        } else {
            let (code, reason) = msg.error_code().unwrap_or((0, ""));
            self.events.push_back(IceEvent::ServerError {
                server: query.server,
                code,
                text: format!("STUN server {} answered the binding request with error {code} {reason}", query.server),
            });
        }
        self.check_gathering_complete();
    }

    pub(super) fn add_server_reflexive(
        &mut self,
        now: Instant,
        mapped: SocketAddr,
        base: SocketAddr,
        server: SocketAddr,
    ) {
        if self.config.policy != TransportPolicy::All {
            return;
        }
        let existing = self.locals.iter().position(|l| l.cand.address == mapped);
        if existing.is_some_and(|i| self.locals[i].cand.kind != CandidateKind::PeerReflexive) {
            return;
        }
        let Some(host) = self.locals.iter().find(|l| l.base == base && l.cand.kind == CandidateKind::Host) else {
            return;
        };
        let pref = (host.cand.priority >> 8) as u16;
        let cand = Candidate::from_server(CandidateKind::ServerReflexive, mapped, base, server, pref);
        match existing {
            // A check taught us this address first; the server confirms it,
            // and now it is worth signalling.
            Some(i) => {
                self.locals[i].cand = cand.clone();
                self.events.push_back(IceEvent::LocalCandidate(cand));
            }
            None => self.push_local(now, Local { cand, base, relay: None, pairable: false }),
        }
    }

    pub(super) fn signalled(&self, l: &Local) -> bool {
        match l.cand.kind {
            CandidateKind::PeerReflexive => false,
            CandidateKind::Relayed => true,
            _ => self.config.policy == TransportPolicy::All,
        }
    }

    pub(super) fn push_local(&mut self, now: Instant, local: Local) {
        let signalled = self.signalled(&local);
        let cand = local.cand.clone();
        let pairable = local.pairable;
        self.locals.push(local);
        if signalled {
            self.events.push_back(IceEvent::LocalCandidate(cand));
        }
        if pairable {
            let li = self.locals.len() - 1;
            for ri in 0..self.remotes.len() {
                self.find_or_add_pair(li, ri);
            }
            self.schedule_pace(now);
        }
    }

    pub(super) fn start_query(&mut self, now: Instant, base: SocketAddr, server: SocketAddr) {
        let tid = TransactionId(self.rng.gen());
        let mut msg = Message::new(Class::Request, Method::BINDING, tid);
        if let Some(s) = &self.config.software {
            msg = msg.with(Attribute::Software(s));
        }
        let wire = msg.to_bytes(None, true);
        self.transmits.push_back(Transmit {
            from: base,
            to: server,
            data: wire.clone(),
            transport: TurnTransport::Udp,
        });
        let timer = RetransmitTimer::start(now, self.config.server_retransmit);
        self.queries.push(ServerQuery { tid, server, base, timer, wire });
    }

    pub(super) fn query_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.queries.len() {
            match self.queries[i].timer.on_timeout(now) {
                TimerAction::Wait => i += 1,
                TimerAction::Retransmit => {
                    let q = &self.queries[i];
                    self.transmits.push_back(Transmit {
                        from: q.base,
                        to: q.server,
                        data: q.wire.clone(),
                        transport: TurnTransport::Udp,
                    });
                    i += 1;
                }
                TimerAction::TimedOut => {
                    let q = self.queries.swap_remove(i);
                    self.events.push_back(IceEvent::ServerError {
                        server: q.server,
                        code: 701,
                        text: format!("STUN server {} did not answer; check the address or remove it", q.server),
                    });
                    self.check_gathering_complete();
                }
            }
        }
    }

    pub(super) fn drain_relay(&mut self, now: Instant, r: usize) {
        while let Some(t) = self.relays[r].client.poll_transmit(now) {
            self.transmits.push_back(t);
        }
        while let Some(ev) = self.relays[r].client.poll_event() {
            match ev {
                TurnEvent::Allocated { relayed, mapped } => {
                    let host = self.relays[r].host;
                    let server = self.relays[r].client.server();
                    let stream = self.relays[r].client.transport().is_stream();
                    let pref = self
                        .locals
                        .iter()
                        .find(|l| {
                            l.cand.kind == CandidateKind::Host
                                && if stream { l.base.ip() == host.ip() } else { l.base == host }
                        })
                        .map(|l| (l.cand.priority >> 8) as u16)
                        .unwrap_or(65535);
                    self.relays[r].done = true;
                    if self.state != IceTransportState::Closed {
                        let related = mapped.unwrap_or(host);
                        let cand = Candidate::from_server(CandidateKind::Relayed, relayed, related, server, pref);
                        self.relays[r].local = Some(self.locals.len());
                        self.push_local(now, Local { cand, base: relayed, relay: Some(r), pairable: true });
                        // A TCP mapping says nothing about the UDP socket.
                        if let (Some(m), false) = (mapped, stream) {
                            self.add_server_reflexive(now, m, host, server);
                        }
                    }
                    self.check_gathering_complete();
                }
                TurnEvent::Failed(e) => {
                    let server = self.relays[r].client.server();
                    if !self.relays[r].done {
                        self.relays[r].done = true;
                        self.check_gathering_complete();
                    }
                    self.events.push_back(IceEvent::ServerError {
                        server,
                        code: turn_error_code(&e),
                        text: e.to_string(),
                    });
                }
                TurnEvent::PermissionCreated(ip) => {
                    let li = self.relays[r].local;
                    let mut any = false;
                    for p in &mut self.pairs {
                        if Some(p.local) == li && self.remotes[p.remote].address.ip() == ip {
                            p.awaiting_permission = false;
                            any = true;
                        }
                    }
                    if any {
                        self.schedule_pace(now);
                    }
                }
                TurnEvent::PermissionFailed { peer, .. } => {
                    // The server refuses this peer: its relayed pairs can never work.
                    let li = self.relays[r].local;
                    for i in 0..self.pairs.len() {
                        let p = &self.pairs[i];
                        if Some(p.local) == li && self.remotes[p.remote].address.ip() == peer {
                            self.fail_pair(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn check_gathering_complete(&mut self) {
        if self.gathering == GatheringState::Gathering && self.queries.is_empty() && self.relays.iter().all(|r| r.done)
        {
            self.gathering = GatheringState::Complete;
            self.events.push_back(IceEvent::GatheringComplete);
        }
    }
}

/// The W3C `icecandidateerror` code of a TURN failure: the STUN error code,
/// or 701 when the server could not be reached.
fn turn_error_code(e: &TurnError) -> u16 {
    match e {
        TurnError::Unauthorized { .. } => 401,
        TurnError::ServerError { code, .. } => *code,
        TurnError::AllocationMismatch { .. } => 437,
        _ => 701,
    }
}
