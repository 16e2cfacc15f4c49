//! Bulk transfer over lossy, reordering, duplicating links: every byte of every reliable
//! message arrives exactly once and in order; partially reliable streams give up as told.

mod common;

use std::time::{Duration, Instant};

use common::{config, lossy, Pattern, Sim, Simulation};
use sctp::{SctpConfig, SctpEvent, SendParams};

struct Volume {
    streams: u16,
    total_bytes: usize,
    sizes: &'static [usize],
    ordered: bool,
}

/// Sends `v.total_bytes` from A to B on `v.streams` streams with back-pressure and checks
/// each message; returns (virtual seconds, wall seconds).
fn transfer(sim: &mut Sim, v: &Volume) -> (f64, f64) {
    let wall = Instant::now();
    let start = sim.now();
    let p = Pattern::new();
    let mut next_seq = vec![0u32; v.streams as usize];
    let mut expect = vec![0u32; v.streams as usize];
    let mut received = 0usize;
    let mut queued = 0usize;
    let mut k = 0usize;
    let mut seen = std::collections::HashSet::new();
    let params = SendParams { ordered: v.ordered, ..Default::default() };
    let ok = sim.run_until(Duration::from_secs(3600), |s| {
        let now = s.now();
        if s.a.is_closed() || s.b.is_closed() {
            return true;
        }
        while queued < v.total_bytes && s.a.buffered_amount_total() < 512 * 1024 {
            let stream = (k % v.streams as usize) as u16;
            let len = v.sizes[k % v.sizes.len()];
            k += 1;
            let seq = next_seq[stream as usize];
            s.a.send(now, stream, 53, p.message(stream, seq, len), params).expect("send");
            next_seq[stream as usize] += 1;
            queued += len;
        }
        for (stream, _, data) in s.take_messages_b() {
            let (st, seq) = p.check(&data);
            assert_eq!(st, stream);
            if v.ordered {
                assert_eq!(seq, expect[stream as usize], "stream {stream} out of order");
                expect[stream as usize] += 1;
            } else {
                assert!(seen.insert((st, seq)), "message {st}/{seq} delivered twice");
            }
            received += data.len();
        }
        received >= v.total_bytes
    });
    assert!(
        ok,
        "only {received} of {} bytes arrived; queued {queued} buffered {} expect {expect:?} next {next_seq:?}\nA {:?}\nB {:?}\n{:?}",
        v.total_bytes,
        sim.a.buffered_amount_total(),
        sim.a.stats(),
        sim.b.stats(),
        (&sim.ev_a, &sim.ev_b, sim.clock.elapsed())
    );
    assert!(
        !sim.a.is_closed() && !sim.b.is_closed(),
        "closed: {:?} at {:?}\nA {:?}\nB {:?}",
        (&sim.ev_a, &sim.ev_b),
        sim.clock.elapsed(),
        sim.a.stats(),
        sim.b.stats()
    );
    assert_eq!(received, queued);
    (sim.now().duration_since(start).as_secs_f64(), wall.elapsed().as_secs_f64())
}

fn scenario(seed: u64, loss: f64, idata: bool, v: Volume) {
    // Under 30% loss each way a timeout's retransmission and its SACK both survive only
    // half the time, so ten failures in a row (RFC 9260's Association.Max.Retrans) happen.
    let max_retransmits = if loss > 0.2 { 30 } else { 10 };
    let ca = SctpConfig { interleaving: idata, max_retransmits, ..config(seed) };
    let cb = SctpConfig { interleaving: idata, max_retransmits, ..config(seed + 1) };
    let mut sim = Sim::new(seed, lossy(20, loss), lossy(20, loss), ca, cb);
    sim.connect();
    let (virt, wall) = transfer(&mut sim, &v);
    let st = sim.a.stats();
    eprintln!(
        "loss {loss} idata {idata}: {} MB in {virt:.1} s virtual ({:.1} MB/s), {wall:.2} s wall ({:.1} MB/s); rtx {} fast {} t3 {} cwnd {}",
        v.total_bytes / 1_000_000,
        v.total_bytes as f64 / 1e6 / virt,
        v.total_bytes as f64 / 1e6 / wall,
        st.retransmissions,
        st.fast_retransmits,
        st.t3_expirations,
        st.cwnd
    );
    if loss > 0.0 {
        assert!(st.retransmissions > 0);
    }
    assert!(sim.b.stats().receive_buffered == 0);
}

#[test]
fn no_loss_bulk_several_streams() {
    let sizes: &[usize] = &[1024, 65536, 300, 16000];
    scenario(11, 0.0, false, Volume { streams: 4, total_bytes: 100_000_000, sizes, ordered: true });
}

#[test]
fn five_percent_loss_with_reordering_and_duplicates() {
    let sizes: &[usize] = &[1024, 65536, 8, 5000];
    scenario(12, 0.05, false, Volume { streams: 3, total_bytes: 12_000_000, sizes, ordered: true });
}

#[test]
fn thirty_percent_loss() {
    let sizes: &[usize] = &[1024, 20000, 64];
    scenario(13, 0.30, false, Volume { streams: 3, total_bytes: 1_000_000, sizes, ordered: true });
}

#[test]
fn five_percent_loss_unordered() {
    let sizes: &[usize] = &[1200, 30000, 100];
    scenario(14, 0.05, false, Volume { streams: 2, total_bytes: 6_000_000, sizes, ordered: false });
}

#[test]
fn interleaved_five_percent_loss() {
    let sizes: &[usize] = &[1024, 65536, 8, 5000];
    scenario(15, 0.05, true, Volume { streams: 4, total_bytes: 12_000_000, sizes, ordered: true });
}

#[test]
fn interleaved_thirty_percent_loss() {
    let sizes: &[usize] = &[1024, 20000, 64];
    scenario(16, 0.30, true, Volume { streams: 3, total_bytes: 1_000_000, sizes, ordered: true });
}

#[test]
fn interleaving_lets_small_messages_pass_a_large_one() {
    let ca = SctpConfig { interleaving: true, max_message_size: 4 << 20, ..config(1) };
    let cb = SctpConfig { interleaving: true, max_message_size: 4 << 20, ..config(2) };
    let mut sim = Sim::new(17, lossy(20, 0.0), lossy(20, 0.0), ca, cb);
    sim.a.set_remote_max_message_size(4 << 20);
    sim.connect();
    let now = sim.now();
    let p = Pattern::new();
    sim.a.send(now, 1, 53, p.message(1, 0, 1 << 20), SendParams::default()).unwrap();
    sim.a.send(now, 2, 53, p.message(2, 0, 100), SendParams::default()).unwrap();
    let mut order = Vec::new();
    assert!(sim.run_until(Duration::from_secs(30), |s| {
        order.extend(s.take_messages_b().into_iter().map(|(st, _, _)| st));
        order.len() == 2
    }));
    assert_eq!(order, vec![2, 1], "the small message must not wait for the large one");
}

fn partial(seed: u64, idata: bool, params: SendParams, loss: f64) -> (usize, usize) {
    partial_driven(seed, idata, params, loss, false)
}

fn partial_driven(seed: u64, idata: bool, params: SendParams, loss: f64, eager: bool) -> (usize, usize) {
    let ca = SctpConfig { interleaving: idata, ..config(seed) };
    let cb = SctpConfig { interleaving: idata, ..config(seed + 1) };
    let mut sim = Sim::new(seed, lossy(20, loss), lossy(20, loss), ca, cb);
    sim.eager = eager;
    sim.connect();
    let p = Pattern::new();
    let n = 400u32;
    let mut got = 0;
    let mut sent = 0;
    let mut seqs = Vec::new();
    let mut reliable = 0u32;
    let ok = sim.run_until(Duration::from_secs(120), |s| {
        if sent < n {
            let now = s.now();
            let len = if sent % 5 == 0 { 4000 } else { 500 };
            s.a.send(now, 7, 53, p.message(7, sent, len), params).unwrap();
            sent += 1;
            // Also a reliable stream alongside, which must be complete.
            s.a.send(now, 8, 53, p.message(8, sent - 1, 100), SendParams::default()).unwrap();
        }
        for (stream, _, d) in s.take_messages_b() {
            let (_, seq) = p.check(&d);
            if stream == 7 {
                got += 1;
                seqs.push(seq);
            } else {
                assert_eq!(seq, reliable, "the reliable stream beside it stays complete and in order");
                reliable += 1;
            }
        }
        sent == n && s.a.stats().outstanding_chunks == 0 && s.a.buffered_amount_total() == 0
    });
    assert!(ok, "partially reliable transfer did not settle: {:?}", sim.a.stats());
    sim.run_until(Duration::from_secs(5), |s| {
        for (stream, _, d) in s.take_messages_b() {
            let (_, seq) = p.check(&d);
            if stream == 8 {
                assert_eq!(seq, reliable);
                reliable += 1;
            } else {
                got += 1;
                seqs.push(seq);
            }
        }
        reliable == n
    });
    assert_eq!(reliable, n, "every reliable message arrived");
    if params.ordered {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ordered PR stream out of order");
    }
    assert_eq!(sim.b.stats().receive_buffered, 0);
    (got, sim.a.stats().messages_abandoned as usize)
}

#[test]
fn max_retransmits_zero_loses_some_under_loss_and_keeps_the_rest_intact() {
    for idata in [false, true] {
        for ordered in [true, false] {
            let params = SendParams { ordered, max_retransmits: Some(0), max_lifetime: None };
            let (got, abandoned) = partial(21, idata, params, 0.1);
            eprintln!("idata {idata} ordered {ordered}: got {got} of 400, abandoned {abandoned}");
            assert!(got < 400 && got > 200, "got {got}");
            assert!(abandoned > 0);
        }
    }
}

#[test]
fn max_lifetime_gives_up_on_old_messages() {
    for idata in [false, true] {
        let params = SendParams { ordered: true, max_retransmits: None, max_lifetime: Some(Duration::from_millis(30)) };
        let (got, abandoned) = partial(31, idata, params, 0.15);
        eprintln!("idata {idata} lifetime: got {got}, abandoned {abandoned}");
        assert!(got < 400 && abandoned > 0, "got {got}");
    }
}

/// Driven so that each datagram is answered at once, SACKs reach the sender before a
/// message's lifetime ends: every fragment it sent of a message is acknowledged, then the
/// message expires with its rest unsent. The FORWARD-TSN must still take the receiver past
/// that message (an abandoned end TSN that is never sent), or the stream waits for it
/// forever and the receiver holds its fragments (the stall this test found: 7,812 bytes
/// held, stream 7 waiting for SSN 187). A lost FORWARD-TSN is then resent after the
/// measured RTO, not a back-off that grew while nothing could be timed.
#[test]
fn max_lifetime_gives_up_cleanly_when_acks_outrun_expiry() {
    for idata in [false, true] {
        let params = SendParams { ordered: true, max_retransmits: None, max_lifetime: Some(Duration::from_millis(30)) };
        let (got, abandoned) = partial_driven(31, idata, params, 0.15, true);
        assert!(got < 400 && abandoned > 0, "got {got}");
    }
}

#[test]
fn no_loss_means_partial_reliability_loses_nothing() {
    let params = SendParams { ordered: true, max_retransmits: Some(0), max_lifetime: None };
    let (got, abandoned) = partial(41, false, params, 0.0);
    assert_eq!((got, abandoned), (400, 0));
    let _ = SctpEvent::Connected;
}

#[test]
fn congestion_control_fills_a_rate_limited_link_without_collapse() {
    let bottleneck = netsim::LinkConfig {
        latency: Duration::from_millis(20),
        rate_bps: Some(20_000_000),
        queue_limit_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut sim = Sim::new(51, bottleneck, lossy(20, 0.0), config(1), config(2));
    sim.connect();
    let sizes: &[usize] = &[65536, 1024];
    let (virt, _) = transfer(&mut sim, &Volume { streams: 2, total_bytes: 20_000_000, sizes, ordered: true });
    let rate = 20_000_000.0 * 8.0 / virt / 1e6;
    let st = sim.a.stats();
    eprintln!(
        "20 Mbit/s bottleneck: {rate:.1} Mbit/s, rtx {} fast {} t3 {}",
        st.retransmissions, st.fast_retransmits, st.t3_expirations
    );
    assert!(rate > 12.0, "only {rate:.1} of 20 Mbit/s");
    assert!(st.t3_expirations < 10, "{st:?}");
}

/// Seed 122345 makes A's initial TSN 4294956744, 10,552 short of the wrap.
const SEED_NEAR_TSN_WRAP: u64 = 122345;

#[test]
fn tsn_and_ssn_wrap_around_under_loss() {
    for idata in [false, true] {
        let ca = SctpConfig { interleaving: idata, ..config(SEED_NEAR_TSN_WRAP) };
        let cb = SctpConfig { interleaving: idata, ..config(7) };
        let mut sim = Sim::new(61, lossy(10, 0.05), lossy(10, 0.05), ca, cb);
        sim.connect();
        let n: u32 = 70_000; // more than 2^16 messages on one stream: the SSN wraps too
        let mut sent = 0u32;
        let mut next = 0u32;
        let ok = sim.run_until(Duration::from_secs(3600), |s| {
            let now = s.now();
            while sent < n && s.a.buffered_amount_total() < 64 * 1024 {
                s.a.send(now, 9, 51, bytes::Bytes::copy_from_slice(&sent.to_be_bytes()), SendParams::default())
                    .unwrap();
                sent += 1;
            }
            for (_, _, d) in s.take_messages_b() {
                assert_eq!(u32::from_be_bytes(d[..4].try_into().unwrap()), next, "idata {idata}");
                next += 1;
            }
            next == n
        });
        assert!(ok, "idata {idata}: {next} of {n}; {:?}", sim.a.stats());
        // Still healthy after the wrap: a stream reset and a reuse.
        let now = sim.now();
        sim.a.reset_streams(now, &[9]).unwrap();
        assert!(sim.run_until(Duration::from_secs(60), |s| s
            .ev_a
            .iter()
            .any(|e| matches!(e, SctpEvent::OutgoingStreamsReset { .. }))));
    }
}
