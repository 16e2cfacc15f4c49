//! Seeded round trips: random compounds of every RTCP packet type are
//! written, parsed back to the same values and rewritten to the same bytes;
//! then mutated (bytes flipped, cut, extended) and fed to the fuzz body,
//! which must never panic. A tiny xorshift keeps it deterministic.

use rtp::rtcp::{
    parse_compound, write_compound, App, Bye, CcfbMetric, CcfbStream, CongestionControlFeedback, DlrrItem, Ecn,
    ExtendedReport, Fir, FirEntry, Nack, Pli, RawPacket, RawXrBlock, ReceiverReport, Remb, ReportBlock, Rrtr,
    RtcpPacket, Sdes, SdesChunk, SdesItem, SenderReport, TwccBuilder, XrBlock,
};

/// xorshift64: small, seeded, good enough to pick fields.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn u32(&mut self) -> u32 {
        self.next() as u32
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Fewer than `max` random bytes.
    fn some_bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.below(max) as usize;
        self.bytes(n)
    }
    /// Fewer than `max` random 32-bit words, as bytes.
    fn words(&mut self, max: u64) -> Vec<u8> {
        let n = 4 * self.below(max) as usize;
        self.bytes(n)
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

fn report_block(r: &mut Rng) -> ReportBlock {
    ReportBlock {
        ssrc: r.u32(),
        fraction_lost: r.next() as u8,
        cumulative_lost: r.below(1 << 24) as i32 - (1 << 23),
        extended_highest_seq: r.u32(),
        jitter: r.u32(),
        last_sr: r.u32(),
        delay_since_last_sr: r.u32(),
    }
}

fn packet(r: &mut Rng) -> RtcpPacket {
    match r.below(14) {
        0 => SenderReport {
            ssrc: r.u32(),
            ntp_time: r.next(),
            rtp_time: r.u32(),
            packet_count: r.u32(),
            octet_count: r.u32(),
            reports: (0..r.below(32)).map(|_| report_block(r)).collect(),
            profile_extensions: if r.chance(4) { r.some_bytes(12) } else { vec![] },
        }
        .into(),
        1 => ReceiverReport {
            ssrc: r.u32(),
            reports: (0..r.below(32)).map(|_| report_block(r)).collect(),
            profile_extensions: if r.chance(4) { r.some_bytes(12) } else { vec![] },
        }
        .into(),
        2 => Sdes {
            chunks: (0..r.below(5))
                .map(|_| SdesChunk {
                    ssrc: r.u32(),
                    items: (0..r.below(4))
                        .map(|_| SdesItem { kind: 1 + r.below(255) as u8, value: r.some_bytes(40) })
                        .collect(),
                })
                .collect(),
        }
        .into(),
        3 => Bye { sources: (0..r.below(6)).map(|_| r.u32()).collect(), reason: r.chance(2).then(|| r.some_bytes(30)) }
            .into(),
        4 => App { subtype: r.below(32) as u8, ssrc: r.u32(), name: *b"test", data: r.some_bytes(20) }.into(),
        5 => {
            let start = r.next() as u16;
            let lost: Vec<u16> =
                (0..1 + r.below(40)).map(|i| start.wrapping_add((i * (1 + r.below(5))) as u16)).collect();
            Nack::from_lost(r.u32(), r.u32(), lost).into()
        }
        6 => Pli { sender_ssrc: r.u32(), media_ssrc: r.u32() }.into(),
        7 => Fir {
            sender_ssrc: r.u32(),
            media_ssrc: 0,
            entries: (0..1 + r.below(4)).map(|_| FirEntry { ssrc: r.u32(), seq_nr: r.next() as u8 }).collect(),
        }
        .into(),
        8 => Remb {
            sender_ssrc: r.u32(),
            media_ssrc: 0,
            bitrate: Remb::representable(r.next() >> r.below(64)),
            ssrcs: (0..r.below(4)).map(|_| r.u32()).collect(),
        }
        .into(),
        9 => {
            let mut b = TwccBuilder::new(r.u32(), r.u32(), r.next() as u8);
            let mut seq = r.next() as u16;
            let mut t = r.next() as i64 >> r.below(64);
            for _ in 0..1 + r.below(200) {
                seq = seq.wrapping_add(1 + if r.chance(8) { r.below(300) as u16 } else { 0 });
                t = t.saturating_add(match r.below(10) {
                    0 => -(r.below(100_000) as i64),
                    1 => r.below(5_000_000) as i64,
                    _ => r.below(20_000) as i64,
                });
                let arrival = (!r.chance(6)).then_some(t);
                if b.add(seq, arrival).is_err() {
                    break;
                }
            }
            b.finish().unwrap().into()
        }
        10 => CongestionControlFeedback {
            sender_ssrc: r.u32(),
            streams: (0..r.below(3))
                .map(|_| CcfbStream {
                    media_ssrc: r.u32(),
                    begin_seq: r.next() as u16,
                    metrics: (0..r.below(30))
                        .map(|_| {
                            r.chance(3).then(|| CcfbMetric {
                                ecn: [Ecn::NotEct, Ecn::Ect1, Ecn::Ect0, Ecn::Ce][r.below(4) as usize],
                                arrival_offset: r.below(0x2000) as u16,
                            })
                        })
                        .collect(),
                })
                .collect(),
            report_timestamp: r.u32(),
        }
        .into(),
        11 => ExtendedReport {
            ssrc: r.u32(),
            blocks: (0..r.below(4))
                .map(|_| match r.below(3) {
                    0 => XrBlock::Rrtr(Rrtr { ntp_time: r.next() }),
                    1 => XrBlock::Dlrr(
                        (0..r.below(3))
                            .map(|_| DlrrItem { ssrc: r.u32(), last_rr: r.u32(), delay_since_last_rr: r.u32() })
                            .collect(),
                    ),
                    _ => XrBlock::Other(RawXrBlock {
                        block_type: [1, 2, 3, 6, 7, 42, 255][r.below(7) as usize],
                        type_specific: r.next() as u8,
                        content: r.words(4),
                    }),
                })
                .collect(),
        }
        .into(),
        12 => {
            // An unknown feedback format or packet type.
            let (packet_type, count) = match r.below(3) {
                0 => (205, [2, 3, 4, 5, 8, 10][r.below(6) as usize]),
                1 => (206, [2, 3, 5, 6, 7][r.below(5) as usize]),
                _ => ([192, 193, 195, 199, 208, 223][r.below(6) as usize], r.below(32) as u8),
            };
            RawPacket { packet_type, count, payload: r.some_bytes(24) }.into()
        }
        _ => Sdes::cname(r.u32(), "a-cname-of-16-ch").into(),
    }
}

#[test]
fn random_compounds_round_trip() {
    let mut r = Rng(0x0123_4567_89ab_cdef);
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
    let mut r = Rng(42);
    for _ in 0..2000 {
        let start = r.next() as u16;
        let mut lost: Vec<u16> = Vec::new();
        let mut seq = start;
        for _ in 0..1 + r.below(100) {
            let step = if r.chance(5) { 100 } else { 4 };
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
    let mut r = Rng(7);
    for _ in 0..300 {
        let mut b = TwccBuilder::new(1, 2, 3);
        let mut fed: Vec<(u16, Option<i64>)> = Vec::new();
        let mut seq = r.next() as u16;
        let mut t = 1_000_000_000 + r.below(1 << 30) as i64;
        for _ in 0..1 + r.below(500) {
            seq = seq.wrapping_add(1 + if r.chance(10) { r.below(20) as u16 } else { 0 });
            t += r.below(30_000) as i64 - 5_000;
            let arrival = (!r.chance(5)).then_some(t);
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
    let mut r = Rng(0xfeed_f00d);
    for _ in 0..10_000 {
        let packets: Vec<RtcpPacket> = (0..1 + r.below(3)).map(|_| packet(&mut r)).collect();
        let mut wire = Vec::new();
        write_compound(&packets, &mut wire).unwrap();
        for _ in 0..1 + r.below(4) {
            match r.below(5) {
                0 if !wire.is_empty() => {
                    let at = r.below(wire.len() as u64) as usize;
                    wire[at] = r.next() as u8;
                }
                1 if !wire.is_empty() => {
                    let at = r.below(wire.len() as u64) as usize;
                    wire[at] ^= 1 << r.below(8);
                }
                2 => wire.truncate(r.below(wire.len() as u64 + 1) as usize),
                3 => wire.extend(r.some_bytes(8)),
                _ if wire.len() >= 4 => {
                    // Rewrite a length or count field, the framing's weak points.
                    let at = r.below(wire.len() as u64 / 4) as usize * 4;
                    let field = if r.chance(2) { 3 } else { 0 };
                    wire[at + field] = r.next() as u8;
                }
                _ => {}
            }
        }
        rtp::fuzzing::rtcp_parse(&wire);
    }
}
