//! Events, states, statistics and errors of the agent.

use std::net::SocketAddr;
use std::time::Duration;

use crate::Candidate;

/// The state of an ICE transport, as the W3C `RTCIceTransportState` defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceTransportState {
    /// Gathering, or waiting for remote candidates; no checks yet.
    New,
    /// Checks are running; no pair is selected yet.
    Checking,
    /// A pair is selected and usable.
    Connected,
    /// A pair is selected, gathering and checks are done, and the peer said
    /// end-of-candidates.
    Completed,
    /// Nothing heard from the peer for the disconnected timeout; may come
    /// back by itself.
    Disconnected,
    /// Every pair failed after end-of-candidates, or consent expired.
    Failed,
    /// [`crate::IceAgent::close`] was called.
    Closed,
}

/// The gathering state (W3C `RTCIceGathererState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatheringState {
    /// Not started.
    New,
    /// Waiting for STUN or TURN servers.
    Gathering,
    /// Every server answered or gave up.
    Complete,
}

/// What the agent tells its owner. Drain with [`crate::IceAgent::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IceEvent {
    /// A new local candidate to signal to the peer now (trickle).
    LocalCandidate(Candidate),
    /// All local candidates are known (signal end-of-candidates).
    GatheringComplete,
    /// The transport state changed.
    StateChanged(IceTransportState),
    /// A new pair carries the data from now on.
    SelectedPairChanged {
        /// Our candidate.
        local: Candidate,
        /// The peer's candidate.
        remote: Candidate,
    },
    /// A STUN or TURN server could not be used (W3C `icecandidateerror`).
    ServerError {
        /// The server.
        server: SocketAddr,
        /// A STUN error code, or 701 when the server did not answer.
        code: u16,
        /// What went wrong and what to do.
        text: String,
    },
    /// A role conflict was repaired by switching to this role
    /// (`true`: controlling).
    RoleChanged(bool),
}

/// Where a received datagram went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received<'a> {
    /// Application data (DTLS, SRTP...) from the peer, unwrapped from TURN
    /// framing when it came through a relay.
    Data(&'a [u8]),
    /// A STUN or TURN message the agent consumed.
    Handled,
    /// Dropped: malformed, unauthenticated, or from an unknown source.
    /// Counted in [`IceStats`].
    Dropped,
}

/// Counters of one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceStats {
    /// Connectivity checks sent (first transmissions).
    pub checks_sent: u64,
    /// Check retransmissions.
    pub check_retransmits: u64,
    /// Checks received and answered.
    pub checks_received: u64,
    /// Successful responses to our checks.
    pub responses_received: u64,
    /// Datagrams that did not decode as STUN (or TURN framing) although they looked like it.
    pub dropped_malformed: u64,
    /// STUN messages whose USERNAME or MESSAGE-INTEGRITY did not verify.
    pub dropped_unauthenticated: u64,
    /// Responses to no transaction of ours.
    pub dropped_unknown_transaction: u64,
    /// Data from an address that is no remote candidate, or on an unknown socket.
    pub dropped_unknown_source: u64,
    /// Remote candidates or pairs refused because a cap was reached.
    pub dropped_over_limit: u64,
    /// Peer-reflexive remote candidates whose pairs had all failed, dropped
    /// at the candidate cap to make room for a new one.
    pub pruned_peer_reflexive: u64,
    /// Application bytes sent and received through the selected pair.
    pub bytes_sent: u64,
    /// Application bytes received.
    pub bytes_received: u64,
    /// Round-trip time of the last check or consent answer on the selected pair.
    pub rtt: Option<Duration>,
}

/// Errors from the agent's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IceError {
    /// `send` before a pair was selected, or after consent expired.
    #[error("no ICE candidate pair is selected yet (state {0:?}): wait for the Connected state before sending")]
    NotConnected(IceTransportState),
    /// The selected pair is relayed and the TURN server has no permission
    /// for the peer yet.
    #[error("the TURN relay has no permission for the peer yet; retry shortly")]
    RelayNotReady,
    /// The agent was closed.
    #[error("the ICE agent is closed")]
    Closed,
}
