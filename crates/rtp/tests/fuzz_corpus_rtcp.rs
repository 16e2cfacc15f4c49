//! Replays the committed fuzz corpus (`fuzz/corpus/rtcp_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`. `OXRTC_WRITE_SEED_CORPUS=1 cargo test -p
//! oxrtc-rtp --test fuzz_corpus_rtcp seed_corpus` rewrites the seed inputs
//! (a plain test run only checks them against the committed files).

use rtp::fuzzing::rtcp_parse;
use rtp::rtcp::{
    write_compound, App, Bye, CcfbMetric, CcfbStream, CongestionControlFeedback, DlrrItem, Ecn, ExtendedReport, Fir,
    FirEntry, Nack, Pli, RawPacket, RawXrBlock, ReceiverReport, Remb, ReportBlock, Rrtr, RtcpPacket, Sdes, SdesChunk,
    SdesItem, SenderReport, TwccBuilder, XrBlock,
};

#[test]
fn rtcp_parse_corpus() {
    testkit::replay_corpus("rtcp_parse", 167, rtcp_parse);
}

fn compound(packets: Vec<RtcpPacket>) -> Vec<u8> {
    let mut out = Vec::new();
    write_compound(&packets, &mut out).unwrap();
    out
}

fn block(ssrc: u32) -> ReportBlock {
    ReportBlock {
        ssrc,
        fraction_lost: 12,
        cumulative_lost: -3,
        extended_highest_seq: 0x0002_0010,
        jitter: 90,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 0x0000_9000,
    }
}

fn sr(ssrc: u32, blocks: usize) -> SenderReport {
    SenderReport {
        ssrc,
        ntp_time: 0xe9c6_1f3a_5c28_f5c2,
        rtp_time: 0x2b7e_1516,
        packet_count: 1234,
        octet_count: 1_234_567,
        reports: (0..blocks as u32).map(block).collect(),
        profile_extensions: vec![],
    }
}

fn twcc() -> RtcpPacket {
    let mut b = TwccBuilder::new(1, 0x5a1c_3e97, 9);
    let mut t = 5_000_000;
    for i in 0..60u16 {
        t += match i % 9 {
            0 => 150_000,
            4 => -3_000,
            _ => 700,
        };
        b.add(65500u16.wrapping_add(i + i / 20), (i % 7 != 3).then_some(t)).unwrap();
    }
    b.finish().unwrap().into()
}

/// The seeds: every packet type, the three Chromium shapes, and broken framing.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let video = 0x5a1c_3e97;
    vec![
        ("chromium-sr-sdes", compound(vec![sr(video, 1).into(), Sdes::cname(video, "xQ3nM2Kk7v9pZbLw").into()])),
        (
            "chromium-rr-remb",
            compound(vec![
                ReceiverReport { ssrc: 1, reports: vec![block(video)], profile_extensions: vec![] }.into(),
                Remb { sender_ssrc: 1, media_ssrc: 0, bitrate: 1_843_200, ssrcs: vec![video, 0x1b2c_3d4e] }.into(),
            ]),
        ),
        ("chromium-twcc", compound(vec![twcc()])),
        (
            "sr-blocks-extension",
            compound(vec![SenderReport { profile_extensions: vec![1, 2, 3, 4], ..sr(7, 3) }.into()]),
        ),
        ("rr-empty", compound(vec![ReceiverReport { ssrc: 5, ..Default::default() }.into()])),
        (
            "sdes-items",
            compound(vec![Sdes {
                chunks: vec![
                    SdesChunk {
                        ssrc: 1,
                        items: vec![SdesItem::text(SdesItem::CNAME, "a@b"), SdesItem::text(SdesItem::TOOL, "oxrtc")],
                    },
                    SdesChunk { ssrc: 2, items: vec![] },
                ],
            }
            .into()]),
        ),
        (
            "sr-sdes-bye",
            compound(vec![
                sr(3, 0).into(),
                Sdes::cname(3, "c").into(),
                Bye { sources: vec![3, 4], reason: Some(b"gone".to_vec()) }.into(),
            ]),
        ),
        ("app", compound(vec![App { subtype: 3, ssrc: 9, name: *b"OXRT", data: vec![1, 2, 3, 4, 5] }.into()])),
        ("nack", compound(vec![Nack::from_lost(1, video, [10, 11, 13, 40, 65535, 0]).into()])),
        ("pli", compound(vec![Pli { sender_ssrc: 1, media_ssrc: video }.into()])),
        (
            "fir",
            compound(vec![
                Fir { sender_ssrc: 1, media_ssrc: 0, entries: vec![FirEntry { ssrc: video, seq_nr: 4 }] }.into()
            ]),
        ),
        ("remb-large", compound(vec![Remb { sender_ssrc: 1, media_ssrc: 0, bitrate: u64::MAX, ssrcs: vec![] }.into()])),
        (
            "ccfb",
            compound(vec![CongestionControlFeedback {
                sender_ssrc: 1,
                streams: vec![CcfbStream {
                    media_ssrc: video,
                    begin_seq: 65534,
                    metrics: vec![
                        Some(CcfbMetric { ecn: Ecn::Ect0, arrival_offset: 30 }),
                        None,
                        Some(CcfbMetric { ecn: Ecn::Ce, arrival_offset: 0x1fff }),
                    ],
                }],
                report_timestamp: 0x1f3a_5c28,
            }
            .into()]),
        ),
        (
            "xr",
            compound(vec![ExtendedReport {
                ssrc: 1,
                blocks: vec![
                    XrBlock::Rrtr(Rrtr { ntp_time: 0xe9c6_1f3a_5c28_f5c2 }),
                    XrBlock::Dlrr(vec![DlrrItem { ssrc: 2, last_rr: 0x1f3a_5c28, delay_since_last_rr: 0x8000 }]),
                    XrBlock::Other(RawXrBlock { block_type: 7, type_specific: 1, content: vec![0; 8] }),
                ],
            }
            .into()]),
        ),
        (
            "unknown-types",
            compound(vec![
                RawPacket { packet_type: 195, count: 1, payload: vec![1, 2, 3, 4, 5, 6] }.into(),
                RawPacket { packet_type: 205, count: 3, payload: vec![0; 12] }.into(),
                RawPacket { packet_type: 206, count: 15, payload: [&[0; 8][..], b"ABCD"].concat() }.into(),
            ]),
        ),
        (
            "padded-last",
            [&[0x80, 201, 0, 1, 0, 0, 0, 1][..], &[0xa1, 203, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8]].concat(),
        ),
        ("bad-version", vec![0x40, 201, 0, 1, 0, 0, 0, 1]),
        ("length-beyond", vec![0x80, 201, 0, 9, 0, 0, 0, 1]),
        ("padding-zero", vec![0xa0, 201, 0, 1, 0, 0, 0, 0]),
        ("truncated-header", vec![0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 200]),
        // 65535 statuses in 9 run chunks (8 x 8191 lost, 7 received): expands to 65535 packets, no more.
        (
            "twcc-hostile-count",
            [
                &[0x8f, 205, 0, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0][..],
                &[0x1f, 0xff].repeat(8),
                &[0x20, 0x07, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0],
            ]
            .concat(),
        ),
        (
            "twcc-deltas-missing",
            vec![0xaf, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0x20, 0x02, 7, 1],
        ),
        ("sdes-no-end", vec![0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b']),
        ("remb-overflow", vec![0x8f, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B', 0, 0xfc, 0, 2]),
        (
            "sr-count-mismatch",
            vec![
                0x82, 200, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
        ("empty", vec![]),
    ]
}

/// The committed seeds must be exactly these (each also goes through the
/// fuzz body); with `OXRTC_WRITE_SEED_CORPUS=1` they are rewritten instead.
#[test]
fn seed_corpus() {
    let dir = testkit::corpus_dir("rtcp_parse");
    let write = testkit::write_seed_corpus();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let seeds = seeds();
    assert_eq!(seeds.len(), 26);
    for (name, data) in &seeds {
        rtcp_parse(data);
        let path = dir.join(format!("seed-{name}"));
        if write {
            std::fs::write(&path, data).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&committed, data, "{} is not the seed the writer makes", path.display());
        }
    }
}
