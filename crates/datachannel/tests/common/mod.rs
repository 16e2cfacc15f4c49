//! Two [`DataChannels`] (node 0 the DTLS client with even ids, node 1 the
//! server with odd ids) on the deterministic simulated network of
//! `oxrtc-netsim`, driven on a virtual clock. Every loop is bounded in
//! virtual time and in steps. Each SCTP packet travels as one datagram, as
//! it would inside one DTLS record.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::{DataChannelEvent, DataChannels};
use netsim::{LinkConfig, Network, VirtualClock};
use sctp::{Association, SctpConfig};

/// Upper bound on loop iterations of one [`Pair::run`].
const MAX_STEPS: usize = 200_000;

pub const ADDR: [&str; 2] = ["198.51.100.1:5000", "203.0.113.7:5000"];

/// Decides, per sending node and packet, whether the packet is dropped.
pub type Filter = Box<dyn FnMut(usize, &[u8]) -> bool>;

pub struct Pair {
    pub net: Network,
    pub clock: VirtualClock,
    pub dc: [DataChannels; 2],
    /// Every event each node produced, in order.
    pub events: [Vec<DataChannelEvent>; 2],
    addr: [SocketAddr; 2],
    /// Print every packet (chunk summary) to stderr, for debugging.
    pub trace: bool,
    /// Drops the packets node `i` sends for which this returns true.
    pub filter: Option<Filter>,
}

/// Whether the SCTP packet holds a chunk of this type.
pub fn has_chunk(p: &[u8], kind: u8) -> bool {
    let mut at = 12;
    while at + 4 <= p.len() {
        if p[at] == kind {
            return true;
        }
        let l = u16::from_be_bytes([p[at + 2], p[at + 3]]) as usize;
        if l < 4 {
            break;
        }
        at += (l + 3) & !3;
    }
    false
}

/// SCTP chunk types the tests look for.
pub const RE_CONFIG: u8 = 130;

/// A one-line summary of an SCTP packet's chunks (DATA with TSN, stream,
/// SSN and flags; SACK with cumulative ack and gaps; FORWARD-TSN).
pub fn describe(p: &[u8]) -> String {
    let mut out = vec![];
    let mut at = 12;
    while at + 4 <= p.len() {
        let t = p[at];
        let l = u16::from_be_bytes([p[at + 2], p[at + 3]]) as usize;
        let u16at = |o: usize| p.get(at + o..at + o + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        let u32at = |o: usize| p.get(at + o..at + o + 4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        out.push(match t {
            0 => format!("DATA tsn={} s={} ssn={} f={:x}", u32at(4), u16at(8), u16at(10), p[at + 1]),
            3 => {
                let gaps: Vec<(u16, u16)> =
                    (0..u16at(12) as usize).map(|k| (u16at(16 + 4 * k), u16at(18 + 4 * k))).collect();
                format!("SACK cum={} gaps={gaps:?}", u32at(4))
            }
            192 => {
                let streams: Vec<(u16, u16)> = (8..l).step_by(4).map(|o| (u16at(o), u16at(o + 2))).collect();
                format!("FWD-TSN {} {streams:?}", u32at(4))
            }
            130 => {
                // RE-CONFIG: parameter type, request/response sequence number.
                let mut o = 4;
                let mut ps = vec![];
                while o + 8 <= l {
                    let pl = u16at(o + 2) as usize;
                    ps.push(match u16at(o) {
                        13 => format!(
                            "req#{} last={} streams={:?}",
                            u32at(o + 4),
                            u32at(o + 12),
                            (o + 16..o + pl).step_by(2).map(u16at).collect::<Vec<_>>()
                        ),
                        16 => format!("resp#{} result={}", u32at(o + 4), u32at(o + 8)),
                        t => format!("param {t}"),
                    });
                    if pl < 4 {
                        break;
                    }
                    o += (pl + 3) & !3;
                }
                format!("RECONFIG {ps:?}")
            }
            t => format!("chunk {t}"),
        });
        if l < 4 {
            break;
        }
        at += (l + 3) & !3;
    }
    out.join(", ")
}

/// SCTP settings of node `i` with a fixed seed.
pub fn sctp_config(i: usize) -> SctpConfig {
    SctpConfig { seed: 100 + i as u64, ..SctpConfig::default() }
}

impl Pair {
    /// Two nodes on a perfect 10 ms link, not yet connected.
    pub fn new(seed: u64) -> Pair {
        let link = LinkConfig { latency: Duration::from_millis(10), ..LinkConfig::default() };
        Pair::with(seed, link, [sctp_config(0), sctp_config(1)])
    }

    /// Two nodes whose egress links are `link`, with these SCTP settings.
    pub fn with(seed: u64, link: LinkConfig, configs: [SctpConfig; 2]) -> Pair {
        let start = Instant::now();
        let mut net = Network::new(seed);
        let addr: [SocketAddr; 2] = [ADDR[0].parse().unwrap(), ADDR[1].parse().unwrap()];
        for a in addr {
            net.add_host(a.ip());
            net.set_egress(a.ip(), link.clone());
        }
        let [c0, c1] = configs;
        let dc = [
            DataChannels::new(Association::new(start, c0), true),
            DataChannels::new(Association::new(start, c1), false),
        ];
        Pair {
            net,
            clock: VirtualClock::new(start),
            dc,
            events: [Vec::new(), Vec::new()],
            addr,
            trace: false,
            filter: None,
        }
    }

    /// Connected pair on a perfect link.
    pub fn connected(seed: u64) -> Pair {
        let mut p = Pair::new(seed);
        p.connect();
        p
    }

    /// Replaces both egress links.
    pub fn set_links(&mut self, link: LinkConfig) {
        for a in self.addr {
            self.net.set_egress(a.ip(), link.clone());
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Both sides connect (as browsers do) and the association comes up.
    pub fn connect(&mut self) {
        let now = self.now();
        self.dc[0].connect(now);
        self.dc[1].connect(now);
        self.flush_all();
        assert!(
            self.run(Duration::from_secs(120), |p| p.both(|d| d.association().is_established())),
            "no association: {:?} / {:?}",
            self.events[0],
            self.events[1]
        );
    }

    pub fn both(&self, f: impl Fn(&DataChannels) -> bool) -> bool {
        f(&self.dc[0]) && f(&self.dc[1])
    }

    /// Drains node `i`'s packets into the network and its events into the log.
    pub fn flush(&mut self, i: usize) {
        let now = self.now();
        while let Some(p) = self.dc[i].poll_transmit(now) {
            if self.trace {
                eprintln!("{:?} {i} sends {}", self.clock.elapsed(), describe(&p));
            }
            if self.filter.as_mut().is_some_and(|f| f(i, &p)) {
                continue;
            }
            self.net.send(now, self.addr[i], self.addr[1 - i], &p);
        }
        while let Some(e) = self.dc[i].poll_event() {
            self.events[i].push(e);
        }
    }

    pub fn flush_all(&mut self) {
        self.flush(0);
        self.flush(1);
    }

    /// Runs until `done` holds (true) or nothing is left to do, or virtual
    /// time advanced by `limit`, or the step bound is hit (false).
    pub fn run(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) -> bool {
        self.flush_all();
        let deadline = self.now() + limit;
        for _ in 0..MAX_STEPS {
            if done(self) {
                return true;
            }
            let next = [self.net.poll_timeout(), self.dc[0].poll_timeout(), self.dc[1].poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else { return false };
            if next > deadline {
                return false;
            }
            self.clock.advance_to(next);
            self.step();
        }
        false
    }

    /// Runs for `d` of virtual time whatever happens.
    pub fn settle(&mut self, d: Duration) {
        let end = self.now() + d;
        self.run(d, |_| false);
        self.clock.advance_to(end);
        self.step();
    }

    fn step(&mut self) {
        let now = self.now();
        while let Some(d) = self.net.poll_delivery(now) {
            let i = if d.to == self.addr[0] { 0 } else { 1 };
            if self.trace {
                eprintln!("{:?} {i} gets {}", self.clock.elapsed(), describe(&d.data));
            }
            self.dc[i].handle_receive(now, &d.data);
            self.flush(i);
        }
        for i in 0..2 {
            if self.dc[i].poll_timeout().is_some_and(|t| t <= now) {
                self.dc[i].handle_timeout(now);
            }
            self.flush(i);
        }
    }

    /// Takes the events logged so far at node `i`.
    pub fn take_events(&mut self, i: usize) -> Vec<DataChannelEvent> {
        std::mem::take(&mut self.events[i])
    }

    /// Messages received so far at node `i` on channel `id`: (data, binary).
    pub fn messages(&self, i: usize, id: u16) -> Vec<(Bytes, bool)> {
        self.events[i]
            .iter()
            .filter_map(|e| match e {
                DataChannelEvent::Message { id: m, data, binary } if *m == id => Some((data.clone(), *binary)),
                _ => None,
            })
            .collect()
    }

    pub fn has(&self, i: usize, e: &DataChannelEvent) -> bool {
        self.events[i].contains(e)
    }

    /// The position of `e` in node `i`'s log.
    pub fn position(&self, i: usize, e: &DataChannelEvent) -> Option<usize> {
        self.events[i].iter().position(|x| x == e)
    }

    /// Sends and flushes.
    pub fn send(&mut self, i: usize, id: u16, data: &[u8], binary: bool) {
        let now = self.now();
        self.dc[i].send(now, id, Bytes::copy_from_slice(data), binary).expect("send");
        self.flush(i);
    }

    /// The Incoming event for `id` at node `i`.
    pub fn incoming(&self, i: usize, id: u16) -> Option<datachannel::ChannelInfo> {
        self.events[i].iter().find_map(|e| match e {
            DataChannelEvent::Incoming(info) if info.id == Some(id) => Some(info.clone()),
            _ => None,
        })
    }
}
