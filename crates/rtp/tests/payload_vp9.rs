//! VP9 (RFC 9628) packetize → depacketize: non-flexible single-layer round
//! trips with the scalability structure on keyframes, loss in every position,
//! and a hand-built two-spatial-layer picture in flexible mode.

mod payload_support;

use payload_support::{check_loss_each_position, check_round_trip, receive, Packet};
use rtp::payload::vp8::PictureId;
use rtp::payload::vp9::{Vp9Depacketizer, Vp9Descriptor, Vp9Layers, Vp9Packetizer};
use testkit::Rng;

/// A VP9 keyframe: uncompressed header (profile 0, 8-bit, BT.601) with the
/// size, then arbitrary data.
fn keyframe(rng: &mut Rng, width: u16, height: u16, len: usize) -> Vec<u8> {
    // frame_marker 2, profile 0, show_existing 0, KEY_FRAME, show 1, error_res 0; sync code;
    // color_space 1 (BT.601), color_range 0; then 16-bit width-1 and height-1 from bit 4.
    let (w, h) = (u32::from(width - 1), u32::from(height - 1));
    let sizes = 0x1u64 << 36 | u64::from(w) << 20 | u64::from(h) << 4;
    let mut frame = vec![0x82, 0x49, 0x83, 0x42];
    frame.extend_from_slice(&sizes.to_be_bytes()[3..]);
    frame.extend(rng.bytes(len.saturating_sub(frame.len())));
    frame
}

/// A VP9 interframe: frame_type 1.
fn interframe(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut frame = vec![0x86];
    frame.extend(rng.bytes(len.max(2) - 1));
    frame
}

#[test]
fn round_trips_over_sizes_and_mtus() {
    let mut rng = Rng::new(9628);
    for mtu in [16, 50, 300, 1200] {
        let frames: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let size = [1, 10, 100, 1000, 8000, 30_000][rng.below(if mtu < 20 { 5 } else { 6 })];
                if i % 20 == 0 {
                    keyframe(&mut rng, 960, 540, size.max(9))
                } else {
                    interframe(&mut rng, size)
                }
            })
            .collect();
        let got =
            check_round_trip(&mut Vp9Packetizer::new(), &mut Vp9Depacketizer::default(), &frames, mtu, |f| f.to_vec());
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.keyframe, i % 20 == 0, "frame {i}");
            assert_eq!(f.meta.picture_id, Some(PictureId::Long(i as u16)));
            assert!(!f.meta.flexible && f.meta.layers.is_none());
            let ss = f.meta.scalability.as_ref();
            assert_eq!(ss.is_some(), f.keyframe);
            if let Some(ss) = ss {
                assert_eq!(ss.resolutions, Some(vec![(960, 540)]));
                assert_eq!(ss.picture_group.as_ref().map(Vec::len), Some(1));
            }
        }
    }
}

#[test]
fn loss_in_each_position() {
    let mut rng = Rng::new(2);
    let frames = [keyframe(&mut rng, 640, 360, 2000), interframe(&mut rng, 3000), interframe(&mut rng, 500)];
    for mtu in [120, 1200] {
        check_loss_each_position(
            || (Vp9Packetizer::new(), Vp9Depacketizer::default()),
            frames.clone(),
            mtu,
            |f| f.to_vec(),
        );
    }
}

/// Two spatial layers of one picture (flexible mode): each layer frame comes
/// out on its own, only the base layer of the keyframe picture is a keyframe,
/// and only the top layer carries the marker.
#[test]
fn spatial_layers_come_out_as_layer_frames() {
    let mut rng = Rng::new(3);
    let base = keyframe(&mut rng, 320, 180, 1500);
    let top = rng.bytes(2500);
    let mut packets = Vec::new();
    let mut sequence = 10u16;
    for (sid, data) in [(0u8, &base), (1, &top)] {
        let chunks: Vec<&[u8]> = data.chunks(1000).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let d = Vp9Descriptor {
                picture_id: Some(PictureId::Long(77)),
                flexible: true,
                begins_frame: i == 0,
                ends_frame: i + 1 == chunks.len(),
                layers: Some(Vp9Layers { spatial_id: sid, inter_layer_dependency: sid == 1, ..Default::default() }),
                ..Default::default()
            };
            let mut payload = Vec::new();
            d.write(&mut payload);
            payload.extend_from_slice(chunk);
            let marker = sid == 1 && i + 1 == chunks.len();
            packets.push(Packet { payload, marker, sequence, timestamp: 90_000 });
            sequence += 1;
        }
    }
    let (got, drops) = receive(&mut Vp9Depacketizer::default(), &packets);
    assert!(drops.is_empty());
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].data.to_vec(), got[0].keyframe, got[0].marker), (base, true, false));
    assert_eq!((got[1].data.to_vec(), got[1].keyframe, got[1].marker), (top, false, true));
    assert_eq!(got[1].meta.layers.map(|l| l.spatial_id), Some(1));

    // Losing the top layer's first packet loses that layer frame only.
    let (got, drops) = receive(&mut Vp9Depacketizer::default(), packets.iter().filter(|p| p.sequence != 12));
    assert_eq!(got.len(), 1);
    assert_eq!(drops.len(), 1);
}
