//! The one drive loop of every scenario test: sans-IO endpoints on a [`Network`], stepped
//! on a [`VirtualClock`] from one pending event to the next.
//!
//! A test implements [`Endpoint`] once per engine (an adapter in that crate's
//! `tests/common`) and [`Simulation`] once per fixture (which endpoint owns which address,
//! and any other timed work such as signaling). The provided methods of [`Simulation`]
//! then run the loop:
//!
//! - [`step`](Simulation::step): jump the clock to the earliest pending event (a datagram in
//!   the network, an endpoint's timeout, the fixture's own work) and run everything due;
//! - [`run_until`](Simulation::run_until): step until a condition holds or a deadline in
//!   virtual time passes;
//! - [`settle`](Simulation::settle): run for a fixed span of virtual time.
//!
//! Every loop is bounded in virtual time and in steps ([`MAX_STEPS`]): a timer that never
//! moves forward fails the test with a message instead of hanging it.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! use netsim::{Datagram, Endpoint, LinkConfig, Network, Simulation, VirtualClock};
//!
//! /// Answers every datagram with "pong" after a 10 ms think time.
//! struct Ponger { addr: SocketAddr, pending: Option<(Instant, SocketAddr)>, out: Vec<Datagram>, got: usize }
//!
//! impl Endpoint for Ponger {
//!     fn handle_receive(&mut self, now: Instant, _local: SocketAddr, source: SocketAddr, _data: &[u8]) {
//!         self.got += 1;
//!         self.pending = Some((now + Duration::from_millis(10), source));
//!     }
//!     fn handle_timeout(&mut self, now: Instant) {
//!         if let Some((_, to)) = self.pending.take_if(|(at, _)| *at <= now) {
//!             self.out.push(Datagram { from: self.addr, to, data: b"pong".to_vec() });
//!         }
//!     }
//!     fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
//!         self.out.pop()
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         self.pending.map(|(at, _)| at)
//!     }
//! }
//!
//! struct Pair { net: Network, clock: VirtualClock, nodes: [Ponger; 2] }
//!
//! impl Simulation for Pair {
//!     type Endpoint<'a> = &'a mut Ponger;
//!     fn world(&mut self) -> (&mut Network, &mut VirtualClock) { (&mut self.net, &mut self.clock) }
//!     fn endpoint(&mut self, i: usize) -> &mut Ponger { &mut self.nodes[i] }
//!     fn route(&self, to: SocketAddr) -> Option<usize> { self.nodes.iter().position(|n| n.addr == to) }
//! }
//!
//! let addr: [SocketAddr; 2] = ["198.51.100.1:1".parse().unwrap(), "203.0.113.7:2".parse().unwrap()];
//! let mut net = Network::new(1);
//! for a in addr {
//!     net.add_host(a.ip());
//!     net.set_egress(a.ip(), LinkConfig { latency: Duration::from_millis(20), ..LinkConfig::default() });
//! }
//! let node = |addr| Ponger { addr, pending: None, out: Vec::new(), got: 0 };
//! let mut pair = Pair { net, clock: VirtualClock::new(Instant::now()), nodes: [node(addr[0]), node(addr[1])] };
//! pair.nodes[0].out.push(Datagram { from: addr[0], to: addr[1], data: b"ping".to_vec() });
//!
//! // Ping-pong forever: 20 ms on the wire plus 10 ms think time per hop.
//! assert!(pair.run_until(Duration::from_secs(1), |p| p.nodes[0].got == 3));
//! assert_eq!(pair.clock.elapsed(), Duration::from_millis(5 * 30 + 20));
//! pair.settle(Duration::from_secs(1));
//! assert_eq!(pair.clock.elapsed(), Duration::from_millis(1170));
//! ```

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::{Datagram, Network, VirtualClock};

/// Upper bound on the steps of one [`Simulation::run_until`], whatever virtual time says.
pub const MAX_STEPS: usize = 2_000_000;

/// A sans-IO engine as the simulation sees it: datagrams and time in, datagrams and the next
/// timeout out. Adapters drain their engine's events into their own log (on every input and
/// when [`poll_transmit`](Endpoint::poll_transmit) runs dry).
pub trait Endpoint {
    /// `data` arrived at the endpoint's address `local` from `source` (as the network saw
    /// them: after NAT translation).
    fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]);
    /// The instant from [`poll_timeout`](Endpoint::poll_timeout) has come.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send; `None` when there is nothing left to send for now.
    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram>;
    /// When the endpoint next needs [`handle_timeout`](Endpoint::handle_timeout).
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Endpoints behind a pointer (`&mut E`, `Box<dyn Endpoint>`) are endpoints too.
macro_rules! forward_endpoint {
    ($($pointer:ty),*) => {$(
        impl<E: Endpoint + ?Sized> Endpoint for $pointer {
            fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
                (**self).handle_receive(now, local, source, data)
            }
            fn handle_timeout(&mut self, now: Instant) {
                (**self).handle_timeout(now)
            }
            fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
                (**self).poll_transmit(now)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                (**self).poll_timeout()
            }
        }
    )*};
}

forward_endpoint!(&mut E, Box<E>);

/// A scenario: endpoints on a network, driven on a virtual clock.
///
/// Implement the required methods (which parts the fixture holds, and who owns an address);
/// the provided ones are the drive loop.
pub trait Simulation: Sized {
    /// The adapter handed out for one endpoint (often a view borrowing the fixture's fields).
    type Endpoint<'a>: Endpoint
    where
        Self: 'a;

    /// The network between the endpoints and the virtual clock.
    fn world(&mut self) -> (&mut Network, &mut VirtualClock);
    /// How many endpoints there are (numbered from 0); two unless said otherwise.
    fn endpoint_count(&self) -> usize {
        2
    }
    /// Endpoint `i`.
    fn endpoint(&mut self, i: usize) -> Self::Endpoint<'_>;
    /// Which endpoint receives datagrams addressed to `to` (`None`: nobody; dropped).
    fn route(&self, to: SocketAddr) -> Option<usize>;

    /// The earliest instant of other pending work (signaling, for example). May be now.
    fn poll_extra(&mut self) -> Option<Instant> {
        None
    }
    /// Runs the other work due at `now`; called once per step, after the deliveries and
    /// before the endpoints' timeouts. Whatever it makes endpoints send is flushed after.
    fn handle_extra(&mut self, _now: Instant) {}

    /// Whether an endpoint's output is flushed after each datagram it receives (as a
    /// driver that answers every datagram at once) rather than after all deliveries due
    /// at one instant (as a driver that reads a batch first). Both happen in real drivers;
    /// the order changes which packets meet in flight, so scenario tests may run both.
    fn flush_each_delivery(&self) -> bool {
        false
    }

    /// The network between the endpoints.
    fn net(&mut self) -> &mut Network {
        self.world().0
    }

    /// The virtual clock.
    fn clock(&mut self) -> &mut VirtualClock {
        self.world().1
    }

    /// The current virtual time.
    fn now(&mut self) -> Instant {
        self.clock().now()
    }

    /// Hands everything endpoint `i` wants to send to the network.
    fn flush(&mut self, i: usize) {
        let now = self.now();
        loop {
            let Some(d) = self.endpoint(i).poll_transmit(now) else { break };
            self.net().send(now, d.from, d.to, &d.data);
        }
    }

    /// [`flush`](Simulation::flush) for every endpoint.
    fn flush_all(&mut self) {
        for i in 0..self.endpoint_count() {
            self.flush(i);
        }
    }

    /// The earliest pending event of the network, the endpoints and the extra work.
    fn next_event(&mut self) -> Option<Instant> {
        let mut next = self.net().poll_timeout();
        for i in 0..self.endpoint_count() {
            next = earliest(next, self.endpoint(i).poll_timeout());
        }
        earliest(next, self.poll_extra())
    }

    /// Runs everything due at the current virtual time: every delivery, the extra work,
    /// then the timeouts that are due (endpoints flushed after each of these stages).
    fn run_due(&mut self) {
        let now = self.now();
        while let Some(d) = self.net().poll_delivery(now) {
            let Some(i) = self.route(d.to) else { continue };
            self.endpoint(i).handle_receive(now, d.to, d.from, &d.data);
            if self.flush_each_delivery() {
                self.flush(i);
            }
        }
        self.handle_extra(now);
        self.flush_all();
        for i in 0..self.endpoint_count() {
            let mut e = self.endpoint(i);
            if e.poll_timeout().is_some_and(|t| t <= now) {
                e.handle_timeout(now);
            }
            drop(e);
            self.flush(i);
        }
    }

    /// Jumps to the earliest pending event and runs everything due then. False (and the
    /// clock unmoved) when nothing is pending at all.
    fn step(&mut self) -> bool {
        self.flush_all();
        let Some(next) = self.next_event() else { return false };
        self.clock().advance_to(next);
        self.run_due();
        true
    }

    /// Steps until `done` holds (true) or `limit` of virtual time has passed (false; the
    /// clock is then at the deadline). Fails the test after [`MAX_STEPS`] steps.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let start = self.now();
        let deadline = start + limit;
        for _ in 0..MAX_STEPS {
            if done(self) {
                return true;
            }
            // `done` may have made an endpoint write: send it before looking for what is next.
            self.flush_all();
            match self.next_event() {
                Some(next) if next <= deadline => {
                    self.clock().advance_to(next);
                    self.run_due();
                }
                _ => {
                    self.clock().advance_to(deadline);
                    return done(self);
                }
            }
        }
        let at = self.now().saturating_duration_since(start);
        panic!("simulation stuck: {MAX_STEPS} steps within {at:?} of virtual time");
    }

    /// Runs for exactly `d` of virtual time, whatever happens.
    fn settle(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
