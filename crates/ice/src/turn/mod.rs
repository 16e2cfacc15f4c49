//! # TURN client (RFC 8656), sans-IO
//!
//! TURN lets a host that cannot be reached directly borrow an address on a
//! relay server. [`TurnClient`] runs the client side of **one allocation on
//! one server over UDP, TCP or TLS** ([`TurnConfig::transport`]; the
//! relayed address is UDP in every case):
//!
//! 1. **Allocate** goes out without credentials; the server answers 401 with
//!    a REALM and a NONCE. The client derives the long-term key
//!    `MD5(username:realm:password)` once and sends Allocate again with
//!    USERNAME, REALM, NONCE and MESSAGE-INTEGRITY. The success response
//!    carries the relayed address (XOR-RELAYED-ADDRESS), the address the
//!    server saw us at (XOR-MAPPED-ADDRESS) and the granted LIFETIME.
//! 2. **CreatePermission** per peer IP: the server drops anything from an IP
//!    without one. Permissions last 300 s; the client refreshes them at 240 s
//!    while they carry traffic.
//! 3. Data moves in **Send** / **Data** indications (about 36 bytes of
//!    overhead), or, after a **ChannelBind** (which also installs the
//!    permission), in **ChannelData** messages behind a 4-byte header.
//!    Channels last 600 s and are re-bound at 540 s while in use.
//! 4. **Refresh** keeps the allocation alive (sent 60 s before it expires, or
//!    at half its lifetime when that is short); Refresh with LIFETIME 0
//!    ([`TurnClient::close`]) deletes it.
//!
//! Over a stream (TCP, TLS) the client hands out complete frames (STUN
//! messages, ChannelData padded to 4 bytes) for the driver to write, expects
//! one complete frame per [`TurnClient::handle_receive`] (split the byte
//! stream with [`stun::frame_len`]), and never retransmits: each request is
//! sent once and times out after [`STREAM_RETRANSMIT`]'s 39.5 s (RFC 8489
//! section 6.2.2). When the connection breaks, tell the client with
//! [`TurnClient::connection_failed`].
//!
//! Every authenticated response must carry a valid MESSAGE-INTEGRITY (only
//! 401 and 438 errors may come unsigned). A 438 (Stale Nonce) answer to any
//! request carries a fresh NONCE: that request is sent again once with it.
//!
//! ## Contract
//!
//! The client never reads a clock, opens a socket or spawns anything: time
//! is the `now` argument, randomness (transaction ids) comes from a
//! [`SmallRng`] seeded by the caller. After every call that takes input
//! ([`TurnClient::new`], [`handle_receive`](TurnClient::handle_receive),
//! [`handle_timeout`](TurnClient::handle_timeout),
//! [`create_permission`](TurnClient::create_permission),
//! [`bind_channel`](TurnClient::bind_channel),
//! [`refresh_now`](TurnClient::refresh_now), [`close`](TurnClient::close)),
//! drain [`poll_transmit`](TurnClient::poll_transmit) and
//! [`poll_event`](TurnClient::poll_event), then call `handle_timeout` at
//! [`poll_timeout`](TurnClient::poll_timeout). Output queues are bounded
//! (overflow is counted in [`TurnStats`]), so a caller that never drains
//! loses output rather than growing memory.
//!
//! ## Errors: fatal and noise
//!
//! [`TurnEvent::Failed`] is fatal: the allocation is gone and the client
//! stays [`TurnState::Failed`]; make a new one to retry.
//! [`TurnEvent::PermissionFailed`] and [`TurnEvent::ChannelBindFailed`]
//! concern one peer only. Anything the network sends that does not fit
//! (garbage, malformed STUN, responses to unknown transactions, responses
//! failing MESSAGE-INTEGRITY, ChannelData on unknown channels) is noise:
//! dropped and counted in [`TurnClient::stats`], never a panic.
//!
//! ## The code
//!
//! This file holds the client, its queues and timers; `config` and `events`
//! its public types; `transaction` the requests and their answers (with the
//! 401/438 credential dance); `allocation` the allocation's lifetime and
//! closing; `permissions` permissions, channels and their upkeep; `data`
//! application data in and out (Send/Data indications, ChannelData).

mod allocation;
mod config;
mod data;
mod events;
mod permissions;
#[cfg(test)]
mod tests;
mod transaction;

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::SeedableRng;
use stun::{RetransmitConfig, TimerAction, MIN_CHANNEL};

use crate::{Transmit, TurnTransport};

use allocation::{lifetime_secs, refresh_delay, Allocation};
pub use config::TurnConfig;
pub use events::{TurnError, TurnEvent, TurnState, TurnStats};
use permissions::{Channel, Permission};
use transaction::{Auth, Request, Transaction};

/// How long a permission lasts on the server (RFC 8656 section 9).
pub const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// When a permission in use is refreshed, counted from its installation.
pub const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// How long a channel binding lasts on the server (RFC 8656 section 12).
pub const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// When a channel in use is re-bound, counted from its binding.
pub const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// How long a channel number stays unused after its binding expired, so the
/// server never sees it re-bound to another peer too early (RFC 8656 section 12).
pub const CHANNEL_COOLDOWN: Duration = Duration::from_secs(300);
/// The most peer IPs with a permission (installed or being installed).
pub const MAX_PERMISSIONS: usize = 256;
/// The most channels (bound or being bound).
pub const MAX_CHANNELS: usize = 256;
/// The largest payload [`TurnClient::send_to`] wraps (a TURN message over
/// UDP must fit a 16-bit length).
pub const MAX_PAYLOAD: usize = 65_000;
/// The allocation lifetime requested by default (RFC 8656 default).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(600);

/// The transaction timer of every request over TCP or TLS: sent once, given
/// up after 39.5 s (RFC 8489 section 6.2.2). Replaces
/// [`TurnConfig::retransmit`] on streams.
pub const STREAM_RETRANSMIT: RetransmitConfig = RetransmitConfig {
    initial_rto: Duration::from_millis(500),
    max_sends: 1,
    last_wait_factor: 79,
    max_interval: None,
};

/// Queued datagrams beyond this are dropped (and counted).
const MAX_QUEUED_TRANSMITS: usize = 1024;
/// Queued events beyond this are dropped (and counted).
const MAX_QUEUED_EVENTS: usize = 1024;
/// Shortest lifetime the client plans with, so that a server granting 0 s
/// cannot make it refresh in a tight loop.
const MIN_LIFETIME: Duration = Duration::from_secs(2);
/// Longest lifetime the client plans with, whatever the server grants, so
/// that instants stay far from overflow.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A sans-IO TURN client for one allocation on one server over UDP. See the
/// [module documentation](self) for the flow and the calling contract.
pub struct TurnClient {
    config: TurnConfig,
    rng: SmallRng,
    state: TurnState,
    auth: Option<Auth>,
    allocation: Option<Allocation>,
    transactions: Vec<Transaction>,
    permissions: BTreeMap<IpAddr, Permission>,
    channels: BTreeMap<SocketAddr, Channel>,
    /// Channel number to peer, for every channel in `channels`.
    channel_peers: BTreeMap<u16, SocketAddr>,
    /// Channel numbers in their cooldown after expiry, and when it ends.
    retired_channels: BTreeMap<u16, Instant>,
    next_channel: u16,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TurnEvent>,
    stats: TurnStats,
}

impl std::fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnClient")
            .field("server", &self.config.server)
            .field("state", &self.state)
            .field("allocation", &self.allocation)
            .field("permissions", &self.permissions.len())
            .field("channels", &self.channels.len())
            .field("transactions", &self.transactions.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TurnClient {
    /// A client for the allocation described by `config`; the first
    /// (unauthenticated) Allocate is queued at once. `seed` seeds the
    /// transaction-id generator: use a fresh random value per client in
    /// production, a fixed one in tests.
    pub fn new(now: Instant, config: TurnConfig, seed: u64) -> Self {
        let mut client = TurnClient {
            config,
            rng: SmallRng::seed_from_u64(seed),
            state: TurnState::Allocating,
            auth: None,
            allocation: None,
            transactions: Vec::new(),
            permissions: BTreeMap::new(),
            channels: BTreeMap::new(),
            channel_peers: BTreeMap::new(),
            retired_channels: BTreeMap::new(),
            next_channel: MIN_CHANNEL,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TurnStats::default(),
        };
        tracing::debug!(server = %client.config.server, user = %client.config.username, "TURN: allocating");
        client.start_transaction(now, Request::Allocate, false);
        client
    }

    /// The TURN server this client talks to.
    pub fn server(&self) -> SocketAddr {
        self.config.server
    }

    /// How the client reaches its server (`config.transport`).
    pub fn transport(&self) -> TurnTransport {
        self.config.transport
    }

    /// The local socket address the client sends from (`config.local`).
    pub fn local(&self) -> SocketAddr {
        self.config.local
    }

    /// Where the allocation stands.
    pub fn state(&self) -> TurnState {
        self.state
    }

    /// The relayed address, while the allocation exists.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        self.allocation.map(|a| a.relayed)
    }

    /// The address the server saw this client at (XOR-MAPPED-ADDRESS), while
    /// the allocation exists.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.allocation.and_then(|a| a.mapped)
    }

    /// Counters of dropped input and refused sends.
    pub fn stats(&self) -> TurnStats {
        self.stats
    }

    /// Whether a permission for `peer` is installed on the server, so that
    /// [`send_to`](Self::send_to) works and the server relays its traffic.
    pub fn has_permission(&self, peer: IpAddr) -> bool {
        self.permissions.get(&peer).is_some_and(|p| p.installed_until.is_some())
    }

    /// The channel bound to `peer`, if any.
    pub fn channel(&self, peer: SocketAddr) -> Option<u16> {
        self.channels.get(&peer).filter(|c| c.bound_until.is_some()).map(|c| c.number)
    }

    /// The next datagram to send, from [`TurnConfig::local`] to the server.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TurnEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called;
    /// `None` once the client has failed or closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.state, TurnState::Failed | TurnState::Closed) {
            return None;
        }
        let mut next = self.transactions.iter().map(|t| t.timer.deadline()).min();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.state == TurnState::Allocated {
            if let Some(a) = &self.allocation {
                consider(Some(a.expires_at));
                if !self.refresh_in_flight() {
                    consider(Some(a.refresh_at));
                }
            }
            for p in self.permissions.values() {
                consider(p.installed_until);
                if !p.pending {
                    consider(p.refresh_at);
                }
            }
            for c in self.channels.values() {
                consider(c.bound_until);
                if !c.pending {
                    consider(c.rebind_at);
                }
            }
            consider(self.retired_channels.values().min().copied());
        }
        next
    }

    /// Runs the timers due at `now`: retransmissions, transaction timeouts,
    /// the allocation refresh and expiry, permission and channel upkeep.
    pub fn handle_timeout(&mut self, now: Instant) {
        if matches!(self.state, TurnState::Failed | TurnState::Closed) {
            return;
        }
        let mut timed_out = Vec::new();
        let mut i = 0;
        while i < self.transactions.len() {
            match self.transactions[i].timer.on_timeout(now) {
                TimerAction::Wait => i += 1,
                TimerAction::Retransmit => {
                    let wire = self.transactions[i].wire.clone();
                    self.stats.retransmissions += 1;
                    self.queue_transmit(wire);
                    i += 1;
                }
                TimerAction::TimedOut => timed_out.push(self.transactions.swap_remove(i)),
            }
        }
        for tx in timed_out {
            let error = TurnError::Timeout { server: self.config.server, request: tx.request.name() };
            self.on_request_failed(now, tx.request, error);
            if matches!(self.state, TurnState::Failed | TurnState::Closed) {
                return;
            }
        }
        self.upkeep(now);
    }

    fn queue_transmit(&mut self, data: Vec<u8>) {
        if self.transmits.len() >= MAX_QUEUED_TRANSMITS {
            self.stats.queue_overflows += 1;
            return;
        }
        let (from, to, transport) = (self.config.local, self.config.server, self.config.transport);
        self.transmits.push_back(Transmit { from, to, data, transport });
    }

    fn push_event(&mut self, event: TurnEvent) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.stats.queue_overflows += 1;
            return;
        }
        self.events.push_back(event);
    }
}
