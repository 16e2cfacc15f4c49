//! # RTP and RTCP for oxrtc, sans-IO
//!
//! RTP (RFC 3550) carries media as packets with a sequence number, a
//! timestamp and a source id (SSRC); RTCP, its companion, carries reports
//! (SR/RR), names (SDES) and feedback (NACK, PLI, FIR, REMB, transport-wide
//! congestion control). In WebRTC both travel encrypted (SRTP, `oxrtc-srtp`)
//! over the one ICE path of the BUNDLE group; this crate works on the
//! unencrypted bytes.
//!
//! What is here today, the wire and payload formats:
//! - [`packet`]: RTP packets ([`packet::RtpPacket`], [`packet::RtpHeader`]):
//!   parse without copying the payload, write into a caller's buffer, byte
//!   for byte round trips; sequence-number and timestamp arithmetic with
//!   wraparound, RFC 3550 A.1 sequence tracking.
//! - [`extension`]: header extensions (RFC 8285, one-byte and two-byte
//!   forms) kept inline without allocation, an id↔URI map from the SDP
//!   `a=extmap` lines, and typed values for the extensions browsers send
//!   (mid, rid, repaired rid, abs-send-time, transport-wide-cc, audio level,
//!   toffset, video orientation, playout delay, abs-capture-time); unknown
//!   ones are kept as bytes.
//! - [`rtcp`]: RTCP compound and reduced-size packets (RFC 3550, RFC 5506),
//!   one file per packet type: SR, RR, SDES, BYE, APP, generic NACK, PLI,
//!   FIR, REMB, transport-wide feedback (with a builder that chooses chunks as
//!   libwebrtc does), RFC 8888 feedback, XR (RRTR, DLRR).
//! - [`payload`]: packetizers and one bounded depacketizer engine for Opus,
//!   G.711, G.722, VP8, VP9, H.264, H.265 and AV1, plus RED and RTX.
//! - [`session`]: the RTP session. Its parts: the send side
//!   ([`session::send`]: streams, a bounded send history answering NACKs as
//!   RTX under a rate cap, PLI/FIR, sender reports and RTT) and the receive
//!   side ([`session::receive`]: RFC 3550 statistics and report blocks,
//!   lip-sync clocks, XR RTT, a NACK generator in libwebrtc's manner and a
//!   PLI/FIR requester). What joins them per peer connection is
//!   [`session::rtc::Session`]: one engine for every m-section of the BUNDLE
//!   group that routes packets by SSRC, MID/RID and payload type, unwraps RTX,
//!   depacketizes into frames through the jitter buffers, packetizes frames
//!   and sends them through the pacer of `oxrtc-cc`'s congestion controller,
//!   and sends one RTCP compound per report interval and feedback at once.
//! - [`jitter`]: time-based, adaptive, bounded jitter buffers: audio (target
//!   delay from a percentile of arrival delays, concealment markers) and
//!   video (complete frames in decode order, keyframe requests after a gap).
//!
//! Each part is a sans-IO state machine that takes the time as an argument
//! and bounds its memory; so is the [`session::rtc::Session`] that joins
//! them. The peer connection maps its negotiated m-sections onto
//! [`session::rtc::MediaConfig`]s and protects what the session sends.

//! ## Errors and hostile input
//! Every parser returns a typed error that names what is wrong and never
//! panics; to a receiver, every parse error is noise (drop the packet and
//! count it), never fatal. Depacketizers bound what they hold (frame size,
//! packets per frame, duplicates, queued outputs) and report what they drop.
//! The parsers are fuzzed (`fuzz/fuzz_targets/rtp_parse.rs`, `rtcp_parse.rs`,
//! `rtp_depacketize.rs`) and their corpora are replayed by `cargo test`.
//!
//! ```
//! use bytes::Bytes;
//! use rtp::packet::RtpPacket;
//!
//! // V=2, PT 111 (Opus), seq 1, timestamp 960, SSRC 0x11223344, 3 bytes of payload.
//! let wire = [0x80, 111, 0, 1, 0, 0, 0x03, 0xc0, 0x11, 0x22, 0x33, 0x44, 0xfc, 0xff, 0xfe];
//! let packet = RtpPacket::parse(Bytes::copy_from_slice(&wire)).unwrap();
//! assert_eq!((packet.header.payload_type, packet.header.sequence_number), (111, 1));
//! assert_eq!(&packet.payload[..], &[0xfc, 0xff, 0xfe]);
//! let mut out = Vec::new();
//! packet.write(&mut out).unwrap();
//! assert_eq!(out, wire);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod extension;
#[doc(hidden)]
pub mod fuzzing;
pub mod jitter;
pub mod packet;
pub mod payload;
pub mod rtcp;
pub mod session;
