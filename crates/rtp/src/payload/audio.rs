//! The audio payload formats' shared packetization: one encoded frame per RTP
//! payload, unchanged, both ways (RFC 3551 section 4.2 for G.711 and G.722,
//! RFC 7587 for Opus).
//!
//! A format is a unit type that implements [`AudioFormat`] (its name and RTP
//! clock rate); that makes it a [`PayloadFormat`] for the generic
//! [`Depacketizer`](super::Depacketizer), and [`AudioPacketizer`] sends its
//! frames. Each format module names the two:
//!
//! | format | [`AudioFormat`] | packetizer | depacketizer |
//! |---|---|---|---|
//! | Opus | [`Opus`](super::opus::Opus) | [`OpusPacketizer`](super::opus::OpusPacketizer) | [`OpusDepacketizer`](super::opus::OpusDepacketizer) |
//! | PCMU/PCMA | [`G711`](super::g711::G711) | [`G711Packetizer`](super::g711::G711Packetizer) | [`G711Depacketizer`](super::g711::G711Depacketizer) |
//! | G.722 | [`G722`](super::g722::G722) | [`G722Packetizer`](super::g722::G722Packetizer) | [`G722Depacketizer`](super::g722::G722Depacketizer) |
//!
//! The marker bit is set on the first packet of a talkspurt after silence
//! (RFC 3551 section 4.1, DTX); call [`AudioPacketizer::start_talkspurt`]
//! before that packet.

use std::fmt::Debug;
use std::marker::PhantomData;

use bytes::Bytes;

use super::{PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start};

/// An audio payload format whose every payload is one whole frame, sent as
/// is. Implementing it makes the type a [`PayloadFormat`] whose
/// [`NAME`](PayloadFormat::NAME) and [`CLOCK_RATE`](PayloadFormat::CLOCK_RATE)
/// are these.
pub trait AudioFormat: Debug + Clone + Copy + Default {
    /// A short name for errors and logs ("Opus").
    const NAME: &'static str;
    /// The RTP timestamp clock rate in Hz.
    const CLOCK_RATE: u32;
}

/// Frames of the audio format `F` into payloads, one each: the frame is the
/// payload. Fails on an empty frame and on one longer than the payload
/// budget (audio frames are not split).
pub struct AudioPacketizer<F> {
    talkspurt: bool,
    format: PhantomData<F>,
}

impl<F: AudioFormat> AudioPacketizer<F> {
    /// A packetizer.
    pub fn new() -> Self {
        AudioPacketizer { talkspurt: false, format: PhantomData }
    }

    /// Sets the marker bit on the next payload: it begins a talkspurt.
    pub fn start_talkspurt(&mut self) {
        self.talkspurt = true;
    }
}

impl<F: AudioFormat> Default for AudioPacketizer<F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F> Clone for AudioPacketizer<F> {
    fn clone(&self) -> Self {
        AudioPacketizer { talkspurt: self.talkspurt, format: PhantomData }
    }
}

impl<F: AudioFormat> Debug for AudioPacketizer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioPacketizer")
            .field("format", &<F as AudioFormat>::NAME)
            .field("talkspurt", &self.talkspurt)
            .finish()
    }
}

impl<F: AudioFormat> Packetizer for AudioPacketizer<F> {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        let format = <F as AudioFormat>::NAME;
        if frame.is_empty() {
            return Err(PayloadError::EmptyFrame { format });
        }
        if frame.len() > mtu {
            return Err(PayloadError::TooLarge { format, what: "frame", len: frame.len(), mtu });
        }
        let marker = std::mem::take(&mut self.talkspurt);
        Ok(vec![Payload { data: Bytes::copy_from_slice(frame), marker }])
    }
}

/// Every payload of an audio format is one whole frame, a keyframe, that
/// starts and ends there.
impl<F: AudioFormat> PayloadFormat for F {
    type Meta = ();
    const NAME: &'static str = <F as AudioFormat>::NAME;
    const CLOCK_RATE: u32 = <F as AudioFormat>::CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        if payload.is_empty() {
            return Err(PayloadError::Truncated { format: <F as AudioFormat>::NAME, what: "empty payload" });
        }
        Ok(PacketInfo { start: Start::Definite, ends_frame: true, keyframe: true })
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        out.extend_from_slice(payload);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Depacketized, Depacketizer};

    /// A format defined outside the three codec modules gets both halves.
    #[derive(Debug, Clone, Copy, Default)]
    struct L8;

    impl AudioFormat for L8 {
        const NAME: &'static str = "L8";
        const CLOCK_RATE: u32 = 11_025;
    }

    #[test]
    fn one_payload_per_frame_with_the_talkspurt_marker() {
        let mut p = AudioPacketizer::<L8>::new();
        assert_eq!(format!("{p:?}"), "AudioPacketizer { format: \"L8\", talkspurt: false }");
        p.start_talkspurt();
        let out = p.clone().packetize(&[1, 2, 3], 3).unwrap();
        assert_eq!(out, [Payload { data: Bytes::from_static(&[1, 2, 3]), marker: true }]);
        assert_eq!(p.packetize(&[1, 2, 3], 3).unwrap(), out, "a clone keeps the pending marker");
        assert!(!p.packetize(&[1], 3).unwrap()[0].marker, "the marker is on one payload only");
        let err = p.packetize(&[0; 4], 3).unwrap_err();
        assert_eq!(err, PayloadError::TooLarge { format: "L8", what: "frame", len: 4, mtu: 3 });
        assert_eq!(p.packetize(&[], 3), Err(PayloadError::EmptyFrame { format: "L8" }));

        let mut d = Depacketizer::new(L8);
        assert_eq!(d.clock_rate(), 11_025);
        d.push(&out[0].data, true, 1, 0).unwrap();
        assert!(matches!(d.poll(), Some(Depacketized::Frame(f)) if f.data[..] == [1, 2, 3] && f.keyframe));
        assert_eq!(d.push(&[], false, 2, 1), Err(PayloadError::Truncated { format: "L8", what: "empty payload" }));
    }
}
