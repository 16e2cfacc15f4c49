//! A deterministic simulated UDP network for scenario tests of sans-IO engines.
//!
//! # What it models
//!
//! Hosts, identified by IP address, exchange UDP datagrams. Each host has an **egress** and
//! an **ingress** link ([`LinkConfig`]): latency, jitter, independent and bursty
//! (Gilbert-Elliott) loss, reordering, duplication, a serialization rate with a drop-tail
//! queue. Hosts are either public or behind a **NAT** ([`NatMapping`], [`NatFiltering`], in
//! RFC 4787 terms) with idle timeouts. A datagram from A to B takes this path:
//!
//! ```text
//! A --egress(A)--> [NAT of A: outbound] --> [NAT of B's address: inbound + filter] --ingress(B)--> B
//! ```
//!
//! The NAT steps only apply when A and B are not behind the same NAT; hosts behind the
//! same NAT talk directly, and a host sending to its own NAT's public address is hairpinned.
//! [`NetStats`] counts every outcome: delivered, lost, dropped (and why), duplicated.
//!
//! # The sans-IO loop
//!
//! Like the engines it connects, the network never reads a clock, sleeps, spawns or touches
//! a socket: time is always an argument. The caller owns a [`VirtualClock`] and repeats:
//! hand datagrams in with [`Network::send`], jump the clock to the earliest wake-up (the
//! minimum of [`Network::poll_timeout`] and every engine's timeout), then drain
//! [`Network::poll_delivery`] and feed each [`Datagram`] to the engine at
//! [`Datagram::to`], whose output goes back into `send`.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! use netsim::{LinkConfig, Network, VirtualClock};
//!
//! let alice: SocketAddr = "198.51.100.1:5000".parse().unwrap();
//! let bob: SocketAddr = "203.0.113.7:6000".parse().unwrap();
//!
//! let mut net = Network::new(7); // the seed: same seed, same run
//! net.add_host(alice.ip());
//! net.add_host(bob.ip());
//! let link = LinkConfig { latency: Duration::from_millis(25), ..LinkConfig::default() };
//! net.set_egress(alice.ip(), link.clone());
//! net.set_ingress(bob.ip(), link);
//!
//! let mut clock = VirtualClock::new(Instant::now());
//! net.send(clock.now(), alice, bob, b"ping");
//!
//! let mut received = Vec::new();
//! while let Some(wake_up) = net.poll_timeout() {
//!     clock.advance_to(wake_up);
//!     while let Some(datagram) = net.poll_delivery(clock.now()) {
//!         // A real test hands `datagram` to the engine bound to `datagram.to` here, and
//!         // sends whatever it transmits back through `net.send(clock.now(), ..)`.
//!         received.push((clock.elapsed(), datagram));
//!     }
//! }
//!
//! assert_eq!(received.len(), 1);
//! let (elapsed, datagram) = &received[0];
//! assert_eq!(*elapsed, Duration::from_millis(50)); // 25 ms egress + 25 ms ingress
//! assert_eq!((datagram.from, datagram.to), (alice, bob));
//! assert_eq!(datagram.data, b"ping");
//! assert_eq!(net.stats().delivered, 1);
//! ```
//!
//! Scenario tests of engines do not write this loop themselves: they implement [`Endpoint`]
//! for their engine and [`Simulation`] for their fixture, whose provided methods
//! ([`run_until`](Simulation::run_until), [`settle`](Simulation::settle),
//! [`step`](Simulation::step)) are the one drive loop every crate's tests share.
//!
//! # Design decisions
//!
//! - **Deterministic.** All randomness comes from one [`rand::rngs::StdRng`] seeded in
//!   [`Network::new`] (platform-independent, unlike `SmallRng`); all maps are ordered;
//!   ties are broken by send order. Same seed and same calls give the same run, bit for bit.
//!   A random draw is only made when a probability is strictly between 0 and 1, so
//!   perfect links consume no randomness. Draws happen in virtual-time order, so how often
//!   the caller polls does not change the run.
//! - **Stages happen at their own instant.** A datagram is routed (NAT translation and
//!   filtering, then the receiver's ingress link) when it leaves the sender's egress link,
//!   not when it is sent, so NAT mappings and ingress queues see packets in the order they
//!   reach them. Consequence: when both the egress and the ingress link delay a datagram,
//!   [`Network::poll_timeout`] first returns the instant it leaves the egress link, and
//!   polling then delivers nothing yet. Always loop until `poll_timeout` is `None` (or past
//!   your deadline) rather than expecting a delivery per wake-up.
//! - **Time never goes backwards.** An instant earlier than one already seen is treated as
//!   the latest one seen, so queues and NATs stay consistent whatever the caller passes.
//! - **Bounded memory.** Link queues have a byte limit (drop-tail, default 256 KiB), the
//!   whole network has an in-flight byte limit (default 64 MiB, see
//!   [`Network::set_max_in_flight_bytes`]), NATs cap mappings (default 4096, least recently
//!   active evicted) and remembered peers per mapping (256). Drops are counted.
//! - **Never fails, never panics.** There are no errors: unknown hosts, NaN or out-of-range
//!   probabilities, absurd durations (the datagram is lost) and time going backwards are all
//!   handled and, where a datagram is affected, counted in [`NetStats`].
//! - **What is left out.** No IP/UDP header overhead (rates count payload bytes), no MTU,
//!   no ICMP, no port binding (hosts accept every port; demultiplexing is the caller's), no
//!   port-preserving NATs. Hosts are identified by IP, so private addresses must be unique
//!   across the whole network.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod link;
mod nat;
mod network;
mod sim;
mod stats;

pub use clock::VirtualClock;
pub use link::{BurstLoss, LinkConfig, DEFAULT_QUEUE_LIMIT_BYTES};
pub use nat::{
    NatConfig, NatFiltering, NatId, NatMapping, DEFAULT_FIRST_PORT, DEFAULT_MAPPING_TIMEOUT, DEFAULT_MAX_MAPPINGS,
    MAX_PERMISSIONS_PER_MAPPING,
};
pub use network::{Datagram, Network, DEFAULT_MAX_IN_FLIGHT_BYTES, PER_DATAGRAM_OVERHEAD_BYTES};
pub use sim::{Endpoint, Simulation, MAX_STEPS};
pub use stats::NetStats;
