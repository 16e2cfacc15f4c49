//! G.711 PCMU (μ-law) and PCMA (A-law), RFC 3551 section 4.5.14: one byte per
//! sample at 8 kHz, static payload types 0 and 8. A frame (typically 20 ms,
//! 160 bytes) travels in one payload; the RTP timestamp advances by its length.

use super::audio::{AudioFormat, AudioPacketizer};
use super::Depacketizer;

/// The RTP clock rate of G.711, in Hz (also its sampling rate).
pub const CLOCK_RATE: u32 = 8_000;
/// The static payload type of PCMU.
pub const PCMU_PAYLOAD_TYPE: u8 = 0;
/// The static payload type of PCMA.
pub const PCMA_PAYLOAD_TYPE: u8 = 8;

/// The RTP timestamp increment of a G.711 frame: one tick per byte.
pub fn timestamp_increment(frame_len: usize) -> u32 {
    frame_len as u32
}

/// The G.711 payload format (PCMU or PCMA), for [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct G711;

impl AudioFormat for G711 {
    const NAME: &'static str = "G.711";
    const CLOCK_RATE: u32 = CLOCK_RATE;
}

/// G.711 frames into payloads, one each (the same for PCMU and PCMA; the
/// generic [`AudioPacketizer`]).
pub type G711Packetizer = AudioPacketizer<G711>;

/// A depacketizer of PCMU or PCMA.
pub type G711Depacketizer = Depacketizer<G711>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Depacketized, Packetizer};

    #[test]
    fn twenty_ms_frames_round_trip() {
        let mut p = G711Packetizer::new();
        let mut d = G711Depacketizer::default();
        let mut ts = 0u32;
        for i in 0..5u8 {
            let frame = [0xd5 ^ i; 160];
            let out = p.packetize(&frame, 1200).unwrap();
            assert_eq!(out.len(), 1);
            d.push(&out[0].data, out[0].marker, u16::from(i), ts).unwrap();
            let Some(Depacketized::Frame(f)) = d.poll() else { panic!("a frame") };
            assert_eq!((&f.data[..], f.timestamp), (&frame[..], ts));
            ts += timestamp_increment(frame.len());
        }
        assert_eq!(ts, 800);
    }
}
