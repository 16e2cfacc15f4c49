//! H.264 (RFC 6184) packetize → depacketize: round trips over many frame
//! sizes and MTUs in both packetization modes, and loss in every position.

mod payload_support;

use payload_support::{check_loss_each_position, check_round_trip, receive, send};
use rtp::payload::h264::{H264Depacketizer, H264Packetizer, PacketizationMode, H264};
use rtp::payload::{DropReason, Packetizer};
use testkit::Rng;

const SPS: &[u8] =
    &[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10];
const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
const SEI: &[u8] = &[0x06, 0x05, 0x02, 0xaa, 0xbb, 0x80];

fn annexb(units: &[Vec<u8>]) -> Vec<u8> {
    units.iter().flat_map(|u| [&[0, 0, 0, 1][..], u].concat()).collect()
}

/// A slice NAL unit of `len` bytes: IDR (type 5) or not (type 1), with
/// first_mb_in_slice 0 when `first`, and no start-code lookalikes in its body.
fn slice(rng: &mut Rng, idr: bool, first: bool, len: usize) -> Vec<u8> {
    let mut nal = vec![if idr { 0x65 } else { 0x41 }, if first { 0x88 } else { 0x42 }];
    nal.extend(rng.bytes(len.saturating_sub(2)).into_iter().map(|b| b | 0x04));
    nal.truncate(len.max(2));
    nal
}

/// An access unit: keyframes carry SPS, PPS and an IDR in slices; others an
/// SEI sometimes and one to three P slices.
fn access_unit(rng: &mut Rng, key: bool, size: usize) -> Vec<u8> {
    let mut units = Vec::new();
    if key {
        units.extend([SPS.to_vec(), PPS.to_vec()]);
    } else if rng.below(3) == 0 {
        units.push(SEI.to_vec());
    }
    let slices = 1 + rng.below(3);
    for i in 0..slices {
        units.push(slice(rng, key, i == 0, 2 + size / slices));
    }
    annexb(&units)
}

#[test]
fn round_trips_over_sizes_and_mtus() {
    let mut rng = Rng::new(6184);
    for mtu in [3, 20, 100, 576, 1200, 1400] {
        let frames: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                // Sizes bounded so that MTU 3 stays under the 16,384 packets a frame may take.
                let size = [1, 10, 100, 1000, 5000, 30_000][rng.below(if mtu < 20 { 5 } else { 6 })];
                access_unit(&mut rng, i % 10 == 0, size)
            })
            .collect();
        let got =
            check_round_trip(&mut H264Packetizer::default(), &mut H264Depacketizer::default(), &frames, mtu, |f| {
                f.to_vec()
            });
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.keyframe, i % 10 == 0);
        }
    }
}

#[test]
fn single_nal_mode_round_trips_when_units_fit() {
    let mut rng = Rng::new(7);
    let frames: Vec<Vec<u8>> = (0..20).map(|i| access_unit(&mut rng, i == 0, 300)).collect();
    let mut p = H264Packetizer::new(PacketizationMode::SingleNalUnit);
    check_round_trip(&mut p, &mut H264Depacketizer::default(), &frames, 1200, |f| f.to_vec());
}

#[test]
fn three_byte_start_codes_come_back_as_four() {
    let mut rng = Rng::new(3);
    let s = slice(&mut rng, true, true, 40);
    let frame = [&[0, 0, 1][..], SPS, &[0, 0, 1], PPS, &[0, 0, 1], &s].concat();
    let expected = annexb(&[SPS.to_vec(), PPS.to_vec(), s]);
    check_round_trip(&mut H264Packetizer::default(), &mut H264Depacketizer::default(), &[frame], 1200, |_| {
        expected.clone()
    });
}

#[test]
fn loss_in_each_position() {
    let mut rng = Rng::new(99);
    let frames =
        [access_unit(&mut rng, true, 3000), access_unit(&mut rng, false, 4000), access_unit(&mut rng, false, 900)];
    for mtu in [200, 1200] {
        check_loss_each_position(
            || (H264Packetizer::default(), H264Depacketizer::new(H264::new())),
            frames.clone(),
            mtu,
            |f| f.to_vec(),
        );
    }
    // A middle frame of one single-NAL packet.
    let small = [
        access_unit(&mut rng, true, 100),
        annexb(&[slice(&mut rng, false, true, 50)]),
        access_unit(&mut rng, false, 80),
    ];
    check_loss_each_position(|| (H264Packetizer::default(), H264Depacketizer::default()), small, 1200, |f| f.to_vec());
}

#[test]
fn a_missing_marker_is_closed_by_the_next_timestamp() {
    let mut rng = Rng::new(5);
    let frames = [access_unit(&mut rng, true, 3000), access_unit(&mut rng, false, 100)];
    let mut sent = send(&mut H264Packetizer::default(), &frames, 1200, 0);
    sent[0].last_mut().unwrap().marker = false;
    let (got, drops) = receive(&mut H264Depacketizer::default(), sent.iter().flatten());
    assert!(drops.is_empty());
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].data.to_vec(), got[0].marker), (frames[0].clone(), false));
}

#[test]
fn an_unfinished_fragment_at_a_new_timestamp_drops_the_frame() {
    let mut rng = Rng::new(6);
    let frames = [access_unit(&mut rng, true, 3000), access_unit(&mut rng, true, 100)];
    let mut sent = send(&mut H264Packetizer::default(), &frames, 1200, 0);
    // The sender stopped mid-NAL: the FU-A end never came, yet the sequence is unbroken.
    sent[0].pop();
    for p in &mut sent[1] {
        p.sequence -= 1;
    }
    let mut d = H264Depacketizer::default();
    let (got, drops) = receive(&mut d, sent.iter().flatten());
    assert_eq!(drops.len(), 1);
    assert_eq!((drops[0].reason, drops[0].timestamp), (DropReason::Incomplete, Some(0)));
    assert_eq!(got.len(), 1);
    assert!(got[0].keyframe && got[0].discontinuity);
}

#[test]
fn the_frame_size_limit_drops_and_resyncs() {
    let mut rng = Rng::new(8);
    let frames = [access_unit(&mut rng, true, 20_000), access_unit(&mut rng, true, 1000)];
    let sent = send(&mut H264Packetizer::default(), &frames, 1200, 0);
    let config = rtp::payload::DepacketizerConfig { max_frame_bytes: 10_000, ..Default::default() };
    let mut d = H264Depacketizer::with_config(H264::new(), config);
    let mut peak = 0;
    for p in sent.iter().flatten() {
        let _ = d.push(&p.payload, p.marker, p.sequence, p.timestamp);
        peak = peak.max(d.buffered_bytes());
    }
    assert!(peak <= 10_000 + 1200, "held {peak} bytes");
    let outputs: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
    assert!(matches!(outputs[0], rtp::payload::Depacketized::Dropped(l) if l.reason == DropReason::TooLarge));
    assert!(matches!(&outputs[1], rtp::payload::Depacketized::Frame(f) if f.data == frames[1]));
    assert_eq!(d.stats().dropped_frames, 1);
}

#[test]
fn duplicates_are_ignored_until_too_many() {
    let mut rng = Rng::new(9);
    let frames = [access_unit(&mut rng, true, 5000)];
    let sent = send(&mut H264Packetizer::default(), &frames, 1200, 0);
    let packets = &sent[0];
    // Each packet twice: ignored.
    let doubled: Vec<_> = packets.iter().flat_map(|p| [p, p]).collect();
    let mut d = H264Depacketizer::default();
    let (got, drops) = receive(&mut d, doubled);
    assert_eq!((got.len(), drops.len()), (1, 0));
    assert_eq!(d.stats().duplicate_packets, packets.len() as u64);
    // The first packet forty times: the frame is dropped.
    let mut d = H264Depacketizer::default();
    let flood = std::iter::repeat_n(&packets[0], 40).chain(&packets[1..]);
    let (got, drops) = receive(&mut d, flood);
    assert!(got.is_empty());
    assert_eq!(drops[0].reason, DropReason::TooManyDuplicates);
}

#[test]
fn packetizer_errors() {
    let mut p = H264Packetizer::default();
    assert!(p.packetize(&[0, 0, 0, 1], 1200).is_err());
    assert!(p.packetize(&annexb(&[SPS.to_vec()]), 2).is_err());
}
