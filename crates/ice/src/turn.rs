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

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stun::{
    Attribute, ChannelData, Class, IntegrityKey, Message, Method, RetransmitConfig, RetransmitTimer, TimerAction,
    TransactionId, MAX_CHANNEL, MIN_CHANNEL,
};

use crate::{Transmit, TurnTransport};

#[cfg(test)]
mod tests;

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

/// What the client needs to know about its server and account.
#[derive(Clone)]
pub struct TurnConfig {
    /// The TURN server's address (UDP, TCP or TLS port per `transport`).
    pub server: SocketAddr,
    /// The local (host) socket address the client sends from and receives
    /// on. Over a stream it only names the local IP (the ICE agent uses the
    /// host candidate's IP with port 0) and ends up in every
    /// [`Transmit::from`].
    pub local: SocketAddr,
    /// How the client reaches the server.
    pub transport: TurnTransport,
    /// The long-term credential user name.
    pub username: String,
    /// The long-term credential password (already SASLprep-processed if not ASCII).
    pub password: String,
    /// The allocation lifetime to ask for; the server may grant another.
    pub lifetime: Duration,
    /// Retransmission of requests over UDP; the default is RFC 8489's (500
    /// ms, 7 sends, 16×). Ignored over streams, which use [`STREAM_RETRANSMIT`].
    pub retransmit: RetransmitConfig,
    /// A SOFTWARE attribute to add to requests.
    pub software: Option<String>,
}

impl TurnConfig {
    /// A UDP configuration with the default lifetime (600 s), retransmission
    /// and no SOFTWARE. Set [`TurnConfig::transport`] for TCP or TLS.
    pub fn new(
        server: SocketAddr,
        local: SocketAddr,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        TurnConfig {
            server,
            local,
            transport: TurnTransport::Udp,
            username: username.into(),
            password: password.into(),
            lifetime: DEFAULT_LIFETIME,
            retransmit: RetransmitConfig::default(),
            software: None,
        }
    }
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("server", &self.server)
            .field("local", &self.local)
            .field("transport", &self.transport)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("retransmit", &self.retransmit)
            .field("software", &self.software)
            .finish()
    }
}

/// Where the allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    /// Allocate is in flight (possibly after a 401 or 438 retry).
    Allocating,
    /// The relayed address is usable.
    Allocated,
    /// The allocation failed or was lost; see the [`TurnEvent::Failed`] error.
    Failed,
    /// [`TurnClient::close`] sent a Refresh with LIFETIME 0; waiting for the answer.
    Closing,
    /// The allocation was deleted (or never made before `close`).
    Closed,
}

/// Something the caller may want to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnEvent {
    /// The allocation exists: `relayed` is the address peers send to.
    Allocated {
        /// The relayed transport address on the server.
        relayed: SocketAddr,
        /// Where the server saw this client (a server-reflexive address).
        mapped: Option<SocketAddr>,
    },
    /// A permission for this peer IP was installed (not repeated on refresh).
    PermissionCreated(IpAddr),
    /// Installing or refreshing a permission failed; other peers are unaffected.
    PermissionFailed {
        /// The peer IP.
        peer: IpAddr,
        /// Why.
        error: TurnError,
    },
    /// A channel was bound to `peer` (not repeated on re-bind).
    ChannelBound {
        /// The peer transport address.
        peer: SocketAddr,
        /// The channel number (0x4000 to 0x4FFF).
        channel: u16,
    },
    /// Binding or re-binding a channel failed; data to the peer falls back to
    /// Send indications while its permission lasts.
    ChannelBindFailed {
        /// The peer transport address.
        peer: SocketAddr,
        /// Why.
        error: TurnError,
    },
    /// A Refresh succeeded; the allocation now lasts `lifetime`.
    Refreshed {
        /// The lifetime the server granted.
        lifetime: Duration,
    },
    /// Fatal: the allocation failed or was lost. The client is [`TurnState::Failed`].
    Failed(TurnError),
    /// The allocation was deleted after [`TurnClient::close`].
    Closed,
}

/// Why a TURN request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnError {
    /// The server refused the credentials even with a fresh REALM and NONCE.
    #[error("TURN server {server} rejected the credentials for user {username:?} (401): check username/password")]
    Unauthorized {
        /// The server.
        server: SocketAddr,
        /// The user name that was refused.
        username: String,
    },
    /// No response after all retransmissions.
    #[error(
        "TURN server {server} did not answer {request} (no response after all retransmissions): \
         check the server address and that it is reachable (UDP, TCP or TLS not blocked)"
    )]
    Timeout {
        /// The server.
        server: SocketAddr,
        /// The request that went unanswered (Allocate, Refresh, CreatePermission, ChannelBind).
        request: &'static str,
    },
    /// The server answered with an error code.
    #[error("TURN server {server} answered {request} with error {code} ({reason})")]
    ServerError {
        /// The server.
        server: SocketAddr,
        /// The request that was refused.
        request: &'static str,
        /// The ERROR-CODE number, e.g. 403, 486, 508.
        code: u16,
        /// The reason phrase as the server wrote it.
        reason: String,
    },
    /// 437: the server has no allocation for this client (it expired, or the
    /// server restarted). Allocate again with a new client.
    #[error("TURN server {server} has no allocation for this client (437 Allocation Mismatch): allocate again")]
    AllocationMismatch {
        /// The server.
        server: SocketAddr,
    },
    /// A response lacked something it must carry.
    #[error("TURN server {server} sent an unusable {request} response: {what}")]
    Protocol {
        /// The server.
        server: SocketAddr,
        /// The request answered.
        request: &'static str,
        /// What was missing or wrong.
        what: &'static str,
    },
    /// The TCP or TLS connection to the server could not be opened or broke
    /// (reported by the driver through [`TurnClient::connection_failed`]).
    #[error("TURN server {server} over {transport:?}: connection failed: {reason}")]
    Connection {
        /// The server.
        server: SocketAddr,
        /// The stream transport.
        transport: TurnTransport,
        /// What the driver saw (I/O or TLS error, end of stream, oversized frame).
        reason: String,
    },
    /// The allocation's lifetime ran out before a Refresh was answered.
    #[error("TURN allocation on {server} expired: no Refresh was answered in time")]
    Expired {
        /// The server.
        server: SocketAddr,
    },
    /// A local limit ([`MAX_PERMISSIONS`], [`MAX_CHANNELS`], channel numbers) was reached.
    #[error("too many TURN {what} on {server} (limit {limit}): drop unused peers first")]
    Limit {
        /// The server.
        server: SocketAddr,
        /// "permissions", "channels" or "channel numbers".
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The request needs an allocation and there is none (failed, closing or closed).
    #[error("no TURN allocation on {server}: the client is {state:?}")]
    NoAllocation {
        /// The server.
        server: SocketAddr,
        /// The client state at the time.
        state: TurnState,
    },
}

/// Counters of what the client dropped or worked around. All are noise, not errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnStats {
    /// Datagrams that are neither STUN nor ChannelData, or are malformed, or
    /// arrived after the client failed or closed.
    pub dropped: u64,
    /// Responses whose transaction id matches no pending request (late
    /// duplicates, answers to retransmissions, forgeries).
    pub unknown_transactions: u64,
    /// Responses dropped because MESSAGE-INTEGRITY was missing or wrong.
    pub integrity_failures: u64,
    /// [`TurnClient::send_to`] calls refused: no permission for the peer IP.
    pub sends_without_permission: u64,
    /// [`TurnClient::send_to`] calls refused: no allocation.
    pub sends_without_allocation: u64,
    /// [`TurnClient::send_to`] calls refused: payload larger than [`MAX_PAYLOAD`].
    pub oversized_sends: u64,
    /// ChannelData on a channel number we did not bind.
    pub unknown_channels: u64,
    /// Requests sent again by the retransmission timer.
    pub retransmissions: u64,
    /// Requests sent again with a fresh NONCE after 438.
    pub stale_nonce_retries: u64,
    /// CreatePermission requests that failed (error or timeout) or were refused locally.
    pub permission_failures: u64,
    /// ChannelBind requests that failed (error or timeout) or were refused locally.
    pub channel_bind_failures: u64,
    /// Outgoing datagrams or events dropped because the caller did not drain the queues.
    pub queue_overflows: u64,
}

/// A request and what it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Allocate,
    Refresh { lifetime: u32 },
    CreatePermission { peer: IpAddr },
    ChannelBind { peer: SocketAddr, channel: u16 },
}

impl Request {
    fn method(self) -> Method {
        match self {
            Request::Allocate => Method::ALLOCATE,
            Request::Refresh { .. } => Method::REFRESH,
            Request::CreatePermission { .. } => Method::CREATE_PERMISSION,
            Request::ChannelBind { .. } => Method::CHANNEL_BIND,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Request::Allocate => "Allocate",
            Request::Refresh { .. } => "Refresh",
            Request::CreatePermission { .. } => "CreatePermission",
            Request::ChannelBind { .. } => "ChannelBind",
        }
    }
}

/// A request in flight.
#[derive(Debug)]
struct Transaction {
    id: TransactionId,
    request: Request,
    timer: RetransmitTimer,
    /// The encoded request, sent again on retransmission.
    wire: Vec<u8>,
    /// Sent with MESSAGE-INTEGRITY: the response must verify.
    authenticated: bool,
    /// Already retried once after a 438.
    stale_retried: bool,
}

/// Long-term credential state learnt from the server's 401.
struct Auth {
    realm: String,
    nonce: String,
    key: IntegrityKey,
}

/// The allocation once it exists.
#[derive(Debug, Clone, Copy)]
struct Allocation {
    relayed: SocketAddr,
    mapped: Option<SocketAddr>,
    expires_at: Instant,
    refresh_at: Instant,
}

/// A permission for one peer IP.
#[derive(Debug, Clone, Copy, Default)]
struct Permission {
    /// Installed on the server until then.
    installed_until: Option<Instant>,
    /// When to send the next CreatePermission (None: not planned).
    refresh_at: Option<Instant>,
    /// A CreatePermission for this IP is in flight.
    pending: bool,
    /// Traffic went to or came from this IP since the last installation.
    used: bool,
}

/// A channel for one peer transport address.
#[derive(Debug, Clone, Copy)]
struct Channel {
    number: u16,
    bound_until: Option<Instant>,
    rebind_at: Option<Instant>,
    pending: bool,
    used: bool,
}

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

/// The refresh delay for a granted lifetime: 60 s before expiry, or at half
/// the lifetime when it is 2 minutes or less.
fn refresh_delay(lifetime: Duration) -> Duration {
    if lifetime > Duration::from_secs(120) {
        lifetime - Duration::from_secs(60)
    } else {
        lifetime / 2
    }
}

fn lifetime_secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
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
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
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

    /// Handles a datagram that arrived on [`TurnConfig::local`] from the
    /// server. STUN responses are consumed (`None`); a Data indication or
    /// ChannelData yields the peer and its data, borrowed from `data`.
    /// Anything else is dropped and counted.
    pub fn handle_receive<'a>(&mut self, now: Instant, data: &'a [u8]) -> Option<(SocketAddr, &'a [u8])> {
        if matches!(self.state, TurnState::Failed | TurnState::Closed) {
            self.stats.dropped += 1;
            return None;
        }
        if ChannelData::is_channel_data(data) {
            let Ok(cd) = ChannelData::decode(data) else {
                self.stats.dropped += 1;
                return None;
            };
            let Some(&peer) = self.channel_peers.get(&cd.channel) else {
                self.stats.unknown_channels += 1;
                return None;
            };
            self.mark_used(peer);
            return Some((peer, cd.data));
        }
        let msg = match Message::decode(data) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::trace!(server = %self.config.server, error = %e, "TURN: dropping datagram");
                self.stats.dropped += 1;
                return None;
            }
        };
        match msg.class {
            Class::Indication if msg.method == Method::DATA => {
                let peer = msg.find(|a| match a {
                    Attribute::XorPeerAddress(p) => Some(*p),
                    _ => None,
                });
                let payload = msg.find(|a| match a {
                    Attribute::Data(d) => Some(*d),
                    _ => None,
                });
                match (peer, payload) {
                    (Some(peer), Some(payload)) => {
                        self.mark_used(peer);
                        Some((peer, payload))
                    }
                    _ => {
                        self.stats.dropped += 1;
                        None
                    }
                }
            }
            Class::Success | Class::Error => {
                self.on_response(now, &msg, data);
                None
            }
            _ => {
                self.stats.dropped += 1;
                None
            }
        }
    }

    /// Asks the server to accept traffic from (and relay to) `peer`. Before the
    /// allocation exists the request waits for it. The permission is kept
    /// (refreshed at [`PERMISSION_REFRESH`]) while traffic flows; calling
    /// this again on an installed permission counts as use.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) {
        if let Some(error) = self.refuse_new_request() {
            self.stats.permission_failures += 1;
            self.push_event(TurnEvent::PermissionFailed { peer, error });
            return;
        }
        if let Some(p) = self.permissions.get_mut(&peer) {
            p.used = true;
            if p.installed_until.is_none() && !p.pending && p.refresh_at.is_none() {
                p.refresh_at = Some(now);
            }
        } else {
            if self.permissions.len() >= MAX_PERMISSIONS {
                self.stats.permission_failures += 1;
                let error =
                    TurnError::Limit { server: self.config.server, what: "permissions", limit: MAX_PERMISSIONS };
                self.push_event(TurnEvent::PermissionFailed { peer, error });
                return;
            }
            self.permissions.insert(peer, Permission { refresh_at: Some(now), ..Permission::default() });
        }
        self.upkeep(now);
    }

    /// Binds a channel to `peer` (which also installs the permission for its
    /// IP), so [`send_to`](Self::send_to) uses 4-byte ChannelData headers.
    /// Before the allocation exists the request waits for it. The channel is
    /// re-bound at [`CHANNEL_REFRESH`] while traffic flows.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) {
        if let Some(error) = self.refuse_new_request() {
            self.stats.channel_bind_failures += 1;
            self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            return;
        }
        if let Some(c) = self.channels.get_mut(&peer) {
            c.used = true;
            if c.bound_until.is_none() && !c.pending && c.rebind_at.is_none() {
                c.rebind_at = Some(now);
            }
            self.upkeep(now);
            return;
        }
        let limit = if self.channels.len() >= MAX_CHANNELS {
            Some(("channels", MAX_CHANNELS))
        } else if !self.permissions.contains_key(&peer.ip()) && self.permissions.len() >= MAX_PERMISSIONS {
            Some(("permissions", MAX_PERMISSIONS))
        } else {
            None
        };
        let number = match limit {
            None => self.free_channel_number(),
            Some(_) => None,
        };
        let Some(number) = number else {
            let (what, limit) = limit.unwrap_or(("channel numbers", usize::from(MAX_CHANNEL - MIN_CHANNEL) + 1));
            self.stats.channel_bind_failures += 1;
            let error = TurnError::Limit { server: self.config.server, what, limit };
            self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            return;
        };
        self.permissions.entry(peer.ip()).or_default();
        self.channels
            .insert(peer, Channel { number, bound_until: None, rebind_at: Some(now), pending: false, used: false });
        self.channel_peers.insert(number, peer);
        self.upkeep(now);
    }

    /// Wraps `data` for `peer`: ChannelData when a channel is bound, else a
    /// Send indication. `None` (counted in [`TurnStats`]) when there is no
    /// allocation, no installed permission for the peer's IP, or `data` is
    /// larger than [`MAX_PAYLOAD`].
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8]) -> Option<Transmit> {
        if self.state != TurnState::Allocated {
            self.stats.sends_without_allocation += 1;
            return None;
        }
        if data.len() > MAX_PAYLOAD {
            self.stats.oversized_sends += 1;
            return None;
        }
        match self.permissions.get_mut(&peer.ip()) {
            Some(p) if p.installed_until.is_some() => p.used = true,
            _ => {
                self.stats.sends_without_permission += 1;
                return None;
            }
        }
        let mut out = Vec::with_capacity(data.len() + 40);
        match self.channels.get_mut(&peer) {
            Some(c) if c.bound_until.is_some() => {
                c.used = true;
                ChannelData { channel: c.number, data }.encode(&mut out, self.config.transport.is_stream());
            }
            _ => {
                let id = TransactionId(self.rng.gen());
                Message::new(Class::Indication, Method::SEND, id)
                    .with(Attribute::XorPeerAddress(peer))
                    .with(Attribute::Data(data))
                    .encode(&mut out, None, false);
            }
        }
        Some(Transmit { from: self.config.local, to: self.config.server, data: out, transport: self.config.transport })
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

    // ---- internals ----

    /// `Some(error)` when no new permission or channel may be asked for.
    fn refuse_new_request(&self) -> Option<TurnError> {
        match self.state {
            TurnState::Allocating | TurnState::Allocated => None,
            state => Some(TurnError::NoAllocation { server: self.config.server, state }),
        }
    }

    fn refresh_in_flight(&self) -> bool {
        self.transactions.iter().any(|t| matches!(t.request, Request::Refresh { .. }))
    }

    fn mark_used(&mut self, peer: SocketAddr) {
        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
            p.used = true;
        }
        if let Some(c) = self.channels.get_mut(&peer) {
            c.used = true;
        }
    }

    fn free_channel_number(&mut self) -> Option<u16> {
        let span = MAX_CHANNEL - MIN_CHANNEL + 1;
        for _ in 0..span {
            let candidate = self.next_channel;
            self.next_channel = if candidate >= MAX_CHANNEL { MIN_CHANNEL } else { candidate + 1 };
            if !self.channel_peers.contains_key(&candidate) && !self.retired_channels.contains_key(&candidate) {
                return Some(candidate);
            }
        }
        None
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

    fn clear(&mut self) {
        self.transactions.clear();
        self.allocation = None;
        self.permissions.clear();
        self.channels.clear();
        self.channel_peers.clear();
        self.retired_channels.clear();
    }

    /// Fatal failure: forget everything and report `error`.
    fn fail(&mut self, error: TurnError) {
        tracing::warn!(server = %self.config.server, %error, "TURN: allocation failed");
        self.clear();
        self.state = TurnState::Failed;
        self.push_event(TurnEvent::Failed(error));
    }

    fn encode_request(&self, id: TransactionId, request: Request) -> Vec<u8> {
        let mut msg = Message::new(Class::Request, request.method(), id);
        match request {
            Request::Allocate => {
                msg = msg
                    .with(Attribute::RequestedTransport(stun::PROTOCOL_UDP))
                    .with(Attribute::Lifetime(lifetime_secs(self.config.lifetime)));
            }
            Request::Refresh { lifetime } => msg = msg.with(Attribute::Lifetime(lifetime)),
            Request::CreatePermission { peer } => msg = msg.with(Attribute::XorPeerAddress(SocketAddr::new(peer, 0))),
            Request::ChannelBind { peer, channel } => {
                msg = msg.with(Attribute::ChannelNumber(channel)).with(Attribute::XorPeerAddress(peer));
            }
        }
        if let Some(software) = &self.config.software {
            msg = msg.with(Attribute::Software(software));
        }
        if let Some(auth) = &self.auth {
            msg = msg
                .with(Attribute::Username(&self.config.username))
                .with(Attribute::Realm(&auth.realm))
                .with(Attribute::Nonce(&auth.nonce));
        }
        msg.to_bytes(self.auth.as_ref().map(|a| &a.key), true)
    }

    fn start_transaction(&mut self, now: Instant, request: Request, stale_retried: bool) {
        let id = TransactionId(self.rng.gen());
        let wire = self.encode_request(id, request);
        self.queue_transmit(wire.clone());
        match request {
            Request::CreatePermission { peer } => {
                if let Some(p) = self.permissions.get_mut(&peer) {
                    p.pending = true;
                    p.refresh_at = None;
                }
            }
            Request::ChannelBind { peer, .. } => {
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.pending = true;
                    c.rebind_at = None;
                }
            }
            Request::Allocate | Request::Refresh { .. } => {}
        }
        self.transactions.push(Transaction {
            id,
            request,
            timer: RetransmitTimer::start(
                now,
                if self.config.transport.is_stream() { STREAM_RETRANSMIT } else { self.config.retransmit },
            ),
            wire,
            authenticated: self.auth.is_some(),
            stale_retried,
        });
    }

    /// Refresh, permission and channel upkeep; only while allocated.
    fn upkeep(&mut self, now: Instant) {
        if self.state != TurnState::Allocated {
            return;
        }
        if let Some(a) = self.allocation {
            if now >= a.expires_at {
                self.fail(TurnError::Expired { server: self.config.server });
                return;
            }
            if now >= a.refresh_at && !self.refresh_in_flight() {
                let lifetime = lifetime_secs(self.config.lifetime);
                self.start_transaction(now, Request::Refresh { lifetime }, false);
            }
        }

        let mut send = Vec::new();
        self.permissions.retain(|ip, p| {
            if p.installed_until.is_some_and(|t| now >= t) {
                tracing::debug!(peer = %ip, "TURN: permission expired");
                p.installed_until = None;
            }
            if !p.pending && p.refresh_at.is_some_and(|t| now >= t) {
                if p.installed_until.is_some() && !p.used {
                    p.refresh_at = None; // idle: let it expire
                } else {
                    send.push(*ip);
                }
            }
            p.installed_until.is_some() || p.pending || p.refresh_at.is_some()
        });
        // Keep permissions whose channel is still being bound (the bind installs them).
        for (peer, c) in &self.channels {
            if c.pending || c.rebind_at.is_some() {
                self.permissions.entry(peer.ip()).or_default();
            }
        }
        for peer in send {
            self.start_transaction(now, Request::CreatePermission { peer }, false);
        }

        let mut bind = Vec::new();
        let mut expired = Vec::new();
        for (peer, c) in self.channels.iter_mut() {
            if c.bound_until.is_some_and(|t| now >= t) {
                tracing::debug!(%peer, channel = c.number, "TURN: channel expired");
                c.bound_until = None;
            }
            if !c.pending && c.rebind_at.is_some_and(|t| now >= t) {
                if c.bound_until.is_some() && !c.used {
                    c.rebind_at = None;
                } else {
                    bind.push((*peer, c.number));
                }
            }
            if c.bound_until.is_none() && !c.pending && c.rebind_at.is_none() && !bind.iter().any(|(p, _)| p == peer) {
                expired.push(*peer);
            }
        }
        for peer in expired {
            self.retire_channel(now, peer);
        }
        for (peer, channel) in bind {
            self.start_transaction(now, Request::ChannelBind { peer, channel }, false);
        }
        self.retired_channels.retain(|_, until| now < *until);
    }

    fn retire_channel(&mut self, now: Instant, peer: SocketAddr) {
        if let Some(c) = self.channels.remove(&peer) {
            self.channel_peers.remove(&c.number);
            self.retired_channels.insert(c.number, now + CHANNEL_COOLDOWN);
        }
    }

    fn on_response(&mut self, now: Instant, msg: &Message<'_>, raw: &[u8]) {
        let Some(index) = self.transactions.iter().position(|t| t.id == msg.transaction_id) else {
            self.stats.unknown_transactions += 1;
            return;
        };
        let tx = &self.transactions[index];
        if tx.request.method() != msg.method {
            self.stats.unknown_transactions += 1;
            return;
        }
        let code = msg.error_code();
        if tx.authenticated {
            let verified = match &self.auth {
                Some(auth) if msg.has_integrity() => msg.verify_integrity(raw, &auth.key).is_ok(),
                // RFC 8489 9.2.5: only 401 and 438 may come without integrity.
                _ => msg.class == Class::Error && matches!(code, Some((401 | 438, _))),
            };
            if !verified {
                tracing::debug!(server = %self.config.server, "TURN: response failed MESSAGE-INTEGRITY; dropped");
                self.stats.integrity_failures += 1;
                return;
            }
        }
        let tx = self.transactions.swap_remove(index);
        match msg.class {
            Class::Success => self.on_success(now, tx.request, msg),
            _ => self.on_error(now, tx, msg, code),
        }
        self.upkeep(now);
    }

    fn on_success(&mut self, now: Instant, request: Request, msg: &Message<'_>) {
        let granted = msg
            .find(|a| match a {
                Attribute::Lifetime(s) => Some(Duration::from_secs(u64::from(*s))),
                _ => None,
            })
            .unwrap_or(self.config.lifetime);
        match request {
            Request::Allocate => {
                if self.state != TurnState::Allocating {
                    return;
                }
                let relayed = msg.find(|a| match a {
                    Attribute::XorRelayedAddress(r) => Some(*r),
                    _ => None,
                });
                let Some(relayed) = relayed else {
                    let what = "no XOR-RELAYED-ADDRESS";
                    self.fail(TurnError::Protocol { server: self.config.server, request: "Allocate", what });
                    return;
                };
                let mapped = msg.find(|a| match a {
                    Attribute::XorMappedAddress(m) => Some(*m),
                    _ => None,
                });
                let lifetime = granted.clamp(MIN_LIFETIME, MAX_LIFETIME);
                self.allocation = Some(Allocation {
                    relayed,
                    mapped,
                    expires_at: now + lifetime,
                    refresh_at: now + refresh_delay(lifetime),
                });
                self.state = TurnState::Allocated;
                tracing::debug!(server = %self.config.server, %relayed, ?mapped, ?granted, "TURN: allocated");
                self.push_event(TurnEvent::Allocated { relayed, mapped });
            }
            Request::Refresh { lifetime: 0 } => {
                tracing::debug!(server = %self.config.server, "TURN: deallocated");
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            Request::Refresh { .. } => {
                let Some(a) = self.allocation.as_mut() else { return };
                let lifetime = granted.clamp(MIN_LIFETIME, MAX_LIFETIME);
                a.expires_at = now + lifetime;
                a.refresh_at = now + refresh_delay(lifetime);
                tracing::debug!(server = %self.config.server, ?granted, "TURN: refreshed");
                self.push_event(TurnEvent::Refreshed { lifetime: granted });
            }
            Request::CreatePermission { peer } => {
                let Some(p) = self.permissions.get_mut(&peer) else { return };
                let first = p.installed_until.is_none();
                Self::install_permission(p, now);
                if first {
                    tracing::debug!(%peer, "TURN: permission installed");
                    self.push_event(TurnEvent::PermissionCreated(peer));
                }
            }
            Request::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.get_mut(&peer) else { return };
                if c.number != channel {
                    return;
                }
                let first = c.bound_until.is_none();
                c.pending = false;
                c.used = false;
                c.bound_until = Some(now + CHANNEL_LIFETIME);
                c.rebind_at = Some(now + CHANNEL_REFRESH);
                let p = self.permissions.entry(peer.ip()).or_default();
                let first_permission = p.installed_until.is_none();
                if p.installed_until.is_none_or(|t| t < now + PERMISSION_LIFETIME) {
                    let pending = p.pending;
                    Self::install_permission(p, now);
                    p.pending = pending;
                }
                if first_permission {
                    self.push_event(TurnEvent::PermissionCreated(peer.ip()));
                }
                if first {
                    tracing::debug!(%peer, channel, "TURN: channel bound");
                    self.push_event(TurnEvent::ChannelBound { peer, channel });
                }
            }
        }
    }

    fn install_permission(p: &mut Permission, now: Instant) {
        p.installed_until = Some(now + PERMISSION_LIFETIME);
        p.refresh_at = Some(now + PERMISSION_REFRESH);
        p.pending = false;
        p.used = false;
    }

    fn on_error(&mut self, now: Instant, tx: Transaction, msg: &Message<'_>, code: Option<(u16, &str)>) {
        let server = self.config.server;
        let Some((code, reason)) = code else {
            let what = "error response without ERROR-CODE";
            self.on_request_failed(now, tx.request, TurnError::Protocol { server, request: tx.request.name(), what });
            return;
        };
        let realm = msg.find(|a| match a {
            Attribute::Realm(r) => Some(*r),
            _ => None,
        });
        let nonce = msg.find(|a| match a {
            Attribute::Nonce(n) => Some(*n),
            _ => None,
        });
        match code {
            401 if !tx.authenticated && self.auth.is_none() => {
                let (Some(realm), Some(nonce)) = (realm, nonce) else {
                    let what = "401 without REALM and NONCE";
                    self.on_request_failed(
                        now,
                        tx.request,
                        TurnError::Protocol { server, request: tx.request.name(), what },
                    );
                    return;
                };
                tracing::debug!(%server, realm, "TURN: authenticating");
                let key = IntegrityKey::long_term(&self.config.username, realm, &self.config.password);
                self.auth = Some(Auth { realm: realm.to_owned(), nonce: nonce.to_owned(), key });
                self.start_transaction(now, tx.request, tx.stale_retried);
            }
            401 if !tx.authenticated => {
                // Another request raced the first 401: send it again with the credentials.
                self.start_transaction(now, tx.request, tx.stale_retried);
            }
            438 if !tx.stale_retried && nonce.is_some() && self.auth.is_some() => {
                if let (Some(auth), Some(nonce)) = (self.auth.as_mut(), nonce) {
                    auth.nonce = nonce.to_owned();
                    if let Some(realm) = realm.filter(|r| *r != auth.realm) {
                        auth.key = IntegrityKey::long_term(&self.config.username, realm, &self.config.password);
                        auth.realm = realm.to_owned();
                    }
                }
                tracing::debug!(%server, request = tx.request.name(), "TURN: stale nonce, retrying");
                self.stats.stale_nonce_retries += 1;
                self.start_transaction(now, tx.request, true);
            }
            401 => {
                let error = TurnError::Unauthorized { server, username: self.config.username.clone() };
                self.on_request_failed(now, tx.request, error);
            }
            437 => self.on_request_failed(now, tx.request, TurnError::AllocationMismatch { server }),
            _ => {
                let error =
                    TurnError::ServerError { server, request: tx.request.name(), code, reason: reason.to_owned() };
                self.on_request_failed(now, tx.request, error);
            }
        }
    }

    /// A request failed for good (error response or timeout).
    fn on_request_failed(&mut self, now: Instant, request: Request, error: TurnError) {
        match request {
            Request::Allocate => {
                if self.state == TurnState::Allocating {
                    self.fail(error);
                }
            }
            Request::Refresh { lifetime: 0 } => {
                tracing::debug!(server = %self.config.server, %error, "TURN: deallocation not confirmed; closed anyway");
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            Request::Refresh { .. } => {
                if matches!(error, TurnError::Timeout { .. }) {
                    // Try again while the allocation lasts; upkeep fails it at expiry.
                    if let Some(a) = self.allocation.as_mut() {
                        a.refresh_at = now;
                    }
                } else {
                    self.fail(error);
                }
            }
            Request::CreatePermission { peer } => {
                tracing::debug!(%peer, %error, "TURN: CreatePermission failed");
                self.stats.permission_failures += 1;
                if let Some(p) = self.permissions.get_mut(&peer) {
                    p.pending = false;
                    p.refresh_at = None;
                }
                self.push_event(TurnEvent::PermissionFailed { peer, error });
            }
            Request::ChannelBind { peer, channel } => {
                tracing::debug!(%peer, channel, %error, "TURN: ChannelBind failed");
                self.stats.channel_bind_failures += 1;
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.pending = false;
                    c.rebind_at = None;
                }
                self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            }
        }
    }
}
