//! The payload formats a negotiated codec name stands for: one packetizer per sending
//! payload type, one depacketizer per receive stream, behind object-safe wrappers so a
//! stream can change codec when the payload type does.

use crate::payload::{
    av1, g711, g722, h264, h265, opus, vp8, vp9, Depacketized, Depacketizer, Frame, Packetizer, PayloadError,
    PayloadFormat,
};

use super::CodecConfig;

/// A packetizer chosen at run time.
pub(crate) type DynPacketizer = Box<dyn Packetizer + Send>;

/// A depacketizer chosen at run time; the per-format frame metadata is dropped.
pub(crate) trait DynDepacketizer: Send + std::fmt::Debug {
    fn push(&mut self, payload: &[u8], marker: bool, sequence: u16, timestamp: u32) -> Result<(), PayloadError>;
    fn poll(&mut self) -> Option<Depacketized>;
}

impl<F: PayloadFormat + Send> DynDepacketizer for Depacketizer<F>
where
    F::Meta: Send,
{
    fn push(&mut self, payload: &[u8], marker: bool, sequence: u16, timestamp: u32) -> Result<(), PayloadError> {
        Depacketizer::push(self, payload, marker, sequence, timestamp)
    }

    fn poll(&mut self) -> Option<Depacketized> {
        Some(match Depacketizer::poll(self)? {
            Depacketized::Frame(f) => Depacketized::Frame(Frame {
                data: f.data,
                timestamp: f.timestamp,
                first_sequence: f.first_sequence,
                last_sequence: f.last_sequence,
                keyframe: f.keyframe,
                marker: f.marker,
                discontinuity: f.discontinuity,
                meta: (),
            }),
            Depacketized::Dropped(d) => Depacketized::Dropped(d),
        })
    }
}

/// The codec's name as SDP spells it, in upper case.
fn name(codec: &CodecConfig) -> String {
    codec.name.to_ascii_uppercase()
}

/// Whether `fmtp` says `key=value` (parameters separated by `;`).
fn fmtp_has(fmtp: Option<&str>, key: &str, value: &str) -> bool {
    fmtp.is_some_and(|f| {
        f.split(';').any(|p| p.split_once('=').is_some_and(|(k, v)| k.trim() == key && v.trim() == value))
    })
}

/// The packetizer of `codec`, None for a format this crate does not have.
pub(crate) fn packetizer(codec: &CodecConfig) -> Option<DynPacketizer> {
    Some(match name(codec).as_str() {
        "OPUS" => Box::new(opus::OpusPacketizer::new()),
        "PCMU" | "PCMA" => Box::new(g711::G711Packetizer::new()),
        "G722" => Box::new(g722::G722Packetizer::new()),
        "VP8" => Box::new(vp8::Vp8Packetizer::new()),
        "VP9" => Box::new(vp9::Vp9Packetizer::new()),
        "H264" => {
            let mode = if fmtp_has(codec.fmtp.as_deref(), "packetization-mode", "1") {
                h264::PacketizationMode::NonInterleaved
            } else {
                h264::PacketizationMode::SingleNalUnit
            };
            Box::new(h264::H264Packetizer::new(mode))
        }
        "H265" => Box::new(h265::H265Packetizer::new()),
        "AV1" => Box::new(av1::Av1Packetizer::new()),
        _ => return None,
    })
}

/// The depacketizer of `codec`, None for a format this crate does not have.
pub(crate) fn depacketizer(codec: &CodecConfig) -> Option<Box<dyn DynDepacketizer>> {
    Some(match name(codec).as_str() {
        "OPUS" => Box::new(opus::OpusDepacketizer::default()),
        "PCMU" | "PCMA" => Box::new(g711::G711Depacketizer::default()),
        "G722" => Box::new(g722::G722Depacketizer::default()),
        "VP8" => Box::new(vp8::Vp8Depacketizer::default()),
        "VP9" => Box::new(vp9::Vp9Depacketizer::default()),
        "H264" => Box::new(h264::H264Depacketizer::default()),
        "H265" => Box::new(h265::H265Depacketizer::default()),
        "AV1" => Box::new(av1::Av1Depacketizer::default()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_mode_follows_the_fmtp() {
        assert!(fmtp_has(Some("level-asymmetry-allowed=1; packetization-mode=1"), "packetization-mode", "1"));
        assert!(!fmtp_has(Some("packetization-mode=0"), "packetization-mode", "1"));
        assert!(!fmtp_has(None, "packetization-mode", "1"));
    }
}
