//! Consent freshness (RFC 7675) and the transport state it drives.

use std::time::{Duration, Instant};

use rand::Rng;
use tracing::debug;

use crate::types::{GatheringState, IceEvent, IceTransportState};

use super::{IceAgent, PairState};

impl IceAgent {
    pub(super) fn consent_jitter(&mut self) -> Duration {
        self.config.consent_interval.mul_f64(self.rng.gen_range(0.8..1.2))
    }

    pub(super) fn send_consent(&mut self, now: Instant) {
        self.next_consent = Some(now + self.consent_jitter());
        if let Some(p) = self.selected {
            if self.consent_deadline().is_some_and(|d| d > now) {
                self.send_check(now, p, false, true);
            }
        }
    }

    pub(super) fn consent_deadline(&self) -> Option<Instant> {
        let last = if self.config.lite { self.last_received } else { self.last_consent };
        last.map(|l| l + self.config.consent_timeout)
    }

    pub(super) fn set_state(&mut self, state: IceTransportState) {
        if self.state != state {
            debug!(?state, "ICE state");
            self.state = state;
            self.events.push_back(IceEvent::StateChanged(state));
        }
    }

    pub(super) fn update_state(&mut self, now: Instant) {
        use IceTransportState as S;
        if matches!(self.state, S::Closed) {
            return;
        }
        if !self.pending_permissions.is_empty() {
            self.flush_permissions(now);
        }
        let state = if self.route.is_some() {
            if self.consent_deadline().is_some_and(|d| now >= d) {
                // RFC 7675: consent expired, stop sending.
                self.route = None;
                self.selected = None;
                self.next_consent = None;
                S::Failed
            } else if self.last_received.is_some_and(|l| now >= l + self.config.disconnected_timeout) {
                S::Disconnected
            } else if self.selected.is_some()
                && self.remote_end_of_candidates
                && self.gathering == GatheringState::Complete
                && !self.pairs.iter().any(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            {
                S::Completed
            } else {
                S::Connected
            }
        } else if self.state == S::Failed {
            S::Failed
        } else if self.pairs.is_empty() {
            if self.remote_end_of_candidates && self.remote_key.is_some() && self.gathering == GatheringState::Complete
            {
                S::Failed
            } else if self.state == S::New {
                S::New
            } else {
                S::Checking
            }
        } else if self.pairs.iter().all(|p| p.state == PairState::Failed)
            && self.remote_end_of_candidates
            && self.gathering == GatheringState::Complete
        {
            S::Failed
        } else {
            S::Checking
        };
        self.set_state(state);
    }
}
