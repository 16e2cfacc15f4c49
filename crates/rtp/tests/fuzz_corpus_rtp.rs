//! Replays the committed fuzz corpus (`fuzz/corpus/rtp_parse`) through the fuzz target's
//! body, so every input the fuzzer once found interesting is checked by `cargo test`.
//! `OXRTC_WRITE_SEED_CORPUS=1 cargo test -p oxrtc-rtp --test fuzz_corpus_rtp seed_corpus`
//! rewrites the seed inputs (a plain test run only checks them).

use rtp::fuzzing::rtp_parse;

#[test]
fn rtp_parse_corpus() {
    testkit::replay_corpus("rtp_parse", 224, rtp_parse);
}

/// A packet: the fixed header (V=2, `flags` in the first byte's low bits, `m_pt`, seq 1,
/// timestamp 0x100, SSRC 0x11223344), then `rest`.
fn rtp(first: u8, m_pt: u8, rest: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![0x80 | first, m_pt, 0, 1, 0, 0, 1, 0, 0x11, 0x22, 0x33, 0x44];
    for part in rest {
        p.extend_from_slice(part);
    }
    p
}

/// An extension block: `profile`, the length in words, `body` padded with zeros.
fn block(profile: u16, body: &[u8]) -> Vec<u8> {
    let mut b = profile.to_be_bytes().to_vec();
    b.extend_from_slice(&(body.len().div_ceil(4) as u16).to_be_bytes());
    b.extend_from_slice(body);
    b.resize(4 + body.len().div_ceil(4) * 4, 0);
    b
}

/// The seeds: every field, both extension forms with every known extension, the
/// layouts of the RFC examples and of Chromium, and each parse error.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    // Ids as in rtp::fuzzing::rtp_fuzz_map: 1 mid, 2 rid, 3 repaired rid, 4 abs-send-time,
    // 5 transport-cc, 6 audio level, 7 toffset, 8 video orientation, 9 playout delay,
    // 10 abs-capture-time, 11 unknown.
    #[rustfmt::skip]
    let all_one_byte = block(0xBEDE, &[
        0x10, b'a',                                // mid "a"
        0x21, b'h', b'i',                          // rid "hi"
        0x31, b'l', b'o',                          // repaired rid "lo"
        0x42, 0x12, 0x34, 0x56,                    // abs-send-time
        0x51, 0x01, 0x02,                          // transport-cc
        0x60, 0x9E,                                // audio level: voice, -30 dBov
        0x72, 0xFF, 0xFF, 0xF0,                    // toffset -16
        0x80, 0x0D,                                // video orientation: back, flipped, 90 degrees
        0x92, 0x00, 0xA0, 0x64,                    // playout delay 100 ms ..= 1 s
        0xAF, 0, 0, 0, 9, 0x80, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0, 0, 0, // abs-capture-time
        0xB1, 0xCA, 0xFE,                          // unknown id 11
    ]);
    #[rustfmt::skip]
    let two_byte = block(0x1005, &[                // two-byte form, appbits 5
        1, 20, b'a', b'-', b'm', b'i', b'd', b'-', b'l', b'o', b'n', b'g', b'e', b'r', b'-', b't', b'h', b'a', b'n', b'-', b'1', b'6',
        0,                                         // padding between elements
        200, 0,                                    // an empty element, id 200
        10, 8, 0, 0, 0, 1, 0, 0, 0, 0,             // abs-capture-time without offset
    ]);
    #[rustfmt::skip]
    let chromium_video: &[u8] = &[
        0xBE, 0xDE, 0, 5,
        0x22, 0xAA, 0xBB, 0xCC, 0xE2, 0, 0, 0, 0x31, 1, 2, 0x40, b'1', 0xA0, b'h', 0xD0, 0x01, 0, 0, 0,
    ];
    let chromium_audio: &[u8] = &[0xBE, 0xDE, 0, 3, 0x22, 0, 0x40, 0, 0x31, 0, 1, 0x40, b'0', 0x10, 0xA8, 0];
    vec![
        ("header-only", rtp(0, 96, &[])),
        ("payload", rtp(0, 96, &[b"payload"])),
        ("marker-pt127", rtp(0, 0xFF, &[&[1, 2, 3]])),
        ("csrcs-2", rtp(2, 111, &[&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF], b"mix"])),
        ("csrcs-15", rtp(15, 0, &[&[0x5A; 60], b"x"])),
        ("ext-empty", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 0], b"p"])),
        ("ext-rfc8285-one-byte", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 3, 0x10, 1, 0x21, 2, 3, 0, 0, 0x33, 4, 5, 6, 7]])),
        ("ext-rfc8285-two-byte", rtp(0x10, 96, &[&[0x10, 0, 0, 3, 1, 0, 2, 1, 2, 0, 3, 4, 4, 5, 6, 7]])),
        ("ext-all-known-one-byte", rtp(0x10, 100, &[&all_one_byte, b"vp8"])),
        ("ext-two-byte-appbits", rtp(0x10, 100, &[&two_byte, b"av1"])),
        ("ext-id15-stops", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 2, 0x10, 0xAA, 0xF3, 0x20, 0xBB, 0x3F, 0, 0]])),
        ("ext-other-profile", rtp(0x10, 96, &[&[0xAB, 0xCD, 0, 1, 1, 2, 3, 4], b"opaque"])),
        ("ext-duplicate-ids", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 2, 0x10, 1, 0x10, 2, 0x21, 3, 4, 0]])),
        ("ext-and-csrcs", rtp(0x11, 96, &[&[0, 0, 0, 9, 0x10, 0, 0, 1, 5, 1, 0xCD, 0], b"both"])),
        ("chromium-video", rtp(0x10, 0xE0, &[chromium_video, &[0x90, 0x80, 0, 0x9D]])),
        ("chromium-audio", rtp(0x10, 111, &[chromium_audio, &[0xFC, 0xFF, 0xFE]])),
        ("padding", rtp(0x20, 96, &[&[1, 2, 3, 0xAA, 0xBB, 0, 3]])),
        ("padding-only", rtp(0x20, 96, &[&[0; 223], &[224]])),
        ("padding-ext-csrc", rtp(0x31, 96, &[&[0, 0, 0, 7, 0xBE, 0xDE, 0, 1, 0x50, 9, 0, 0, 0xEE, 0, 2]])),
        ("typed-invalid", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 3, 0x10, 0, 0x50, 1, 0x92, 0x10, 0, 0x01, 0x61, 1, 1, 0]])),
        ("err-too-short", vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
        ("err-version-0", {
            let mut p = rtp(0, 96, &[b"x"]);
            p[0] &= 0x3F;
            p
        }),
        ("err-version-3", {
            let mut p = rtp(0, 96, &[b"x"]);
            p[0] |= 0xC0;
            p
        }),
        ("err-csrcs-truncated", rtp(3, 96, &[&[0; 11]])),
        ("err-ext-header-truncated", rtp(0x10, 96, &[&[0xBE, 0xDE, 0]])),
        ("err-ext-truncated", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 2, 0x10, 1, 0, 0]])),
        ("err-element-truncated", rtp(0x10, 96, &[&[0xBE, 0xDE, 0, 1, 0x14, 1, 2, 3]])),
        ("err-two-byte-header-truncated", rtp(0x10, 96, &[&[0x10, 0, 0, 1, 1, 1, 5, 7]])),
        ("err-padding-missing", rtp(0x20, 96, &[])),
        ("err-padding-zero", rtp(0x20, 96, &[&[1, 0]])),
        ("err-padding-too-long", rtp(0x20, 96, &[&[1, 2, 4]])),
        ("err-padding-into-header", rtp(0x31, 96, &[&[0, 0, 0, 1, 0xBE, 0xDE, 0, 0, 2]])),
    ]
}

/// The committed seeds must be exactly these, and each must go through the fuzz target's
/// body; written only when opted in.
#[test]
fn seed_corpus() {
    let dir = testkit::corpus_dir("rtp_parse");
    let write = testkit::write_seed_corpus();
    if write {
        std::fs::create_dir_all(&dir).unwrap();
    }
    let seeds = seeds();
    for (i, (name, data)) in seeds.iter().enumerate() {
        rtp_parse(data);
        let path = dir.join(format!("seed-{i:02}-{name}"));
        if write {
            std::fs::write(&path, data).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&committed, data, "{} is not the seed the writer makes", path.display());
        }
    }
    assert_eq!(seeds.len(), 32);
}

/// The seeds that should parse do, and the error seeds fail with the error their name says.
#[test]
fn seeds_parse_as_named() {
    use bytes::Bytes;
    use rtp::extension::{
        AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRtpStreamId, Rotation, RtpStreamId,
        TimeOffset, TransportCc, VideoOrientation,
    };
    use rtp::packet::{RtpError, RtpPacket};
    for (name, data) in seeds() {
        let result = RtpPacket::parse(Bytes::from(data));
        if name == "ext-all-known-one-byte" {
            // Each known extension is there with a valid value.
            let map = rtp::fuzzing::rtp_fuzz_map();
            let exts = &result.as_ref().unwrap().header.extensions;
            for (id, kind) in (1..=10).zip(rtp::extension::ExtensionKind::ALL) {
                assert_eq!(map.id_of(kind), Some(id));
            }
            assert_eq!(map.read::<Mid>(exts).unwrap().unwrap().as_str(), "a");
            assert_eq!(map.read::<RtpStreamId>(exts).unwrap().unwrap().as_str(), "hi");
            assert_eq!(map.read::<RepairedRtpStreamId>(exts).unwrap().unwrap().as_str(), "lo");
            assert_eq!(map.read::<AbsSendTime>(exts), Ok(Some(AbsSendTime(0x123456))));
            assert_eq!(map.read::<TransportCc>(exts), Ok(Some(TransportCc(0x0102))));
            assert_eq!(map.read::<AudioLevel>(exts), Ok(Some(AudioLevel::new(true, 30).unwrap())));
            assert_eq!(map.read::<TimeOffset>(exts), Ok(Some(TimeOffset::new(-16).unwrap())));
            let orientation = VideoOrientation { back_camera: true, flip: true, rotation: Rotation::Deg90 };
            assert_eq!(map.read::<VideoOrientation>(exts), Ok(Some(orientation)));
            assert_eq!(map.read::<PlayoutDelay>(exts), Ok(Some(PlayoutDelay::new(10, 100).unwrap())));
            let capture = AbsCaptureTime { capture_ntp: 0x9_8000_0000, clock_offset: Some(-(1 << 31)) };
            assert_eq!(map.read::<AbsCaptureTime>(exts), Ok(Some(capture)));
            assert_eq!(exts.get(11), Some(&[0xCA, 0xFE][..]));
        }
        let ok = !name.starts_with("err-");
        assert_eq!(result.is_ok(), ok, "{name}: {result:?}");
        if let Err(e) = result {
            let expected = match name {
                "err-too-short" => matches!(e, RtpError::TooShort(11)),
                "err-version-0" | "err-version-3" => matches!(e, RtpError::BadVersion(_)),
                "err-csrcs-truncated" => matches!(e, RtpError::CsrcsTruncated { .. }),
                "err-ext-header-truncated" => matches!(e, RtpError::ExtensionHeaderTruncated { .. }),
                "err-ext-truncated" => matches!(e, RtpError::ExtensionTruncated { .. }),
                "err-element-truncated" | "err-two-byte-header-truncated" => matches!(e, RtpError::Extension(_)),
                "err-padding-missing" => matches!(e, RtpError::PaddingMissing),
                "err-padding-zero" => matches!(e, RtpError::PaddingZero),
                _ => matches!(e, RtpError::PaddingTooLong { .. }),
            };
            assert!(expected, "{name}: {e}");
        }
    }
}
