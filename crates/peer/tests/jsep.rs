//! JSEP (RFC 9429) with the W3C signaling states: offers and answers both
//! ways, descriptions at each step, errors that change nothing, rollback,
//! glare, browser and legacy offers, renegotiation, rejected sections.

mod common;

use bytes::Bytes;
use common::{lines, ufrag, Sim, SEC};
use datachannel::ChannelEvent;
use datachannel::ChannelInit;
use peer::{PeerError, PeerEvent, SdpType, SessionDescription, SignalingState};

fn kind(d: Option<SessionDescription>) -> Option<SdpType> {
    d.map(|d| d.kind)
}

#[test]
fn offer_answer_with_descriptions_at_each_step() {
    let mut s = Sim::perfect(2);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("chat")).unwrap();
    s.flush_all();
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
    for p in &s.pc {
        assert_eq!(p.signaling_state(), SignalingState::Stable);
        assert!(p.local_description().is_none() && p.remote_description().is_none());
    }

    // Offer, set locally (implicit createOffer).
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    assert_eq!(offer.kind, SdpType::Offer);
    assert_eq!(lines(&offer.sdp, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel").len(), 1);
    assert_eq!(lines(&offer.sdp, "a=setup:actpass").len(), 1);
    let a = &s.pc[0];
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(kind(a.pending_local_description()), Some(SdpType::Offer));
    assert!(a.current_local_description().is_none());
    assert_eq!(kind(a.local_description()), Some(SdpType::Offer));
    assert!(a.remote_description().is_none());

    s.pc[1].set_remote_description(now, offer.clone()).unwrap();
    let b = &s.pc[1];
    assert_eq!(b.signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(b.pending_remote_description(), Some(offer.clone()));
    assert!(b.current_remote_description().is_none());
    assert_eq!(b.remote_description(), Some(offer.clone()));
    assert!(b.local_description().is_none());

    let answer = s.pc[1].set_local_description(now, None).unwrap();
    assert_eq!(answer.kind, SdpType::Answer);
    assert_eq!(lines(&answer.sdp, "a=setup:active").len(), 1);
    let b = &s.pc[1];
    assert_eq!(b.signaling_state(), SignalingState::Stable);
    assert_eq!(kind(b.current_local_description()), Some(SdpType::Answer));
    assert_eq!(b.current_remote_description(), Some(offer.clone()));
    assert!(b.pending_local_description().is_none() && b.pending_remote_description().is_none());

    s.pc[0].set_remote_description(now, answer.clone()).unwrap();
    let a = &s.pc[0];
    assert_eq!(a.signaling_state(), SignalingState::Stable);
    assert_eq!(kind(a.current_local_description()), Some(SdpType::Offer));
    assert_eq!(a.current_remote_description(), Some(answer));
    assert!(a.pending_local_description().is_none() && a.pending_remote_description().is_none());

    s.flush_all();
    assert_eq!(s.signaling_changes(0), vec![SignalingState::HaveLocalOffer, SignalingState::Stable]);
    assert_eq!(s.signaling_changes(1), vec![SignalingState::HaveRemoteOffer, SignalingState::Stable]);
    assert!(s.run(30 * SEC, |s| s.opened(0, h) && s.incoming(1, "chat").is_some()));
    assert!(s.connected());

    let b = s.incoming(1, "chat").unwrap();
    // The other way round: node 1 offers, node 0 answers; still connected.
    s.events = [Vec::new(), Vec::new()];
    s.negotiate(1);
    assert_eq!(s.signaling_changes(1), vec![SignalingState::HaveLocalOffer, SignalingState::Stable]);
    assert_eq!(s.signaling_changes(0), vec![SignalingState::HaveRemoteOffer, SignalingState::Stable]);
    assert_eq!(kind(s.pc[1].current_local_description()), Some(SdpType::Offer));
    assert_eq!(kind(s.pc[0].current_local_description()), Some(SdpType::Answer));
    // Roles stay: the DTLS client (node 1 answered active) stays active.
    assert_eq!(lines(&s.pc[1].current_local_description().unwrap().sdp, "a=setup:active").len(), 1);
    assert_eq!(lines(&s.pc[0].current_local_description().unwrap().sdp, "a=setup:passive").len(), 1);
    s.settle(2 * SEC);
    assert!(s.connected());
    s.send(0, h, b"after renegotiation");
    assert!(s.run(5 * SEC, |s| s.messages(1, b).len() == 1));
}

#[test]
fn modified_descriptions_are_invalid_modifications() {
    let mut s = Sim::perfect(3);
    let now = s.now();
    s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    let offer = s.pc[0].create_offer(now, false).unwrap();
    let munged = SessionDescription::offer(offer.sdp.replace("a=max-message-size:262144", "a=max-message-size:1000"));
    assert!(matches!(s.pc[0].set_local_description(now, Some(munged)), Err(PeerError::InvalidModification(_))));
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert!(s.pc[0].local_description().is_none());
    s.pc[0].set_local_description(now, Some(offer.clone())).unwrap();
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].create_answer().unwrap();
    let munged = SessionDescription::answer(answer.sdp.replace("a=setup:active", "a=setup:passive"));
    assert!(matches!(s.pc[1].set_local_description(now, Some(munged)), Err(PeerError::InvalidModification(_))));
    assert_eq!(s.pc[1].signaling_state(), SignalingState::HaveRemoteOffer);
    assert!(s.pc[1].local_description().is_none());
    s.pc[1].set_local_description(now, Some(answer)).unwrap();
    assert_eq!(s.pc[1].signaling_state(), SignalingState::Stable);
}

#[test]
fn calls_in_the_wrong_state_fail_and_change_nothing() {
    let mut s = Sim::perfect(4);
    let now = s.now();
    s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    s.flush_all();
    s.events = [Vec::new(), Vec::new()];
    let offer = s.pc[0].create_offer(now, false).unwrap();
    let fake_answer = SessionDescription::answer(offer.sdp.clone());
    // Stable: no answers, no rollbacks, no createAnswer.
    let invalid = |r: Result<(), PeerError>| matches!(r, Err(PeerError::InvalidState(_)));
    assert!(invalid(s.pc[1].set_remote_description(now, fake_answer.clone()).map(drop)));
    assert!(invalid(s.pc[1].set_local_description(now, Some(fake_answer.clone())).map(drop)));
    assert!(invalid(s.pc[1].set_local_description(now, Some(SessionDescription::rollback())).map(drop)));
    assert!(invalid(s.pc[1].set_remote_description(now, SessionDescription::rollback()).map(drop)));
    assert!(invalid(s.pc[1].create_answer().map(drop)));
    assert!(invalid(s.pc[1].add_ice_candidate(now, None)));
    // HaveLocalOffer: no remote rollback, no local answer, no createAnswer.
    s.pc[0].set_local_description(now, Some(offer.clone())).unwrap();
    s.flush_all();
    s.events = [Vec::new(), Vec::new()];
    assert!(invalid(s.pc[0].set_remote_description(now, SessionDescription::rollback()).map(drop)));
    assert!(invalid(s.pc[0].set_local_description(now, Some(fake_answer.clone())).map(drop)));
    assert!(invalid(s.pc[0].create_answer().map(drop)));
    assert_eq!(s.pc[0].signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(s.pc[0].pending_local_description().map(|d| d.kind), Some(SdpType::Offer));
    // HaveRemoteOffer: no local offer, no remote answer, no local rollback.
    s.pc[1].set_remote_description(now, offer.clone()).unwrap();
    s.flush_all();
    s.events = [Vec::new(), Vec::new()];
    assert!(invalid(s.pc[1].create_offer(now, false).map(drop)));
    assert!(invalid(s.pc[1].set_remote_description(now, fake_answer).map(drop)));
    assert!(invalid(s.pc[1].set_local_description(now, Some(SessionDescription::rollback())).map(drop)));
    assert_eq!(s.pc[1].signaling_state(), SignalingState::HaveRemoteOffer);
    assert_eq!(s.pc[1].pending_remote_description(), Some(offer));
    assert!(s.pc[1].local_description().is_none());
    // Malformed remote description.
    assert!(matches!(
        s.pc[0].set_remote_description(now, SessionDescription::answer("not sdp")),
        Err(PeerError::InvalidDescription(_))
    ));
    assert_eq!(s.pc[0].signaling_state(), SignalingState::HaveLocalOffer);
    s.flush_all();
    assert!(s.signaling_changes(0).is_empty() && s.signaling_changes(1).is_empty(), "{:?}", s.events);
    // And the exchange still completes.
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    assert!(s.run(30 * SEC, |s| s.connected()));
}

#[test]
fn rollback_of_a_local_offer() {
    let mut s = Sim::perfect(5);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    s.pc[0].set_local_description(now, None).unwrap();
    s.pc[0].set_local_description(now, Some(SessionDescription::rollback())).unwrap();
    s.flush_all();
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert!(s.pc[0].local_description().is_none());
    assert_eq!(s.signaling_changes(0), vec![SignalingState::HaveLocalOffer, SignalingState::Stable]);
    // Still needed after the rollback: fired again (W3C "update the
    // negotiation-needed flag" on returning to stable).
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 2);
    // A fresh exchange works and the channel opens.
    s.negotiate(0);
    assert!(s.run(30 * SEC, |s| s.opened(0, h)));
}

#[test]
fn rollback_of_a_remote_offer() {
    let mut s = Sim::perfect(6);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    s.pc[1].set_remote_description(now, offer.clone()).unwrap();
    s.pc[1].set_remote_description(now, SessionDescription::rollback()).unwrap();
    assert_eq!(s.pc[1].signaling_state(), SignalingState::Stable);
    assert!(s.pc[1].remote_description().is_none());
    s.flush_all();
    assert_eq!(s.signaling_changes(1), vec![SignalingState::HaveRemoteOffer, SignalingState::Stable]);
    // The same offer applied again completes.
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    assert!(s.run(30 * SEC, |s| s.opened(0, h) && s.incoming(1, "x").is_some()));
}

#[test]
fn glare_ends_connected_with_both_channels() {
    let mut s = Sim::perfect(7);
    let now = s.now();
    let a = s.pc[0].create_data_channel(now, ChannelInit::new("from a")).unwrap();
    let b = s.pc[1].create_data_channel(now, ChannelInit::new("from b")).unwrap();
    let offer_a = s.pc[0].set_local_description(now, None).unwrap();
    let _offer_b = s.pc[1].set_local_description(now, None).unwrap();
    // Node 1 is polite: it takes node 0's offer (implicit rollback of its own).
    s.pc[1].set_remote_description(now, offer_a).unwrap();
    assert_eq!(s.pc[1].signaling_state(), SignalingState::HaveRemoteOffer);
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    s.flush_all();
    assert_eq!(
        s.signaling_changes(1),
        vec![
            SignalingState::HaveLocalOffer,
            SignalingState::Stable,
            SignalingState::HaveRemoteOffer,
            SignalingState::Stable
        ]
    );
    assert!(s.run(30 * SEC, |s| s.opened(0, a)
        && s.opened(1, b)
        && s.incoming(1, "from a").is_some()
        && s.incoming(0, "from b").is_some()));
    assert!(s.connected());
    let a_at_1 = s.incoming(1, "from a").unwrap();
    let b_at_0 = s.incoming(0, "from b").unwrap();
    s.send(0, a, b"a->b");
    s.send(1, b, b"b->a");
    assert!(s.run(5 * SEC, |s| s.messages(1, a_at_1).len() == 1 && s.messages(0, b_at_0).len() == 1));
}

/// Chrome's offer for a camera page with a data channel (audio, video and
/// data, all bundled), with candidates we can reach.
fn browser_offer() -> String {
    let sdp = include_str!("../../sdp/tests/fixtures/chrome_offer.sdp");
    sdp.lines().filter(|l| !l.starts_with("a=candidate:")).map(|l| format!("{l}\r\n")).collect()
}

#[test]
fn browser_camera_offer_is_answered_with_media_and_data() {
    let mut s = Sim::perfect(8);
    let now = s.now();
    s.pc[1].set_remote_description(now, SessionDescription::offer(browser_offer())).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    let sdp = &answer.sdp;
    let m: Vec<&str> = lines(sdp, "m=");
    assert_eq!(
        m,
        vec![
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8",
            "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 45 46 102 103",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        ]
    );
    assert_eq!(lines(sdp, "a=group:"), vec!["a=group:BUNDLE 0 1 2"]);
    assert_eq!(lines(sdp, "a=mid:"), vec!["a=mid:0", "a=mid:1", "a=mid:2"]);
    let sections: Vec<&str> = sdp.split("m=").skip(1).collect();
    for media in &sections[..2] {
        for attr in ["a=ice-ufrag", "a=fingerprint", "a=setup:active", "a=rtpmap", "a=recvonly", "a=rtcp-mux"] {
            assert!(media.contains(attr), "media section lacks {attr}: {media}");
        }
    }
    // A video section with no codec of ours is rejected and carries nothing
    // but its mid.
    let unknown = browser_offer()
        .replace(" VP8/", " XVP8/")
        .replace(" VP9/", " XVP9/")
        .replace(" AV1/", " XAV1/")
        .replace(" H264/", " XH264/");
    let mut r = Sim::perfect(9);
    r.pc[1].set_remote_description(now, SessionDescription::offer(unknown)).unwrap();
    let rejected_answer = r.pc[1].set_local_description(now, None).unwrap().sdp;
    assert!(lines(&rejected_answer, "m=")[1].starts_with("m=video 0 "), "{rejected_answer}");
    assert_eq!(lines(&rejected_answer, "a=group:"), vec!["a=group:BUNDLE 0 2"]);
    let rejected = rejected_answer.split("m=").nth(2).unwrap();
    for attr in
        ["a=ice-ufrag", "a=fingerprint", "a=setup", "a=rtpmap", "a=sendrecv", "a=rtcp-mux", "a=ssrc", "a=candidate"]
    {
        assert!(!rejected.contains(attr), "rejected section has {attr}: {rejected}");
    }
    let data = sections[2];
    for want in [
        "a=setup:active",
        "a=mid:2",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 ",
        "c=IN IP4 0.0.0.0",
    ] {
        assert!(data.contains(want), "data section lacks {want}: {data}");
    }
    assert_eq!(lines(sdp, "a=ice-ufrag:").len(), 3);
    assert_eq!(lines(sdp, "a=ice-pwd:").len(), 3);
    assert!(!sdp.contains("a=sctpmap"));
    assert!(sdp.starts_with("v=0\r\n"));
    let parsed = sdp::SessionDescription::parse(sdp).unwrap();
    assert_eq!(parsed.media.len(), 3);
    assert!(parsed.media.iter().all(|m| !m.is_rejected()));
    assert_eq!(s.pc[1].signaling_state(), SignalingState::Stable);
}

#[test]
fn legacy_sctpmap_offer_is_answered_in_kind() {
    let mut s = Sim::perfect(9);
    let now = s.now();
    let offer = include_str!("../../sdp/tests/fixtures/legacy_sctpmap_offer.sdp");
    s.pc[1].set_remote_description(now, SessionDescription::offer(offer)).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    let sdp = &answer.sdp;
    assert_eq!(lines(sdp, "m="), vec!["m=application 9 DTLS/SCTP 5000"]);
    assert_eq!(lines(sdp, "a=sctpmap:"), vec!["a=sctpmap:5000 webrtc-datachannel 65535"]);
    assert!(lines(sdp, "a=sctp-port").is_empty());
    assert_eq!(lines(sdp, "a=mid:"), vec!["a=mid:data"]);
    assert_eq!(lines(sdp, "a=group:"), vec!["a=group:BUNDLE data"]);
    assert_eq!(lines(sdp, "a=setup:"), vec!["a=setup:active"]);
}

#[test]
fn channel_created_after_a_first_exchange_without_data_renegotiates() {
    let mut s = Sim::perfect(10);
    // First exchange with nothing in it.
    s.negotiate(0);
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert!(lines(&s.pc[0].current_local_description().unwrap().sdp, "m=").is_empty());
    s.events = [Vec::new(), Vec::new()];
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("late")).unwrap();
    let h2 = s.pc[0].create_data_channel(now, ChannelInit::new("later")).unwrap();
    s.flush_all();
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1, "one event for two channels");
    s.negotiate(0);
    let sdp = s.pc[0].current_local_description().unwrap().sdp;
    assert_eq!(lines(&sdp, "m="), vec!["m=application 9 UDP/DTLS/SCTP webrtc-datachannel"]);
    assert!(s.run(30 * SEC, |s| s.opened(0, h) && s.opened(0, h2) && s.incoming(1, "late").is_some()));
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
    let b = s.incoming(1, "late").unwrap();
    s.send(0, h, b"late hello");
    assert!(s.run(5 * SEC, |s| s.messages(1, b) == vec![Bytes::from_static(b"late hello")]));
    // A third channel on the negotiated section needs no negotiation.
    let now = s.now();
    let h3 = s.pc[0].create_data_channel(now, ChannelInit::new("third")).unwrap();
    assert!(s.run(5 * SEC, |s| s.opened(0, h3)));
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
}

#[test]
fn answer_rejecting_data_closes_pending_channels() {
    let mut s = Sim::perfect(11);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("doomed")).unwrap();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].create_answer().unwrap();
    let rejected = answer.sdp.replace("m=application 9 ", "m=application 0 ");
    assert_ne!(rejected, answer.sdp);
    s.pc[0].set_remote_description(now, SessionDescription::answer(rejected)).unwrap();
    s.flush_all();
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert_eq!(s.count(0, &PeerEvent::Channel(h, ChannelEvent::Closed)), 1);
    assert!(s.pc[0].channel_state(h).is_none());
    assert!(matches!(s.pc[0].send(now, h, Bytes::from_static(b"x"), false), Err(PeerError::NoSuchChannel(_))));
}

#[test]
fn ice_restart_keeps_the_connection_and_data_flows() {
    let mut s = Sim::perfect(12);
    let (a, b) = s.connect_with_channel("chat");
    let old_ufrag = [ufrag(&s.pc[0].local_description().unwrap()), ufrag(&s.pc[1].local_description().unwrap())];
    s.events = [Vec::new(), Vec::new()];
    s.pc[0].restart_ice();
    s.flush_all();
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
    let now = s.now();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    assert_ne!(ufrag(&offer), old_ufrag[0], "the restart offer has new credentials");
    assert_ne!(lines(&offer.sdp, "a=ice-pwd:"), lines(&s.pc[0].current_local_description().unwrap().sdp, "a=ice-pwd:"));
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    assert_ne!(ufrag(&answer), old_ufrag[1], "the answer to a restart has new credentials");
    s.pc[0].set_remote_description(now, answer).unwrap();
    s.settle(5 * SEC);
    assert!(s.connected(), "{:?} / {:?}", s.pc[0].connection_state(), s.pc[1].connection_state());
    // No further negotiation needed.
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
    s.send(0, a, b"after restart");
    s.send(1, b, b"me too");
    assert!(s.run(10 * SEC, |s| s.messages(1, b).len() == 1 && s.messages(0, a).len() == 1));
}

#[test]
fn a_broken_remote_offer_in_glare_leaves_our_offer_in_place() {
    let mut s = Sim::perfect(13);
    let now = s.now();
    s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    s.flush_all();
    s.events = [Vec::new(), Vec::new()];
    // Not SDP, and SDP whose data section lacks ICE credentials.
    let no_ice: String = offer.sdp.lines().filter(|l| !l.starts_with("a=ice-")).map(|l| format!("{l}\r\n")).collect();
    for bad in ["garbage".to_string(), no_ice] {
        let r = s.pc[0].set_remote_description(now, SessionDescription::offer(bad));
        assert!(matches!(r, Err(PeerError::InvalidDescription(_))), "{r:?}");
        assert_eq!(s.pc[0].signaling_state(), SignalingState::HaveLocalOffer);
        assert_eq!(s.pc[0].pending_local_description().map(|d| d.kind), Some(SdpType::Offer));
    }
    s.flush_all();
    assert!(s.signaling_changes(0).is_empty(), "{:?}", s.events[0]);
    // Our offer is still good.
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].set_local_description(now, None).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    assert!(s.run(30 * SEC, |s| s.connected()));
}

#[test]
fn rolling_back_an_ice_restart_offer_keeps_the_connection() {
    let mut s = Sim::perfect(14);
    let (a, b) = s.connect_with_channel("chat");
    let before = ufrag(&s.pc[0].local_description().unwrap());
    s.pc[0].restart_ice();
    let now = s.now();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    assert_ne!(ufrag(&offer), before);
    s.pc[0].set_local_description(now, Some(SessionDescription::rollback())).unwrap();
    assert_eq!(ufrag(&s.pc[0].local_description().unwrap()), before);
    s.events = [Vec::new(), Vec::new()];
    // Long enough for consent to expire if our agent had switched credentials.
    s.settle(60 * SEC);
    assert!(s.connected(), "{:?} / {:?}", s.connection_states(0), s.connection_states(1));
    s.send(0, a, b"still here");
    assert!(s.run(5 * SEC, |s| s.messages(1, b).len() == 1));
}

#[test]
fn the_answerer_adds_a_channel_later_and_offers_it() {
    let mut s = Sim::perfect(15);
    s.negotiate(0);
    s.events = [Vec::new(), Vec::new()];
    let now = s.now();
    let h = s.pc[1].create_data_channel(now, ChannelInit::new("from the answerer")).unwrap();
    s.flush_all();
    assert_eq!(s.count(1, &PeerEvent::NegotiationNeeded), 1);
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 0);
    s.negotiate(1);
    assert!(s.run(30 * SEC, |s| s.opened(1, h) && s.incoming(0, "from the answerer").is_some()));
    let a = s.incoming(0, "from the answerer").unwrap();
    s.send(1, h, b"hi");
    s.send(0, a, b"ho");
    assert!(s.run(5 * SEC, |s| s.messages(0, a).len() == 1 && s.messages(1, h).len() == 1));
    // The DTLS roles are consistent: exactly one client.
    let setups: Vec<String> =
        s.pc.iter().map(|p| lines(&p.current_local_description().unwrap().sdp, "a=setup:")[0].to_string()).collect();
    assert!(
        setups.contains(&"a=setup:active".to_string()) && setups.contains(&"a=setup:passive".to_string()),
        "{setups:?}"
    );
}

#[test]
fn provisional_answers_then_final_answer() {
    let mut s = Sim::perfect(16);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    let offer = s.pc[0].set_local_description(now, None).unwrap();
    s.pc[1].set_remote_description(now, offer).unwrap();
    let answer = s.pc[1].create_answer().unwrap();
    let pranswer = SessionDescription { kind: SdpType::Pranswer, sdp: answer.sdp.clone() };
    s.pc[1].set_local_description(now, Some(pranswer.clone())).unwrap();
    assert_eq!(s.pc[1].signaling_state(), SignalingState::HaveLocalPranswer);
    s.pc[0].set_remote_description(now, pranswer).unwrap();
    assert_eq!(s.pc[0].signaling_state(), SignalingState::HaveRemotePranswer);
    assert_eq!(s.pc[0].pending_remote_description().map(|d| d.kind), Some(SdpType::Pranswer));
    assert!(s.pc[0].current_remote_description().is_none());
    s.pc[1].set_local_description(now, Some(answer.clone())).unwrap();
    s.pc[0].set_remote_description(now, answer).unwrap();
    for p in &s.pc {
        assert_eq!(p.signaling_state(), SignalingState::Stable);
        assert!(p.pending_local_description().is_none() && p.pending_remote_description().is_none());
    }
    assert_eq!(s.pc[0].current_remote_description().map(|d| d.kind), Some(SdpType::Answer));
    assert!(s.run(30 * SEC, |s| s.opened(0, h) && s.connected()));
}

/// Answering an offer that has no data section (the peer offered first,
/// knowing nothing of our channel) must not close our channel: we still
/// need to negotiate it, and then it opens.
#[test]
fn answering_an_offer_without_data_keeps_our_pending_channel() {
    let mut s = Sim::perfect(17);
    let now = s.now();
    let h = s.pc[0].create_data_channel(now, ChannelInit::new("mine")).unwrap();
    s.flush_all();
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 1);
    // Node 1 offers first, without any section.
    s.negotiate(1);
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert!(!s.events[0].contains(&PeerEvent::Channel(h, ChannelEvent::Closed)), "{:?}", s.events[0]);
    assert_eq!(s.pc[0].channel_state(h), Some(datachannel::ReadyState::Connecting));
    assert_eq!(s.count(0, &PeerEvent::NegotiationNeeded), 2, "still needed after the exchange");
    s.negotiate(0);
    assert!(s.run(30 * SEC, |s| s.opened(0, h) && s.incoming(1, "mine").is_some()));
}

/// Real offers captured from Chromium 156 and Firefox ESR 153 with a fake
/// camera and a data channel: each is answered with audio, video and data
/// accepted and bundled, setup active.
#[test]
fn captured_browser_offers_are_answered_with_media_and_data() {
    for (name, sdp) in [
        ("chromium", include_str!("../../sdp/tests/fixtures/chromium156_captured_media_offer.sdp")),
        ("firefox", include_str!("../../sdp/tests/fixtures/firefox153esr_captured_media_offer.sdp")),
    ] {
        let offer: String =
            sdp.lines().filter(|l| !l.starts_with("a=candidate:")).map(|l| format!("{l}\r\n")).collect();
        let mut s = Sim::perfect(31);
        let now = s.now();
        s.pc[1].set_remote_description(now, SessionDescription::offer(offer)).unwrap();
        let answer = s.pc[1].set_local_description(now, None).unwrap().sdp;
        let m = lines(&answer, "m=");
        assert_eq!(m.len(), 3, "{name}: {answer}");
        assert!(m[0].starts_with("m=audio 9 UDP/TLS/RTP/SAVPF ") && m[1].starts_with("m=video 9 "), "{name}: {m:?}");
        assert_eq!(m[2], "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "{name}");
        assert_eq!(lines(&answer, "a=group:"), vec!["a=group:BUNDLE 0 1 2"], "{name}");
        assert_eq!(lines(&answer, "a=recvonly").len(), 2, "{name}: we have no tracks to send");
        assert_eq!(lines(&answer, "a=setup:"), vec!["a=setup:active"; 3], "{name}");
    }
}

/// RFC 8841: `a=max-message-size:0` means no limit, not "nothing fits".
#[test]
fn max_message_size_zero_means_no_limit() {
    let offer = browser_offer().replace("a=max-message-size:262144", "a=max-message-size:0");
    assert!(offer.contains("a=max-message-size:0"));
    let mut s = Sim::perfect(33);
    let now = s.now();
    s.pc[1].set_remote_description(now, SessionDescription::offer(offer)).unwrap();
    s.pc[1].set_local_description(now, None).unwrap();
    assert_eq!(s.pc[1].remote_max_message_size(), None, "no limit");
    // The same offer with a limit gives that limit.
    let mut s = Sim::perfect(34);
    s.pc[1].set_remote_description(now, SessionDescription::offer(browser_offer())).unwrap();
    s.pc[1].set_local_description(now, None).unwrap();
    assert_eq!(s.pc[1].remote_max_message_size(), Some(262_144));
}

/// Rolling back a remote offer leaves nothing of it applied: no remote
/// description, so no ICE candidate can be added for it, and the next
/// exchange (the other way) connects with the peer's real parameters.
#[test]
fn rolling_back_a_remote_offer_applies_none_of_its_transport() {
    let mut s = Sim::perfect(35);
    let now = s.now();
    s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    // A stranger's offer (a browser's credentials and fingerprint) arrives
    // at node 1 and is rolled back.
    s.pc[1].set_remote_description(now, SessionDescription::offer(browser_offer())).unwrap();
    let c = ice::Candidate::parse("candidate:1 1 udp 2122260223 10.9.9.9 5000 typ host").unwrap();
    s.pc[1].add_ice_candidate(now, Some(c.clone())).unwrap();
    s.pc[1].set_remote_description(now, SessionDescription::rollback()).unwrap();
    assert_eq!(s.pc[1].signaling_state(), SignalingState::Stable);
    assert!(
        matches!(s.pc[1].add_ice_candidate(now, Some(c)), Err(peer::PeerError::InvalidState(_))),
        "the rolled-back offer's transport is still applied"
    );
    let a = s.connect_with_channel("after rollback").0;
    assert!(s.opened(0, a));
    let stats = s.pc[1].stats(s.now());
    let remote = stats.selected_pair.expect("a selected pair").1;
    assert_ne!(remote.address.ip().to_string(), "10.9.9.9", "the rolled-back offer's candidate was used");
}

/// An offer created before another exchange completed can no longer be
/// set: its sections and credentials are stale.
#[test]
fn an_old_offer_cannot_be_set_after_another_exchange() {
    let mut s = Sim::perfect(36);
    let now = s.now();
    s.pc[0].create_data_channel(now, ChannelInit::new("x")).unwrap();
    let old = s.pc[0].create_offer(now, false).unwrap();
    // Node 1 offers first; node 0 answers.
    s.pc[1].create_data_channel(now, ChannelInit::new("y")).unwrap();
    s.negotiate(1);
    assert_eq!(s.pc[0].signaling_state(), SignalingState::Stable);
    assert!(
        matches!(s.pc[0].set_local_description(now, Some(old)), Err(peer::PeerError::InvalidModification(_))),
        "a stale offer was accepted"
    );
    // A fresh one works.
    assert!(s.pc[0].set_local_description(now, None).is_ok());
}
