//! RTCP datagrams shaped as Chromium sends them, laid out by hand, parsed to
//! the expected values and written back byte for byte: a sender's SR + SDES
//! CNAME, a receiver's RR + REMB, and transport-wide feedback alone
//! (reduced-size RTCP, `a=rtcp-rsize`).

use rtp::rtcp::{
    is_full_compound, parse_compound, write_compound, PacketStatus, ReceiverReport, Remb, ReportBlock, RtcpPacket,
    Sdes, SenderReport, StatusChunk, TransportFeedback, TwccBuilder,
};

const VIDEO_SSRC: u32 = 0x5a1c_3e97;
const AUDIO_SSRC: u32 = 0x1b2c_3d4e;

/// Parses `wire`, checks the values, writes them back and compares the bytes.
fn round_trip(wire: &[u8], expected: &[RtcpPacket]) {
    let packets = parse_compound(wire).unwrap();
    assert_eq!(packets, expected);
    let mut out = Vec::new();
    write_compound(&packets, &mut out).unwrap();
    assert_eq!(out, wire);
}

#[test]
fn sender_report_and_cname() {
    #[rustfmt::skip]
    let wire = [
        // SR, one report block, 13 words.
        0x81, 200, 0x00, 0x0c,
        0x5a, 0x1c, 0x3e, 0x97,                         // sender SSRC
        0xe9, 0xc6, 0x1f, 0x3a, 0x5c, 0x28, 0xf5, 0xc2, // NTP timestamp
        0x2b, 0x7e, 0x15, 0x16,                         // RTP timestamp
        0x00, 0x00, 0x04, 0xd2,                         // 1234 packets
        0x00, 0x12, 0xd6, 0x87,                         // 1,234,567 octets
        0x1b, 0x2c, 0x3d, 0x4e,                         // report on the audio SSRC
        0x00, 0x00, 0x00, 0x00,                         // nothing lost
        0x00, 0x00, 0x9c, 0x40,                         // highest sequence number 40000
        0x00, 0x00, 0x00, 0x11,                         // jitter 17
        0x1f, 0x3a, 0x5c, 0x28,                         // LSR
        0x00, 0x00, 0xa3, 0xd7,                         // DLSR 0.64 s
        // SDES, one chunk: CNAME of 16 characters, END, one null octet.
        0x81, 202, 0x00, 0x06,
        0x5a, 0x1c, 0x3e, 0x97,
        0x01, 0x10, b'x', b'Q', b'3', b'n', b'M', b'2', b'K', b'k', b'7', b'v', b'9', b'p', b'Z', b'b', b'L', b'w',
        0x00, 0x00,
    ];
    let expected = [
        RtcpPacket::SenderReport(SenderReport {
            ssrc: VIDEO_SSRC,
            ntp_time: 0xe9c6_1f3a_5c28_f5c2,
            rtp_time: 0x2b7e_1516,
            packet_count: 1234,
            octet_count: 1_234_567,
            reports: vec![ReportBlock {
                ssrc: AUDIO_SSRC,
                fraction_lost: 0,
                cumulative_lost: 0,
                extended_highest_seq: 40_000,
                jitter: 17,
                last_sr: 0x1f3a_5c28,
                delay_since_last_sr: 0xa3d7,
            }],
            profile_extensions: vec![],
        }),
        RtcpPacket::Sdes(Sdes::cname(VIDEO_SSRC, "xQ3nM2Kk7v9pZbLw")),
    ];
    round_trip(&wire, &expected);
    assert!(is_full_compound(&expected));
}

#[test]
fn receiver_report_and_remb() {
    #[rustfmt::skip]
    let wire = [
        // RR from a receive-only SSRC (1), one report block.
        0x81, 201, 0x00, 0x07,
        0x00, 0x00, 0x00, 0x01,
        0x5a, 0x1c, 0x3e, 0x97,
        0x05, 0x00, 0x00, 0x2a,                         // 5/256 lost lately, 42 in all
        0x00, 0x01, 0x13, 0x88,                         // 1 cycle, sequence 5000
        0x00, 0x00, 0x01, 0xf4,                         // jitter 500
        0x1f, 0x3a, 0x5c, 0x28,                         // LSR: middle of the SR's NTP time
        0x00, 0x01, 0x00, 0x00,                         // DLSR 1 s
        // REMB: 1,843,200 bps = 230,400 x 2^3, for both streams.
        0x8f, 206, 0x00, 0x06,
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00,
        b'R', b'E', b'M', b'B',
        0x02, 0x0f, 0x84, 0x00,
        0x5a, 0x1c, 0x3e, 0x97,
        0x1b, 0x2c, 0x3d, 0x4e,
    ];
    let expected = [
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: 1,
            reports: vec![ReportBlock {
                ssrc: VIDEO_SSRC,
                fraction_lost: 5,
                cumulative_lost: 42,
                extended_highest_seq: 0x0001_1388,
                jitter: 500,
                last_sr: 0x1f3a_5c28,
                delay_since_last_sr: 0x0001_0000,
            }],
            profile_extensions: vec![],
        }),
        RtcpPacket::Remb(Remb {
            sender_ssrc: 1,
            media_ssrc: 0,
            bitrate: 1_843_200,
            ssrcs: vec![VIDEO_SSRC, AUDIO_SSRC],
        }),
    ];
    round_trip(&wire, &expected);
    // The RTT the video sender reads off the block, had it arrived 1.25 s after its SR.
    let RtcpPacket::ReceiverReport(rr) = &expected[0] else { unreachable!() };
    assert_eq!(rr.reports[0].rtt(0x1f3a_5c28 + 0x0001_4000), Some(0x4000));
}

#[test]
fn transport_feedback_alone() {
    #[rustfmt::skip]
    let wire = [
        0xaf, 205, 0x00, 0x06,                          // P, FMT 15, 7 words
        0x00, 0x00, 0x00, 0x01,                         // sender SSRC
        0x5a, 0x1c, 0x3e, 0x97,                         // media SSRC
        0x03, 0xe8, 0x00, 0x06,                         // base sequence 1000, 6 packets
        0x12, 0x34, 0x56, 0x2a,                         // reference time 0x123456 x 64 ms, feedback 42
        0xd4, 0x54,                                     // two-bit vector: S S N S S S (N)
        0x10, 0x04, 0x08, 0x04, 0x00,                   // deltas: 4 ms, 1 ms, 2 ms, 1 ms, 0
        0x01,                                           // one byte of RTCP padding
    ];
    use PacketStatus::{NotReceived as N, SmallDelta as S};
    let fb = TransportFeedback {
        sender_ssrc: 1,
        media_ssrc: VIDEO_SSRC,
        base_seq: 1000,
        status_count: 6,
        reference_time: 0x12_3456,
        feedback_count: 42,
        chunks: vec![StatusChunk::TwoBit([S, S, N, S, S, S, N])],
        deltas: vec![16, 4, 8, 4, 0],
    };
    round_trip(&wire, &[RtcpPacket::TransportFeedback(fb.clone())]);
    assert!(!is_full_compound(&[RtcpPacket::TransportFeedback(fb.clone())]));

    let base = 0x12_3456i64 * 64_000;
    let expanded: Vec<(u16, Option<i64>)> = fb.packets().collect();
    assert_eq!(
        expanded,
        vec![
            (1000, Some(base + 4000)),
            (1001, Some(base + 5000)),
            (1002, None),
            (1003, Some(base + 7000)),
            (1004, Some(base + 8000)),
            (1005, Some(base + 8000)),
        ]
    );
    // Our builder, fed the same arrivals, picks the same chunk: the same bytes.
    let mut b = TwccBuilder::new(1, VIDEO_SSRC, 42);
    for (seq, arrival) in expanded.into_iter().filter(|p| p.1.is_some()) {
        b.add(seq, arrival).unwrap();
    }
    let rebuilt = b.finish().unwrap();
    assert_eq!(rebuilt, fb);
    let mut out = Vec::new();
    rebuilt.write(&mut out).unwrap();
    assert_eq!(out, wire);
}
