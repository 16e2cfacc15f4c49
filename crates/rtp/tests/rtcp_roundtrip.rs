//! Seeded round trips: random compounds of every RTCP packet type are
//! written, parsed back to the same values and rewritten to the same bytes;
//! then mutated (bytes flipped, cut, extended) and fed to the fuzz body,
//! which must never panic. A seeded xorshift (testkit) keeps it deterministic.

use rtp::rtcp::{
    parse_compound, write_compound, App, Bye, CcfbMetric, CcfbStream, CongestionControlFeedback, DlrrItem, Ecn,
    ExtendedReport, Fir, FirEntry, Nack, Pli, RawPacket, RawXrBlock, ReceiverReport, Remb, ReportBlock, Rrtr,
    RtcpPacket, Sdes, SdesChunk, SdesItem, SenderReport, TwccBuilder, XrBlock,
};
use testkit::{mutate, Rng};

/// Fewer than `max` random 32-bit words, as bytes.
fn words(r: &mut Rng, max: usize) -> Vec<u8> {
    let n = 4 * r.below(max);
    r.bytes(n)
}

fn report_block(r: &mut Rng) -> ReportBlock {
    ReportBlock {
        ssrc: r.next_u32(),
        fraction_lost: r.next_u64() as u8,
        cumulative_lost: r.below(1 << 24) as i32 - (1 << 23),
        extended_highest_seq: r.next_u32(),
        jitter: r.next_u32(),
        last_sr: r.next_u32(),
        delay_since_last_sr: r.next_u32(),
    }
}

fn packet(r: &mut Rng) -> RtcpPacket {
    match r.below(14) {
        0 => SenderReport {
            ssrc: r.next_u32(),
            ntp_time: r.next_u64(),
            rtp_time: r.next_u32(),
            packet_count: r.next_u32(),
            octet_count: r.next_u32(),
            reports: (0..r.below(32)).map(|_| report_block(r)).collect(),
            profile_extensions: if r.one_in(4) { r.some_bytes(12) } else { vec![] },
        }
        .into(),
        1 => ReceiverReport {
            ssrc: r.next_u32(),
            reports: (0..r.below(32)).map(|_| report_block(r)).collect(),
            profile_extensions: if r.one_in(4) { r.some_bytes(12) } else { vec![] },
        }
        .into(),
        2 => Sdes {
            chunks: (0..r.below(5))
                .map(|_| SdesChunk {
                    ssrc: r.next_u32(),
                    items: (0..r.below(4))
                        .map(|_| SdesItem { kind: 1 + r.below(255) as u8, value: r.some_bytes(40) })
                        .collect(),
                })
                .collect(),
        }
        .into(),
        3 => Bye {
            sources: (0..r.below(6)).map(|_| r.next_u32()).collect(),
            reason: r.one_in(2).then(|| r.some_bytes(30)),
        }
        .into(),
        4 => App { subtype: r.below(32) as u8, ssrc: r.next_u32(), name: *b"test", data: r.some_bytes(20) }.into(),
        5 => {
            let start = r.next_u64() as u16;
            let lost: Vec<u16> =
                (0..1 + r.below(40)).map(|i| start.wrapping_add((i * (1 + r.below(5))) as u16)).collect();
            Nack::from_lost(r.next_u32(), r.next_u32(), lost).into()
        }
        6 => Pli { sender_ssrc: r.next_u32(), media_ssrc: r.next_u32() }.into(),
        7 => Fir {
            sender_ssrc: r.next_u32(),
            media_ssrc: 0,
            entries: (0..1 + r.below(4)).map(|_| FirEntry { ssrc: r.next_u32(), seq_nr: r.next_u64() as u8 }).collect(),
        }
        .into(),
        8 => Remb {
            sender_ssrc: r.next_u32(),
            media_ssrc: 0,
            bitrate: Remb::representable(r.next_u64() >> r.below(64)),
            ssrcs: (0..r.below(4)).map(|_| r.next_u32()).collect(),
        }
        .into(),
        9 => {
            let mut b = TwccBuilder::new(r.next_u32(), r.next_u32(), r.next_u64() as u8);
            let mut seq = r.next_u64() as u16;
            let mut t = r.next_u64() as i64 >> r.below(64);
            for _ in 0..1 + r.below(200) {
                seq = seq.wrapping_add(1 + if r.one_in(8) { r.below(300) as u16 } else { 0 });
                t = t.saturating_add(match r.below(10) {
                    0 => -(r.below(100_000) as i64),
                    1 => r.below(5_000_000) as i64,
                    _ => r.below(20_000) as i64,
                });
                let arrival = (!r.one_in(6)).then_some(t);
                if b.add(seq, arrival).is_err() {
                    break;
                }
            }
            b.finish().unwrap().into()
        }
        10 => CongestionControlFeedback {
            sender_ssrc: r.next_u32(),
            streams: (0..r.below(3))
                .map(|_| CcfbStream {
                    media_ssrc: r.next_u32(),
                    begin_seq: r.next_u64() as u16,
                    metrics: (0..r.below(30))
                        .map(|_| {
                            r.one_in(3).then(|| CcfbMetric {
                                ecn: [Ecn::NotEct, Ecn::Ect1, Ecn::Ect0, Ecn::Ce][r.below(4)],
                                arrival_offset: r.below(0x2000) as u16,
                            })
                        })
                        .collect(),
                })
                .collect(),
            report_timestamp: r.next_u32(),
        }
        .into(),
        11 => ExtendedReport {
            ssrc: r.next_u32(),
            blocks: (0..r.below(4))
                .map(|_| match r.below(3) {
                    0 => XrBlock::Rrtr(Rrtr { ntp_time: r.next_u64() }),
                    1 => XrBlock::Dlrr(
                        (0..r.below(3))
                            .map(|_| DlrrItem {
                                ssrc: r.next_u32(),
                                last_rr: r.next_u32(),
                                delay_since_last_rr: r.next_u32(),
                            })
                            .collect(),
                    ),
                    _ => XrBlock::Other(RawXrBlock {
                        block_type: [1, 2, 3, 6, 7, 42, 255][r.below(7)],
                        type_specific: r.next_u64() as u8,
                        content: words(r, 4),
                    }),
                })
                .collect(),
        }
        .into(),
        12 => {
            // An unknown feedback format or packet type.
            let (packet_type, count) = match r.below(3) {
                0 => (205, [2, 3, 4, 5, 8, 10][r.below(6)]),
                1 => (206, [2, 3, 5, 6, 7][r.below(5)]),
                _ => ([192, 193, 195, 199, 208, 223][r.below(6)], r.below(32) as u8),
            };
            RawPacket { packet_type, count, payload: r.some_bytes(24) }.into()
        }
        _ => Sdes::cname(r.next_u32(), "a-cname-of-16-ch").into(),
    }
}

#[test]
fn random_compounds_round_trip() {
    let mut r = Rng::xorshift64(0x0123_4567_89ab_cdef);
    let mut counts = [0usize; 14];
    for _ in 0..3000 {
        let packets: Vec<RtcpPacket> = (0..1 + r.below(5)).map(|_| packet(&mut r)).collect();
        let mut wire = Vec::new();
        write_compound(&packets, &mut wire).unwrap();
        assert_eq!(wire.len() % 4, 0, "every packet is whole 32-bit words");
        let parsed = parse_compound(&wire).unwrap();
        assert_eq!(parsed, packets);
        let mut again = Vec::new();
        write_compound(&parsed, &mut again).unwrap();
        assert_eq!(again, wire);
        for p in &parsed {
            counts[match p {
                RtcpPacket::SenderReport(_) => 0,
                RtcpPacket::ReceiverReport(_) => 1,
                RtcpPacket::Sdes(_) => 2,
                RtcpPacket::Bye(_) => 3,
                RtcpPacket::App(_) => 4,
                RtcpPacket::Nack(_) => 5,
                RtcpPacket::Pli(_) => 6,
                RtcpPacket::Fir(_) => 7,
                RtcpPacket::Remb(_) => 8,
                RtcpPacket::TransportFeedback(_) => 9,
                RtcpPacket::CongestionControlFeedback(_) => 10,
                RtcpPacket::ExtendedReport(_) => 11,
                RtcpPacket::Unknown(_) => 12,
                _ => 13,
            }] += 1;
        }
    }
    assert!(counts[..13].iter().all(|&c| c > 300), "every type drawn: {counts:?}");
}

#[test]
fn random_nack_lists_round_trip() {
    let mut r = Rng::xorshift64(42);
    for _ in 0..2000 {
        let start = r.next_u64() as u16;
        let mut lost: Vec<u16> = Vec::new();
        let mut seq = start;
        for _ in 0..1 + r.below(100) {
            let step = if r.one_in(5) { 100 } else { 4 };
            seq = seq.wrapping_add(1 + r.below(step) as u16);
            lost.push(seq);
        }
        let nack = Nack::from_lost(1, 2, lost.iter().copied());
        assert_eq!(nack.lost().collect::<Vec<_>>(), lost);
        let mut wire = Vec::new();
        nack.write(&mut wire).unwrap();
        assert_eq!(parse_compound(&wire).unwrap(), vec![RtcpPacket::Nack(nack)]);
    }
}

#[test]
fn random_twcc_arrivals_survive_expansion() {
    let mut r = Rng::xorshift64(7);
    for _ in 0..300 {
        let mut b = TwccBuilder::new(1, 2, 3);
        let mut fed: Vec<(u16, Option<i64>)> = Vec::new();
        let mut seq = r.next_u64() as u16;
        let mut t = 1_000_000_000 + r.below(1 << 30) as i64;
        for _ in 0..1 + r.below(500) {
            seq = seq.wrapping_add(1 + if r.one_in(10) { r.below(20) as u16 } else { 0 });
            t += r.below(30_000) as i64 - 5_000;
            let arrival = (!r.one_in(5)).then_some(t);
            b.add(seq, arrival).unwrap();
            fed.push((seq, arrival));
        }
        let fb = b.finish().unwrap();
        let mut wire = Vec::new();
        fb.write(&mut wire).unwrap();
        let parsed = match parse_compound(&wire).unwrap().as_slice() {
            [RtcpPacket::TransportFeedback(parsed)] => parsed.clone(),
            other => panic!("one transport-wide feedback expected, got {other:?}"),
        };
        let expanded: Vec<(u16, Option<i64>)> = parsed.packets().collect();
        assert_eq!(expanded.first().map(|p| p.0), fed.first().map(|p| p.0));
        assert_eq!(expanded.last().map(|p| p.0), fed.last().map(|p| p.0));
        for (seq, arrival) in &fed {
            let got = expanded.iter().find(|p| p.0 == *seq).unwrap().1;
            match (arrival, got) {
                (Some(a), Some(g)) => assert!((a - g).abs() <= 125),
                (None, None) => {}
                other => panic!("seq {seq}: {other:?}"),
            }
        }
        // Gaps between the fed numbers are reported as lost.
        let received = expanded.iter().filter(|p| p.1.is_some()).count();
        assert_eq!(received, fed.iter().filter(|p| p.1.is_some()).count());
    }
}

#[test]
fn mutated_compounds_never_panic() {
    let mut r = Rng::xorshift64(0xfeed_f00d);
    for _ in 0..10_000 {
        let packets: Vec<RtcpPacket> = (0..1 + r.below(3)).map(|_| packet(&mut r)).collect();
        let mut wire = Vec::new();
        write_compound(&packets, &mut wire).unwrap();
        for _ in 0..1 + r.below(4) {
            match r.below(5) {
                0 => mutate::set_byte(&mut r, &mut wire),
                1 => mutate::flip_bit(&mut r, &mut wire),
                2 => mutate::truncate(&mut r, &mut wire),
                3 => mutate::extend(&mut r, &mut wire, 8),
                _ if wire.len() >= 4 => {
                    // Rewrite a length or count field, the framing's weak points.
                    let at = r.below(wire.len() / 4) * 4;
                    let field = if r.one_in(2) { 3 } else { 0 };
                    wire[at + field] = r.byte();
                }
                _ => {}
            }
        }
        rtp::fuzzing::rtcp_parse(&wire);
    }
}
