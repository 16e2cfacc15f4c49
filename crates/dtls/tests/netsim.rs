//! Scenario tests: two [`DtlsTransport`]s talk through the deterministic
//! simulated network of `oxrtc-netsim` on a virtual clock, driven by
//! [`netsim::Simulation`].

mod common;

use common::EventLog;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dtls::{Algorithm, Certificate, DtlsConfig, DtlsError, DtlsEvent, DtlsTransport, DtlsVersion, Fingerprint, Role};
use netsim::{Datagram, Endpoint, LinkConfig, Network, Simulation, VirtualClock};

fn sha256(c: &Certificate) -> Fingerprint {
    Fingerprint::of_der(Algorithm::Sha256, c.der())
}

struct Node {
    addr: SocketAddr,
    peer: SocketAddr,
    start: Instant,
    t: DtlsTransport,
    events: Vec<DtlsEvent>,
    /// Drop, instead of sending, every datagram produced by the very call
    /// in which this transport first became connected (its final flight).
    drop_final_flight: bool,
    /// How many datagrams were dropped that way.
    final_flight_dropped: usize,
    /// Datagrams handed to the network.
    sent: usize,
    /// Datagrams handed to the network after this node was connected.
    sent_after_connected: usize,
    /// When this node reported `Connected` (virtual time since start).
    connected_at: Option<Duration>,
    /// Whether it was connected before the last input.
    was_connected: bool,
    /// Whether the last input connected it (its datagrams are the final flight).
    just_connected: bool,
}

impl Node {
    /// Before an input.
    fn before(&mut self) {
        self.was_connected = self.t.is_connected() || self.connected();
    }

    /// After an input: drains the events.
    fn after(&mut self, now: Instant) {
        while let Some(e) = self.t.poll_event() {
            if matches!(e, DtlsEvent::Connected { .. }) {
                self.connected_at = Some(now - self.start);
            }
            self.events.push(e);
        }
        self.just_connected = !self.was_connected && self.connected();
    }
}

impl Endpoint for Node {
    fn handle_receive(&mut self, now: Instant, _local: SocketAddr, _source: SocketAddr, data: &[u8]) {
        self.before();
        self.t.handle_receive(now, data);
        self.after(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.before();
        self.t.handle_timeout(now);
        self.after(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        while let Some(d) = self.t.poll_transmit(now) {
            if self.drop_final_flight && self.just_connected {
                self.final_flight_dropped += 1;
                continue;
            }
            self.sent += 1;
            if self.was_connected {
                self.sent_after_connected += 1;
            }
            return Some(Datagram { from: self.addr, to: self.peer, data: d });
        }
        self.just_connected = false;
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.t.poll_timeout()
    }
}

impl EventLog for Node {
    fn events(&self) -> &[DtlsEvent] {
        &self.events
    }
}

/// Node 0 lives at `ADDR[0]`, node 1 at `ADDR[1]`.
struct Sim {
    net: Network,
    clock: VirtualClock,
    nodes: [Node; 2],
}

const ADDR: [&str; 2] = ["198.51.100.1:5000", "203.0.113.7:6000"];

struct Setup {
    version: DtlsVersion,
    /// Which node (0 or 1) is the DTLS client; the other is the server.
    client: usize,
    seed: u64,
    /// Egress link of both hosts.
    link: LinkConfig,
    handshake_timeout: Duration,
}

impl Setup {
    fn new(version: DtlsVersion, client: usize) -> Setup {
        Setup { version, client, seed: 1, link: LinkConfig::default(), handshake_timeout: Duration::from_secs(30) }
    }
}

impl Sim {
    fn new(s: Setup) -> Sim {
        let start = Instant::now();
        let mut net = Network::new(s.seed);
        let addrs: [SocketAddr; 2] = [ADDR[0].parse().unwrap(), ADDR[1].parse().unwrap()];
        for a in addrs {
            net.add_host(a.ip());
            net.set_egress(a.ip(), s.link.clone());
        }
        let certs = [Certificate::generate().unwrap(), Certificate::generate().unwrap()];
        let make = |i: usize| {
            let role = if i == s.client { Role::Client } else { Role::Server };
            let mut cfg = DtlsConfig::new(role, certs[i].clone(), vec![sha256(&certs[1 - i])]);
            cfg.version = s.version;
            cfg.handshake_timeout = s.handshake_timeout;
            Node {
                addr: addrs[i],
                peer: addrs[1 - i],
                start,
                t: DtlsTransport::new(start, cfg).unwrap(),
                events: Vec::new(),
                drop_final_flight: false,
                final_flight_dropped: 0,
                sent: 0,
                sent_after_connected: 0,
                connected_at: None,
                was_connected: false,
                just_connected: false,
            }
        };
        let nodes = [make(0), make(1)];
        let mut sim = Sim { net, clock: VirtualClock::new(start), nodes };
        // `new` may already have queued the client's first flight.
        sim.flush_all();
        sim
    }

    fn client(&self) -> usize {
        if self.nodes[0].t.role() == Role::Client {
            0
        } else {
            1
        }
    }

    fn both_connected(&self) -> bool {
        self.nodes.iter().all(Node::connected)
    }

    /// Runs the handshake to completion (asserting it) within `limit`.
    fn handshake(&mut self, limit: Duration) {
        let ok = self.run_until(limit, |s| s.both_connected() || s.nodes.iter().any(|n| n.failed().is_some()));
        assert!(
            ok && self.both_connected(),
            "handshake did not complete within {limit:?} (elapsed {:?}, failures {:?} / {:?})",
            self.clock.elapsed(),
            self.nodes[0].failed(),
            self.nodes[1].failed()
        );
    }

    fn assert_srtp_mirrored(&self) {
        let (a, b) = (self.nodes[0].srtp().expect("srtp keys 0"), self.nodes[1].srtp().expect("srtp keys 1"));
        assert_eq!(a.profile, b.profile);
        assert_eq!(a.local_key, b.remote_key);
        assert_eq!(a.local_salt, b.remote_salt);
        assert_eq!(a.remote_key, b.local_key);
        assert_eq!(a.remote_salt, b.local_salt);
        assert_ne!(a.local_key, a.remote_key);
    }

    /// Application data is not retransmitted by DTLS, so on a lossy link
    /// each side re-sends its message every 100 ms until the peer has it.
    fn exchange_data(&mut self, limit: Duration) {
        let msgs: [&[u8]; 2] = [b"from node 0", b"from node 1"];
        let deadline = self.clock.now() + limit;
        let mut rounds = 0;
        while self.nodes.iter().any(|n| n.data().is_empty()) {
            assert!(self.clock.now() < deadline && rounds < 1000, "data did not get through within {limit:?}");
            rounds += 1;
            for (i, msg) in msgs.iter().enumerate() {
                if self.nodes[1 - i].data().is_empty() {
                    self.nodes[i].t.send(msg).unwrap();
                }
            }
            self.settle(Duration::from_millis(100));
        }
        for i in 0..2 {
            let got = self.nodes[i].data();
            assert!(got.iter().all(|d| d.as_slice() == msgs[1 - i]), "node {i} got unexpected data {got:?}");
            assert!(self.nodes[i].failed().is_none());
        }
    }
}

impl Simulation for Sim {
    type Endpoint<'a> = &'a mut Node;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    fn endpoint(&mut self, i: usize) -> &mut Node {
        &mut self.nodes[i]
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr == to)
    }
}

fn lossy_link() -> LinkConfig {
    LinkConfig { latency: Duration::from_millis(30), loss: 0.2, ..LinkConfig::default() }
}

/// (1) 20 % loss on each direction plus 30 ms one-way latency: for DTLS 1.2
/// and 1.3, with the client on either host, over several seeds.
fn lossy_handshake(version: DtlsVersion) {
    let mut lost = 0;
    for client in [0, 1] {
        for seed in 1..=8 {
            let mut sim = Sim::new(Setup { seed, link: lossy_link(), ..Setup::new(version, client) });
            assert_eq!(sim.client(), client);
            sim.handshake(Duration::from_secs(30));
            assert!(sim.clock.elapsed() <= Duration::from_secs(30));
            lost += sim.net.stats().lost;
            sim.assert_srtp_mirrored();
            sim.exchange_data(Duration::from_secs(10));
        }
    }
    assert!(lost > 0, "the links never lost a datagram");
}

#[test]
fn dtls12_handshake_over_lossy_latent_link() {
    lossy_handshake(DtlsVersion::Dtls12);
}

#[test]
fn dtls13_handshake_over_lossy_latent_link() {
    lossy_handshake(DtlsVersion::Dtls13);
}

/// (2) The final flight is lost once.
///
/// How it is dropped: the side that sends the last handshake flight is
/// the one that reports `Connected` in the very call that produces that
/// flight (DTLS 1.2: the server, on receiving the client's
/// Certificate..Finished, answers ChangeCipherSpec+Finished and is done;
/// DTLS 1.3: the client, on receiving the server's flight, answers
/// Certificate, CertificateVerify, Finished and is done). [`Node::flush`]
/// drops every datagram drained right after that call, i.e. exactly the
/// first transmission of the final flight, and nothing else. The other
/// side can then only complete if the final flight is retransmitted (1.2:
/// the client retransmits flight 5 on its timer and the server answers with
/// its flight 6 again; 1.3: the client retransmits its flight until the
/// server's ACK, or the server retransmits its flight and the client
/// answers).
fn lost_final_flight(version: DtlsVersion, final_sender_role: Role) {
    for client in [0, 1] {
        let link = LinkConfig { latency: Duration::from_millis(30), ..LinkConfig::default() };
        let mut sim = Sim::new(Setup { link, ..Setup::new(version, client) });
        let sender = if final_sender_role == Role::Client { client } else { 1 - client };
        sim.nodes[sender].drop_final_flight = true;
        sim.handshake(Duration::from_secs(30));
        let (s, r) = (&sim.nodes[sender], &sim.nodes[1 - sender]);
        assert!(s.final_flight_dropped > 0, "no final flight was dropped");
        assert!(s.sent_after_connected > 0, "the final flight was never retransmitted");
        // The sender was done first; the receiver only got there later,
        // after at least one retransmission timer.
        let (ts, tr) = (s.connected_at.unwrap(), r.connected_at.unwrap());
        assert!(tr > ts, "receiver connected at {tr:?}, sender at {ts:?}");
        assert!(tr - ts >= Duration::from_millis(100), "receiver connected too soon ({tr:?} vs {ts:?})");
        sim.assert_srtp_mirrored();
        sim.exchange_data(Duration::from_secs(5));
    }
}

#[test]
fn dtls12_lost_server_final_flight_is_retransmitted() {
    lost_final_flight(DtlsVersion::Dtls12, Role::Server);
}

#[test]
fn dtls13_lost_client_final_flight_is_retransmitted() {
    lost_final_flight(DtlsVersion::Dtls13, Role::Client);
}

/// (3) One peer vanishes (host down) right after sending its first flight;
/// the other fails with its handshake timeout, at exactly its deadline.
fn vanishing_peer(version: DtlsVersion, vanishing_role: Role) {
    let timeout = Duration::from_secs(10);
    let link = LinkConfig { latency: Duration::from_millis(30), ..LinkConfig::default() };
    let mut sim = Sim::new(Setup { link, handshake_timeout: timeout, ..Setup::new(version, 0) });
    let gone = if vanishing_role == Role::Client { 0 } else { 1 };
    let other = 1 - gone;
    // The client's (node 0) first flight went out in `new`. The instant
    // the server (node 1) has answered with its first flight, each side has
    // sent exactly its first flight (the answer is still in flight): take
    // one of them off the network then.
    assert!(sim.nodes[0].sent > 0);
    let ok = sim.run_until(Duration::from_secs(5), |s| s.nodes[1].sent > 0);
    assert!(ok, "the server never sent its first flight");
    assert!(!sim.nodes[0].connected() && !sim.nodes[1].connected());
    sim.net.set_host_down(sim.nodes[gone].addr.ip(), true);
    let ok = sim.run_until(Duration::from_secs(60), |s| s.nodes[other].failed().is_some());
    assert!(ok, "the remaining peer did not fail (elapsed {:?})", sim.clock.elapsed());
    assert_eq!(sim.nodes[other].failed(), Some(&DtlsError::HandshakeTimeout { after: timeout }));
    assert_eq!(sim.clock.elapsed(), timeout);
    assert!(!sim.nodes[other].connected());
    assert_eq!(sim.nodes[other].t.poll_timeout(), None);
    assert!(sim.net.stats().dropped_host_down > 0);
}

#[test]
fn dtls12_client_fails_when_server_vanishes() {
    vanishing_peer(DtlsVersion::Dtls12, Role::Server);
}

#[test]
fn dtls12_server_fails_when_client_vanishes() {
    vanishing_peer(DtlsVersion::Dtls12, Role::Client);
}

#[test]
fn dtls13_client_fails_when_server_vanishes() {
    vanishing_peer(DtlsVersion::Dtls13, Role::Server);
}

#[test]
fn dtls13_server_fails_when_client_vanishes() {
    vanishing_peer(DtlsVersion::Dtls13, Role::Client);
}
