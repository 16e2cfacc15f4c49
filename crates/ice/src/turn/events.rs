//! What the client reports: its state, events, errors and counters.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::TurnTransport;

/// Where the allocation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnState {
    /// Allocate is in flight (possibly after a 401 or 438 retry).
    Allocating,
    /// The relayed address is usable.
    Allocated,
    /// The allocation failed or was lost; see the [`TurnEvent::Failed`] error.
    Failed,
    /// [`TurnClient::close`](super::TurnClient::close) sent a Refresh with LIFETIME 0; waiting for the answer.
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
    /// The allocation was deleted after [`TurnClient::close`](super::TurnClient::close).
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
    /// (reported by the driver through [`TurnClient::connection_failed`](super::TurnClient::connection_failed)).
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
    /// A local limit ([`MAX_PERMISSIONS`](super::MAX_PERMISSIONS),
    /// [`MAX_CHANNELS`](super::MAX_CHANNELS), channel numbers) was reached.
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
    /// [`TurnClient::send_to`](super::TurnClient::send_to) calls refused: no permission for the peer IP.
    pub sends_without_permission: u64,
    /// [`TurnClient::send_to`](super::TurnClient::send_to) calls refused: no allocation.
    pub sends_without_allocation: u64,
    /// [`TurnClient::send_to`](super::TurnClient::send_to) calls refused: payload larger than
    /// [`MAX_PAYLOAD`](super::MAX_PAYLOAD).
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
