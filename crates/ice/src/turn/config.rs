//! What the client needs to know about its server and account.

use std::net::SocketAddr;
use std::time::Duration;

use stun::RetransmitConfig;

use crate::TurnTransport;

use super::DEFAULT_LIFETIME;

/// What the client needs to know about its server and account.
#[derive(Clone)]
pub struct TurnConfig {
    /// The TURN server's address (UDP, TCP or TLS port per `transport`).
    pub server: SocketAddr,
    /// The local (host) socket address the client sends from and receives
    /// on. Over a stream it only names the local IP (the ICE agent uses the
    /// host candidate's IP with port 0) and ends up in every
    /// [`Transmit::from`](crate::Transmit::from).
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
    /// ms, 7 sends, 16×). Ignored over streams, which use [`STREAM_RETRANSMIT`](super::STREAM_RETRANSMIT).
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
