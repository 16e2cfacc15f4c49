//! Interop: [`ice::turn::TurnClient`] against a real coturn on loopback.
//!
//! ```text
//! eval "$(scripts/coturn.sh start)"
//! cargo test -p oxrtc-ice --test turn_coturn -- --include-ignored
//! scripts/coturn.sh stop
//! ```
//!
//! Each test drives the sans-IO client with real UDP sockets on 127.0.0.1
//! and the real clock, in a short blocking loop bounded to a few seconds.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ice::turn::{TurnClient, TurnConfig, TurnError, TurnEvent, TurnState};

const NEEDS_COTURN: &str = "needs coturn: run scripts/test.sh";
/// The longest any single exchange may take on loopback.
const LIMIT: Duration = Duration::from_secs(5);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start coturn first with `eval \"$(scripts/coturn.sh start)\"` (or run scripts/test.sh)"
        )
    })
}

struct Coturn {
    server: SocketAddr,
    user: String,
    pass: String,
    realm: String,
}

fn coturn() -> Coturn {
    let udp = env("OXRTC_TURN_UDP");
    Coturn {
        server: udp.parse().unwrap_or_else(|e| panic!("OXRTC_TURN_UDP={udp:?} is not a socket address: {e}")),
        user: env("OXRTC_TURN_USER"),
        pass: env("OXRTC_TURN_PASS"),
        realm: env("OXRTC_TURN_REALM"),
    }
}

fn seed(name: &str) -> u64 {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
    name.bytes().fold(t, |h, b| h.rotate_left(5) ^ u64::from(b))
}

/// One TURN client with its socket, and what it has seen.
struct Peer {
    name: &'static str,
    client: TurnClient,
    socket: UdpSocket,
    events: Vec<TurnEvent>,
    /// (peer, data, arrived as ChannelData)
    received: Vec<(SocketAddr, Vec<u8>, bool)>,
}

impl Peer {
    fn new(name: &'static str, configure: impl FnOnce(&mut TurnConfig)) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket on 127.0.0.1");
        Self::with_socket(name, socket, configure)
    }

    fn with_socket(name: &'static str, socket: UdpSocket, configure: impl FnOnce(&mut TurnConfig)) -> Peer {
        let c = coturn();
        let mut config = TurnConfig::new(c.server, socket.local_addr().unwrap(), c.user, c.pass);
        config.software = Some("oxrtc turn_coturn test".into());
        configure(&mut config);
        let client = TurnClient::new(Instant::now(), config, seed(name));
        let mut peer = Peer { name, client, socket, events: Vec::new(), received: Vec::new() };
        peer.flush();
        peer
    }

    fn relayed(&self) -> SocketAddr {
        self.client.relayed_address().unwrap_or_else(|| panic!("{} has no relayed address", self.name))
    }

    /// Sends what the client queued and collects its events.
    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit(Instant::now()) {
            assert_eq!(t.from, self.socket.local_addr().unwrap());
            self.socket.send_to(&t.data, t.to).expect("send to coturn");
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }

    /// Waits at most `budget` (less if a timer is due) for one datagram,
    /// feeds it in, fires due timers, flushes.
    fn step(&mut self, budget: Duration) {
        self.flush();
        let now = Instant::now();
        let wait = match self.client.poll_timeout() {
            Some(t) => budget.min(t.saturating_duration_since(now)),
            None => budget,
        }
        .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 2048];
        // WouldBlock / TimedOut (no datagram) and ConnectionRefused (ICMP) are all "nothing arrived".
        if let Ok((n, from)) = self.socket.recv_from(&mut buf) {
            if from == self.client.server() {
                let raw = &buf[..n];
                let channel = stun::ChannelData::is_channel_data(raw);
                if let Some((peer, data)) = self.client.handle_receive(Instant::now(), raw) {
                    self.received.push((peer, data.to_vec(), channel));
                }
            }
        }
        let now = Instant::now();
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        self.flush();
    }

    /// Wraps `data` for `to` and sends it; returns whether it went as ChannelData.
    fn send(&mut self, to: SocketAddr, data: &[u8]) -> bool {
        let t = self
            .client
            .send_to(to, data)
            .unwrap_or_else(|| panic!("{}: send_to({to}) refused: {:?}", self.name, self.client.stats()));
        self.socket.send_to(&t.data, t.to).expect("send to coturn");
        stun::ChannelData::is_channel_data(&t.data)
    }

    fn has_event(&self, f: impl Fn(&TurnEvent) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

/// Steps every peer until `done` holds; panics after [`LIMIT`].
fn run_until(peers: &mut [&mut Peer], what: &str, done: impl Fn(&[&mut Peer]) -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done(peers) {
        if Instant::now() > deadline {
            let state: Vec<String> = peers
                .iter()
                .map(|p| {
                    format!("{}: {:?} events {:?} stats {:?}", p.name, p.client.state(), p.events, p.client.stats())
                })
                .collect();
            panic!("timed out waiting for {what}:\n{}", state.join("\n"));
        }
        let budget = Duration::from_millis(if peers.len() > 1 { 5 } else { 50 });
        for p in peers.iter_mut() {
            p.step(budget);
        }
    }
}

fn allocate(p: &mut Peer) {
    run_until(&mut [p], "the allocation", |ps| ps[0].client.state() != TurnState::Allocating);
    assert_eq!(p.client.state(), TurnState::Allocated, "{}: events {:?}", p.name, p.events);
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn allocation_succeeds() {
    let _ = NEEDS_COTURN;
    let mut a = Peer::new("alloc", |_| {});
    allocate(&mut a);
    let relayed = a.relayed();
    assert_eq!(relayed.ip().to_string(), "127.0.0.1");
    assert!((49160..=49300).contains(&relayed.port()), "relay port {} outside coturn's 49160-49300", relayed.port());
    assert_eq!(a.client.mapped_address(), Some(a.socket.local_addr().unwrap()), "XOR-MAPPED-ADDRESS is our socket");
    assert_eq!(a.events, vec![TurnEvent::Allocated { relayed, mapped: a.client.mapped_address() }]);
    let stats = a.client.stats();
    assert_eq!((stats.integrity_failures, stats.dropped), (0, 0), "{stats:?}");
    let _ = coturn().realm; // the realm comes from the server's 401, not from configuration
    a.client.close(Instant::now());
    run_until(&mut [&mut a], "the deallocation", |ps| ps[0].client.state() == TurnState::Closed);
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn relay_between_two_clients_with_send_indications_then_channels() {
    let mut a = Peer::new("A", |_| {});
    let mut b = Peer::new("B", |_| {});
    run_until(&mut [&mut a, &mut b], "both allocations", |ps| {
        ps.iter().all(|p| p.client.state() != TurnState::Allocating)
    });
    let (ra, rb) = (a.relayed(), b.relayed());
    assert_ne!(ra, rb);

    // Permissions both ways (both relayed IPs are 127.0.0.1).
    let now = Instant::now();
    a.client.create_permission(now, rb.ip());
    b.client.create_permission(now, ra.ip());
    run_until(&mut [&mut a, &mut b], "both permissions", |ps| {
        ps.iter().all(|p| p.has_event(|e| matches!(e, TurnEvent::PermissionCreated(_))))
    });
    assert!(a.client.has_permission(rb.ip()) && b.client.has_permission(ra.ip()));

    // Send indication A -> B, Data indication at B from A's relayed address.
    assert!(!a.send(rb, b"hello B, via Send"));
    run_until(&mut [&mut a, &mut b], "B to receive A's Send", |ps| !ps[1].received.is_empty());
    assert_eq!(b.received, vec![(ra, b"hello B, via Send".to_vec(), false)]);
    assert!(!b.send(ra, b"hello A, via Send"));
    run_until(&mut [&mut a, &mut b], "A to receive B's Send", |ps| !ps[0].received.is_empty());
    assert_eq!(a.received, vec![(rb, b"hello A, via Send".to_vec(), false)]);

    // Channels both ways; then ChannelData in both directions.
    let now = Instant::now();
    a.client.bind_channel(now, rb);
    b.client.bind_channel(now, ra);
    run_until(&mut [&mut a, &mut b], "both channel bindings", |ps| {
        ps.iter().all(|p| p.has_event(|e| matches!(e, TurnEvent::ChannelBound { .. })))
    });
    assert_eq!(a.client.channel(rb), Some(0x4000));
    assert_eq!(b.client.channel(ra), Some(0x4000));
    a.received.clear();
    b.received.clear();
    let big = vec![0xa5u8; 1200];
    assert!(a.send(rb, b"A->B over a channel"));
    assert!(a.send(rb, &big));
    assert!(b.send(ra, b"B->A over a channel"));
    run_until(&mut [&mut a, &mut b], "ChannelData both ways", |ps| {
        ps[0].received.len() == 1 && ps[1].received.len() == 2
    });
    assert_eq!(b.received, vec![(ra, b"A->B over a channel".to_vec(), true), (ra, big, true)]);
    assert_eq!(a.received, vec![(rb, b"B->A over a channel".to_vec(), true)]);

    for p in [&a, &b] {
        let s = p.client.stats();
        assert_eq!((s.dropped, s.integrity_failures, s.unknown_channels), (0, 0, 0), "{}: {s:?}", p.name);
    }
    let now = Instant::now();
    a.client.close(now);
    b.client.close(now);
    run_until(&mut [&mut a, &mut b], "both deallocations", |ps| {
        ps.iter().all(|p| p.client.state() == TurnState::Closed)
    });
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn refresh_is_answered() {
    // coturn clamps requested lifetimes to its minimum (600 s by default), so
    // waiting for the scheduled refresh (lifetime - 60 s) is out of reach of a
    // test; refresh_now sends the same Refresh the schedule would.
    let mut a = Peer::new("refresh", |c| c.lifetime = Duration::from_secs(30));
    allocate(&mut a);
    a.client.refresh_now(Instant::now());
    run_until(&mut [&mut a], "the Refresh", |ps| ps[0].has_event(|e| matches!(e, TurnEvent::Refreshed { .. })));
    let granted = a
        .events
        .iter()
        .find_map(|e| match e {
            TurnEvent::Refreshed { lifetime } => Some(*lifetime),
            _ => None,
        })
        .unwrap();
    eprintln!("coturn granted {granted:?} for a requested 30 s");
    assert!(granted >= Duration::from_secs(30), "granted {granted:?}");
    assert_eq!(a.client.state(), TurnState::Allocated);

    // The same again with a permission and a channel in place.
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    a.client.bind_channel(Instant::now(), peer);
    run_until(&mut [&mut a], "the channel", |ps| ps[0].client.channel(peer).is_some());
    a.events.clear();
    a.client.refresh_now(Instant::now());
    run_until(&mut [&mut a], "the second Refresh", |ps| !ps[0].events.is_empty());
    assert!(matches!(a.events[..], [TurnEvent::Refreshed { .. }]), "{:?}", a.events);
    assert_eq!(a.client.stats().integrity_failures, 0);
    a.client.close(Instant::now());
    run_until(&mut [&mut a], "the deallocation", |ps| ps[0].client.state() == TurnState::Closed);
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn wrong_password_fails_with_a_clear_error() {
    let mut a = Peer::new("wrongpw", |c| c.password = "not-the-password".into());
    run_until(&mut [&mut a], "the failure", |ps| ps[0].client.state() != TurnState::Allocating);
    assert_eq!(a.client.state(), TurnState::Failed);
    let [TurnEvent::Failed(error)] = &a.events[..] else { panic!("events: {:?}", a.events) };
    let c = coturn();
    assert_eq!(*error, TurnError::Unauthorized { server: c.server, username: c.user.clone() });
    let text = error.to_string();
    assert!(text.contains(&c.server.to_string()) && text.contains(&c.user) && text.contains("401"), "{text}");
    eprintln!("error as shown to users: {text}");
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn close_deallocates() {
    let mut a = Peer::new("close", |_| {});
    allocate(&mut a);
    a.client.close(Instant::now());
    assert_eq!(a.client.state(), TurnState::Closing);
    run_until(&mut [&mut a], "the deallocation", |ps| ps[0].client.state() != TurnState::Closing);
    assert_eq!(a.client.state(), TurnState::Closed);
    assert_eq!(a.events.last(), Some(&TurnEvent::Closed));
    assert_eq!(a.client.relayed_address(), None);

    // The server really deleted it: the same 5-tuple can allocate again. coturn
    // answers 437 (Allocation Mismatch) while a session holds the 5-tuple, and it
    // drops a deallocated session on its next 1 s tick; an allocation that was
    // not deleted would hold it for its whole 600 s lifetime. Retry until it allocates,
    // within a bound far below that lifetime (a loaded machine may delay coturn's ticks).
    let closed_at = Instant::now();
    let Peer { mut socket, .. } = a;
    loop {
        let mut again = Peer::with_socket("close-again", socket, |_| {});
        run_until(&mut [&mut again], "the new allocation", |ps| ps[0].client.state() != TurnState::Allocating);
        if again.client.state() == TurnState::Allocated {
            again.client.close(Instant::now());
            run_until(&mut [&mut again], "the second deallocation", |ps| ps[0].client.state() == TurnState::Closed);
            break;
        }
        assert_eq!(again.events, vec![TurnEvent::Failed(TurnError::AllocationMismatch { server: coturn().server })]);
        assert!(closed_at.elapsed() < Duration::from_secs(60), "the 5-tuple is still allocated 60 s after close");
        socket = again.socket;
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs coturn: run scripts/test.sh"]
fn refused_permission_is_a_per_peer_event() {
    // scripts/coturn.sh runs coturn with no-multicast-peers: 224.0.0.1 is refused.
    let mut a = Peer::new("forbidden", |_| {});
    allocate(&mut a);
    let multicast: std::net::IpAddr = "224.0.0.1".parse().unwrap();
    let v6: SocketAddr = "[::1]:9".parse().unwrap();
    let now = Instant::now();
    a.client.create_permission(now, multicast);
    a.client.bind_channel(now, v6);
    run_until(&mut [&mut a], "the refusals", |ps| ps[0].events.len() >= 3);
    eprintln!("coturn refusals: {:?}", &a.events[1..]);
    assert!(a.has_event(|e| matches!(e, TurnEvent::PermissionFailed { peer, .. } if *peer == multicast)));
    assert!(a.has_event(|e| matches!(e, TurnEvent::ChannelBindFailed { peer, .. } if *peer == v6)));
    assert_eq!(a.client.state(), TurnState::Allocated, "a refused peer does not end the allocation");
    assert!(!a.client.has_permission(multicast));
    assert_eq!(a.client.stats().integrity_failures, 0);
    a.client.close(Instant::now());
    run_until(&mut [&mut a], "the deallocation", |ps| ps[0].client.state() == TurnState::Closed);
}
