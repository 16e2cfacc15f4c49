//! Hostile input: whatever the network throws at a connected agent is
//! dropped and counted, never panics, never grows memory without bound, and
//! the session survives it.
//!
//! Most tests hand datagrams straight to B's agent with
//! [`IceAgent::handle_receive`](ice::IceAgent::handle_receive) (as a driver
//! would after `recv_from`), look at what B answers, then let the scenario
//! run on and check that data still flows both ways.

mod common;

use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use common::{config, two_hosts, Peer, Scenario, Side, Simulation};
use ice::{Candidate, IceConfig, IceStats, IceTransportState as S, Received, Transmit};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stun::{Attribute, Class, IntegrityKey, Message, Method, TransactionId, MAGIC_COOKIE};

const A: &str = "10.0.0.1:5000";
const B: &str = "10.0.0.2:6000";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A (controlling) and B (controlled) connected on a perfect network, with
/// end-of-candidates exchanged and consent running.
fn connected_with(seed: u64, b_config: IceConfig) -> Scenario {
    let a = Peer::new(config(seed * 2 + 1), true, &[A]);
    let b = Peer::new(IceConfig { seed: Some(seed * 2 + 2), ..b_config }, false, &[B]);
    let mut s = Scenario::new(two_hosts(seed), a, b);
    s.start();
    assert!(s.run_until(Duration::from_secs(5), |s| s.both_connected()));
    s.run_for(Duration::from_secs(1));
    assert_eq!(s.b.state(), S::Completed);
    s
}

fn connected(seed: u64) -> Scenario {
    connected_with(seed, IceConfig::default())
}

/// What `handle_receive` returned, without the borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Data(usize),
    Handled,
    Dropped,
}

/// Hands `data` to B's agent as if it had arrived on B's socket `local`
/// from `from`, and takes whatever B sends in answer.
fn inject_on(s: &mut Scenario, local: SocketAddr, from: SocketAddr, data: &[u8]) -> (Outcome, Vec<Transmit>) {
    let now = s.clock.now();
    let out = match s.b.agent.handle_receive(now, local, from, data) {
        Received::Data(d) => Outcome::Data(d.len()),
        Received::Handled => Outcome::Handled,
        Received::Dropped => Outcome::Dropped,
    };
    let mut sent = Vec::new();
    while let Some(t) = s.b.agent.poll_transmit(now) {
        sent.push(t);
    }
    (out, sent)
}

fn inject(s: &mut Scenario, from: SocketAddr, data: &[u8]) -> (Outcome, Vec<Transmit>) {
    inject_on(s, addr(B), from, data)
}

/// Every counter of dropped input.
fn dropped(st: &IceStats) -> u64 {
    st.dropped_malformed
        + st.dropped_unauthenticated
        + st.dropped_unknown_transaction
        + st.dropped_unknown_source
        + st.dropped_over_limit
}

/// The selected pair of a peer, as (local, remote) addresses.
fn selected(p: &Peer) -> (SocketAddr, SocketAddr) {
    let (l, r) = p.agent.selected_pair().expect("a selected pair");
    (l.address, r.address)
}

/// Both sides still connected on the pair they had, and data flows both ways.
fn assert_session_survives(s: &mut Scenario, pair_a: (SocketAddr, SocketAddr), pair_b: (SocketAddr, SocketAddr)) {
    let (ab, ba) = (format!("A to B at {:?}", s.clock.elapsed()), format!("B to A at {:?}", s.clock.elapsed()));
    assert!(s.send(Side::A, ab.as_bytes()), "A cannot send ({:?})", s.a.state());
    assert!(s.send(Side::B, ba.as_bytes()), "B cannot send ({:?})", s.b.state());
    s.run_for(Duration::from_millis(500));
    assert!(s.b.data.iter().any(|d| d == ab.as_bytes()), "B did not get A's data");
    assert!(s.a.data.iter().any(|d| d == ba.as_bytes()), "A did not get B's data");
    assert!(s.both_connected(), "A {:?} B {:?}", s.a.state(), s.b.state());
    assert_eq!(selected(&s.a), pair_a, "A's selected pair changed");
    assert_eq!(selected(&s.b), pair_b, "B's selected pair changed");
}

/// A source address nobody signalled: 198.18.0.0/15 (benchmarking range).
fn stranger(i: u32) -> SocketAddr {
    let [_, b, c, d] = i.to_be_bytes();
    SocketAddr::from(([198, 18 + (b & 1), c, d], 40_000 + (i % 20_000) as u16))
}

/// A connectivity check to B as A's agent sends it: USERNAME
/// `B-ufrag:A-ufrag`, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE, then
/// `extra`, MESSAGE-INTEGRITY with `pwd` (B's password when genuine) and
/// FINGERPRINT.
fn check_to_b(s: &Scenario, tid: TransactionId, pwd: &str, extra: &[Attribute<'_>]) -> Vec<u8> {
    let username = format!("{}:{}", s.b.agent.local_credentials().ufrag, s.a.agent.local_credentials().ufrag);
    let mut msg = Message::new(Class::Request, Method::BINDING, tid)
        .with(Attribute::Username(&username))
        .with(Attribute::Priority(1_845_501_695))
        .with(Attribute::IceControlling(0x0123_4567_89ab_cdef))
        .with(Attribute::UseCandidate);
    for a in extra {
        msg = msg.with(a.clone());
    }
    msg.to_bytes(Some(&IntegrityKey::short_term(pwd)), true)
}

fn b_pwd(s: &Scenario) -> String {
    s.b.agent.local_credentials().pwd.clone()
}

#[test]
fn random_garbage_is_dropped_and_counted_and_the_session_survives() {
    let mut s = connected(1);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let remotes = s.b.agent.remote_candidates().to_vec();
    let mut rng = SmallRng::seed_from_u64(0x6a7b_0001);
    let peer = addr(A);
    let start = s.b.agent.stats().clone();
    let (mut data, mut data_bytes, mut handled, mut drops) = (0u64, 0u64, 0u64, 0u64);
    for i in 0..10_000u32 {
        let len = rng.gen_range(0..1500);
        let mut buf: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Half of them look like STUN: a 0x00 or 0x01 first byte and the magic
        // cookie, and half of those a length field that matches.
        if i % 2 == 0 && len >= 20 {
            buf[0] = rng.gen_range(0..2);
            buf[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            if rng.gen_bool(0.5) {
                let body = (len - 20) & !3;
                buf.truncate(20 + body);
                buf[2..4].copy_from_slice(&(body as u16).to_be_bytes());
            }
        }
        // From the peer's own address, from strangers, and on a socket that
        // is not B's.
        let from = if i % 3 == 0 { peer } else { stranger(rng.gen()) };
        let local = if i % 11 == 0 { addr("10.0.0.2:6001") } else { addr(B) };

        let before = dropped(s.b.agent.stats());
        let (out, sent) = inject_on(&mut s, local, from, &buf);
        assert!(sent.is_empty(), "garbage #{i} ({} bytes from {from}) was answered: {sent:?}", buf.len());
        let counted = dropped(s.b.agent.stats()) - before;
        match out {
            Outcome::Dropped => {
                assert_eq!(counted, 1, "garbage #{i} dropped but not counted once");
                drops += 1;
            }
            Outcome::Data(n) => {
                // Only from the peer, and only outside the STUN range of
                // RFC 7983 (first byte 0 to 3): it could be DTLS or SRTP.
                assert_eq!((from, local), (peer, addr(B)), "garbage #{i} from a stranger passed as data");
                assert!(buf[0] > 3, "garbage #{i} in the STUN range (first byte {}) passed as data", buf[0]);
                assert_eq!((n, counted), (buf.len(), 0));
                data += 1;
                data_bytes += n as u64;
            }
            Outcome::Handled => {
                // Only an empty Binding indication (a keepalive) needs no
                // authentication.
                assert_eq!(buf[..2], [0x00, 0x11], "garbage #{i} was handled: {buf:02x?}");
                assert_eq!(counted, 0);
                handled += 1;
            }
        }
    }
    let end = s.b.agent.stats().clone();
    assert_eq!(drops + data + handled, 10_000);
    assert_eq!(dropped(&end) - dropped(&start), drops);
    assert!(drops > 5_000, "only {drops} dropped");
    assert!(end.dropped_malformed > start.dropped_malformed);
    assert!(end.dropped_unknown_source > start.dropped_unknown_source);
    assert_eq!(end.bytes_received - start.bytes_received, data_bytes);
    assert_eq!(end.checks_received, start.checks_received, "garbage counted as a check");
    assert_eq!(s.b.agent.remote_candidates(), &remotes[..], "garbage created remote candidates");
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn garbage_mixed_into_live_traffic_over_the_network() {
    let mut s = connected(2);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let mut rng = SmallRng::seed_from_u64(0x6a7b_0002);
    let start = (s.a.agent.stats().clone(), s.b.agent.stats().clone());
    // Ten seconds of virtual time: ten garbage datagrams each way every
    // 10 ms (from the peer's address and from other ports of its host),
    // real data every 100 ms, consent checks running underneath.
    for tick in 0..1_000u32 {
        let now = s.clock.now();
        for j in 0..10u32 {
            let len = rng.gen_range(0..1200);
            let mut buf: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if j % 2 == 0 && len >= 20 {
                buf[0] = rng.gen_range(0..2);
                buf[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
            }
            let port = if j % 3 == 0 { None } else { Some(rng.gen_range(1024..65535)) };
            let (a, b) = (addr(A), addr(B));
            let from_a = port.map_or(a, |p| SocketAddr::new(a.ip(), p));
            let from_b = port.map_or(b, |p| SocketAddr::new(b.ip(), p));
            s.net.send(now, from_a, b, &buf);
            s.net.send(now, from_b, a, &buf);
        }
        if tick % 10 == 0 {
            assert!(s.send(Side::A, format!("a{tick}").as_bytes()));
            assert!(s.send(Side::B, format!("b{tick}").as_bytes()));
        }
        s.run_for(Duration::from_millis(10));
        assert!(s.both_connected(), "at {:?}: A {:?} B {:?}", s.clock.elapsed(), s.a.state(), s.b.state());
    }
    for tick in (0..1_000u32).step_by(10) {
        assert!(s.b.data.iter().any(|d| *d == format!("a{tick}").as_bytes()), "B lost a{tick}");
        assert!(s.a.data.iter().any(|d| *d == format!("b{tick}").as_bytes()), "A lost b{tick}");
    }
    let (a, b) = (s.a.agent.stats(), s.b.agent.stats());
    assert!(dropped(a) > dropped(&start.0) + 5_000, "A dropped only {}", dropped(a) - dropped(&start.0));
    assert!(dropped(b) > dropped(&start.1) + 5_000, "B dropped only {}", dropped(b) - dropped(&start.1));
    // Consent kept being answered through all of it.
    assert!(b.responses_received > start.1.responses_received + 5);
    assert_eq!(s.a.agent.remote_candidates().len(), 1);
    assert_eq!(s.b.agent.remote_candidates().len(), 1);
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn truncated_and_bit_flipped_checks_are_dropped() {
    let mut s = connected(3);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let peer = addr(A);
    let pwd = b_pwd(&s);
    let genuine = check_to_b(&s, TransactionId([7; 12]), &pwd, &[]);
    // The genuine check is accepted and answered: the copies below differ
    // from a real check only by the damage done to them.
    let (out, sent) = inject(&mut s, peer, &genuine);
    assert_eq!(out, Outcome::Handled);
    assert_eq!(sent.len(), 1, "the genuine check is answered");

    let start = s.b.agent.stats().clone();
    let mut copies = 0u64;
    let mut damaged = Vec::new();
    for len in 0..genuine.len() {
        damaged.push((format!("truncated to {len} bytes"), genuine[..len].to_vec()));
    }
    // The FINGERPRINT attribute's own type field is not covered by anything:
    // with it flipped, the attribute is junk after MESSAGE-INTEGRITY, which
    // RFC 8489 section 14.5 says to ignore, and the check is still genuine.
    let fingerprint_type = genuine.len() - 8..genuine.len() - 6;
    for bit in 0..genuine.len() * 8 {
        // Flipping either of the two leading bits moves the datagram out of
        // the STUN range of RFC 7983 (into ChannelData or RTP): from the
        // peer's address that is application data, not a damaged check.
        if bit < 2 || fingerprint_type.contains(&(bit / 8)) {
            continue;
        }
        let mut copy = genuine.clone();
        copy[bit / 8] ^= 0x80 >> (bit % 8);
        damaged.push((format!("bit {bit} flipped"), copy));
    }
    for (what, copy) in &damaged {
        let (out, sent) = inject(&mut s, peer, copy);
        assert_eq!(out, Outcome::Dropped, "check {what}: {copy:02x?}");
        assert!(sent.is_empty(), "check {what} was answered");
        copies += 1;
    }
    let end = s.b.agent.stats().clone();
    let counted = (end.dropped_malformed - start.dropped_malformed)
        + (end.dropped_unauthenticated - start.dropped_unauthenticated)
        + (end.dropped_unknown_transaction - start.dropped_unknown_transaction);
    assert_eq!(counted, copies, "{end:?}");
    assert_eq!(dropped(&end) - dropped(&start), copies);
    assert_eq!(end.checks_received, start.checks_received);
    assert_eq!(end.bytes_received, start.bytes_received, "a damaged check was taken for data");
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn check_with_the_wrong_password_is_dropped_unanswered() {
    let mut s = connected(4);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    // From a new port of A's host: a genuine check from there would teach B
    // a peer-reflexive candidate.
    let from = addr("10.0.0.1:5001");
    let remotes = s.b.agent.remote_candidates().to_vec();
    let start = s.b.agent.stats().clone();

    let wrong = check_to_b(&s, TransactionId([1; 12]), "not-the-password-at-all!", &[]);
    let (out, sent) = inject(&mut s, from, &wrong);
    assert_eq!(out, Outcome::Dropped);
    assert!(sent.is_empty(), "answered a check with the wrong password: {sent:?}");
    // Without MESSAGE-INTEGRITY at all.
    let username = format!("{}:{}", s.b.agent.local_credentials().ufrag, s.a.agent.local_credentials().ufrag);
    let unsigned = Message::new(Class::Request, Method::BINDING, TransactionId([2; 12]))
        .with(Attribute::Username(&username))
        .with(Attribute::Priority(1))
        .to_bytes(None, true);
    let (out, sent) = inject(&mut s, from, &unsigned);
    assert_eq!((out, sent.len()), (Outcome::Dropped, 0));
    // Right password, someone else's ufrag.
    let pwd = b_pwd(&s);
    let foreign = Message::new(Class::Request, Method::BINDING, TransactionId([3; 12]))
        .with(Attribute::Username("someone:else"))
        .to_bytes(Some(&IntegrityKey::short_term(&pwd)), true);
    let (out, sent) = inject(&mut s, from, &foreign);
    assert_eq!((out, sent.len()), (Outcome::Dropped, 0));

    let end = s.b.agent.stats().clone();
    assert_eq!(end.dropped_unauthenticated - start.dropped_unauthenticated, 3);
    assert_eq!(dropped(&end) - dropped(&start), 3);
    assert_eq!(end.checks_received, start.checks_received);
    assert_eq!(s.b.agent.remote_candidates(), &remotes[..], "learned a candidate from an unauthenticated check");

    // The same check with the right password is answered and teaches B the
    // new address: the drops above were the password's doing.
    let right = check_to_b(&s, TransactionId([4; 12]), &pwd, &[]);
    let (out, sent) = inject(&mut s, from, &right);
    assert_eq!((out, sent.len()), (Outcome::Handled, 1));
    assert_eq!(sent[0].to, from);
    assert!(s.b.agent.remote_candidates().iter().any(|c| c.address == from));
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn failed_peer_reflexive_candidates_make_room_at_the_cap() {
    let mut s = connected(6);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let cap = IceConfig::default().max_remote_candidates;
    let pwd = b_pwd(&s);
    let mut rng = SmallRng::seed_from_u64(0x6a7b_0006);
    let mut check_from = |s: &mut Scenario, from: SocketAddr| {
        let check = check_to_b(s, TransactionId(rng.gen()), &pwd, &[]);
        let (out, sent) = inject(s, from, &check);
        assert_eq!((out, sent.len()), (Outcome::Handled, 1), "check from {from}");
    };
    // An authenticated peer fills B's table with addresses that never answer.
    let mut i = 0;
    while s.b.agent.remote_candidates().len() < cap {
        check_from(&mut s, stranger(i));
        i += 1;
    }
    let knows = |s: &Scenario, a: SocketAddr| s.b.agent.remote_candidates().iter().any(|c| c.address == a);
    // While B still checks them, nothing makes room: a new address is refused.
    let start = s.b.agent.stats().clone();
    check_from(&mut s, stranger(50_000));
    assert!(!knows(&s, stranger(50_000)));
    assert_eq!(s.b.agent.stats().dropped_over_limit - start.dropped_over_limit, 1);
    assert_eq!(s.b.agent.stats().pruned_peer_reflexive, 0);

    // B's checks to them all time out (7 sends, about 10 s each, paced).
    for _ in 0..30 {
        s.run_for(Duration::from_secs(1));
        assert!(s.both_connected(), "A {:?} B {:?}", s.a.state(), s.b.state());
    }
    // Now each new address takes the place of a failed one, whether the
    // peer shows it by a check or signals it.
    let start = s.b.agent.stats().clone();
    check_from(&mut s, stranger(50_001));
    assert!(knows(&s, stranger(50_001)), "a new peer-reflexive address was refused at the cap");
    let signalled = addr("10.0.0.1:5999");
    let now = s.clock.now();
    s.b.agent.add_remote_candidate(now, Candidate::host(signalled, 65535));
    assert!(knows(&s, signalled), "a signalled candidate was refused at the cap");
    let end = s.b.agent.stats().clone();
    assert_eq!(end.pruned_peer_reflexive - start.pruned_peer_reflexive, 2);
    assert_eq!(end.dropped_over_limit, start.dropped_over_limit);
    assert_eq!(s.b.agent.remote_candidates().len(), cap);
    // The selected pair's candidate is never the one pruned.
    assert!(knows(&s, pair_b.1));
    // B checks the new candidates.
    let sent_before = s.b.agent.stats().checks_sent;
    s.run_for(Duration::from_millis(500));
    assert!(s.b.agent.stats().checks_sent >= sent_before + 2, "B did not check the candidates it made room for");
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn authenticated_flood_from_many_sources_is_capped() {
    let mut s = connected(5);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let cap = IceConfig::default().max_remote_candidates;
    let pwd = b_pwd(&s);
    let before = s.b.agent.remote_candidates().len();
    let start = s.b.agent.stats().clone();
    let mut rng = SmallRng::seed_from_u64(0x6a7b_0005);
    // An attacker who knows the credentials sends a valid check (with
    // USE-CANDIDATE) from each of 10,000 addresses, a quarter of them IPv6.
    const FLOOD: u32 = 10_000;
    for i in 0..FLOOD {
        let from = if i % 4 == 3 {
            SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (i >> 16) as u16, i as u16).into(), 9)
        } else {
            stranger(i)
        };
        let check = check_to_b(&s, TransactionId(rng.gen()), &pwd, &[]);
        let (out, sent) = inject(&mut s, from, &check);
        assert_eq!(out, Outcome::Handled, "check #{i}");
        // Each check costs at most its answer.
        assert_eq!(sent.len(), 1, "check #{i}");
        let n = s.b.agent.remote_candidates().len();
        assert!(n <= cap, "check #{i}: {n} remote candidates");
    }
    let end = s.b.agent.stats().clone();
    assert_eq!(s.b.agent.remote_candidates().len(), cap);
    let learned = (cap - before) as u64;
    // At the cap, a new address replaces one that has no live pair: here the
    // IPv6 ones, which B (IPv4 only) cannot pair at all. The rest is refused.
    let pruned = end.pruned_peer_reflexive - start.pruned_peer_reflexive;
    assert!(pruned > 0 && pruned < FLOOD as u64 / 4, "{pruned} pruned");
    assert_eq!(end.dropped_over_limit - start.dropped_over_limit, FLOOD as u64 - learned - pruned);
    assert_eq!(end.checks_received - start.checks_received, FLOOD as u64);
    assert_eq!(selected(&s.b), pair_b);

    // B now checks the strangers it learned (none answer) while consent
    // keeps the real pair alive; the cap holds throughout.
    for _ in 0..10 {
        s.run_for(Duration::from_millis(500));
        assert!(s.b.agent.remote_candidates().len() <= cap);
        assert!(s.both_connected(), "A {:?} B {:?}", s.a.state(), s.b.state());
    }
    assert!(s.b.agent.stats().checks_sent > start.checks_sent, "B never checked the learned candidates");
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn responses_to_unknown_transactions_are_dropped() {
    let mut s = connected(6);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let peer = addr(A);
    let controlling = s.b.agent.is_controlling();
    // B signs its checks with A's password, so genuine answers would too.
    let a_key = IntegrityKey::short_term(&s.a.agent.local_credentials().pwd.clone());
    let mut rng = SmallRng::seed_from_u64(0x6a7b_0006);
    let start = s.b.agent.stats().clone();
    const N: u64 = 1_000;
    for i in 0..N {
        let tid = TransactionId(rng.gen());
        let msg = match i % 3 {
            0 => Message::new(Class::Success, Method::BINDING, tid).with(Attribute::XorMappedAddress(addr(B))),
            // A role conflict would switch B's role, were it believed.
            1 => Message::new(Class::Error, Method::BINDING, tid)
                .with(Attribute::ErrorCode { code: 487, reason: "Role Conflict" }),
            _ => Message::new(Class::Success, Method::BINDING, tid)
                .with(Attribute::XorMappedAddress(addr("192.0.2.1:1"))),
        };
        let wire = msg.to_bytes(if i % 2 == 0 { Some(&a_key) } else { None }, true);
        let from = if i % 5 == 0 { stranger(i as u32) } else { peer };
        let (out, sent) = inject(&mut s, from, &wire);
        assert_eq!((out, sent.len()), (Outcome::Dropped, 0), "response #{i}");
    }
    let end = s.b.agent.stats().clone();
    assert_eq!(end.dropped_unknown_transaction - start.dropped_unknown_transaction, N);
    assert_eq!(dropped(&end) - dropped(&start), N);
    assert_eq!(end.responses_received, start.responses_received);
    assert_eq!(s.b.agent.is_controlling(), controlling, "an unknown 487 switched the role");
    assert_eq!(s.b.agent.local_candidates().count(), 1);
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn unknown_comprehension_required_attribute_gets_a_420() {
    let mut s = connected(7);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let pwd = b_pwd(&s);
    let unknown = Attribute::Unknown { kind: 0x7f31, value: b"hostile" };

    // Without the password nobody gets an answer, 420 or other: answering
    // anyone who asks would let strangers bounce traffic off B to spoofed
    // addresses (RFC 8489 section 6.3: authenticate, then check attributes).
    let start = s.b.agent.stats().clone();
    let forged = check_to_b(&s, TransactionId([0x43; 12]), "not-the-password-at-all!", std::slice::from_ref(&unknown));
    let (out, sent) = inject(&mut s, stranger(7), &forged);
    assert!(sent.is_empty(), "an unauthenticated request was answered: {sent:?}");
    assert_eq!(out, Outcome::Dropped);
    assert_eq!(s.b.agent.stats().dropped_unauthenticated, start.dropped_unauthenticated + 1);

    // From the peer (a new port of its host), signed: a 420 listing the
    // attribute, signed and fingerprinted like any answer to a check.
    let from = addr("10.0.0.1:5002");
    let remotes = s.b.agent.remote_candidates().to_vec();
    let tid = TransactionId([0x42; 12]);
    let request = check_to_b(&s, tid, &pwd, &[unknown]);
    let (out, sent) = inject(&mut s, from, &request);
    assert_eq!(out, Outcome::Handled);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let t = &sent[0];
    assert_eq!((t.from, t.to), (addr(B), from));
    let resp = Message::decode(&t.data).expect("a well-formed response with a valid FINGERPRINT");
    assert_eq!((resp.class, resp.method, resp.transaction_id), (Class::Error, Method::BINDING, tid));
    assert_eq!(resp.error_code().map(|(c, _)| c), Some(420));
    assert!(resp.attributes.contains(&Attribute::UnknownAttributes(vec![0x7f31])), "{resp:?}");
    resp.verify_integrity(&t.data, &IntegrityKey::short_term(&pwd)).expect("a signed 420");
    // A refused request is no check: nothing is learned from it.
    assert_eq!(s.b.agent.remote_candidates(), &remotes[..]);
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn remote_candidates_beyond_the_cap_are_refused() {
    let mut s = connected(8);
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let cap = IceConfig::default().max_remote_candidates;
    let before = s.b.agent.remote_candidates().len();
    let start = s.b.agent.stats().clone();
    let now = s.clock.now();
    for i in 0..(cap as u32 + 50) {
        s.b.agent.add_remote_candidate(now, Candidate::host(stranger(i), 65535));
        assert!(s.b.agent.remote_candidates().len() <= cap);
    }
    assert_eq!(s.b.agent.remote_candidates().len(), cap);
    let refused = (cap as u64 + 50) - (cap - before) as u64;
    assert_eq!(s.b.agent.stats().dropped_over_limit - start.dropped_over_limit, refused);
    // Known candidates signalled again are no new candidates and cost nothing.
    s.b.agent.add_remote_candidate(now, Candidate::host(stranger(0), 65535));
    s.b.agent.add_remote_candidate(now, Candidate::host(addr(A), 65535));
    assert_eq!(s.b.agent.stats().dropped_over_limit - start.dropped_over_limit, refused);
    // The refused candidates are not kept.
    s.run_for(Duration::from_secs(1));
    assert!(!s.b.agent.remote_candidates().iter().any(|c| c.address == stranger(cap as u32 + 49)));
    assert_session_survives(&mut s, pair_a, pair_b);
}

#[test]
fn candidate_pairs_beyond_the_cap_are_refused() {
    let max_pairs = 10;
    let mut s = connected_with(9, IceConfig { max_pairs, ..IceConfig::default() });
    let (pair_a, pair_b) = (selected(&s.a), selected(&s.b));
    let start = s.b.agent.stats().clone();
    let now = s.clock.now();
    // One local candidate: one pair per remote one; B has one pair already.
    for i in 0..50 {
        s.b.agent.add_remote_candidate(now, Candidate::host(stranger(i), 65535));
    }
    assert_eq!(s.b.agent.remote_candidates().len(), 51);
    assert_eq!(s.b.agent.stats().dropped_over_limit - start.dropped_over_limit, 50 - (max_pairs as u64 - 1));
    // Nine new pairs get checked, one every Ta (50 ms) and, unanswered,
    // retransmitted: 40 more would have been checked without the cap.
    s.run_for(Duration::from_millis(2_000));
    assert_eq!(s.b.agent.stats().checks_sent - start.checks_sent, max_pairs as u64 - 1);
    assert_session_survives(&mut s, pair_a, pair_b);
}
