use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::extension::{AbsSendTime, ExtensionMap, Mid, RepairedRtpStreamId, RtpStreamId, TransportCc};
use crate::rtcp::{compact_ntp, Fir, FirEntry, Nack, Pli, ReceiverReport, ReportBlock, RtcpPacket};
use crate::session::send::ntp::duration_to_compact;

const SSRC: u32 = 0x1111_1111;
const RTX_SSRC: u32 = 0x2222_2222;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn extensions() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(1, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map.insert(2, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id").unwrap();
    map.insert(3, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id").unwrap();
    map.insert(4, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time").unwrap();
    map.insert(5, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    map
}

fn config(t0: Instant, rtx: bool) -> SendStreamConfig {
    let mut c = SendStreamConfig::new(SSRC, MediaKind::Video, 90_000, "oxrtc-test", NtpClock::new(t0, 0xE000 << 32));
    c.extensions = extensions();
    c.mid = Some("0".into());
    c.rid = Some("hi".into());
    if rtx {
        c.rtx = Some(RtxConfig { ssrc: RTX_SSRC, payload_types: vec![(96, 97)] });
    }
    c.seed = 42;
    c
}

fn media(t: Instant, media_time: u64, len: usize) -> MediaPacket {
    MediaPacket::new(96, media_time, t, Bytes::from(vec![0xAB; len]))
}

#[test]
fn numbers_start_random_and_count_up() {
    let t0 = Instant::now();
    let mut s = SendStream::new(config(t0, false)).unwrap();
    let mut tw = TransportSequence::new(1);
    let first = s.next_sequence_number();
    assert!(first < 0x8000);
    let offset = s.timestamp_offset();
    for i in 0..5u64 {
        let p = s.write_rtp(t0 + ms(40 * i), media(t0 + ms(40 * i), 3600 * i, 100), &mut tw).unwrap();
        assert_eq!(p.header.sequence_number, first.wrapping_add(i as u16));
        assert_eq!(p.header.timestamp, offset.wrapping_add(3600 * i as u32));
        assert_eq!(p.header.ssrc, SSRC);
    }
    // The same seed replays, another differs.
    let again = SendStream::new(config(t0, false)).unwrap();
    assert_eq!((again.next_sequence_number(), again.timestamp_offset()), (first, offset));
    let other = SendStream::new(SendStreamConfig { seed: 43, ..config(t0, false) }).unwrap();
    assert_ne!((other.next_sequence_number(), other.timestamp_offset()), (first, offset));
    let stats = s.stats();
    assert_eq!((stats.packets, stats.payload_bytes), (5, 500));
}

#[test]
fn extensions_and_a_shared_transport_counter() {
    let t0 = Instant::now();
    let mut video = SendStream::new(config(t0, false)).unwrap();
    let mut audio = SendStream::new(SendStreamConfig { ssrc: 7, rid: None, ..config(t0, false) }).unwrap();
    let mut tw = TransportSequence::new(65_535);
    let map = extensions();
    let a = video.write_rtp(t0 + ms(500), media(t0, 0, 10), &mut tw).unwrap();
    let b = audio.write_rtp(t0 + ms(500), media(t0, 0, 10), &mut tw).unwrap();
    let c = video.write_rtp(t0 + ms(501), media(t0, 0, 10), &mut tw).unwrap();
    let twcc = |p: &RtpPacket| map.read::<TransportCc>(&p.header.extensions).unwrap().unwrap().0;
    assert_eq!([twcc(&a), twcc(&b), twcc(&c)], [65_535, 0, 1]);
    assert_eq!(map.read::<Mid>(&a.header.extensions).unwrap().unwrap().as_str(), "0");
    assert_eq!(map.read::<RtpStreamId>(&a.header.extensions).unwrap().unwrap().as_str(), "hi");
    assert_eq!(map.read::<RtpStreamId>(&b.header.extensions).unwrap(), None);
    let abs = map.read::<AbsSendTime>(&a.header.extensions).unwrap().unwrap();
    // 0xE000 << 32 is a whole number of 64-second cycles: 500 ms in.
    assert_eq!(abs.to_duration().as_millis(), 500);
    // Without a mapping nothing is written and no number is taken.
    let mut bare = SendStream::new(SendStreamConfig { extensions: ExtensionMap::new(), ..config(t0, false) }).unwrap();
    let p = bare.write_rtp(t0, media(t0, 0, 10), &mut tw).unwrap();
    assert!(!p.header.extensions.is_present());
    assert_eq!(tw.peek(), 2);
}

#[test]
fn nack_without_rtx_resends_the_original() {
    let t0 = Instant::now();
    let mut s = SendStream::new(config(t0, false)).unwrap();
    let mut tw = TransportSequence::new(1);
    let sent: Vec<RtpPacket> =
        (0..10).map(|i| s.write_rtp(t0 + ms(i), media(t0, i * 90, 50 + i as usize), &mut tw).unwrap()).collect();
    let lost = sent[3].header.sequence_number;
    s.handle_rtcp(t0 + ms(100), &Nack::from_lost(9, SSRC, [lost]).into());
    s.handle_rtcp(t0 + ms(100), &Nack::from_lost(9, 0xBAD, [lost]).into());
    let again = s.poll_rtp(t0 + ms(100), &mut tw).unwrap();
    assert!(s.poll_rtp(t0 + ms(100), &mut tw).is_none());
    assert_eq!(again.header.sequence_number, lost);
    assert_eq!(again.header.ssrc, SSRC);
    assert_eq!(again.payload, sent[3].payload);
    let map = extensions();
    assert_eq!(map.read::<TransportCc>(&again.header.extensions).unwrap(), Some(TransportCc(11)));
    assert_eq!(s.stats().retransmitted_packets, 1);
    assert_eq!(s.stats().nack.nacks, 1, "the NACK for another SSRC is not ours");
}

#[test]
fn nack_with_rtx_sends_rtx() {
    let t0 = Instant::now();
    let mut s = SendStream::new(config(t0, true)).unwrap();
    let mut tw = TransportSequence::new(1);
    let sent: Vec<RtpPacket> =
        (0..10).map(|i| s.write_rtp(t0 + ms(i), media(t0, i * 90, 50 + i as usize), &mut tw).unwrap()).collect();
    let mut other = media(t0, 0, 10);
    other.payload_type = 100; // no RTX payload type for it
    let unprotected = s.write_rtp(t0 + ms(10), other, &mut tw).unwrap();
    let seqs = [sent[2].header.sequence_number, sent[7].header.sequence_number, unprotected.header.sequence_number];
    s.handle_rtcp(t0 + ms(100), &Nack::from_lost(9, SSRC, seqs).into());
    let map = extensions();
    let mut rtx_seqs = Vec::new();
    for original in [&sent[2], &sent[7]] {
        let p = s.poll_rtp(t0 + ms(100), &mut tw).unwrap();
        assert_eq!((p.header.ssrc, p.header.payload_type), (RTX_SSRC, 97));
        assert_eq!(p.header.timestamp, original.header.timestamp);
        let (osn, payload) = rtx::unwrap(&p.payload).unwrap();
        assert_eq!(osn, original.header.sequence_number);
        assert_eq!(payload, &original.payload[..]);
        assert_eq!(map.read::<RtpStreamId>(&p.header.extensions).unwrap(), None);
        assert_eq!(map.read::<RepairedRtpStreamId>(&p.header.extensions).unwrap().unwrap().as_str(), "hi");
        assert_eq!(map.read::<Mid>(&p.header.extensions).unwrap().unwrap().as_str(), "0");
        rtx_seqs.push(p.header.sequence_number);
    }
    assert_eq!(rtx_seqs[1], rtx_seqs[0].wrapping_add(1));
    assert!(s.poll_rtp(t0 + ms(100), &mut tw).is_none());
    assert_eq!(s.stats().nack.unresendable, 1);
}

#[test]
fn keyframe_requests_from_pli_and_fir() {
    let t0 = Instant::now();
    let mut s = SendStream::new(config(t0, false)).unwrap();
    s.handle_rtcp(t0, &Pli { sender_ssrc: 9, media_ssrc: 0xBAD }.into());
    assert_eq!(s.poll_event(), None);
    s.handle_rtcp(t0, &Pli { sender_ssrc: 9, media_ssrc: SSRC }.into());
    assert_eq!(s.poll_event(), Some(SendEvent::KeyframeRequest(KeyframeRequestKind::Pli)));
    assert_eq!(s.poll_event(), None);
    let fir = |seq_nr| Fir {
        sender_ssrc: 9,
        media_ssrc: 0,
        entries: vec![FirEntry { ssrc: 0xBAD, seq_nr: 200 }, FirEntry { ssrc: SSRC, seq_nr }],
    };
    s.handle_rtcp(t0 + ms(400), &fir(1).into());
    assert_eq!(s.poll_event(), Some(SendEvent::KeyframeRequest(KeyframeRequestKind::Fir)));
    s.handle_rtcp(t0 + ms(800), &fir(1).into());
    assert_eq!(s.poll_event(), None);
    assert_eq!(s.stats().keyframes.fir_repeated, 1);
}

#[test]
fn sender_reports_and_rtt() {
    let t0 = Instant::now();
    let ntp = NtpClock::new(t0, 0xE000 << 32);
    let mut s = SendStream::new(config(t0, false)).unwrap();
    let mut tw = TransportSequence::new(1);
    assert_eq!(s.poll_timeout(), None, "no report before media");
    let p = s.write_rtp(t0, media(t0, 0, 1000), &mut tw).unwrap();
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, t0 + ms(500));
    s.handle_timeout(due - ms(1));
    assert!(s.poll_rtcp().is_none());
    s.handle_timeout(due);
    let compound = s.poll_rtcp().unwrap();
    let RtcpPacket::SenderReport(sr) = &compound[0] else { panic!("{compound:?}") };
    assert_eq!((sr.ssrc, sr.packet_count, sr.octet_count), (SSRC, 1, 1000));
    assert_eq!(sr.ntp_time, ntp.ntp(due));
    assert_eq!(sr.rtp_time, p.header.timestamp.wrapping_add(45_000), "500 ms at 90 kHz");
    let RtcpPacket::Sdes(sdes) = &compound[1] else { panic!("{compound:?}") };
    assert_eq!(sdes.cnames().next(), Some((SSRC, &b"oxrtc-test"[..])));
    assert!(s.poll_timeout().unwrap() > due);

    // The receiver answers: 30 ms out, held 100 ms, 20 ms back.
    let block = ReportBlock {
        ssrc: SSRC,
        last_sr: compact_ntp(sr.ntp_time),
        delay_since_last_sr: duration_to_compact(ms(100)),
        ..Default::default()
    };
    let rr = ReceiverReport { ssrc: 9, reports: vec![block], profile_extensions: Vec::new() };
    s.handle_rtcp(due + ms(150), &rr.into());
    let Some(SendEvent::RoundTripTime(rtt)) = s.poll_event() else { panic!("no RTT") };
    assert!(rtt.abs_diff(ms(50)) < Duration::from_micros(50), "{rtt:?}");
    assert_eq!(s.rtt(), Some(rtt));
}

#[test]
fn stop_says_bye_and_refuses_more() {
    let t0 = Instant::now();
    let mut s = SendStream::new(config(t0, true)).unwrap();
    let mut tw = TransportSequence::new(1);
    let p = s.write_rtp(t0, media(t0, 0, 100), &mut tw).unwrap();
    s.stop(t0 + ms(10));
    let compound = s.poll_rtcp().unwrap();
    assert!(matches!(compound[0], RtcpPacket::SenderReport(_)));
    let RtcpPacket::Bye(bye) = &compound[2] else { panic!("{compound:?}") };
    assert_eq!(bye.sources, [SSRC, RTX_SSRC]);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.write_rtp(t0 + ms(20), media(t0, 0, 1), &mut tw), Err(SendError::Stopped));
    s.handle_rtcp(t0 + ms(100), &Nack::from_lost(9, SSRC, [p.header.sequence_number]).into());
    assert!(s.poll_rtp(t0 + ms(100), &mut tw).is_none());
    assert!(s.history().is_empty());
}

#[test]
fn bad_configurations_are_refused() {
    let t0 = Instant::now();
    let zero = SendStreamConfig { clock_rate: 0, ..config(t0, false) };
    assert!(matches!(SendStream::new(zero), Err(SendError::InvalidConfig(_))));
    let long_cname = SendStreamConfig { cname: "x".repeat(256), ..config(t0, false) };
    assert!(matches!(SendStream::new(long_cname), Err(SendError::InvalidConfig(_))));
    let long_mid = SendStreamConfig { mid: Some("m".repeat(17)), ..config(t0, false) };
    assert!(matches!(SendStream::new(long_mid), Err(SendError::Extension(_))));
    let mut s = SendStream::new(config(t0, false)).unwrap();
    let mut bad = media(t0, 0, 1);
    bad.payload_type = 200;
    let mut tw = TransportSequence::new(1);
    assert!(matches!(s.write_rtp(t0, bad, &mut tw), Err(SendError::Rtp(_))));
    assert_eq!((s.stats().packets, tw.peek()), (0, 1));
}

#[test]
fn padding_is_the_newest_packet_again_as_rtx_and_needs_rtx() {
    let t0 = Instant::now();
    let mut tw = TransportSequence::new(1);
    let mut plain = SendStream::new(config(t0, false)).unwrap();
    plain.write_rtp(t0, media(t0, 0, 100), &mut tw).unwrap();
    assert!(plain.write_padding(t0, &mut tw).is_none(), "no RTX, no padding");

    let mut s = SendStream::new(config(t0, true)).unwrap();
    assert!(s.write_padding(t0, &mut tw).is_none(), "nothing sent yet");
    s.write_rtp(t0, media(t0, 0, 100), &mut tw).unwrap();
    let newest = s.write_rtp(t0, media(t0, 3600, 120), &mut tw).unwrap();
    let a = s.write_padding(t0 + ms(5), &mut tw).unwrap();
    let b = s.write_padding(t0 + ms(6), &mut tw).unwrap();
    assert_eq!((a.header.ssrc, a.header.payload_type), (RTX_SSRC, 97));
    assert_eq!(b.header.sequence_number, a.header.sequence_number.wrapping_add(1));
    let (osn, payload) = rtx::unwrap(&a.payload).unwrap();
    assert_eq!((osn, payload), (newest.header.sequence_number, &newest.payload[..]));
    let stats = s.stats();
    assert_eq!((stats.padding_packets, stats.retransmitted_packets), (2, 0));
}
