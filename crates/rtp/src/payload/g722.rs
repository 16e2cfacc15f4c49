//! G.722 (RFC 3551 section 4.5.2): 64 kbit/s wideband audio sampled at 16 kHz,
//! static payload type 9. For historical reasons its RTP clock rate is 8000 Hz
//! (RFC 3551 says so explicitly), so the timestamp advances by one per byte,
//! that is per two samples. One frame travels in one payload.

use super::audio::{AudioFormat, AudioPacketizer};
use super::Depacketizer;

/// The RTP clock rate of G.722, in Hz: 8000, half the sampling rate.
pub const CLOCK_RATE: u32 = 8_000;
/// The audio sampling rate of G.722, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// The static payload type of G.722.
pub const PAYLOAD_TYPE: u8 = 9;

/// The RTP timestamp increment of a G.722 frame: one tick per byte (two samples).
pub fn timestamp_increment(frame_len: usize) -> u32 {
    frame_len as u32
}

/// The G.722 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct G722;

impl AudioFormat for G722 {
    const NAME: &'static str = "G.722";
    const CLOCK_RATE: u32 = CLOCK_RATE;
}

/// G.722 frames into payloads, one each (the generic [`AudioPacketizer`]).
pub type G722Packetizer = AudioPacketizer<G722>;

/// A depacketizer of G.722.
pub type G722Depacketizer = Depacketizer<G722>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Depacketized, Packetizer};

    #[test]
    fn clock_rate_is_half_the_sampling_rate() {
        // 20 ms of 16 kHz audio is 320 samples in 160 bytes: 160 ticks of the 8 kHz clock.
        assert_eq!(timestamp_increment(160), 160);
        assert_eq!(CLOCK_RATE * 2, SAMPLE_RATE);
        let mut d = G722Depacketizer::default();
        assert_eq!(d.clock_rate(), 8_000);
        let out = G722Packetizer::new().packetize(&[0x11; 160], 1200).unwrap();
        d.push(&out[0].data, false, 9, 160).unwrap();
        assert!(matches!(d.poll(), Some(Depacketized::Frame(f)) if f.data.len() == 160));
    }
}
