//! Two ICE agents on a simulated network, driven on a virtual clock.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ice::{IceAgent, IceConfig, IceEvent, IceTransportState, Received};
use netsim::{Network, VirtualClock};
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
        self.pump();
    }

    /// Restarts ICE on both sides (as an offer/answer with new credentials would).
    pub fn restart(&mut self) {
        let now = self.clock.now();
        self.a.agent.restart(now);
        self.b.agent.restart(now);
        let (ca, cb) = (self.a.agent.local_credentials().clone(), self.b.agent.local_credentials().clone());
        self.a.agent.set_remote_credentials(now, &cb.ufrag, &cb.pwd);
        self.b.agent.set_remote_credentials(now, &ca.ufrag, &ca.pwd);
        self.pump();
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

    fn pump(&mut self) {
        let now = self.clock.now();
        let t = self.clock.elapsed();
        for side in [Side::A, Side::B] {
            let delay = self.signal_delay;
            loop {
                let peer = self.peer(side);
                let Some(tx) = peer.agent.poll_transmit() else { break };
                self.net.send(now, tx.from, tx.to, &tx.data);
            }
            loop {
                let peer = self.peer(side);
                let Some(ev) = peer.agent.poll_event() else { break };
                peer.events.push((t, ev.clone()));
                match ev {
                    IceEvent::LocalCandidate(c) => {
                        if peer.trickle {
                            self.signals.push_back((now + delay, other(side), Signal::Candidate(c)));
                        } else {
                            peer.held.push(c);
                        }
                    }
                    IceEvent::GatheringComplete if !peer.trickle => peer.held_end = true,
                    IceEvent::GatheringComplete => {
                        self.signals.push_back((
                            now + delay + Duration::from_millis(1),
                            other(side),
                            Signal::EndOfCandidates,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        [
            self.a.agent.poll_timeout(),
            self.b.agent.poll_timeout(),
            self.net.poll_timeout(),
            self.signals.iter().map(|s| s.0).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs until `done` is true or `limit` of virtual time has passed.
    /// Returns whether `done` became true.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Scenario) -> bool) -> bool {
        let end = self.clock.now() + limit;
        let mut steps = 0u64;
        loop {
            steps += 1;
            assert!(
                steps < 2_000_000,
                "simulation stuck at {:?}: A {:?} B {:?} net {:?}",
                self.clock.elapsed(),
                self.a.agent.poll_timeout().map(|t| t - self.clock.start()),
                self.b.agent.poll_timeout().map(|t| t - self.clock.start()),
                self.net.poll_timeout().map(|t| t - self.clock.start())
            );
            if done(self) {
                return true;
            }
            if self.clock.now() >= end {
                return false;
            }
            let next = self.next_deadline().unwrap_or(end).max(self.clock.now());
            if next > end {
                self.clock.advance_to(end);
                return done(self);
            }
            self.clock.advance_to(next);
            self.step();
        }
    }

    /// Runs for exactly `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    fn step(&mut self) {
        let now = self.clock.now();
        while let Some(d) = self.net.poll_delivery(now) {
            if self.stun_servers.contains(&d.to) {
                answer_stun(&mut self.net, now, &d);
                continue;
            }
            let side = if self.a.sockets.contains(&d.to) {
                Side::A
            } else if self.b.sockets.contains(&d.to) {
                Side::B
            } else {
                continue;
            };
            let peer = self.peer(side);
            if let Received::Data(bytes) = peer.agent.handle_receive(now, d.to, d.from, &d.data) {
                peer.data.push(bytes.to_vec());
            }
            self.pump();
        }
        while self.signals.front().is_some_and(|s| s.0 <= now) || self.signals.iter().any(|s| s.0 <= now) {
            let i = self.signals.iter().position(|s| s.0 <= now).unwrap();
            let (_, side, sig) = self.signals.remove(i).unwrap();
            let agent = &mut self.peer(side).agent;
            match sig {
                Signal::Candidate(c) => agent.add_remote_candidate(now, c),
                Signal::EndOfCandidates => agent.end_of_remote_candidates(now),
            }
            self.pump();
        }
        for side in [Side::A, Side::B] {
            let agent = &mut self.peer(side).agent;
            if agent.poll_timeout().is_some_and(|t| t <= now) {
                agent.handle_timeout(now);
            }
        }
        self.pump();
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

fn answer_stun(net: &mut Network, now: Instant, d: &netsim::Datagram) {
    let Ok(msg) = Message::decode(&d.data) else { return };
    if msg.class != Class::Request || msg.method != Method::BINDING {
        return;
    }
    let resp = msg.success_response().with(Attribute::XorMappedAddress(d.from)).to_bytes(None, true);
    net.send(now, d.to, d.from, &resp);
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
