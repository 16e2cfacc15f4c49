//! Everything at once on a bad network: reliable, unordered and partially reliable streams,
//! stream resets and reuse, both directions, bursty loss, reordering and duplication. The
//! invariants: reliable ordered streams arrive complete and in order, nothing is delivered
//! twice, memory stays bounded, and nothing panics.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use common::{config, Sim, Simulation};
use netsim::{BurstLoss, LinkConfig};
use sctp::{SctpConfig, SctpEvent, SendParams};

fn bad_link(seed: u64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(15 + seed % 20),
        jitter: Duration::from_millis(5),
        loss: 0.05,
        burst: Some(BurstLoss { p_good_to_bad: 0.01, p_bad_to_good: 0.3, loss_in_bad: 0.8 }),
        reorder: 0.03,
        reorder_delay: Duration::from_millis(20),
        duplicate: 0.02,
        ..LinkConfig::default()
    }
}

fn msg(stream: u16, seq: u32, len: usize) -> Bytes {
    let mut v = Vec::with_capacity(len.max(8));
    v.extend_from_slice(&(stream as u32).to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.resize(len.max(8), (seq % 251) as u8);
    Bytes::from(v)
}

/// Checks a message made by [`msg`] against the length it was sent with; returns its
/// (stream, seq) header.
fn check(data: &[u8], len: impl Fn(u16, u32) -> usize) -> (u16, u32) {
    let stream = u32::from_be_bytes(data[0..4].try_into().unwrap()) as u16;
    let seq = u32::from_be_bytes(data[4..8].try_into().unwrap());
    assert_eq!(data.len(), len(stream, seq).max(8), "{stream}/{seq}: wrong length");
    assert!(data[8..].iter().all(|&b| b == (seq % 251) as u8), "{stream}/{seq}: corrupt body");
    (stream, seq)
}

/// The length A sends message `seq` of `stream` with (below).
fn a_len(stream: u16, seq: u32) -> usize {
    let extra = seq as usize % 900;
    match stream {
        1 => 700 + extra,
        2 => 3000 + extra,
        3 => 1500 + extra,
        _ => 200,
    }
}

#[test]
fn mixed_traffic_with_resets_on_a_bad_network() {
    for seed in 0..6u64 {
        let idata = seed % 2 == 1;
        let ca = SctpConfig { interleaving: idata, send_buffer_limit: 512 * 1024, ..config(1000 + seed) };
        let cb = SctpConfig { interleaving: idata, ..config(2000 + seed) };
        let mut sim = Sim::new(seed, bad_link(seed), bad_link(seed + 7), ca, cb);
        sim.connect();
        // Stream 1: reliable ordered (A to B). 2: unordered reliable. 3: max 1 retransmit.
        // 4: reliable ordered, reset and reused every 100 messages. B sends on 1 too.
        let mut next_send: HashMap<u16, u32> = HashMap::new();
        let mut expect_ordered: HashMap<u16, u32> = HashMap::new();
        let mut seen: HashSet<(u16, u32)> = HashSet::new();
        let mut from_b_next = 0u32;
        let mut b_sent = 0u32;
        let mut round = 0u32;
        let mut resets_done = 0;
        let mut stream4_generation = 0u32;
        let mut got_unordered = 0u32;
        let ok = sim.run_until(Duration::from_secs(1200), |s| {
            round += 1;
            let now = s.now();
            assert!(
                !s.a.is_closed() && !s.b.is_closed(),
                "seed {seed}: closed: {:?} {:?}\nB {:?}\nexpect {expect_ordered:?} sent {next_send:?} resets {resets_done}",
                s.ev_a,
                s.ev_b,
                s.b.stats()
            );
            if s.a.buffered_amount_total() < 128 * 1024 && next_send.get(&1).copied().unwrap_or(0) < 3000 {
                for (stream, params) in [
                    (1u16, SendParams::default()),
                    (2, SendParams { ordered: false, ..Default::default() }),
                    (3, SendParams { ordered: true, max_retransmits: Some(1), max_lifetime: None }),
                ] {
                    let seq = next_send.entry(stream).or_default();
                    s.a.send(now, stream, 53, msg(stream, *seq, a_len(stream, *seq)), params).unwrap();
                    *seq += 1;
                }
                let seq4 = next_send.entry(4).or_default();
                if *seq4 < 100
                    && s.a.send(now, 4, 53, msg(4, stream4_generation * 1000 + *seq4, a_len(4, 0)), SendParams::default()).is_ok()
                {
                    *seq4 += 1;
                    if *seq4 == 100 {
                        s.a.reset_streams(now, &[4]).unwrap();
                    }
                }
            }
            if b_sent < 2000 && s.b.buffered_amount_total() < 64 * 1024 {
                s.b.send(now, 1, 51, msg(1, b_sent, 100), SendParams::default()).unwrap();
                b_sent += 1;
            }
            for e in std::mem::take(&mut s.ev_b) {
                match e {
                    SctpEvent::Message { stream, data, .. } => {
                        let (st, seq) = check(&data, a_len);
                        assert_eq!(st, stream);
                        assert!(seen.insert((stream, seq)), "seed {seed}: {stream}/{seq} delivered twice");
                        match stream {
                            1 | 4 => {
                                let want = expect_ordered.entry(stream).or_default();
                                assert_eq!(seq, *want, "seed {seed}: stream {stream} out of order");
                                *want += 1;
                            }
                            3 => {
                                let want = expect_ordered.entry(3).or_default();
                                assert!(seq >= *want, "seed {seed}: PR stream went backwards");
                                *want = seq + 1;
                            }
                            _ => got_unordered += 1,
                        }
                    }
                    SctpEvent::IncomingStreamsReset { streams } => {
                        assert_eq!(streams, vec![4]);
                        // Close our side too, as a data channel does.
                        let _ = s.b.reset_streams(now, &[4]);
                    }
                    SctpEvent::Aborted { reason } => panic!("seed {seed}: B aborted: {reason}"),
                    _ => {}
                }
            }
            for e in std::mem::take(&mut s.ev_a) {
                match e {
                    SctpEvent::Message { data, .. } => {
                        assert_eq!(check(&data, |_, _| 100), (1, from_b_next));
                        from_b_next += 1;
                    }
                    SctpEvent::OutgoingStreamsReset { streams } => {
                        assert_eq!(streams, vec![4]);
                        resets_done += 1;
                        if resets_done < 4 {
                            stream4_generation += 1;
                            next_send.insert(4, 0);
                            expect_ordered.insert(4, stream4_generation * 1000);
                        }
                    }
                    SctpEvent::Aborted { reason } => panic!("seed {seed}: A aborted: {reason}"),
                    _ => {}
                }
            }
            assert!(s.a.buffered_amount_total() <= 512 * 1024);
            assert!(s.b.stats().receive_buffered <= 1024 * 1024 + 4 * 1200);
            let a_done = next_send.get(&1) == Some(&3000) && expect_ordered.get(&1) == Some(&3000);
            a_done && from_b_next == 2000 && resets_done >= 4 && s.a.stats().outstanding_chunks == 0
        });
        let st = sim.a.stats();
        assert!(
            ok,
            "seed {seed} (idata {idata}): ordered {expect_ordered:?} from B {from_b_next} resets {resets_done} \
             after {round} rounds; {st:?}"
        );
        // The unordered reliable stream arrived whole too (each message once, checked above).
        assert_eq!(Some(&got_unordered), next_send.get(&2), "seed {seed}: unordered stream 2 incomplete");
        eprintln!(
            "seed {seed} idata {idata}: {:.0} s virtual, rtx {} fast {} t3 {} abandoned {}",
            sim.clock.elapsed().as_secs_f64(),
            st.retransmissions,
            st.fast_retransmits,
            st.t3_expirations,
            st.messages_abandoned
        );
    }
}
