//! The check list: pairs, pacing, connectivity checks, nomination and
//! selection (RFC 8445 sections 6.1.2, 6.1.4, 7.2 and 8).

use std::net::IpAddr;
use std::time::Instant;

use rand::Rng;
use stun::{Attribute, Class, Message, Method, RetransmitConfig, RetransmitTimer, TimerAction, TransactionId};
use tracing::{debug, trace};

use crate::candidate::{pair_priority, priority, CandidateKind};
use crate::types::IceEvent;

use super::{Check, IceAgent, Pair, PairState, Route};

impl IceAgent {
    /// Reflexive locals share the pairs of their base's host candidate.
    pub(super) fn pair_local(&self, li: usize) -> usize {
        if self.locals[li].pairable || self.locals[li].relay.is_some() {
            return li;
        }
        let base = self.locals[li].base;
        self.locals.iter().position(|l| l.base == base && l.cand.kind == CandidateKind::Host).unwrap_or(li)
    }

    pub(super) fn pair_remote(&mut self, now: Instant, ri: usize) {
        for li in 0..self.locals.len() {
            if self.locals[li].pairable {
                self.find_or_add_pair(li, ri);
            }
        }
        self.schedule_pace(now);
    }

    pub(super) fn find_or_add_pair(&mut self, li: usize, ri: usize) -> Option<usize> {
        if let Some(p) = self.pairs.iter().position(|p| p.local == li && p.remote == ri) {
            return Some(p);
        }
        let (l, r) = (&self.locals[li], &self.remotes[ri]);
        if l.cand.address.is_ipv4() != r.address.is_ipv4() {
            return None;
        }
        if self.pairs.len() >= self.config.max_pairs {
            self.stats.dropped_over_limit += 1;
            return None;
        }
        let priority = self.pair_priority_of(l.cand.priority, r.priority);
        let awaiting_permission = l.relay.is_some();
        self.pairs.push(Pair::new(li, ri, priority, awaiting_permission));
        if let Some(rl) = l.relay {
            let ip = r.address.ip();
            self.request_permission(rl, ip);
        }
        Some(self.pairs.len() - 1)
    }

    pub(super) fn request_permission(&mut self, r: usize, ip: IpAddr) {
        // Time only matters to the client for its own timers; the agent
        // passes the latest instant it knows through `drain_relay` calls.
        if self.relays[r].client.has_permission(ip) {
            for p in &mut self.pairs {
                if self.locals[p.local].relay == Some(r) && self.remotes[p.remote].address.ip() == ip {
                    p.awaiting_permission = false;
                }
            }
        } else {
            self.pending_permissions.push((r, ip));
        }
    }

    pub(super) fn pair_priority_of(&self, local: u32, remote: u32) -> u64 {
        if self.controlling {
            pair_priority(local, remote)
        } else {
            pair_priority(remote, local)
        }
    }

    pub(super) fn set_role(&mut self, controlling: bool) {
        if self.controlling == controlling {
            return;
        }
        debug!(controlling, "ICE role switched");
        self.controlling = controlling;
        for i in 0..self.pairs.len() {
            let (l, r) = (self.pairs[i].local, self.pairs[i].remote);
            self.pairs[i].priority = self.pair_priority_of(self.locals[l].cand.priority, self.remotes[r].priority);
        }
        self.events.push_back(IceEvent::RoleChanged(controlling));
    }

    pub(super) fn fail_pair(&mut self, p: usize) {
        self.pairs[p].state = PairState::Failed;
        if self.nominating == Some(p) {
            self.nominating = None;
        }
    }

    pub(super) fn schedule_pace(&mut self, now: Instant) {
        if self.next_pace.is_none() && self.remote_key.is_some() && !self.config.lite {
            let at = self.last_check_at.map_or(now, |t| (t + self.config.ta).max(now));
            self.next_pace = Some(at);
        }
    }

    /// Sends one check: a triggered one first, else the best waiting pair.
    pub(super) fn pace(&mut self, now: Instant) {
        if self.remote_key.is_none() || self.config.lite {
            return;
        }
        self.flush_permissions(now);
        let next = loop {
            match self.triggered.pop_front() {
                Some(p) if self.pairs[p].awaiting_permission => continue,
                Some(p) if self.pairs[p].state == PairState::Waiting || self.pairs[p].nominate_next => break Some(p),
                Some(_) => continue,
                None => {
                    break self
                        .pairs
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.state == PairState::Waiting && !p.awaiting_permission)
                        .max_by_key(|(_, p)| p.priority)
                        .map(|(i, _)| i)
                }
            }
        };
        let Some(p) = next else {
            return;
        };
        let nominate = std::mem::take(&mut self.pairs[p].nominate_next);
        self.send_check(now, p, nominate, false);
        self.last_check_at = Some(now);
        if !self.triggered.is_empty()
            || self.pairs.iter().any(|p| p.state == PairState::Waiting && !p.awaiting_permission)
        {
            self.next_pace = Some(now + self.config.ta);
        }
    }

    pub(super) fn send_check(&mut self, now: Instant, p: usize, nominate: bool, consent: bool) {
        let (Some(remote), Some(key)) = (&self.remote_creds, &self.remote_key) else {
            return;
        };
        let pair = &self.pairs[p];
        let local = &self.locals[pair.local];
        let remote_addr = self.remotes[pair.remote].address;
        let username = format!("{}:{}", remote.ufrag, self.local_creds.ufrag);
        let prflx_priority = priority(CandidateKind::PeerReflexive, (local.cand.priority >> 8) as u16, 1);
        let tid = TransactionId(self.rng.gen());
        let mut msg = Message::new(Class::Request, Method::BINDING, tid)
            .with(Attribute::Username(&username))
            .with(Attribute::Priority(prflx_priority));
        msg = msg.with(if self.controlling {
            Attribute::IceControlling(self.tie_breaker)
        } else {
            Attribute::IceControlled(self.tie_breaker)
        });
        if nominate {
            msg = msg.with(Attribute::UseCandidate);
        }
        let wire = msg.to_bytes(Some(key), true);
        let (base, relay) = (local.base, local.relay);
        let config = if consent {
            RetransmitConfig {
                initial_rto: self.config.disconnected_timeout,
                max_sends: 1,
                last_wait_factor: 1,
                max_interval: None,
            }
        } else {
            self.config.check_retransmit
        };
        let timer = RetransmitTimer::start(now, config);
        if let Some(t) = self.transmit_via(base, relay, remote_addr, &wire) {
            self.transmits.push_back(t);
        }
        if !consent {
            self.pairs[p].state = PairState::InProgress;
            self.stats.checks_sent += 1;
        }
        trace!(pair = p, nominate, consent, to = %remote_addr, "check sent");
        self.checks.push(Check { tid, pair: p, timer, wire, nominate, consent, sent_at: now });
    }

    pub(super) fn check_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.checks.len() {
            match self.checks[i].timer.on_timeout(now) {
                TimerAction::Wait => i += 1,
                TimerAction::Retransmit => {
                    let c = &self.checks[i];
                    let pair = &self.pairs[c.pair];
                    let local = &self.locals[pair.local];
                    let to = self.remotes[pair.remote].address;
                    let (base, relay, wire) = (local.base, local.relay, c.wire.clone());
                    if let Some(t) = self.transmit_via(base, relay, to, &wire) {
                        self.transmits.push_back(t);
                    }
                    self.stats.check_retransmits += 1;
                    i += 1;
                }
                TimerAction::TimedOut => {
                    let c = self.checks.swap_remove(i);
                    if !c.consent && self.pairs[c.pair].state == PairState::InProgress {
                        self.fail_pair(c.pair);
                    }
                }
            }
        }
    }

    /// Regular nomination by the controlling agent (RFC 8445 section 8.1.1):
    /// the best valid pair once no better pair can still succeed, or after
    /// `nomination_wait`.
    pub(super) fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || self.config.lite || self.nominating.is_some() || self.pairs.iter().any(|p| p.nominated)
        {
            return;
        }
        let Some(best) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
        else {
            return;
        };
        let best_prio = self.pairs[best].priority;
        let better_pending = self
            .pairs
            .iter()
            .any(|p| p.priority > best_prio && matches!(p.state, PairState::Waiting | PairState::InProgress));
        let waited = self.first_valid_at.is_some_and(|f| now >= f + self.config.nomination_wait);
        if better_pending && !waited {
            return;
        }
        debug!(pair = best, "nominating");
        self.nominating = Some(best);
        self.pairs[best].nominate_next = true;
        self.triggered.push_front(best);
        // The nominating check goes out at once rather than a pacing
        // interval later: it is one request, and set-up time waits on it.
        if !self.config.lite && self.remote_key.is_some() {
            self.next_pace = Some(self.next_pace.map_or(now, |t| t.min(now)));
        }
    }

    pub(super) fn select(&mut self, now: Instant, p: usize) {
        if self.selected == Some(p) {
            return;
        }
        if let Some(cur) = self.selected {
            if self.pairs[cur].priority > self.pairs[p].priority {
                return;
            }
        }
        self.selected = Some(p);
        let pair = &self.pairs[p];
        let local = &self.locals[pair.local];
        let remote = &self.remotes[pair.remote];
        self.route = Some(Route { base: local.base, remote: remote.address, relay: local.relay });
        debug!(local = %local.cand.address, remote = %remote.address, "selected pair");
        self.events.push_back(IceEvent::SelectedPairChanged { local: local.cand.clone(), remote: remote.clone() });
        if let Some(r) = local.relay {
            let peer = remote.address;
            self.relays[r].client.bind_channel(now, peer);
            self.drain_relay(now, r);
        }
        self.previous_local = None;
        self.last_consent = Some(now);
        self.last_received = Some(now);
        if !self.config.lite {
            self.next_consent = Some(now + self.consent_jitter());
        }
        self.update_state(now);
    }

    pub(super) fn reset_checks(&mut self) {
        self.remotes.clear();
        self.pairs.clear();
        self.checks.clear();
        self.triggered.clear();
        self.selected = None;
        self.nominating = None;
        self.first_valid_at = None;
        self.next_pace = None;
        self.remote_end_of_candidates = false;
        self.pending_permissions.clear();
    }

    pub(super) fn flush_permissions(&mut self, now: Instant) {
        for (r, ip) in std::mem::take(&mut self.pending_permissions) {
            self.relays[r].client.create_permission(now, ip);
            self.drain_relay(now, r);
        }
    }
}
