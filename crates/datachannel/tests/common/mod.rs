//! Two [`DataChannels`] (node 0 the DTLS client with even ids, node 1 the
//! server with odd ids) on the deterministic simulated network of
//! `oxrtc-netsim`, driven on a virtual clock by [`netsim::Simulation`].
//! Each SCTP packet travels as one datagram, as it would inside one DTLS
//! record.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::{ChannelEvent, DataChannelEvent, DataChannels};
pub use netsim::Simulation;
use netsim::{Datagram, Endpoint, LinkConfig, Network, VirtualClock};
use sctp::{Association, SctpConfig};

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
        assert!(
            self.run_until(Duration::from_secs(120), |p| p.both(|d| d.association().is_established())),
            "no association: {:?} / {:?}",
            self.events[0],
            self.events[1]
        );
    }

    pub fn both(&self, f: impl Fn(&DataChannels) -> bool) -> bool {
        f(&self.dc[0]) && f(&self.dc[1])
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
                DataChannelEvent::Channel(m, ChannelEvent::Message { data, binary }) if *m == id => {
                    Some((data.clone(), *binary))
                }
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

/// Node `i` as the simulation drives it: packets from its address to the
/// other node's, traced and filtered; events into its log.
pub struct Node<'a> {
    i: usize,
    dc: &'a mut DataChannels,
    events: &'a mut Vec<DataChannelEvent>,
    addr: [SocketAddr; 2],
    start: Instant,
    trace: bool,
    filter: &'a mut Option<Filter>,
}

impl Endpoint for Node<'_> {
    fn handle_receive(&mut self, now: Instant, _local: SocketAddr, _source: SocketAddr, data: &[u8]) {
        if self.trace {
            eprintln!("{:?} {} gets {}", now - self.start, self.i, describe(data));
        }
        self.dc.handle_receive(now, data);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.dc.handle_timeout(now);
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Datagram> {
        while let Some(p) = self.dc.poll_transmit(now) {
            if self.trace {
                eprintln!("{:?} {} sends {}", now - self.start, self.i, describe(&p));
            }
            if self.filter.as_mut().is_some_and(|f| f(self.i, &p)) {
                continue;
            }
            return Some(Datagram { from: self.addr[self.i], to: self.addr[1 - self.i], data: p });
        }
        self.events.extend(std::iter::from_fn(|| self.dc.poll_event()));
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.dc.poll_timeout()
    }
}

impl Simulation for Pair {
    type Endpoint<'a> = Node<'a>;

    fn world(&mut self) -> (&mut Network, &mut VirtualClock) {
        (&mut self.net, &mut self.clock)
    }

    fn endpoint(&mut self, i: usize) -> Node<'_> {
        Node {
            i,
            dc: &mut self.dc[i],
            events: &mut self.events[i],
            addr: self.addr,
            start: self.clock.start(),
            trace: self.trace,
            filter: &mut self.filter,
        }
    }

    fn route(&self, to: SocketAddr) -> Option<usize> {
        self.addr.iter().position(|a| *a == to)
    }
}
