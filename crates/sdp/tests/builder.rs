//! Building descriptions with the typed setters, then reading them back.

use sdp::{
    Attribute, Direction, ExtMap, Fingerprint, Fmtp, Group, MediaDescription, MediaKind, Msid, Origin, RtcpFb, RtpMap,
    SessionDescription, Setup, Ssrc, SsrcGroup, PROTO_RTP,
};

fn fingerprint() -> Fingerprint {
    Fingerprint {
        algorithm: "sha-256".into(),
        value: "0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E".into(),
    }
}

#[test]
fn data_channel_offer_written_and_read_back() {
    let mut offer = SessionDescription::new(Origin::new(8613047209574130962, 2));
    offer.add_group(&Group::bundle(["0"]));
    offer.set_attribute("msid-semantic", Some(" WMS".into()));
    let mut m = MediaDescription::data_channel("0");
    m.set_ice_ufrag("EsAw")
        .set_ice_pwd("bP+XJMM09aR8AiX1jdukzR6Y")
        .set_ice_options(&["trickle"])
        .add_fingerprint(&fingerprint())
        .set_setup(Setup::Actpass)
        .add_candidate("candidate:1923431547 1 udp 2113937151 192.168.1.10 58213 typ host generation 0");
    offer.media.push(m);

    let text = offer.to_string();
    assert_eq!(
        text,
        "v=0\r\no=- 8613047209574130962 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sctp-port:5000\r\n\
         a=max-message-size:262144\r\na=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\na=ice-options:trickle\r\n\
         a=fingerprint:sha-256 0F:74:31:25:CB:A2:13:EC:28:6F:6D:2C:61:FF:5D:C2:BC:B9:DB:3D:98:14:8D:1A:BB:EA:33:0C:A4:60:A8:8E\r\n\
         a=setup:actpass\r\na=candidate:1923431547 1 udp 2113937151 192.168.1.10 58213 typ host generation 0\r\n"
    );
    let back = SessionDescription::parse(&text).unwrap();
    assert_eq!(back, offer);
    let m = back.media_by_mid("0").unwrap();
    assert!(m.is_data_channel() && !m.is_rejected());
    assert_eq!((m.sctp_port(), m.max_message_size()), (Some(5000), Some(262144)));
    assert_eq!((m.ice_ufrag(), m.setup()), (Some("EsAw"), Some(Setup::Actpass)));
    assert_eq!(back.fingerprints_for(m), vec![fingerprint()]);
    assert_eq!(
        m.candidates().collect::<Vec<_>>(),
        ["1923431547 1 udp 2113937151 192.168.1.10 58213 typ host generation 0"]
    );
    assert_eq!(back.bundle_group().unwrap(), Group::bundle(["0"]));
}

#[test]
fn rtp_section_with_every_typed_attribute() {
    let mut sdp = SessionDescription::new(Origin::new(1, 1));
    sdp.set_ice_lite(true).set_ice_options(&["ice2", "trickle"]).add_fingerprint(&fingerprint());
    let mut m = MediaDescription::new(MediaKind::Video, 9, PROTO_RTP, &["96", "97"]);
    m.set_mid("v").set_direction(Direction::SendOnly).set_rtcp_mux(true).set_rtcp_mux_only(true).set_rtcp_rsize(true);
    m.add_rtpmap(&RtpMap { payload_type: 96, encoding: "VP8".into(), clock_rate: 90000, channels: None })
        .add_rtcp_fb(&RtcpFb { payload_type: Some(96), kind: "nack".into(), param: Some("pli".into()) })
        .add_rtcp_fb(&RtcpFb { payload_type: None, kind: "transport-cc".into(), param: None })
        .add_rtpmap(&RtpMap { payload_type: 97, encoding: "rtx".into(), clock_rate: 90000, channels: None })
        .add_fmtp(&Fmtp { payload_type: 97, params: "apt=96".into() })
        .add_extmap(&ExtMap {
            id: 4,
            direction: None,
            uri: "urn:ietf:params:rtp-hdrext:sdes:mid".into(),
            attributes: None,
        })
        .add_msid(&Msid { stream_id: "s".into(), track_id: Some("t".into()) })
        .add_ssrc_group(&SsrcGroup { semantics: "FID".into(), ssrcs: vec![1, 2] })
        .add_ssrc(&Ssrc { ssrc: 1, attribute: "cname".into(), value: Some("c".into()) })
        .add_ssrc(&Ssrc { ssrc: 2, attribute: "cname".into(), value: Some("c".into()) })
        .add_attribute(Attribute::new("rid", "h send"))
        .add_attribute(Attribute::new("simulcast", "send h"))
        .set_end_of_candidates(true);
    sdp.media.push(m);

    let back = SessionDescription::parse(&sdp.to_string()).unwrap();
    assert_eq!(back, sdp);
    assert!(back.ice_lite() && back.has_ice_option("ice2") && back.has_ice_option("TRICKLE"));
    let m = &back.media[0];
    assert_eq!(back.direction_for(m), Direction::SendOnly);
    assert!(m.rtcp_mux() && m.rtcp_mux_only() && m.rtcp_rsize() && m.end_of_candidates() && m.is_rtp());
    assert_eq!(m.rtcp_fbs_for(96).count(), 2);
    assert_eq!(m.rtcp_fbs_for(97).count(), 1, "* applies to every payload type");
    let codecs = m.codecs();
    assert_eq!(codecs.iter().map(|c| c.feedback.len()).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(m.fmtp(97).unwrap().get("apt"), Some("96"));
    assert_eq!(m.extmaps().next().unwrap().id, 4);
    assert_eq!(m.ssrc_ids(), [1, 2]);
    assert_eq!(m.rids().map(|r| (r.id, r.direction)).collect::<Vec<_>>(), [("h".to_string(), sdp::RidDirection::Send)]);
    assert_eq!(m.simulcast().map(|s| s.to_string()).as_deref(), Some("send h"));
    assert_eq!(back.fingerprints_for(m), vec![fingerprint()], "session-level fingerprint applies");
}

#[test]
fn setters_replace_in_place_and_flags_toggle() {
    let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                a=mid:0\r\na=sendrecv\r\na=setup:actpass\r\na=ice-ufrag:old\r\na=x-keep\r\na=ice-ufrag:dup\r\na=rtcp-mux\r\n";
    let mut sdp = SessionDescription::parse(text).unwrap();
    let m = sdp.media_by_mid_mut("0").unwrap();
    m.set_setup(Setup::Passive).set_direction(Direction::Inactive).set_ice_ufrag("new").set_rtcp_mux(false);
    let names: Vec<String> = m.attributes.iter().map(|a| a.to_string()).collect();
    assert_eq!(names, ["mid:0", "inactive", "setup:passive", "ice-ufrag:new", "x-keep"]);
    assert_eq!(m.remove_attribute("x-keep"), 1);
    m.set_ice_options(&[]);
    assert!(!m.has_attribute("ice-options"));
}

#[test]
fn line_breaks_in_values_cannot_add_lines() {
    let mut sdp = SessionDescription::new(Origin::new(1, 1));
    let mut m = MediaDescription::data_channel("0");
    m.add_candidate("1 1 udp 1 10.0.0.1 9 typ host\r\na=fingerprint:sha-256 EV:IL");
    sdp.media.push(m);
    let text = sdp.to_string();
    let back = SessionDescription::parse(&text).unwrap();
    assert!(back.media[0].fingerprints().is_empty(), "{text}");
    assert_eq!(back.media[0].candidates().count(), 1);
}
