//! RTCP of the session: incoming datagrams routed to the parts, outgoing feedback sent at
//! once, and the streams' reports joined into one compound.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cc::Bitrate;

use crate::rtcp::{write_compound, CompoundIter, ReceiverReport, RtcpPacket, Sdes};
use crate::session::send::{MediaKind, AUDIO_REPORT_INTERVAL, VIDEO_REPORT_INTERVAL};

use super::super::outbound::Outbound;
use super::super::Outgoing;
use super::{Session, MAX_TRANSMIT};

/// Bytes of RTCP per datagram at most when feedback is split.
const MAX_RTCP_BYTES: usize = 1_200;
/// Report blocks per RR or SR at most (the 5-bit count).
const MAX_REPORT_BLOCKS: usize = 31;

impl Session {
    /// Takes one decrypted RTCP datagram (compound or reduced-size).
    pub fn handle_rtcp(&mut self, now: Instant, datagram: Bytes) {
        self.stats.rtcp_received += 1;
        // A packet whose body does not parse is skipped; the others of the datagram count.
        let mut malformed = false;
        let packets: Vec<RtcpPacket> =
            CompoundIter::new(&datagram).filter_map(|p| p.map_err(|_| malformed = true).ok()).collect();
        self.stats.rtcp_malformed += u64::from(malformed);
        for packet in &packets {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(i) = self.inbound.get_mut(&sr.ssrc) {
                        i.stats.on_sender_report(now, sr);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    let ours = self.sections.iter().filter_map(|s| s.outbound.as_ref().map(|o| o.ssrc));
                    let ours: Vec<u32> = ours.collect();
                    for block in rr.reports.iter().filter(|b| ours.contains(&b.ssrc)) {
                        self.cc.on_receiver_report(now, block.fraction_lost as u64, 256);
                    }
                }
                RtcpPacket::TransportFeedback(fb) => {
                    let report: Vec<(u16, Option<Duration>)> = fb
                        .packets()
                        .map(|(seq, at)| (seq, at.map(|us| Duration::from_micros(us.max(0) as u64))))
                        .collect();
                    self.cc.on_transport_feedback(now, &report);
                }
                RtcpPacket::Remb(remb) => self.cc.on_remb(now, Bitrate::bps(remb.bitrate)),
                RtcpPacket::Bye(bye) => {
                    // The remote streams leave: their state goes (RTX SSRCs are listed too).
                    for ssrc in &bye.sources {
                        if self.router.forget(*ssrc).is_some() {
                            self.stats.remote_byes += 1;
                        }
                        self.inbound.remove(ssrc);
                    }
                }
                _ => {}
            }
            for s in &mut self.sections {
                if let Some(o) = &mut s.outbound {
                    o.stream.handle_rtcp(now, packet);
                }
            }
        }
        self.drain_send_streams(now);
        self.drain_cc(now);
        self.update_stats();
    }

    /// Sends the queued feedback at once, as compounds (or reduced-size) of at most
    /// [`MAX_RTCP_BYTES`].
    pub(super) fn flush_feedback(&mut self) {
        if self.feedback.is_empty() {
            return;
        }
        let sender = self.sender_ssrc();
        let lead: Vec<RtcpPacket> = if self.config.reduced_size_rtcp {
            Vec::new()
        } else {
            vec![
                ReceiverReport { ssrc: sender, reports: Vec::new(), profile_extensions: Vec::new() }.into(),
                Sdes::cname(sender, &self.config.cname).into(),
            ]
        };
        let mut packets = lead.clone();
        let mut size = wire_len(&packets);
        for p in std::mem::take(&mut self.feedback) {
            let len = wire_len(std::slice::from_ref(&p));
            if size + len > MAX_RTCP_BYTES && packets.len() > lead.len() {
                self.send_rtcp(&std::mem::replace(&mut packets, lead.clone()));
                size = wire_len(&packets);
            }
            size += len;
            packets.push(p);
        }
        if packets.len() > lead.len() {
            self.send_rtcp(&packets);
        }
    }

    fn send_rtcp(&mut self, packets: &[RtcpPacket]) {
        let mut out = Vec::new();
        if write_compound(packets, &mut out).is_err() {
            debug_assert!(false, "our own RTCP does not serialize");
            return;
        }
        if self.transmit.len() >= MAX_TRANSMIT {
            self.transmit.pop_front();
        }
        self.transmit.push_back(Outgoing::Rtcp(Bytes::from(out)));
        self.stats.rtcp_sent += 1;
    }

    /// Joins the RTCP the send streams produced into one compound, with the report blocks
    /// of the remote streams; sends an RR compound instead when it is time and no SR is.
    pub(super) fn collect_stream_rtcp(&mut self, now: Instant, outbound: &mut [Option<Outbound>]) {
        let (mut srs, mut chunks, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for o in outbound.iter_mut().flatten() {
            while let Some(compound) = o.stream.poll_rtcp() {
                for p in compound {
                    match p {
                        RtcpPacket::SenderReport(sr) => srs.push(sr),
                        RtcpPacket::Sdes(s) => chunks.extend(s.chunks),
                        other => rest.push(other),
                    }
                }
            }
        }
        let rr_due = self.next_rr.is_some_and(|t| t <= now);
        if srs.is_empty() && rest.is_empty() && !rr_due {
            if self.next_rr.is_none() && !self.inbound.is_empty() {
                self.next_rr = Some(now + self.report_interval());
            }
            return;
        }
        let mut blocks: Vec<_> = self.inbound.values_mut().filter_map(|i| i.stats.report_block(now)).collect();
        blocks.truncate(MAX_REPORT_BLOCKS);
        let mut compound: Vec<RtcpPacket> = Vec::new();
        let sender = self.sender_ssrc();
        match srs.first_mut() {
            Some(first) => first.reports = blocks,
            None => {
                compound.push(ReceiverReport { ssrc: sender, reports: blocks, profile_extensions: Vec::new() }.into())
            }
        }
        compound.extend(srs.into_iter().map(RtcpPacket::from));
        if chunks.is_empty() {
            chunks = Sdes::cname(sender, &self.config.cname).chunks;
        }
        compound.push(Sdes { chunks }.into());
        compound.extend(rest);
        self.send_rtcp(&compound);
        self.next_rr = (!self.inbound.is_empty()).then(|| now + self.report_interval());
    }

    /// The RR interval: video's when any section receives video, else audio's; jittered
    /// by ±50% (RFC 3550 §6.3.5).
    fn report_interval(&mut self) -> Duration {
        let video = self.sections.iter().any(|s| s.config.receive && s.config.kind == MediaKind::Video);
        let base = if video { VIDEO_REPORT_INTERVAL } else { AUDIO_REPORT_INTERVAL };
        self.rng.scaled(base, 500, 1_500)
    }
}

fn wire_len(packets: &[RtcpPacket]) -> usize {
    let mut out = Vec::new();
    let _ = write_compound(packets, &mut out);
    out.len()
}
