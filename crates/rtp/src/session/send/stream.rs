//! One outgoing stream: a media SSRC and, when negotiated, its RTX SSRC.
//!
//! [`SendStream::write_rtp`] turns a payload into a packet: the next sequence number (from a
//! random start), the RTP timestamp (the media time plus a random offset), the header
//! extensions the session negotiated (mid, rid, abs-send-time, transport-wide sequence
//! number from the connection's [`TransportSequence`]); it counts the packet for the SR and
//! keeps it in the [`SendHistory`]. Incoming RTCP ([`SendStream::handle_rtcp`]) answers NACKs
//! (queued, then built by [`SendStream::poll_rtp`]), turns PLI/FIR into
//! [`SendEvent::KeyframeRequest`] and report blocks into [`SendEvent::RoundTripTime`].
//! Reports come from [`SendStream::handle_timeout`] at [`SendStream::poll_timeout`] and are
//! taken with [`SendStream::poll_rtcp`]; [`SendStream::stop`] says BYE.
//!
//! Every queue is bounded: resends by [`RetransmitConfig::max_pending`], RTCP by two
//! compounds, events by one of each kind (the latest RTT wins).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::history::{HistoryConfig, SendHistory, StoredPacket};
use super::keyframe::{KeyframeRequestKind, KeyframeRequests, KeyframeStats, MIN_KEYFRAME_INTERVAL};
use super::ntp::NtpClock;
use super::report::{extrapolate_rtp, MediaKind, RttStats, SenderReports};
use super::retransmit::{RetransmitConfig, RetransmitStats, Retransmitter};
use super::rng::{os_seed, XorShift};
use crate::extension::{
    AbsSendTime, ExtensionError, ExtensionKind, ExtensionMap, Extensions, Mid, RepairedRtpStreamId, RtpStreamId,
    TransportCc,
};
use crate::packet::{RtpError, RtpHeader, RtpPacket};
use crate::payload::rtx;
use crate::rtcp::{Bye, ReportBlock, RtcpPacket, Sdes, SenderReport};

/// The most RTCP compounds waiting to be polled; an older one is dropped for a newer.
const MAX_PENDING_RTCP: usize = 2;

/// RTX as negotiated (RFC 4588): its SSRC and, per media payload type, the RTX payload type
/// whose `a=fmtp:<rtx> apt=<media>` names it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RtxConfig {
    /// The SSRC retransmissions travel on.
    pub ssrc: u32,
    /// `(media payload type, RTX payload type)` pairs.
    pub payload_types: Vec<(u8, u8)>,
}

impl RtxConfig {
    /// The RTX payload type for media payload type `pt`.
    pub fn rtx_payload_type(&self, pt: u8) -> Option<u8> {
        self.payload_types.iter().find(|(media, _)| *media == pt).map(|(_, rtx)| *rtx)
    }
}

/// How a [`SendStream`] is set up.
#[derive(Clone, Debug)]
pub struct SendStreamConfig {
    /// The media SSRC.
    pub ssrc: u32,
    /// Audio or video: sets the report interval.
    pub kind: MediaKind,
    /// The RTP clock rate of the payload types sent (90,000 for video, 48,000 for Opus).
    pub clock_rate: u32,
    /// The SDES CNAME of the sender (RFC 7022: random per session).
    pub cname: String,
    /// The `a=mid` of the stream's m-section, written when the mid extension is mapped.
    pub mid: Option<String>,
    /// The `rid` of this encoding (simulcast), written when the rid extension is mapped.
    pub rid: Option<String>,
    /// RTX, when negotiated; without it NACKed packets are resent as they were.
    pub rtx: Option<RtxConfig>,
    /// The negotiated header extensions.
    pub extensions: ExtensionMap,
    /// Maps `Instant`s to NTP time for SRs and abs-send-time.
    pub ntp: NtpClock,
    /// Bounds of the retransmission history.
    pub history: HistoryConfig,
    /// Limits on resends.
    pub retransmit: RetransmitConfig,
    /// The nominal report interval ([`MediaKind::report_interval`] by default).
    pub report_interval: Duration,
    /// Whether video reports follow RFC 3550's reduced minimum at high rates (libwebrtc
    /// does; true for video by default).
    pub scale_report_interval: bool,
    /// At most one keyframe request per this interval ([`MIN_KEYFRAME_INTERVAL`]).
    pub keyframe_interval: Duration,
    /// Seeds the random sequence numbers, timestamp offset and report jitter; fresh from
    /// the OS by default, fixed in tests to replay a run.
    pub seed: u64,
}

impl SendStreamConfig {
    /// A stream of `kind` on `ssrc` at `clock_rate`, with the defaults browsers use and no
    /// extensions, mid, rid or RTX.
    pub fn new(ssrc: u32, kind: MediaKind, clock_rate: u32, cname: impl Into<String>, ntp: NtpClock) -> Self {
        SendStreamConfig {
            ssrc,
            kind,
            clock_rate,
            cname: cname.into(),
            mid: None,
            rid: None,
            rtx: None,
            extensions: ExtensionMap::new(),
            ntp,
            history: HistoryConfig::default(),
            retransmit: RetransmitConfig::default(),
            report_interval: kind.report_interval(),
            scale_report_interval: kind == MediaKind::Video,
            keyframe_interval: MIN_KEYFRAME_INTERVAL,
            seed: os_seed(),
        }
    }
}

/// The transport-wide sequence numbers of one connection
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01): every stream that writes the
/// extension takes the next one from this counter, which the caller owns and passes in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportSequence {
    next: u16,
}

impl TransportSequence {
    /// A counter whose first number is `start` (libwebrtc starts at 1).
    pub fn new(start: u16) -> Self {
        TransportSequence { next: start }
    }

    /// The number the next packet will take.
    pub fn peek(&self) -> u16 {
        self.next
    }

    /// Takes the next number.
    pub fn take(&mut self) -> u16 {
        let n = self.next;
        self.next = n.wrapping_add(1);
        n
    }
}

/// One payload to send.
#[derive(Clone, Debug)]
pub struct MediaPacket {
    /// The payload type (0..=127).
    pub payload_type: u8,
    /// The media time of the payload's first sample in clock-rate ticks from any origin;
    /// the stream adds its random offset (only the low 32 bits matter).
    pub media_time: u64,
    /// When that sample was captured: SRs extrapolate the RTP timestamp from it.
    pub capture_time: Instant,
    /// The marker bit (last packet of a video frame, first of a talkspurt).
    pub marker: bool,
    /// The payload, packetized.
    pub payload: Bytes,
    /// Extension values the caller sets (audio level, video orientation...); the stream
    /// adds mid, rid, abs-send-time and transport-wide-cc.
    pub extensions: Extensions,
}

impl MediaPacket {
    /// A payload without marker or caller extensions.
    pub fn new(payload_type: u8, media_time: u64, capture_time: Instant, payload: Bytes) -> Self {
        MediaPacket { payload_type, media_time, capture_time, marker: false, payload, extensions: Extensions::new() }
    }
}

/// What a stream tells its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendEvent {
    /// The receiver asked for a keyframe (rate-limited).
    KeyframeRequest(KeyframeRequestKind),
    /// A receiver report revealed this round-trip time.
    RoundTripTime(Duration),
}

/// Counters of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendStats {
    /// Media packets sent (the SR's packet count).
    pub packets: u64,
    /// Media payload bytes sent (the SR's octet count).
    pub payload_bytes: u64,
    /// Media bytes sent, headers included.
    pub bytes: u64,
    /// Retransmissions sent.
    pub retransmitted_packets: u64,
    /// Retransmission bytes sent, headers included.
    pub retransmitted_bytes: u64,
    /// Padding packets sent ([`SendStream::write_padding`]).
    pub padding_packets: u64,
    /// Padding bytes sent, headers included.
    pub padding_bytes: u64,
    /// Sender reports produced.
    pub sender_reports: u64,
    /// What became of NACKed sequence numbers.
    pub nack: RetransmitStats,
    /// What became of PLIs and FIRs.
    pub keyframes: KeyframeStats,
    /// What the round-trip measurement saw.
    pub rtt: RttStats,
}

/// Why a packet could not be sent or a stream set up: the caller's mistakes, never the
/// network's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The stream said BYE.
    #[error("the send stream was stopped (BYE sent); create a new one to send again")]
    Stopped,
    /// The configuration cannot work.
    #[error("send stream configuration: {0}")]
    InvalidConfig(&'static str),
    /// The packet cannot be written.
    #[error(transparent)]
    Rtp(#[from] RtpError),
    /// An extension cannot be written.
    #[error(transparent)]
    Extension(#[from] ExtensionError),
}

/// What the peer's last receiver report said about one of our streams
/// (W3C `remote-inbound-rtp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteReport {
    /// Share of packets lost in the report's interval, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start (negative with duplicates).
    pub packets_lost: i64,
    /// The peer's interarrival jitter estimate.
    pub jitter: Duration,
    /// When the report arrived.
    pub received_at: Instant,
    /// Report blocks about this stream so far.
    pub reports: u64,
}

/// One outgoing RTP stream, sans-IO. See the [module docs](self).
#[derive(Debug)]
pub struct SendStream {
    ssrc: u32,
    clock_rate: u32,
    cname: String,
    mid: Option<String>,
    rid: Option<String>,
    rtx: Option<RtxConfig>,
    extensions: ExtensionMap,
    ntp: NtpClock,
    next_seq: u16,
    next_rtx_seq: u16,
    timestamp_offset: u32,
    /// The last packet's RTP timestamp and capture time, for SRs.
    last_rtp: Option<(u32, Instant)>,
    /// The peer's last report block about this stream.
    remote_report: Option<RemoteReport>,
    stats: SendStats,
    history: SendHistory,
    retransmitter: Retransmitter,
    keyframes: KeyframeRequests,
    reports: SenderReports,
    pending_keyframe: Option<KeyframeRequestKind>,
    pending_rtt: Option<Duration>,
    rtcp_out: VecDeque<Vec<RtcpPacket>>,
    stopped: bool,
}

impl SendStream {
    /// A stream as configured; fails on a zero clock rate, a CNAME over 255 bytes, or a mid
    /// or rid the mapped extensions cannot carry.
    pub fn new(config: SendStreamConfig) -> Result<Self, SendError> {
        if config.clock_rate == 0 {
            return Err(SendError::InvalidConfig("the clock rate is 0"));
        }
        if config.cname.is_empty() || config.cname.len() > 255 {
            return Err(SendError::InvalidConfig("the CNAME must be 1..=255 bytes"));
        }
        let mut rng = XorShift::new(config.seed);
        let stream = SendStream {
            ssrc: config.ssrc,
            clock_rate: config.clock_rate,
            cname: config.cname,
            mid: config.mid,
            rid: config.rid,
            rtx: config.rtx,
            extensions: config.extensions,
            ntp: config.ntp,
            // RFC 3550 §5.1: random initial sequence number and timestamp. Like libwebrtc
            // (`kMaxInitRtpSeqNumber`), stay in the lower half so that the first wrap is
            // far away for receivers that mishandle it.
            next_seq: rng.next_u16() & 0x7FFF,
            next_rtx_seq: rng.next_u16() & 0x7FFF,
            timestamp_offset: rng.next_u32(),
            last_rtp: None,
            remote_report: None,
            stats: SendStats::default(),
            history: SendHistory::new(config.history),
            retransmitter: Retransmitter::new(config.retransmit),
            keyframes: KeyframeRequests::new(config.keyframe_interval),
            reports: SenderReports::new(config.report_interval, config.scale_report_interval, rng.next_u64()),
            pending_keyframe: None,
            pending_rtt: None,
            rtcp_out: VecDeque::new(),
            stopped: false,
        };
        // Check once that mid and rid fit the negotiated extensions.
        stream.write_ids(&mut Extensions::new(), false)?;
        Ok(stream)
    }

    /// A renegotiation kept the stream (same SSRCs) but may have changed the header
    /// extension ids and the RTX payload types: packets from now on use these, sequence
    /// numbers and history continue. Refused, with nothing changed, when the new map
    /// cannot carry the stream's mid or rid.
    pub fn renegotiate(&mut self, extensions: ExtensionMap, rtx_payload_types: Vec<(u8, u8)>) -> Result<(), SendError> {
        let old = std::mem::replace(&mut self.extensions, extensions);
        if let Err(e) = self.write_ids(&mut Extensions::new(), false) {
            self.extensions = old;
            return Err(e.into());
        }
        if let Some(rtx) = &mut self.rtx {
            rtx.payload_types = rtx_payload_types;
        }
        Ok(())
    }

    /// The media SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The RTX SSRC, when negotiated.
    pub fn rtx_ssrc(&self) -> Option<u32> {
        self.rtx.as_ref().map(|r| r.ssrc)
    }

    /// The sequence number the next media packet takes.
    pub fn next_sequence_number(&self) -> u16 {
        self.next_seq
    }

    /// The random offset added to media times.
    pub fn timestamp_offset(&self) -> u32 {
        self.timestamp_offset
    }

    /// The last round trip measured from receiver reports.
    pub fn rtt(&self) -> Option<Duration> {
        self.reports.rtt()
    }

    /// What the peer's last receiver report said about this stream.
    pub fn remote_report(&self) -> Option<RemoteReport> {
        self.remote_report
    }

    /// The counters so far.
    pub fn stats(&self) -> SendStats {
        SendStats {
            nack: self.retransmitter.stats(),
            keyframes: self.keyframes.stats(),
            rtt: self.reports.stats(),
            ..self.stats
        }
    }

    /// The packets kept for retransmission.
    pub fn history(&self) -> &SendHistory {
        &self.history
    }

    /// Resends waiting for [`poll_rtp`](Self::poll_rtp).
    pub fn pending_resends(&self) -> usize {
        self.retransmitter.pending()
    }

    /// Caps resends at an absolute rate (bits per second) instead of a share of the media
    /// rate, such as a congestion controller's target; `None` returns to the share.
    pub fn set_max_retransmit_bitrate(&mut self, bits_per_second: Option<u64>) {
        self.retransmitter.set_max_bitrate(bits_per_second);
    }

    /// Sends `media` at `now`: returns the packet to transmit, now also kept for NACKs.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        media: MediaPacket,
        transport: &mut TransportSequence,
    ) -> Result<RtpPacket, SendError> {
        if self.stopped {
            return Err(SendError::Stopped);
        }
        if media.payload_type > 0x7F {
            return Err(RtpError::InvalidPayloadType(media.payload_type).into());
        }
        let timestamp = self.timestamp_offset.wrapping_add(media.media_time as u32);
        let mut header = RtpHeader {
            marker: media.marker,
            payload_type: media.payload_type,
            sequence_number: self.next_seq,
            timestamp,
            ssrc: self.ssrc,
            extensions: media.extensions,
            ..Default::default()
        };
        self.write_ids(&mut header.extensions, false)?;
        self.write_send_time(&mut header.extensions, now, transport)?;
        let packet = RtpPacket::new(header, media.payload);
        let len = packet.encoded_len();
        self.next_seq = self.next_seq.wrapping_add(1);
        self.stats.packets += 1;
        self.stats.payload_bytes += packet.payload.len() as u64;
        self.stats.bytes += len as u64;
        self.last_rtp = Some((timestamp, media.capture_time));
        self.reports.start(now);
        self.retransmitter.on_media_sent(now, len);
        self.history.insert(now, packet.clone());
        Ok(packet)
    }

    /// Handles one incoming RTCP packet at `now`; what is not about this stream is ignored.
    pub fn handle_rtcp(&mut self, now: Instant, packet: &RtcpPacket) {
        if self.stopped {
            return;
        }
        match packet {
            RtcpPacket::SenderReport(sr) => self.handle_blocks(now, &sr.reports),
            RtcpPacket::ReceiverReport(rr) => self.handle_blocks(now, &rr.reports),
            RtcpPacket::Nack(nack) if nack.media_ssrc == self.ssrc => {
                let rtx = self.rtx.as_ref();
                let resendable =
                    |p: &StoredPacket| rtx.is_none_or(|r| r.rtx_payload_type(p.packet.header.payload_type).is_some());
                let overhead = if rtx.is_some() { 2 } else { 0 };
                let rtt = self.reports.rtt();
                self.retransmitter.handle_nack(now, nack, &mut self.history, rtt, overhead, resendable);
            }
            RtcpPacket::Pli(pli) if pli.media_ssrc == self.ssrc => {
                if let Some(kind) = self.keyframes.handle_pli(now) {
                    self.pending_keyframe = Some(kind);
                }
            }
            RtcpPacket::Fir(fir) => {
                for entry in fir.entries.iter().filter(|e| e.ssrc == self.ssrc) {
                    if let Some(kind) = self.keyframes.handle_fir(now, entry.seq_nr) {
                        self.pending_keyframe = Some(kind);
                    }
                }
            }
            _ => {}
        }
    }

    fn handle_blocks(&mut self, now: Instant, blocks: &[ReportBlock]) {
        for block in blocks.iter().filter(|b| b.ssrc == self.ssrc) {
            let reports = self.remote_report.map_or(0, |r| r.reports) + 1;
            self.remote_report = Some(RemoteReport {
                fraction_lost: block.fraction_lost,
                packets_lost: i64::from(block.cumulative_lost),
                jitter: Duration::from_nanos(
                    u64::from(block.jitter) * 1_000_000_000 / u64::from(self.clock_rate.max(1)),
                ),
                received_at: now,
                reports,
            });
            if let Some(rtt) = self.reports.handle_block(self.ntp.ntp(now), block) {
                self.history.set_rtt(rtt);
                self.pending_rtt = Some(rtt);
            }
        }
    }

    /// The next retransmission to send at `now`: an RTX packet (its own SSRC, payload type
    /// and sequence numbers, the original sequence number before the payload, the rid as
    /// repaired rid) when RTX is negotiated, else the original packet again. Fresh
    /// abs-send-time and transport-wide numbers are written.
    pub fn poll_rtp(&mut self, now: Instant, transport: &mut TransportSequence) -> Option<RtpPacket> {
        while let Some(seq) = self.retransmitter.pop() {
            if self.history.get(seq).is_none() {
                self.retransmitter.count_expired_in_queue();
                continue;
            }
            let Some(packet) = self.resend(seq, now, transport) else { continue };
            self.stats.retransmitted_packets += 1;
            self.stats.retransmitted_bytes += packet.encoded_len() as u64;
            return Some(packet);
        }
        None
    }

    /// Padding for the pacer (probes, padding rate) as libwebrtc's payload padding: the
    /// newest packet of the history again, as RTX. None without RTX or before the first
    /// packet; the resend cap does not apply (the pacer budgets padding).
    pub fn write_padding(&mut self, now: Instant, transport: &mut TransportSequence) -> Option<RtpPacket> {
        self.rtx.as_ref()?;
        let seq = self.next_seq.wrapping_sub(1);
        self.history.get(seq)?;
        let packet = self.resend(seq, now, transport)?;
        self.stats.padding_packets += 1;
        self.stats.padding_bytes += packet.encoded_len() as u64;
        Some(packet)
    }

    /// Packet `seq` of the history again: as RTX when negotiated, else as it was; with
    /// fresh send-time extensions.
    fn resend(&mut self, seq: u16, now: Instant, transport: &mut TransportSequence) -> Option<RtpPacket> {
        let original = &self.history.get(seq)?.packet;
        let mut header = original.header.clone();
        let payload = match &self.rtx {
            Some(rtx) => {
                let pt = rtx.rtx_payload_type(header.payload_type)?;
                header.ssrc = rtx.ssrc;
                header.payload_type = pt;
                header.sequence_number = self.next_rtx_seq;
                rtx::wrap(seq, &original.payload)
            }
            None => original.payload.clone(),
        };
        if self.rtx.is_some() {
            if let Err(e) = self.write_ids(&mut header.extensions, true) {
                debug_assert!(false, "ids were checked at setup: {e}");
                return None;
            }
        }
        if let Err(e) = self.write_send_time(&mut header.extensions, now, transport) {
            debug_assert!(false, "send-time extensions of a sent packet: {e}");
            return None;
        }
        if self.rtx.is_some() {
            self.next_rtx_seq = self.next_rtx_seq.wrapping_add(1);
        }
        Some(RtpPacket::new(header, payload))
    }

    /// The next keyframe request or round-trip time to tell the caller.
    pub fn poll_event(&mut self) -> Option<SendEvent> {
        if let Some(kind) = self.pending_keyframe.take() {
            return Some(SendEvent::KeyframeRequest(kind));
        }
        self.pending_rtt.take().map(SendEvent::RoundTripTime)
    }

    /// The next RTCP compound to send (SR and SDES, with BYE after [`stop`](Self::stop));
    /// write it with [`write_compound`](crate::rtcp::write_compound).
    pub fn poll_rtcp(&mut self) -> Option<Vec<RtcpPacket>> {
        self.rtcp_out.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        self.reports.next_report()
    }

    /// Produces the sender report due at `now`, if any.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped || !self.reports.is_due(now) {
            return;
        }
        let mut compound = Vec::with_capacity(2);
        if let Some(sr) = self.sender_report(now) {
            compound.push(sr.into());
        }
        compound.push(Sdes::cname(self.ssrc, &self.cname).into());
        self.queue_rtcp(compound);
    }

    /// Leaves at `now`: queues a last SR, the SDES and a BYE for the media and RTX SSRCs,
    /// drops the history and stops reports. Later packets are refused, feedback ignored.
    pub fn stop(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        let mut compound = Vec::with_capacity(3);
        if let Some(sr) = self.sender_report(now) {
            compound.push(sr.into());
        }
        compound.push(Sdes::cname(self.ssrc, &self.cname).into());
        let sources = std::iter::once(self.ssrc).chain(self.rtx_ssrc()).collect();
        compound.push(Bye { sources, reason: None }.into());
        self.queue_rtcp(compound);
        self.stopped = true;
        self.reports.stop();
        self.retransmitter.clear();
        self.history.clear();
        self.pending_keyframe = None;
    }

    /// An SR for `now` (none before the first packet), recorded for RTT measurement.
    fn sender_report(&mut self, now: Instant) -> Option<SenderReport> {
        let (rtp, capture) = self.last_rtp?;
        let ntp_time = self.ntp.ntp(now);
        let bitrate = self.retransmitter.media_bitrate(now);
        self.reports.on_sent(now, ntp_time, bitrate);
        self.stats.sender_reports += 1;
        Some(SenderReport {
            ssrc: self.ssrc,
            ntp_time,
            rtp_time: extrapolate_rtp(rtp, capture, now, self.clock_rate),
            packet_count: self.stats.packets as u32,
            octet_count: self.stats.payload_bytes as u32,
            reports: Vec::new(),
            profile_extensions: Vec::new(),
        })
    }

    fn queue_rtcp(&mut self, compound: Vec<RtcpPacket>) {
        if self.rtcp_out.len() >= MAX_PENDING_RTCP {
            self.rtcp_out.pop_front();
        }
        self.rtcp_out.push_back(compound);
    }

    /// Writes mid and rid (as repaired rid on a `repair` packet) where mapped.
    fn write_ids(&self, exts: &mut Extensions, repair: bool) -> Result<(), ExtensionError> {
        if self.extensions.needs_two_byte() && !exts.two_byte_allowed() {
            exts.set_two_byte_allowed(true)?;
        }
        if let (Some(mid), Some(_)) = (&self.mid, self.extensions.id_of(ExtensionKind::Mid)) {
            self.extensions.write(exts, &Mid::new(mid)?)?;
        }
        let Some(rid) = &self.rid else { return Ok(()) };
        if repair {
            if let Some(id) = self.extensions.id_of(ExtensionKind::RtpStreamId) {
                exts.remove(id);
            }
            if self.extensions.id_of(ExtensionKind::RepairedRtpStreamId).is_some() {
                self.extensions.write(exts, &RepairedRtpStreamId::new(rid)?)?;
            }
        } else if self.extensions.id_of(ExtensionKind::RtpStreamId).is_some() {
            self.extensions.write(exts, &RtpStreamId::new(rid)?)?;
        }
        Ok(())
    }

    /// Writes abs-send-time and the transport-wide sequence number where mapped; the
    /// number is taken only when everything was written.
    fn write_send_time(
        &self,
        exts: &mut Extensions,
        now: Instant,
        transport: &mut TransportSequence,
    ) -> Result<(), ExtensionError> {
        if self.extensions.id_of(ExtensionKind::AbsSendTime).is_some() {
            self.extensions.write(exts, &AbsSendTime::from_ntp(self.ntp.ntp(now)))?;
        }
        if self.extensions.id_of(ExtensionKind::TransportCc).is_some() {
            self.extensions.write(exts, &TransportCc(transport.peek()))?;
            transport.take();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
