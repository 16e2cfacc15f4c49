//! The network: hosts, NATs, routing, and the two queues of datagrams in flight.
//!
//! A datagram is processed in two steps, each at its own virtual instant:
//!
//! 1. At [`Network::send`] (time `now`) it crosses the sender's egress link and lands in
//!    `transit` with the instant it leaves that link.
//! 2. At that instant it is routed: NAT outbound translation, NAT inbound translation and
//!    filtering, then the receiver's ingress link; it lands in `arriving` with its delivery
//!    instant, where [`Network::poll_delivery`] picks it up.
//!
//! Step 2 runs as soon as the network has seen an instant at or past the transit instant
//! (in `send` or `poll_delivery`), in (instant, send order) order, so NAT state and ingress
//! queues see packets in the order they physically reach them.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::link::{Link, LinkConfig, Verdict};
use crate::nat::{Nat, NatConfig, NatFiltering, NatId, NatMapping};
use crate::stats::{bump, NetStats};

/// Default cap on bytes in flight in the whole network (see
/// [`Network::set_max_in_flight_bytes`]).
pub const DEFAULT_MAX_IN_FLIGHT_BYTES: usize = 64 * 1024 * 1024;

/// Bookkeeping cost charged per datagram in flight on top of its payload, so that even
/// empty datagrams count against the in-flight limit.
pub const PER_DATAGRAM_OVERHEAD_BYTES: usize = 64;

/// A datagram handed out by [`Network::poll_delivery`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The source as the receiver sees it (after NAT translation: a NAT's public address
    /// when the sender is behind a NAT the receiver is not behind).
    pub from: SocketAddr,
    /// The receiving host's own address (after NAT translation: its private address when it
    /// is behind a NAT).
    pub to: SocketAddr,
    /// The payload, unchanged.
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
struct Host {
    nat: Option<NatId>,
    egress: Link,
    ingress: Link,
    down: bool,
}

/// A datagram in flight, ordered by (instant, send order, copy order).
#[derive(Debug)]
struct Packet {
    at: Instant,
    send_seq: u64,
    seq: u64,
    sender: IpAddr,
    from: SocketAddr,
    to: SocketAddr,
    data: Vec<u8>,
}

impl Packet {
    fn key(&self) -> (Instant, u64, u64) {
        (self.at, self.send_seq, self.seq)
    }

    fn cost(&self) -> usize {
        cost(self.data.len())
    }
}

fn cost(len: usize) -> usize {
    len.saturating_add(PER_DATAGRAM_OVERHEAD_BYTES)
}

impl PartialEq for Packet {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Packet {}

impl PartialOrd for Packet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Packet {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Which in-flight queue a packet goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Left the sender's egress link; not yet routed.
    Transit,
    /// Through the receiver's ingress link; waiting for its delivery instant.
    Arriving,
}

/// A simulated UDP network of hosts, links and NATs, driven by the caller's clock.
///
/// See the [crate documentation](crate) for the model and the driving loop.
#[derive(Debug)]
pub struct Network {
    rng: StdRng,
    hosts: BTreeMap<IpAddr, Host>,
    nats: Vec<Nat>,
    nat_by_ip: BTreeMap<IpAddr, NatId>,
    transit: BinaryHeap<Reverse<Packet>>,
    arriving: BinaryHeap<Reverse<Packet>>,
    /// The latest instant seen; earlier instants passed in later are treated as this one.
    clock: Option<Instant>,
    next_send_seq: u64,
    next_seq: u64,
    in_flight_bytes: usize,
    max_in_flight_bytes: usize,
    stats: NetStats,
}

impl Network {
    /// An empty network whose randomness all comes from `seed`.
    pub fn new(seed: u64) -> Self {
        Network {
            rng: StdRng::seed_from_u64(seed),
            hosts: BTreeMap::new(),
            nats: Vec::new(),
            nat_by_ip: BTreeMap::new(),
            transit: BinaryHeap::new(),
            arriving: BinaryHeap::new(),
            clock: None,
            next_send_seq: 0,
            next_seq: 0,
            in_flight_bytes: 0,
            max_in_flight_bytes: DEFAULT_MAX_IN_FLIGHT_BYTES,
            stats: NetStats::default(),
        }
    }

    /// A host with a public address reachable by everyone. It accepts datagrams on every
    /// port. Adding an address again replaces that host (fresh perfect links, up).
    pub fn add_host(&mut self, ip: IpAddr) {
        self.hosts.insert(ip, Host::default());
    }

    /// A NAT box with a public IP and the given behaviours, with the default timeout
    /// (120 s idle), mapping cap (4096) and first port (40000). See
    /// [`add_nat_with_config`](Self::add_nat_with_config).
    pub fn add_nat(&mut self, public_ip: IpAddr, mapping: NatMapping, filtering: NatFiltering) -> NatId {
        self.add_nat_with_config(public_ip, NatConfig::new(mapping, filtering))
    }

    /// A NAT box with a public IP and a full configuration. Packets to `public_ip` go
    /// through this NAT's inbound translation (a later NAT with the same public IP takes
    /// the address over; a public host with that address takes precedence).
    pub fn add_nat_with_config(&mut self, public_ip: IpAddr, config: NatConfig) -> NatId {
        let id = NatId(self.nats.len());
        self.nats.push(Nat::new(public_ip, config));
        self.nat_by_ip.insert(public_ip, id);
        id
    }

    /// A host with a private IP behind `nat`. Its packets to hosts not behind the same NAT
    /// get their source rewritten by the NAT; packets from outside reach it only through a
    /// mapping the NAT allows. Hosts behind the same NAT reach each other directly.
    ///
    /// Private addresses must be unique in the whole network (hosts are identified by IP).
    /// A `nat` of another network that does not exist in this one is ignored.
    pub fn add_host_behind_nat(&mut self, ip: IpAddr, nat: NatId) {
        if nat.0 < self.nats.len() {
            self.hosts.insert(ip, Host { nat: Some(nat), ..Host::default() });
        }
    }

    /// Conditions applied to every packet the host at `ip` sends. Replaces the previous
    /// configuration; packets already queued keep their timing. No effect on unknown hosts.
    pub fn set_egress(&mut self, ip: IpAddr, link: LinkConfig) {
        if let Some(host) = self.hosts.get_mut(&ip) {
            host.egress.config = link;
        }
    }

    /// Conditions applied to every packet the host at `ip` receives. Replaces the previous
    /// configuration; packets already queued keep their timing. No effect on unknown hosts.
    pub fn set_ingress(&mut self, ip: IpAddr, link: LinkConfig) {
        if let Some(host) = self.hosts.get_mut(&ip) {
            host.ingress.config = link;
        }
    }

    /// Takes a host off the network or puts it back. While down, what it sends is dropped
    /// at `send`, and what is addressed to it is dropped when it reaches it (also packets
    /// already in flight). Counted in [`NetStats::dropped_host_down`].
    pub fn set_host_down(&mut self, ip: IpAddr, down: bool) {
        if let Some(host) = self.hosts.get_mut(&ip) {
            host.down = down;
        }
    }

    /// Caps the bytes in flight in the whole network (each datagram costs its length plus
    /// [`PER_DATAGRAM_OVERHEAD_BYTES`]). Datagrams sent beyond the cap are dropped and
    /// counted in [`NetStats::dropped_queue`]. Default [`DEFAULT_MAX_IN_FLIGHT_BYTES`].
    pub fn set_max_in_flight_bytes(&mut self, bytes: usize) {
        self.max_in_flight_bytes = bytes;
    }

    /// Hands a datagram to the network at `now`. `from.ip()` must be a host; its port is
    /// free. Unknown sources and destinations are dropped and counted (the destination is
    /// checked when the datagram leaves the sender's egress link).
    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let now = self.observe(now);
        // Route what reached a router before or at `now` first: the draws from the shared
        // RNG then happen in time order whether or not the caller polled in between.
        self.route_until(now);
        bump(&mut self.stats.sent, 1);
        bump(&mut self.stats.bytes_sent, data.len() as u64);
        let send_seq = self.next_send_seq;
        self.next_send_seq = self.next_send_seq.wrapping_add(1);

        let Some(host) = self.hosts.get_mut(&from.ip()) else {
            bump(&mut self.stats.dropped_unroutable, 1);
            return;
        };
        if host.down {
            bump(&mut self.stats.dropped_host_down, 1);
            return;
        }
        if !has_room(self.in_flight_bytes, self.max_in_flight_bytes, data.len()) {
            bump(&mut self.stats.dropped_queue, 1);
            return;
        }
        let verdict = host.egress.transmit(now, data.len(), &mut self.rng);
        let packet = Packet { at: now, send_seq, seq: 0, sender: from.ip(), from, to, data: data.to_vec() };
        self.forward(Stage::Transit, verdict, packet);
        self.route_until(now);
    }

    /// The earliest instant at which the network has something to do: a datagram becomes
    /// deliverable, or one leaves a sender's egress link and must be routed (which may
    /// deliver nothing yet, when the receiver's ingress link delays it further). `None`
    /// when nothing is in flight. May be in the past: poll right away.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let transit = self.transit.peek().map(|Reverse(p)| p.at);
        let arriving = self.arriving.peek().map(|Reverse(p)| p.at);
        match (transit, arriving) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next datagram whose delivery instant is at or before `now` (or the latest
    /// instant seen, if later), in delivery order (ties in send order). Call until `None`
    /// after every clock advance.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<Datagram> {
        let now = self.observe(now);
        self.route_until(now);
        while self.arriving.peek().is_some_and(|Reverse(p)| p.at <= now) {
            let Reverse(packet) = self.arriving.pop()?;
            self.release(&packet);
            if self.hosts.get(&packet.to.ip()).is_some_and(|h| h.down) {
                bump(&mut self.stats.dropped_host_down, 1);
                continue;
            }
            bump(&mut self.stats.delivered, 1);
            bump(&mut self.stats.bytes_delivered, packet.data.len() as u64);
            return Some(Datagram { from: packet.from, to: packet.to, data: packet.data });
        }
        None
    }

    /// Counters since creation.
    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Datagrams in flight (sent and not yet delivered, lost or dropped).
    pub fn in_flight(&self) -> usize {
        self.transit.len() + self.arriving.len()
    }

    /// Mappings of `nat` still alive at `now` (0 for an unknown NAT).
    pub fn nat_mapping_count(&self, nat: NatId, now: Instant) -> usize {
        self.nats.get(nat.0).map_or(0, |n| n.live_mappings(now))
    }

    /// The public IP of `nat`, if it exists in this network.
    pub fn nat_public_ip(&self, nat: NatId) -> Option<IpAddr> {
        self.nats.get(nat.0).map(|n| n.public_ip)
    }

    /// Records `now` and returns the instant to use: never earlier than one seen before.
    fn observe(&mut self, now: Instant) -> Instant {
        let t = match self.clock {
            Some(seen) if seen > now => seen,
            _ => now,
        };
        self.clock = Some(t);
        t
    }

    /// Routes every transit packet due at or before `now`. Safe because nothing sent from
    /// now on can reach a router before `now`.
    fn route_until(&mut self, now: Instant) {
        while self.transit.peek().is_some_and(|Reverse(p)| p.at <= now) {
            let Some(Reverse(packet)) = self.transit.pop() else {
                break;
            };
            self.release(&packet);
            self.route(packet);
        }
    }

    /// NAT translation and filtering, then the receiver's ingress link, at `packet.at`.
    fn route(&mut self, mut packet: Packet) {
        let at = packet.at;
        let sender_nat = self.hosts.get(&packet.sender).and_then(|h| h.nat);
        // None: no host has this IP; Some(None): a public host; Some(Some(n)): behind n.
        let receiver = self.hosts.get(&packet.to.ip()).map(|h| h.nat);
        let same_nat = matches!((sender_nat, receiver), (Some(a), Some(Some(b))) if a == b);

        if !same_nat {
            if let Some(nat) = sender_nat {
                let public = self.nats.get_mut(nat.0).and_then(|n| n.outbound(at, packet.from, packet.to));
                match public {
                    Some(public) => packet.from = public,
                    None => {
                        bump(&mut self.stats.dropped_nat_filter, 1);
                        return;
                    }
                }
            }
            if receiver != Some(None) {
                // Not a public host: only reachable through a NAT's public address.
                let Some(&nat) = self.nat_by_ip.get(&packet.to.ip()) else {
                    bump(&mut self.stats.dropped_unroutable, 1);
                    return;
                };
                let private = self.nats.get_mut(nat.0).and_then(|n| n.inbound(at, packet.from, packet.to.port()));
                match private {
                    Some(private) => packet.to = private,
                    None => {
                        bump(&mut self.stats.dropped_nat_filter, 1);
                        return;
                    }
                }
            }
        }

        let Some(host) = self.hosts.get_mut(&packet.to.ip()) else {
            bump(&mut self.stats.dropped_unroutable, 1);
            return;
        };
        if host.down {
            bump(&mut self.stats.dropped_host_down, 1);
            return;
        }
        let verdict = host.ingress.transmit(at, packet.data.len(), &mut self.rng);
        self.forward(Stage::Arriving, verdict, packet);
    }

    /// Counts a link's verdict and queues the packet (and its duplicate) if it passed.
    fn forward(&mut self, stage: Stage, verdict: Verdict, mut packet: Packet) {
        match verdict {
            Verdict::QueueFull => bump(&mut self.stats.dropped_queue, 1),
            Verdict::Lost => bump(&mut self.stats.lost, 1),
            Verdict::LostBurst => bump(&mut self.stats.lost_burst, 1),
            Verdict::Pass { at, duplicate, reordered } => {
                if reordered {
                    bump(&mut self.stats.reordered, 1);
                }
                packet.at = at;
                let after_original = self.in_flight_bytes.saturating_add(packet.cost());
                let copy = if duplicate && has_room(after_original, self.max_in_flight_bytes, packet.data.len()) {
                    Some(Packet { data: packet.data.clone(), ..packet })
                } else {
                    None
                };
                self.enqueue(stage, packet);
                if let Some(copy) = copy {
                    bump(&mut self.stats.duplicated, 1);
                    self.enqueue(stage, copy);
                }
            }
        }
    }

    fn enqueue(&mut self, stage: Stage, mut packet: Packet) {
        packet.seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.in_flight_bytes = self.in_flight_bytes.saturating_add(packet.cost());
        match stage {
            Stage::Transit => self.transit.push(Reverse(packet)),
            Stage::Arriving => self.arriving.push(Reverse(packet)),
        }
    }

    fn release(&mut self, packet: &Packet) {
        self.in_flight_bytes = self.in_flight_bytes.saturating_sub(packet.cost());
    }
}

/// Whether a datagram of `len` bytes fits under the in-flight cap.
fn has_room(in_flight: usize, max: usize, len: usize) -> bool {
    in_flight.saturating_add(cost(len)) <= max
}
