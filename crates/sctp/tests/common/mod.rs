//! Two associations on a simulated network, on a virtual clock (driven by
//! [`netsim::Simulation`]).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
pub use netsim::Simulation;
use netsim::{Datagram, Endpoint, LinkConfig, Network, VirtualClock};
use sctp::chunk::{Chunk, DataChunk};
use sctp::{Association, CommonHeader, Packet, SctpConfig, SctpEvent, SendParams};

pub struct Sim {
    pub net: Network,
    pub clock: VirtualClock,
    pub a: Association,
    pub b: Association,
    pub addr_a: SocketAddr,
    pub addr_b: SocketAddr,
    pub ev_a: Vec<SctpEvent>,
    pub ev_b: Vec<SctpEvent>,
    /// When set, every packet either side sends is recorded here.
    pub tap: Option<Vec<Vec<u8>>>,
    /// Flush an association after each datagram it receives (see
    /// [`Simulation::flush_each_delivery`]).
    pub eager: bool,
}

pub fn config(seed: u64) -> SctpConfig {
    SctpConfig { seed, ..SctpConfig::default() }
}

pub fn link(latency_ms: u64) -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(latency_ms), ..LinkConfig::default() }
}

pub fn lossy(latency_ms: u64, loss: f64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(2),
        loss,
        reorder: if loss > 0.0 { 0.02 } else { 0.0 },
        reorder_delay: Duration::from_millis(15),
        duplicate: if loss > 0.0 { 0.01 } else { 0.0 },
        ..LinkConfig::default()
    }
}

impl Sim {
    /// `ab` shapes packets from A to B, `ba` from B to A.
    pub fn new(seed: u64, ab: LinkConfig, ba: LinkConfig, ca: SctpConfig, cb: SctpConfig) -> Sim {
        let addr_a: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let addr_b: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let mut net = Network::new(seed);
        net.add_host(addr_a.ip());
        net.add_host(addr_b.ip());
        net.set_egress(addr_a.ip(), ab);
        net.set_egress(addr_b.ip(), ba);
        let clock = VirtualClock::new(Instant::now());
        let now = clock.now();
        Sim {
            a: Association::new(now, ca),
            b: Association::new(now, cb),
            net,
            clock,
            addr_a,
            addr_b,
            ev_a: Vec::new(),
            ev_b: Vec::new(),
            tap: None,
            eager: false,
        }
    }

    pub fn connect(&mut self) {
        let now = self.now();
        self.a.connect(now);
        assert!(
            self.run_until(Duration::from_secs(120), |s| s.a.is_established() && s.b.is_established()),
            "association did not come up"
        );
    }

    /// Messages B received, removed from `ev_b`.
    pub fn take_messages_b(&mut self) -> Vec<(u16, u32, Bytes)> {
        let mut out = Vec::new();
        self.ev_b.retain(|e| match e {
            SctpEvent::Message { stream, ppid, data } => {
                out.push((*stream, *ppid, data.clone()));
                false
            }
            _ => true,
        });
        out
    }
}

/// One association as the simulation drives it: its packets go from its address to the
/// peer's, checked against the MTU and recorded by the tap; its events go to its log.
pub struct Node<'a> {
    assoc: &'a mut Association,
    events: &'a mut Vec<SctpEvent>,
    from: SocketAddr,
    to: SocketAddr,
    tap: &'a mut Option<Vec<Vec<u8>>>,
}

impl Endpoint for Node<'_> {
    fn handle_receive(&mut self, now: Instant, _local: SocketAddr, _source: SocketAddr, data: &[u8]) {
        self.assoc.handle_receive(now, data);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        let Some(p) = self.assoc.poll_transmit(now) else {
            self.events.extend(std::iter::from_fn(|| self.assoc.poll_event()));
            return None;
        };
        assert!(p.len() <= 1200, "packet over the MTU");
        if let Some(t) = self.tap.as_mut() {
            t.push(p.clone());
        }
        Some(Datagram { from: self.from, to: self.to, data: p })
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

impl Simulation for Sim {
    type Endpoint<'a> = Node<'a>;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    fn endpoint(&mut self, i: usize) -> Node<'_> {
        let (assoc, events, from, to) = match i {
            0 => (&mut self.a, &mut self.ev_a, self.addr_a, self.addr_b),
            _ => (&mut self.b, &mut self.ev_b, self.addr_b, self.addr_a),
        };
        Node { assoc, events, from, to, tap: &mut self.tap }
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        Some(usize::from(to == self.addr_b))
    }

    fn flush_each_delivery(&self) -> bool {
        self.eager
    }
}

/// Deterministic message content: an 8-byte header (stream, sequence) then a slice of a
/// fixed pseudo-random template, so that checks are memcmp-fast.
pub struct Pattern {
    template: Bytes,
}

impl Pattern {
    pub fn new() -> Pattern {
        let template = testkit::Rng::xorshift64(0x9e3779b97f4a7c15).bytes(2 << 20);
        Pattern { template: Bytes::from(template) }
    }

    pub fn message(&self, stream: u16, seq: u32, len: usize) -> Bytes {
        assert!((8..=(1 << 20)).contains(&len));
        let off = (seq as usize * 7919 + stream as usize * 131) % (1 << 20);
        let mut m = Vec::with_capacity(len);
        m.extend_from_slice(&(stream as u32).to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&self.template[off..off + len - 8]);
        Bytes::from(m)
    }

    /// Checks a received message; returns its (stream, seq).
    pub fn check(&self, data: &[u8]) -> (u16, u32) {
        assert!(data.len() >= 8, "short message");
        let stream = u32::from_be_bytes(data[0..4].try_into().unwrap()) as u16;
        let seq = u32::from_be_bytes(data[4..8].try_into().unwrap());
        let off = (seq as usize * 7919 + stream as usize * 131) % (1 << 20);
        assert!(data[8..] == self.template[off..off + data.len() - 8], "corrupt message {stream}/{seq}");
        (stream, seq)
    }
}

// ---- forging packets, for the hostile tests ---------------------------------------------

pub fn established(cb: SctpConfig) -> Sim {
    let mut sim = Sim::new(1, link(5), link(5), config(1), cb);
    sim.connect();
    sim
}

/// A packet as A would send it to B, with B's verification tag and a valid CRC32c.
pub fn forge(sim: &Sim, chunks: Vec<Chunk>) -> Vec<u8> {
    let vtag = sim.b.local_tag_for_fuzzing().unwrap();
    Packet { header: CommonHeader { src_port: 5000, dst_port: 5000, vtag, checksum: 0 }, chunks }.encode(false)
}

/// Sends a message from A and returns the DATA chunk B received (B's next expected TSN is
/// its TSN + 1).
pub fn probe(sim: &mut Sim, text: &str) -> DataChunk {
    let now = sim.now();
    sim.a.send(now, 0, 51, Bytes::copy_from_slice(text.as_bytes()), SendParams::default()).unwrap();
    let p = sim.a.poll_transmit(now).unwrap();
    sim.b.handle_receive(now, &p);
    let d = Packet::decode(&p, false)
        .unwrap()
        .chunks
        .into_iter()
        .find_map(|c| if let Chunk::Data(d) = c { Some(d) } else { None })
        .unwrap();
    assert!(sim.run_until(Duration::from_secs(5), |s| s.take_messages_b().iter().any(|(_, _, d)| d == text.as_bytes())));
    d
}
