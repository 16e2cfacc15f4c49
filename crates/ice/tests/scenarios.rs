//! ICE scenarios on the simulated network: every test reads as the
//! situation it checks, runs on a virtual clock and never flakes.

mod common;

use std::time::Duration;

use common::{config, two_hosts, Peer, Scenario, Side, Simulation};
use ice::{CandidateKind, IceConfig, IceEvent, IceTransportState as S};
use netsim::{LinkConfig, NatFiltering, NatMapping, Network};

const A: &str = "10.0.0.1:5000";
const B: &str = "10.0.0.2:6000";

fn pair(a: IceConfig, a_controlling: bool, b: IceConfig, b_controlling: bool, net: Network) -> Scenario {
    let mut s = Scenario::new(net, Peer::new(a, a_controlling, &[A]), Peer::new(b, b_controlling, &[B]));
    s.start();
    s
}

/// Data flows both ways once both sides are connected.
fn assert_data_flows(s: &mut Scenario) {
    assert!(s.send(Side::A, b"hello from A"));
    assert!(s.send(Side::B, b"hello from B"));
    s.run_for(Duration::from_millis(500));
    assert!(s.b.data.iter().any(|d| d == b"hello from A"), "B got {:?}", s.b.data);
    assert!(s.a.data.iter().any(|d| d == b"hello from B"), "A got {:?}", s.a.data);
}

#[test]
fn full_agents_connect_and_agree_on_the_pair() {
    let mut s = pair(config(1), true, config(2), false, two_hosts(1));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert!(s.clock.elapsed() < Duration::from_millis(500), "took {:?}", s.clock.elapsed());
    let (la, ra) = s.a.agent.selected_pair().map(|(l, r)| (l.address, r.address)).unwrap();
    let (lb, rb) = s.b.agent.selected_pair().map(|(l, r)| (l.address, r.address)).unwrap();
    assert_eq!((la, ra), (rb, lb), "both sides use the same pair");
    assert_eq!(la, A.parse().unwrap());
    assert_data_flows(&mut s);
    // Gathering done and end-of-candidates exchanged: both complete.
    s.run_for(Duration::from_secs(1));
    assert_eq!(s.a.state(), S::Completed);
}

#[test]
fn full_agent_connects_to_a_lite_agent() {
    let lite = IceConfig { lite: true, ..config(4) };
    let mut s = Scenario::new(two_hosts(2), Peer::new(config(3), false, &[A]), Peer::new(lite, true, &[B]));
    s.a.agent.set_remote_lite(true);
    s.start();
    assert!(s.a.agent.is_controlling());
    assert!(!s.b.agent.is_controlling());
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert_data_flows(&mut s);
    // The lite agent sent no checks of its own.
    assert_eq!(s.b.agent.stats().checks_sent, 0);
}

#[test]
fn twenty_percent_loss_both_ways() {
    let mut net = two_hosts(3);
    let lossy = LinkConfig { loss: 0.2, latency: Duration::from_millis(20), ..Default::default() };
    for ip in ["10.0.0.1", "10.0.0.2"] {
        net.set_egress(ip.parse().unwrap(), lossy.clone());
    }
    for seed in 0..10u64 {
        let mut net = two_hosts(100 + seed);
        for ip in ["10.0.0.1", "10.0.0.2"] {
            net.set_egress(ip.parse().unwrap(), lossy.clone());
        }
        let mut s = pair(config(10 + seed), true, config(20 + seed), false, net);
        assert!(
            s.run_until(Duration::from_secs(15), |s| s.both_connected()),
            "seed {seed}: A {:?} B {:?}",
            s.a.state(),
            s.b.state()
        );
        assert!(s.net.stats().lost > 0 || seed > 0);
    }
}

#[test]
fn both_controlling_repair_the_conflict() {
    let mut s = pair(config(5), true, config(6), true, two_hosts(4));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert_ne!(s.a.agent.is_controlling(), s.b.agent.is_controlling());
    assert!(s.a.events.iter().chain(&s.b.events).any(|(_, e)| matches!(e, IceEvent::RoleChanged(_))));
    assert_data_flows(&mut s);
}

#[test]
fn both_controlled_repair_the_conflict() {
    let mut s = pair(config(7), false, config(8), false, two_hosts(5));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert_ne!(s.a.agent.is_controlling(), s.b.agent.is_controlling());
    assert_data_flows(&mut s);
}

#[test]
fn late_and_reordered_trickle() {
    let mut net = Network::new(6);
    net.add_host("10.0.0.1".parse().unwrap());
    net.add_host("10.0.0.2".parse().unwrap());
    net.add_host("10.0.1.2".parse().unwrap());
    let mut s = Scenario::new(
        net,
        Peer::new(config(9), true, &[A]),
        Peer::new(config(10), false, &["10.0.0.2:6000", "10.0.1.2:6001"]),
    );
    s.a.trickle = false;
    s.b.trickle = false;
    s.start();
    // Every candidate is held back for two seconds: nobody can connect.
    s.run_for(Duration::from_secs(2));
    assert!(!s.both_connected());
    assert_eq!(s.a.state(), S::New);
    // Then they arrive, each side's in reverse order, B's first.
    s.release_held(Side::B);
    s.run_for(Duration::from_millis(300));
    s.release_held(Side::A);
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert_data_flows(&mut s);
}

#[test]
fn nat_on_one_side_gives_a_peer_reflexive_path() {
    let mut net = Network::new(7);
    let nat = net.add_nat(
        "203.0.113.1".parse().unwrap(),
        NatMapping::EndpointIndependent,
        NatFiltering::AddressAndPortDependent,
    );
    net.add_host_behind_nat("192.168.1.10".parse().unwrap(), nat);
    net.add_host("10.0.0.2".parse().unwrap());
    let mut s =
        Scenario::new(net, Peer::new(config(11), true, &["192.168.1.10:5000"]), Peer::new(config(12), false, &[B]));
    s.start();
    assert!(s.run_until(Duration::from_secs(10), |s| s.both_connected()), "A {:?} B {:?}", s.a.state(), s.b.state());
    // B only ever heard of A's private address: it reached A through the
    // address it learned from A's checks.
    let (_, remote) = s.b.agent.selected_pair().unwrap();
    assert_eq!(remote.kind, CandidateKind::PeerReflexive);
    assert_eq!(remote.address.ip().to_string(), "203.0.113.1");
    assert_data_flows(&mut s);
}

#[test]
fn server_reflexive_candidate_from_a_stun_server() {
    let mut net = Network::new(8);
    let nat =
        net.add_nat("203.0.113.1".parse().unwrap(), NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    net.add_host_behind_nat("192.168.1.10".parse().unwrap(), nat);
    net.add_host("10.0.0.2".parse().unwrap());
    net.add_host("10.9.9.9".parse().unwrap());
    let stun = "10.9.9.9:3478".parse().unwrap();
    let a = IceConfig { stun_servers: vec![stun], ..config(13) };
    let mut s = Scenario::new(net, Peer::new(a, true, &["192.168.1.10:5000"]), Peer::new(config(14), false, &[B]));
    s.stun_servers.push(stun);
    s.start();
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    let srflx = s.a.events.iter().find_map(|(_, e)| match e {
        IceEvent::LocalCandidate(c) if c.kind == CandidateKind::ServerReflexive => Some(c.clone()),
        _ => None,
    });
    let srflx = srflx.expect("a server-reflexive candidate");
    assert_eq!(srflx.address.ip().to_string(), "203.0.113.1");
    assert_eq!(srflx.related, Some("192.168.1.10:5000".parse().unwrap()));
}

#[test]
fn dead_stun_server_does_not_delay_connection() {
    let mut net = two_hosts(9);
    net.add_host("10.9.9.9".parse().unwrap());
    net.set_host_down("10.9.9.9".parse().unwrap(), true);
    let dead = "10.9.9.9:3478".parse().unwrap();
    let a = IceConfig { stun_servers: vec![dead], ..config(15) };
    let mut s = pair(a, true, config(16), false, net);
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert!(s.clock.elapsed() < Duration::from_millis(500), "connection took {:?}", s.clock.elapsed());
    // Gathering finishes later, with an error naming the server.
    assert!(s.run_until(Duration::from_secs(60), |s| s
        .a
        .events
        .iter()
        .any(|(_, e)| *e == IceEvent::GatheringComplete)));
    assert!(s
        .a
        .events
        .iter()
        .any(|(_, e)| matches!(e, IceEvent::ServerError { server, code: 701, .. } if *server == dead)));
    assert!(s.both_connected());
}

#[test]
fn vanished_peer_goes_disconnected_then_failed() {
    let mut s = pair(config(17), true, config(18), false, two_hosts(10));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    s.run_for(Duration::from_secs(2));
    let gone = s.clock.elapsed();
    s.net.set_host_down("10.0.0.2".parse().unwrap(), true);
    assert!(s.run_until(Duration::from_secs(10), |s| s.a.state() == S::Disconnected));
    let t = s.a.reached(S::Disconnected).unwrap() - gone;
    assert!(t <= Duration::from_secs(5), "disconnected after {t:?}");
    assert!(s.run_until(Duration::from_secs(40), |s| s.a.state() == S::Failed));
    let t = s.a.reached(S::Failed).unwrap() - gone;
    assert!(t >= Duration::from_secs(25) && t <= Duration::from_secs(31), "failed after {t:?}");
    assert!(s.a.agent.send(b"x").is_err(), "consent expired: sending must stop");
}

#[test]
fn peer_that_comes_back_reconnects() {
    let mut s = pair(config(19), true, config(20), false, two_hosts(11));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    s.net.set_host_down("10.0.0.2".parse().unwrap(), true);
    assert!(s.run_until(Duration::from_secs(10), |s| s.a.state() == S::Disconnected));
    s.net.set_host_down("10.0.0.2".parse().unwrap(), false);
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    assert_data_flows(&mut s);
}

#[test]
fn ice_restart_keeps_data_flowing_and_selects_a_new_pair() {
    let mut s = pair(config(21), true, config(22), false, two_hosts(12));
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    let ufrag = s.a.agent.local_credentials().ufrag.clone();
    let selected_before = s.a.events.iter().filter(|(_, e)| matches!(e, IceEvent::SelectedPairChanged { .. })).count();
    s.restart();
    assert_ne!(s.a.agent.local_credentials().ufrag, ufrag);
    // Data still flows on the old pair while checks run again.
    assert!(s.send(Side::A, b"during restart"));
    s.run_for(Duration::from_millis(100));
    assert!(s.b.data.iter().any(|d| d == b"during restart"));
    assert!(s.run_until(Duration::from_secs(5), |s| {
        s.a.events.iter().filter(|(_, e)| matches!(e, IceEvent::SelectedPairChanged { .. })).count() > selected_before
            && s.both_connected()
    }));
    assert_data_flows(&mut s);
}

#[test]
fn all_pairs_failing_after_end_of_candidates_is_failed() {
    let mut net = two_hosts(13);
    // B's address is signalled but unreachable.
    net.set_host_down("10.0.0.2".parse().unwrap(), true);
    let mut s = pair(config(23), true, config(24), false, net);
    assert!(s.run_until(Duration::from_secs(30), |s| s.a.state() == S::Failed));
}

#[test]
fn several_stun_servers_are_queried_in_parallel() {
    let mut net = Network::new(14);
    let nat =
        net.add_nat("203.0.113.1".parse().unwrap(), NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    net.add_host_behind_nat("192.168.1.10".parse().unwrap(), nat);
    net.add_host("10.0.0.2".parse().unwrap());
    for ip in ["10.9.9.1", "10.9.9.2", "10.9.9.3"] {
        net.add_host(ip.parse().unwrap());
    }
    // The first server is dead, the other two answer after 300 ms each way.
    net.set_host_down("10.9.9.1".parse().unwrap(), true);
    let slow = LinkConfig { latency: Duration::from_millis(300), ..Default::default() };
    net.set_egress("10.9.9.2".parse().unwrap(), slow.clone());
    net.set_egress("10.9.9.3".parse().unwrap(), slow);
    let servers: Vec<_> =
        ["10.9.9.1:3478", "10.9.9.2:3478", "10.9.9.3:3478"].iter().map(|s| s.parse().unwrap()).collect();
    let a = IceConfig { stun_servers: servers.clone(), ..config(25) };
    let mut s = Scenario::new(net, Peer::new(a, true, &["192.168.1.10:5000"]), Peer::new(config(26), false, &[B]));
    s.stun_servers.extend(servers[1..].iter().copied());
    s.start();
    // Both live servers answered within one round trip: they were asked at once.
    let srflx_at = |s: &Scenario| {
        s.a.events
            .iter()
            .find(|(_, e)| matches!(e, IceEvent::LocalCandidate(c) if c.kind == CandidateKind::ServerReflexive))
            .map(|(t, _)| *t)
    };
    assert!(s.run_until(Duration::from_secs(2), |s| srflx_at(s).is_some()));
    assert!(srflx_at(&s).unwrap() <= Duration::from_millis(400), "{:?}", srflx_at(&s));
    // Both servers saw the same mapping: one server-reflexive candidate, not two.
    s.run_for(Duration::from_secs(1));
    let n =
        s.a.events
            .iter()
            .filter(|(_, e)| matches!(e, IceEvent::LocalCandidate(c) if c.kind == CandidateKind::ServerReflexive))
            .count();
    assert_eq!(n, 1);
    assert!(s.both_connected());
}
