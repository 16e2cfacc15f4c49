//! Hostile and broken input: each is dropped, counted or refused, and the association keeps
//! working (or, for a memory attack, aborts with bounded memory).

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{config, established, forge, probe, Sim, Simulation};
use sctp::chunk::{Chunk, Init, ReConfig, ReconfigParam};
use sctp::{Association, CommonHeader, Packet, SctpConfig, SctpEvent, SendParams};

fn still_works(sim: &mut Sim) {
    assert!(!sim.a.is_closed() && !sim.b.is_closed());
    probe(sim, "still working");
}

#[test]
fn bad_chunk_lengths_wrong_tags_and_ports_are_dropped() {
    let mut sim = established(config(2));
    let good = forge(&sim, vec![Chunk::Heartbeat(sctp::chunk::Heartbeat { info: Bytes::from_static(b"x") })]);
    let now = sim.now();
    let before = sim.b.stats().dropped_packets;
    let mut n = 0;
    for len in [0u16, 1, 3, 2000] {
        let mut p = good.clone();
        p[14..16].copy_from_slice(&len.to_be_bytes());
        let c = sctp::checksum(&p);
        p[8..12].copy_from_slice(&c.to_le_bytes());
        sim.b.handle_receive(now, &p);
        n += 1;
    }
    let mut wrong_tag = good.clone();
    wrong_tag[4] ^= 0xff;
    let c = sctp::checksum(&wrong_tag);
    wrong_tag[8..12].copy_from_slice(&c.to_le_bytes());
    sim.b.handle_receive(now, &wrong_tag);
    let mut wrong_port = good.clone();
    wrong_port[2] = 0x99;
    let c = sctp::checksum(&wrong_port);
    wrong_port[8..12].copy_from_slice(&c.to_le_bytes());
    sim.b.handle_receive(now, &wrong_port);
    sim.b.handle_receive(now, &good[..7]);
    n += 3;
    assert_eq!(sim.b.stats().dropped_packets - before, n);
    still_works(&mut sim);
}

#[test]
fn tsns_far_outside_the_window_are_dropped() {
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let (before, dups_before) = (sim.b.stats().dropped_chunks, sim.b.stats().duplicate_tsns);
    for off in [1u32 << 20, 1 << 30, 3 << 30] {
        let mut far = d.clone();
        far.tsn = d.tsn.wrapping_add(off);
        far.mid = 1;
        let p = forge(&sim, vec![Chunk::Data(far)]);
        let now = sim.now();
        sim.b.handle_receive(now, &p);
    }
    let st = sim.b.stats();
    // Each is dropped: as too far ahead, or (3 << 30 wraps behind) as a duplicate.
    assert_eq!(st.dropped_chunks - before + (st.duplicate_tsns - dups_before), 3, "{st:?}");
    still_works(&mut sim);
}

#[test]
fn a_claimed_huge_reassembly_is_bounded_and_aborted() {
    for in_order in [true, false] {
        let mut sim = established(config(2));
        let d = probe(&mut sim, "first");
        let mut max_held = 0;
        for i in 1..2000u32 {
            let mut f = d.clone();
            // In order: a message that never ends. Out of order: fragments that can never
            // join (every other TSN missing), filling the window.
            f.tsn = d.tsn.wrapping_add(if in_order { i } else { 2 * i });
            f.mid = 1;
            f.beginning = i == 1;
            f.ending = false;
            f.payload = Bytes::from(vec![0; 1100]);
            let p = forge(&sim, vec![Chunk::Data(f)]);
            let now = sim.now();
            sim.b.handle_receive(now, &p);
            while sim.b.poll_transmit(now).is_some() {}
            max_held = max_held.max(sim.b.stats().receive_buffered);
            if sim.b.is_closed() {
                break;
            }
        }
        // At most a window (and the in-order slack) of payload, each 1,100-byte chunk
        // charged 160 bytes more for what holding it costs.
        assert!(max_held <= (1024 * 1024 + 4 * 1200) / 1100 * (1100 + 160), "held {max_held}");
        if in_order {
            assert!(sim.b.is_closed(), "a message past max-message-size aborts");
            while let Some(e) = sim.b.poll_event() {
                sim.ev_b.push(e);
            }
            assert!(
                matches!(sim.ev_b.last(), Some(SctpEvent::Aborted { reason }) if reason.contains("max-message-size")),
                "{:?}",
                sim.ev_b
            );
        } else {
            assert!(sim.b.stats().dropped_chunks > 0, "beyond the window is dropped");
        }
    }
}

#[test]
fn init_flood_keeps_no_state() {
    let now = std::time::Instant::now();
    let mut listener = Association::new(now, config(9));
    let init = |tag: u32| {
        Packet {
            header: CommonHeader { src_port: 5000, dst_port: 5000, vtag: 0, checksum: 0 },
            chunks: vec![Chunk::Init(Init {
                initiate_tag: tag,
                a_rwnd: 65536,
                outbound_streams: 10,
                inbound_streams: 10,
                initial_tsn: tag,
                ..Init::default()
            })],
        }
        .encode(false)
    };
    // Drained: every INIT answered, nothing kept.
    for i in 1..=10_000u32 {
        listener.handle_receive(now, &init(i));
        assert!(listener.poll_transmit(now).is_some());
        assert!(listener.poll_transmit(now).is_none());
    }
    let st = listener.stats();
    assert_eq!(st.inits_answered, 10_000);
    assert_eq!((st.outstanding_chunks, st.receive_buffered), (0, 0));
    assert!(!listener.is_established() && listener.poll_event().is_none() && listener.poll_timeout().is_none());
    // Not drained: the answer queue stays capped.
    for i in 1..=10_000u32 {
        listener.handle_receive(now, &init(i));
    }
    assert!(listener.stats().answers_dropped >= 10_000 - 16);
    let mut n = 0;
    while listener.poll_transmit(now).is_some() {
        n += 1;
    }
    assert!(n <= 16);

    // An established association ignores INITs (no restart) and keeps working.
    let mut sim = established(config(2));
    let now = sim.now();
    for i in 1..=1000u32 {
        sim.b.handle_receive(now, &init(i));
    }
    still_works(&mut sim);
}

#[test]
fn stream_resets_for_missing_streams_and_bad_sequence_numbers_are_refused() {
    let mut sim = established(SctpConfig { max_inbound_streams: 16, ..config(2) });
    let d = probe(&mut sim, "first");
    for (seq, streams) in [(0u32, vec![100u16]), (12345, vec![1]), (0, vec![])] {
        let rc = Chunk::ReConfig(ReConfig {
            params: vec![ReconfigParam::OutgoingReset { req_seq: seq, resp_seq: 0, last_tsn: d.tsn, streams }],
        });
        let p = forge(&sim, vec![rc]);
        let now = sim.now();
        sim.b.handle_receive(now, &p);
        let answer = sim.b.poll_transmit(now).unwrap();
        let chunks = Packet::decode(&answer, false).unwrap().chunks;
        assert!(
            chunks
                .iter()
                .any(|c| matches!(c, Chunk::ReConfig(r) if matches!(r.params[0], ReconfigParam::Response { .. }))),
            "{chunks:?}"
        );
        assert!(!sim.ev_b.iter().any(|e| matches!(e, SctpEvent::IncomingStreamsReset { .. })));
    }
    still_works(&mut sim);
}

#[test]
fn garbage_and_bit_flips_are_dropped() {
    let mut sim = established(config(2));
    let now = sim.now();
    sim.a.send(now, 0, 51, Bytes::from(vec![5; 900]), SendParams::default()).unwrap();
    let good = sim.a.poll_transmit(now).unwrap();
    let before = sim.b.stats().dropped_packets;
    let mut x: u32 = 12345;
    let mut n = 0;
    for i in 0..good.len() * 8 {
        let mut p = good.clone();
        p[i / 8] ^= 1 << (i % 8);
        sim.b.handle_receive(now, &p);
        n += 1;
    }
    for len in 0..300 {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(1103515245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        sim.b.handle_receive(now, &junk);
        n += 1;
    }
    assert_eq!(sim.b.stats().dropped_packets - before, n);
    assert!(sim.take_messages_b().is_empty());
    sim.b.handle_receive(now, &good);
    still_works(&mut sim);
}

#[test]
fn forged_cookies_are_rejected() {
    let now = std::time::Instant::now();
    let mut listener = Association::new(now, config(9));
    for cookie in [Bytes::new(), Bytes::from(vec![1; 66]), Bytes::from(vec![0; 500])] {
        let p = Packet {
            header: CommonHeader { src_port: 5000, dst_port: 5000, vtag: 77, checksum: 0 },
            chunks: vec![Chunk::CookieEcho { cookie }],
        }
        .encode(false);
        listener.handle_receive(now, &p);
    }
    assert_eq!(listener.stats().dropped_packets, 3);
    assert!(!listener.is_established());
}

#[test]
fn absurd_sacks_forward_tsns_and_heartbeat_floods_do_no_harm() {
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let a_tag = sim.a.local_tag_for_fuzzing().unwrap();
    let to_a = |chunks: Vec<Chunk>| {
        Packet { header: CommonHeader { src_port: 5000, dst_port: 5000, vtag: a_tag, checksum: 0 }, chunks }
            .encode(false)
    };
    let now = sim.now();
    // Keep some data outstanding at A.
    for i in 0..20u8 {
        sim.a.send(now, 1, 53, Bytes::from(vec![i; 1000]), SendParams::default()).unwrap();
    }
    let held: Vec<_> = std::iter::from_fn(|| sim.a.poll_transmit(now)).collect();
    let gaps: Vec<(u16, u16)> = (0..250).map(|i| (1 + i, u16::MAX - i)).collect();
    let sack = sctp::chunk::Sack { cum_tsn_ack: d.tsn, a_rwnd: u32::MAX, gaps, dups: vec![7; 30] };
    sim.a.handle_receive(now, &to_a(vec![Chunk::Sack(sack)]));
    let backwards = sctp::chunk::Sack { cum_tsn_ack: d.tsn, a_rwnd: 0, gaps: vec![(9, 2), (0, 0)], dups: vec![] };
    sim.a.handle_receive(now, &to_a(vec![Chunk::Sack(backwards)]));
    // FORWARD-TSN from far away and with nonsense streams, to B.
    for new_cum in [d.tsn.wrapping_add(1 << 30), d.tsn.wrapping_sub(5), d.tsn] {
        let f = sctp::chunk::ForwardTsn {
            new_cum_tsn: new_cum,
            streams: (0..100)
                .map(|s| sctp::chunk::ForwardTsnStream { stream: s, unordered: false, mid: 40000 })
                .collect(),
            interleaved: false,
        };
        let p = forge(&sim, vec![Chunk::ForwardTsn(f)]);
        sim.b.handle_receive(now, &p);
    }
    // Hundreds of heartbeats in one packet each, never drained in between.
    let hb = Chunk::Heartbeat(sctp::chunk::Heartbeat { info: Bytes::from_static(&[1; 8]) });
    let p = forge(&sim, vec![hb; 70]);
    for _ in 0..20 {
        sim.b.handle_receive(now, &p);
    }
    let mut n = 0;
    while sim.b.poll_transmit(now).is_some() {
        n += 1;
    }
    assert!(n < 20, "heartbeat answers are capped, got {n} packets");
    for p in held {
        sim.b.handle_receive(now, &p);
    }
    still_works(&mut sim);
}

#[test]
fn stale_and_replayed_cookies_are_refused() {
    let now = std::time::Instant::now();
    let mut a = Association::new(now, config(1));
    let mut b = Association::new(now, config(2));
    a.connect(now);
    let init = a.poll_transmit(now).unwrap();
    b.handle_receive(now, &init);
    let init_ack = b.poll_transmit(now).unwrap();
    a.handle_receive(now, &init_ack);
    let cookie_echo = a.poll_transmit(now).unwrap();
    // Held for longer than the cookie lifetime (60 s): refused.
    let late = now + Duration::from_secs(61);
    b.handle_receive(late, &cookie_echo);
    assert!(!b.is_established());
    assert_eq!(b.stats().dropped_packets, 1);
    // In time it works; a replay of the same cookie to the established association is
    // answered (COOKIE-ACK again, RFC 9260 5.2.4 case D) without a second Connected.
    let fresh = Association::new(now, config(2));
    let mut b = fresh;
    b.handle_receive(now, &init);
    let _ = b.poll_transmit(now);
    b.handle_receive(now, &cookie_echo);
    assert!(b.is_established());
    assert_eq!(b.poll_event(), Some(SctpEvent::Connected));
    assert!(b.poll_transmit(now).is_some());
    b.handle_receive(now, &cookie_echo);
    assert!(b.poll_event().is_none());
}

/// A peer can make us track at most 1,024 gaps above the cumulative TSN: a chunk that
/// would open one more is dropped unmarked (the sender retransmits it); one that touches a
/// tracked range is still taken.
#[test]
fn out_of_order_tsn_ranges_are_capped_at_1024() {
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let now = sim.now();
    let dropped = sim.b.stats().dropped_chunks;
    let chunk = |off: u32| {
        let mut f = d.clone();
        f.tsn = d.tsn.wrapping_add(off);
        f.unordered = true;
        f.payload = Bytes::from_static(b"x");
        Chunk::Data(f)
    };
    // Every other TSN: each opens a range of its own.
    for i in 1..=1100u32 {
        let p = forge(&sim, vec![chunk(2 * i)]);
        sim.b.handle_receive(now, &p);
        while sim.b.poll_transmit(now).is_some() {}
    }
    assert_eq!(sim.b.stats().dropped_chunks - dropped, 1100 - 1024, "the ranges past 1,024 are dropped");
    // Between two tracked ranges (joining them) and right after the last one: taken.
    for off in [3, 2049] {
        let p = forge(&sim, vec![chunk(off)]);
        sim.b.handle_receive(now, &p);
    }
    assert_eq!(sim.b.stats().dropped_chunks - dropped, 1100 - 1024);
    let delivered =
        std::iter::from_fn(|| sim.b.poll_event()).filter(|e| matches!(e, SctpEvent::Message { .. })).count();
    assert_eq!(delivered, 1024 + 2);
}

/// Overlapping and repeated gap blocks ack each chunk once: thousands of blocks over the
/// same chunks take the bytes out of flight exactly once and leave the uncovered chunk
/// outstanding.
#[test]
fn overlapping_gap_blocks_ack_each_chunk_once() {
    // A takes in the 16 KB SACK below: the bound under test is the work per
    // gap block, whatever the packet size.
    let big = SctpConfig { max_receive_packet: 65535, ..config(1) };
    let mut sim = Sim::new(1, common::link(5), common::link(5), big, config(2));
    sim.connect();
    let d = probe(&mut sim, "first");
    let a_tag = sim.a.local_tag_for_fuzzing().unwrap();
    assert!(sim.run_until(Duration::from_secs(1), |s| s.a.stats().outstanding_chunks == 0));
    let now = sim.now();
    for i in 0..4u8 {
        sim.a.send(now, 1, 53, Bytes::from(vec![i; 250]), SendParams::default()).unwrap();
    }
    let sent: Vec<_> = std::iter::from_fn(|| sim.a.poll_transmit(now)).collect();
    assert!(!sent.is_empty());
    assert_eq!((sim.a.stats().flight_size, sim.a.stats().outstanding_chunks), (1000, 4));
    // TSN d+1 is missing; d+2..d+4 are covered again and again.
    let mut gaps: Vec<(u16, u16)> = [(2, 3), (3, 4), (2, 4), (4, 4)].repeat(1000);
    gaps.push((2, 2));
    let sack = sctp::chunk::Sack { cum_tsn_ack: d.tsn, a_rwnd: 1 << 20, gaps, dups: vec![] };
    let p = Packet {
        header: CommonHeader { src_port: 5000, dst_port: 5000, vtag: a_tag, checksum: 0 },
        chunks: vec![Chunk::Sack(sack)],
    }
    .encode(false);
    sim.a.handle_receive(now, &p);
    let st = sim.a.stats();
    assert_eq!(st.flight_size, 250, "{st:?}");
    // The one missing chunk is retransmitted and the message goes through.
    still_works(&mut sim);
}

/// A peer's reset requests that wait for TSNs still to come (RFC 6525 5.2.2) join: a
/// "reset every stream" (an empty list) joining a listed one, or the other way round,
/// resets every stream; a request naming thousands of streams joins in linear time.
#[test]
fn deferred_resets_join_and_reset_all_wins() {
    let lists: [(Vec<u16>, Vec<u16>); 3] =
        [(vec![1], vec![]), (vec![], vec![1]), ((0..30_000).collect(), (15_000..45_000).collect())];
    for (first, second) in lists {
        // B takes in 60 KB requests: the bound under test is the work per
        // named stream, whatever the packet size.
        let mut sim = established(SctpConfig { max_receive_packet: 65535, ..config(2) });
        let d = probe(&mut sim, "first");
        let now = sim.now();
        let both_all = first.is_empty() || second.is_empty();
        let expected: Vec<u16> = if both_all { vec![] } else { (0..45_000).collect() };
        for (i, streams) in [first, second].into_iter().enumerate() {
            let req = ReconfigParam::OutgoingReset {
                req_seq: d.tsn.wrapping_add(i as u32),
                resp_seq: 0,
                last_tsn: d.tsn.wrapping_add(2),
                streams,
            };
            let p = forge(&sim, vec![Chunk::ReConfig(ReConfig { params: vec![req] })]);
            sim.b.handle_receive(now, &p);
        }
        while let Some(e) = sim.b.poll_event() {
            assert!(!matches!(e, SctpEvent::IncomingStreamsReset { .. }), "performed before its TSNs came");
        }
        // The two TSNs the requests wait for.
        for k in 1..=2u32 {
            let mut f = d.clone();
            f.tsn = d.tsn.wrapping_add(k);
            f.mid = d.mid.wrapping_add(k);
            let p = forge(&sim, vec![Chunk::Data(f)]);
            sim.b.handle_receive(now, &p);
        }
        let resets: Vec<Vec<u16>> = std::iter::from_fn(|| sim.b.poll_event())
            .filter_map(|e| match e {
                SctpEvent::IncomingStreamsReset { streams } => Some(streams),
                _ => None,
            })
            .collect();
        assert_eq!(resets.len(), 1);
        assert_eq!(resets[0], expected, "the joined request");
    }
}

#[test]
fn packets_larger_than_max_receive_packet_are_dropped() {
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let max = SctpConfig::default().max_receive_packet;
    // One DATA chunk whose packet is exactly the limit, then one byte more.
    let packet_of = |tsn_off: u32, len: usize| {
        let mut c = d.clone();
        c.tsn = d.tsn.wrapping_add(tsn_off);
        c.mid = tsn_off;
        c.payload = Bytes::from(vec![b'x'; len]);
        forge(&sim, vec![Chunk::Data(c)])
    };
    let at_limit = packet_of(1, max - 12 - 16);
    assert_eq!(at_limit.len(), max);
    let over = packet_of(2, max - 12 - 16 + 1);
    let before = sim.b.stats().dropped_packets;
    let now = sim.now();
    sim.b.handle_receive(now, &over);
    assert_eq!(sim.b.stats().dropped_packets - before, 1, "a packet over the limit was taken in");
    sim.b.handle_receive(now, &at_limit);
    assert_eq!(sim.b.stats().dropped_packets - before, 1, "a packet at the limit was dropped");
    let mut got = Vec::new();
    while let Some(e) = sim.b.poll_event() {
        if let SctpEvent::Message { data, .. } = e {
            got.push(data.len());
        }
    }
    assert_eq!(got, vec![max - 28]);
}

/// A FORWARD-TSN to B: new cumulative TSN and (stream, SSN) entries, all ordered.
fn forward_tsn(sim: &Sim, new_cum_tsn: u32, entries: Vec<(u16, u32)>) -> Vec<u8> {
    let streams = entries
        .into_iter()
        .map(|(stream, mid)| sctp::chunk::ForwardTsnStream { stream, unordered: false, mid })
        .collect();
    forge(sim, vec![Chunk::ForwardTsn(sctp::chunk::ForwardTsn { new_cum_tsn, streams, interleaved: false })])
}

#[test]
fn forward_tsn_skips_by_range_across_the_wrap_and_ignores_unknown_streams() {
    let mut sim = established(SctpConfig { max_inbound_streams: 16, ..config(2) });
    let d = probe(&mut sim, "first");
    let now = sim.now();
    let ftsn =
        |sim: &Sim, cum_off: u32, streams: Vec<(u16, u32)>| forward_tsn(sim, d.tsn.wrapping_add(cum_off), streams);
    // Stream 1 skips to SSN 0xfff0 (in steps of less than half the SSN
    // space), so it expects 0xfff1 next. The entries for streams B never
    // negotiated are ignored, a thousand of them.
    let unknown: Vec<(u16, u32)> = (0..1000).map(|i| (16 + i, 0x7000)).collect();
    for (off, ssn) in [(1, 0x7000), (2, 0xe000), (3, 0xfff0)] {
        let mut entries = vec![(1, ssn)];
        entries.extend(unknown.iter().copied());
        sim.b.handle_receive(now, &ftsn(&sim, off, entries));
    }
    // Four messages arrive around the wrap with TSN cum+4 missing.
    for (off, ssn) in [(5u32, 0xfff3u32), (6, 0xfff5), (7, 0x0002), (8, 0x0004)] {
        let mut c = d.clone();
        c.tsn = d.tsn.wrapping_add(off);
        c.stream = 1;
        c.mid = ssn;
        c.payload = Bytes::from(format!("ssn {ssn:#x}"));
        sim.b.handle_receive(now, &forge(&sim, vec![Chunk::Data(c)]));
    }
    let messages = |sim: &mut Sim| {
        let mut got = Vec::new();
        while let Some(e) = sim.b.poll_event() {
            if let SctpEvent::Message { stream, data, .. } = e {
                got.push((stream, String::from_utf8(data.to_vec()).unwrap()));
            }
        }
        got
    };
    assert_eq!(messages(&mut sim), vec![], "delivered before the gap was skipped");
    let held = sim.b.stats().receive_buffered;
    assert!(held > 0);
    // The peer abandons TSN cum+4 and SSNs up to 0x0001 (across the wrap):
    // what waited up to there goes out in order, then 0x0002, which is next.
    let mut entries = unknown.clone();
    entries.push((1, 0x0001));
    sim.b.handle_receive(now, &ftsn(&sim, 4, entries));
    let expect = ["ssn 0xfff3", "ssn 0xfff5", "ssn 0x2"].map(|s| (1u16, s.to_string()));
    assert_eq!(messages(&mut sim), expect);
    // 0x0004 still waits for 0x0003; abandoning 0x0003 (TSN cum+9) releases it and empties the buffer.
    sim.b.handle_receive(now, &ftsn(&sim, 9, vec![(1, 0x0003)]));
    assert_eq!(messages(&mut sim), vec![(1u16, "ssn 0x4".to_string())]);
    assert_eq!(sim.b.stats().receive_buffered, 0);
    assert!(!sim.b.is_closed());
}

/// A FORWARD-TSN flood against a stream with thousands of messages waiting:
/// each packet names that stream a thousand times. The work per entry is a
/// lookup (it used to be a scan of the stream's whole queue, 3,000 messages
/// here), the messages stay waiting, and the association lives on. The time
/// per packet is printed (`--nocapture`; measure with `--release`).
#[test]
fn forward_tsn_flood_on_a_busy_stream() {
    let packets: u32 = std::env::var("FTSN_FLOOD_PACKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut sim = established(config(2));
    let d = probe(&mut sim, "first");
    let now = sim.now();
    // SSNs 2..=3001 of stream 1 wait for 0 and 1, which never come.
    const WAITING: u32 = 3000;
    for i in 0..WAITING {
        let mut c = d.clone();
        c.tsn = d.tsn.wrapping_add(2 + i);
        c.stream = 1;
        c.mid = 2 + i;
        c.payload = Bytes::copy_from_slice(&i.to_be_bytes());
        sim.b.handle_receive(now, &forge(&sim, vec![Chunk::Data(c)]));
    }
    while sim.b.poll_transmit(now).is_some() {}
    let held = sim.b.stats().receive_buffered;
    assert!(held >= WAITING as usize * 4, "held {held}");
    let ftsn = |sim: &Sim, cum_off: u32, mid: u32| forward_tsn(sim, d.tsn.wrapping_add(cum_off), vec![(1, mid); 1000]);
    let flood: Vec<Vec<u8>> = (0..packets).map(|k| ftsn(&sim, WAITING + 2 + k, 0)).collect();
    let started = std::time::Instant::now();
    for p in &flood {
        sim.b.handle_receive(now, p);
        while sim.b.poll_transmit(now).is_some() {}
    }
    let took = started.elapsed();
    println!(
        "{packets} FORWARD-TSN packets of 1,000 entries against {WAITING} waiting messages: {:.1} µs per packet",
        took.as_secs_f64() * 1e6 / f64::from(packets)
    );
    assert!(!sim.b.is_closed());
    assert_eq!(sim.b.stats().receive_buffered, held, "the flood released or added held data");
    assert!(std::iter::from_fn(|| sim.b.poll_event()).all(|e| !matches!(e, SctpEvent::Message { stream: 1, .. })));
    // Skipping 0 and 1 at last delivers all of it, in order.
    sim.b.handle_receive(now, &ftsn(&sim, WAITING + 2 + packets, 1));
    let got: Vec<u32> = std::iter::from_fn(|| sim.b.poll_event())
        .filter_map(|e| match e {
            SctpEvent::Message { stream: 1, data, .. } => Some(u32::from_be_bytes(data[..].try_into().unwrap())),
            _ => None,
        })
        .collect();
    assert_eq!(got, (0..WAITING).collect::<Vec<_>>());
    assert_eq!(sim.b.stats().receive_buffered, 0);
}
