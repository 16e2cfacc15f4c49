//! How a `Session` routes incoming RTP (known SSRC, MID and RID, RTX, payload type as a
//! last resort), its caps on remote SSRCs, and hostile input: floods of SSRCs, garbage
//! RTP and RTCP, RTX for unknown payload types. Everything is observed through the public
//! API: `StreamAdded` and `Frame` events and the counters.

mod session_support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::{ExtensionMap, Extensions, Mid, RepairedRtpStreamId, RtpStreamId};
use rtp::packet::{RtpHeader, RtpPacket};
use rtp::payload::rtx;
use rtp::rtcp::{parse_compound, write_compound, Bye, Nack, Pli, ReceiverReport, RtcpPacket};
use rtp::session::rtc::{
    CodecConfig, KeyframeRequestKind, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionError,
    SessionEvent, MAX_REMOTE_SSRCS, MAX_REMOTE_SSRCS_PER_SECTION, MAX_REORDER_PACKETS,
};
use rtp::session::send::MediaKind;
use session_support::extensions;
use testkit::{mutate, Rng};

const OPUS: u8 = 111;
const OPUS_RTX: u8 = 112;
const VP8: u8 = 96;

fn opus() -> CodecConfig {
    CodecConfig { rtx_payload_type: Some(OPUS_RTX), nack: true, ..CodecConfig::new(OPUS, "opus", 48_000) }
}

fn section(mid: &str, kind: MediaKind, codec: CodecConfig) -> MediaConfig {
    MediaConfig {
        mid: mid.into(),
        kind,
        codecs: vec![codec],
        extensions: extensions(),
        send: Vec::new(),
        receive: true,
        remote_ssrcs: Vec::new(),
        jitter_buffer: false,
        xr_rtt: false,
    }
}

/// Audio section "0", sending on SSRC 0xabc and receiving.
fn sending_section() -> MediaConfig {
    MediaConfig { send: vec![SendConfig::new(0xabc, None)], ..section("0", MediaKind::Audio, opus()) }
}

fn session(t0: Instant, media: Vec<MediaConfig>) -> Session {
    let mut s = Session::new(t0, SessionConfig::new("routing", 1));
    s.set_media(t0, media);
    s
}

/// An RTP packet with the given ids in its extensions.
struct P {
    ssrc: u32,
    pt: u8,
    seq: u16,
    mid: Option<String>,
    rid: Option<&'static str>,
    rrid: Option<&'static str>,
    payload: Vec<u8>,
}

impl P {
    fn new(ssrc: u32, pt: u8, seq: u16) -> Self {
        P { ssrc, pt, seq, mid: None, rid: None, rrid: None, payload: vec![0xfc, seq as u8] }
    }
    fn mid(mut self, mid: &str) -> Self {
        self.mid = Some(mid.to_owned());
        self
    }
    fn rid(mut self, rid: &'static str) -> Self {
        self.rid = Some(rid);
        self
    }
    fn rrid(mut self, rrid: &'static str) -> Self {
        self.rrid = Some(rrid);
        self
    }
    fn payload(mut self, payload: Vec<u8>) -> Self {
        self.payload = payload;
        self
    }
    fn bytes(&self) -> Bytes {
        let map: ExtensionMap = extensions();
        let mut exts = Extensions::new();
        if let Some(m) = &self.mid {
            map.write(&mut exts, &Mid::new(m).unwrap()).unwrap();
        }
        if let Some(r) = self.rid {
            map.write(&mut exts, &RtpStreamId::new(r).unwrap()).unwrap();
        }
        if let Some(r) = self.rrid {
            map.write(&mut exts, &RepairedRtpStreamId::new(r).unwrap()).unwrap();
        }
        let header = RtpHeader {
            payload_type: self.pt,
            sequence_number: self.seq,
            timestamp: self.seq as u32 * 960,
            ssrc: self.ssrc,
            extensions: exts,
            ..RtpHeader::default()
        };
        let mut out = Vec::new();
        RtpPacket::new(header, Bytes::from(self.payload.clone())).write(&mut out).unwrap();
        Bytes::from(out)
    }
}

fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn added(events: &[SessionEvent]) -> Vec<(String, u32, Option<String>)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::StreamAdded { mid, ssrc, rid } => Some((mid.clone(), *ssrc, rid.clone())),
            _ => None,
        })
        .collect()
}

/// The first-sequence numbers of the frames delivered.
fn frames(events: &[SessionEvent]) -> Vec<(String, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame { mid, sequence_range, .. } => Some((mid.clone(), sequence_range.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_signalled_ssrc_routes_without_any_extension() {
    let t0 = Instant::now();
    let mut a = section("a", MediaKind::Audio, opus());
    a.remote_ssrcs = vec![0x1234];
    let mut s = session(t0, vec![a, section("b", MediaKind::Audio, opus())]);
    s.handle_rtp(t0, P::new(0x1234, OPUS, 1).bytes());
    let e = events(&mut s);
    assert_eq!(added(&e), [("a".to_string(), 0x1234, None)]);
    assert_eq!(frames(&e), [("a".to_string(), 1)]);
}

#[test]
fn the_mid_is_learned_with_the_ssrc_and_later_packets_need_none() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus()), section("1", MediaKind::Audio, opus())]);
    s.handle_rtp(t0, P::new(7, OPUS, 1).mid("1").bytes());
    // Same payload type in both sections: only the learned SSRC can route this one.
    s.handle_rtp(t0, P::new(7, OPUS, 2).bytes());
    let e = events(&mut s);
    assert_eq!(added(&e), [("1".to_string(), 7, None)]);
    assert_eq!(frames(&e), [("1".to_string(), 1), ("1".to_string(), 2)]);
    assert_eq!(s.stats().rtp_unroutable, 0);
    // A MID naming no section is final: dropped, counted, nothing learned.
    s.handle_rtp(t0, P::new(8, OPUS, 1).mid("9").bytes());
    assert_eq!((s.stats().rtp_unroutable, s.stats().remote_ssrcs), (1, 1));
}

#[test]
fn rids_name_the_simulcast_streams() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus())]);
    s.handle_rtp(t0, P::new(1, OPUS, 1).mid("0").rid("h").bytes());
    s.handle_rtp(t0, P::new(2, OPUS, 1).mid("0").rid("l").bytes());
    let e = events(&mut s);
    let rids: Vec<_> = added(&e).into_iter().map(|(_, ssrc, rid)| (ssrc, rid.unwrap())).collect();
    assert_eq!(rids, [(1, "h".to_string()), (2, "l".to_string())]);
    let frame_rids: Vec<_> = e
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame { rid, ssrc, .. } => Some((*ssrc, rid.clone().unwrap())),
            _ => None,
        })
        .collect();
    assert_eq!(frame_rids, rids);
}

#[test]
fn rtx_is_unwrapped_into_its_stream_by_repaired_rid_and_fills_the_gap_in_order() {
    let t0 = Instant::now();
    let ms = Duration::from_millis(1);
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus())]);
    for ssrc in [1, 2] {
        let rid = if ssrc == 1 { "h" } else { "l" };
        s.handle_rtp(t0, P::new(ssrc, OPUS, 10).mid("0").rid(rid).bytes());
    }
    // Stream "l" (SSRC 2) loses 11; 12 waits for it.
    s.handle_rtp(t0 + ms, P::new(2, OPUS, 12).payload(vec![0xfc, 12]).bytes());
    assert_eq!(frames(&events(&mut s)), [("0".to_string(), 10), ("0".to_string(), 10)]);
    // The RTX packet says which stream it repairs by its repaired RID.
    let rtx_payload = rtx::wrap(11, &[0xfc, 11]).to_vec();
    s.handle_rtp(t0 + 2 * ms, P::new(0x99, OPUS_RTX, 500).mid("0").rrid("l").payload(rtx_payload).bytes());
    let e = events(&mut s);
    assert_eq!(frames(&e), [("0".to_string(), 11), ("0".to_string(), 12)]);
    let data: Vec<_> = e
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Frame { ssrc, data, payload_type, .. } => Some((*ssrc, *payload_type, data.to_vec())),
            _ => None,
        })
        .collect();
    assert_eq!(data[0], (2, OPUS, vec![0xfc, 11]));
    assert_eq!(s.stats().rtx_recovered, 1);
    assert!(added(&e).is_empty(), "the RTX SSRC is no stream of its own");
}

#[test]
fn rtx_for_an_unknown_payload_type_or_without_a_stream_is_dropped_and_counted() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus())]);
    let wrapped = rtx::wrap(1, &[0xfc]).to_vec();
    // No media stream to repair yet.
    s.handle_rtp(t0, P::new(0x99, OPUS_RTX, 1).mid("0").payload(wrapped.clone()).bytes());
    s.handle_rtp(t0, P::new(1, OPUS, 1).mid("0").bytes());
    // A repaired RID, but a payload type no codec's RTX has (unknown apt).
    s.handle_rtp(t0, P::new(0x98, 113, 1).mid("0").rrid("x").payload(wrapped.clone()).bytes());
    // Padding-only RTX (just the original sequence number).
    s.handle_rtp(t0, P::new(0x99, OPUS_RTX, 2).payload(vec![0, 1]).bytes());
    let stats = s.stats();
    assert_eq!((stats.rtx_dropped, stats.rtx_recovered, stats.remote_streams), (3, 0, 1));
}

#[test]
fn a_bye_forgets_the_stream_and_its_rtx() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus())]);
    s.handle_rtp(t0, P::new(1, OPUS, 1).mid("0").bytes());
    s.handle_rtp(t0, P::new(2, OPUS_RTX, 1).mid("0").payload(rtx::wrap(1, &[0xfc]).to_vec()).bytes());
    assert_eq!((s.stats().remote_ssrcs, s.stats().remote_streams), (2, 1));
    let mut bye = Vec::new();
    let rr = ReceiverReport { ssrc: 1, reports: Vec::new(), profile_extensions: Vec::new() };
    let packets = [rr.into(), RtcpPacket::Bye(Bye { sources: vec![1, 2], reason: None })];
    write_compound(&packets, &mut bye).unwrap();
    s.handle_rtcp(t0, Bytes::from(bye));
    let stats = s.stats();
    assert_eq!((stats.remote_ssrcs, stats.remote_streams, stats.remote_byes), (0, 0, 2));
    // Coming back is a new stream.
    events(&mut s);
    s.handle_rtp(t0, P::new(1, OPUS, 50).mid("0").bytes());
    assert_eq!(added(&events(&mut s)), [("0".to_string(), 1, None)]);
}

#[test]
fn the_payload_type_routes_only_when_one_receiving_section_takes_it() {
    let t0 = Instant::now();
    let vp8 = CodecConfig::new(VP8, "VP8", 90_000);
    let mut s = session(t0, vec![section("a", MediaKind::Audio, opus()), section("v", MediaKind::Video, vp8.clone())]);
    s.handle_rtp(t0, P::new(5, OPUS, 1).bytes());
    assert_eq!(added(&events(&mut s)), [("a".to_string(), 5, None)]);

    // Two sections take VP8: the payload type decides nothing.
    let mut s =
        session(t0, vec![section("v1", MediaKind::Video, vp8.clone()), section("v2", MediaKind::Video, vp8.clone())]);
    s.handle_rtp(t0, P::new(5, VP8, 1).bytes());
    assert!(added(&events(&mut s)).is_empty());
    assert_eq!((s.stats().rtp_unroutable, s.stats().remote_ssrcs), (1, 0));

    // A section that does not receive is no candidate.
    let mut sendonly = section("v2", MediaKind::Video, vp8.clone());
    sendonly.receive = false;
    let mut s = session(t0, vec![section("v1", MediaKind::Video, vp8), sendonly]);
    s.handle_rtp(t0, P::new(5, VP8, 1).bytes());
    assert_eq!(added(&events(&mut s)), [("v1".to_string(), 5, None)]);
}

#[test]
fn remote_ssrcs_are_capped_per_section_and_in_total() {
    let t0 = Instant::now();
    let mids: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let media = mids.iter().map(|m| section(m, MediaKind::Audio, opus())).collect();
    let mut s = session(t0, media);
    for ssrc in 1..=20u32 {
        s.handle_rtp(t0, P::new(ssrc, OPUS, 1).mid("0").bytes());
    }
    assert_eq!(s.stats().remote_ssrcs, MAX_REMOTE_SSRCS_PER_SECTION);
    assert_eq!(s.stats().rtp_ssrc_capped, 20 - MAX_REMOTE_SSRCS_PER_SECTION as u64);
    for (i, mid) in mids.iter().enumerate().skip(1) {
        for k in 0..10u32 {
            s.handle_rtp(t0, P::new(1_000 * i as u32 + k, OPUS, 1).mid(mid).bytes());
        }
    }
    assert_eq!(s.stats().remote_ssrcs, MAX_REMOTE_SSRCS);
    assert_eq!(s.stats().remote_streams, MAX_REMOTE_SSRCS);
}

#[test]
fn hostile_floods_and_garbage_are_dropped_counted_and_bounded() {
    let t0 = Instant::now();
    let ms = Duration::from_millis(1);
    let mut rng = Rng::new(99);
    let vp8 = CodecConfig { nack: true, pli: true, ..CodecConfig::new(VP8, "VP8", 90_000) };
    let mut s = session(t0, vec![section("0", MediaKind::Audio, opus()), section("1", MediaKind::Video, vp8)]);
    let mut now = t0;
    // 10,000 packets from random SSRCs, half of them naming a section.
    for i in 0..10_000u32 {
        now += ms / 4;
        let ssrc = rng.next_u32() | 1;
        let p = P::new(ssrc, if rng.bool() { OPUS } else { VP8 }, rng.next_u32() as u16);
        let p = if i % 2 == 0 { p.mid(if rng.bool() { "0" } else { "1" }) } else { p };
        s.handle_rtp(now, p.bytes());
        while s.poll_event().is_some() {}
        while s.poll_transmit(now).is_some() {}
    }
    let stats = s.stats();
    assert!(stats.remote_ssrcs <= 2 * MAX_REMOTE_SSRCS_PER_SECTION);
    assert_eq!(stats.rtp_ssrc_capped + stats.remote_ssrcs as u64 + stats.rtp_unroutable, 10_000);

    // One stream with random sequence numbers: the reorder buffer stays bounded.
    for _ in 0..10_000 {
        now += ms / 4;
        s.handle_rtp(now, P::new(0x4242, VP8, rng.next_u32() as u16).mid("1").payload(rng.bytes(20)).bytes());
        while s.poll_event().is_some() {}
        while s.poll_transmit(now).is_some() {}
    }
    assert!(s.held_packets() <= MAX_REORDER_PACKETS + 2 * MAX_REMOTE_SSRCS_PER_SECTION);

    // Garbage RTP: random bytes and mutated valid packets.
    let before = s.stats();
    let valid = P::new(0x4242, VP8, 1).mid("1").bytes().to_vec();
    for i in 0..5_000 {
        let mut data = if i % 2 == 0 { rng.some_bytes(64) } else { valid.clone() };
        if i % 2 == 1 {
            mutate::flip_bit(&mut rng, &mut data);
            mutate::truncate(&mut rng, &mut data);
        }
        s.handle_rtp(now, Bytes::from(data));
    }
    // Garbage RTCP: random bytes, mutated compounds, feedback about SSRCs we never sent.
    let mut compound = Vec::new();
    write_compound(
        &[
            RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 5, reports: Vec::new(), profile_extensions: Vec::new() }),
            RtcpPacket::Nack(Nack::from_lost(5, 0x777, [1, 2, 3, 100])),
            RtcpPacket::Pli(Pli { sender_ssrc: 5, media_ssrc: 0x777 }),
        ],
        &mut compound,
    )
    .unwrap();
    for i in 0..5_000 {
        let mut data = if i % 2 == 0 { rng.some_bytes(64) } else { compound.clone() };
        if i % 4 == 1 {
            mutate::set_byte(&mut rng, &mut data);
            mutate::extend(&mut rng, &mut data, 16);
        }
        s.handle_rtcp(now, Bytes::from(data));
        while s.poll_event().is_some() {}
    }
    let stats = s.stats();
    assert!(stats.rtp_malformed - before.rtp_malformed > 2_000, "{stats:?}");
    assert!(stats.rtcp_malformed > 2_000, "{stats:?}");
    assert_eq!(stats.rtcp_received, 5_000);
    assert!(stats.remote_ssrcs <= 2 * MAX_REMOTE_SSRCS_PER_SECTION);
    assert_eq!(stats.rtp_sent, 0, "nothing is ever sent for feedback about streams we do not have");
    // Time passing over all of it stays bounded too.
    for _ in 0..200 {
        now += Duration::from_millis(20);
        s.handle_timeout(now);
        while s.poll_event().is_some() {}
        while s.poll_transmit(now).is_some() {}
    }
    assert!(s.held_packets() <= MAX_REORDER_PACKETS + 2 * MAX_REMOTE_SSRCS_PER_SECTION);
}

/// Every RTCP packet the session sends now.
fn rtcp_out(s: &mut Session, now: Instant) -> Vec<RtcpPacket> {
    let mut all = Vec::new();
    while let Some(out) = s.poll_transmit(now) {
        if let Outgoing::Rtcp(b) = out {
            all.extend(parse_compound(&b).unwrap());
        }
    }
    all
}

#[test]
fn renegotiation_keeps_the_streams_of_sections_that_stay_and_says_bye_for_those_that_go() {
    let t0 = Instant::now();
    let sending = sending_section();
    let mut s = session(t0, vec![sending.clone()]);
    s.handle_rtp(t0, P::new(1, OPUS, 1).mid("0").bytes());
    s.write_frame(t0, "0", OPUS, 0, Bytes::from_static(b"x")).unwrap();
    events(&mut s);
    rtcp_out(&mut s, t0);

    // Same section plus a new one: the remote stream and our stream stay.
    s.set_media(t0, vec![sending.clone(), section("1", MediaKind::Audio, opus())]);
    s.handle_rtp(t0, P::new(1, OPUS, 2).bytes());
    assert!(added(&events(&mut s)).is_empty());
    assert_eq!(s.stats().remote_streams, 1);
    assert!(rtcp_out(&mut s, t0).iter().all(|p| !matches!(p, RtcpPacket::Bye(_))));

    // Section "0" goes: its remote stream is dropped, our stream says BYE.
    s.set_media(t0, vec![section("1", MediaKind::Audio, opus())]);
    assert_eq!((s.stats().remote_streams, s.stats().remote_ssrcs), (0, 0));
    let rtcp = rtcp_out(&mut s, t0);
    assert!(rtcp.iter().any(|p| matches!(p, RtcpPacket::Bye(b) if b.sources == [0xabc])), "{rtcp:?}");
    assert_eq!(s.write_frame(t0, "0", OPUS, 960, Bytes::from_static(b"x")), Err(SessionError::UnknownMid("0".into())));
}

/// A renegotiation that keeps our SSRC but moves the codec to another payload type and
/// the mid extension to another id: the stream goes on (no BYE, sequence numbers
/// continue) with the new numbers, NACKs are answered on the new RTX payload type, and
/// the old payload type is refused.
#[test]
fn a_kept_send_stream_takes_new_payload_types_and_extension_ids() {
    let t0 = Instant::now();
    let sending =
        MediaConfig { send: vec![SendConfig::new(0xabc, Some(0xdef))], ..section("0", MediaKind::Audio, opus()) };
    let mut s = session(t0, vec![sending.clone()]);
    s.write_frame(t0, "0", OPUS, 0, Bytes::from_static(b"before")).unwrap();
    let sent = |s: &mut Session| {
        let mut rtp = Vec::new();
        while let Some(out) = s.poll_transmit(t0) {
            if let Outgoing::Rtp(b) = out {
                rtp.push(RtpPacket::parse(b).unwrap());
            }
        }
        rtp
    };
    let before = sent(&mut s).remove(0);
    rtcp_out(&mut s, t0);

    let mut moved = sending.clone();
    moved.codecs[0].payload_type = 100;
    moved.codecs[0].rtx_payload_type = Some(101);
    let mut map = ExtensionMap::new();
    map.insert(9, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    moved.extensions = map.clone();
    s.set_media(t0, vec![moved.clone()]);
    assert!(rtcp_out(&mut s, t0).iter().all(|p| !matches!(p, RtcpPacket::Bye(_))), "the stream stays");
    assert_eq!(
        s.write_frame(t0, "0", OPUS, 960, Bytes::from_static(b"x")),
        Err(SessionError::UnknownPayloadType(OPUS))
    );
    s.write_frame(t0, "0", 100, 960, Bytes::from_static(b"after")).unwrap();
    let after = sent(&mut s).remove(0);
    assert_eq!((after.header.ssrc, after.header.payload_type), (0xabc, 100));
    assert_eq!(after.header.sequence_number, before.header.sequence_number.wrapping_add(1), "numbers continue");
    assert_eq!(map.read::<Mid>(&after.header.extensions).unwrap().map(|m| m.as_str().to_owned()).as_deref(), Some("0"));
    assert!(!after.header.extensions.contains(4), "the old mid id is gone");

    // NACKed, the packet sent after comes back as RTX on the new RTX payload type; the one
    // sent before has a payload type the peer no longer knows and is not resent.
    let seqs = [before.header.sequence_number, after.header.sequence_number];
    let mut out = Vec::new();
    write_compound(&[RtcpPacket::Nack(Nack::from_lost(1, 0xabc, seqs))], &mut out).unwrap();
    s.handle_rtcp(t0, Bytes::from(out));
    let resent = sent(&mut s);
    assert_eq!(resent.len(), 1, "one retransmission");
    assert_eq!((resent[0].header.ssrc, resent[0].header.payload_type), (0xdef, 101));
    let (osn, payload) = rtx::unwrap(&resent[0].payload).unwrap();
    assert_eq!((osn, payload), (after.header.sequence_number, &b"after"[..]));
}

#[test]
fn keyframe_requests_from_the_application_leave_at_once() {
    let t0 = Instant::now();
    let vp8 = CodecConfig { pli: true, fir: true, ..CodecConfig::new(VP8, "VP8", 90_000) };
    let mut s = session(t0, vec![section("v", MediaKind::Video, vp8)]);
    assert_eq!(s.request_keyframe(t0, "v", KeyframeRequestKind::Pli), Err(SessionError::NoRemoteStream("v".into())));
    s.handle_rtp(t0, P::new(0x77, VP8, 1).mid("v").payload(vec![0x10, 0x10, 1, 2]).bytes());
    rtcp_out(&mut s, t0);
    s.request_keyframe(t0, "v", KeyframeRequestKind::Pli).unwrap();
    s.request_keyframe(t0, "v", KeyframeRequestKind::Fir).unwrap();
    let rtcp = rtcp_out(&mut s, t0);
    assert!(rtcp.iter().any(|p| matches!(p, RtcpPacket::Pli(p) if p.media_ssrc == 0x77)));
    assert!(rtcp.iter().any(|p| matches!(p, RtcpPacket::Fir(f) if f.entries[0].ssrc == 0x77)));
    assert_eq!(s.request_keyframe(t0, "x", KeyframeRequestKind::Pli), Err(SessionError::UnknownMid("x".into())));
}

#[test]
fn forwarded_payloads_get_our_ssrc_and_consecutive_sequence_numbers() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![sending_section()]);
    for i in 0..3u32 {
        s.write_rtp(t0, "0", OPUS, 960 * i, i == 0, Bytes::from(vec![i as u8; 10])).unwrap();
    }
    let mut rtp = Vec::new();
    while let Some(out) = s.poll_transmit(t0) {
        if let Outgoing::Rtp(b) = out {
            rtp.push(RtpPacket::parse(b).unwrap());
        }
    }
    assert_eq!(rtp.len(), 3);
    for (i, p) in rtp.iter().enumerate() {
        assert_eq!((p.header.ssrc, p.header.payload_type, p.header.marker), (0xabc, OPUS, i == 0));
        assert_eq!(p.header.sequence_number, rtp[0].header.sequence_number.wrapping_add(i as u16));
        assert_eq!(p.header.timestamp.wrapping_sub(rtp[0].header.timestamp), 960 * i as u32);
        assert_eq!(&p.payload[..], &[i as u8; 10]);
    }
    assert_eq!(s.write_rtp(t0, "0", 99, 0, false, Bytes::from_static(b"x")), Err(SessionError::UnknownPayloadType(99)));
    let mut recvonly = session(t0, vec![section("0", MediaKind::Audio, opus())]);
    assert_eq!(
        recvonly.write_rtp(t0, "0", OPUS, 0, false, Bytes::from_static(b"x")),
        Err(SessionError::NotSending("0".into()))
    );
}

#[test]
fn a_bad_packet_in_a_compound_spoils_only_itself() {
    let t0 = Instant::now();
    let mut s = session(t0, vec![sending_section()]);
    s.write_frame(t0, "0", OPUS, 0, Bytes::from_static(b"x")).unwrap();
    while s.poll_transmit(t0).is_some() {}
    let mut datagram = Vec::new();
    let rr = ReceiverReport { ssrc: 5, reports: Vec::new(), profile_extensions: Vec::new() };
    write_compound(&[rr.into(), RtcpPacket::Pli(Pli { sender_ssrc: 5, media_ssrc: 0xabc })], &mut datagram).unwrap();
    // A generic NACK without a single entry: its body does not parse.
    datagram.extend_from_slice(&[0x81, 205, 0, 2, 0, 0, 0, 5, 0, 0, 0x0a, 0xbc]);
    s.handle_rtcp(t0, Bytes::from(datagram));
    assert_eq!(s.stats().rtcp_malformed, 1);
    assert!(events(&mut s).iter().any(|e| matches!(e, SessionEvent::KeyframeRequested { mid, .. } if mid == "0")));
}

/// Transport-wide feedback can only cover packets we sent: a few bytes of
/// run-length chunks claiming 65,535 packets are dropped without expansion.
#[test]
fn feedback_naming_packets_never_sent_is_ignored() {
    use rtp::rtcp::{PacketStatus, StatusChunk, TransportFeedback, MAX_RUN_LENGTH};
    let t0 = Instant::now();
    let mut s = session(t0, vec![sending_section()]);
    let chunks =
        (0..9).map(|_| StatusChunk::RunLength { status: PacketStatus::NotReceived, length: MAX_RUN_LENGTH }).collect();
    let fb = TransportFeedback {
        sender_ssrc: 1,
        media_ssrc: 0xabc,
        base_seq: 0,
        status_count: u16::MAX,
        reference_time: 0,
        feedback_count: 0,
        chunks,
        deltas: vec![],
    };
    let mut wire = Vec::new();
    write_compound(&[RtcpPacket::TransportFeedback(fb)], &mut wire).unwrap();
    assert!(wire.len() < 64, "{} bytes", wire.len());
    for _ in 0..100 {
        s.handle_rtcp(t0, Bytes::from(wire.clone()));
    }
    assert_eq!(s.stats().feedback_ignored, 100);
    assert_eq!(s.stats().rtcp_malformed, 0);
}
