//! [`Session`]: the coordinator. It routes inputs to the parts and collects their outputs;
//! the parts own the state (see the [module docs](super)).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use cc::{CcEvent, CongestionController, PacedOutput, Pacer, PacketKind, SentPacket};

use crate::extension::{ExtensionKind, TransportCc};
use crate::packet::RtpPacket;
use crate::rtcp::{Remb, RtcpPacket};
use crate::session::receive::{ReceiverRtt, SenderClock};
use crate::session::send::rng::XorShift;
use crate::session::send::{MediaKind, NtpClock, SendEvent, TransportSequence};

mod rtcp;

use super::ccfb::{CcfbRegister, CcfbSent};
use super::feedback::TwccRegister;
use super::inbound::{unwrap_rtx, Inbound};
use super::outbound::Outbound;
use super::remb::RembEstimator;
use super::route::{NoRoute, Route, RouteKind, Router};
use super::{
    KeyframeRequestKind, MediaConfig, Outgoing, Section, SessionConfig, SessionError, SessionEvent, SessionStats,
    MAX_EVENTS, MAX_TRANSMIT,
};

/// A packet in the pacer queue: which section's stream it belongs to.
#[derive(Debug)]
struct Paced {
    section: u64,
    packet: RtpPacket,
}

/// The RTP session of one peer connection. See the [module docs](super).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    ntp: NtpClock,
    rng: XorShift,
    sections: Vec<Section>,
    next_section_id: u64,
    router: Router,
    inbound: HashMap<u32, Inbound>,
    twcc: TwccRegister,
    /// RFC 8888 arrivals (receive side) and the numbers our packets left with (send side).
    ccfb: CcfbRegister,
    ccfb_sent: CcfbSent,
    /// The receive-side estimate REMBs carry.
    remb: RembEstimator,
    /// Our SSRC and the RTT from XR DLRR answers to our RRTRs.
    receiver_rtt: Option<(u32, ReceiverRtt)>,
    /// RRTRs to answer with DLRR: (their sender, LRR, when it arrived).
    dlrr: Vec<(u32, u32, Instant)>,
    transport: TransportSequence,
    cc: CongestionController,
    pacer: Pacer<Paced>,
    /// SSRC of our RTCP when we send no media.
    receiver_ssrc: u32,
    next_rr: Option<Instant>,
    feedback: Vec<RtcpPacket>,
    transmit: VecDeque<Outgoing>,
    events: VecDeque<SessionEvent>,
    stats: SessionStats,
}

impl Session {
    /// A session with no m-section yet.
    pub fn new(now: Instant, config: SessionConfig) -> Self {
        let mut rng = XorShift::new(config.seed);
        let receiver_ssrc = rng.next_u32() | 1;
        let cc = CongestionController::new(now, config.cc);
        let mut pacer = Pacer::new(config.pacer);
        let rates = cc.rates();
        pacer.set_rates(now, rates.pacing, rates.padding);
        Session {
            ntp: NtpClock::from_unix(now, config.unix_time),
            router: Router::new(config.max_remote_ssrcs_per_section, config.max_remote_ssrcs),
            rng,
            sections: Vec::new(),
            next_section_id: 0,
            inbound: HashMap::new(),
            twcc: TwccRegister::new(now),
            ccfb: CcfbRegister::default(),
            ccfb_sent: CcfbSent::default(),
            remb: RembEstimator::new(now),
            receiver_rtt: None,
            dlrr: Vec::new(),
            transport: TransportSequence::new(1),
            cc,
            pacer,
            receiver_ssrc,
            next_rr: None,
            feedback: Vec::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            stats: SessionStats { estimate_bps: rates.target.as_bps(), ..SessionStats::default() },
            config,
        }
    }

    /// After each completed negotiation: the sections as negotiated now. The streams of
    /// sections that stay (same mid; for sending, the same SSRCs) are kept; a send stream
    /// that goes says BYE, remote streams of sections that go or stop receiving are dropped.
    ///
    /// A send stream that stays continues its sequence numbers and history with the
    /// section's new payload types, RTX payload types and extension ids. Remote streams
    /// look the codecs up anew for every packet.
    pub fn set_media(&mut self, now: Instant, media: Vec<MediaConfig>) {
        let mut old: HashMap<String, Section> = self.sections.drain(..).map(|s| (s.config.mid.clone(), s)).collect();
        for config in media {
            let (id, old_streams, old_config) = match old.remove(&config.mid) {
                Some(s) => (s.id, s.outbound, Some(s.config)),
                None => {
                    self.next_section_id += 1;
                    (self.next_section_id, Vec::new(), None)
                }
            };
            // Streams that stay keep their state and take the new payload types and
            // extension ids; the others (and one the new ids cannot carry) say BYE.
            let mut gone = Vec::new();
            let mut kept = Vec::new();
            for mut o in old_streams {
                let stays = config.send.iter().any(|s| o.is(s))
                    && old_config.as_ref().is_none_or(|old| o.renegotiate(old, &config).is_ok());
                if stays {
                    kept.push(o);
                } else {
                    gone.push(o);
                }
            }
            self.stop_streams(now, gone);
            let mut outbound = Vec::with_capacity(config.send.len());
            for send in &config.send {
                if let Some(i) = kept.iter().position(|o| o.is(send)) {
                    outbound.push(kept.swap_remove(i));
                    continue;
                }
                let seed = self.rng.next_u64();
                // A configuration the stream refuses (a CNAME over 255 bytes, a RID the
                // extension cannot carry) leaves it out; writing to it then says so.
                if let Ok(o) = Outbound::new(&config, send, &self.config.cname, self.ntp, seed) {
                    outbound.push(o);
                }
            }
            self.sections.push(Section { id, config, outbound });
        }
        for (_, s) in old {
            self.stop_streams(now, s.outbound);
        }
        let receiving: Vec<u64> = self.sections.iter().filter(|s| s.config.receive).map(|s| s.id).collect();
        for ssrc in self.router.retain(|id| receiving.contains(&id)) {
            self.inbound.remove(&ssrc);
        }
        self.inbound.retain(|_, i| receiving.contains(&i.section));
        self.update_stats();
    }

    /// Send streams that go: each says BYE, in one compound with their last reports.
    fn stop_streams(&mut self, now: Instant, mut gone: Vec<Outbound>) {
        if gone.is_empty() {
            return;
        }
        let mut polled = rtcp::StreamRtcp::default();
        for o in &mut gone {
            o.stream.stop(now);
            polled.poll(o);
        }
        self.send_stream_rtcp(now, polled);
    }

    fn section_index(&self, id: u64) -> Option<usize> {
        self.sections.iter().position(|s| s.id == id)
    }

    /// Takes one decrypted RTP packet.
    pub fn handle_rtp(&mut self, now: Instant, packet: Bytes) {
        self.stats.rtp_received += 1;
        let size = packet.len();
        let Ok(packet) = RtpPacket::parse(packet) else {
            self.stats.rtp_malformed += 1;
            return;
        };
        self.record_transport_cc(now, &packet);
        if packet.header.ssrc == 0 {
            self.stats.probes += 1;
            return;
        }
        let route = match self.router.get(packet.header.ssrc) {
            Some(r) => r.clone(),
            None => match self.router.learn(&self.sections, &packet.header) {
                Ok(r) => r,
                Err(NoRoute::Unroutable) => {
                    self.stats.rtp_unroutable += 1;
                    return;
                }
                Err(NoRoute::Capped) => {
                    self.stats.rtp_ssrc_capped += 1;
                    return;
                }
            },
        };
        let Some(index) = self.section_index(route.section) else {
            self.stats.rtp_unroutable += 1;
            return;
        };
        self.record_feedback(now, index, &route, &packet, size);
        let ssrc = match route.kind {
            RouteKind::Media => {
                let ssrc = packet.header.ssrc;
                self.handle_media(now, index, route, packet, false);
                Some(ssrc)
            }
            RouteKind::Rtx { media } => self.handle_rtx(now, index, route, media, packet),
        };
        if let Some(ssrc) = ssrc {
            self.drain_inbound_stream(ssrc);
        }
        self.update_stats();
    }

    /// Records the arrival for transport-wide feedback, whichever stream it is on.
    fn record_transport_cc(&mut self, now: Instant, packet: &RtpPacket) {
        for s in &self.sections {
            let map = &s.config.extensions;
            if map.id_of(ExtensionKind::TransportCc).is_some_and(|id| packet.header.extensions.contains(id)) {
                if let Ok(Some(TransportCc(seq))) = map.read::<TransportCc>(&packet.header.extensions) {
                    self.twcc.record(now, seq);
                }
                return;
            }
        }
    }

    /// Records the arrival for RFC 8888 feedback and the REMB estimate, as negotiated on
    /// the section.
    fn record_feedback(&mut self, now: Instant, index: usize, route: &Route, packet: &RtpPacket, size: usize) {
        let section = &self.sections[index];
        let h = &packet.header;
        if section.ccfb() && section.config.receive {
            self.ccfb.record(now, h.ssrc, h.sequence_number);
        }
        if section.remb_only() {
            let clock_rate = section.config.codecs.iter().find(|c| c.payload_type == h.payload_type);
            let timing =
                clock_rate.filter(|_| route.kind == RouteKind::Media).map(|c| (h.ssrc, h.timestamp, c.clock_rate));
            self.remb.on_packet(now, size, timing);
        }
    }

    /// Gives a media packet to its stream (made at its first packet); false when the stream
    /// had no use for it (a duplicate, too late).
    fn handle_media(&mut self, now: Instant, index: usize, route: Route, packet: RtpPacket, recovered: bool) -> bool {
        let ssrc = packet.header.ssrc;
        let section = &self.sections[index];
        let inbound = self.inbound.entry(ssrc).or_insert_with(|| {
            push_event(
                &mut self.events,
                &mut self.stats,
                SessionEvent::StreamAdded { mid: section.config.mid.clone(), ssrc, rid: route.rid.clone() },
            );
            let mut inbound = Inbound::new(section.id, ssrc, route.rid.clone(), &section.config);
            if let Some(rtt) = self.stats.receiver_rtt.or(self.stats.rtt) {
                inbound.set_rtt(rtt);
            }
            inbound
        });
        inbound.on_packet(now, packet, recovered, &section.config)
    }

    /// Unwraps a retransmission into its media stream; returns that stream's SSRC.
    fn handle_rtx(
        &mut self,
        now: Instant,
        index: usize,
        route: Route,
        media: Option<u32>,
        packet: RtpPacket,
    ) -> Option<u32> {
        let section = &self.sections[index];
        let Some(codec) = section.config.codecs.iter().find(|c| c.rtx_payload_type == Some(packet.header.payload_type))
        else {
            self.stats.rtx_dropped += 1;
            return None;
        };
        let media = media.or_else(|| {
            let mut streams = self.inbound.values().filter(|i| i.section == section.id);
            let found = match &route.rid {
                Some(rid) => streams.find(|i| i.rid.as_ref() == Some(rid)),
                None => match (streams.next(), streams.next()) {
                    (Some(i), None) => Some(i),
                    _ => None,
                },
            };
            found.map(|i| i.ssrc)
        });
        let (Some(media), Some((osn, payload))) = (media, unwrap_rtx(&packet)) else {
            self.stats.rtx_dropped += 1;
            return None;
        };
        if !self.inbound.contains_key(&media) {
            self.stats.rtx_dropped += 1;
            return None;
        }
        self.router.set_rtx_media(packet.header.ssrc, media);
        let mut header = packet.header;
        header.ssrc = media;
        header.sequence_number = osn;
        header.payload_type = codec.payload_type;
        let media_route = Route { section: route.section, kind: RouteKind::Media, rid: None };
        if self.handle_media(now, index, media_route, RtpPacket::new(header, payload), true) {
            self.stats.rtx_recovered += 1;
        }
        Some(media)
    }

    /// Events of the send streams (keyframe requests, RTTs) and their retransmissions.
    fn drain_send_streams(&mut self, now: Instant) {
        let mut rtts = Vec::new();
        for s in &mut self.sections {
            for o in &mut s.outbound {
                while let Some(event) = o.stream.poll_event() {
                    match event {
                        SendEvent::KeyframeRequest(kind) => {
                            self.stats.keyframe_requests_received += 1;
                            let (mid, rid) = (s.config.mid.clone(), o.rid.clone());
                            let event = SessionEvent::KeyframeRequested { mid, rid, kind };
                            push_event(&mut self.events, &mut self.stats, event);
                        }
                        SendEvent::RoundTripTime(rtt) => rtts.push(rtt),
                    }
                }
                while let Some(packet) = o.poll_resend(now) {
                    let size = packet.encoded_len();
                    let item = Paced { section: s.id, packet };
                    if self.pacer.enqueue(now, PacketKind::Retransmission, size, item).is_err() {
                        self.stats.pacer_dropped += 1;
                    }
                }
            }
        }
        for rtt in rtts {
            self.stats.rtt = Some(rtt);
            self.cc.on_rtt(rtt);
            for i in self.inbound.values_mut() {
                i.set_rtt(rtt);
            }
        }
    }

    fn drain_cc(&mut self, now: Instant) {
        while let Some(event) = self.cc.poll_event() {
            match event {
                CcEvent::Rates(r) => {
                    self.pacer.set_rates(now, r.pacing, r.padding);
                    let bitrate_bps = r.target.as_bps();
                    if bitrate_bps != self.stats.estimate_bps {
                        self.stats.estimate_bps = bitrate_bps;
                        push_event(&mut self.events, &mut self.stats, SessionEvent::EstimateChanged { bitrate_bps });
                    }
                }
                CcEvent::Probe(cluster) => self.pacer.add_probe_cluster(now, cluster),
            }
        }
    }

    /// Frames and feedback of every remote stream (after timers ran).
    fn drain_inbound(&mut self) {
        let sender = self.sender_ssrc();
        for inbound in self.inbound.values_mut() {
            drain_stream(inbound, &self.sections, sender, &mut self.events, &mut self.stats, &mut self.feedback);
        }
        self.flush_feedback();
    }

    /// Frames and feedback of the remote stream `ssrc` (after one of its packets).
    fn drain_inbound_stream(&mut self, ssrc: u32) {
        let sender = self.sender_ssrc();
        if let Some(inbound) = self.inbound.get_mut(&ssrc) {
            drain_stream(inbound, &self.sections, sender, &mut self.events, &mut self.stats, &mut self.feedback);
        }
        self.flush_feedback();
    }

    /// The SSRC our RTCP comes from: the first sending stream's, else a random one.
    fn sender_ssrc(&self) -> u32 {
        self.sections.iter().find_map(|s| s.outbound.first().map(|o| o.ssrc)).unwrap_or(self.receiver_ssrc)
    }

    /// Runs what is due at `now`: congestion control, NACK and keyframe timers, jitter
    /// buffers, reports and transport-wide feedback.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.cc.poll_timeout() <= now {
            self.cc.handle_timeout(now);
        }
        self.drain_cc(now);
        for inbound in self.inbound.values_mut() {
            if let Some(section) = self.sections.iter().find(|s| s.id == inbound.section) {
                inbound.handle_timeout(now, &section.config);
            }
        }
        let media_ssrc = self.inbound.keys().min().copied().unwrap_or(0);
        let sender = self.sender_ssrc();
        let before = self.feedback.len();
        self.twcc.handle_timeout(now, sender, media_ssrc, &mut self.feedback);
        self.stats.twcc_sent += (self.feedback.len() - before) as u64;
        self.stats.ccfb_sent += self.ccfb.handle_timeout(now, self.ntp.ntp(now), sender, &mut self.feedback);
        self.send_remb(now, sender);
        self.drain_inbound();
        // Each send stream's timers run; what they produce leaves as one compound.
        let mut polled = rtcp::StreamRtcp::default();
        for o in self.sections.iter_mut().flat_map(|s| s.outbound.iter_mut()) {
            o.stream.handle_timeout(now);
            polled.poll(o);
        }
        self.send_stream_rtcp(now, polled);
        self.update_stats();
    }

    /// Updates the receive-side estimate when due and queues a REMB when one is due.
    fn send_remb(&mut self, now: Instant, sender: u32) {
        if self.remb.poll_timeout().is_none_or(|t| now < t) {
            return;
        }
        let remb_sections: Vec<u64> = self.sections.iter().filter(|s| s.remb_only()).map(|s| s.id).collect();
        let streams = || self.inbound.values().filter(|i| remb_sections.contains(&i.section));
        let expected = streams().map(|i| i.stats.expected()).sum();
        let lost = streams().map(|i| i.stats.cumulative_lost()).sum();
        let Some(bitrate) = self.remb.handle_timeout(now, expected, lost) else { return };
        let mut ssrcs: Vec<u32> = streams().map(|i| i.ssrc).collect();
        ssrcs.sort_unstable();
        ssrcs.truncate(16);
        self.feedback.push(Remb { sender_ssrc: sender, media_ssrc: 0, bitrate, ssrcs }.into());
        self.stats.remb_sent += 1;
        self.stats.remb_bps = bitrate;
    }

    /// When [`handle_timeout`](Self::handle_timeout) (or, for the pacer,
    /// [`poll_transmit`](Self::poll_transmit)) wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let streams = self.sections.iter().flat_map(|s| &s.outbound).filter_map(|o| o.stream.poll_timeout());
        let inbound = self.inbound.values().filter_map(|i| i.poll_timeout());
        [
            Some(self.cc.poll_timeout()),
            self.pacer.poll_timeout(),
            self.twcc.poll_timeout(),
            self.ccfb.poll_timeout(),
            self.remb.poll_timeout(),
            self.next_rr,
        ]
        .into_iter()
        .flatten()
        .chain(streams)
        .chain(inbound)
        .min()
    }

    /// The next datagram to send at `now`: RTCP first, then RTP as the pacer releases it.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        if let Some(out) = self.transmit.pop_front() {
            return Some(out);
        }
        loop {
            let (section, mut packet, kind, probe_cluster) = match self.pacer.poll_send(now)? {
                PacedOutput::Packet { item, kind, probe_cluster, .. } => {
                    (item.section, item.packet, kind, probe_cluster)
                }
                PacedOutput::Padding { probe_cluster, .. } => {
                    let Some((section, packet)) = self.padding(now) else { continue };
                    self.stats.padding_sent += 1;
                    (section, packet, PacketKind::Padding, probe_cluster)
                }
            };
            let Some(s) = self.sections.iter().find(|s| s.id == section) else { continue };
            // The send-time extensions are the section's: any of its streams stamps.
            let Some(o) = s.outbound.first() else { continue };
            let mut seq = o.stamp(now, &mut packet, &mut self.transport);
            if seq.is_none() && s.ccfb() {
                // RFC 8888: the number is ours only, to map the feedback back.
                let number = self.transport.take();
                self.ccfb_sent.on_sent(packet.header.ssrc, packet.header.sequence_number, number);
                seq = Some(number);
            }
            if let Some(seq) = seq {
                let size = packet.encoded_len();
                self.cc.on_packet_sent(SentPacket { seq, send_time: now, size, probe_cluster });
            }
            let mut out = Vec::with_capacity(packet.encoded_len());
            if packet.write(&mut out).is_err() {
                continue;
            }
            self.stats.rtp_sent += 1;
            self.stats.retransmissions_sent += u64::from(kind == PacketKind::Retransmission);
            self.stats.pacer_queued = self.pacer.queued_packets();
            return Some(Outgoing::Rtp(Bytes::from(out)));
        }
    }

    /// A padding packet for the pacer: the newest packet of a video stream again, as RTX
    /// (libwebrtc's payload padding); None when no stream has RTX and has sent.
    fn padding(&mut self, now: Instant) -> Option<(u64, RtpPacket)> {
        let video = self.sections.iter_mut().filter(|s| s.config.kind == MediaKind::Video);
        video.flat_map(|s| s.outbound.iter_mut().map(|o| (s.id, o))).find_map(|(id, o)| Some((id, o.padding(now)?)))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// The send stream of `mid` (its encoding `rid` when given, else its first).
    fn outbound(&mut self, mid: &str, rid: Option<&str>) -> Result<(u64, &mut Outbound), SessionError> {
        let s = self.sections.iter_mut().find(|s| s.config.mid == mid);
        let s = s.ok_or_else(|| SessionError::UnknownMid(mid.to_owned()))?;
        let id = s.id;
        if s.outbound.is_empty() {
            return Err(SessionError::NotSending(mid.to_owned()));
        }
        let o = match rid {
            None => s.outbound.first_mut(),
            Some(rid) => s.outbound.iter_mut().find(|o| o.rid.as_deref() == Some(rid)),
        };
        let o = o.ok_or_else(|| SessionError::UnknownRid { mid: mid.to_owned(), rid: rid.unwrap_or("").to_owned() })?;
        Ok((id, o))
    }

    /// Packetizes one encoded frame with the codec of `payload_type` and queues it in the
    /// pacer. A simulcast section takes it on its first encoding; see
    /// [`write_frame_rid`](Self::write_frame_rid).
    pub fn write_frame(
        &mut self,
        now: Instant,
        mid: &str,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), SessionError> {
        self.write_frame_rid(now, mid, None, payload_type, rtp_timestamp, data)
    }

    /// [`write_frame`](Self::write_frame) on the simulcast encoding `rid` of the section
    /// (its first one when `None`).
    pub fn write_frame_rid(
        &mut self,
        now: Instant,
        mid: &str,
        rid: Option<&str>,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), SessionError> {
        let max_payload = self.config.max_payload;
        let (id, o) = self.outbound(mid, rid)?;
        let kind = if o.kind == MediaKind::Audio { PacketKind::Audio } else { PacketKind::Video };
        let packets = o.packetize(now, payload_type, rtp_timestamp, &data, max_payload)?;
        self.enqueue(now, id, kind, packets)
    }

    /// Forwards one RTP payload without packetizing (SFU, pass-through): the session
    /// assigns SSRC and sequence number. A simulcast section takes it on its first
    /// encoding; see [`write_rtp_rid`](Self::write_rtp_rid).
    pub fn write_rtp(
        &mut self,
        now: Instant,
        mid: &str,
        payload_type: u8,
        rtp_timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), SessionError> {
        self.write_rtp_rid(now, mid, None, payload_type, rtp_timestamp, marker, payload)
    }

    /// [`write_rtp`](Self::write_rtp) on the simulcast encoding `rid` of the section (its
    /// first one when `None`).
    #[allow(clippy::too_many_arguments)]
    pub fn write_rtp_rid(
        &mut self,
        now: Instant,
        mid: &str,
        rid: Option<&str>,
        payload_type: u8,
        rtp_timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), SessionError> {
        let (id, _) = self.outbound(mid, rid)?;
        if !self.sections.iter().any(|s| s.id == id && s.config.codecs.iter().any(|c| c.payload_type == payload_type)) {
            return Err(SessionError::UnknownPayloadType(payload_type));
        }
        let (id, o) = self.outbound(mid, rid)?;
        let kind = if o.kind == MediaKind::Audio { PacketKind::Audio } else { PacketKind::Video };
        let packet = o.write(now, payload_type, rtp_timestamp, marker, payload)?;
        self.enqueue(now, id, kind, vec![packet])
    }

    fn enqueue(
        &mut self,
        now: Instant,
        section: u64,
        kind: PacketKind,
        packets: Vec<RtpPacket>,
    ) -> Result<(), SessionError> {
        let mut full = false;
        for packet in packets {
            let size = packet.encoded_len();
            if self.pacer.enqueue(now, kind, size, Paced { section, packet }).is_err() {
                self.stats.pacer_dropped += 1;
                full = true;
            }
        }
        self.stats.pacer_queued = self.pacer.queued_packets();
        if full {
            Err(SessionError::QueueFull)
        } else {
            Ok(())
        }
    }

    /// Asks every remote stream of `mid` for a keyframe at once (PLI or FIR).
    pub fn request_keyframe(&mut self, now: Instant, mid: &str, kind: KeyframeRequestKind) -> Result<(), SessionError> {
        self.request_keyframe_rid(now, mid, None, kind)
    }

    /// Asks one simulcast stream of `mid`, the one the peer sends with RID `rid`, for a
    /// keyframe (every stream of the section when `None`): an SFU switching a receiver
    /// to another layer needs a keyframe of that layer only.
    pub fn request_keyframe_rid(
        &mut self,
        _now: Instant,
        mid: &str,
        rid: Option<&str>,
        kind: KeyframeRequestKind,
    ) -> Result<(), SessionError> {
        let section = self.sections.iter().find(|s| s.config.mid == mid);
        let id = section.ok_or_else(|| SessionError::UnknownMid(mid.to_owned()))?.id;
        let mut any = false;
        let wanted = |i: &Inbound| i.section == id && rid.is_none_or(|r| i.rid.as_deref() == Some(r));
        for i in self.inbound.values_mut().filter(|i| wanted(i)) {
            i.force_keyframe_request(kind);
            any = true;
        }
        if !any {
            return Err(match rid {
                Some(rid) => SessionError::UnknownRid { mid: mid.to_owned(), rid: rid.to_owned() },
                None => SessionError::NoRemoteStream(mid.to_owned()),
            });
        }
        self.drain_inbound();
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Each stream's counters: those we send, in section order, then those we receive.
    pub fn stream_stats(&self) -> Vec<super::StreamStats> {
        let section = |id: u64| self.sections.iter().find(|s| s.id == id);
        let mut out: Vec<super::StreamStats> = Vec::new();
        for s in &self.sections {
            for o in &s.outbound {
                let st = o.stream.stats();
                out.push(super::StreamStats::Outbound {
                    mid: s.config.mid.clone(),
                    ssrc: o.ssrc,
                    rid: o.rid.clone(),
                    rtx_ssrc: o.rtx_ssrc,
                    kind: o.kind,
                    packets_sent: st.packets,
                    bytes_sent: st.bytes,
                    retransmitted_packets_sent: st.retransmitted_packets,
                    retransmitted_bytes_sent: st.retransmitted_bytes,
                    nack_count: st.nack.nacks,
                    pli_count: st.keyframes.pli,
                    fir_count: st.keyframes.fir,
                    round_trip_time: o.stream.rtt(),
                    round_trip_time_measurements: st.rtt.measured,
                    remote: o.stream.remote_report(),
                });
            }
        }
        let mut inbound: Vec<_> = self.inbound.values().collect();
        inbound.sort_by_key(|i| (i.section, i.ssrc));
        for i in inbound {
            let Some(s) = section(i.section) else { continue };
            out.push(super::StreamStats::Inbound {
                mid: s.config.mid.clone(),
                ssrc: i.ssrc,
                rid: i.rid.clone(),
                kind: s.config.kind,
                packets_received: i.stats.packets_received(),
                bytes_received: i.stats.bytes_received(),
                packets_lost: i.stats.cumulative_lost(),
                jitter: i.stats.jitter_duration(),
                frames_dropped: i.dropped_frames,
                remote_sender: i.stats.sender_clock(),
            });
        }
        out
    }

    /// Each m-section's mid, kind and negotiated codecs.
    pub fn section_codecs(&self) -> impl Iterator<Item = (&str, MediaKind, &[super::CodecConfig])> + '_ {
        self.sections.iter().map(|s| (s.config.mid.as_str(), s.config.kind, s.config.codecs.as_slice()))
    }

    /// The NTP/RTP clock mapping from the last SR of remote stream `ssrc` (lip sync).
    pub fn sender_clock(&self, ssrc: u32) -> Option<SenderClock> {
        self.inbound.get(&ssrc)?.stats.sender_clock()
    }

    /// Remote packets held for reordering in all streams (for bound checks).
    pub fn held_packets(&self) -> usize {
        self.inbound.values().map(|i| i.held_packets()).sum()
    }

    fn update_stats(&mut self) {
        self.stats.remote_ssrcs = self.router.len();
        self.stats.remote_streams = self.inbound.len();
        self.stats.pacer_queued = self.pacer.queued_packets();
    }
}

/// Moves one remote stream's completed frames to the events and its NACKs and
/// keyframe requests to the feedback queue.
fn drain_stream(
    inbound: &mut Inbound,
    sections: &[Section],
    sender: u32,
    events: &mut VecDeque<SessionEvent>,
    stats: &mut SessionStats,
    feedback: &mut Vec<RtcpPacket>,
) {
    let Some(section) = sections.iter().find(|s| s.id == inbound.section) else { return };
    while let Some(f) = inbound.poll_frame() {
        stats.frames += 1;
        let event = SessionEvent::Frame {
            mid: section.config.mid.clone(),
            rid: inbound.rid.clone(),
            ssrc: inbound.ssrc,
            payload_type: f.payload_type,
            rtp_timestamp: f.frame.timestamp,
            keyframe: f.frame.keyframe,
            received_at: f.received_at,
            sequence_range: (f.frame.first_sequence, f.frame.last_sequence),
            lost_before: f.frame.discontinuity,
            data: f.frame.data,
        };
        push_event(events, stats, event);
    }
    while let Some(p) = inbound.poll_feedback(sender) {
        match &p {
            RtcpPacket::Nack(_) => stats.nacks_sent += 1,
            _ => stats.keyframe_requests_sent += 1,
        }
        feedback.push(p);
    }
}

fn push_event(events: &mut VecDeque<SessionEvent>, stats: &mut SessionStats, event: SessionEvent) {
    if events.len() >= MAX_EVENTS {
        events.pop_front();
        stats.events_dropped += 1;
    }
    events.push_back(event);
}
