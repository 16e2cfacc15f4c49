//! Two [`PeerConnection`]s on the deterministic simulated network of
//! `oxrtc-netsim`, driven on a virtual clock by [`netsim::Simulation`], with
//! an in-process signaling channel (descriptions are exchanged by the test;
//! candidates trickle automatically once the other side has a remote
//! description).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::ChannelEvent;
use datachannel::ChannelInit;
use netsim::{Datagram, Endpoint, LinkConfig, Network, Simulation, VirtualClock};
use peer::{
    ChannelHandle, PeerConfig, PeerConnection, PeerConnectionState, PeerEvent, SessionDescription, SignalingState,
};

pub const ADDR: [&str; 2] = ["198.51.100.1:5000", "203.0.113.7:6000"];
pub const SEC: Duration = Duration::from_secs(1);

/// The wall clock every simulated peer starts with (2023-11-14).
pub const WALL_CLOCK_UNIX_SECS: u64 = 1_700_000_000;

pub fn config(seed: u64) -> PeerConfig {
    let mut c = PeerConfig { seed: Some(seed), ..PeerConfig::default() };
    c.ice.seed = Some(seed + 1000);
    c
}

/// `config` with the wall clock reading [`WALL_CLOCK_UNIX_SECS`] at `at`.
pub fn config_at(seed: u64, at: Instant) -> PeerConfig {
    PeerConfig { wall_clock: Some((at, Duration::from_secs(WALL_CLOCK_UNIX_SECS))), ..config(seed) }
}

pub struct Sim {
    pub net: Network,
    pub clock: VirtualClock,
    pub pc: [PeerConnection; 2],
    pub events: [Vec<PeerEvent>; 2],
    pub addr: [SocketAddr; 2],
    /// Candidates not yet signalled to the other side (index: sender).
    held: [Vec<Option<ice::Candidate>>; 2],
    /// Stop delivering candidates (a peer that vanished).
    pub signal_candidates: bool,
    /// Leave node `i`'s events in its core (an application that drives the
    /// I/O but does not read events).
    pub hold_events: [bool; 2],
}

impl Sim {
    pub fn new(seed: u64, link: LinkConfig) -> Sim {
        let start = Instant::now();
        let mut net = Network::new(seed);
        let addr: [SocketAddr; 2] = [ADDR[0].parse().unwrap(), ADDR[1].parse().unwrap()];
        for a in addr {
            net.add_host(a.ip());
            net.set_egress(a.ip(), link.clone());
        }
        let pc = [
            PeerConnection::new(config_at(seed * 10 + 1, start), vec![addr[0]]).unwrap(),
            PeerConnection::new(config_at(seed * 10 + 2, start), vec![addr[1]]).unwrap(),
        ];
        Sim {
            net,
            clock: VirtualClock::new(start),
            pc,
            events: [Vec::new(), Vec::new()],
            addr,
            held: [Vec::new(), Vec::new()],
            signal_candidates: true,
            hold_events: [false; 2],
        }
    }

    /// A perfect 10 ms link.
    pub fn perfect(seed: u64) -> Sim {
        Sim::new(seed, LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::default() })
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Drains node `i`: datagrams into the network, events into the log,
    /// candidates to the held queue.
    pub fn flush(&mut self, i: usize) {
        Simulation::flush(self, i);
    }

    pub fn flush_all(&mut self) {
        for _ in 0..4 {
            Simulation::flush_all(self);
            self.signal();
        }
    }

    /// Delivers held candidates to peers that have a remote description.
    fn signal(&mut self) {
        if !self.signal_candidates {
            return;
        }
        let now = self.now();
        for i in 0..2 {
            let j = 1 - i;
            if !self.can_signal(j) {
                continue;
            }
            for c in std::mem::take(&mut self.held[i]) {
                self.pc[j].add_ice_candidate(now, c).unwrap();
            }
        }
    }

    /// Whether node `j` takes candidates now.
    fn can_signal(&self, j: usize) -> bool {
        self.signal_candidates
            && self.pc[j].remote_description().is_some()
            && self.pc[j].signaling_state() != SignalingState::Closed
    }

    pub fn run(&mut self, limit: Duration, done: impl Fn(&Sim) -> bool) -> bool {
        self.flush_all();
        self.run_until(limit, |s| done(s))
    }

    /// Runs `d` of virtual time.
    pub fn settle(&mut self, d: Duration) {
        Simulation::settle(self, d);
    }

    /// Offer from `from`, answer from the other (parameterless forms).
    pub fn negotiate(&mut self, from: usize) {
        let now = self.now();
        let offer = self.pc[from].set_local_description(now, None).unwrap();
        self.pc[1 - from].set_remote_description(now, offer).unwrap();
        let answer = self.pc[1 - from].set_local_description(now, None).unwrap();
        self.pc[from].set_remote_description(now, answer).unwrap();
        self.flush_all();
    }

    pub fn connected(&self) -> bool {
        self.pc.iter().all(|p| p.connection_state() == PeerConnectionState::Connected)
    }

    /// Node 0 creates a channel, they negotiate, and the channel opens on both.
    /// Returns (handle at 0, handle at 1).
    pub fn connect_with_channel(&mut self, label: &str) -> (ChannelHandle, ChannelHandle) {
        let now = self.now();
        let h = self.pc[0].create_data_channel(now, ChannelInit::new(label)).unwrap();
        self.negotiate(0);
        assert!(
            self.run(60 * SEC, |s| s.opened(0, h) && s.incoming(1, label).is_some()),
            "channel {label} not open: {:?} / {:?}",
            self.pc[0].connection_state(),
            self.pc[1].connection_state()
        );
        (h, self.incoming(1, label).unwrap())
    }

    pub fn opened(&self, i: usize, h: ChannelHandle) -> bool {
        self.events[i].contains(&PeerEvent::Channel(h, ChannelEvent::Open))
    }

    /// The handle of the channel the peer opened with this label.
    pub fn incoming(&self, i: usize, label: &str) -> Option<ChannelHandle> {
        self.events[i].iter().find_map(|e| match e {
            PeerEvent::DataChannel(h, info) if info.label == label => Some(*h),
            _ => None,
        })
    }

    pub fn messages(&self, i: usize, h: ChannelHandle) -> Vec<Bytes> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                PeerEvent::Channel(channel, ChannelEvent::Message { data, .. }) if *channel == h => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, i: usize, e: &PeerEvent) -> usize {
        self.events[i].iter().filter(|x| *x == e).count()
    }

    pub fn signaling_changes(&self, i: usize) -> Vec<SignalingState> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                PeerEvent::SignalingStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub fn connection_states(&self, i: usize) -> Vec<PeerConnectionState> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                PeerEvent::ConnectionStateChange(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    pub fn send(&mut self, i: usize, h: ChannelHandle, data: &[u8]) {
        let now = self.now();
        self.pc[i].send(now, h, Bytes::copy_from_slice(data), false).unwrap();
        self.flush(i);
    }
}

/// Node `i` as the simulation drives it.
pub struct Node<'a> {
    pc: &'a mut PeerConnection,
    events: &'a mut Vec<PeerEvent>,
    held: &'a mut Vec<Option<ice::Candidate>>,
    hold_events: bool,
}

impl Endpoint for Node<'_> {
    fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        self.pc.handle_receive(now, local, source, data);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        if let Some(t) = self.pc.poll_transmit(now) {
            return Some(Datagram { from: t.from, to: t.to, data: t.data.to_vec() });
        }
        while let Some(e) = if self.hold_events { None } else { self.pc.poll_event() } {
            if let PeerEvent::IceCandidate(c) = &e {
                let c = c.as_ref().map(|c| ice::Candidate::parse(&c.candidate).expect("our candidate parses"));
                self.held.push(c);
            }
            self.events.push(e);
        }
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

impl Simulation for Sim {
    type Endpoint<'a> = Node<'a>;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    fn endpoint(&mut self, i: usize) -> Node<'_> {
        Node {
            pc: &mut self.pc[i],
            events: &mut self.events[i],
            held: &mut self.held[i],
            hold_events: self.hold_events[i],
        }
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        self.addr.iter().position(|a| a.ip() == to.ip())
    }

    /// Candidates held for a peer that can take them now.
    fn poll_extra(&mut self) -> Option<Instant> {
        (0..2).any(|i| !self.held[i].is_empty() && self.can_signal(1 - i)).then(|| self.clock.now())
    }

    fn handle_extra(&mut self, _now: Instant) {
        self.signal();
    }
}

/// Lines of an SDP text that start with `prefix`.
pub fn lines<'a>(sdp: &'a str, prefix: &str) -> Vec<&'a str> {
    sdp.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// The description's value of `a=ice-ufrag` (first one).
pub fn ufrag(d: &SessionDescription) -> String {
    lines(&d.sdp, "a=ice-ufrag:")[0].trim_start_matches("a=ice-ufrag:").to_string()
}
