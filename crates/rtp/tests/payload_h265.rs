//! H.265 (RFC 7798) packetize → depacketize: round trips over many frame
//! sizes and MTUs, keyframes (IRAP), and loss in every position.

mod payload_support;

use payload_support::{check_loss_each_position, check_round_trip};
use rtp::payload::h265::{H265Depacketizer, H265Packetizer};
use testkit::Rng;

const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90];
const SPS: &[u8] =
    &[0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x5d, 0xa0];
const PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40];

fn annexb(units: &[Vec<u8>]) -> Vec<u8> {
    units.iter().flat_map(|u| [&[0, 0, 0, 1][..], u].concat()).collect()
}

/// A slice segment NAL unit: IDR_W_RADL (19) or TRAIL_R (1), with
/// first_slice_segment_in_pic_flag when `first`.
fn slice(rng: &mut Rng, idr: bool, first: bool, len: usize) -> Vec<u8> {
    let kind: u8 = if idr { 19 } else { 1 };
    let mut nal = vec![kind << 1, 0x01, if first { 0xaf } else { 0x2f }];
    nal.extend(rng.bytes(len.saturating_sub(3)).into_iter().map(|b| b | 0x04));
    nal
}

fn access_unit(rng: &mut Rng, key: bool, size: usize) -> Vec<u8> {
    let mut units = Vec::new();
    if key {
        units.extend([VPS.to_vec(), SPS.to_vec(), PPS.to_vec()]);
    }
    let slices = 1 + rng.below(3);
    for i in 0..slices {
        units.push(slice(rng, key, i == 0, 3 + size / slices));
    }
    annexb(&units)
}

#[test]
fn round_trips_over_sizes_and_mtus() {
    let mut rng = Rng::new(7798);
    for mtu in [4, 30, 200, 1200] {
        let frames: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let size = [1, 10, 100, 1000, 5000, 30_000][rng.below(if mtu < 20 { 5 } else { 6 })];
                access_unit(&mut rng, i % 10 == 0, size)
            })
            .collect();
        let got = check_round_trip(&mut H265Packetizer::new(), &mut H265Depacketizer::default(), &frames, mtu, |f| {
            f.to_vec()
        });
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.keyframe, i % 10 == 0, "frame {i}");
        }
    }
}

#[test]
fn loss_in_each_position() {
    let mut rng = Rng::new(3);
    let frames =
        [access_unit(&mut rng, true, 3000), access_unit(&mut rng, false, 4000), access_unit(&mut rng, false, 600)];
    for mtu in [200, 1200] {
        check_loss_each_position(
            || (H265Packetizer::new(), H265Depacketizer::default()),
            frames.clone(),
            mtu,
            |f| f.to_vec(),
        );
    }
}
