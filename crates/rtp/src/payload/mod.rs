//! # RTP payload formats: frames to payloads and back
//!
//! An RTP payload format says how one encoded media frame (an Opus packet, a
//! VP8 frame, an H.264 access unit, an AV1 temporal unit) travels in the
//! payloads of one or more RTP packets, and how a receiver puts it back
//! together. This module works on payload bytes only: the RTP header (marker
//! bit, sequence number, timestamp) is read and written by the caller, who
//! hands its three fields in alongside each payload.
//!
//! - A [`Packetizer`] takes one frame and a payload budget (the MTU left after
//!   the RTP header, SRTP tag and extensions) and returns [`Payload`]s in send
//!   order; [`Payload::marker`] says which one carries the RTP marker bit.
//! - A [`Depacketizer`] takes, per received packet and in sequence order, the
//!   payload, marker bit, sequence number and timestamp
//!   ([`Depacketizer::push`]) and yields [`Depacketized`] outputs
//!   ([`Depacketizer::poll`]): whole [`Frame`]s with their keyframe flag, or a
//!   [`Dropped`] report when packets were lost or a frame had to be thrown
//!   away, so the caller can ask the sender for a keyframe (PLI/FIR).
//!
//! | format | packetizer | depacketizer | clock rate |
//! |---|---|---|---|
//! | Opus (RFC 7587) | [`opus::OpusPacketizer`] | [`opus::OpusDepacketizer`] | 48000 |
//! | PCMU/PCMA (RFC 3551) | [`g711::G711Packetizer`] | [`g711::G711Depacketizer`] | 8000 |
//! | G.722 (RFC 3551) | [`g722::G722Packetizer`] | [`g722::G722Depacketizer`] | 8000 (16 kHz audio) |
//! | VP8 (RFC 7741) | [`vp8::Vp8Packetizer`] | [`vp8::Vp8Depacketizer`] | 90000 |
//! | VP9 (RFC 9628) | [`vp9::Vp9Packetizer`] | [`vp9::Vp9Depacketizer`] | 90000 |
//! | H.264 (RFC 6184) | [`h264::H264Packetizer`] | [`h264::H264Depacketizer`] | 90000 |
//! | H.265 (RFC 7798) | [`h265::H265Packetizer`] | [`h265::H265Depacketizer`] | 90000 |
//! | AV1 (AOM RTP spec v1.0) | [`av1::Av1Packetizer`] | [`av1::Av1Depacketizer`] | 90000 |
//!
//! The audio packetizers are one generic [`audio::AudioPacketizer`] over an
//! [`audio::AudioFormat`] (name and clock rate), which also makes the format
//! a [`PayloadFormat`]: a new one-frame-per-payload audio format is a unit
//! type and an `AudioFormat` impl.
//!
//! [`red`] (RFC 2198 redundant audio) and [`rtx`] (RFC 4588 retransmission)
//! wrap other payloads rather than frames.
//!
//! ```
//! use rtp::payload::{vp8, Depacketized, Packetizer};
//!
//! // A VP8 keyframe's first bytes (frame tag, start code, 640x480) and some data.
//! let mut frame = vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
//! frame.resize(3000, 0x5a);
//!
//! let mut packetizer = vp8::Vp8Packetizer::new();
//! let payloads = packetizer.packetize(&frame, 1200).unwrap();
//! assert_eq!(payloads.len(), 3);
//!
//! let mut depacketizer = vp8::Vp8Depacketizer::default();
//! for (i, p) in payloads.iter().enumerate() {
//!     depacketizer.push(&p.data, p.marker, 100 + i as u16, 90_000).unwrap();
//! }
//! let Some(Depacketized::Frame(got)) = depacketizer.poll() else { panic!("one frame") };
//! assert!(got.keyframe);
//! assert_eq!(got.data, frame);
//! ```
//!
//! ## Contract and design decisions
//! - Depacketizers expect packets in sequence order (a jitter buffer reorders
//!   before them). They handle loss: a sequence gap inside a frame drops that
//!   frame, reports [`DropReason::Loss`] and skips packets until the next
//!   packet that starts a frame.
//! - Depacketizers are bounded: a frame over
//!   [`DepacketizerConfig::max_frame_bytes`] or
//!   [`DepacketizerConfig::max_packets_per_frame`], or with more than
//!   [`DepacketizerConfig::max_duplicates_per_frame`] repeated packets, is
//!   dropped and counted ([`DepacketizerStats`]); at most
//!   [`DepacketizerConfig::max_queued`] outputs wait for [`Depacketizer::poll`].
//!   Drain `poll` after every `push`.
//! - Every [`PayloadError`] is noise from one packet or frame: count it and
//!   go on; none leaves a depacketizer or packetizer unusable.
//! - H.264 and H.265 frames are Annex B byte streams (start codes) both ways;
//!   AV1 temporal units are low-overhead bitstreams (every OBU with its size
//!   field) both ways.

pub(crate) mod annexb;
mod depacketizer;
mod nal;

pub mod audio;
pub mod av1;
pub mod g711;
pub mod g722;
pub mod h264;
pub mod h265;
pub mod opus;
pub mod red;
pub mod rtx;
pub mod vp8;
pub mod vp9;

use bytes::Bytes;

pub use depacketizer::{Depacketized, Depacketizer, DepacketizerConfig, DepacketizerStats, DropReason, Dropped, Frame};

/// The RTP clock rate of every video format here (RFC 7741, 9628, 6184, 7798, AV1).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;

/// One RTP payload produced by a [`Packetizer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The payload bytes (everything after the RTP header).
    pub data: Bytes,
    /// Whether the RTP marker bit is set on this packet: for video, the last
    /// packet of a frame.
    pub marker: bool,
}

/// Splits one encoded frame into RTP payloads.
pub trait Packetizer {
    /// Returns the payloads for `frame`, in send order, none longer than `mtu`
    /// bytes (the payload budget, not the datagram size).
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError>;
}

/// Where a packet sits in its frame, as far as its payload tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The payload says it begins a frame (VP8 S=1 PID=0, VP9 B=1, audio):
    /// it closes any frame in progress even at the same timestamp.
    Definite,
    /// The payload looks like the beginning of a frame (an H.264 SPS or a
    /// first slice, an AV1 sequence header): a safe place to resume after loss.
    Probable,
    /// Nothing says either way: it starts a frame only on a new timestamp and
    /// never while resynchronizing after loss.
    Unknown,
    /// The payload continues a fragment of the previous packet.
    Continuation,
}

/// What a [`PayloadFormat`] reads from one payload before it is appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Whether the packet begins a frame.
    pub start: Start,
    /// Whether the payload ends its frame regardless of the marker bit
    /// (audio: always; VP9: the E bit).
    pub ends_frame: bool,
    /// Whether the packet shows the frame is a keyframe (decodable on its own).
    pub keyframe: bool,
}

/// A payload format as the generic [`Depacketizer`] drives it: per packet,
/// [`inspect`](Self::inspect) then [`append`](Self::append); per frame,
/// [`finish`](Self::finish).
pub trait PayloadFormat {
    /// Per-frame details the format reports next to the bytes (picture ids, layers).
    type Meta: Clone + Default + std::fmt::Debug;
    /// A short name for errors and logs ("VP8").
    const NAME: &'static str;
    /// The RTP timestamp clock rate in Hz.
    const CLOCK_RATE: u32;

    /// Reads the payload's framing without changing any state.
    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError>;

    /// Appends the payload's media bytes to the frame being assembled in `out`.
    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, meta: &mut Self::Meta) -> Result<(), PayloadError>;

    /// Completes the frame in `out` (its last packet was appended); fails when
    /// a fragment is still open, so the frame is incomplete.
    fn finish(&mut self, _out: &mut Vec<u8>, _meta: &mut Self::Meta) -> Result<(), PayloadError> {
        Ok(())
    }

    /// Forgets any fragment in progress (the frame was dropped or a new one starts).
    fn reset(&mut self) {}
}

/// What is wrong with a payload or a frame. Each one concerns one packet or
/// one frame: drop it, count it, carry on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload ends before a field it announces.
    #[error("{format} payload is truncated: {what}")]
    Truncated {
        /// The payload format.
        format: &'static str,
        /// The field that does not fit.
        what: &'static str,
    },
    /// A field holds a value the format forbids.
    #[error("{format} payload is malformed: {what}")]
    Malformed {
        /// The payload format.
        format: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// A valid packet type this implementation does not handle.
    #[error("{format} packet type {kind} is not supported ({what})")]
    Unsupported {
        /// The payload format.
        format: &'static str,
        /// The packet or NAL unit type.
        kind: u8,
        /// Its name.
        what: &'static str,
    },
    /// A frame ended while a fragment was still open.
    #[error("{format} frame ended inside a fragmented {what}")]
    Incomplete {
        /// The payload format.
        format: &'static str,
        /// The unit left open (NAL unit, OBU).
        what: &'static str,
    },
    /// The frame to send holds nothing to send.
    #[error("{format} frame is empty: nothing to packetize")]
    EmptyFrame {
        /// The payload format.
        format: &'static str,
    },
    /// A unit that cannot be split does not fit the payload budget.
    #[error("{format} {what} of {len} bytes does not fit a payload budget of {mtu} bytes")]
    TooLarge {
        /// The payload format.
        format: &'static str,
        /// What did not fit (frame, NAL unit).
        what: &'static str,
        /// Its length.
        len: usize,
        /// The payload budget given.
        mtu: usize,
    },
    /// The payload budget cannot hold even the format's headers and one byte.
    #[error("{format} needs a payload budget of at least {min} bytes, got {mtu}")]
    MtuTooSmall {
        /// The payload format.
        format: &'static str,
        /// The smallest usable budget.
        min: usize,
        /// The payload budget given.
        mtu: usize,
    },
}

/// Splits `len` bytes into the fewest pieces of at most `cap` bytes (`cap` >
/// 0), their sizes differing by at most one, so no packet of a frame is
/// tiny. An empty `len` gives one empty piece.
fn even_chunks(len: usize, cap: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let n = len.div_ceil(cap).max(1);
    let (base, extra) = (len / n, len % n);
    (0..n).scan(0, move |pos, i| {
        let size = base + usize::from(i < extra);
        let range = *pos..*pos + size;
        *pos += size;
        Some(range)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_chunks_are_balanced_and_cover_everything() {
        let sizes: Vec<usize> = even_chunks(10, 4).map(|r| r.len()).collect();
        assert_eq!(sizes, [4, 3, 3]);
        assert_eq!(even_chunks(8, 4).map(|r| r.len()).collect::<Vec<_>>(), [4, 4]);
        assert_eq!(even_chunks(0, 4).map(|r| (r.start, r.end)).collect::<Vec<_>>(), [(0, 0)]);
        for len in 1..200 {
            for cap in 1..30 {
                let ranges: Vec<_> = even_chunks(len, cap).collect();
                assert_eq!(ranges.len(), len.div_ceil(cap));
                assert_eq!(ranges.last().unwrap().end, len);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                assert!(ranges.iter().all(|r| r.len() <= cap && !r.is_empty()));
            }
        }
    }
}
