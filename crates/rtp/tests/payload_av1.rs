//! AV1 packetize → depacketize: temporal units of many sizes and MTUs come
//! back as the same low-overhead bitstream, and loss in every position.

mod payload_support;

use payload_support::{check_loss_each_position, check_round_trip, receive, send};
use rtp::payload::av1::{write_leb128, Av1Depacketizer, Av1Packetizer};
use rtp::payload::Packetizer;
use testkit::Rng;

/// An OBU with its size field: type, optional extension byte, payload.
fn obu(kind: u8, extension: Option<u8>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![kind << 3 | u8::from(extension.is_some()) << 2 | 0x02];
    out.extend(extension);
    write_leb128(payload.len() as u32, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A temporal unit: a temporal delimiter, on keyframes a sequence header,
/// then one to three frame OBUs (some with an extension header).
fn temporal_unit(rng: &mut Rng, key: bool, size: usize) -> Vec<u8> {
    let mut tu = obu(2, None, &[]);
    if key {
        tu.extend(obu(1, None, &[0x00, 0x00, 0x00, 0x0a, 0x0b, 0x80]));
    }
    let frames = 1 + rng.below(3);
    for _ in 0..frames {
        let extension = (rng.below(2) == 0).then_some(0x20);
        let payload = rng.bytes(1 + size / frames);
        tu.extend(obu(6, extension, &payload));
    }
    tu
}

#[test]
fn round_trips_over_sizes_and_mtus() {
    let mut rng = Rng::new(0xa1);
    for mtu in [3, 4, 10, 130, 1200] {
        let frames: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let size = [0, 5, 126, 127, 1000, 16_500, 40_000][rng.below(if mtu < 20 { 5 } else { 7 })];
                temporal_unit(&mut rng, i % 10 == 0, size)
            })
            .collect();
        let got =
            check_round_trip(&mut Av1Packetizer::new(), &mut Av1Depacketizer::default(), &frames, mtu, |f| f.to_vec());
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.keyframe, i % 10 == 0);
        }
    }
}

#[test]
fn obus_without_size_fields_and_without_delimiters_come_back_normalized() {
    let mut rng = Rng::new(4);
    let payload = rng.bytes(3000);
    // A frame OBU without a size field (allowed last) and no temporal delimiter.
    let input = [&[0x30][..], &payload].concat();
    let expected = [&obu(2, None, &[])[..], &obu(6, None, &payload)].concat();
    check_round_trip(&mut Av1Packetizer::new(), &mut Av1Depacketizer::default(), &[input], 500, |_| expected.clone());
}

#[test]
fn sequence_header_sets_n_on_the_first_packet_only() {
    let mut rng = Rng::new(5);
    let out = Av1Packetizer::new().packetize(&temporal_unit(&mut rng, true, 5000), 1000).unwrap();
    assert!(out.len() > 1);
    assert_eq!(out[0].data[0] & 0x08, 0x08);
    assert!(out[1..].iter().all(|p| p.data[0] & 0x08 == 0));
    // Fragments: every packet after a Y=1 packet has Z=1.
    for pair in out.windows(2) {
        assert_eq!(pair[0].data[0] & 0x40 != 0, pair[1].data[0] & 0x80 != 0);
    }
}

#[test]
fn loss_in_each_position() {
    let mut rng = Rng::new(6);
    let frames = [
        temporal_unit(&mut rng, true, 3000),
        temporal_unit(&mut rng, false, 4000),
        temporal_unit(&mut rng, false, 700),
    ];
    for mtu in [150, 1200] {
        check_loss_each_position(
            || (Av1Packetizer::new(), Av1Depacketizer::default()),
            frames.clone(),
            mtu,
            |f| f.to_vec(),
        );
    }
}

#[test]
fn after_loss_resumes_at_the_next_temporal_unit() {
    let mut rng = Rng::new(7);
    // One frame OBU per temporal unit, as real-time encoders make them. (With
    // several, a unit that lost its first packet may resume at its second frame
    // OBU: it is then delivered with `discontinuity` set.)
    let frames: Vec<Vec<u8>> = (0..6)
        .map(|i| {
            let header = if i == 4 { obu(1, None, &[0, 0, 0, 0x0a, 0x0b, 0x80]) } else { Vec::new() };
            [obu(2, None, &[]), header, obu(6, None, &rng.bytes(2000))].concat()
        })
        .collect();
    let sent = send(&mut Av1Packetizer::new(), &frames, 800, 0);
    // Lose frame 1's first packet: frame 1 is dropped, frame 2 flagged.
    let lost = sent[1][0].sequence;
    let (got, drops) = receive(&mut Av1Depacketizer::default(), sent.iter().flatten().filter(|p| p.sequence != lost));
    let timestamps: Vec<u32> = got.iter().map(|f| f.timestamp).collect();
    assert_eq!(timestamps, [0, 6000, 9000, 12_000, 15_000]);
    assert!(got[1].discontinuity && !got[2].discontinuity);
    assert!(got[3].keyframe);
    for f in &got {
        assert_eq!(f.data, frames[f.timestamp as usize / 3000]);
    }
    assert_eq!(drops.len(), 1);
}
