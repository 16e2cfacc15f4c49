//! Offers and answers as Chromium, Firefox, Safari and aiortc write them:
//! each parses, its typed fields read the values the text holds, and it
//! writes back byte for byte (modulo line endings).

use sdp::{Direction, ExtMap, MediaKind, RtcpFb, SessionDescription, Setup, Ssrc, SsrcGroup};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a fixture and checks that writing it gives the same text with CRLF
/// line endings and that the written text parses to the same description.
fn parse_round_trip(name: &str) -> SessionDescription {
    let text = fixture(name);
    let sdp = SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let written = sdp.to_string();
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    assert_eq!(written, crlf, "{name} does not round-trip byte for byte");
    assert_eq!(SessionDescription::parse(&written).unwrap(), sdp, "{name}: parse(write(x)) != x");
    // The same text with LF endings parses to the same description.
    assert_eq!(SessionDescription::parse(&text.replace("\r\n", "\n")).unwrap(), sdp);
    sdp
}

const CHROME_FP: &str =
    "3B:5C:0E:8F:12:9A:D4:71:6E:2B:F0:83:C5:19:A7:4D:E2:90:38:6B:1F:C7:5A:D3:04:8E:B9:62:7C:1D:A5:F8";

#[test]
fn chrome_offer_audio_video_data() {
    let sdp = parse_round_trip("chrome_offer.sdp");
    assert_eq!(sdp.origin.session_id, 4215775240449105457);
    assert_eq!(sdp.origin.session_version, 2);
    assert_eq!(sdp.origin.address, "127.0.0.1");
    assert_eq!(sdp.session_name, "-");
    assert_eq!((sdp.timing[0].start, sdp.timing[0].stop), (0, 0));
    assert_eq!(sdp.bundle_group().unwrap().mids, ["0", "1", "2"]);
    assert!(sdp.extmap_allow_mixed());
    assert_eq!(sdp.msid_semantic(), Some(" WMS 9a2b6c1e-3f7d-4c2a-8e5b-1d0f6a7c9e31"));
    assert!(sdp.fingerprints().is_empty() && !sdp.ice_lite());
    assert_eq!(sdp.media.len(), 3);

    let audio = sdp.media_by_mid("0").unwrap();
    assert_eq!(audio.kind, MediaKind::Audio);
    assert_eq!((audio.port, audio.protocol.as_str()), (9, "UDP/TLS/RTP/SAVPF"));
    assert_eq!(audio.payload_types().collect::<Vec<_>>(), [111, 63, 9, 0, 8, 13, 110, 126]);
    assert_eq!(audio.connection.as_ref().unwrap().address, "0.0.0.0");
    assert_eq!(audio.ice_ufrag(), Some("mQyW"));
    assert_eq!(audio.ice_pwd(), Some("M2kR7p0cOIMtGAZbPoy6Cc4Y"));
    assert!(audio.has_ice_option("trickle") && !audio.has_ice_option("ice2"));
    let fps = sdp.fingerprints_for(audio);
    assert_eq!((fps.len(), fps[0].algorithm.as_str(), fps[0].value.as_str()), (1, "sha-256", CHROME_FP));
    assert_eq!(audio.setup(), Some(Setup::Actpass));
    assert_eq!(audio.direction(), Some(Direction::SendRecv));
    assert!(audio.rtcp_mux() && audio.rtcp_rsize() && !audio.rtcp_mux_only() && !audio.is_rejected());
    let candidates: Vec<&str> = audio.candidates().collect();
    assert_eq!(candidates.len(), 2);
    assert!(candidates[0].starts_with("3120133296 1 udp 2113937151 a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d.local 49170"));
    assert!(candidates[1].contains("typ srflx raddr 0.0.0.0 rport 0"));
    assert!(!audio.end_of_candidates());
    let opus = audio.rtpmap(111).unwrap();
    assert_eq!((opus.encoding.as_str(), opus.clock_rate, opus.channels), ("opus", 48000, Some(2)));
    assert_eq!(audio.fmtp(111).unwrap().get("useinbandfec"), Some("1"));
    assert_eq!(audio.fmtp(63).unwrap().params, "111/111");
    assert_eq!(audio.rtcp_fbs_for(111).map(|f| f.kind).collect::<Vec<_>>(), ["transport-cc"]);
    assert_eq!(audio.rtpmaps().count(), 8);
    let ext: Vec<ExtMap> = audio.extmaps().collect();
    assert_eq!((ext[0].id, ext[0].uri.as_str()), (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
    assert_eq!(ext[3].uri, "urn:ietf:params:rtp-hdrext:sdes:mid");
    let msid = audio.msids().next().unwrap();
    assert_eq!(msid.stream_id, "9a2b6c1e-3f7d-4c2a-8e5b-1d0f6a7c9e31");
    assert_eq!(msid.track_id.as_deref(), Some("4f0c8d2e-6a1b-4e3c-9d5f-7b2a0c1e8f64"));
    assert_eq!(
        audio.ssrcs().next().unwrap(),
        Ssrc { ssrc: 2863051276, attribute: "cname".into(), value: Some("Hq3X9Ls1vPzK7mWd".into()) }
    );
    assert_eq!(audio.attribute("rtcp"), Some("9 IN IP4 0.0.0.0"));

    let video = &sdp.media[1];
    assert_eq!((video.kind.clone(), video.mid()), (MediaKind::Video, Some("1")));
    assert_eq!(video.rtpmap(45).unwrap().encoding, "AV1");
    assert_eq!(video.fmtp(97).unwrap().get("apt"), Some("96"));
    assert_eq!(
        video.fmtp(102).unwrap().get("profile-level-id"),
        Some("42001f"),
        "H.264 fmtp parameters are split on ';'"
    );
    let vp8_fb: Vec<RtcpFb> = video.rtcp_fbs_for(96).collect();
    assert_eq!(vp8_fb.len(), 5);
    assert_eq!((vp8_fb[4].kind.as_str(), vp8_fb[4].param.as_deref()), ("nack", Some("pli")));
    assert_eq!(video.extmaps().count(), 11);
    assert_eq!(
        video.ssrc_groups().collect::<Vec<_>>(),
        [SsrcGroup { semantics: "FID".into(), ssrcs: vec![1450396398, 3067212563] }]
    );
    assert_eq!(video.ssrc_ids(), [1450396398, 3067212563]);
    let rtx: Vec<u8> = video.rtpmaps().filter(|m| m.encoding == "rtx").map(|m| m.payload_type).collect();
    assert_eq!(rtx, [97, 99, 46, 103, 115]);
    assert_eq!((video.rtx_for(96), video.rtx_for(45), video.rtx_for(116)), (Some(97), Some(46), None));
    assert!(!sdp.end_of_candidates_for(video));
    let codecs = video.codecs();
    assert_eq!(codecs.len(), 11);
    assert_eq!(codecs[0].rtpmap.as_ref().unwrap().encoding, "VP8");
    assert_eq!(codecs[0].feedback.len(), 5);
    assert_eq!(codecs[1].fmtp.as_ref().unwrap().get("apt"), Some("96"));
    assert!(codecs[1].feedback.is_empty());
    let h264 = codecs.iter().find(|c| c.payload_type == 102).unwrap();
    assert_eq!(h264.fmtp.as_ref().unwrap().get("packetization-mode"), Some("1"));

    let data = &sdp.media[2];
    assert!(data.is_data_channel() && !data.is_rtp());
    assert_eq!((data.kind.clone(), data.protocol.as_str()), (MediaKind::Application, "UDP/DTLS/SCTP"));
    assert_eq!(data.formats, ["webrtc-datachannel"]);
    assert_eq!((data.sctp_port(), data.max_message_size()), (Some(5000), Some(262144)));
    assert_eq!(data.sctpmap(), None);
    assert_eq!(sdp.direction_for(data), Direction::SendRecv);
}

#[test]
fn chrome_answer() {
    let sdp = parse_round_trip("chrome_answer.sdp");
    assert_eq!(sdp.msid_semantic(), Some(" WMS"));
    let audio = &sdp.media[0];
    assert_eq!(audio.setup(), Some(Setup::Active));
    assert_eq!(sdp.direction_for(audio), Direction::RecvOnly);
    assert_eq!(audio.msids().count(), 0);
    assert_eq!(audio.fmtp(109).unwrap().get("stereo"), Some("1"));
    assert_eq!(sdp.setup_for(&sdp.media[1]), Some(Setup::Active));
    assert_eq!(sdp.media_by_mid("1").unwrap().sctp_port(), Some(5000));
}

#[test]
fn chrome_data_channel_only_offer() {
    let sdp = parse_round_trip("chrome_datachannel_offer.sdp");
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(m.to_string().lines().next(), Some("m=application 9 UDP/DTLS/SCTP webrtc-datachannel"));
    assert!(m.is_data_channel());
    assert_eq!((m.sctp_port(), m.max_message_size()), (Some(5000), Some(262144)));
    assert_eq!(m.candidates().next().unwrap().split(' ').nth(4), Some("5f2c8e1a-93d4-4b7e-a6c0-2d81f47b9e35.local"));
    assert_eq!(sdp.ice_ufrag_for(m), Some("EsAw"));
    assert_eq!(sdp.bundle_group_of("0").unwrap().mids, ["0"]);
}

#[test]
fn firefox_offer_session_level_fingerprint_and_trickle() {
    let sdp = parse_round_trip("firefox_offer.sdp");
    assert_eq!(sdp.origin.username, "mozilla...THIS_IS_SDPARTA-131.0");
    assert_eq!((sdp.origin.session_id, sdp.origin.session_version), (6217398416853749012, 0));
    // Session-level fingerprint and ice-options apply to every section.
    let fp = &sdp.fingerprints()[0];
    assert_eq!(fp.algorithm, "sha-256");
    assert!(fp.value.starts_with("7E:4B:19:D2"));
    assert!(sdp.has_ice_option("trickle"));
    assert_eq!(sdp.msid_semantic(), Some("WMS *"));
    assert_eq!(sdp.media.len(), 3);
    for m in &sdp.media {
        assert!(m.fingerprints().is_empty());
        assert_eq!(sdp.fingerprints_for(m), vec![fp.clone()]);
        assert!(sdp.has_ice_option_for(m, "trickle"));
        assert_eq!((m.ice_ufrag(), m.ice_pwd()), (Some("c3a91f0e"), Some("5b2c7e91a04f3d68c1e9b57a20d4f836")));
        assert_eq!(m.direction(), Some(Direction::SendRecv));
        assert!(m.end_of_candidates() && sdp.end_of_candidates_for(m));
        assert_eq!(m.port, 56143);
        assert_eq!(m.connection.as_ref().unwrap().address, "203.0.113.7");
        assert_eq!(m.setup(), Some(Setup::Actpass));
    }
    let audio = &sdp.media[0];
    let cands: Vec<&str> = audio.candidates().collect();
    assert_eq!(cands.len(), 3);
    assert_eq!(cands[0], "0 1 UDP 2122252543 7d4c3f6e-1a2b-4c5d-8e9f-0a1b2c3d4e5f.local 56143 typ host");
    assert!(cands[1].ends_with("tcptype active"));
    let ext: Vec<ExtMap> = audio.extmaps().collect();
    assert_eq!((ext[1].id, ext[1].direction), (2, Some(Direction::RecvOnly)));
    assert_eq!(audio.rtpmap(9).unwrap().channels, Some(1));
    assert_eq!(audio.fmtp(101).unwrap().params, "0-15");
    let pcmu = &audio.codecs()[2];
    assert_eq!((pcmu.payload_type, pcmu.rtpmap.as_ref().map(|m| m.encoding.as_str())), (0, Some("PCMU")));
    assert_eq!(audio.msids().next().unwrap().stream_id, "{1c9e5a3f-7b2d-4e80-a6c4-3f9d1e2b7a05}");

    let video = &sdp.media[1];
    assert_eq!(video.payload_types().count(), 11);
    assert_eq!(video.fmtp(120).unwrap().get("max-fs"), Some("12288"));
    assert_eq!(video.rtcp_fbs().count(), 30);
    assert_eq!(video.ssrc_groups().next().unwrap().ssrcs, [3441582107, 1870654931]);
    assert!(video.rtcp_rsize());

    let data = &sdp.media[2];
    assert_eq!((data.sctp_port(), data.max_message_size()), (Some(5000), Some(1073741823)));
}

#[test]
fn safari_offer_h264_first_and_recvonly_video() {
    let sdp = parse_round_trip("safari_offer.sdp");
    let video = sdp.media_by_mid("1").unwrap();
    assert_eq!(video.direction(), Some(Direction::RecvOnly));
    assert_eq!(video.msids().count() + video.ssrcs().count(), 0);
    let first = video.rtpmap(video.payload_types().next().unwrap()).unwrap();
    assert_eq!((first.encoding.as_str(), first.clock_rate), ("H264", 90000));
    assert_eq!(video.fmtp(96).unwrap().get("profile-level-id"), Some("640c1f"));
    assert_eq!(video.rtpmap(100).unwrap().encoding, "H265");
    assert_eq!(video.fmtp(100).unwrap().get("tx-mode"), Some("SRST"));
    assert_eq!(sdp.media[0].ssrcs().count(), 2);
}

#[test]
fn aiortc_answer_with_three_fingerprints() {
    let sdp = parse_round_trip("aiortc_answer.sdp");
    assert_eq!((sdp.origin.session_id, sdp.origin.address.as_str()), (3929402375, "0.0.0.0"));
    let m = &sdp.media[0];
    assert_eq!(m.port, 52734);
    assert_eq!((m.sctp_port(), m.max_message_size()), (Some(5000), Some(65536)));
    assert_eq!(m.max_message_size_or_default(), 65536);
    let algs: Vec<String> = m.fingerprints().into_iter().map(|f| f.algorithm).collect();
    assert_eq!(algs, ["sha-256", "sha-384", "sha-512"]);
    assert_eq!(m.setup(), Some(Setup::Active));
    assert!(m.end_of_candidates());
    assert_eq!(m.candidates().count(), 2);
    assert_eq!(m.ice_options().count(), 0);
    assert!(!sdp.has_ice_option_for(m, "trickle"));
}

#[test]
fn legacy_dtls_sctp_with_sctpmap() {
    let sdp = parse_round_trip("legacy_sctpmap_offer.sdp");
    let m = sdp.media_by_mid("data").unwrap();
    assert_eq!((m.protocol.as_str(), m.formats.as_slice()), ("DTLS/SCTP", ["5000".to_string()].as_slice()));
    assert!(m.is_data_channel());
    let map = m.sctpmap().unwrap();
    assert_eq!((map.port, map.protocol.as_str(), map.streams), (5000, "webrtc-datachannel", Some(1024)));
    assert_eq!(m.sctp_port(), Some(5000), "the port comes from the sctpmap");
    assert_eq!(m.max_message_size(), None);
    assert_eq!((m.bandwidth[0].kind.as_str(), m.bandwidth[0].value), ("AS", 30));
    assert_eq!(sdp.bundle_group().unwrap().mids, ["data"]);
}

#[test]
fn unknown_lines_and_attributes_are_kept_in_order() {
    let text = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\ni=a session\r\nu=http://example.com\r\n\
                e=ops@example.com\r\nc=IN IP4 0.0.0.0\r\nb=CT:1000\r\nt=0 0\r\nr=604800 3600 0 90000\r\n\
                z=2882844526 -1h\r\nx=vendor line\r\na=x-google-flag:conference\r\na=ice-lite\r\n\
                m=video 0/2 RTP/AVP 31\r\ni=a media title\r\nc=IN IP4 0.0.0.0\r\nb=TIAS:64000\r\n\
                k=prompt\r\ny=odd\r\na=x-unknown\r\na=sctp-init:AAAA\r\na=x-empty:\r\na=rtpmap:31 H261\r\n";
    let sdp = SessionDescription::parse(text).unwrap();
    assert_eq!(sdp.to_string(), text);
    assert!(sdp.ice_lite());
    assert_eq!(sdp.attribute("x-google-flag"), Some("conference"));
    assert_eq!(sdp.timing[0].repeats, ["604800 3600 0 90000"]);
    assert_eq!(sdp.other_lines.iter().map(|l| l.kind).collect::<String>(), "iuezx");
    let m = &sdp.media[0];
    assert_eq!((m.port, m.port_count), (0, Some(2)));
    assert!(m.is_rejected());
    assert_eq!(m.other_lines.iter().map(|l| l.kind).collect::<String>(), "iky");
    assert_eq!(m.attribute("x-unknown"), Some(""));
    assert_eq!(m.attributes[2].value.as_deref(), Some(""));
    assert_eq!(m.sctp_init(), Some("AAAA"));
    assert_eq!(m.rtpmaps().count(), 0, "a malformed rtpmap is skipped by the typed accessor");
    assert_eq!(m.attributes_named("rtpmap").collect::<Vec<_>>(), ["31 H261"]);
}

#[test]
fn tolerant_of_lf_trailing_whitespace_blank_lines_and_order() {
    let messy = "\u{feff}v=0\n\no=- 1 2 IN IP4 127.0.0.1  \t\nt=0 0\ns=-\na=group:BUNDLE 0 \r\n\
                 m=audio 9 UDP/TLS/RTP/SAVPF 111\na=mid:0   \nc=IN IP4 0.0.0.0\na=sendonly\n\n";
    let sdp = SessionDescription::parse(messy).unwrap();
    assert_eq!(sdp.origin.session_version, 2);
    assert_eq!(sdp.bundle_group().unwrap().mids, ["0"]);
    assert_eq!(sdp.media[0].mid(), Some("0"));
    assert_eq!(sdp.media[0].direction(), Some(Direction::SendOnly));
    // Written in RFC order, and stable from there on.
    let written = sdp.to_string();
    assert!(written.starts_with("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"));
    assert!(written.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"));
    assert_eq!(SessionDescription::parse(&written).unwrap(), sdp);
}

#[test]
fn bundle_only_section_with_port_zero_is_not_rejected() {
    let text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
                m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=bundle-only\r\n";
    let sdp = SessionDescription::parse(text).unwrap();
    let video = sdp.media_by_mid("1").unwrap();
    assert!(video.bundle_only() && !video.is_rejected() && video.port == 0);
    assert_eq!(sdp.bundle_group_of("1").unwrap().mids, ["0", "1"]);
    assert!(sdp.media_by_mid("2").is_none());
}

/// Real offers captured from headless Chromium 156 (Debian package) in the
/// test namespace: a data channel alone, and a fake camera and microphone
/// plus a data channel.
#[test]
fn chromium156_captured_offers() {
    let data = parse_round_trip("chromium156_captured_data_offer.sdp");
    assert_eq!(data.bundle_group().unwrap().mids, ["0"]);
    let m = &data.media[0];
    assert!(m.is_data_channel() && !m.is_rejected());
    assert_eq!((m.sctp_port(), m.max_message_size()), (Some(5000), Some(262144)));
    assert_eq!(data.setup_for(m), Some(Setup::Actpass));
    assert_eq!(data.fingerprints_for(m)[0].algorithm, "sha-256");
    assert!(m.candidates().any(|c| c.contains(" udp ") && c.contains(" 127.0.0.1 ")));

    let media = parse_round_trip("chromium156_captured_media_offer.sdp");
    assert_eq!(media.bundle_group().unwrap().mids, ["0", "1", "2"]);
    let kinds: Vec<MediaKind> = media.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(kinds, [MediaKind::Audio, MediaKind::Video, MediaKind::Application]);
    assert!(media.media[0].rtpmaps().any(|r| r.encoding.eq_ignore_ascii_case("opus")));
    assert!(media.media[1].rtpmaps().any(|r| r.encoding.eq_ignore_ascii_case("VP8")));
    assert!(media.media[2].is_data_channel());
    assert_eq!(media.media[0].direction(), Some(Direction::SendRecv));
}

/// Real offers captured from headless Firefox ESR 153 (Debian package):
/// a data channel alone, and fake audio and video plus a data channel.
#[test]
fn firefox153esr_captured_offers() {
    let data = parse_round_trip("firefox153esr_captured_data_offer.sdp");
    assert!(data.origin.username.starts_with("mozilla...THIS_IS_SDPARTA"));
    let m = &data.media[0];
    assert!(m.is_data_channel());
    assert_eq!((m.sctp_port(), m.max_message_size()), (Some(5000), Some(1073741823)));
    // Firefox puts the fingerprint at session level.
    assert!(m.fingerprints().is_empty());
    assert_eq!(data.fingerprints_for(m).len(), 1);
    assert_eq!(data.setup_for(m), Some(Setup::Actpass));

    let media = parse_round_trip("firefox153esr_captured_media_offer.sdp");
    assert_eq!(media.bundle_group().unwrap().mids, ["0", "1", "2"]);
    let kinds: Vec<MediaKind> = media.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(kinds, [MediaKind::Audio, MediaKind::Video, MediaKind::Application]);
    assert_eq!(media.media[1].rtx_for(120), Some(124));
    assert!(media.media[2].is_data_channel());
}
