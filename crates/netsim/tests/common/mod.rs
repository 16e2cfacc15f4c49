//! Helpers shared by the scenario tests: addresses, numbered payloads, and a driver that
//! sends on a schedule while delivering everything due, on a virtual clock.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use netsim::{Datagram, Network, VirtualClock};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("valid socket address")
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("valid IP address")
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A payload of `len` bytes (at least 4) starting with `n`, so tests can tell packets apart.
pub fn numbered(n: u32, len: usize) -> Vec<u8> {
    let mut data = vec![0; len.max(4)];
    data[..4].copy_from_slice(&n.to_be_bytes());
    data
}

/// The number written by [`numbered`].
pub fn number(d: &Datagram) -> u32 {
    u32::from_be_bytes(d.data[..4].try_into().expect("numbered payload"))
}

/// A delivered datagram with the virtual time elapsed when it came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub at: Duration,
    pub datagram: Datagram,
}

/// A network plus the virtual clock driving it.
pub struct Sim {
    pub net: Network,
    pub clock: VirtualClock,
}

impl Sim {
    pub fn new(seed: u64) -> Self {
        Sim { net: Network::new(seed), clock: VirtualClock::new(Instant::now()) }
    }

    /// The instant `offset` after the start.
    pub fn at(&self, offset: Duration) -> Instant {
        self.clock.start() + offset
    }

    /// Sends at the current virtual time.
    pub fn send(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.net.send(self.clock.now(), from, to, data);
    }

    /// Delivers everything due up to `offset` after the start, jumping from one network
    /// wake-up to the next, and leaves the clock at `offset`.
    pub fn run_until(&mut self, offset: Duration) -> Vec<Delivery> {
        let deadline = self.at(offset);
        let mut out = Vec::new();
        loop {
            while let Some(datagram) = self.net.poll_delivery(self.clock.now()) {
                out.push(Delivery { at: self.clock.elapsed(), datagram });
            }
            match self.net.poll_timeout() {
                Some(t) if t <= deadline => self.clock.advance_to(t),
                _ => break,
            }
        }
        self.clock.advance_to(deadline);
        out
    }

    /// Delivers everything still in flight.
    pub fn drain(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        while let Some(t) = self.net.poll_timeout() {
            self.clock.advance_to(t);
            while let Some(datagram) = self.net.poll_delivery(self.clock.now()) {
                out.push(Delivery { at: self.clock.elapsed(), datagram });
            }
        }
        out
    }

    /// Sends `count` numbered datagrams of `len` bytes from `from` to `to`, one every
    /// `interval` starting now, then drains: returns every delivery (of any flow).
    pub fn send_train(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        count: u32,
        interval: Duration,
        len: usize,
    ) -> Vec<Delivery> {
        let start = self.clock.elapsed();
        let mut out = Vec::new();
        for n in 0..count {
            out.extend(self.run_until(start + interval * n));
            self.send(from, to, &numbered(n, len));
        }
        out.extend(self.drain());
        out
    }
}

/// The numbers of delivered datagrams, in delivery order.
pub fn numbers(deliveries: &[Delivery]) -> Vec<u32> {
    deliveries.iter().map(|d| number(&d.datagram)).collect()
}

/// Checks the conservation law of [`netsim::NetStats`].
pub fn assert_conserved(net: &Network) {
    let s = net.stats();
    assert_eq!(s.sent + s.duplicated, s.accounted() + net.in_flight() as u64, "every datagram accounted for: {s:?}");
}
