//! Whole-network behaviour: determinism, ordering, hosts going down, unroutable traffic,
//! time handling, memory caps, and the virtual clock.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{addr, assert_conserved, ip, ms, number, numbered, numbers, Delivery, Sim};
use netsim::{BurstLoss, LinkConfig, NatFiltering, NatMapping, NetStats, VirtualClock};

fn alice() -> SocketAddr {
    addr("198.51.100.1:5000")
}
fn bob() -> SocketAddr {
    addr("203.0.113.7:6000")
}
fn carol() -> SocketAddr {
    addr("192.0.2.3:7000")
}

/// Everything at once: both directions, a NAT, every impairment on every link.
fn messy_run(seed: u64) -> (Vec<Delivery>, NetStats) {
    let mut sim = Sim::new(seed);
    let nat =
        sim.net.add_nat(ip("203.0.113.1"), NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    sim.net.add_host(bob().ip());
    sim.net.add_host_behind_nat(ip("10.0.0.2"), nat);
    let private = addr("10.0.0.2:4000");
    let link = LinkConfig {
        latency: ms(30),
        jitter: ms(10),
        loss: 0.05,
        burst: Some(BurstLoss { p_good_to_bad: 0.01, p_bad_to_good: 0.3, loss_in_bad: 0.9 }),
        reorder: 0.05,
        reorder_delay: ms(20),
        duplicate: 0.02,
        rate_bps: Some(2_000_000),
        queue_limit_bytes: 20_000,
    };
    for host in [private.ip(), bob().ip()] {
        sim.net.set_egress(host, link.clone());
        sim.net.set_ingress(host, link.clone());
    }
    let mut out = Vec::new();
    let mut bob_sees = None;
    for n in 0..2000 {
        out.extend(sim.run_until(ms(u64::from(n) * 2)));
        if let Some(d) = out.iter().find(|d| d.datagram.to == bob()) {
            bob_sees = Some(d.datagram.from);
        }
        sim.send(private, bob(), &numbered(n, 300 + (n as usize % 900)));
        if let Some(public) = bob_sees {
            sim.send(bob(), public, &numbered(n, 1200));
        }
    }
    out.extend(sim.drain());
    assert_conserved(&sim.net);
    (out, sim.net.stats().clone())
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let (first, first_stats) = messy_run(42);
    let (second, second_stats) = messy_run(42);
    assert_eq!(first, second);
    assert_eq!(first_stats, second_stats);
    // Every impairment actually happened.
    let s = &first_stats;
    assert!(s.lost > 0 && s.lost_burst > 0 && s.duplicated > 0 && s.reordered > 0);
    assert!(s.dropped_queue > 0 && s.delivered > 2000, "{s:?}");
}

#[test]
fn another_seed_gives_another_loss_pattern() {
    let lost_set = |seed| {
        let mut sim = Sim::new(seed);
        sim.net.add_host(alice().ip());
        sim.net.add_host(bob().ip());
        sim.net.set_egress(alice().ip(), LinkConfig { loss: 0.2, ..LinkConfig::default() });
        let got = numbers(&sim.send_train(alice(), bob(), 500, ms(1), 10));
        (0..500).filter(|n| !got.contains(n)).collect::<Vec<u32>>()
    };
    assert_eq!(lost_set(1), lost_set(1));
    assert_ne!(lost_set(1), lost_set(2));
}

#[test]
fn ties_are_delivered_in_send_order() {
    let mut sim = Sim::new(1);
    for host in [alice(), bob(), carol()] {
        sim.net.add_host(host.ip());
    }
    // Carol's packet is sent later but takes the same total time, so both are due at 40 ms.
    sim.net.set_egress(alice().ip(), LinkConfig { latency: ms(40), ..LinkConfig::default() });
    sim.net.set_egress(carol().ip(), LinkConfig { latency: ms(30), ..LinkConfig::default() });
    sim.send(alice(), bob(), &numbered(1, 4));
    sim.clock.advance_by(ms(10));
    sim.send(carol(), bob(), &numbered(2, 4));
    sim.send(carol(), bob(), &numbered(3, 4));
    let got = sim.drain();
    assert_eq!(numbers(&got), [1, 2, 3]);
    assert!(got.iter().all(|d| d.at == ms(40)));
}

#[test]
fn a_host_that_is_down_neither_sends_nor_receives() {
    let mut sim = Sim::new(1);
    sim.net.add_host(alice().ip());
    sim.net.add_host(bob().ip());
    sim.net.set_egress(alice().ip(), LinkConfig { latency: ms(50), ..LinkConfig::default() });

    // Already in flight when bob goes down: dropped on arrival.
    sim.send(alice(), bob(), b"in flight");
    sim.run_until(ms(10));
    sim.net.set_host_down(bob().ip(), true);
    sim.send(alice(), bob(), b"to a down host");
    sim.send(bob(), alice(), b"from a down host");
    assert!(sim.drain().is_empty());
    assert_eq!(sim.net.stats().dropped_host_down, 3);
    assert_conserved(&sim.net);

    sim.net.set_host_down(bob().ip(), false);
    sim.send(alice(), bob(), b"back");
    sim.send(bob(), alice(), b"back too");
    assert_eq!(sim.drain().len(), 2);
}

#[test]
fn unroutable_datagrams_are_counted() {
    let mut sim = Sim::new(1);
    sim.net.add_host(alice().ip());
    sim.send(alice(), addr("192.0.2.200:9"), b"nobody there");
    sim.send(addr("192.0.2.201:9"), alice(), b"from nowhere");
    assert!(sim.drain().is_empty());
    assert_eq!(sim.net.stats().dropped_unroutable, 2);
    assert_eq!(sim.net.stats().sent, 2);
    // Settings for unknown hosts are ignored, not a panic.
    sim.net.set_egress(ip("192.0.2.99"), LinkConfig::default());
    sim.net.set_ingress(ip("192.0.2.99"), LinkConfig::default());
    sim.net.set_host_down(ip("192.0.2.99"), true);
}

#[test]
fn time_never_goes_backwards() {
    let mut sim = Sim::new(1);
    sim.net.add_host(alice().ip());
    sim.net.add_host(bob().ip());
    sim.net.set_egress(alice().ip(), LinkConfig { latency: ms(10), ..LinkConfig::default() });
    let start = sim.clock.start();
    sim.net.send(start + ms(100), alice(), bob(), &numbered(1, 4));
    // An earlier instant counts as the latest one seen (100 ms).
    sim.net.send(start, alice(), bob(), &numbered(2, 4));
    assert_eq!(sim.net.poll_timeout(), Some(start + ms(110)));
    assert_eq!(sim.net.poll_delivery(start + ms(109)), None);
    let first = sim.net.poll_delivery(start + ms(110)).expect("due");
    let second = sim.net.poll_delivery(start).expect("already due");
    assert_eq!((number(&first), number(&second)), (1, 2));
}

#[test]
fn the_in_flight_byte_limit_bounds_memory() {
    let mut sim = Sim::new(1);
    sim.net.add_host(alice().ip());
    sim.net.add_host(bob().ip());
    sim.net.set_egress(alice().ip(), LinkConfig { latency: Duration::from_secs(10), ..LinkConfig::default() });
    sim.net.set_max_in_flight_bytes(1000);
    for n in 0..20 {
        sim.send(alice(), bob(), &numbered(n, 100));
    }
    // Each costs 100 + 64 bytes: six fit under 1000.
    assert_eq!(sim.net.in_flight(), 6);
    assert_eq!(sim.net.stats().dropped_queue, 14);
    assert_eq!(numbers(&sim.drain()), [0, 1, 2, 3, 4, 5]);
    assert_eq!(sim.net.in_flight(), 0);
}

#[test]
fn an_idle_network_has_nothing_to_do() {
    let mut net = netsim::Network::new(0);
    let clock = VirtualClock::new(Instant::now());
    assert_eq!(net.poll_timeout(), None);
    assert_eq!(net.poll_delivery(clock.now()), None);
    assert_eq!(net.stats(), &NetStats::default());
    assert_eq!(net.in_flight(), 0);
}

#[test]
fn the_virtual_clock_only_moves_forward() {
    let start = Instant::now();
    let mut clock = VirtualClock::new(start);
    assert_eq!(clock.now(), start);
    clock.advance_to(start + Duration::from_secs(2));
    clock.advance_to(start + Duration::from_secs(1));
    assert_eq!(clock.elapsed(), Duration::from_secs(2));
    clock.advance_by(ms(500));
    assert_eq!(clock.now(), start + ms(2500));
    clock.advance_by(Duration::MAX);
    assert_eq!(clock.elapsed(), ms(2500));
    assert_eq!(clock.start(), start);
}

#[test]
fn how_often_the_caller_polls_does_not_change_the_run() {
    let run = |poll_every_ms: Option<u64>| {
        let mut sim = Sim::new(9);
        sim.net.add_host(alice().ip());
        sim.net.add_host(bob().ip());
        let link = LinkConfig {
            latency: ms(15),
            jitter: ms(5),
            loss: 0.1,
            reorder: 0.1,
            reorder_delay: ms(7),
            duplicate: 0.1,
            ..LinkConfig::default()
        };
        sim.net.set_egress(alice().ip(), link.clone());
        sim.net.set_ingress(bob().ip(), link);
        let mut got = Vec::new();
        for n in 0..500 {
            let t = ms(u64::from(n));
            match poll_every_ms {
                Some(k) if u64::from(n) % k == 0 => got.extend(sim.run_until(t)),
                _ => sim.clock.advance_to(sim.at(t)),
            }
            sim.send(alice(), bob(), &numbered(n, 20));
        }
        got.extend(sim.drain());
        let datagrams: Vec<_> = got.into_iter().map(|d| d.datagram).collect();
        (datagrams, sim.net.stats().clone())
    };
    let often = run(Some(1));
    assert_eq!(often, run(Some(7)));
    assert_eq!(often, run(None));
}
