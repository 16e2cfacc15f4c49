//! Link conditions: latency, jitter, loss, bursts, reordering, duplication, rate and queue.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, assert_conserved, ms, numbered, numbers, Sim};
use netsim::{BurstLoss, LinkConfig};

fn alice() -> SocketAddr {
    addr("198.51.100.1:5000")
}

fn bob() -> SocketAddr {
    addr("203.0.113.7:6000")
}

/// Two public hosts, alice's egress link configured as given.
fn pair(seed: u64, egress: LinkConfig) -> Sim {
    let mut sim = Sim::new(seed);
    sim.net.add_host(alice().ip());
    sim.net.add_host(bob().ip());
    sim.net.set_egress(alice().ip(), egress);
    sim
}

/// Lengths of the runs of consecutive missing numbers in `0..count`.
fn loss_runs(received: &[u32], count: u32) -> Vec<u32> {
    let mut got = vec![false; count as usize];
    for &n in received {
        got[n as usize] = true;
    }
    let mut runs = Vec::new();
    let mut run = 0;
    for g in got {
        if g {
            if run > 0 {
                runs.push(run);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    if run > 0 {
        runs.push(run);
    }
    runs
}

fn mean(runs: &[u32]) -> f64 {
    runs.iter().map(|&r| f64::from(r)).sum::<f64>() / runs.len() as f64
}

#[test]
fn latency_of_egress_and_ingress_adds_up_exactly() {
    let mut sim = pair(1, LinkConfig { latency: ms(30), ..LinkConfig::default() });
    sim.net.set_ingress(bob().ip(), LinkConfig { latency: ms(20), ..LinkConfig::default() });
    sim.send(alice(), bob(), b"first");
    sim.clock.advance_by(ms(5));
    sim.send(alice(), bob(), b"second");

    // The first wake-up is the first datagram leaving alice's egress link: nothing to
    // deliver yet, it still has bob's ingress link to cross.
    assert_eq!(sim.net.poll_timeout(), Some(sim.at(ms(30))));
    let got = sim.drain();
    let times: Vec<Duration> = got.iter().map(|d| d.at).collect();
    assert_eq!(times, [ms(50), ms(55)]);
    assert_eq!(got[0].datagram.data, b"first");
    assert_eq!((got[0].datagram.from, got[0].datagram.to), (alice(), bob()));
    assert_eq!(sim.net.poll_timeout(), None);
    assert_eq!(sim.net.stats().delivered, 2);
}

#[test]
fn a_perfect_link_delivers_at_the_send_instant() {
    let mut sim = pair(1, LinkConfig::default());
    sim.clock.advance_by(ms(7));
    sim.send(alice(), bob(), b"now");
    assert_eq!(sim.net.poll_timeout(), Some(sim.clock.now()));
    let d = sim.net.poll_delivery(sim.clock.now()).expect("delivered at once");
    assert_eq!(d.data, b"now");
    assert_eq!(sim.net.poll_delivery(sim.clock.now()), None);
}

#[test]
fn jitter_alone_keeps_packets_in_order() {
    let mut sim = pair(2, LinkConfig { latency: ms(20), jitter: ms(30), ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 1000, ms(1), 100);
    assert_eq!(numbers(&got), (0..1000).collect::<Vec<_>>());
    let delays: Vec<Duration> = got.iter().enumerate().map(|(n, d)| d.at - ms(n as u64)).collect();
    assert!(delays.iter().all(|&d| d >= ms(20)), "latency is a floor");
    assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
    let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
    assert!(distinct.len() > 100, "jitter varies the delay");
    assert_eq!(sim.net.stats().reordered, 0);
}

#[test]
fn reordering_lets_later_packets_overtake() {
    let mut sim = pair(3, LinkConfig { latency: ms(10), reorder: 0.1, reorder_delay: ms(15), ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 1000, ms(1), 100);
    let order = numbers(&got);
    assert_eq!(order.len(), 1000, "reordering loses nothing");
    let overtaken = order.iter().enumerate().filter(|&(i, &n)| order[i + 1..].iter().any(|&later| later < n)).count();
    let reordered = sim.net.stats().reordered;
    assert!((50..=150).contains(&reordered), "reordered {reordered}");
    assert!(overtaken > 50, "only {overtaken} packets were overtaken");
    // A reordered packet arrives exactly latency + reorder_delay after it was sent.
    assert!(got.iter().any(|d| d.at == ms(u64::from(common::number(&d.datagram))) + ms(25)));
}

#[test]
fn duplication_delivers_some_packets_twice() {
    let mut sim = pair(4, LinkConfig { latency: ms(5), duplicate: 0.2, ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 2000, ms(1), 50);
    let stats = sim.net.stats().clone();
    assert!((300..=500).contains(&stats.duplicated), "{stats:?}");
    assert_eq!(stats.delivered, 2000 + stats.duplicated);
    let mut count = vec![0; 2000];
    for n in numbers(&got) {
        count[n as usize] += 1;
    }
    assert!(count.iter().all(|&c| c == 1 || c == 2));
    // Copies follow their original immediately.
    let order = numbers(&got);
    assert!(order.windows(2).all(|w| w[0] <= w[1]));
    assert_conserved(&sim.net);
}

#[test]
fn loss_rate_is_roughly_as_configured() {
    let mut sim = pair(5, LinkConfig { loss: 0.1, ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 10_000, ms(1), 100);
    let stats = sim.net.stats();
    assert!((800..=1200).contains(&stats.lost), "{stats:?}");
    assert_eq!(got.len() as u64 + stats.lost, 10_000);
    assert_eq!(stats.lost_burst, 0);
    assert_conserved(&sim.net);
}

#[test]
fn ingress_loss_applies_too() {
    let mut sim = pair(5, LinkConfig::default());
    sim.net.set_ingress(bob().ip(), LinkConfig { loss: 1.0, ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 10, ms(1), 100);
    assert!(got.is_empty());
    assert_eq!(sim.net.stats().lost, 10);
}

#[test]
fn burst_loss_comes_in_runs() {
    let burst = BurstLoss { p_good_to_bad: 0.02, p_bad_to_good: 0.25, loss_in_bad: 1.0 };
    let mut sim = pair(6, LinkConfig { burst: Some(burst), ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 10_000, ms(1), 100);
    let stats = sim.net.stats().clone();
    assert_eq!(stats.lost, 0);
    // Long-run loss: 0.02 / (0.02 + 0.25), about 7.4 %.
    assert!((400..=1200).contains(&stats.lost_burst), "{stats:?}");
    let bursty = loss_runs(&numbers(&got), 10_000);
    assert!(mean(&bursty) > 2.5, "mean run {}", mean(&bursty));
    assert!(bursty.iter().any(|&r| r >= 8));

    // The same average loss without correlation gives runs of about one packet.
    let mut sim = pair(6, LinkConfig { loss: stats.lost_burst as f64 / 10_000.0, ..LinkConfig::default() });
    let got = sim.send_train(alice(), bob(), 10_000, ms(1), 100);
    let independent = loss_runs(&numbers(&got), 10_000);
    assert!(mean(&independent) < 1.5, "mean run {}", mean(&independent));
}

#[test]
fn rate_limit_spaces_packets_by_their_serialization_time() {
    let mut sim = pair(7, LinkConfig { rate_bps: Some(1_000_000), ..LinkConfig::default() });
    for n in 0..10 {
        sim.send(alice(), bob(), &numbered(n, 1250));
    }
    let got = sim.drain();
    let times: Vec<Duration> = got.iter().map(|d| d.at).collect();
    let expected: Vec<Duration> = (1..=10).map(|k| ms(10 * k)).collect();
    assert_eq!(times, expected, "1250 bytes at 1 Mbit/s take 10 ms each");
    assert_eq!(numbers(&got), (0..10).collect::<Vec<_>>());
}

#[test]
fn rate_limit_and_latency_combine() {
    let mut sim = pair(7, LinkConfig { rate_bps: Some(1_000_000), latency: ms(40), ..LinkConfig::default() });
    // Paced at the link rate: no queueing, each arrives 10 ms + 40 ms after it was sent.
    let got = sim.send_train(alice(), bob(), 5, ms(10), 1250);
    let times: Vec<Duration> = got.iter().map(|d| d.at).collect();
    assert_eq!(times, [ms(50), ms(60), ms(70), ms(80), ms(90)]);
}

#[test]
fn a_full_queue_drops_the_tail() {
    let mut sim = pair(8, LinkConfig { rate_bps: Some(1_000_000), queue_limit_bytes: 10_000, ..LinkConfig::default() });
    for n in 0..20 {
        sim.send(alice(), bob(), &numbered(n, 1250));
    }
    assert_eq!(sim.net.stats().dropped_queue, 12);
    let got = sim.drain();
    assert_eq!(numbers(&got), (0..8).collect::<Vec<_>>());

    // Once drained, the queue takes packets again.
    sim.send(alice(), bob(), &numbered(100, 1250));
    assert_eq!(numbers(&sim.drain()), [100]);
    assert_conserved(&sim.net);
}

#[test]
fn the_default_queue_limit_is_256_kib() {
    let mut sim = pair(9, LinkConfig { rate_bps: Some(1_000_000), ..LinkConfig::default() });
    for n in 0..300 {
        sim.send(alice(), bob(), &numbered(n, 1250));
    }
    // 262,144 / 1,250 = 209.7: 209 packets fit.
    assert_eq!(sim.net.stats().dropped_queue, 91);
    assert_eq!(sim.drain().len(), 209);
}

#[test]
fn a_zero_rate_passes_nothing() {
    let mut sim = pair(10, LinkConfig { rate_bps: Some(0), ..LinkConfig::default() });
    sim.send(alice(), bob(), b"x");
    assert!(sim.drain().is_empty());
    assert_eq!(sim.net.stats().dropped_queue, 1);
}

#[test]
fn absurd_configurations_do_not_panic() {
    let configs = [
        LinkConfig { latency: Duration::MAX, ..LinkConfig::default() },
        LinkConfig { jitter: Duration::MAX, reorder: 1.0, reorder_delay: Duration::MAX, ..LinkConfig::default() },
        LinkConfig {
            loss: f64::NAN,
            reorder: -3.0,
            duplicate: f64::INFINITY,
            burst: Some(BurstLoss { p_good_to_bad: f64::NAN, p_bad_to_good: 7.0, loss_in_bad: -1.0 }),
            ..LinkConfig::default()
        },
        LinkConfig { rate_bps: Some(1), queue_limit_bytes: usize::MAX, ..LinkConfig::default() },
        LinkConfig { rate_bps: Some(u64::MAX), queue_limit_bytes: 1, ..LinkConfig::default() },
    ];
    for config in configs {
        let mut sim = pair(11, config.clone());
        sim.net.set_ingress(bob().ip(), config);
        for n in 0..20 {
            sim.send(alice(), bob(), &numbered(n, 1000));
        }
        sim.send(alice(), bob(), &[]);
        let _ = sim.run_until(ms(1000));
        assert_conserved(&sim.net);
    }
}
