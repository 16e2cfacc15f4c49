//! The send side of an RTP session, one [`SendStream`] per SSRC, sans-IO.
//!
//! The contract, as for every oxrtc engine: time is always an argument; the caller sends
//! what [`SendStream::write_rtp`] returns, feeds every RTCP packet it receives to
//! [`SendStream::handle_rtcp`], and after each input drains [`SendStream::poll_rtp`]
//! (retransmissions), [`SendStream::poll_rtcp`] (reports) and [`SendStream::poll_event`]
//! (keyframe requests, round-trip times), then calls [`SendStream::handle_timeout`] no
//! later than [`SendStream::poll_timeout`]. Nothing here reads a clock, sleeps or touches
//! a socket; wallclock for SRs comes from an [`NtpClock`] the caller builds once.
//!
//! Each concern is its own part with its own tests:
//! - [`history`]: the sent packets kept for retransmission, bounded by count, bytes and age;
//! - [`retransmit`]: which NACKed packets to resend, at most once per RTT and within a rate
//!   cap over a sliding window;
//! - [`keyframe`]: PLI and FIR into rate-limited keyframe requests;
//! - [`report`]: when sender reports go out, and the RTT the answering report blocks give;
//! - [`ntp`]: `Instant` to NTP time without a clock;
//! - [`stream`]: the stream that owns them all and writes the packets.
//!
//! Errors: [`SendError`] is only ever the caller's mistake (a payload type above 127, a
//! stopped stream, a mid the extensions cannot carry). Hostile or broken feedback is noise:
//! a NACK for unknown packets, a flood of NACKs or PLIs, an LSR we never sent are counted
//! in [`SendStats`] and otherwise ignored; no input grows memory beyond the configured
//! bounds or makes us retransmit beyond the cap.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use rtp::rtcp::{Nack, RtcpPacket};
//! use rtp::session::send::{MediaKind, MediaPacket, NtpClock, RtxConfig, SendStream, SendStreamConfig, TransportSequence};
//!
//! let t0 = Instant::now();
//! let mut config = SendStreamConfig::new(0x1234, MediaKind::Video, 90_000, "cname", NtpClock::new(t0, 0));
//! config.rtx = Some(RtxConfig { ssrc: 0x5678, payload_types: vec![(96, 97)] });
//! let mut stream = SendStream::new(config)?;
//! let mut transport = TransportSequence::new(1);
//!
//! let media = MediaPacket::new(96, 0, t0, Bytes::from_static(b"frame"));
//! let sent = stream.write_rtp(t0, media, &mut transport)?;
//!
//! // The receiver lost it and says so; the answer is an RTX packet.
//! let nack = Nack::from_lost(0x9999, 0x1234, [sent.header.sequence_number]);
//! stream.handle_rtcp(t0 + Duration::from_millis(60), &RtcpPacket::Nack(nack));
//! let resent = stream.poll_rtp(t0 + Duration::from_millis(60), &mut transport).unwrap();
//! assert_eq!((resent.header.ssrc, resent.header.payload_type), (0x5678, 97));
//! let (osn, payload) = rtp::payload::rtx::unwrap(&resent.payload).unwrap();
//! assert_eq!((osn, payload), (sent.header.sequence_number, &b"frame"[..]));
//!
//! // Half a report interval after the first packet, an SR and the CNAME are due.
//! let at = stream.poll_timeout().unwrap();
//! stream.handle_timeout(at);
//! assert_eq!(stream.poll_rtcp().unwrap().len(), 2);
//! # Ok::<(), rtp::session::send::SendError>(())
//! ```

pub mod history;
pub mod keyframe;
pub mod ntp;
mod rate;
pub mod report;
pub mod retransmit;
pub(crate) mod rng;
pub mod stream;

pub use history::{HistoryConfig, SendHistory, StoredPacket};
pub use keyframe::{KeyframeRequestKind, KeyframeRequests, KeyframeStats, MIN_KEYFRAME_INTERVAL};
pub use ntp::NtpClock;
pub use report::{MediaKind, RttStats, SenderReports, AUDIO_REPORT_INTERVAL, VIDEO_REPORT_INTERVAL};
pub use retransmit::{RetransmitConfig, RetransmitStats, Retransmitter, RETRANSMIT_WINDOW};
pub use stream::RemoteReport;
pub use stream::{
    MediaPacket, RtxConfig, SendError, SendEvent, SendStats, SendStream, SendStreamConfig, TransportSequence,
};
