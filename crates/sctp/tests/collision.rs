//! Both ends connect, as every WebRTC stack that starts SCTP from either DTLS role does
//! (libwebrtc, Pion, and oxrtc's peer connection): whatever the timing and the loss, the
//! two INITs resolve into one association (RFC 9260 5.2) that carries data both ways.
//! And where the zero checksum parameter (RFC 9653) goes: an INIT-ACK carries it only in
//! answer to an INIT that did, and a peer that throws away INITs carrying it still gets
//! an association.

mod common;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{config, lossy, Pattern, Sim, Simulation};
use sctp::chunk::Chunk;
use sctp::{Association, Packet, SctpConfig, SctpEvent, SendParams};

const MESSAGES: u32 = 20;

/// Messages received on stream 3, checked against the pattern, in arrival order.
fn received(events: &[SctpEvent], pattern: &Pattern) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            SctpEvent::Message { stream: 3, data, .. } => Some(pattern.check(data).1),
            _ => None,
        })
        .collect()
}

fn connected_count(events: &[SctpEvent]) -> usize {
    events.iter().filter(|e| **e == SctpEvent::Connected).count()
}

/// A connects at 0, B `b_delay_ms` later (negative: B first); both queue MESSAGES ordered
/// messages before the handshake ends. Everything must arrive once, in order, over one
/// association (one Connected each).
fn both_connect(seed: u64, b_delay_ms: i64, latency_ms: u64, loss: f64, zero: (bool, bool)) -> Sim {
    let link = lossy(latency_ms, loss);
    let ca = SctpConfig { zero_checksum: zero.0, ..config(seed * 2 + 1) };
    let cb = SctpConfig { zero_checksum: zero.1, ..config(seed * 2 + 2) };
    let mut sim = Sim::new(1000 + seed, link.clone(), link, ca, cb);
    let pattern = Pattern::new();
    let start = |sim: &mut Sim, a: bool| {
        let now = sim.now();
        let (side, stream_tag) = if a { (&mut sim.a, 1) } else { (&mut sim.b, 2) };
        side.connect(now);
        for seq in 0..MESSAGES {
            let m = pattern.message(stream_tag, seq, 8 + (seq as usize * 97) % 3000);
            side.send(now, 3, 51, m, SendParams::default()).unwrap();
        }
    };
    let (first, wait) = if b_delay_ms >= 0 { (true, b_delay_ms) } else { (false, -b_delay_ms) };
    start(&mut sim, first);
    sim.run_until(Duration::from_millis(wait as u64), |_| false);
    start(&mut sim, !first);
    let all = (0..MESSAGES).collect::<Vec<_>>();
    let done = sim.run_until(Duration::from_secs(600), |s| {
        received(&s.ev_a, &pattern).len() >= MESSAGES as usize && received(&s.ev_b, &pattern).len() >= MESSAGES as usize
    });
    let what = format!("seed {seed}, B {b_delay_ms} ms after A, latency {latency_ms} ms, loss {loss}");
    assert!(done, "{what}: a {:?}\nb {:?}", sim.ev_a, sim.ev_b);
    // Let late duplicates and retransmissions settle: nothing more may arrive.
    sim.run_until(Duration::from_secs(5), |_| false);
    assert_eq!(received(&sim.ev_b, &pattern), all, "{what}: A to B");
    assert_eq!(received(&sim.ev_a, &pattern), all, "{what}: B to A");
    assert!(sim.a.is_established() && sim.b.is_established(), "{what}");
    assert_eq!((connected_count(&sim.ev_a), connected_count(&sim.ev_b)), (1, 1), "{what}");
    sim
}

#[test]
fn both_ends_connect_at_any_offset_and_converge_to_one_association() {
    // Offsets around the one-way latency (20 ms) and the RTO: INITs crossing, one INIT
    // arriving in COOKIE-WAIT or COOKIE-ECHOED, the second connect after the first
    // handshake is nearly done.
    for (i, delay) in [-1000i64, -45, -20, -19, -5, 0, 1, 5, 19, 20, 21, 39, 40, 41, 60, 1000].into_iter().enumerate() {
        let sim = both_connect(i as u64, delay, 20, 0.0, (true, true));
        assert!(sim.a.is_zero_checksum() && sim.b.is_zero_checksum(), "delay {delay}: zero checksum on both");
    }
}

#[test]
fn both_ends_connect_under_loss_reordering_and_duplication() {
    for seed in 0..100u64 {
        let delay = (seed as i64 * 37) % 200 - 100;
        let loss = [0.05, 0.15, 0.3][seed as usize % 3];
        let zero = [(true, true), (true, false), (false, true), (false, false)][seed as usize % 4];
        let sim = both_connect(100 + seed, delay, 5 + seed % 40, loss, zero);
        if !(zero.0 && zero.1) {
            // Only a side that declared acceptance may be sent zero checksums.
            assert!(!sim.a.is_zero_checksum() || zero.1, "seed {seed}");
            assert!(!sim.b.is_zero_checksum() || zero.0, "seed {seed}");
        }
    }
}

#[test]
fn zero_checksum_is_agreed_by_both_ends_whatever_their_settings() {
    for (za, zb) in [(true, true), (true, false), (false, true), (false, false)] {
        for delay in [-30i64, 0, 7, 30] {
            let sim = both_connect(7, delay, 10, 0.0, (za, zb));
            assert_eq!(sim.a.is_zero_checksum(), za && zb, "a, {za} {zb} delay {delay}");
            assert_eq!(sim.b.is_zero_checksum(), za && zb, "b, {za} {zb} delay {delay}");
        }
    }
}

/// The INIT and INIT-ACK chunks in `packets`, with their zero checksum declaration.
fn handshake_chunks(packets: &[Vec<u8>]) -> Vec<(&'static str, Option<u32>)> {
    packets
        .iter()
        .filter_map(|p| Packet::decode(p, true).ok())
        .flat_map(|p| p.chunks)
        .filter_map(|c| match c {
            Chunk::Init(i) => Some(("INIT", i.zero_checksum_edmid)),
            Chunk::InitAck(i) => Some(("INIT-ACK", i.zero_checksum_edmid)),
            _ => None,
        })
        .collect()
}

#[test]
fn init_ack_declares_zero_checksum_only_to_an_init_that_did() {
    for (za, zb) in [(true, true), (false, true), (true, false)] {
        let ca = SctpConfig { zero_checksum: za, ..config(1) };
        let cb = SctpConfig { zero_checksum: zb, ..config(2) };
        let mut sim = Sim::new(3, common::link(5), common::link(5), ca, cb);
        sim.tap = Some(Vec::new());
        sim.connect();
        let seen = handshake_chunks(sim.tap.as_ref().unwrap());
        let edmid = |on: bool| on.then_some(sctp::chunk::EDMID_DTLS);
        assert_eq!(seen, vec![("INIT", edmid(za)), ("INIT-ACK", edmid(za && zb))], "{za} {zb}");
        assert_eq!(sim.a.is_zero_checksum(), za && zb);
        assert_eq!(sim.b.is_zero_checksum(), za && zb);
    }
}

/// Runs two associations over a lossless in-memory link of 10 ms, dropping A's packets that
/// `drop_a` refuses (a peer that rejects them), until `done` or `limit`.
fn run_filtered(
    a: &mut Association,
    b: &mut Association,
    now: &mut Instant,
    limit: Duration,
    drop_a: impl Fn(&[u8]) -> bool,
    mut done: impl FnMut(&mut Association, &mut Association) -> bool,
) -> bool {
    let end = *now + limit;
    let mut wire: VecDeque<(Instant, bool, Vec<u8>)> = VecDeque::new();
    while *now < end {
        while let Some(p) = a.poll_transmit(*now) {
            if !drop_a(&p) {
                wire.push_back((*now + Duration::from_millis(10), true, p));
            }
        }
        while let Some(p) = b.poll_transmit(*now) {
            wire.push_back((*now + Duration::from_millis(10), false, p));
        }
        if done(a, b) {
            return true;
        }
        let next = [wire.front().map(|w| w.0), a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min();
        *now = next.unwrap_or(end).min(end);
        while wire.front().is_some_and(|w| w.0 <= *now) {
            let (_, to_b, p) = wire.pop_front().unwrap();
            if to_b {
                b.handle_receive(*now, &p);
            } else {
                a.handle_receive(*now, &p);
            }
        }
        a.handle_timeout(*now);
        b.handle_timeout(*now);
    }
    done(a, b)
}

#[test]
fn a_waiting_peer_that_rejects_the_zero_checksum_parameter_still_connects() {
    // Pion's SCTP before v1.8.x drops an INIT carrying parameter 0x8001 ("unhandled
    // ParamType"). Here B stands for such a peer that also waits for our INIT: A's first
    // INIT is lost to it; the retransmission leaves the parameter out and gets through.
    let start = Instant::now();
    let mut now = start;
    let mut a = Association::new(now, SctpConfig { zero_checksum: true, ..config(1) });
    let mut b = Association::new(now, SctpConfig { zero_checksum: false, ..config(2) });
    let carries_param = |p: &[u8]| {
        Packet::decode(p, true)
            .map(|p| p.chunks.iter().any(|c| matches!(c, Chunk::Init(i) if i.zero_checksum_edmid.is_some())))
            .unwrap_or(false)
    };
    a.connect(now);
    a.send(now, 1, 51, Bytes::from_static(b"after the retry"), SendParams::default()).unwrap();
    let mut got = Vec::new();
    let ok = run_filtered(&mut a, &mut b, &mut now, Duration::from_secs(30), carries_param, |_, b| {
        while let Some(e) = b.poll_event() {
            got.push(e);
        }
        got.iter().any(|e| matches!(e, SctpEvent::Message { data, .. } if &data[..] == b"after the retry"))
    });
    assert!(ok, "B never got the message: {got:?}");
    assert!(a.is_established() && b.is_established());
    assert!(!a.is_zero_checksum() && !b.is_zero_checksum());
    let waited = now - start;
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(2), "one RTO: {waited:?}");
}

#[test]
fn a_peer_that_rejects_the_parameter_but_sends_its_own_init_connects_at_once() {
    // Pion's behaviour: our INIT is dropped, its INIT reaches us while we are in
    // COOKIE-WAIT; our INIT-ACK to it must not carry the parameter either.
    let start = Instant::now();
    let mut now = start;
    let mut a = Association::new(now, SctpConfig { zero_checksum: true, ..config(3) });
    let mut b = Association::new(now, SctpConfig { zero_checksum: false, ..config(4) });
    a.connect(now);
    b.connect(now);
    let mut acks = Vec::new();
    let ok = run_filtered(
        &mut a,
        &mut b,
        &mut now,
        Duration::from_secs(30),
        |p| {
            let decoded = Packet::decode(p, true).map(|p| p.chunks).unwrap_or_default();
            // B (Pion) would reject any INIT or INIT-ACK carrying the parameter.
            decoded.iter().any(|c| matches!(c, Chunk::Init(i) | Chunk::InitAck(i) if i.zero_checksum_edmid.is_some()))
        },
        |a, b| {
            while let Some(e) = a.poll_event() {
                acks.push(e);
            }
            while b.poll_event().is_some() {}
            a.is_established() && b.is_established()
        },
    );
    assert!(ok, "no association: {acks:?}");
    assert!(now - start < Duration::from_millis(100), "formed from B's INIT, without a retransmission");
}
