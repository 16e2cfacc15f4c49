//! Agent configuration.

use std::net::SocketAddr;
use std::time::Duration;

use stun::RetransmitConfig;

/// Which candidates the agent may use (W3C `RTCIceTransportPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportPolicy {
    /// Every kind of candidate.
    #[default]
    All,
    /// Only relayed candidates: nothing but the TURN server's address is
    /// revealed to the peer, and all traffic goes through it.
    Relay,
}

/// How the client reaches its TURN server (RFC 8656 section 3.1). The
/// relayed address is UDP in every case; only the client-to-server leg
/// changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum TurnTransport {
    /// Datagrams from a host socket (`turn:host?transport=udp`).
    #[default]
    Udp,
    /// A TCP connection the driver opens (`turn:host?transport=tcp`).
    Tcp,
    /// A TLS-over-TCP connection the driver opens (`turns:host`).
    Tls,
}

impl TurnTransport {
    /// True for TCP and TLS: reliable, ordered byte streams on which TURN
    /// never retransmits and ChannelData is padded to 4 bytes.
    pub fn is_stream(self) -> bool {
        !matches!(self, TurnTransport::Udp)
    }
}

/// A TURN server and the long-term credentials to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// The server's address (the driver resolves names).
    pub address: SocketAddr,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// How to reach the server. For [`TurnTransport::Tcp`] and
    /// [`TurnTransport::Tls`] the driver opens the connection: see
    /// [`crate::IceAgent::turn_streams`].
    pub transport: TurnTransport,
}

/// Everything an [`crate::IceAgent`] can be told at creation.
#[derive(Debug, Clone)]
pub struct IceConfig {
    /// STUN servers to learn server-reflexive candidates from, all queried
    /// in parallel.
    pub stun_servers: Vec<SocketAddr>,
    /// TURN servers to allocate relayed candidates on, all in parallel.
    pub turn_servers: Vec<TurnServer>,
    /// Which candidates to use.
    pub policy: TransportPolicy,
    /// Run as an ICE-lite agent (RFC 8445 section 2.5): host candidates
    /// only, no checks of our own, always controlled. For servers with a
    /// public address.
    pub lite: bool,
    /// Local credentials (ufrag, pwd); random when `None`.
    pub credentials: Option<(String, String)>,
    /// Pacing interval Ta between two new connectivity checks.
    pub ta: Duration,
    /// Retransmission of connectivity checks.
    pub check_retransmit: RetransmitConfig,
    /// Retransmission of requests to STUN servers.
    pub server_retransmit: RetransmitConfig,
    /// How long the controlling agent waits for a better pair after the
    /// first one succeeds before it nominates the best valid pair.
    pub nomination_wait: Duration,
    /// Interval between consent checks on the selected pair (RFC 7675
    /// allows faster than its 5 s default; each is jittered by ±20%).
    pub consent_interval: Duration,
    /// With nothing heard from the peer for this long, the transport is
    /// `disconnected`.
    pub disconnected_timeout: Duration,
    /// With no consent response for this long, consent expires and the
    /// transport is `failed` (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// Cap on remote candidates kept. At the cap, a new one takes the place
    /// of a peer-reflexive candidate whose pairs have all failed; otherwise
    /// it is dropped and counted.
    pub max_remote_candidates: usize,
    /// Cap on candidate pairs; more are dropped and counted.
    pub max_pairs: usize,
    /// Seed of the agent's random generator (credentials, tie-breaker,
    /// transaction ids). Random when `None`; fixed in tests.
    pub seed: Option<u64>,
    /// SOFTWARE attribute to put in requests to servers.
    pub software: Option<String>,
}

impl Default for IceConfig {
    fn default() -> Self {
        IceConfig {
            stun_servers: Vec::new(),
            turn_servers: Vec::new(),
            policy: TransportPolicy::All,
            lite: false,
            credentials: None,
            ta: Duration::from_millis(50),
            check_retransmit: RetransmitConfig {
                initial_rto: Duration::from_millis(500),
                max_sends: 7,
                last_wait_factor: 4,
                max_interval: Some(Duration::from_millis(1600)),
            },
            server_retransmit: RetransmitConfig {
                initial_rto: Duration::from_millis(500),
                max_sends: 5,
                last_wait_factor: 4,
                max_interval: Some(Duration::from_millis(1600)),
            },
            nomination_wait: Duration::from_millis(200),
            consent_interval: Duration::from_secs(1),
            disconnected_timeout: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            max_remote_candidates: 100,
            max_pairs: 500,
            seed: None,
            software: Some(concat!("oxrtc ", env!("CARGO_PKG_VERSION")).to_string()),
        }
    }
}
