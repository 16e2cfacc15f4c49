//! Datagrams the engines hand to their driver.

use std::net::SocketAddr;

/// A datagram to send: the driver sends `data` from its socket bound to
/// `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket address (a host candidate's base) to send from.
    pub from: SocketAddr,
    /// The destination.
    pub to: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
}
