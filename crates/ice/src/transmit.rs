//! Datagrams the engines hand to their driver.

use std::net::SocketAddr;

use crate::TurnTransport;

/// A datagram to send: the driver sends `data` from its socket bound to
/// `from` to `to` — or, when `transport` is a stream
/// ([`TurnTransport::Tcp`] / [`TurnTransport::Tls`]), writes `data` (one
/// complete STUN or padded ChannelData frame) to its connection to the TURN
/// server `to`, and `from` only names the local IP (port 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket address (a host candidate's base) to send from.
    pub from: SocketAddr,
    /// The destination.
    pub to: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
    /// [`TurnTransport::Udp`] for everything but traffic to a TURN server
    /// over TCP or TLS.
    pub transport: TurnTransport,
}
