//! Opus, G.711 and G.722: one frame per payload, the clock rates, loss reports.

mod payload_support;

use payload_support::{check_round_trip, receive, send};
use rtp::payload::g711::{G711Depacketizer, G711Packetizer};
use rtp::payload::g722::{G722Depacketizer, G722Packetizer};
use rtp::payload::opus::{packet_duration, OpusDepacketizer, OpusPacketizer};
use rtp::payload::{DropReason, PayloadFormat};
use testkit::Rng;

#[test]
fn clock_rates() {
    assert_eq!(rtp::payload::opus::Opus::CLOCK_RATE, 48_000);
    assert_eq!(rtp::payload::g711::G711::CLOCK_RATE, 8_000);
    assert_eq!(rtp::payload::g722::G722::CLOCK_RATE, 8_000);
    assert_eq!(rtp::payload::g722::SAMPLE_RATE, 16_000);
}

#[test]
fn audio_frames_round_trip() {
    let mut rng = Rng::new(7587);
    let opus: Vec<Vec<u8>> = (0..100)
        .map(|_| {
            let len = 1 + rng.below(300);
            [&[0xfc][..], &rng.bytes(len)].concat()
        })
        .collect();
    assert!(opus.iter().all(|f| packet_duration(f) == Some(960)));
    check_round_trip(&mut OpusPacketizer::new(), &mut OpusDepacketizer::default(), &opus, 1200, |f| f.to_vec());
    let pcm: Vec<Vec<u8>> = (0..50).map(|_| rng.bytes(160)).collect();
    check_round_trip(&mut G711Packetizer::new(), &mut G711Depacketizer::default(), &pcm, 1200, |f| f.to_vec());
    check_round_trip(&mut G722Packetizer::new(), &mut G722Depacketizer::default(), &pcm, 1200, |f| f.to_vec());
}

#[test]
fn each_lost_packet_is_reported_and_the_rest_arrive() {
    let mut rng = Rng::new(1);
    let frames: Vec<Vec<u8>> = (0..20).map(|_| rng.bytes(80)).collect();
    let sent = send(&mut OpusPacketizer::new(), &frames, 1200, 65_530);
    for lost in 0..frames.len() {
        let mut d = OpusDepacketizer::default();
        let (got, drops) = receive(&mut d, sent.iter().flatten().filter(|p| p.timestamp != 3000 * lost as u32));
        assert_eq!(got.len(), frames.len() - 1);
        // A loss before the first packet or after the last cannot be seen.
        let seen = usize::from(lost > 0 && lost < frames.len() - 1);
        assert_eq!(drops.len(), seen);
        assert!(drops.iter().all(|l| l.reason == DropReason::Loss && l.timestamp.is_none()));
        assert_eq!(got.iter().filter(|f| f.discontinuity).count(), seen);
    }
}
