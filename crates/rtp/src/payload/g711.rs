//! G.711 PCMU (μ-law) and PCMA (A-law), RFC 3551 section 4.5.14: one byte per
//! sample at 8 kHz, static payload types 0 and 8. A frame (typically 20 ms,
//! 160 bytes) travels in one payload; the RTP timestamp advances by its length.

use super::{single_packet, whole_frame, Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat};

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

/// G.711 frames into payloads, one each.
#[derive(Debug, Clone, Default)]
pub struct G711Packetizer {
    talkspurt: bool,
}

impl G711Packetizer {
    /// A packetizer (the same for PCMU and PCMA).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the marker bit on the next payload: it begins a talkspurt.
    pub fn start_talkspurt(&mut self) {
        self.talkspurt = true;
    }
}

impl Packetizer for G711Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        let mut out = single_packet(G711::NAME, frame, mtu)?;
        out[0].marker = std::mem::take(&mut self.talkspurt);
        Ok(out)
    }
}

/// The G.711 payload format (PCMU or PCMA), for [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct G711;

/// A depacketizer of PCMU or PCMA.
pub type G711Depacketizer = Depacketizer<G711>;

impl PayloadFormat for G711 {
    type Meta = ();
    const NAME: &'static str = "G.711";
    const CLOCK_RATE: u32 = CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        whole_frame(Self::NAME, payload)
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        out.extend_from_slice(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Depacketized;

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
