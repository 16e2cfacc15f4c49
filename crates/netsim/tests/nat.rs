//! NATs in RFC 4787 terms: mapping behaviour, filtering behaviour, timeouts, caps,
//! hairpinning and hole punching.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, ip, ms, Delivery, Sim};
use netsim::{NatConfig, NatFiltering, NatId, NatMapping};

/// Public servers.
fn stun() -> SocketAddr {
    addr("198.51.100.10:3478")
}
fn stun_alt_port() -> SocketAddr {
    addr("198.51.100.10:3479")
}
fn other() -> SocketAddr {
    addr("198.51.100.20:3478")
}
/// The NAT's public IP and the two hosts behind it.
const NAT_IP: &str = "203.0.113.1";
fn laptop() -> SocketAddr {
    addr("192.168.1.2:5000")
}
fn phone() -> SocketAddr {
    addr("192.168.1.3:7000")
}

fn nat_port(port: u16) -> SocketAddr {
    SocketAddr::new(ip(NAT_IP), port)
}

/// Two public servers and a NAT with `laptop` and `phone` behind it.
fn home(mapping: NatMapping, filtering: NatFiltering) -> (Sim, NatId) {
    home_with(NatConfig::new(mapping, filtering))
}

fn home_with(config: NatConfig) -> (Sim, NatId) {
    let mut sim = Sim::new(1);
    sim.net.add_host(stun().ip());
    sim.net.add_host(other().ip());
    let nat = sim.net.add_nat_with_config(ip(NAT_IP), config);
    sim.net.add_host_behind_nat(laptop().ip(), nat);
    sim.net.add_host_behind_nat(phone().ip(), nat);
    (sim, nat)
}

/// Sends one datagram now and returns what arrived (at most one).
fn exchange(sim: &mut Sim, from: SocketAddr, to: SocketAddr) -> Option<Delivery> {
    sim.send(from, to, b"hi");
    let mut got = sim.drain();
    assert!(got.len() <= 1);
    got.pop()
}

/// The public address a server sees for `from`.
fn seen_by(sim: &mut Sim, from: SocketAddr, server: SocketAddr) -> SocketAddr {
    let d = exchange(sim, from, server).expect("outbound always passes");
    assert_eq!(d.datagram.to, server);
    d.datagram.from
}

#[test]
fn ports_are_allocated_from_40000_upwards() {
    let (mut sim, nat) = home(NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    assert_eq!(seen_by(&mut sim, laptop(), stun()), nat_port(40000));
    assert_eq!(seen_by(&mut sim, phone(), stun()), nat_port(40001));
    let second_socket = addr("192.168.1.2:5001");
    assert_eq!(seen_by(&mut sim, second_socket, stun()), nat_port(40002));
    assert_eq!(sim.net.nat_mapping_count(nat, sim.clock.now()), 3);
    assert_eq!(sim.net.nat_public_ip(nat), Some(ip(NAT_IP)));
}

#[test]
fn endpoint_independent_mapping_reuses_the_port_for_every_destination() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    let a = seen_by(&mut sim, laptop(), stun());
    let b = seen_by(&mut sim, laptop(), other());
    let c = seen_by(&mut sim, laptop(), stun_alt_port());
    assert_eq!((a, b, c), (nat_port(40000), nat_port(40000), nat_port(40000)));
}

#[test]
fn address_dependent_mapping_gives_each_destination_ip_its_own_port() {
    let (mut sim, _) = home(NatMapping::AddressDependent, NatFiltering::AddressAndPortDependent);
    let a = seen_by(&mut sim, laptop(), stun());
    let b = seen_by(&mut sim, laptop(), other());
    let c = seen_by(&mut sim, laptop(), stun_alt_port());
    assert_eq!(a, nat_port(40000));
    assert_eq!(b, nat_port(40001));
    assert_eq!(c, a, "same destination IP, other port: same mapping");
}

#[test]
fn address_and_port_dependent_mapping_gives_each_destination_its_own_port() {
    let (mut sim, _) = home(NatMapping::AddressAndPortDependent, NatFiltering::AddressAndPortDependent);
    let a = seen_by(&mut sim, laptop(), stun());
    let b = seen_by(&mut sim, laptop(), stun_alt_port());
    let again = seen_by(&mut sim, laptop(), stun());
    assert_eq!((a, b, again), (nat_port(40000), nat_port(40001), nat_port(40000)));
}

#[test]
fn unsolicited_inbound_is_blocked_by_every_filtering() {
    for filtering in
        [NatFiltering::EndpointIndependent, NatFiltering::AddressDependent, NatFiltering::AddressAndPortDependent]
    {
        let (mut sim, _) = home(NatMapping::EndpointIndependent, filtering);
        assert!(exchange(&mut sim, stun(), nat_port(40000)).is_none());
        assert_eq!(sim.net.stats().dropped_nat_filter, 1, "{filtering:?}");
    }
}

#[test]
fn replies_reach_the_private_host_with_its_private_address() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    let public = seen_by(&mut sim, laptop(), stun());
    let reply = exchange(&mut sim, stun(), public).expect("a reply passes");
    assert_eq!(reply.datagram.from, stun());
    assert_eq!(reply.datagram.to, laptop());
}

/// Which of (same server other port, other server) get in once `laptop` has sent to `stun`.
fn admitted(filtering: NatFiltering) -> (bool, bool) {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, filtering);
    let public = seen_by(&mut sim, laptop(), stun());
    let same_ip = exchange(&mut sim, stun_alt_port(), public).is_some();
    let other_ip = exchange(&mut sim, other(), public).is_some();
    let refused = u64::from(!same_ip) + u64::from(!other_ip);
    assert_eq!(sim.net.stats().dropped_nat_filter, refused);
    (same_ip, other_ip)
}

#[test]
fn filtering_decides_who_else_may_use_a_mapping() {
    assert_eq!(admitted(NatFiltering::EndpointIndependent), (true, true));
    assert_eq!(admitted(NatFiltering::AddressDependent), (true, false));
    assert_eq!(admitted(NatFiltering::AddressAndPortDependent), (false, false));
}

#[test]
fn a_mapping_expires_after_the_idle_timeout() {
    let (mut sim, nat) = home(NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    let public = seen_by(&mut sim, laptop(), stun());

    sim.run_until(Duration::from_secs(119));
    assert!(exchange(&mut sim, stun(), public).is_some(), "alive at 119 s");
    assert_eq!(sim.net.nat_mapping_count(nat, sim.clock.now()), 1);

    // Inbound traffic does not refresh (RFC 4787 allows either; we keep the strict one).
    sim.run_until(Duration::from_secs(121));
    assert_eq!(sim.net.nat_mapping_count(nat, sim.clock.now()), 0);
    assert!(exchange(&mut sim, stun(), public).is_none(), "gone at 121 s");
    assert_eq!(sim.net.stats().dropped_nat_filter, 1);

    // The next outbound packet gets a fresh mapping on the next port.
    assert_eq!(seen_by(&mut sim, laptop(), stun()), nat_port(40001));
}

#[test]
fn outbound_traffic_keeps_a_mapping_alive() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    let public = seen_by(&mut sim, laptop(), stun());
    for keepalive in 1..=5 {
        sim.run_until(Duration::from_secs(100 * keepalive));
        assert_eq!(seen_by(&mut sim, laptop(), stun()), public);
    }
    sim.run_until(Duration::from_secs(610));
    assert!(exchange(&mut sim, stun(), public).is_some());
}

#[test]
fn timeout_and_inbound_refresh_are_configurable() {
    let mut config = NatConfig::new(NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    config.mapping_timeout = Duration::from_secs(30);
    config.inbound_refresh = true;
    let (mut sim, _) = home_with(config);
    let public = seen_by(&mut sim, laptop(), stun());
    // Inbound every 20 s keeps it alive well past 30 s.
    for k in 1..=5 {
        sim.run_until(Duration::from_secs(20 * k));
        assert!(exchange(&mut sim, stun(), public).is_some());
    }
    sim.run_until(Duration::from_secs(100 + 31));
    assert!(exchange(&mut sim, stun(), public).is_none());
}

#[test]
fn the_mapping_cap_evicts_the_least_recently_active() {
    let mut config = NatConfig::new(NatMapping::AddressAndPortDependent, NatFiltering::AddressAndPortDependent);
    config.max_mappings = 2;
    let (mut sim, nat) = home_with(config);
    let first = seen_by(&mut sim, laptop(), stun());
    sim.run_until(ms(10));
    let second = seen_by(&mut sim, laptop(), stun_alt_port());
    sim.run_until(ms(20));
    let third = seen_by(&mut sim, laptop(), other());
    assert_eq!(sim.net.nat_mapping_count(nat, sim.clock.now()), 2);
    assert!(exchange(&mut sim, stun(), first).is_none(), "evicted");
    assert!(exchange(&mut sim, stun_alt_port(), second).is_some());
    assert!(exchange(&mut sim, other(), third).is_some());
}

#[test]
fn ports_wrap_around_to_the_first_port() {
    let mut config = NatConfig::new(NatMapping::AddressAndPortDependent, NatFiltering::EndpointIndependent);
    config.first_port = 65534;
    let (mut sim, _) = home_with(config);
    // Two ports only: the third destination evicts the first mapping and reuses its port.
    assert_eq!(seen_by(&mut sim, laptop(), stun()), nat_port(65534));
    assert_eq!(seen_by(&mut sim, laptop(), stun_alt_port()), nat_port(65535));
    sim.run_until(ms(1));
    assert_eq!(seen_by(&mut sim, laptop(), other()), nat_port(65534));
}

#[test]
fn remembered_peers_per_mapping_are_capped() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::AddressAndPortDependent);
    sim.net.add_host(ip("198.51.100.99"));
    let peer = |port: u16| SocketAddr::new(ip("198.51.100.99"), port);
    let cap = netsim::MAX_PERMISSIONS_PER_MAPPING as u16;
    let mut public = None;
    for port in 1..=cap + 10 {
        sim.run_until(ms(u64::from(port)));
        public = Some(seen_by(&mut sim, laptop(), peer(port)));
    }
    let public = public.expect("sent");
    // The ten oldest peers were forgotten; the newest are still let in.
    assert!(exchange(&mut sim, peer(1), public).is_none());
    assert!(exchange(&mut sim, peer(cap + 10), public).is_some());
}

#[test]
fn hosts_behind_the_same_nat_talk_directly() {
    let (mut sim, nat) = home(NatMapping::AddressAndPortDependent, NatFiltering::AddressAndPortDependent);
    let d = exchange(&mut sim, laptop(), phone()).expect("delivered");
    assert_eq!((d.datagram.from, d.datagram.to), (laptop(), phone()));
    assert_eq!(sim.net.nat_mapping_count(nat, sim.clock.now()), 0);
}

#[test]
fn hairpinning_shows_the_public_source() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    let phone_public = seen_by(&mut sim, phone(), stun());
    let laptop_public = seen_by(&mut sim, laptop(), stun());
    let d = exchange(&mut sim, laptop(), phone_public).expect("hairpinned");
    assert_eq!(d.datagram.from, laptop_public);
    assert_eq!(d.datagram.to, phone());
}

#[test]
fn private_addresses_are_unreachable_from_outside() {
    let (mut sim, _) = home(NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    seen_by(&mut sim, laptop(), stun());
    assert!(exchange(&mut sim, stun(), laptop()).is_none());
    assert_eq!(sim.net.stats().dropped_unroutable, 1);
}

/// Two hosts behind two NATs learn their public addresses from a server, then both send
/// to each other's public address at once. Returns whether each side got the other's packet.
fn punch(mapping: NatMapping, filtering: NatFiltering) -> (bool, bool) {
    let mut sim = Sim::new(3);
    sim.net.add_host(stun().ip());
    let left = sim.net.add_nat(ip("203.0.113.1"), mapping, filtering);
    let right = sim.net.add_nat(ip("203.0.113.2"), mapping, filtering);
    let alice = addr("10.0.0.2:5000");
    let bob = addr("10.1.0.2:5000");
    sim.net.add_host_behind_nat(alice.ip(), left);
    sim.net.add_host_behind_nat(bob.ip(), right);
    for host in [alice, bob] {
        sim.net.set_egress(host.ip(), netsim::LinkConfig { latency: ms(20), ..netsim::LinkConfig::default() });
    }
    let alice_public = seen_by(&mut sim, alice, stun());
    let bob_public = seen_by(&mut sim, bob, stun());
    let mut alice_got = false;
    let mut bob_got = false;
    for _ in 0..3 {
        sim.send(alice, bob_public, b"from alice");
        sim.send(bob, alice_public, b"from bob");
        for d in sim.drain() {
            alice_got |= d.datagram.to == alice;
            bob_got |= d.datagram.to == bob;
        }
    }
    (alice_got, bob_got)
}

#[test]
fn hole_punching_works_through_endpoint_independent_mapping_only() {
    use NatFiltering as F;
    use NatMapping as M;
    assert_eq!(punch(M::EndpointIndependent, F::AddressAndPortDependent), (true, true));
    assert_eq!(punch(M::EndpointIndependent, F::AddressDependent), (true, true));
    assert_eq!(punch(M::AddressAndPortDependent, F::AddressAndPortDependent), (false, false));
}

#[test]
fn a_nat_from_another_network_is_ignored() {
    let mut other_net = netsim::Network::new(0);
    let foreign =
        other_net.add_nat(ip("203.0.113.9"), NatMapping::EndpointIndependent, NatFiltering::EndpointIndependent);
    let mut sim = Sim::new(1);
    sim.net.add_host(stun().ip());
    sim.net.add_host_behind_nat(laptop().ip(), foreign);
    assert!(exchange(&mut sim, laptop(), stun()).is_none());
    assert_eq!(sim.net.stats().dropped_unroutable, 1);
    assert_eq!(sim.net.nat_mapping_count(foreign, sim.clock.now()), 0);
}
