//! Data channels over a lossy simulated network: the six reliability types
//! (reliable or partially reliable, ordered or not), and closing and
//! reopening under loss.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use common::{Pair, Simulation};
use datachannel::{ChannelEvent, ChannelInit, DataChannelEvent, Reliability};
use netsim::LinkConfig;

const SEC: Duration = Duration::from_secs(1);

fn lossy(seed: u64, loss: f64) -> Pair {
    let link = LinkConfig {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss,
        ..LinkConfig::default()
    };
    // Connect on a clean link (a handshake under 30% loss can take minutes
    // of INIT/COOKIE backoff), then turn the loss on.
    let clean = LinkConfig { loss: 0.0, ..link.clone() };
    let mut p = Pair::with(seed, clean, [common::sctp_config(0), common::sctp_config(1)]);
    p.connect();
    p.set_links(link);
    p
}

/// Opens a channel from node 0 and waits until the peer has it.
fn open(p: &mut Pair, init: ChannelInit) -> u16 {
    let now = p.now();
    let id = p.dc[0].create(now, init).unwrap();
    assert!(
        p.run_until(30 * SEC, |p| p.incoming(1, id).is_some()),
        "channel {id} not opened: {:?} / {:?} / {:?}",
        p.events[0],
        p.events[1],
        p.dc[1].stats()
    );
    id
}

/// A message that says which one it is and is checkable: "n:" then n's bytes repeated.
fn message(n: u32) -> Vec<u8> {
    let mut m = format!("{n}:").into_bytes();
    m.extend(std::iter::repeat_n((n % 251) as u8, 200 + (n as usize * 37) % 1500));
    m
}

fn number_of(m: &[u8]) -> u32 {
    let colon = m.iter().position(|&b| b == b':').expect("a message number");
    let n: u32 = std::str::from_utf8(&m[..colon]).unwrap().parse().unwrap();
    assert_eq!(m, &message(n)[..], "message {n} corrupted");
    n
}

/// Sends `count` messages on `id` from node 0, pacing on back-pressure.
fn send_all(p: &mut Pair, id: u16, count: u32) {
    for n in 0..count {
        let now = p.now();
        p.dc[0].send(now, id, Bytes::from(message(n)), true).unwrap();
        p.flush(0);
        if n % 20 == 19 {
            p.settle(Duration::from_millis(20));
        }
    }
}

fn reliable_under_loss(ordered: bool, seed: u64) {
    let mut p = lossy(seed, 0.10);
    let id = open(&mut p, ChannelInit { ordered, ..ChannelInit::new("reliable") });
    send_all(&mut p, id, 500);
    assert!(
        p.run_until(120 * SEC, |p| p.messages(1, id).len() >= 500),
        "only {} of 500 arrived",
        p.messages(1, id).len()
    );
    p.settle(2 * SEC);
    let got: Vec<u32> = p.messages(1, id).iter().map(|(d, _)| number_of(d)).collect();
    assert_eq!(got.len(), 500, "duplicates delivered");
    if ordered {
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    } else {
        let mut sorted = got.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..500).collect::<Vec<_>>());
    }
    assert!(p.dc[0].association().stats().retransmissions > 0, "the loss did not bite");
}

#[test]
fn reliable_ordered_delivers_everything_under_10_percent_loss() {
    reliable_under_loss(true, 21);
}

#[test]
fn reliable_unordered_delivers_everything_under_10_percent_loss() {
    reliable_under_loss(false, 22);
}

/// A partially reliable channel under 30% loss: a subset arrives, never a
/// corrupted or duplicated message, ordered ones in order; then a reliable
/// channel on the same association still delivers everything.
fn partial_under_loss(ordered: bool, reliability: Reliability, seed: u64) {
    let mut p = lossy(seed, 0.30);
    let id = open(&mut p, ChannelInit { ordered, reliability, ..ChannelInit::new("partial") });
    assert_eq!(p.incoming(1, id).unwrap().reliability, reliability);
    send_all(&mut p, id, 300);
    p.settle(30 * SEC);
    let got: Vec<u32> = p.messages(1, id).iter().map(|(d, _)| number_of(d)).collect();
    let unique: HashSet<u32> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "a message was delivered twice");
    assert!(!got.is_empty(), "nothing arrived");
    assert!(got.len() < 300, "all 300 arrived under 30% loss: nothing was abandoned ({reliability:?})");
    if ordered {
        assert!(got.windows(2).all(|w| w[0] < w[1]), "ordered channel out of order: {got:?}");
    }
    assert!(p.dc[0].association().stats().messages_abandoned > 0);
    // The association keeps working: a reliable channel delivers all.
    p.trace = std::env::var_os("DC_TRACE").is_some();
    let rel = open(&mut p, ChannelInit::new("reliable after"));
    send_all(&mut p, rel, 100);
    assert!(
        // Slow but steady: 30% loss keeps backing the RTO off (no RTT sample
        // from retransmitted chunks), so allow plenty of virtual time.
        p.run_until(900 * SEC, |p| p.messages(1, rel).len() >= 100),
        "only {} of 100: {:?}\n{:?}\n{:?}",
        p.messages(1, rel).len(),
        p.dc[0].association().stats(),
        p.dc[1].association().stats(),
        p.dc[0].poll_timeout().map(|t| t - p.now())
    );
    let got: Vec<u32> = p.messages(1, rel).iter().map(|(d, _)| number_of(d)).collect();
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    // And the other direction too.
    for n in 0..10 {
        let now = p.now();
        p.dc[1].send(now, rel, Bytes::from(message(n)), true).unwrap();
    }
    assert!(p.run_until(900 * SEC, |p| p.messages(0, rel).len() >= 10));
    let back: Vec<u32> = p.messages(0, rel).iter().map(|(d, _)| number_of(d)).collect();
    assert_eq!(back, (0..10).collect::<Vec<_>>());
    assert!(p.dc[0].association().is_established() && p.dc[1].association().is_established());
}

#[test]
fn max_retransmits_zero_ordered_under_30_percent_loss() {
    partial_under_loss(true, Reliability::MaxRetransmits(0), 31);
}

#[test]
fn max_retransmits_zero_unordered_under_30_percent_loss() {
    partial_under_loss(false, Reliability::MaxRetransmits(0), 32);
}

#[test]
fn max_lifetime_ordered_under_30_percent_loss() {
    partial_under_loss(true, Reliability::MaxLifetime(Duration::from_millis(100)), 33);
}

#[test]
fn max_lifetime_unordered_under_30_percent_loss() {
    partial_under_loss(false, Reliability::MaxLifetime(Duration::from_millis(100)), 34);
}

#[test]
fn close_and_reopen_under_loss() {
    let mut p = lossy(41, 0.10);
    for round in 0..5 {
        let id = open(&mut p, ChannelInit::new(format!("round {round}")));
        assert_eq!(id, 0, "round {round}: the id was not reused");
        p.take_events(0);
        p.take_events(1);
        let now = p.now();
        p.dc[0].send(now, id, Bytes::from_static(b"hello"), false).unwrap();
        assert!(p.run_until(30 * SEC, |p| p.messages(1, id).len() == 1), "round {round}: message lost");
        let now = p.now();
        p.dc[round % 2].close(now, id);
        assert!(
            p.run_until(60 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))
                && p.has(1, &DataChannelEvent::Channel(id, ChannelEvent::Closed))),
            "round {round}: not closed on both sides: {:?} / {:?}",
            p.events[0],
            p.events[1]
        );
        assert_eq!(p.dc[0].ready_state(id), None);
        assert_eq!(p.dc[1].ready_state(id), None);
    }
    assert_eq!(p.dc[1].stats().bad_dcep, 0);
}

/// The application reopens as soon as its own side reports Closed, which
/// can be before the peer has processed the last reset response: the new
/// OPEN must still open a channel there.
#[test]
fn reopen_right_after_local_close_under_loss() {
    for seed in 50..56 {
        let mut p = lossy(seed, 0.15);
        for round in 0..8 {
            p.trace = std::env::var("DC_TRACE").is_ok_and(|v| v == format!("{seed}/{round}"));
            let id = open(&mut p, ChannelInit::new(format!("round {round}")));
            p.take_events(0);
            p.take_events(1);
            let now = p.now();
            p.dc[round % 2].close(now, id);
            assert!(
                p.run_until(120 * SEC, |p| p.has(0, &DataChannelEvent::Channel(id, ChannelEvent::Closed))),
                "seed {seed} round {round}: not closed locally: {:?} / {:?}",
                p.events[0],
                p.events[1]
            );
        }
        assert!(p.run_until(120 * SEC, |p| p.incoming(1, 0).is_some() || p.dc[1].ready_state(0).is_none()));
        assert_eq!(p.dc[1].stats().bad_dcep, 0, "seed {seed}: an OPEN was refused as 'in use'");
    }
}
