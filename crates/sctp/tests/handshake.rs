//! Association setup, negotiation and simple transfers between two associations.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{config, link, Sim, Simulation};
use sctp::{SctpConfig, SctpEvent, SendError, SendParams};

fn send_and_receive(sim: &mut Sim, sizes: &[usize], params: SendParams) {
    let p = common::Pattern::new();
    for (i, &n) in sizes.iter().enumerate() {
        let now = sim.now();
        sim.a.send(now, 3, 53, p.message(3, i as u32, n.max(8)), params).unwrap();
    }
    let want = sizes.len();
    let mut got = Vec::new();
    assert!(sim.run_until(Duration::from_secs(30), |s| {
        got.extend(s.take_messages_b());
        got.len() == want
    }));
    let mut seqs: Vec<u32> = got
        .iter()
        .map(|(stream, ppid, d)| {
            assert_eq!((*stream, *ppid), (3, 53));
            p.check(d).1
        })
        .collect();
    if !params.ordered {
        seqs.sort();
    }
    assert_eq!(seqs, (0..want as u32).collect::<Vec<_>>());
    for (i, (_, _, d)) in got.iter().enumerate() {
        if params.ordered {
            assert_eq!(d.len(), sizes[i].max(8));
        }
    }
}

#[test]
fn connects_and_carries_messages_of_every_size() {
    let mut cb = config(2);
    cb.max_message_size = 2 << 20;
    let mut sim = Sim::new(1, link(20), link(20), config(1), cb);
    sim.a.set_remote_max_message_size(2 << 20);
    sim.connect();
    assert!(sim.ev_a.contains(&SctpEvent::Connected) && sim.ev_b.contains(&SctpEvent::Connected));
    send_and_receive(&mut sim, &[8, 1024, 65536, 1 << 20, 1500, 9], SendParams::default());
    send_and_receive(
        &mut sim,
        &[8, 1024, 65536, 1 << 20, 1500, 9],
        SendParams { ordered: false, ..Default::default() },
    );
    let st = sim.a.stats();
    assert_eq!(st.retransmissions, 0);
    assert!(st.srtt >= Duration::from_millis(40), "srtt {:?}", st.srtt);
}

#[test]
fn one_byte_message_and_the_responder_sends_too() {
    let mut sim = Sim::new(2, link(5), link(5), config(1), config(2));
    sim.connect();
    let now = sim.now();
    sim.b.send(now, 0, 51, Bytes::from_static(b"x"), SendParams::default()).unwrap();
    assert!(sim.run_until(Duration::from_secs(1), |s| s
        .ev_a
        .iter()
        .any(|e| matches!(e, SctpEvent::Message { data, .. } if &data[..] == b"x"))));
}

#[test]
fn send_refuses_what_it_cannot_carry() {
    let mut sim = Sim::new(3, link(5), link(5), config(1), config(2));
    sim.connect();
    let now = sim.now();
    assert_eq!(sim.a.send(now, 0, 51, Bytes::new(), SendParams::default()), Err(SendError::Empty));
    let big = Bytes::from(vec![0; 65537]);
    assert_eq!(
        sim.a.send(now, 0, 51, big, SendParams::default()),
        Err(SendError::TooLarge { size: 65537, limit: 65536 })
    );
    let msg = SendError::TooLarge { size: 65537, limit: 65536 }.to_string();
    assert!(msg.contains("split"), "{msg}");
}

#[test]
fn simultaneous_connect_resolves_the_collision() {
    for (delay_ms, latency) in [(0u64, 20u64), (5, 20), (30, 20), (45, 20), (60, 20), (0, 1), (3, 5)] {
        let mut sim = Sim::new(4, link(latency), link(latency), config(10), config(20));
        let now = sim.now();
        sim.a.connect(now);
        sim.a.send(now, 1, 51, Bytes::from_static(b"from a"), SendParams::default()).unwrap();
        sim.run_until(Duration::from_millis(delay_ms), |_| false);
        let now = sim.now();
        sim.b.connect(now);
        sim.b.send(now, 1, 51, Bytes::from_static(b"from b"), SendParams::default()).unwrap();
        let ok = sim.run_until(Duration::from_secs(10), |s| {
            let got = |ev: &Vec<SctpEvent>| ev.iter().any(|e| matches!(e, SctpEvent::Message { .. }));
            got(&s.ev_a) && got(&s.ev_b)
        });
        assert!(ok, "delay {delay_ms} ms, latency {latency} ms: a {:?} b {:?}", sim.ev_a, sim.ev_b);
        assert!(sim.a.is_established() && sim.b.is_established());
    }
}

#[test]
fn lost_init_is_retransmitted_and_no_answer_aborts() {
    let mut sim = Sim::new(5, link(10), link(10), config(1), config(2));
    sim.net.set_host_down(sim.addr_b.ip(), true);
    let now = sim.now();
    sim.a.connect(now);
    sim.run_until(Duration::from_millis(2500), |_| false);
    sim.net.set_host_down(sim.addr_b.ip(), false);
    assert!(sim.run_until(Duration::from_secs(20), |s| s.a.is_established() && s.b.is_established()));

    let mut cfg = config(1);
    cfg.max_init_retransmits = 2;
    let mut sim = Sim::new(6, link(10), link(10), cfg, config(2));
    sim.net.set_host_down(sim.addr_b.ip(), true);
    let now = sim.now();
    sim.a.connect(now);
    assert!(sim.run_until(Duration::from_secs(60), |s| s.a.is_closed()));
    assert!(matches!(&sim.ev_a[..], [SctpEvent::Aborted { reason }] if reason.contains("INIT")), "{:?}", sim.ev_a);
}

#[test]
fn extensions_are_negotiated_only_when_both_offer_them() {
    for (za, zb, ia, ib) in [(true, true, true, true), (true, false, false, true), (false, false, false, false)] {
        let ca = SctpConfig { zero_checksum: za, interleaving: ia, ..config(1) };
        let cb = SctpConfig { zero_checksum: zb, interleaving: ib, ..config(2) };
        let mut sim = Sim::new(7, link(5), link(5), ca, cb);
        sim.connect();
        assert_eq!(sim.a.is_zero_checksum(), za && zb);
        assert_eq!(sim.b.is_zero_checksum(), za && zb);
        assert_eq!(sim.a.is_interleaving(), ia && ib);
        assert_eq!(sim.b.is_interleaving(), ia && ib);
        send_and_receive(&mut sim, &[100, 70000 - 8000, 5], SendParams::default());
    }
}

#[test]
fn zero_checksum_packets_carry_no_crc_but_correct_crcs_are_still_accepted() {
    let ca = SctpConfig { zero_checksum: true, ..config(1) };
    let cb = SctpConfig { zero_checksum: true, ..config(2) };
    let mut sim = Sim::new(8, link(5), link(5), ca, cb);
    sim.connect();
    let now = sim.now();
    sim.a.send(now, 0, 51, Bytes::from_static(b"hi"), SendParams::default()).unwrap();
    let p = sim.a.poll_transmit(now).unwrap();
    assert_eq!(&p[8..12], &[0, 0, 0, 0]);
    let mut with_crc = p.clone();
    let c = sctp::checksum(&with_crc);
    with_crc[8..12].copy_from_slice(&c.to_le_bytes());
    sim.b.handle_receive(now, &with_crc);
    assert!(sim.b.poll_event().is_some_and(|e| matches!(e, SctpEvent::Message { .. })));
    assert_eq!(sim.b.stats().dropped_packets, 0);
}

#[test]
fn simultaneous_connect_under_heavy_loss_always_converges() {
    for seed in 0..40u64 {
        let loss = common::lossy(10 + seed % 30, 0.3);
        let mut sim = Sim::new(100 + seed, loss.clone(), loss, config(seed * 2 + 1), config(seed * 2 + 2));
        let now = sim.now();
        sim.a.connect(now);
        sim.run_until(Duration::from_millis(seed * 7 % 90), |_| false);
        let now = sim.now();
        sim.b.connect(now);
        let a_msg = Bytes::from_static(b"a to b");
        let b_msg = Bytes::from_static(b"b to a");
        sim.a.send(now, 2, 51, a_msg.clone(), SendParams::default()).unwrap();
        sim.b.send(now, 2, 51, b_msg.clone(), SendParams::default()).unwrap();
        let ok = sim.run_until(Duration::from_secs(900), |s| {
            let got = |ev: &Vec<SctpEvent>, m: &Bytes| {
                ev.iter().any(|e| matches!(e, SctpEvent::Message { data, .. } if data == m))
            };
            got(&s.ev_b, &a_msg) && got(&s.ev_a, &b_msg)
        });
        assert!(
            ok,
            "seed {seed}: a {:?}\nb {:?}\ntags a {:?} b {:?}\nA {:?}\nB {:?}\nnet {:?} at {:?}",
            sim.ev_a,
            sim.ev_b,
            sim.a.local_tag_for_fuzzing(),
            sim.b.local_tag_for_fuzzing(),
            sim.a.stats(),
            sim.b.stats(),
            sim.net.stats(),
            sim.clock.elapsed()
        );
        assert_eq!(sim.ev_a.iter().filter(|e| **e == SctpEvent::Connected).count(), 1, "seed {seed}");
        assert_eq!(sim.ev_b.iter().filter(|e| **e == SctpEvent::Connected).count(), 1, "seed {seed}");
    }
}
