//! Stream reset, shutdown, abort, failure detection, heartbeats and back-pressure.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{config, link, lossy, Sim, Simulation};
use sctp::{SctpConfig, SctpEvent, SendError, SendParams};

fn msg(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn has(ev: &[SctpEvent], f: impl Fn(&SctpEvent) -> bool) -> bool {
    ev.iter().any(f)
}

#[test]
fn stream_reset_closes_both_directions_and_the_id_is_reused() {
    for (loss, idata) in [(0.0, false), (0.2, false), (0.0, true), (0.2, true)] {
        let ca = SctpConfig { interleaving: idata, ..config(1) };
        let cb = SctpConfig { interleaving: idata, ..config(2) };
        let mut sim = Sim::new(1, lossy(10, loss), lossy(10, loss), ca, cb);
        sim.connect();
        let now = sim.now();
        for i in 0..20 {
            sim.a.send(now, 5, 51, msg(&format!("before {i}")), SendParams::default()).unwrap();
        }
        sim.a.reset_streams(now, &[5]).unwrap();
        assert_eq!(sim.a.send(now, 5, 51, msg("too early"), SendParams::default()), Err(SendError::StreamResetting(5)));
        // B sees all 20 messages, then the reset, and closes its side as a data channel does.
        let mut got = Vec::new();
        assert!(sim.run_until(Duration::from_secs(60), |s| {
            got.extend(s.take_messages_b().into_iter().map(|(_, _, d)| d));
            has(&s.ev_b, |e| matches!(e, SctpEvent::IncomingStreamsReset { streams } if streams == &[5]))
        }));
        got.extend(sim.take_messages_b().into_iter().map(|(_, _, d)| d));
        assert_eq!(got.len(), 20, "loss {loss}: every message before the reset arrives");
        assert_eq!(&got[19][..], b"before 19");
        let now = sim.now();
        sim.b.reset_streams(now, &[5]).unwrap();
        assert!(sim.run_until(Duration::from_secs(60), |s| {
            has(&s.ev_a, |e| matches!(e, SctpEvent::OutgoingStreamsReset { streams } if streams == &[5]))
                && has(&s.ev_b, |e| matches!(e, SctpEvent::OutgoingStreamsReset { .. }))
                && has(&s.ev_a, |e| matches!(e, SctpEvent::IncomingStreamsReset { .. }))
        }));
        // The id is reusable; sequence numbers start again at 0 on both sides.
        let now = sim.now();
        sim.a.send(now, 5, 51, msg("after"), SendParams::default()).unwrap();
        assert!(sim.run_until(Duration::from_secs(60), |s| s
            .take_messages_b()
            .iter()
            .any(|(st, _, d)| *st == 5 && &d[..] == b"after")));
    }
}

#[test]
fn shutdown_delivers_everything_then_closes_both_sides() {
    let mut sim = Sim::new(2, lossy(10, 0.1), lossy(10, 0.1), config(1), config(2));
    sim.connect();
    let now = sim.now();
    for i in 0..50 {
        sim.a.send(now, 1, 53, Bytes::from(vec![i as u8; 3000]), SendParams::default()).unwrap();
    }
    sim.a.shutdown(now);
    assert_eq!(sim.a.send(now, 1, 53, msg("late"), SendParams::default()), Err(SendError::NotConnected));
    let mut n = 0;
    assert!(sim.run_until(Duration::from_secs(120), |s| {
        n += s.take_messages_b().len();
        s.a.is_closed() && s.b.is_closed()
    }));
    n += sim.take_messages_b().len();
    assert_eq!(n, 50);
    assert_eq!(sim.ev_a.last(), Some(&SctpEvent::Closed));
    assert_eq!(sim.ev_b.last(), Some(&SctpEvent::Closed));
}

#[test]
fn abort_tells_the_peer_why() {
    let mut sim = Sim::new(3, link(10), link(10), config(1), config(2));
    sim.connect();
    let now = sim.now();
    sim.a.abort(now);
    assert!(sim.run_until(Duration::from_secs(1), |s| s.b.is_closed()));
    assert_eq!(sim.ev_a.last(), Some(&SctpEvent::Closed));
    assert!(
        matches!(sim.ev_b.last(), Some(SctpEvent::Aborted { reason }) if reason.contains("user-initiated abort")),
        "{:?}",
        sim.ev_b
    );
}

#[test]
fn vanished_peer_fails_the_association_after_max_retransmits() {
    let cfg = SctpConfig { max_retransmits: 5, ..config(1) };
    let mut sim = Sim::new(4, link(10), link(10), cfg, config(2));
    sim.connect();
    sim.net.set_host_down(sim.addr_b.ip(), true);
    let now = sim.now();
    sim.a.send(now, 1, 51, msg("into the void"), SendParams::default()).unwrap();
    let start = sim.now();
    assert!(sim.run_until(Duration::from_secs(600), |s| s.a.is_closed()));
    let took = sim.now() - start;
    assert!(
        matches!(sim.ev_a.last(), Some(SctpEvent::Aborted { reason }) if reason.contains("unreachable")),
        "{:?}",
        sim.ev_a
    );
    // 0.2 + 0.4 + ... + 6.4 s with RTO doubling from the measured (minimum) RTO.
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(sim.a.stats().t3_expirations >= 6);
}

#[test]
fn idle_associations_exchange_heartbeats_and_stay_up() {
    let mut sim = Sim::new(5, link(30), link(30), config(1), config(2));
    sim.connect();
    sim.run_until(Duration::from_secs(600), |_| false);
    for s in [sim.a.stats(), sim.b.stats()] {
        assert!(s.heartbeats_sent >= 15, "{s:?}");
        assert!(s.heartbeat_acks_received + 1 >= s.heartbeats_sent, "{s:?}");
    }
    assert!(sim.a.is_established() && sim.b.is_established());
    // An idle peer that vanishes is noticed through heartbeats.
    sim.net.set_host_down(sim.addr_b.ip(), true);
    assert!(sim.run_until(Duration::from_secs(3600), |s| s.a.is_closed()));
}

#[test]
fn send_buffer_is_bounded_and_back_pressure_recovers() {
    let cfg = SctpConfig { send_buffer_limit: 256 * 1024, ..config(1) };
    let mut sim = Sim::new(6, link(10), link(10), cfg, config(2));
    sim.connect();
    sim.net.set_host_down(sim.addr_b.ip(), true);
    let now = sim.now();
    sim.a.set_buffered_amount_low_threshold(1, 64 * 1024);
    let mut accepted = 0;
    let err = loop {
        match sim.a.send(now, 1, 53, Bytes::from(vec![7; 10_000]), SendParams::default()) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        sim.flush_all();
        assert!(sim.a.buffered_amount_total() <= 256 * 1024);
    };
    assert!(matches!(err, SendError::BufferFull { limit: 262144, .. }), "{err}");
    assert!(err.to_string().contains("BufferedAmountLow"));
    assert!(sim.a.buffered_amount(1) <= 256 * 1024 && sim.a.buffered_amount(1) > 150 * 1024);
    sim.run_until(Duration::from_secs(2), |_| false);
    assert!(sim.a.buffered_amount(1) <= 256 * 1024);
    sim.net.set_host_down(sim.addr_b.ip(), false);
    let mut n = 0;
    assert!(sim.run_until(Duration::from_secs(60), |s| {
        n += s.take_messages_b().len();
        n == accepted
    }));
    assert!(has(&sim.ev_a, |e| matches!(e, SctpEvent::BufferedAmountLow { stream: 1 })));
    assert_eq!(sim.a.buffered_amount(1), 0);
}

#[test]
fn shutdown_while_both_sides_send_under_loss() {
    for seed in 0..5u64 {
        let mut sim = Sim::new(20 + seed, lossy(10, 0.1), lossy(10, 0.1), config(1 + seed), config(50 + seed));
        sim.connect();
        let now = sim.now();
        for i in 0..30u8 {
            sim.a.send(now, 1, 53, Bytes::from(vec![i; 2500]), SendParams::default()).unwrap();
            sim.b.send(now, 2, 53, Bytes::from(vec![i; 1500]), SendParams::default()).unwrap();
        }
        sim.b.shutdown(now);
        let (mut to_b, mut to_a) = (0, 0);
        assert!(sim.run_until(Duration::from_secs(300), |s| {
            to_b += s.take_messages_b().len();
            s.a.is_closed() && s.b.is_closed()
        }));
        to_b += sim.take_messages_b().len();
        to_a += sim.ev_a.iter().filter(|e| matches!(e, SctpEvent::Message { .. })).count();
        assert_eq!((to_b, to_a), (30, 30), "seed {seed}");
        assert_eq!(sim.ev_a.last(), Some(&SctpEvent::Closed), "seed {seed}: {:?}", sim.ev_a.last());
        assert_eq!(sim.ev_b.last(), Some(&SctpEvent::Closed));
    }
}

#[test]
fn a_peer_that_missed_our_abort_is_told_again() {
    let mut sim = Sim::new(7, link(10), link(10), config(1), config(2));
    sim.connect();
    let now = sim.now();
    sim.a.abort(now);
    while sim.a.poll_transmit(now).is_some() {} // the ABORT is lost
    sim.b.send(now, 1, 51, msg("anyone there?"), SendParams::default()).unwrap();
    assert!(sim.run_until(Duration::from_secs(5), |s| s.b.is_closed()));
    assert!(matches!(sim.ev_b.last(), Some(SctpEvent::Aborted { .. })), "{:?}", sim.ev_b);
}
