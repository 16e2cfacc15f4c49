//! Audio and video sections: transceivers, offer/answer between two cores
//! and against a captured Chromium offer, `Track` events, directions and
//! renegotiation.

mod common;

use common::{lines, Sim, SEC};
use peer::{PeerConnection, PeerEvent, SdpType, SessionDescription};
use sdp::{Direction, MediaKind};

const CHROMIUM_OFFER: &str = include_str!("../../sdp/tests/fixtures/chromium156_captured_media_offer.sdp");

fn tracks(events: &[PeerEvent]) -> Vec<(String, MediaKind)> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Track { mid, kind, .. } => Some((mid.clone(), kind.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_video_transceiver_is_offered_answered_and_connects() {
    let mut s = Sim::perfect(1);
    let now = s.now();
    let tx = s.pc[0].add_transceiver(MediaKind::Video, Direction::SendOnly).unwrap();
    s.flush_all();
    assert!(s.events[0].contains(&PeerEvent::NegotiationNeeded));
    let offer = s.pc[0].create_offer(now, false).unwrap();
    let m_lines = lines(&offer.sdp, "m=");
    assert_eq!(m_lines.len(), 1, "{}", offer.sdp);
    assert!(m_lines[0].starts_with("m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 108 109 114 115 45 46"), "{}", m_lines[0]);
    assert_eq!(lines(&offer.sdp, "a=sendonly").len(), 1);
    let info = s.pc[0].transceiver(tx).unwrap();
    assert!(offer.sdp.contains(&format!("a=ssrc-group:FID {} {}", info.ssrc, info.rtx_ssrc)), "{}", offer.sdp);
    assert!(offer.sdp.contains("a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"));

    s.negotiate(0);
    assert!(s.run(10 * SEC, |s| s.connected()), "media-only sections connect (DTLS-SRTP, no SCTP)");
    // The answerer made a recvonly transceiver for the section and announced its track.
    assert_eq!(tracks(&s.events[1]), vec![("0".to_string(), MediaKind::Video)]);
    assert!(tracks(&s.events[0]).is_empty(), "the sender receives nothing");
    let theirs = s.pc[1].transceivers();
    assert_eq!(theirs.len(), 1);
    assert_eq!((theirs[0].mid.as_deref(), theirs[0].current_direction), (Some("0"), Some(Direction::RecvOnly)));
    let ours = s.pc[0].transceiver(tx).unwrap();
    assert_eq!((ours.mid.as_deref(), ours.current_direction), (Some("0"), Some(Direction::SendOnly)));
    let answer = s.pc[1].local_description().unwrap();
    assert_eq!(lines(&answer.sdp, "a=recvonly").len(), 1);
    assert!(lines(&answer.sdp, "a=ssrc:").is_empty(), "a recvonly answer announces no SSRC");
}

#[test]
fn the_answerer_sends_back_when_its_transceiver_asks_and_renegotiation_adds_audio() {
    let mut s = Sim::perfect(2);
    s.pc[0].add_transceiver(MediaKind::Video, Direction::SendRecv).unwrap();
    s.negotiate(0);
    assert!(s.run(10 * SEC, |s| s.connected()));
    // B's transceiver was made recvonly; asking for sendrecv needs a new negotiation.
    let b = s.pc[1].transceivers()[0].id;
    assert_eq!(s.pc[1].transceiver(b).unwrap().current_direction, Some(Direction::RecvOnly));
    assert_eq!(tracks(&s.events[0]).len(), 0);
    s.events[1].clear();
    s.pc[1].set_transceiver_direction(b, Direction::SendRecv).unwrap();
    s.flush_all();
    assert!(s.events[1].contains(&PeerEvent::NegotiationNeeded));
    s.negotiate(1);
    assert_eq!(s.pc[1].transceiver(b).unwrap().current_direction, Some(Direction::SendRecv));
    assert_eq!(tracks(&s.events[0]), vec![("0".to_string(), MediaKind::Video)], "A now receives");
    // Renegotiation adds an audio section after the video one; B announces its track.
    s.events[1].clear();
    s.pc[0].add_transceiver(MediaKind::Audio, Direction::SendRecv).unwrap();
    s.negotiate(0);
    let offer = s.pc[0].local_description().unwrap();
    let m = lines(&offer.sdp, "m=");
    assert_eq!(m.len(), 2, "{}", offer.sdp);
    assert!(m[1].starts_with("m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8"), "{}", m[1]);
    assert_eq!(tracks(&s.events[1]), vec![("1".to_string(), MediaKind::Audio)]);
    assert!(s.connected());
}

#[test]
fn a_chromium_media_offer_is_answered_with_common_codecs() {
    let mut pc = PeerConnection::new(common::config(7), vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
    let now = std::time::Instant::now();
    pc.set_remote_description(now, SessionDescription { kind: SdpType::Offer, sdp: CHROMIUM_OFFER.into() }).unwrap();
    let answer = pc.set_local_description(now, None).unwrap();
    let m = lines(&answer.sdp, "m=");
    assert!(m[0].starts_with("m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8"), "{}", answer.sdp);
    assert!(m[1].starts_with("m=video 9 UDP/TLS/RTP/SAVPF 96 97 "), "{}", answer.sdp);
    assert!(!m[1].contains(" 116 "), "main-profile H.264 is not ours: {}", m[1]);
    // Chromium sends on both: we answer recvonly (no track of ours) and
    // announce two tracks.
    assert_eq!(lines(&answer.sdp, "a=recvonly").len(), 2);
    let mut events = Vec::new();
    while let Some(e) = pc.poll_event() {
        events.push(e);
    }
    assert_eq!(tracks(&events), vec![("0".to_string(), MediaKind::Audio), ("1".to_string(), MediaKind::Video)]);
    // BUNDLE keeps every accepted section.
    assert!(answer.sdp.contains("a=group:BUNDLE 0 1"), "{}", answer.sdp);
}

/// A VP8-shaped frame: the first byte's low bit says key (0) or delta (1);
/// the rest is a pattern of the frame number.
fn vp8_frame(n: u32, size: usize) -> bytes::Bytes {
    let mut f = vec![0u8; size];
    f[0] = if n.is_multiple_of(50) { 0x00 } else { 0x01 };
    for (i, b) in f.iter_mut().enumerate().skip(1) {
        *b = (n as usize * 31 + i) as u8;
    }
    bytes::Bytes::from(f)
}

fn frames_at(events: &[PeerEvent]) -> Vec<peer::MediaFrame> {
    events
        .iter()
        .filter_map(|e| match e {
            PeerEvent::Frame(_, f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// Sends 4 s of 25 fps video from A to B through both cores (packetize,
/// pace, SRTP; unprotect, route, depacketize) and returns what B received.
fn send_video(s: &mut Sim, frames: u32) -> (Vec<bytes::Bytes>, Vec<peer::MediaFrame>) {
    let tx = s.pc[0].add_transceiver(MediaKind::Video, Direction::SendOnly).unwrap();
    s.negotiate(0);
    assert!(s.run(10 * SEC, |s| s.connected()));
    let vp8 = s.pc[0].codecs(tx).into_iter().find(|c| c.name == "VP8").expect("VP8 negotiated");
    assert_eq!(vp8.rtx_payload_type, Some(97));
    assert!(vp8.nack && vp8.pli && vp8.transport_cc);
    let mut sent = Vec::new();
    for n in 0..frames {
        let now = s.now();
        let f = vp8_frame(n, if n.is_multiple_of(50) { 12_000 } else { 1_500 + (n as usize * 37) % 2_000 });
        s.pc[0].write_frame(now, tx, vp8.payload_type, n * 3600, f.clone()).unwrap();
        sent.push(f);
        s.settle(std::time::Duration::from_millis(40));
    }
    s.settle(2 * SEC);
    (sent, frames_at(&s.events[1]))
}

#[test]
fn video_frames_cross_both_cores_intact() {
    let mut s = Sim::perfect(11);
    let (sent, got) = send_video(&mut s, 100);
    assert_eq!(got.len(), sent.len(), "every frame arrives");
    for (n, (f, g)) in sent.iter().zip(&got).enumerate() {
        assert_eq!(&g.data, f, "frame {n} differs");
        assert_eq!(g.keyframe, n.is_multiple_of(50), "frame {n} keyframe flag");
        // The sender adds a random offset; the steps are ours.
        assert_eq!(g.rtp_timestamp.wrapping_sub(got[0].rtp_timestamp), n as u32 * 3600);
        assert!(!g.lost_before);
    }
    let stats = s.pc[1].media_stats().unwrap();
    assert_eq!(stats.frames, 100);
    // B only receives: its round-trip time comes from XR (negotiated by
    // default), 10 ms each way.
    let rtt = stats.receiver_rtt.expect("a receive-only endpoint learns the RTT from XR");
    assert!(rtt >= std::time::Duration::from_millis(19) && rtt <= std::time::Duration::from_millis(40), "{rtt:?}");
    assert_eq!(got[0].mid, "0");
    // A's sender reports carry its wall clock (set in `Sim`'s config): NTP
    // seconds since 1900 = Unix seconds + 2,208,988,800.
    let clock = s.pc[1].sender_clock(got[0].ssrc).expect("a sender report arrived");
    let ntp_seconds = clock.ntp_time >> 32;
    let expected = common::WALL_CLOCK_UNIX_SECS + 2_208_988_800;
    assert!((expected..expected + 60).contains(&ntp_seconds), "{ntp_seconds}");
    assert!(s.pc[0].media_stats().unwrap().rtp_sent > 100);
}

#[test]
fn video_survives_5_percent_loss_through_nack_and_rtx() {
    let link = netsim::LinkConfig {
        latency: std::time::Duration::from_millis(25),
        loss: 0.05,
        ..netsim::LinkConfig::default()
    };
    let mut s = Sim::new(12, link);
    let (sent, got) = send_video(&mut s, 100);
    // Every frame is recovered by retransmission, byte for byte, in order.
    let data: Vec<&bytes::Bytes> = got.iter().map(|g| &g.data).collect();
    assert_eq!(data, sent.iter().collect::<Vec<_>>(), "frames lost or damaged at 5% loss");
    let a = s.pc[0].media_stats().unwrap();
    assert!(a.retransmissions_sent > 0, "no retransmission at 5% loss: {a:?}");
}

/// A remote offer's transceivers go when it is rolled back or replaced
/// before it was answered (W3C), so offers with ever new mids cannot pile
/// transceivers up; a transceiver of ours that it took keeps none of its mid.
#[test]
fn a_rolled_back_or_replaced_remote_offer_takes_its_transceivers_with_it() {
    let mut pc = PeerConnection::new(common::config(8), vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
    let now = std::time::Instant::now();
    let ours = pc.add_transceiver(MediaKind::Video, Direction::SendRecv).unwrap();
    let offer = || SessionDescription { kind: SdpType::Offer, sdp: CHROMIUM_OFFER.into() };
    for round in 0..50 {
        pc.set_remote_description(now, offer()).unwrap();
        // Audio made by the offer, and ours taken for its video.
        assert_eq!(pc.transceivers().len(), 2, "round {round}");
        assert_eq!(pc.transceiver(ours).unwrap().mid.as_deref(), Some("1"));
        if round % 2 == 0 {
            pc.set_remote_description(now, SessionDescription { kind: SdpType::Rollback, sdp: String::new() }).unwrap();
            assert_eq!(pc.transceivers().len(), 1, "round {round}: rollback");
            assert_eq!(pc.transceiver(ours).unwrap().mid, None);
        }
    }
    // Answered at last: the association stays.
    pc.set_local_description(now, None).unwrap();
    assert_eq!(pc.transceivers().len(), 2);
}

/// An application that drives the I/O but never reads events cannot make
/// the core hold more than `MAX_QUEUED_FRAMES` frames; once it reads them,
/// frames flow again.
#[test]
fn unread_frame_events_are_bounded() {
    let mut s = Sim::perfect(13);
    let tx = s.pc[0].add_transceiver(MediaKind::Video, Direction::SendOnly).unwrap();
    s.negotiate(0);
    assert!(s.run(10 * SEC, |s| s.connected()));
    let vp8 = s.pc[0].codecs(tx).into_iter().find(|c| c.name == "VP8").unwrap();
    let send = |s: &mut Sim, range: std::ops::Range<u32>| {
        for n in range {
            let now = s.now();
            s.pc[0].write_frame(now, tx, vp8.payload_type, n * 3600, vp8_frame(n, 200)).unwrap();
            s.settle(std::time::Duration::from_millis(5));
        }
        s.settle(SEC);
    };
    s.hold_events[1] = true;
    send(&mut s, 0..1500);
    let mut held = Vec::new();
    while let Some(e) = s.pc[1].poll_event() {
        held.push(e);
    }
    let frames = frames_at(&held);
    assert_eq!(frames.len(), peer::MAX_QUEUED_FRAMES, "the newest beyond the bound are dropped");
    assert_eq!(s.pc[1].media_stats().unwrap().frames, 1500, "all 1,500 arrived at the session");
    s.hold_events[1] = false;
    send(&mut s, 1500..1510);
    assert_eq!(frames_at(&s.events[1]).len(), 10, "read again, frames flow again");
}

const RIDS: [&str; 3] = ["h", "m", "l"];

/// Offers a simulcast video transceiver from A (RIDs h, m, l) and
/// negotiates it with B; returns A's transceiver and the VP8 payload type.
fn simulcast_call(s: &mut Sim) -> (peer::TransceiverId, u8) {
    let init = peer::TransceiverInit::simulcast(Direction::SendOnly, &RIDS);
    let tx = s.pc[0].add_transceiver_with(MediaKind::Video, init).unwrap();
    s.negotiate(0);
    assert!(s.run(10 * SEC, |s| s.connected()));
    let vp8 = s.pc[0].codecs(tx).into_iter().find(|c| c.name == "VP8").unwrap();
    (tx, vp8.payload_type)
}

/// Simulcast (RFC 8853) between two cores: the offer names three RIDs and
/// no SSRC, the answer takes all three, each encoding leaves on its own
/// SSRC marked with its RID, and the receiver tells them apart by RID
/// alone, at 5% loss (RTX carries the repaired RID), byte for byte and in
/// order; keyframe requests name the encoding.
#[test]
fn simulcast_encodings_cross_as_separate_streams_told_apart_by_rid() {
    let link = netsim::LinkConfig {
        latency: std::time::Duration::from_millis(25),
        loss: 0.05,
        ..netsim::LinkConfig::default()
    };
    let mut s = Sim::new(14, link);
    let (tx, pt) = simulcast_call(&mut s);
    let offer = s.pc[1].remote_description().unwrap().sdp;
    assert_eq!(lines(&offer, "a=rid:"), ["a=rid:h send", "a=rid:m send", "a=rid:l send"], "{offer}");
    assert_eq!(lines(&offer, "a=simulcast:"), ["a=simulcast:send h;m;l"]);
    assert!(lines(&offer, "a=ssrc").is_empty(), "simulcast streams are announced by RID: {offer}");
    let answer = s.pc[1].local_description().unwrap().sdp;
    assert_eq!(lines(&answer, "a=rid:"), ["a=rid:h recv", "a=rid:m recv", "a=rid:l recv"], "{answer}");
    assert_eq!(lines(&answer, "a=simulcast:"), ["a=simulcast:recv h;m;l"]);
    assert_eq!(s.pc[0].transceiver(tx).unwrap().send_rids, RIDS);

    // Each encoding at its own size: l 1/4, m 1/2, h whole.
    let size = |rid: &str, n: u32| {
        let base = if n.is_multiple_of(50) { 12_000 } else { 1_500 + (n as usize * 37) % 2_000 };
        match rid {
            "h" => base,
            "m" => base / 2,
            _ => base / 4,
        }
    };
    let mut sent: Vec<(String, bytes::Bytes)> = Vec::new();
    // 100 frames each, then 10 more that only make losses at the end of the
    // 100 detectable (a packet lost with nothing after it is never missed).
    for n in 0..110u32 {
        for rid in RIDS {
            let now = s.now();
            let f = vp8_frame(n, size(rid, n));
            s.pc[0].write_frame_rid(now, tx, rid, pt, n * 3600, f.clone()).unwrap();
            if n < 100 {
                sent.push((rid.to_string(), f));
            }
        }
        s.settle(std::time::Duration::from_millis(40));
    }
    s.settle(2 * SEC);
    let got = frames_at(&s.events[1]);
    for rid in RIDS {
        let want: Vec<&bytes::Bytes> = sent.iter().filter(|(r, _)| r == rid).map(|(_, f)| f).collect();
        let have: Vec<&peer::MediaFrame> = got.iter().filter(|f| f.rid.as_deref() == Some(rid)).take(100).collect();
        let first_bad = have.iter().zip(&want).position(|(h, w)| h.data != **w);
        let lens = |i: usize| (have.get(i).map(|f| f.data.len()), want.get(i).map(|w| w.len()));
        let where_ = first_bad.map(lens);
        assert_eq!(
            (have.len(), first_bad),
            (want.len(), None),
            "encoding {rid}: lost, damaged or reordered {where_:?}"
        );
        assert!(have.iter().all(|f| f.ssrc == have[0].ssrc), "one SSRC per encoding");
    }
    let mut ssrcs: Vec<u32> = got.iter().map(|f| f.ssrc).collect();
    ssrcs.sort_unstable();
    ssrcs.dedup();
    assert_eq!(ssrcs.len(), 3, "three SSRCs");
    assert!(got.iter().all(|f| f.rid.is_some()), "nothing without RID");
    let b = s.pc[1].media_stats().unwrap();
    assert!(b.rtx_recovered > 0, "RTX (with the repaired RID) recovered losses: {b:?}");
    assert_eq!(b.remote_streams, 3);

    // B asks the section for a keyframe: one request per encoding, each named.
    let b_tx = s.pc[1].transceivers()[0].id;
    s.events[0].clear();
    let now = s.now();
    s.pc[1].request_keyframe(now, b_tx, peer::KeyframeRequestKind::Pli).unwrap();
    s.settle(SEC);
    let mut asked: Vec<String> = s.events[0]
        .iter()
        .filter_map(|e| match e {
            PeerEvent::KeyframeRequested(t, _, rid) if *t == tx => rid.clone(),
            _ => None,
        })
        .collect();
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["h", "l", "m"], "every encoding is asked, by RID");

    // Or one encoding only (an SFU switching a receiver to it).
    s.settle(2 * SEC);
    s.events[0].clear();
    let now = s.now();
    s.pc[1].request_keyframe_rid(now, b_tx, "m", peer::KeyframeRequestKind::Pli).unwrap();
    s.settle(SEC);
    let asked: Vec<String> = s.events[0]
        .iter()
        .filter_map(|e| match e {
            PeerEvent::KeyframeRequested(t, _, rid) if *t == tx => rid.clone(),
            _ => None,
        })
        .collect();
    // (B also asks for "h" on its own: that stream's last frame lost its tail, and B
    // asks until a keyframe comes. "l" arrived whole and is not asked.)
    assert!(asked.contains(&"m".to_string()) && !asked.contains(&"l".to_string()), "{asked:?}");
    let now = s.now();
    assert!(s.pc[1].request_keyframe_rid(now, b_tx, "zz", peer::KeyframeRequestKind::Pli).is_err());

    let now = s.now();
    let err = s.pc[0].write_frame_rid(now, tx, "x", pt, 0, vp8_frame(1, 100)).unwrap_err();
    assert!(err.to_string().contains("rid \"x\""), "{err}");
}

/// A peer that does not take simulcast (here: it does not know the RID
/// extension) gets the first encoding alone, as one plain stream with
/// `a=ssrc` lines.
#[test]
fn a_peer_that_declines_simulcast_gets_the_first_encoding_alone() {
    let mut s = Sim::perfect(15);
    let mut caps = peer::MediaCapabilities::default();
    caps.extensions.retain(|e| !e.uri.contains("rtp-stream-id"));
    let config = peer::PeerConfig { media: caps, ..common::config_at(152, s.now()) };
    s.pc[1] = PeerConnection::new(config, vec![s.addr[1]]).unwrap();
    let (tx, pt) = simulcast_call(&mut s);
    let answer = s.pc[1].local_description().unwrap().sdp;
    assert!(lines(&answer, "a=simulcast").is_empty() && lines(&answer, "a=rid").is_empty(), "{answer}");
    let info = s.pc[0].transceiver(tx).unwrap();
    assert_eq!(info.rids, RIDS, "asked for");
    assert!(info.send_rids.is_empty(), "negotiated: one stream");
    for n in 0..20u32 {
        let now = s.now();
        s.pc[0].write_frame(now, tx, pt, n * 3600, vp8_frame(n, 2_000)).unwrap();
        s.settle(std::time::Duration::from_millis(40));
    }
    let now = s.now();
    assert!(s.pc[0].write_frame_rid(now, tx, "m", pt, 0, vp8_frame(1, 100)).is_err());
    s.settle(SEC);
    let got = frames_at(&s.events[1]);
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|f| f.rid.is_none() && f.ssrc == info.ssrc), "the first encoding's SSRC, no RID");
}

#[test]
fn send_encodings_are_checked() {
    let mut pc = PeerConnection::new(common::config(9), vec!["127.0.0.1:5000".parse().unwrap()]).unwrap();
    for (rids, why) in [
        (&["h", "h"][..], "distinct"),
        (&["a", "b", "c", "d", "e"][..], "at most 4"),
        (&["no spaces"][..], "RFC 8851"),
        (&["seventeen-bytes-x"][..], "RFC 8851"),
    ] {
        let init = peer::TransceiverInit::simulcast(Direction::SendOnly, rids);
        let err = pc.add_transceiver_with(MediaKind::Video, init).unwrap_err();
        assert!(err.to_string().contains(why), "{rids:?}: {err}");
    }
    assert!(pc.transceivers().is_empty());
}
