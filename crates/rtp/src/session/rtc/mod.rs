//! The RTP session of one peer connection: every m-section of the BUNDLE group, joined.
//!
//! [`Session`] owns the parts the rest of [`session`](super) and the `oxrtc-cc` crate
//! provide and routes between them, as str0m's `Session` does (instead of a chain of
//! interceptors that each keep a piece of the state):
//!
//! - per sending m-section a [`SendStream`](super::send::SendStream) (sequence numbers,
//!   history, NACK → RTX, PLI/FIR, SRs) and a packetizer per payload type;
//! - per remote SSRC an inbound stream: [`ReceiveStats`](super::receive::ReceiveStats),
//!   [`NackGenerator`](super::receive::NackGenerator),
//!   [`KeyframeRequester`](super::receive::KeyframeRequester), a reorder buffer, the
//!   depacketizer and the [jitter buffers](crate::jitter);
//! - the routing table (known SSRC, then MID/RID, then payload type; see [`route`]);
//! - the transport-wide feedback register ([`TWCC_INTERVAL`]) on receive, and on send the
//!   [`CongestionController`](cc::CongestionController) and the [`Pacer`](cc::Pacer) every media packet leaves through.
//!
//! ## The contract
//! Sans-IO, like every oxrtc engine: time is an argument and never read. Feed every
//! decrypted RTP packet to [`Session::handle_rtp`] and every decrypted RTCP packet to
//! [`Session::handle_rtcp`]; after every input (and after [`Session::handle_timeout`],
//! called no later than [`Session::poll_timeout`]) drain [`Session::poll_transmit`] and
//! [`Session::poll_event`]. Outgoing packets are unencrypted: the caller protects them.
//!
//! Errors ([`SessionError`]) are only the caller's mistakes (an unknown mid or payload
//! type, a frame the packetizer refuses, a full pacer queue). Everything the network
//! sends — garbage, unknown SSRCs past the caps, RTX for an unknown payload type,
//! feedback about nothing — is noise: dropped and counted in [`SessionStats`], never a
//! panic and never state beyond the bounds below.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use rtp::extension::ExtensionMap;
//! use rtp::session::send::MediaKind;
//! use rtp::session::{CodecConfig, MediaConfig, Outgoing, SendConfig, Session, SessionConfig, SessionEvent};
//!
//! let t0 = Instant::now();
//! let mut extensions = ExtensionMap::new();
//! extensions.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
//! let audio = |send: Vec<SendConfig>| MediaConfig {
//!     mid: "0".into(),
//!     kind: MediaKind::Audio,
//!     codecs: vec![CodecConfig::new(111, "opus", 48_000)],
//!     extensions: extensions.clone(),
//!     receive: send.is_empty(),
//!     send,
//!     remote_ssrcs: Vec::new(),
//!     jitter_buffer: false,
//!     xr_rtt: false,
//! };
//! let mut alice = Session::new(t0, SessionConfig::new("alice", 1));
//! alice.set_media(t0, vec![audio(vec![SendConfig::new(0xa11ce, None)])]);
//! let mut bob = Session::new(t0, SessionConfig::new("bob", 2));
//! bob.set_media(t0, vec![audio(vec![])]);
//!
//! // Alice's encoder produced 20 ms of Opus; what the pacer releases goes to Bob
//! // (a real caller protects it with SRTP and sends it over ICE).
//! alice.write_frame(t0, "0", 111, 0, Bytes::from_static(b"opus frame"))?;
//! while let Some(out) = alice.poll_transmit(t0) {
//!     match out {
//!         Outgoing::Rtp(packet) => bob.handle_rtp(t0 + Duration::from_millis(30), packet),
//!         Outgoing::Rtcp(packet) => bob.handle_rtcp(t0 + Duration::from_millis(30), packet),
//!     }
//! }
//! assert!(matches!(bob.poll_event(), Some(SessionEvent::StreamAdded { ssrc: 0xa11ce, .. })));
//! let Some(SessionEvent::Frame { data, .. }) = bob.poll_event() else { panic!("one frame") };
//! assert_eq!(&data[..], b"opus frame");
//! // Then sleep until the earliest timeout and run it.
//! let next = alice.poll_timeout().unwrap();
//! alice.handle_timeout(next);
//! # Ok::<(), rtp::session::SessionError>(())
//! ```
//!
//! ## Bounds
//! - remote SSRCs: [`SessionConfig::max_remote_ssrcs_per_section`] (16) and
//!   [`SessionConfig::max_remote_ssrcs`] (128);
//! - per remote stream: [`MAX_REORDER_PACKETS`] held for reordering, the NACK list, the
//!   jitter buffers and the depacketizer as their own bounds say, 256 frames waiting;
//! - per sending stream: the send history ([`HistoryConfig`](super::send::HistoryConfig));
//! - the pacer queue ([`PacerConfig::max_queued_packets`], drained faster past 2 s);
//! - [`MAX_TWCC_ARRIVALS`] transport-wide arrivals between reports;
//! - RFC 8888: [`MAX_CCFB_ARRIVALS`] arrivals per SSRC of [`MAX_CCFB_SSRCS`] between
//!   reports, and [`MAX_CCFB_SENT`] numbers of packets sent;
//! - XR: 16 RRTRs waiting for our DLRR, [`RRTR_HISTORY`](super::receive::RRTR_HISTORY)
//!   of ours waiting for an answer;
//! - the REMB estimate: a second of 100 ms byte bins, 10 s of 100 ms delay minima for at
//!   most 16 streams;
//! - [`MAX_EVENTS`] events and [`MAX_TRANSMIT`] RTCP datagrams waiting to be polled (the
//!   oldest go first).
//!
//! ## Decisions
//! - Sequence numbers are assigned when a frame is written; the transport-wide sequence
//!   number and abs-send-time when the pacer releases the packet, so the congestion
//!   controller sees them in sending order.
//! - Reports: each send stream keeps its own interval (video 1 s, audio 5 s, jittered, as
//!   browsers); what the streams produce in one call leaves as one compound (SRs with the
//!   report blocks of every remote stream, SDES CNAMEs, BYE); without SRs an RR compound
//!   goes out at the same intervals. Feedback (NACK, PLI, FIR, transport-wide) leaves at
//!   once, as a compound led by an empty RR and SDES, or reduced-size (RFC 5506) when
//!   [`SessionConfig::reduced_size_rtcp`].
//! - Feedback for congestion control, as negotiated per section: transport-wide feedback
//!   (`transport-cc` and its extension); else RFC 8888 ([`CodecConfig::ccfb`]: reports
//!   every [`CCFB_INTERVAL`]; our packets get transport-wide numbers that are not written
//!   into them, and the feedback is mapped back to them for the controller); else, when
//!   a receiving section has only `goog-remb`, REMB with a receive-side estimate (the
//!   incoming rate of the last second × 1.5, × 0.85 on a standing queue above 20 ms,
//!   halved on loss above 10%, growing 8% a second after a decrease; sent every
//!   [`REMB_INTERVAL`] and at once on a drop of 3%: a simple rule, not libwebrtc's
//!   receive-side GCC). A REMB received caps the controller's target.
//! - Receiver RTT ([`MediaConfig::xr_rtt`]): our report compounds carry an XR with an
//!   RRTR while we send no SR, and DLRR answers to the peer's RRTRs; the RTT the answers
//!   give paces the NACKs and keyframe requests of the remote streams.
//! - Padding (probes, a padding rate) is libwebrtc's payload padding: the newest packet of
//!   a video stream again, as RTX. Without RTX no padding is sent and probes use queued
//!   media only.

mod ccfb;
mod codec;
mod feedback;
mod inbound;
mod outbound;
mod remb;
pub mod route;
mod session;

use std::time::Duration;

use bytes::Bytes;

use crate::extension::ExtensionMap;
use crate::payload::PayloadError;
use crate::session::send::{MediaKind, SendError};

pub use crate::session::send::KeyframeRequestKind;
pub use cc::{Bitrate, CcConfig, PacerConfig};
pub use ccfb::{CCFB_INTERVAL, MAX_CCFB_ARRIVALS, MAX_CCFB_SENT, MAX_CCFB_SSRCS};
pub use feedback::{MAX_TWCC_ARRIVALS, TWCC_INTERVAL};
pub use inbound::{MAX_NACK_WAIT, MAX_REORDER_PACKETS, REORDER_WAIT};
pub use remb::{REMB_INTERVAL, REMB_UPDATE_INTERVAL};
pub use route::{MAX_REMOTE_SSRCS, MAX_REMOTE_SSRCS_PER_SECTION};
pub use session::Session;

/// Events waiting for [`Session::poll_event`] at most; beyond, the oldest is dropped.
pub const MAX_EVENTS: usize = 1024;
/// RTCP datagrams waiting for [`Session::poll_transmit`] at most; beyond, the oldest is dropped.
pub const MAX_TRANSMIT: usize = 64;

/// How a [`Session`] is set up.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Our SDES CNAME (RFC 7022: random per connection).
    pub cname: String,
    /// Seeds every random choice (sequence numbers, timestamp offsets, report jitter);
    /// fixed in tests to replay a run.
    pub seed: u64,
    /// The wall-clock time (since the Unix epoch) at the `now` given to [`Session::new`],
    /// for the NTP times of SRs.
    pub unix_time: Duration,
    /// Congestion controller settings (start, min and max rate, probing).
    pub cc: CcConfig,
    /// Pacer bounds.
    pub pacer: PacerConfig,
    /// The largest RTP payload written (the datagram budget less the RTP header,
    /// extensions and SRTP tag).
    pub max_payload: usize,
    /// Remote SSRCs (media and RTX) per m-section at most ([`MAX_REMOTE_SSRCS_PER_SECTION`]).
    pub max_remote_ssrcs_per_section: usize,
    /// Remote SSRCs in all at most ([`MAX_REMOTE_SSRCS`]).
    pub max_remote_ssrcs: usize,
    /// Feedback leaves as reduced-size RTCP (RFC 5506, `a=rtcp-rsize` negotiated).
    pub reduced_size_rtcp: bool,
}

impl SessionConfig {
    /// Defaults: libwebrtc's congestion control settings, a 1,100-byte payload budget,
    /// the SSRC caps above, compound feedback.
    pub fn new(cname: impl Into<String>, seed: u64) -> Self {
        SessionConfig {
            cname: cname.into(),
            seed,
            unix_time: Duration::ZERO,
            cc: CcConfig::default(),
            pacer: PacerConfig::default(),
            max_payload: 1_100,
            max_remote_ssrcs_per_section: MAX_REMOTE_SSRCS_PER_SECTION,
            max_remote_ssrcs: MAX_REMOTE_SSRCS,
            reduced_size_rtcp: false,
        }
    }
}

/// One negotiated m-section.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Its `a=mid`.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The negotiated codecs, in preference order.
    pub codecs: Vec<CodecConfig>,
    /// The negotiated header extension ids.
    pub extensions: ExtensionMap,
    /// The streams we send on this section: one, or one per simulcast encoding (each
    /// with its RID, RFC 8853); empty when we do not send.
    pub send: Vec<SendConfig>,
    /// Whether the direction includes receiving.
    pub receive: bool,
    /// The remote SSRCs from `a=ssrc` (media and RTX); may be empty (then learned from
    /// the MID extension).
    pub remote_ssrcs: Vec<u32>,
    /// Frames are released by the jitter buffers (true) or as soon as complete and in
    /// order (false).
    pub jitter_buffer: bool,
    /// `a=rtcp-xr:rcvr-rtt=all` (RFC 3611 §5.1): our reports carry an XR Receiver
    /// Reference Time block while we send no media, the peer's RRTRs are answered with
    /// DLRR, and the DLRR answers give a receive-only endpoint its round-trip time
    /// ([`SessionStats::receiver_rtt`]), which then paces its NACKs. The session does it
    /// when any section has it.
    pub xr_rtt: bool,
}

/// One negotiated codec of an m-section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecConfig {
    /// Its payload type.
    pub payload_type: u8,
    /// Its name as in `a=rtpmap` ("opus", "VP8", "H264"...).
    pub name: String,
    /// Its RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels.
    pub channels: Option<u16>,
    /// Its `a=fmtp` parameters.
    pub fmtp: Option<String>,
    /// The payload type of its RTX (`apt=` this one).
    pub rtx_payload_type: Option<u8>,
    /// `a=rtcp-fb nack`.
    pub nack: bool,
    /// `a=rtcp-fb nack pli`.
    pub pli: bool,
    /// `a=rtcp-fb ccm fir`.
    pub fir: bool,
    /// `a=rtcp-fb transport-cc`.
    pub transport_cc: bool,
    /// `a=rtcp-fb goog-remb`.
    pub remb: bool,
    /// `a=rtcp-fb:* ack ccfb` (RFC 8888): the receive side sends congestion control
    /// feedback (every [`CCFB_INTERVAL`]) instead of transport-wide feedback, and the send
    /// side feeds the feedback it gets to the congestion controller.
    pub ccfb: bool,
}

impl CodecConfig {
    /// A codec without RTX, fmtp or feedback.
    pub fn new(payload_type: u8, name: impl Into<String>, clock_rate: u32) -> Self {
        CodecConfig {
            payload_type,
            name: name.into(),
            clock_rate,
            channels: None,
            fmtp: None,
            rtx_payload_type: None,
            nack: false,
            pli: false,
            fir: false,
            transport_cc: false,
            remb: false,
            ccfb: false,
        }
    }
}

/// One stream we send on an m-section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendConfig {
    /// The media SSRC.
    pub ssrc: u32,
    /// The RTX SSRC, when RTX is negotiated.
    pub rtx_ssrc: Option<u32>,
    /// The encoding's RID when the section sends simulcast (written in the
    /// `rtp-stream-id` extension, and as `repaired-rtp-stream-id` on its RTX, where
    /// those are negotiated).
    pub rid: Option<String>,
}

impl SendConfig {
    /// A stream without RID.
    pub fn new(ssrc: u32, rtx_ssrc: Option<u32>) -> Self {
        SendConfig { ssrc, rtx_ssrc, rid: None }
    }
}

/// A datagram to protect and send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// An RTP packet (protect with SRTP).
    Rtp(Bytes),
    /// An RTCP compound or reduced-size packet (protect with SRTCP).
    Rtcp(Bytes),
}

/// What the session tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A remote stream appeared (its first packet was routed to a section).
    StreamAdded {
        /// The section.
        mid: String,
        /// The stream's media SSRC.
        ssrc: u32,
        /// Its RID (simulcast), if it carries one.
        rid: Option<String>,
    },
    /// A complete encoded frame (video) or audio packet, in order.
    Frame {
        /// The section.
        mid: String,
        /// The stream's RID.
        rid: Option<String>,
        /// The stream's SSRC.
        ssrc: u32,
        /// The payload type it came with.
        payload_type: u8,
        /// Its RTP timestamp.
        rtp_timestamp: u32,
        /// The encoded frame.
        data: Bytes,
        /// Whether it decodes on its own.
        keyframe: bool,
        /// When it was complete (or released by the jitter buffer).
        received_at: std::time::Instant,
        /// The sequence numbers of its first and last packet.
        sequence_range: (u16, u16),
        /// Whether media was lost or dropped between the previous frame and this one.
        lost_before: bool,
    },
    /// The peer asked for a keyframe on a stream we send.
    KeyframeRequested {
        /// The section.
        mid: String,
        /// The simulcast encoding asked for, if the section sends simulcast.
        rid: Option<String>,
        /// PLI or FIR.
        kind: KeyframeRequestKind,
    },
    /// The send-side bandwidth estimate changed.
    EstimateChanged {
        /// What the encoders together may produce.
        bitrate_bps: u64,
    },
}

/// The caller's mistakes; never the network's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// No m-section has this mid.
    #[error("no negotiated m-section has mid {0:?}")]
    UnknownMid(String),
    /// The section has no simulcast stream with this RID (none we send, or, for a
    /// keyframe request, none we receive yet).
    #[error(
        "m-section {mid:?} has no simulcast stream with rid {rid:?}: use one of the RIDs negotiated (a=simulcast)"
    )]
    UnknownRid {
        /// The section.
        mid: String,
        /// The RID asked for.
        rid: String,
    },
    /// The section does not send (its direction is recvonly or inactive, or no SSRC).
    #[error("m-section {0:?} does not send: negotiate sendrecv or sendonly with an SSRC first")]
    NotSending(String),
    /// The section does not receive.
    #[error("m-section {0:?} has no remote stream to ask a keyframe of yet")]
    NoRemoteStream(String),
    /// The payload type is not negotiated on this section or has no packetizer.
    #[error("payload type {0} is not negotiated on this m-section or its codec cannot be packetized")]
    UnknownPayloadType(u8),
    /// The packetizer refused the frame.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The send stream refused the packet.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The pacer queue is full: the frame (or part of it) was dropped; send less.
    #[error("the pacer queue is full; lower the encoder rate")]
    QueueFull,
}

/// One stream's counters (what W3C `getStats` reports as `inbound-rtp` and
/// `outbound-rtp`), from [`Session::stream_stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamStats {
    /// A stream we receive.
    Inbound {
        /// Its m-section.
        mid: String,
        /// Its SSRC.
        ssrc: u32,
        /// Its RID (simulcast).
        rid: Option<String>,
        /// Audio or video.
        kind: MediaKind,
        /// Packets received (duplicates not counted).
        packets_received: u64,
        /// Their bytes.
        bytes_received: u64,
        /// RFC 3550 cumulative loss (negative with duplicates).
        packets_lost: i64,
        /// Interarrival jitter.
        jitter: Duration,
        /// Frames that nobody took.
        frames_dropped: u64,
        /// The sender's clock and counts from its last SR (W3C `remote-outbound-rtp`).
        remote_sender: Option<crate::session::receive::SenderClock>,
    },
    /// A stream we send.
    Outbound {
        /// Its m-section.
        mid: String,
        /// Its SSRC.
        ssrc: u32,
        /// Its RID (simulcast).
        rid: Option<String>,
        /// Its RTX SSRC.
        rtx_ssrc: Option<u32>,
        /// Audio or video.
        kind: MediaKind,
        /// Media packets sent.
        packets_sent: u64,
        /// Their bytes, headers included.
        bytes_sent: u64,
        /// Retransmissions sent.
        retransmitted_packets_sent: u64,
        /// Their bytes.
        retransmitted_bytes_sent: u64,
        /// NACK packets received.
        nack_count: u64,
        /// PLIs received.
        pli_count: u64,
        /// FIRs received.
        fir_count: u64,
        /// Round-trip time from the peer's receiver reports.
        round_trip_time: Option<Duration>,
        /// Round trips measured so far.
        round_trip_time_measurements: u64,
        /// The peer's last report block on it (W3C `remote-inbound-rtp`).
        remote: Option<crate::session::send::RemoteReport>,
    },
}

/// Counters of a [`Session`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// RTP packets given to [`Session::handle_rtp`].
    pub rtp_received: u64,
    /// RTP packets that did not parse.
    pub rtp_malformed: u64,
    /// RTP packets no section takes.
    pub rtp_unroutable: u64,
    /// RTP packets from new SSRCs past a cap.
    pub rtp_ssrc_capped: u64,
    /// RTX packets dropped: unknown `apt`, no media stream to repair, unparsable or padding.
    pub rtx_dropped: u64,
    /// RTX packets unwrapped into their media stream and used there (not duplicates such
    /// as padding or a resend of a packet that arrived after all).
    pub rtx_recovered: u64,
    /// Packets on SSRC 0 (probes), used for congestion control only.
    pub probes: u64,
    /// RTCP datagrams given to [`Session::handle_rtcp`].
    pub rtcp_received: u64,
    /// RTCP datagrams with a packet that did not parse (the packets that did are used).
    pub rtcp_malformed: u64,
    /// Transport-wide feedback dropped: it named more packets than we sent.
    pub feedback_ignored: u64,
    /// Remote SSRCs forgotten after a BYE.
    pub remote_byes: u64,
    /// Remote SSRCs known now (media and RTX).
    pub remote_ssrcs: usize,
    /// Remote media streams now.
    pub remote_streams: usize,
    /// Frames delivered as events.
    pub frames: u64,
    /// Events dropped because they were not polled.
    pub events_dropped: u64,
    /// RTP packets sent (media and retransmissions).
    pub rtp_sent: u64,
    /// Retransmissions sent.
    pub retransmissions_sent: u64,
    /// Padding packets sent for the pacer (probes): RTX copies of a video stream's newest packet.
    pub padding_sent: u64,
    /// Packets the pacer refused (queue full).
    pub pacer_dropped: u64,
    /// Packets in the pacer queue now.
    pub pacer_queued: usize,
    /// RTCP datagrams sent.
    pub rtcp_sent: u64,
    /// NACK packets sent.
    pub nacks_sent: u64,
    /// PLI and FIR packets sent.
    pub keyframe_requests_sent: u64,
    /// Transport-wide feedback packets sent.
    pub twcc_sent: u64,
    /// Keyframe requests received and passed on (after rate limiting).
    pub keyframe_requests_received: u64,
    /// The current target bitrate.
    pub estimate_bps: u64,
    /// The round-trip time the last report blocks about our streams gave.
    pub rtt: Option<Duration>,
    /// The round-trip time the last XR DLRR answer to our RRTR gave (RFC 3611; see
    /// [`MediaConfig::xr_rtt`]).
    pub receiver_rtt: Option<Duration>,
    /// XR packets with an RRTR or DLRR block sent.
    pub xr_sent: u64,
    /// RFC 8888 congestion control feedback packets sent.
    pub ccfb_sent: u64,
    /// RFC 8888 feedback entries about packets we did not send (or forgot), ignored.
    pub ccfb_unknown: u64,
    /// REMB packets sent.
    pub remb_sent: u64,
    /// The receive-side estimate of the last REMB sent (see "REMB" in the
    /// [module docs](self)).
    pub remb_bps: u64,
}

/// One m-section as the session keeps it.
#[derive(Debug)]
pub(crate) struct Section {
    /// Stable across renegotiations of the same mid.
    pub id: u64,
    pub config: MediaConfig,
    /// Our send streams: one, one per simulcast encoding, or none.
    pub outbound: Vec<outbound::Outbound>,
}

impl Section {
    /// RFC 8888 feedback is negotiated and is what the section uses: where
    /// transport-wide feedback is negotiated too, that one is used alone.
    pub fn ccfb(&self) -> bool {
        self.config.codecs.iter().any(|c| c.ccfb) && !self.config.codecs.iter().any(|c| c.transport_cc)
    }

    /// We receive on it and only REMB is negotiated (no transport-wide or RFC 8888
    /// feedback): we send REMB with our own estimate.
    pub fn remb_only(&self) -> bool {
        let codecs = &self.config.codecs;
        self.config.receive && codecs.iter().any(|c| c.remb) && !codecs.iter().any(|c| c.transport_cc || c.ccfb)
    }
}
