//! VP8 (RFC 7741) packetize → depacketize: round trips over many frame sizes
//! and MTUs, keyframe detection, picture ids, and loss in every position.

mod payload_support;

use payload_support::{check_loss_each_position, check_round_trip, receive, send};
use rtp::payload::vp8::{keyframe_size, PictureId, Vp8Depacketizer, Vp8Packetizer};
use testkit::Rng;

/// A VP8 keyframe: frame tag (P=0, show_frame, first partition size), start
/// code 9d 01 2a, 14-bit width and height, then arbitrary data.
fn keyframe(rng: &mut Rng, width: u16, height: u16, len: usize) -> Vec<u8> {
    let first_partition = (len as u32 / 2).min(0x7ffff);
    let tag = first_partition << 5 | 1 << 4; // key_frame 0, version 0, show_frame 1
    let mut frame = tag.to_le_bytes()[..3].to_vec();
    frame.extend_from_slice(&[0x9d, 0x01, 0x2a]);
    frame.extend_from_slice(&width.to_le_bytes());
    frame.extend_from_slice(&height.to_le_bytes());
    frame.extend(rng.bytes(len.saturating_sub(10)));
    frame
}

/// A VP8 interframe: frame tag with P=1.
fn interframe(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut frame = rng.bytes(len.max(3));
    frame[0] |= 1;
    frame
}

#[test]
fn round_trips_over_sizes_and_mtus() {
    let mut rng = Rng::new(7741);
    for mtu in [5, 6, 50, 300, 1200] {
        let frames: Vec<Vec<u8>> = (0..50)
            .map(|i| {
                let size = [1, 3, 10, 99, 1000, 4000, 20_000][rng.below(if mtu < 10 { 6 } else { 7 })];
                if i % 15 == 0 {
                    keyframe(&mut rng, 1280, 720, size.max(10))
                } else {
                    interframe(&mut rng, size)
                }
            })
            .collect();
        let mut p = Vp8Packetizer::with_picture_id(32_760);
        let got = check_round_trip(&mut p, &mut Vp8Depacketizer::default(), &frames, mtu, |f| f.to_vec());
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.keyframe, i % 15 == 0, "frame {i}");
            assert_eq!(f.meta.size, f.keyframe.then_some((1280, 720)));
            assert_eq!(f.meta.descriptor.picture_id, Some(PictureId::Long((32_760 + i as u16) & 0x7fff)));
        }
    }
}

#[test]
fn keyframe_header_is_read() {
    let mut rng = Rng::new(1);
    let frame = keyframe(&mut rng, 640, 360, 100);
    assert_eq!(keyframe_size(&frame), Some((640, 360)));
    assert_eq!(keyframe_size(&interframe(&mut rng, 100)), None);
}

#[test]
fn loss_in_each_position() {
    let mut rng = Rng::new(2);
    let frames = [keyframe(&mut rng, 320, 240, 2500), interframe(&mut rng, 3000), interframe(&mut rng, 700)];
    for mtu in [100, 1200] {
        check_loss_each_position(
            || (Vp8Packetizer::new(), Vp8Depacketizer::default()),
            frames.clone(),
            mtu,
            |f| f.to_vec(),
        );
    }
}

#[test]
fn resumes_at_the_next_frame_after_a_burst() {
    let mut rng = Rng::new(3);
    let frames: Vec<Vec<u8>> = (0..10).map(|_| interframe(&mut rng, 2500)).collect();
    let sent = send(&mut Vp8Packetizer::new(), &frames, 1000, 65_000);
    // Lose the last packet of frame 3, all of frame 4 and the first packet of frame 5.
    let mut lost = vec![sent[3].last().unwrap().sequence, sent[5][0].sequence];
    lost.extend(sent[4].iter().map(|p| p.sequence));
    let (got, drops) =
        receive(&mut Vp8Depacketizer::default(), sent.iter().flatten().filter(|p| !lost.contains(&p.sequence)));
    let timestamps: Vec<u32> = got.iter().map(|f| f.timestamp).collect();
    assert_eq!(timestamps, [0, 3000, 6000, 18_000, 21_000, 24_000, 27_000]);
    for f in &got {
        assert_eq!(f.data, frames[f.timestamp as usize / 3000], "frame at {}", f.timestamp);
    }
    assert!(got[3].discontinuity && !got[4].discontinuity);
    // Frame 3 dropped as it was cut; the rest of frame 5 skipped as it has no start.
    assert_eq!(drops.len(), 1);
    assert_eq!(drops[0].timestamp, Some(9000));
}
