//! RTP packets and header extensions through the public API: packets laid out exactly as
//! Chromium sends them, written and parsed back byte for byte, and seeded random headers,
//! extension edits and corrupted packets round-tripped against a simple model.

use bytes::Bytes;
use rtp::extension::{
    AbsSendTime, AudioLevel, ExtensionKind, ExtensionMap, Extensions, Mid, Rotation, RtpStreamId, TimeOffset,
    TransportCc, VideoOrientation,
};
use rtp::packet::{Csrcs, RtpHeader, RtpPacket};
use testkit::{mutate, Rng};

/// The ids Chromium offers in BUNDLE (one id space for audio and video).
fn chromium_map() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    for (id, kind) in [
        (1, ExtensionKind::AudioLevel),
        (2, ExtensionKind::AbsSendTime),
        (3, ExtensionKind::TransportCc),
        (4, ExtensionKind::Mid),
        (5, ExtensionKind::PlayoutDelay),
        (10, ExtensionKind::RtpStreamId),
        (11, ExtensionKind::RepairedRtpStreamId),
        (13, ExtensionKind::VideoOrientation),
        (14, ExtensionKind::TimeOffset),
    ] {
        map.insert(id, kind.uri()).unwrap();
    }
    map.insert(6, "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type").unwrap();
    map
}

fn write(packet: &RtpPacket) -> Vec<u8> {
    let mut out = Vec::new();
    packet.write(&mut out).unwrap();
    out
}

/// The last packet of a VP8 key frame of simulcast layer "h" while the SSRC is not yet
/// acknowledged: one-byte extensions in libwebrtc's order (abs-send-time, toffset,
/// transport-cc, mid, rid, then the video orientation of a key frame), zero padding to
/// the word.
#[test]
fn chromium_video_packet() {
    #[rustfmt::skip]
    let wire: [u8; 40] = [
        0x90, 0xE0, 0x1A, 0x2B, // V=2 X=1, M=1 PT=96, seq
        0x12, 0x34, 0x56, 0x78, // timestamp
        0x0A, 0x0B, 0x0C, 0x0D, // SSRC
        0xBE, 0xDE, 0x00, 0x05, // one-byte form, 5 words
        0x22, 0xAA, 0xBB, 0xCC, // id 2 abs-send-time
        0xE2, 0x00, 0x00, 0x00, // id 14 toffset 0
        0x31, 0x01, 0x02,       // id 3 transport-cc 258
        0x40, b'1',             // id 4 mid "1"
        0xA0, b'h',             // id 10 rid "h"
        0xD0, 0x01,             // id 13 video orientation, 90 degrees
        0x00, 0x00, 0x00,       // padding
        0x90, 0x80, 0x00, 0x9D, // VP8 payload descriptor and the start of a frame
    ];
    let map = chromium_map();
    let packet = RtpPacket::parse(Bytes::copy_from_slice(&wire)).unwrap();
    let (h, exts) = (&packet.header, &packet.header.extensions);
    assert!(h.marker);
    assert_eq!((h.payload_type, h.sequence_number, h.timestamp, h.ssrc), (96, 0x1A2B, 0x12345678, 0x0A0B0C0D));
    assert_eq!(map.read::<AbsSendTime>(exts), Ok(Some(AbsSendTime(0xAABBCC))));
    assert_eq!(map.read::<TimeOffset>(exts).unwrap().map(TimeOffset::get), Some(0));
    assert_eq!(map.read::<TransportCc>(exts), Ok(Some(TransportCc(258))));
    assert_eq!(map.read::<Mid>(exts).unwrap().unwrap().as_str(), "1");
    assert_eq!(map.read::<RtpStreamId>(exts).unwrap().unwrap().as_str(), "h");
    let orientation = map.read::<VideoOrientation>(exts).unwrap().unwrap();
    assert_eq!(orientation.rotation, Rotation::Deg90);
    assert_eq!(map.read::<AudioLevel>(exts), Ok(None));
    assert_eq!(&packet.payload[..], &[0x90, 0x80, 0x00, 0x9D]);
    assert_eq!(write(&packet), wire, "parsed and written back");

    // Built from typed values in the same order, the writer makes the same bytes.
    let mut header = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence_number: 0x1A2B,
        timestamp: 0x12345678,
        ssrc: 0x0A0B0C0D,
        ..Default::default()
    };
    let e = &mut header.extensions;
    map.write(e, &AbsSendTime(0xAABBCC)).unwrap();
    map.write(e, &TimeOffset::new(0).unwrap()).unwrap();
    map.write(e, &TransportCc(258)).unwrap();
    map.write(e, &Mid::new("1").unwrap()).unwrap();
    map.write(e, &RtpStreamId::new("h").unwrap()).unwrap();
    map.write(e, &VideoOrientation { rotation: Rotation::Deg90, ..Default::default() }).unwrap();
    let built = RtpPacket::new(header, Bytes::from_static(&[0x90, 0x80, 0x00, 0x9D]));
    assert_eq!(write(&built), wire, "built");

    // A forwarder rewrites abs-send-time and transport-cc in place: same layout.
    let mut forwarded = packet.clone();
    map.write(&mut forwarded.header.extensions, &AbsSendTime(0x010203)).unwrap();
    map.write(&mut forwarded.header.extensions, &TransportCc(7)).unwrap();
    let mut expected = wire;
    expected[17..20].copy_from_slice(&[1, 2, 3]);
    expected[25..27].copy_from_slice(&[0, 7]);
    assert_eq!(write(&forwarded), expected);
}

/// An Opus packet: abs-send-time, transport-cc and mid from the generic sender, then the
/// audio level (RFC 6464) the audio sender adds.
#[test]
fn chromium_audio_packet() {
    #[rustfmt::skip]
    let wire: [u8; 32] = [
        0x90, 0x6F, 0x00, 0x01, // X=1, PT=111, seq 1
        0x00, 0x00, 0x03, 0xC0, // timestamp 960
        0xDE, 0xAD, 0xBE, 0xEF, // SSRC
        0xBE, 0xDE, 0x00, 0x03, // one-byte form, 3 words
        0x22, 0x00, 0x40, 0x00, // id 2 abs-send-time 1/16 s
        0x31, 0x00, 0x01,       // id 3 transport-cc 1
        0x40, b'0',             // id 4 mid "0"
        0x10, 0xA8,             // id 1 audio level: voice, -40 dBov
        0x00,                   // padding
        0xFC, 0xFF, 0xFE, 0x00, // Opus
    ];
    let map = chromium_map();
    let packet = RtpPacket::parse(Bytes::copy_from_slice(&wire)).unwrap();
    let exts = &packet.header.extensions;
    let level = map.read::<AudioLevel>(exts).unwrap().unwrap();
    assert!(level.voice_activity());
    assert_eq!(level.dbov(), -40);
    assert_eq!(map.read::<AbsSendTime>(exts).unwrap().unwrap().to_duration().as_millis(), 62);
    assert_eq!(write(&packet), wire);

    let mut header =
        RtpHeader { payload_type: 111, sequence_number: 1, timestamp: 960, ssrc: 0xDEADBEEF, ..Default::default() };
    map.write(&mut header.extensions, &AbsSendTime(0x4000)).unwrap();
    map.write(&mut header.extensions, &TransportCc(1)).unwrap();
    map.write(&mut header.extensions, &Mid::new("0").unwrap()).unwrap();
    map.write(&mut header.extensions, &AudioLevel::new(true, 40).unwrap()).unwrap();
    assert_eq!(write(&RtpPacket::new(header, Bytes::from_static(&[0xFC, 0xFF, 0xFE, 0x00]))), wire);
}

/// A random element that fits the form allowed: with two-byte allowed any id and 0..=255
/// bytes, else ids 1..=14 and 1..=16 bytes.
fn random_element(rng: &mut Rng, two_byte: bool) -> (u8, Vec<u8>) {
    if two_byte && rng.below(3) == 0 {
        let id = 1 + rng.below(255) as u8;
        let max = if rng.bool() { 256 } else { 20 };
        let len = rng.below(max);
        (id, rng.bytes(len))
    } else {
        let id = 1 + rng.below(14) as u8;
        let len = 1 + rng.below(16);
        (id, rng.bytes(len))
    }
}

fn random_packet(rng: &mut Rng) -> (RtpPacket, Vec<(u8, Vec<u8>)>) {
    let csrcs: Vec<u32> = (0..rng.below(16)).map(|_| rng.next_u64() as u32).collect();
    let mut header = RtpHeader {
        marker: rng.bool(),
        payload_type: rng.below(128) as u8,
        sequence_number: rng.next_u64() as u16,
        timestamp: rng.next_u64() as u32,
        ssrc: rng.next_u64() as u32,
        csrcs: Csrcs::from_slice(&csrcs).unwrap(),
        extensions: Extensions::new(),
    };
    let two_byte = rng.bool();
    header.extensions.set_two_byte_allowed(two_byte).unwrap();
    // The model: elements in order, a set of an existing id replacing it in place.
    let mut model: Vec<(u8, Vec<u8>)> = Vec::new();
    for _ in 0..rng.below(12) {
        let (id, value) = random_element(rng, two_byte);
        header.extensions.set(id, &value).unwrap();
        match model.iter_mut().find(|(i, _)| *i == id) {
            Some(slot) => slot.1 = value,
            None => model.push((id, value)),
        }
    }
    let payload_len = rng.below(300);
    let mut packet = RtpPacket::new(header, Bytes::from(rng.bytes(payload_len)));
    if rng.below(4) == 0 {
        packet.set_padding(rng.below(256) as u8);
    }
    (packet, model)
}

fn elements(exts: &Extensions) -> Vec<(u8, Vec<u8>)> {
    exts.iter().map(|(id, value)| (id, value.to_vec())).collect()
}

#[test]
fn random_headers_round_trip() {
    let mut rng = Rng::xorshift64(0x9E37_79B9_7F4A_7C15);
    let (mut one_byte_seen, mut two_byte_seen, mut padded_seen) = (0, 0, 0);
    for case in 0..3000 {
        let (packet, model) = random_packet(&mut rng);
        match packet.header.extensions.profile() {
            Some(0xBEDE) => one_byte_seen += 1,
            Some(_) => two_byte_seen += 1,
            None => {}
        }
        padded_seen += !packet.padding.is_empty() as usize;
        assert_eq!(elements(&packet.header.extensions), model, "case {case}: the extensions follow the model");
        let wire = write(&packet);
        assert_eq!(wire.len(), packet.encoded_len());
        let parsed = RtpPacket::parse(Bytes::from(wire.clone())).unwrap_or_else(|e| panic!("case {case}: {e}"));
        let (a, b) = (&parsed.header, &packet.header);
        assert_eq!((a.marker, a.payload_type, a.sequence_number), (b.marker, b.payload_type, b.sequence_number));
        assert_eq!((a.timestamp, a.ssrc, &a.csrcs), (b.timestamp, b.ssrc, &b.csrcs));
        assert_eq!(elements(&a.extensions), model, "case {case}");
        assert_eq!(a.extensions.profile(), b.extensions.profile(), "case {case}");
        let one_byte = model.iter().all(|(id, v)| (1..=14).contains(id) && (1..=16).contains(&v.len()));
        if !model.is_empty() {
            assert_eq!(a.extensions.profile() == Some(0xBEDE), one_byte, "case {case}: one-byte when all fit");
        }
        assert_eq!((&parsed.payload, &parsed.padding), (&packet.payload, &packet.padding));
        // What was parsed writes back byte for byte, into a Vec and into a slice.
        assert_eq!(write(&parsed), wire, "case {case}");
        let mut slice = vec![0; wire.len() + 5];
        assert_eq!(parsed.write_to(&mut slice), Ok(wire.len()));
        assert_eq!(&slice[..wire.len()], &wire[..]);
        // The header alone parses to the same header.
        let (header, len) = RtpHeader::parse(&wire).unwrap();
        assert_eq!(header, parsed.header);
        assert_eq!(len, wire.len() - parsed.payload.len() - parsed.padding.len());
    }
    assert!(
        one_byte_seen > 500 && two_byte_seen > 500 && padded_seen > 500,
        "{one_byte_seen} {two_byte_seen} {padded_seen}"
    );
}

#[test]
fn random_edits_of_parsed_packets() {
    let mut rng = Rng::xorshift64(0x2545_F491_4F6C_DD1D);
    for case in 0..2000 {
        let (packet, mut model) = random_packet(&mut rng);
        let mut parsed = RtpPacket::parse(Bytes::from(write(&packet))).unwrap();
        let two_byte = parsed.header.extensions.two_byte_allowed() || packet.header.extensions.two_byte_allowed();
        parsed.header.extensions.set_two_byte_allowed(two_byte).unwrap();
        for _ in 0..rng.below(5) {
            if rng.below(3) == 0 && !model.is_empty() {
                let at = rng.below(model.len());
                let (id, _) = model.remove(at);
                assert!(parsed.header.extensions.remove(id));
            } else {
                let (id, value) = random_element(&mut rng, two_byte);
                parsed.header.extensions.set(id, &value).unwrap();
                match model.iter_mut().find(|(i, _)| *i == id) {
                    Some(slot) => slot.1 = value,
                    None => model.push((id, value)),
                }
            }
        }
        assert_eq!(elements(&parsed.header.extensions), model, "case {case}");
        let wire = write(&parsed);
        let again = RtpPacket::parse(Bytes::from(wire.clone())).unwrap_or_else(|e| panic!("case {case}: {e}"));
        assert_eq!(elements(&again.header.extensions), model, "case {case}");
        assert_eq!(again.header.extensions.is_present(), !model.is_empty(), "case {case}");
        assert_eq!(write(&again), wire);
    }
}

/// Corrupted packets either fail to parse with an error or write back as they came.
#[test]
fn corrupted_packets_never_panic() {
    let mut rng = Rng::xorshift64(0xD1B5_4A32_D192_ED03);
    let map = chromium_map();
    for _ in 0..3000 {
        let (packet, _) = random_packet(&mut rng);
        let mut wire = write(&packet);
        for _ in 0..1 + rng.below(4) {
            mutate::flip_bit(&mut rng, &mut wire);
        }
        if rng.below(4) == 0 {
            mutate::truncate(&mut rng, &mut wire);
        }
        if let Ok(parsed) = RtpPacket::parse(Bytes::from(wire.clone())) {
            assert_eq!(write(&parsed), wire);
            let exts = &parsed.header.extensions;
            let _ = (map.read::<Mid>(exts), map.read::<AudioLevel>(exts), map.read::<VideoOrientation>(exts));
        }
    }
}
