//! Unit tests: the client against a tiny fake TURN server built on the stun
//! codec, on a virtual clock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stun::{Attribute, ChannelData, Class, IntegrityKey, Message, Method, TransactionId};

use super::*;

const SERVER: &str = "203.0.113.1:3478";
const LOCAL: &str = "192.168.1.10:50000";
const MAPPED: &str = "198.51.100.7:61000";
const RELAYED: &str = "203.0.113.1:49170";
const PEER: &str = "198.51.100.20:40000";
const USER: &str = "alice";
const PASS: &str = "secret";
const REALM: &str = "example.test";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    authenticated: bool,
    lifetime: Option<u32>,
}

/// A minimal TURN server: long-term auth with a nonce, Allocate, Refresh,
/// CreatePermission, ChannelBind, Send indications and ChannelData.
struct FakeServer {
    key: IntegrityKey,
    nonce_counter: u32,
    nonce: String,
    /// Answer the next authenticated request with 438 (and a new nonce), this many times.
    stale: u32,
    /// Answer nothing at all.
    silent: bool,
    /// Lifetime granted to Allocate and Refresh (capped by the request).
    max_lifetime: u32,
    /// Grant exactly this lifetime, whatever was asked.
    grant: Option<u32>,
    /// Answer CreatePermission/ChannelBind for this IP with 403.
    forbidden: Option<IpAddr>,
    /// Answer Refresh with this error code.
    refresh_error: Option<u16>,
    allocated: bool,
    permissions: BTreeSet<IpAddr>,
    channels: BTreeMap<u16, SocketAddr>,
    requests: Vec<Seen>,
    /// Data the client asked to relay: (peer, data, via ChannelData).
    relayed_out: Vec<(SocketAddr, Vec<u8>, bool)>,
}

impl FakeServer {
    fn new() -> Self {
        FakeServer {
            key: IntegrityKey::long_term(USER, REALM, PASS),
            nonce_counter: 0,
            nonce: "nonce-0".into(),
            stale: 0,
            silent: false,
            max_lifetime: 600,
            grant: None,
            forbidden: None,
            refresh_error: None,
            allocated: false,
            permissions: BTreeSet::new(),
            channels: BTreeMap::new(),
            requests: Vec::new(),
            relayed_out: Vec::new(),
        }
    }

    fn new_nonce(&mut self) {
        self.nonce_counter += 1;
        self.nonce = format!("nonce-{}", self.nonce_counter);
    }

    fn unauthorized(&self, req: &Message<'_>, code: u16, reason: &str) -> Vec<u8> {
        req.error_response(code, reason)
            .with(Attribute::Realm(REALM))
            .with(Attribute::Nonce(&self.nonce))
            .to_bytes(None, true)
    }

    fn count(&self, method: Method) -> usize {
        self.requests.iter().filter(|s| s.method == method).count()
    }

    /// Handles one datagram from the client; returns the answer, if any.
    fn handle(&mut self, _from: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
        if self.silent {
            return None;
        }
        if ChannelData::is_channel_data(data) {
            let cd = ChannelData::decode(data).expect("client sent bad ChannelData");
            let peer = *self.channels.get(&cd.channel).expect("ChannelData on an unbound channel");
            self.relayed_out.push((peer, cd.data.to_vec(), true));
            return None;
        }
        let req = Message::decode(data).expect("client sent bad STUN");
        if req.class == Class::Indication {
            assert_eq!(req.method, Method::SEND);
            let peer = req.find(|a| match a {
                Attribute::XorPeerAddress(p) => Some(*p),
                _ => None,
            });
            let payload = req.find(|a| match a {
                Attribute::Data(d) => Some(d.to_vec()),
                _ => None,
            });
            let peer = peer.unwrap();
            assert!(self.permissions.contains(&peer.ip()), "Send indication without permission");
            self.relayed_out.push((peer, payload.unwrap(), false));
            return None;
        }
        assert_eq!(req.class, Class::Request);
        let lifetime = req.find(|a| match a {
            Attribute::Lifetime(l) => Some(*l),
            _ => None,
        });
        self.requests.push(Seen { method: req.method, authenticated: req.has_integrity(), lifetime });
        if !req.has_integrity() {
            return Some(self.unauthorized(&req, 401, "Unauthorized"));
        }
        let user = req.find(|a| match a {
            Attribute::Username(u) => Some(*u),
            _ => None,
        });
        let nonce = req.find(|a| match a {
            Attribute::Nonce(n) => Some(*n),
            _ => None,
        });
        if user != Some(USER) || req.verify_integrity(data, &self.key).is_err() {
            return Some(self.unauthorized(&req, 401, "Unauthorized"));
        }
        if nonce != Some(self.nonce.as_str()) {
            return Some(self.unauthorized(&req, 438, "Stale Nonce"));
        }
        if self.stale > 0 {
            self.stale -= 1;
            self.new_nonce();
            return Some(self.unauthorized(&req, 438, "Stale Nonce"));
        }
        let granted = self.grant.unwrap_or(lifetime.unwrap_or(600).min(self.max_lifetime));
        let peer = req.find(|a| match a {
            Attribute::XorPeerAddress(p) => Some(*p),
            _ => None,
        });
        let resp = match req.method {
            Method::ALLOCATE => {
                if self.allocated {
                    req.error_response(437, "Allocation Mismatch")
                } else {
                    self.allocated = true;
                    req.success_response()
                        .with(Attribute::XorRelayedAddress(addr(RELAYED)))
                        .with(Attribute::XorMappedAddress(addr(MAPPED)))
                        .with(Attribute::Lifetime(granted))
                }
            }
            Method::REFRESH => {
                if let Some(code) = self.refresh_error {
                    req.error_response(code, "Refresh refused")
                } else if !self.allocated {
                    req.error_response(437, "Allocation Mismatch")
                } else {
                    if lifetime == Some(0) {
                        self.allocated = false;
                    }
                    req.success_response().with(Attribute::Lifetime(granted))
                }
            }
            Method::CREATE_PERMISSION | Method::CHANNEL_BIND => {
                let peer = peer.expect("no XOR-PEER-ADDRESS");
                if self.forbidden == Some(peer.ip()) {
                    req.error_response(403, "Forbidden")
                } else {
                    self.permissions.insert(peer.ip());
                    if req.method == Method::CHANNEL_BIND {
                        let channel = req
                            .find(|a| match a {
                                Attribute::ChannelNumber(c) => Some(*c),
                                _ => None,
                            })
                            .expect("no CHANNEL-NUMBER");
                        self.channels.insert(channel, peer);
                    }
                    req.success_response()
                }
            }
            _ => req.error_response(400, "Bad Request"),
        };
        Some(resp.to_bytes(Some(&self.key), true))
    }

    /// A Data indication from `peer` carrying `data`.
    fn data_indication(&self, peer: SocketAddr, data: &[u8]) -> Vec<u8> {
        Message::new(Class::Indication, Method::DATA, TransactionId([9; 12]))
            .with(Attribute::XorPeerAddress(peer))
            .with(Attribute::Data(data))
            .to_bytes(None, true)
    }
}

/// The client, the server and a virtual clock.
struct Harness {
    now: Instant,
    start: Instant,
    client: TurnClient,
    server: FakeServer,
    events: Vec<TurnEvent>,
    /// Times (since start) of every datagram the client sent.
    sent_at: Vec<(Duration, Vec<u8>)>,
}

impl Harness {
    fn with(config: impl FnOnce(&mut TurnConfig), server: FakeServer) -> Self {
        let start = Instant::now();
        let mut cfg = TurnConfig::new(addr(SERVER), addr(LOCAL), USER, PASS);
        config(&mut cfg);
        let client = TurnClient::new(start, cfg, 7);
        let mut h = Harness { now: start, start, client, server, events: Vec::new(), sent_at: Vec::new() };
        h.pump();
        h
    }

    fn new() -> Self {
        Self::with(|_| {}, FakeServer::new())
    }

    /// An allocated client (events drained).
    fn allocated() -> Self {
        let mut h = Self::new();
        assert_eq!(h.client.state(), TurnState::Allocated);
        h.events.clear();
        h
    }

    /// Exchanges datagrams until nobody has anything to say.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let Some(t) = self.client.poll_transmit(self.now) else {
                while let Some(e) = self.client.poll_event() {
                    self.events.push(e);
                }
                return;
            };
            assert_eq!((t.from, t.to), (self.client.local(), addr(SERVER)));
            self.sent_at.push((self.now - self.start, t.data.clone()));
            if let Some(resp) = self.server.handle(t.from, &t.data) {
                assert!(self.client.handle_receive(self.now, &resp).is_none());
            }
        }
        panic!("pump did not settle");
    }

    /// Advances virtual time by `d`, firing every timer on the way.
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        for _ in 0..100_000 {
            match self.client.poll_timeout() {
                Some(t) if t <= target => {
                    assert!(t >= self.now || t + Duration::from_millis(1) >= self.now, "timeout went backwards");
                    self.now = self.now.max(t);
                    self.client.handle_timeout(self.now);
                    self.pump();
                }
                _ => {
                    self.now = target;
                    self.client.handle_timeout(self.now);
                    self.pump();
                    return;
                }
            }
        }
        panic!("advance did not settle (timer loop)");
    }

    fn requests_since(&self, from: usize, method: Method) -> usize {
        self.server.requests[from..].iter().filter(|s| s.method == method).count()
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn allocate_retries_with_credentials_after_401() {
    let h = Harness::new();
    let seen = &h.server.requests;
    assert_eq!(seen.len(), 2);
    assert_eq!((seen[0].method, seen[0].authenticated), (Method::ALLOCATE, false));
    assert_eq!((seen[1].method, seen[1].authenticated), (Method::ALLOCATE, true));
    assert_eq!(seen[1].lifetime, Some(600));
    assert_eq!(h.events, vec![TurnEvent::Allocated { relayed: addr(RELAYED), mapped: Some(addr(MAPPED)) }]);
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert_eq!(h.client.relayed_address(), Some(addr(RELAYED)));
    assert_eq!(h.client.mapped_address(), Some(addr(MAPPED)));
    assert_eq!(h.client.stats(), TurnStats::default());
}

#[test]
fn stale_nonce_on_allocate_is_retried_once() {
    let mut server = FakeServer::new();
    server.stale = 1;
    let h = Harness::with(|_| {}, server);
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert_eq!(h.server.count(Method::ALLOCATE), 3); // 401, 438, success
    assert_eq!(h.client.stats().stale_nonce_retries, 1);
}

#[test]
fn stale_nonce_on_every_request_type_is_retried_once() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);

    h.server.stale = 1;
    h.client.create_permission(h.now, peer.ip());
    h.pump();
    assert_eq!(h.server.count(Method::CREATE_PERMISSION), 2);
    assert_eq!(h.events, vec![TurnEvent::PermissionCreated(peer.ip())]);

    h.server.stale = 1;
    h.client.bind_channel(h.now, peer);
    h.pump();
    assert_eq!(h.server.count(Method::CHANNEL_BIND), 2);
    assert!(h.events.contains(&TurnEvent::ChannelBound { peer, channel: 0x4000 }));

    h.server.stale = 1;
    h.client.refresh_now(h.now);
    h.pump();
    assert_eq!(h.server.count(Method::REFRESH), 2);
    assert!(h.events.contains(&TurnEvent::Refreshed { lifetime: secs(600) }));
    assert_eq!(h.client.stats().stale_nonce_retries, 3);
    assert_eq!(h.client.state(), TurnState::Allocated);
}

#[test]
fn second_stale_nonce_fails_the_request() {
    let mut h = Harness::allocated();
    let peer = addr(PEER).ip();
    h.server.stale = 2;
    h.client.create_permission(h.now, peer);
    h.pump();
    assert_eq!(h.server.count(Method::CREATE_PERMISSION), 2);
    assert!(matches!(
        &h.events[..],
        [TurnEvent::PermissionFailed { peer: p, error: TurnError::ServerError { code: 438, .. } }] if *p == peer
    ));
    assert!(!h.client.has_permission(peer));
    assert_eq!(h.client.state(), TurnState::Allocated, "a failed permission is not fatal");
    assert_eq!(h.client.stats().permission_failures, 1);
}

#[test]
fn wrong_password_is_a_clear_fatal_error() {
    let mut h = Harness::with(|c| c.password = "wrong".into(), FakeServer::new());
    assert_eq!(h.server.count(Method::ALLOCATE), 2, "no third attempt after the authenticated 401");
    assert_eq!(h.client.state(), TurnState::Failed);
    let [TurnEvent::Failed(error)] = &h.events[..] else { panic!("events: {:?}", h.events) };
    assert_eq!(*error, TurnError::Unauthorized { server: addr(SERVER), username: USER.into() });
    let text = error.to_string();
    assert!(text.contains(SERVER) && text.contains(USER) && text.contains("401"), "{text}");
    assert_eq!(h.client.poll_timeout(), None);
    assert_eq!(h.client.relayed_address(), None);
    // Nothing more happens, whatever comes in.
    h.advance(secs(100));
    assert!(h.client.poll_transmit(h.now).is_none());
}

#[test]
fn allocate_times_out_on_the_rfc_schedule() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut h = Harness::with(|_| {}, server);
    h.advance(secs(60));
    let times: Vec<u64> = h.sent_at.iter().map(|(t, _)| t.as_millis() as u64).collect();
    assert_eq!(times, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert!(h.sent_at.iter().all(|(_, d)| d == &h.sent_at[0].1), "retransmissions are identical");
    assert_eq!(h.events, vec![TurnEvent::Failed(TurnError::Timeout { server: addr(SERVER), request: "Allocate" })]);
    assert_eq!(h.client.state(), TurnState::Failed);
    assert_eq!(h.client.stats().retransmissions, 6);
}

#[test]
fn allocate_timeout_fires_at_39_5_s() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut h = Harness::with(|_| {}, server);
    h.advance(Duration::from_millis(39_499));
    assert!(h.events.is_empty());
    assert_eq!(h.client.state(), TurnState::Allocating);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.client.state(), TurnState::Failed);
}

#[test]
fn refresh_goes_out_60_s_before_expiry() {
    let mut h = Harness::allocated();
    h.advance(secs(539));
    assert_eq!(h.server.count(Method::REFRESH), 0);
    h.advance(secs(1));
    assert_eq!(h.server.count(Method::REFRESH), 1);
    assert_eq!(h.server.requests.last().unwrap().lifetime, Some(600));
    assert_eq!(h.events, vec![TurnEvent::Refreshed { lifetime: secs(600) }]);
    // And again 540 s after the refresh.
    h.advance(secs(540));
    assert_eq!(h.server.count(Method::REFRESH), 2);
    assert_eq!(h.client.state(), TurnState::Allocated);
}

#[test]
fn short_lifetime_refreshes_at_half() {
    let mut server = FakeServer::new();
    server.max_lifetime = 100;
    let mut h = Harness::with(|_| {}, server);
    h.events.clear();
    h.advance(secs(49));
    assert_eq!(h.server.count(Method::REFRESH), 0);
    h.advance(secs(1));
    assert_eq!(h.server.count(Method::REFRESH), 1);
    assert_eq!(h.events, vec![TurnEvent::Refreshed { lifetime: secs(100) }]);
}

#[test]
fn absurd_granted_lifetimes_are_clamped() {
    let mut server = FakeServer::new();
    server.grant = Some(u32::MAX);
    let mut h = Harness::with(|_| {}, server);
    assert_eq!(h.client.state(), TurnState::Allocated);
    let refresh_at = h.client.poll_timeout().unwrap();
    assert_eq!(refresh_at - h.now, secs(24 * 3600 - 60));
    h.server.grant = Some(0);
    h.advance(secs(24 * 3600));
    // A 0 s grant is planned as 2 s: refreshed every second, not in a tight loop.
    let before = h.server.count(Method::REFRESH);
    h.advance(secs(10));
    assert_eq!(h.server.count(Method::REFRESH) - before, 10);
    assert_eq!(h.client.state(), TurnState::Allocated);
}

#[test]
fn unanswered_refresh_is_retried_then_expires() {
    let mut h = Harness::allocated();
    h.server.silent = true;
    h.advance(secs(599));
    assert_eq!(h.client.state(), TurnState::Allocated);
    // 540 s: first Refresh, times out at 579.5 s, second one goes out then.
    let refreshes = h.sent_at.iter().filter(|(t, _)| *t >= secs(540)).count();
    assert!(refreshes >= 8, "retransmissions and a retry: {refreshes}");
    h.advance(secs(1));
    assert_eq!(h.client.state(), TurnState::Failed);
    assert_eq!(h.events, vec![TurnEvent::Failed(TurnError::Expired { server: addr(SERVER) })]);
}

#[test]
fn refresh_437_is_fatal() {
    let mut h = Harness::allocated();
    h.server.refresh_error = Some(437);
    h.client.refresh_now(h.now);
    h.pump();
    assert_eq!(h.events, vec![TurnEvent::Failed(TurnError::AllocationMismatch { server: addr(SERVER) })]);
    assert_eq!(h.client.state(), TurnState::Failed);
}

#[test]
fn send_needs_a_permission() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    assert!(h.client.send_to(peer, b"hi").is_none());
    assert_eq!(h.client.stats().sends_without_permission, 1);
    assert!(!h.client.has_permission(peer.ip()));

    h.client.create_permission(h.now, peer.ip());
    assert!(!h.client.has_permission(peer.ip()), "not before the server answered");
    assert!(h.client.send_to(peer, b"hi").is_none());
    h.pump();
    assert!(h.client.has_permission(peer.ip()));
    assert_eq!(h.events, vec![TurnEvent::PermissionCreated(peer.ip())]);

    let t = h.client.send_to(peer, b"hello peer").unwrap();
    assert_eq!((t.from, t.to), (addr(LOCAL), addr(SERVER)));
    let msg = Message::decode(&t.data).unwrap();
    assert_eq!((msg.class, msg.method), (Class::Indication, Method::SEND));
    assert!(!msg.has_integrity());
    h.server.handle(t.from, &t.data);
    assert_eq!(h.server.relayed_out, vec![(peer, b"hello peer".to_vec(), false)]);
}

#[test]
fn send_without_allocation_is_refused() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut h = Harness::with(|_| {}, server);
    assert!(h.client.send_to(addr(PEER), b"x").is_none());
    assert_eq!(h.client.stats().sends_without_allocation, 1);
}

#[test]
fn permission_requested_while_allocating_goes_out_after_allocation() {
    let start = Instant::now();
    let mut client = TurnClient::new(start, TurnConfig::new(addr(SERVER), addr(LOCAL), USER, PASS), 1);
    client.create_permission(start, addr(PEER).ip());
    client.bind_channel(start, addr(PEER));
    let mut h = Harness { now: start, start, client, server: FakeServer::new(), events: vec![], sent_at: vec![] };
    h.pump();
    assert_eq!(h.server.count(Method::CREATE_PERMISSION), 1);
    assert_eq!(h.server.count(Method::CHANNEL_BIND), 1);
    assert!(h.client.has_permission(addr(PEER).ip()));
    assert_eq!(h.client.channel(addr(PEER)), Some(0x4000));
}

#[test]
fn channel_data_after_bind() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    h.client.bind_channel(h.now, peer);
    h.pump();
    assert_eq!(
        h.events,
        vec![TurnEvent::PermissionCreated(peer.ip()), TurnEvent::ChannelBound { peer, channel: 0x4000 }]
    );
    assert!(h.client.has_permission(peer.ip()), "ChannelBind installs the permission");
    let t = h.client.send_to(peer, b"via channel").unwrap();
    assert_eq!(&t.data[..4], &[0x40, 0x00, 0, 11]);
    assert_eq!(t.data.len(), 4 + 11);
    h.server.handle(t.from, &t.data);
    assert_eq!(h.server.relayed_out, vec![(peer, b"via channel".to_vec(), true)]);

    // Another port on the same IP: permission yes, channel no, so a Send indication.
    let other = SocketAddr::new(peer.ip(), 40001);
    let t = h.client.send_to(other, b"x").unwrap();
    assert!(stun::is_stun(&t.data));
    // A second channel gets the next number.
    h.client.bind_channel(h.now, other);
    h.pump();
    assert_eq!(h.client.channel(other), Some(0x4001));
}

#[test]
fn receives_data_indications_and_channel_data() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    h.client.create_permission(h.now, peer.ip());
    h.pump();

    let ind = h.server.data_indication(peer, b"from peer");
    assert_eq!(h.client.handle_receive(h.now, &ind), Some((peer, &b"from peer"[..])));

    h.client.bind_channel(h.now, peer);
    h.pump();
    let mut cd = Vec::new();
    ChannelData { channel: 0x4000, data: b"over channel" }.encode(&mut cd, false);
    assert_eq!(h.client.handle_receive(h.now, &cd), Some((peer, &b"over channel"[..])));
    // Padded (as over TCP) is fine too.
    let mut padded = Vec::new();
    ChannelData { channel: 0x4000, data: b"pad" }.encode(&mut padded, true);
    assert_eq!(h.client.handle_receive(h.now, &padded), Some((peer, &b"pad"[..])));

    let mut unknown = Vec::new();
    ChannelData { channel: 0x4abc, data: b"?" }.encode(&mut unknown, false);
    assert_eq!(h.client.handle_receive(h.now, &unknown), None);
    assert_eq!(h.client.stats().unknown_channels, 1);
}

#[test]
fn garbage_is_dropped_and_counted() {
    let mut h = Harness::allocated();
    let now = h.now;
    let c = &mut h.client;
    assert_eq!(c.handle_receive(now, b""), None);
    assert_eq!(c.handle_receive(now, b"\xff\xfe garbage"), None);
    assert_eq!(c.handle_receive(now, &[0x40, 0x00, 0x00, 0x10, 1, 2]), None); // truncated ChannelData
    let mut not_stun = vec![0u8; 20];
    not_stun[3] = 0; // no magic cookie
    assert_eq!(c.handle_receive(now, &not_stun), None);
    // A Data indication without DATA.
    let bare = Message::new(Class::Indication, Method::DATA, TransactionId([1; 12]))
        .with(Attribute::XorPeerAddress(addr(PEER)))
        .to_bytes(None, false);
    assert_eq!(c.handle_receive(now, &bare), None);
    // A request from the "server".
    let req = Message::new(Class::Request, Method::BINDING, TransactionId([2; 12])).to_bytes(None, false);
    assert_eq!(c.handle_receive(now, &req), None);
    assert_eq!(c.stats().dropped, 6);

    // A response to a transaction we never started.
    let stray = Message::new(Class::Success, Method::REFRESH, TransactionId([3; 12])).to_bytes(None, true);
    assert_eq!(c.handle_receive(now, &stray), None);
    assert_eq!(c.stats().unknown_transactions, 1);
    assert_eq!(c.state(), TurnState::Allocated);
}

#[test]
fn responses_failing_integrity_are_dropped() {
    let mut h = Harness::allocated();
    h.client.refresh_now(h.now);
    let t = h.client.poll_transmit(h.now).unwrap();
    let req = Message::decode(&t.data).unwrap();
    let forged_key = IntegrityKey::long_term(USER, REALM, "not-the-password");
    // Signed with another key, and unsigned: both dropped.
    let forged = req.success_response().with(Attribute::Lifetime(1)).to_bytes(Some(&forged_key), true);
    assert_eq!(h.client.handle_receive(h.now, &forged), None);
    let unsigned = req.success_response().with(Attribute::Lifetime(1)).to_bytes(None, true);
    assert_eq!(h.client.handle_receive(h.now, &unsigned), None);
    // An unsigned error other than 401/438 is dropped too.
    let unsigned_err = req.error_response(437, "Allocation Mismatch").to_bytes(None, true);
    assert_eq!(h.client.handle_receive(h.now, &unsigned_err), None);
    assert_eq!(h.client.stats().integrity_failures, 3);
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert!(h.client.poll_event().is_none());
    // The genuine answer still completes the transaction.
    let real = h.server.handle(t.from, &t.data).unwrap();
    h.client.handle_receive(h.now, &real);
    assert_eq!(h.client.poll_event(), Some(TurnEvent::Refreshed { lifetime: secs(600) }));
}

#[test]
fn fuzzed_input_never_panics() {
    let mut h = Harness::allocated();
    h.client.bind_channel(h.now, addr(PEER));
    h.client.refresh_now(h.now);
    let pending: Vec<Vec<u8>> = std::iter::from_fn(|| h.client.poll_transmit(h.now)).map(|t| t.data).collect();
    let mut rng = SmallRng::seed_from_u64(99);
    // Genuine answers to mutate.
    let mut seeds: Vec<Vec<u8>> = pending.iter().filter_map(|d| h.server.handle(addr(LOCAL), d)).collect();
    seeds.push(h.server.data_indication(addr(PEER), b"payload"));
    seeds.push(vec![0x40, 0x00, 0x00, 0x02, 0xaa, 0xbb]);
    for i in 0..20_000 {
        let mut d = if i % 4 == 0 {
            (0..rng.gen_range(0..80)).map(|_| rng.gen()).collect()
        } else {
            seeds[rng.gen_range(0..seeds.len())].clone()
        };
        for _ in 0..rng.gen_range(1..4) {
            if d.is_empty() {
                break;
            }
            match rng.gen_range(0..3) {
                0 => {
                    let at = rng.gen_range(0..d.len());
                    d[at] ^= 1 << rng.gen_range(0..8);
                }
                1 => d.truncate(rng.gen_range(0..d.len())),
                _ => d.push(rng.gen()),
            }
        }
        let _ = h.client.handle_receive(h.now, &d);
    }
    let s = h.client.stats();
    assert!(s.dropped > 0 && s.unknown_transactions + s.integrity_failures + s.dropped > 10_000, "{s:?}");
}

#[test]
fn permission_refreshed_while_in_use_and_expires_when_idle() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    h.client.create_permission(h.now, peer.ip());
    h.pump();
    let mark = h.server.requests.len();
    // Used: refreshed at 240 s.
    h.advance(secs(100));
    h.client.send_to(peer, b"x").unwrap();
    h.advance(secs(139));
    assert_eq!(h.requests_since(mark, Method::CREATE_PERMISSION), 0);
    h.advance(secs(1));
    assert_eq!(h.requests_since(mark, Method::CREATE_PERMISSION), 1);
    assert!(h.client.has_permission(peer.ip()));
    // Idle since: no refresh at 480 s, gone at 540 s.
    h.advance(secs(299));
    assert_eq!(h.requests_since(mark, Method::CREATE_PERMISSION), 1);
    assert!(h.client.has_permission(peer.ip()));
    h.advance(secs(1));
    assert!(!h.client.has_permission(peer.ip()));
    assert!(h.client.send_to(peer, b"x").is_none());
    // The allocation itself was refreshed meanwhile.
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert_eq!(h.events.iter().filter(|e| matches!(e, TurnEvent::PermissionCreated(_))).count(), 1);
}

#[test]
fn channel_rebound_at_540_s_while_in_use() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    h.client.bind_channel(h.now, peer);
    h.pump();
    let mark = h.server.requests.len();
    for _ in 0..10 {
        h.advance(secs(53));
        h.client.send_to(peer, b"keepalive").unwrap();
    }
    h.advance(secs(10)); // 540 s
    assert_eq!(h.requests_since(mark, Method::CHANNEL_BIND), 1);
    assert_eq!(h.client.channel(peer), Some(0x4000), "same number on re-bind");
    // The permission was kept alive by CreatePermission at 240 s and 480 s.
    assert_eq!(h.requests_since(mark, Method::CREATE_PERMISSION), 2);
    assert!(h.client.has_permission(peer.ip()));
    // Unused afterwards: the channel expires and its number is not reused at once.
    h.advance(secs(700));
    assert_eq!(h.client.channel(peer), None);
    h.client.bind_channel(h.now, peer);
    h.pump();
    assert_eq!(h.client.channel(peer), Some(0x4001));
}

#[test]
fn forbidden_peer_is_an_event_not_a_failure() {
    let mut h = Harness::allocated();
    let peer = addr(PEER);
    h.server.forbidden = Some(peer.ip());
    h.client.create_permission(h.now, peer.ip());
    h.client.bind_channel(h.now, peer);
    h.pump();
    assert_eq!(h.events.len(), 2, "{:?}", h.events);
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, TurnEvent::PermissionFailed { error: TurnError::ServerError { code: 403, .. }, .. })));
    assert!(h.events.iter().any(|e| matches!(e, TurnEvent::ChannelBindFailed { .. })));
    assert_eq!(h.client.state(), TurnState::Allocated);
    assert_eq!(h.client.stats().channel_bind_failures, 1);
    assert_eq!(h.client.channel(peer), None);
    assert!(h.client.send_to(peer, b"x").is_none());
}

#[test]
fn permission_and_channel_caps() {
    let mut h = Harness::allocated();
    for i in 0..MAX_PERMISSIONS as u32 + 1 {
        let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
        h.client.create_permission(h.now, ip);
    }
    h.pump();
    assert_eq!(h.server.permissions.len(), MAX_PERMISSIONS);
    let failures: Vec<&TurnEvent> =
        h.events.iter().filter(|e| matches!(e, TurnEvent::PermissionFailed { .. })).collect();
    let [TurnEvent::PermissionFailed { error, .. }] = &failures[..] else { panic!("{failures:?}") };
    assert!(matches!(error, TurnError::Limit { what: "permissions", .. }));
    assert!(error.to_string().contains("too many TURN permissions"), "{error}");
    assert_eq!(h.client.stats().permission_failures, 1);
}

#[test]
fn close_deallocates() {
    let mut h = Harness::allocated();
    h.client.create_permission(h.now, addr(PEER).ip());
    h.pump();
    h.events.clear();
    h.client.close(h.now);
    assert_eq!(h.client.state(), TurnState::Closing);
    h.pump();
    let last = h.server.requests.last().unwrap();
    assert_eq!((last.method, last.lifetime), (Method::REFRESH, Some(0)));
    assert!(!h.server.allocated);
    assert_eq!(h.events, vec![TurnEvent::Closed]);
    assert_eq!(h.client.state(), TurnState::Closed);
    assert_eq!(h.client.relayed_address(), None);
    assert_eq!(h.client.poll_timeout(), None);
    h.client.create_permission(h.now, addr(PEER).ip());
    assert!(matches!(h.client.poll_event(), Some(TurnEvent::PermissionFailed { .. })));
}

#[test]
fn close_without_answer_closes_after_timeout() {
    let mut h = Harness::allocated();
    h.server.silent = true;
    h.client.close(h.now);
    h.advance(Duration::from_millis(39_499));
    assert_eq!(h.client.state(), TurnState::Closing);
    h.advance(Duration::from_millis(1));
    assert_eq!(h.client.state(), TurnState::Closed);
    assert_eq!(h.events, vec![TurnEvent::Closed]);
}

#[test]
fn close_while_allocating_is_immediate() {
    let mut server = FakeServer::new();
    server.silent = true;
    let mut h = Harness::with(|_| {}, server);
    h.client.close(h.now);
    assert_eq!(h.client.state(), TurnState::Closed);
    assert_eq!(h.client.poll_event(), Some(TurnEvent::Closed));
}

#[test]
fn same_seed_same_bytes() {
    let run = || {
        let mut h = Harness::allocated();
        h.client.create_permission(h.now, addr(PEER).ip());
        h.client.bind_channel(h.now, SocketAddr::new(addr(PEER).ip(), 1));
        h.pump();
        h.advance(secs(600));
        h.sent_at
    };
    assert_eq!(run(), run());
}

#[test]
fn config_debug_hides_the_password() {
    let cfg = TurnConfig::new(addr(SERVER), addr(LOCAL), USER, "hunter2");
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

fn stream(transport: TurnTransport) -> impl FnOnce(&mut TurnConfig) {
    move |c| {
        c.local = SocketAddr::new(addr(LOCAL).ip(), 0);
        c.transport = transport;
    }
}

#[test]
fn stream_transport_sends_each_request_once_and_times_out_at_39_5_s() {
    for transport in [TurnTransport::Tcp, TurnTransport::Tls] {
        let mut server = FakeServer::new();
        server.silent = true;
        let mut h = Harness::with(stream(transport), server);
        h.advance(Duration::from_millis(39_499));
        assert_eq!(h.sent_at.len(), 1, "no retransmission over {transport:?}");
        assert!(h.events.is_empty());
        h.advance(Duration::from_millis(1));
        assert_eq!(h.sent_at.len(), 1);
        assert_eq!(h.client.stats().retransmissions, 0);
        assert_eq!(h.events, vec![TurnEvent::Failed(TurnError::Timeout { server: addr(SERVER), request: "Allocate" })]);
    }
}

#[test]
fn stream_transport_pads_channel_data_and_tags_transmits() {
    let start = Instant::now();
    let mut cfg = TurnConfig::new(addr(SERVER), addr(LOCAL), USER, PASS);
    stream(TurnTransport::Tcp)(&mut cfg);
    let mut client = TurnClient::new(start, cfg, 7);
    let mut server = FakeServer::new();
    let peer = addr(PEER);
    let mut bound = false;
    for _ in 0..20 {
        while let Some(t) = client.poll_transmit(start) {
            assert_eq!(t.transport, TurnTransport::Tcp);
            assert_eq!(stun::frame_len(&t.data).unwrap().unwrap(), t.data.len(), "one whole frame per transmit");
            if let Some(resp) = server.handle(t.from, &t.data) {
                client.handle_receive(start, &resp);
            }
        }
        if client.state() == TurnState::Allocated && !bound {
            client.bind_channel(start, peer);
            bound = true;
        }
    }
    assert_eq!(client.channel(peer), Some(0x4000));
    let t = client.send_to(peer, b"via channel").unwrap();
    assert_eq!(t.transport, TurnTransport::Tcp);
    assert_eq!(&t.data[..4], &[0x40, 0x00, 0, 11]);
    assert_eq!(t.data.len(), 16, "padded to 4 bytes on a stream");
    assert_eq!(stun::frame_len(&t.data).unwrap().unwrap(), 16);

    // A padded frame from the server is accepted.
    let mut frame = Vec::new();
    ChannelData { channel: 0x4000, data: b"back" }.encode(&mut frame, true);
    ChannelData { channel: 0x4000, data: b"abc" }.encode(&mut frame, true);
    assert_eq!(client.handle_receive(start, &frame[..8]), Some((peer, &b"back"[..])));
    assert_eq!(client.handle_receive(start, &frame[8..]), Some((peer, &b"abc"[..])));
}

#[test]
fn broken_stream_fails_the_allocation() {
    let mut h = Harness::with(stream(TurnTransport::Tls), FakeServer::new());
    assert_eq!(h.client.state(), TurnState::Allocated);
    h.events.clear();
    h.client.connection_failed("reset by peer");
    h.pump();
    assert_eq!(h.client.state(), TurnState::Failed);
    assert!(matches!(&h.events[..], [TurnEvent::Failed(TurnError::Connection { transport: TurnTransport::Tls, .. })]));

    // UDP has no connection to lose.
    let mut h = Harness::allocated();
    h.client.connection_failed("nothing");
    assert_eq!(h.client.state(), TurnState::Allocated);
}
