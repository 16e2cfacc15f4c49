//! The ICE agent's hot paths on a connected pair: answering a connectivity
//! check, sending and receiving application data, and dropping a forged check.
//! Run with `cargo bench -p oxrtc-ice --bench agent`.
//!
//! Two agents are connected in setup by a tiny loop that hands each one's
//! datagrams straight to the other and jumps a virtual clock (based on one
//! `Instant::now()`) to the next deadline.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ice::{IceAgent, IceConfig, IceEvent, IceTransportState, Received};
use stun::{Attribute, Class, IntegrityKey, Message, Method, TransactionId};

const A: &str = "10.0.0.1:5000";
const B: &str = "10.0.0.2:6000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn connected(agent: &IceAgent) -> bool {
    matches!(agent.state(), IceTransportState::Connected | IceTransportState::Completed)
}

/// Hands everything `from` wants to send to `to` at once; true if anything moved.
fn deliver(now: Instant, from: &mut IceAgent, to: &mut IceAgent) -> bool {
    let mut moved = false;
    while let Some(t) = from.poll_transmit(now) {
        let _ = to.handle_receive(now, t.to, t.from, &t.data);
        moved = true;
    }
    while let Some(e) = from.poll_event() {
        match e {
            IceEvent::LocalCandidate(c) => to.add_remote_candidate(now, c),
            IceEvent::GatheringComplete => to.end_of_remote_candidates(now),
            _ => {}
        }
        moved = true;
    }
    moved
}

/// A (controlling) and B (controlled), connected on a lossless zero-delay
/// link, and the instant they got there.
fn connect(base: Instant) -> (IceAgent, IceAgent, Instant) {
    let config = |seed| IceConfig { seed: Some(seed), ..IceConfig::default() };
    let (mut a, mut b) = (IceAgent::new(config(1), true), IceAgent::new(config(2), false));
    let mut now = base;
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(now, &cb.ufrag, &cb.pwd);
    b.set_remote_credentials(now, &ca.ufrag, &ca.pwd);
    a.start_gathering(now, &[addr(A)]);
    b.start_gathering(now, &[addr(B)]);
    for _ in 0..10_000 {
        while deliver(now, &mut a, &mut b) | deliver(now, &mut b, &mut a) {}
        if connected(&a) && connected(&b) {
            return (a, b, now);
        }
        let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min().expect("a pending timer");
        now = now.max(next);
        for agent in [&mut a, &mut b] {
            if agent.poll_timeout().is_some_and(|t| t <= now) {
                agent.handle_timeout(now);
            }
        }
    }
    panic!("no connection: A {:?} B {:?}", a.state(), b.state());
}

/// The next connectivity check `a` sends on its own (a consent check on the
/// selected pair), exactly as it went on the wire.
fn next_check(a: &mut IceAgent, mut now: Instant) -> Vec<u8> {
    for _ in 0..100 {
        now = now.max(a.poll_timeout().expect("consent is scheduled"));
        a.handle_timeout(now);
        while let Some(t) = a.poll_transmit(now) {
            if Message::decode(&t.data).is_ok_and(|m| m.class == Class::Request && m.method == Method::BINDING) {
                return t.data;
            }
        }
    }
    panic!("A sent no check");
}

fn bench(c: &mut Criterion) {
    let base = Instant::now();
    let (mut a, mut b, now) = connect(base);
    let check = next_check(&mut a, now);
    let (from_a, to_b) = (addr(A), addr(B));
    // Sanity: B answers the captured check with one response.
    assert_eq!(b.handle_receive(now, to_b, from_a, &check), Received::Handled);
    assert_eq!(std::iter::from_fn(|| b.poll_transmit(now)).count(), 1);

    let mut g = c.benchmark_group("ice_agent");
    g.throughput(Throughput::Elements(1));
    g.bench_function("answer_check", |bench| {
        bench.iter(|| {
            let r = b.handle_receive(now, to_b, from_a, black_box(&check));
            debug_assert_eq!(r, Received::Handled);
            let mut n = 0;
            while let Some(t) = b.poll_transmit(now) {
                n += black_box(t).data.len();
            }
            n
        })
    });

    // The same check signed with the wrong password: what a forger costs us.
    let username = format!("{}:{}", b.local_credentials().ufrag, a.local_credentials().ufrag);
    let forged = Message::new(Class::Request, Method::BINDING, TransactionId([9; 12]))
        .with(Attribute::Username(&username))
        .with(Attribute::Priority(1_845_501_695))
        .with(Attribute::IceControlling(1))
        .to_bytes(Some(&IntegrityKey::short_term("not-the-password-at-all!")), true);
    let stranger = addr("198.18.0.1:40000");
    g.bench_function("drop_forged_check", |bench| {
        bench.iter(|| {
            let r = b.handle_receive(now, to_b, stranger, black_box(&forged));
            debug_assert_eq!(r, Received::Dropped);
            r == Received::Dropped
        })
    });

    // 1200 bytes, shaped like SRTP (RFC 7983: first byte 128 to 191).
    let payload: Vec<u8> = (0..1200u32).map(|i| if i == 0 { 0x80 } else { i as u8 }).collect();
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("send_1200", |bench| bench.iter(|| b.send(black_box(&payload)).unwrap().data.len()));
    g.bench_function("receive_1200", |bench| {
        bench.iter(|| match b.handle_receive(now, to_b, from_a, black_box(&payload)) {
            Received::Data(d) => d.len(),
            other => panic!("{other:?}"),
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
