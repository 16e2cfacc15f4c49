//! The allocation's life: its lifetime and refresh schedule, closing,
//! a broken stream, fatal failure.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Request, TurnClient, TurnError, TurnEvent, TurnState};

/// The allocation once it exists.
#[derive(Debug, Clone, Copy)]
pub(super) struct Allocation {
    pub(super) relayed: SocketAddr,
    pub(super) mapped: Option<SocketAddr>,
    pub(super) expires_at: Instant,
    pub(super) refresh_at: Instant,
}

/// The refresh delay for a granted lifetime: 60 s before expiry, or at half
/// the lifetime when it is 2 minutes or less.
pub(super) fn refresh_delay(lifetime: Duration) -> Duration {
    if lifetime > Duration::from_secs(120) {
        lifetime - Duration::from_secs(60)
    } else {
        lifetime / 2
    }
}

pub(super) fn lifetime_secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

impl TurnClient {
    /// The driver's TCP or TLS connection to the server could not be opened
    /// or broke: the allocation is lost with it ([`TurnEvent::Failed`] with
    /// [`TurnError::Connection`]; [`TurnEvent::Closed`] while closing).
    /// No-op over UDP or once failed or closed.
    pub fn connection_failed(&mut self, reason: &str) {
        match self.state {
            _ if !self.config.transport.is_stream() => {}
            TurnState::Failed | TurnState::Closed => {}
            TurnState::Closing => {
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            TurnState::Allocating | TurnState::Allocated => {
                let error = TurnError::Connection {
                    server: self.config.server,
                    transport: self.config.transport,
                    reason: reason.to_string(),
                };
                self.fail(error);
            }
        }
    }

    /// Sends a Refresh now instead of waiting for the scheduled one (no-op
    /// unless allocated, or when a Refresh is already in flight). Answered by
    /// [`TurnEvent::Refreshed`].
    pub fn refresh_now(&mut self, now: Instant) {
        if self.state == TurnState::Allocated && !self.refresh_in_flight() {
            let lifetime = lifetime_secs(self.config.lifetime);
            self.start_transaction(now, Request::Refresh { lifetime }, false);
        }
    }

    /// Deletes the allocation (Refresh with LIFETIME 0) and forgets permissions
    /// and channels. The client becomes [`TurnState::Closed`] (event
    /// [`TurnEvent::Closed`]) when the server answers or the request times
    /// out. Closing while still allocating closes at once (an allocation the
    /// server made meanwhile expires on its own).
    pub fn close(&mut self, now: Instant) {
        match self.state {
            TurnState::Allocating => {
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            TurnState::Allocated => {
                tracing::debug!(server = %self.config.server, "TURN: deallocating");
                self.transactions.clear();
                self.permissions.clear();
                self.channels.clear();
                self.channel_peers.clear();
                self.retired_channels.clear();
                self.state = TurnState::Closing;
                self.start_transaction(now, Request::Refresh { lifetime: 0 }, false);
            }
            TurnState::Closing | TurnState::Closed | TurnState::Failed => {}
        }
    }

    pub(super) fn clear(&mut self) {
        self.transactions.clear();
        self.allocation = None;
        self.permissions.clear();
        self.channels.clear();
        self.channel_peers.clear();
        self.retired_channels.clear();
    }

    /// Fatal failure: forget everything and report `error`.
    pub(super) fn fail(&mut self, error: TurnError) {
        tracing::warn!(server = %self.config.server, %error, "TURN: allocation failed");
        self.clear();
        self.state = TurnState::Failed;
        self.push_event(TurnEvent::Failed(error));
    }
}
