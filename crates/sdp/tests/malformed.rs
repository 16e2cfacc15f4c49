//! What a peer (or a broken signaling server) may send instead of SDP: each
//! is an error naming its line, never a panic.

use sdp::{SdpError, SessionDescription, MAX_MEDIA, MAX_SDP_LEN};
use testkit::Rng;

const HEAD: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn line_of(err: &SdpError) -> Option<usize> {
    match err {
        SdpError::InvalidLine { line, .. }
        | SdpError::Missing { line, .. }
        | SdpError::TooManyMedia { line, .. }
        | SdpError::NotUtf8 { line } => Some(*line),
        _ => None,
    }
}

#[track_caller]
fn fails_at(text: &str, line: usize, needle: &str) {
    let err = SessionDescription::parse(text).expect_err(text);
    assert_eq!(line_of(&err), Some(line), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("SDP line {line}:")), "{msg}");
    assert!(msg.contains(needle), "{msg:?} does not mention {needle:?}");
}

#[test]
fn missing_version_line() {
    fails_at("o=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", 1, "v=0");
    fails_at("\r\n\r\ns=-\r\n", 3, "v=0");
    fails_at("", 1, "empty");
    fails_at("v=zero\r\n", 1, "v= is not a number");
    fails_at(&format!("{HEAD}v=0\r\n"), 5, "second v=");
}

#[test]
fn missing_origin_or_session_name() {
    fails_at("v=0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n", 4, "o=");
    fails_at("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\nt=0 0\r\n", 4, "s=");
    fails_at("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\no=- 1 2 IN IP4 127.0.0.1\r\n", 3, "second o=");
}

#[test]
fn bad_origin_connection_bandwidth_timing() {
    fails_at("v=0\r\no=- x 2 IN IP4 127.0.0.1\r\ns=-\r\n", 2, "numeric session id");
    fails_at("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\n", 2, "o= needs");
    fails_at(&format!("{HEAD}c=IN IP4\r\n"), 5, "c= needs");
    fails_at(&format!("{HEAD}c=IN IP4 0.0.0.0\r\nc=IN IP4 0.0.0.0\r\n"), 6, "second session-level c=");
    fails_at(&format!("{HEAD}b=AS\r\n"), 5, "b= needs");
    fails_at(&format!("{HEAD}b=AS:lots\r\n"), 5, "b= needs");
    fails_at("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=now\r\n", 4, "t= needs");
    fails_at("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nr=1 2 3\r\n", 4, "r= line must follow");
}

#[test]
fn bad_media_lines() {
    fails_at(&format!("{HEAD}m=audio 9\r\n"), 5, "an m= line needs");
    fails_at(&format!("{HEAD}m=\r\n"), 5, "an m= line needs");
    fails_at(&format!("{HEAD}m=audio nine UDP/TLS/RTP/SAVPF 111\r\n"), 5, "port is not a number");
    fails_at(&format!("{HEAD}m=audio 65536 UDP/TLS/RTP/SAVPF 111\r\n"), 5, "port is not a number");
    fails_at(&format!("{HEAD}m=audio -1 UDP/TLS/RTP/SAVPF 111\r\n"), 5, "port is not a number");
    fails_at(&format!("{HEAD}m=audio 9/x RTP/AVP 0\r\n"), 5, "port count");
    let two_c = format!("{HEAD}m=audio 9 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\nc=IN IP4 0.0.0.0\r\n");
    fails_at(&two_c, 7, "second c=");
    fails_at(&format!("{HEAD}m=audio 9 RTP/AVP 0\r\nb=AS:x\r\n"), 6, "b= needs");
    // An m= line with no formats is tolerated (and written back as read).
    let sdp = SessionDescription::parse(&format!("{HEAD}m=application 0 UDP/DTLS/SCTP\r\n")).unwrap();
    assert!(sdp.media[0].formats.is_empty() && sdp.media[0].is_rejected());
    assert!(sdp.to_string().ends_with("m=application 0 UDP/DTLS/SCTP\r\n"));
}

#[test]
fn lines_without_equals_or_with_a_bad_type() {
    fails_at(&format!("{HEAD}a=mid:0\r\nhello world\r\n"), 6, "<letter>=<value>");
    fails_at(&format!("{HEAD}ab=c\r\n"), 5, "<letter>=<value>");
    fails_at(&format!("{HEAD}=x\r\n"), 5, "<letter>=<value>");
    fails_at(&format!("{HEAD}1=x\r\n"), 5, "single letter");
    fails_at(&format!("{HEAD}\u{e9}=x\r\n"), 5, "single letter");
    fails_at(&format!("{HEAD} a=mid:0\r\n"), 5, "<letter>=<value>");
    fails_at(&format!("{HEAD}a=mid:0\rs=x\r\n"), 5, "carriage return inside a line");
    // The excerpt in the message is cut, and cut on a character boundary.
    let long = format!("{HEAD}{}\r\n", "\u{1F600}".repeat(500));
    let err = SessionDescription::parse(&long).unwrap_err();
    assert!(err.to_string().len() < 500, "{err}");
}

#[test]
fn too_long_and_too_many_media() {
    let big = format!("{HEAD}a=x:{}\r\n", "y".repeat(MAX_SDP_LEN));
    assert!(matches!(SessionDescription::parse(&big), Err(SdpError::TooLong { max: MAX_SDP_LEN, .. })));
    assert!(matches!(SessionDescription::parse_bytes(big.as_bytes()), Err(SdpError::TooLong { .. })));

    let mut many = HEAD.to_string();
    for _ in 0..=MAX_MEDIA {
        many.push_str("m=audio 0 RTP/AVP 0\r\n");
    }
    let err = SessionDescription::parse(&many).unwrap_err();
    assert_eq!(err, SdpError::TooManyMedia { line: 5 + MAX_MEDIA, max: MAX_MEDIA });
    assert!(err.to_string().contains("more than 1024 m= sections"), "{err}");
    // Exactly MAX_MEDIA is fine.
    let ok = many.rsplitn(3, "m=").nth(2).unwrap().to_string() + "m=audio 0 RTP/AVP 0\r\n";
    assert_eq!(SessionDescription::parse(&ok).unwrap().media.len(), MAX_MEDIA);
}

#[test]
fn binary_garbage() {
    let mut bytes = format!("{HEAD}a=mid:0\r\n").into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00, 0x80]);
    assert_eq!(SessionDescription::parse_bytes(&bytes), Err(SdpError::NotUtf8 { line: 6 }));

    // A cheap xorshift stream of bytes, lines and SDP fragments: never a panic.
    let pieces = ["v=0", "o=- 1 2 IN IP4 x", "s=-", "t=0 0", "m=audio 9 RTP/AVP 0", "a=", "a=rtpmap:", "c=IN", "\r\n"];
    let mut rng = Rng::xorshift64(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let mut input = Vec::new();
        for _ in 0..rng.below(40) {
            match rng.below(4) {
                0 => input.push(rng.byte()),
                1 => input.extend_from_slice(b"\n"),
                _ => input.extend_from_slice(pieces[rng.below(pieces.len())].as_bytes()),
            }
        }
        sdp::fuzzing::sdp_parse(&input);
    }
}

#[test]
fn errors_say_what_to_fix() {
    let err = SessionDescription::parse(&format!("{HEAD}m=audio nine RTP/AVP 0\r\n")).unwrap_err();
    assert_eq!(err.to_string(), "SDP line 5: the m= port is not a number in 0..=65535: \"m=audio nine RTP/AVP 0\"");
    let err = "111 opus".parse::<sdp::RtpMap>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid a=rtpmap: \"111 opus\"; expected <payload type> <encoding>/<clock rate>[/<channels>]"
    );
}

#[test]
fn mutated_fixtures_never_panic_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut fixtures: Vec<Vec<u8>> =
        std::fs::read_dir(dir).unwrap().map(|e| std::fs::read(e.unwrap().path()).unwrap()).collect();
    fixtures.sort();
    let noise: &[&[u8]] = &[
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b":",
        b"/",
        b"=",
        b"0",
        b"-1",
        b"99999999999999999999",
        b"\xc3\xa9",
        b"\xa0",
        b"m=",
        b"a=",
        b"\x00",
    ];
    let mut rng = Rng::xorshift64(0x2545_f491_4f6c_dd1d);
    let mut parsed = 0;
    for round in 0..3000 {
        let mut data = fixtures[round % fixtures.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len() + 1);
            match rng.below(3) {
                0 if at < data.len() => {
                    data.remove(at);
                }
                1 => {
                    let piece = noise[rng.below(noise.len())];
                    data.splice(at..at, piece.iter().copied());
                }
                _ if at < data.len() => data[at] = rng.byte(),
                _ => {}
            }
        }
        sdp::fuzzing::sdp_parse(&data);
        parsed += SessionDescription::parse_bytes(&data).is_ok() as usize;
    }
    assert!(parsed > 1000, "only {parsed} of 3000 mutations parsed; the mutations are too harsh to test round trips");
}
