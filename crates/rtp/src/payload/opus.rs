//! Opus (RFC 7587): one Opus packet (RFC 6716), of one or more 2.5 to 60 ms
//! frames, per RTP payload, unchanged. The RTP clock always runs at 48 kHz,
//! whatever the encoder's sampling rate.
//!
//! The marker bit is set on the first packet of a talkspurt after silence
//! (DTX); call [`AudioPacketizer::start_talkspurt`] on the
//! [`OpusPacketizer`] before that packet.

use super::audio::{AudioFormat, AudioPacketizer};
use super::Depacketizer;

/// The RTP clock rate of Opus, in Hz.
pub const CLOCK_RATE: u32 = 48_000;

/// The Opus payload format, for [`Depacketizer`]: every payload is one frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opus;

impl AudioFormat for Opus {
    const NAME: &'static str = "Opus";
    const CLOCK_RATE: u32 = CLOCK_RATE;
}

/// Opus packets into RTP payloads, one each (the generic [`AudioPacketizer`]).
pub type OpusPacketizer = AudioPacketizer<Opus>;

/// A depacketizer of Opus.
pub type OpusDepacketizer = Depacketizer<Opus>;

/// The duration of an Opus packet in 48 kHz samples (the RTP timestamp
/// increment it covers), read from its TOC byte (RFC 6716 section 3.1), or
/// `None` when the packet is empty or its frame count is invalid.
pub fn packet_duration(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config & 3)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config & 1)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config & 3)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let total = frame * frames;
    // At most 120 ms of audio in one packet.
    (frames > 0 && total <= 5760).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Depacketized, DropReason, Packetizer, PayloadError};

    #[test]
    fn toc_durations() {
        // config 1 (SILK NB 20 ms), one frame.
        assert_eq!(packet_duration(&[0x08, 1, 2]), Some(960));
        // config 31 (CELT FB 20 ms), two frames.
        assert_eq!(packet_duration(&[0xf9, 1]), Some(1920));
        // config 16 (CELT 2.5 ms), code 3 with 48 frames: 120 ms.
        assert_eq!(packet_duration(&[0x83, 48]), Some(5760));
        // 49 frames of 2.5 ms is over 120 ms; code 3 with no count byte; zero frames.
        assert_eq!(packet_duration(&[0x83, 49]), None);
        assert_eq!(packet_duration(&[0x83]), None);
        assert_eq!(packet_duration(&[0x83, 0]), None);
        assert_eq!(packet_duration(&[]), None);
    }

    #[test]
    fn one_packet_per_frame_and_talkspurt_marker() {
        let mut p = OpusPacketizer::new();
        assert_eq!(p.packetize(&[0xfc; 10], 10).unwrap().len(), 1);
        p.start_talkspurt();
        let out = p.packetize(&[0xfc, 1, 2], 1200).unwrap();
        assert!(out[0].marker);
        assert!(!p.packetize(&[0xfc, 1, 2], 1200).unwrap()[0].marker);
        assert!(matches!(p.packetize(&[0; 11], 10), Err(PayloadError::TooLarge { len: 11, mtu: 10, .. })));
        assert!(matches!(p.packetize(&[], 10), Err(PayloadError::EmptyFrame { .. })));
    }

    #[test]
    fn every_packet_is_a_frame_and_gaps_are_reported() {
        let mut d = OpusDepacketizer::default();
        assert_eq!(d.clock_rate(), 48_000);
        d.push(&[0xfc, 1], false, 1, 960).unwrap();
        d.push(&[0xfc, 2], false, 2, 1920).unwrap();
        d.push(&[0xfc, 4], false, 4, 3840).unwrap();
        let out: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
        assert_eq!(out.len(), 4);
        let Depacketized::Frame(f) = &out[0] else { panic!() };
        assert_eq!((&f.data[..], f.timestamp, f.keyframe), (&[0xfc, 1][..], 960, true));
        assert!(matches!(out[2], Depacketized::Dropped(ref l) if l.reason == DropReason::Loss));
        let Depacketized::Frame(f) = &out[3] else { panic!() };
        assert!(f.discontinuity);
        assert!(d.push(&[], false, 5, 4800).is_err());
        assert_eq!(d.stats().malformed_packets, 1);
    }
}
