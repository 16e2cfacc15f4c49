//! Receiving: datagrams and TURN stream frames, connectivity-check requests
//! and responses (RFC 8445 sections 7.2 and 7.3).

use std::net::SocketAddr;
use std::time::Instant;

use stun::{Attribute, Class, Message, Method};
use tracing::{debug, trace};

use crate::candidate::{priority, Candidate, CandidateKind};
use crate::config::TurnTransport;
use crate::types::{IceTransportState, Received};

use super::{IceAgent, Local, PairState};

impl IceAgent {
    pub(super) fn stream_relay(&self, server: SocketAddr, transport: TurnTransport) -> Option<usize> {
        if !transport.is_stream() {
            return None;
        }
        self.relays.iter().position(|r| r.client.server() == server && r.client.transport() == transport)
    }

    /// A datagram or stream frame from relay `r`'s TURN server.
    pub(super) fn receive_relayed<'a>(&mut self, now: Instant, r: usize, data: &'a [u8]) -> Received<'a> {
        let inner = self.relays[r].client.handle_receive(now, data);
        self.drain_relay(now, r);
        if self.state == IceTransportState::Closed {
            return Received::Handled;
        }
        let out = match (inner, self.relays[r].local) {
            (Some((peer, payload)), Some(li)) => self.receive_on(now, li, peer, payload),
            (Some(_), None) => {
                self.stats.dropped_unknown_source += 1;
                Received::Dropped
            }
            (None, _) => Received::Handled,
        };
        self.update_state(now);
        out
    }

    pub(super) fn receive_on<'a>(
        &mut self,
        now: Instant,
        li: usize,
        source: SocketAddr,
        data: &'a [u8],
    ) -> Received<'a> {
        if !stun::is_stun(data) {
            // A first byte of 0 to 3 is STUN (RFC 7983), never DTLS or SRTP,
            // and an empty datagram is nothing: neither is application data.
            if data.first().copied().unwrap_or(0) < 4 {
                self.stats.dropped_malformed += 1;
                return Received::Dropped;
            }
            if self.is_known_path(li, source) {
                self.last_received = Some(now);
                self.stats.bytes_received += data.len() as u64;
                return Received::Data(data);
            }
            self.stats.dropped_unknown_source += 1;
            return Received::Dropped;
        }
        let msg = match Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                trace!(%source, error = %e, "dropping malformed STUN");
                self.stats.dropped_malformed += 1;
                return Received::Dropped;
            }
        };
        match (msg.class, msg.method) {
            (Class::Request, Method::BINDING) => self.on_request(now, li, source, &msg, data),
            (Class::Success | Class::Error, Method::BINDING) => self.on_response(now, source, &msg, data),
            (Class::Indication, Method::BINDING) => {
                // A keepalive (RFC 8445 section 11).
                if self.is_known_path(li, source) {
                    self.last_received = Some(now);
                }
                Received::Handled
            }
            _ => {
                self.stats.dropped_malformed += 1;
                Received::Dropped
            }
        }
    }

    pub(super) fn is_known_path(&self, li: usize, source: SocketAddr) -> bool {
        if let Some(route) = &self.route {
            let l = &self.locals[li];
            if route.remote == source && route.base == l.base && route.relay == l.relay {
                return true;
            }
        }
        self.remotes.iter().any(|r| r.address == source)
    }

    pub(super) fn on_request(
        &mut self,
        now: Instant,
        li: usize,
        source: SocketAddr,
        msg: &Message<'_>,
        raw: &[u8],
    ) -> Received<'static> {
        let Some(username) = msg.find(|a| match a {
            Attribute::Username(u) => Some(*u),
            _ => None,
        }) else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        let ours = username.split(':').next().unwrap_or("");
        let (key, current) = if ours == self.local_creds.ufrag {
            (self.local_key.clone(), true)
        } else if let Some((old, old_key)) = self.previous_local.as_ref().filter(|(c, _)| c.ufrag == ours) {
            let _ = old;
            (old_key.clone(), false)
        } else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        if msg.verify_integrity(raw, &key).is_err() {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        }
        // Only after authentication (RFC 8489 section 6.3): a 420 to anyone
        // would let strangers reflect traffic off us to spoofed addresses.
        if !msg.unknown_required().is_empty() {
            let resp = msg.error_response(420, "Unknown Attribute").to_bytes(Some(&key), true);
            self.send_on(li, source, &resp);
            return Received::Handled;
        }
        self.stats.checks_received += 1;
        self.last_received = Some(now);

        // Role conflict (RFC 8445 section 7.3.1.1).
        let theirs_controlling = msg.find(|a| match a {
            Attribute::IceControlling(t) => Some(*t),
            _ => None,
        });
        let theirs_controlled = msg.find(|a| match a {
            Attribute::IceControlled(t) => Some(*t),
            _ => None,
        });
        if current && !self.config.lite {
            if let (true, Some(t)) = (self.controlling, theirs_controlling) {
                if self.tie_breaker >= t {
                    let resp = msg.error_response(487, "Role Conflict").to_bytes(Some(&key), true);
                    self.send_on(li, source, &resp);
                    return Received::Handled;
                }
                self.set_role(false);
            } else if let (false, Some(t)) = (self.controlling, theirs_controlled) {
                if self.tie_breaker >= t {
                    self.set_role(true);
                } else {
                    let resp = msg.error_response(487, "Role Conflict").to_bytes(Some(&key), true);
                    self.send_on(li, source, &resp);
                    return Received::Handled;
                }
            }
        }

        let resp = msg.success_response().with(Attribute::XorMappedAddress(source)).to_bytes(Some(&key), true);
        self.send_on(li, source, &resp);
        if !current {
            return Received::Handled;
        }

        // Remote candidate: known, or peer-reflexive (RFC 8445 section 7.3.1.3).
        let ri = match self.remotes.iter().position(|r| r.address == source) {
            Some(ri) => ri,
            None => {
                let prio = msg
                    .find(|a| match a {
                        Attribute::Priority(p) => Some(*p),
                        _ => None,
                    })
                    .unwrap_or(0);
                let Some(ri) = self.admit_remote(Candidate::peer_reflexive(source, prio, source)) else {
                    return Received::Handled;
                };
                debug!(%source, "learned a peer-reflexive remote candidate");
                ri
            }
        };
        let li = self.pair_local(li);
        let Some(p) = self.find_or_add_pair(li, ri) else {
            return Received::Handled;
        };
        let use_candidate = msg.attributes.contains(&Attribute::UseCandidate);
        if use_candidate && !self.controlling {
            self.pairs[p].peer_nominated = true;
        }
        if self.config.lite {
            // A lite agent never checks: a check it answered makes the pair valid.
            self.pairs[p].state = PairState::Succeeded;
            if self.pairs[p].peer_nominated {
                self.select(now, p);
            }
            return Received::Handled;
        }
        match self.pairs[p].state {
            PairState::Succeeded => {
                if self.pairs[p].peer_nominated {
                    self.select(now, p);
                }
            }
            PairState::InProgress => {}
            PairState::Waiting | PairState::Failed => {
                self.pairs[p].state = PairState::Waiting;
                if !self.triggered.contains(&p) {
                    self.triggered.push_back(p);
                }
                self.schedule_pace(now);
            }
        }
        Received::Handled
    }

    pub(super) fn on_response(
        &mut self,
        now: Instant,
        source: SocketAddr,
        msg: &Message<'_>,
        raw: &[u8],
    ) -> Received<'static> {
        let Some(ci) = self.checks.iter().position(|c| c.tid == msg.transaction_id) else {
            self.stats.dropped_unknown_transaction += 1;
            return Received::Dropped;
        };
        let Some(key) = &self.remote_key else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        if msg.verify_integrity(raw, key).is_err() {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        }
        let check = self.checks.swap_remove(ci);
        let p = check.pair;
        self.last_received = Some(now);
        if msg.class == Class::Error {
            let code = msg.error_code().map(|(c, _)| c).unwrap_or(0);
            if code == 487 && !check.consent {
                self.set_role(!self.controlling);
                self.pairs[p].state = PairState::Waiting;
                self.pairs[p].nominate_next = check.nominate && self.controlling;
                self.triggered.push_back(p);
                self.schedule_pace(now);
            } else if !check.consent {
                debug!(code, "connectivity check answered with an error");
                self.fail_pair(p);
            }
            return Received::Handled;
        }
        let remote = self.remotes[self.pairs[p].remote].address;
        if source != remote {
            // Not symmetric (RFC 8445 section 7.2.5.2.1).
            if !check.consent {
                self.fail_pair(p);
            }
            return Received::Handled;
        }
        self.stats.responses_received += 1;
        let rtt = now.saturating_duration_since(check.sent_at);
        if check.consent || Some(p) == self.selected {
            self.last_consent = Some(now);
            self.stats.rtt = Some(rtt);
        }
        if check.consent {
            return Received::Handled;
        }
        if let Some(mapped) = msg.find(|a| match a {
            Attribute::XorMappedAddress(m) => Some(*m),
            _ => None,
        }) {
            self.learn_local_reflexive(p, mapped);
        }
        self.pairs[p].state = PairState::Succeeded;
        self.first_valid_at.get_or_insert(now);
        if check.nominate {
            self.pairs[p].nominated = true;
            if self.nominating == Some(p) {
                self.nominating = None;
            }
            self.select(now, p);
        } else if !self.controlling && self.pairs[p].peer_nominated {
            self.select(now, p);
        }
        if self.selected == Some(p) {
            self.stats.rtt = Some(rtt);
        }
        self.maybe_nominate(now);
        Received::Handled
    }

    pub(super) fn learn_local_reflexive(&mut self, p: usize, mapped: SocketAddr) {
        let li = self.pairs[p].local;
        if self.locals[li].relay.is_some() || self.locals.iter().any(|l| l.cand.address == mapped) {
            return;
        }
        let base = self.locals[li].base;
        let prio = priority(CandidateKind::PeerReflexive, (self.locals[li].cand.priority >> 8) as u16, 1);
        self.locals.push(Local {
            cand: Candidate::peer_reflexive(mapped, prio, base),
            base,
            relay: None,
            pairable: false,
        });
    }
}
