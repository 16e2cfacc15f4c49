//! Two ICE agents (and simulated STUN servers) on a simulated network, driven on a
//! virtual clock by [`netsim::Simulation`], with trickled candidates signalled after a delay.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ice::{IceAgent, IceConfig, IceEvent, IceTransportState, Received};
pub use netsim::Simulation;
use netsim::{Datagram, Endpoint, Network, VirtualClock};
use stun::{Attribute, Class, Message, Method};

/// Which peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

pub struct Peer {
    pub agent: IceAgent,
    pub sockets: Vec<SocketAddr>,
    pub data: Vec<Vec<u8>>,
    pub events: Vec<(Duration, IceEvent)>,
    /// Signal candidates to the other side (false: hold them back).
    pub trickle: bool,
    pub held: Vec<ice::Candidate>,
    pub held_end: bool,
}

impl Peer {
    pub fn new(config: IceConfig, controlling: bool, sockets: &[&str]) -> Self {
        Peer {
            agent: IceAgent::new(config, controlling),
            sockets: sockets.iter().map(|s| s.parse().unwrap()).collect(),
            data: Vec::new(),
            events: Vec::new(),
            trickle: true,
            held: Vec::new(),
            held_end: false,
        }
    }

    pub fn state(&self) -> IceTransportState {
        self.agent.state()
    }

    /// When the agent first reached `state`.
    pub fn reached(&self, state: IceTransportState) -> Option<Duration> {
        self.events.iter().find(|(_, e)| *e == IceEvent::StateChanged(state)).map(|(t, _)| *t)
    }
}

enum Signal {
    Candidate(ice::Candidate),
    EndOfCandidates,
}

pub struct Scenario {
    pub net: Network,
    pub clock: VirtualClock,
    pub a: Peer,
    pub b: Peer,
    /// Signaling latency for trickled candidates.
    pub signal_delay: Duration,
    signals: VecDeque<(Instant, Side, Signal)>,
    /// Simulated STUN servers (answer Binding requests).
    pub stun_servers: Vec<SocketAddr>,
    /// Their answers, not yet sent.
    stun_answers: Vec<Datagram>,
}

impl Scenario {
    /// Both peers' hosts must already be on `net`.
    pub fn new(net: Network, a: Peer, b: Peer) -> Self {
        let clock = VirtualClock::new(Instant::now());
        Scenario {
            net,
            clock,
            a,
            b,
            signal_delay: Duration::from_millis(20),
            signals: VecDeque::new(),
            stun_servers: Vec::new(),
            stun_answers: Vec::new(),
        }
    }

    pub fn peer(&mut self, side: Side) -> &mut Peer {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    /// Exchanges credentials and starts gathering on both sides.
    pub fn start(&mut self) {
        let now = self.clock.now();
        let (ca, cb) = (self.a.agent.local_credentials().clone(), self.b.agent.local_credentials().clone());
        self.a.agent.set_remote_credentials(now, &cb.ufrag, &cb.pwd);
        self.b.agent.set_remote_credentials(now, &ca.ufrag, &ca.pwd);
        let sa = self.a.sockets.clone();
        let sb = self.b.sockets.clone();
        self.a.agent.start_gathering(now, &sa);
        self.b.agent.start_gathering(now, &sb);
        self.flush_all();
    }

    /// Restarts ICE on both sides (as an offer/answer with new credentials would).
    pub fn restart(&mut self) {
        let now = self.clock.now();
        self.a.agent.restart(now);
        self.b.agent.restart(now);
        let (ca, cb) = (self.a.agent.local_credentials().clone(), self.b.agent.local_credentials().clone());
        self.a.agent.set_remote_credentials(now, &cb.ufrag, &cb.pwd);
        self.b.agent.set_remote_credentials(now, &ca.ufrag, &ca.pwd);
        self.flush_all();
    }

    /// Releases candidates held back with `trickle = false`, in reverse order.
    pub fn release_held(&mut self, side: Side) {
        let now = self.clock.now();
        let delay = self.signal_delay;
        let other = other(side);
        let held: Vec<_> = std::mem::take(&mut self.peer(side).held);
        for c in held.into_iter().rev() {
            self.signals.push_back((now + delay, other, Signal::Candidate(c)));
        }
        if std::mem::take(&mut self.peer(side).held_end) {
            self.signals.push_back((now + delay + Duration::from_millis(1), other, Signal::EndOfCandidates));
        }
        self.peer(side).trickle = true;
    }

    /// Runs for exactly `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.settle(d);
    }

    /// Sends application data from `side` to the other peer.
    pub fn send(&mut self, side: Side, data: &[u8]) -> bool {
        let now = self.clock.now();
        match self.peer(side).agent.send(data) {
            Ok(t) => {
                self.net.send(now, t.from, t.to, &t.data);
                true
            }
            Err(_) => false,
        }
    }

    pub fn both_connected(&self) -> bool {
        use IceTransportState::*;
        matches!(self.a.state(), Connected | Completed) && matches!(self.b.state(), Connected | Completed)
    }
}

pub fn other(side: Side) -> Side {
    match side {
        Side::A => Side::B,
        Side::B => Side::A,
    }
}

pub fn config(seed: u64) -> IceConfig {
    IceConfig { seed: Some(seed), ..IceConfig::default() }
}

/// Two public hosts 10.0.0.1 and 10.0.0.2 on a perfect network.
pub fn two_hosts(seed: u64) -> Network {
    let mut net = Network::new(seed);
    net.add_host("10.0.0.1".parse().unwrap());
    net.add_host("10.0.0.2".parse().unwrap());
    net
}

/// One peer as the simulation drives it: its agent's transmits go out, its events are
/// logged and its candidates signalled (or held back).
struct PeerNode<'a> {
    peer: &'a mut Peer,
    side: Side,
    signals: &'a mut VecDeque<(Instant, Side, Signal)>,
    delay: Duration,
    start: Instant,
}

impl Endpoint for PeerNode<'_> {
    fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        if let Received::Data(bytes) = self.peer.agent.handle_receive(now, local, source, data) {
            self.peer.data.push(bytes.to_vec());
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.peer.agent.handle_timeout(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        if let Some(tx) = self.peer.agent.poll_transmit(now) {
            return Some(Datagram { from: tx.from, to: tx.to, data: tx.data.to_vec() });
        }
        let (peer, delay) = (&mut *self.peer, self.delay);
        while let Some(ev) = peer.agent.poll_event() {
            peer.events.push((now - self.start, ev.clone()));
            match ev {
                IceEvent::LocalCandidate(c) if peer.trickle => {
                    self.signals.push_back((now + delay, other(self.side), Signal::Candidate(c)));
                }
                IceEvent::LocalCandidate(c) => peer.held.push(c),
                IceEvent::GatheringComplete if !peer.trickle => peer.held_end = true,
                IceEvent::GatheringComplete => {
                    let at = now + delay + Duration::from_millis(1);
                    self.signals.push_back((at, other(self.side), Signal::EndOfCandidates));
                }
                _ => {}
            }
        }
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.peer.agent.poll_timeout()
    }
}

/// The simulated STUN servers: they answer Binding requests with the source they saw.
struct StunServers<'a> {
    answers: &'a mut Vec<Datagram>,
}

impl Endpoint for StunServers<'_> {
    fn handle_receive(&mut self, _now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        let Ok(msg) = Message::decode(data) else { return };
        if msg.class != Class::Request || msg.method != Method::BINDING {
            return;
        }
        let resp = msg.success_response().with(Attribute::XorMappedAddress(source)).to_bytes(None, true);
        self.answers.push(Datagram { from: local, to: source, data: resp.to_vec() });
    }

    fn handle_timeout(&mut self, _now: Instant) {}

    fn poll_transmit(&mut self, _now: Instant) -> Option<Datagram> {
        (!self.answers.is_empty()).then(|| self.answers.remove(0))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

impl Simulation for Scenario {
    type Endpoint<'a> = Box<dyn Endpoint + 'a>;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    /// Peer A, peer B, the STUN servers.
    fn endpoint_count(&self) -> usize {
        3
    }

    fn endpoint(&mut self, i: usize) -> Box<dyn Endpoint + '_> {
        let (delay, start) = (self.signal_delay, self.clock.start());
        let (peer, side) = match i {
            0 => (&mut self.a, Side::A),
            1 => (&mut self.b, Side::B),
            _ => return Box::new(StunServers { answers: &mut self.stun_answers }),
        };
        Box::new(PeerNode { peer, side, signals: &mut self.signals, delay, start })
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        if self.stun_servers.contains(&to) {
            Some(2)
        } else if self.a.sockets.contains(&to) {
            Some(0)
        } else if self.b.sockets.contains(&to) {
            Some(1)
        } else {
            None
        }
    }

    /// Trickled candidates on their way.
    fn poll_extra(&mut self) -> Option<Instant> {
        self.signals.iter().map(|s| s.0).min()
    }

    fn handle_extra(&mut self, now: Instant) {
        while let Some(i) = self.signals.iter().position(|s| s.0 <= now) {
            let Some((_, side, sig)) = self.signals.remove(i) else { break };
            let agent = &mut self.peer(side).agent;
            match sig {
                Signal::Candidate(c) => agent.add_remote_candidate(now, c),
                Signal::EndOfCandidates => agent.end_of_remote_candidates(now),
            }
            self.flush_all();
        }
    }
}
