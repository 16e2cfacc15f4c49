//! RTCP of the session: incoming datagrams routed to the parts, outgoing feedback sent at
//! once, and the streams' reports joined into one compound.

use std::time::{Duration, Instant};

use bytes::Bytes;
use cc::Bitrate;

use crate::rtcp::{
    compact_ntp, write_compound, CompoundIter, DlrrItem, ExtendedReport, ReceiverReport, RtcpPacket, Sdes, XrBlock,
};
use crate::session::receive::ReceiverRtt;
use crate::session::send::ntp::duration_to_compact;
use crate::session::send::{MediaKind, AUDIO_REPORT_INTERVAL, VIDEO_REPORT_INTERVAL};

use super::super::outbound::Outbound;
use super::super::Outgoing;
use super::{Session, MAX_TRANSMIT};

/// Bytes of RTCP per datagram at most when feedback is split.
const MAX_RTCP_BYTES: usize = 1_200;
/// Report blocks per RR or SR at most (the 5-bit count).
const MAX_REPORT_BLOCKS: usize = 31;
/// RRTRs waiting for our DLRR answer at most (one per remote SSRC; the oldest go first).
const MAX_DLRR: usize = 16;

impl Session {
    /// Takes one decrypted RTCP datagram (compound or reduced-size).
    pub fn handle_rtcp(&mut self, now: Instant, datagram: Bytes) {
        self.stats.rtcp_received += 1;
        // A packet whose body does not parse is skipped; the others of the datagram count.
        let mut malformed = false;
        let packets: Vec<RtcpPacket> =
            CompoundIter::new(&datagram).filter_map(|p| p.map_err(|_| malformed = true).ok()).collect();
        self.stats.rtcp_malformed += u64::from(malformed);
        let mut ccfb_report = Vec::new();
        for packet in &packets {
            match packet {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(i) = self.inbound.get_mut(&sr.ssrc) {
                        i.stats.on_sender_report(now, sr);
                    }
                }
                RtcpPacket::ReceiverReport(rr) => {
                    let ours = self.sections.iter().flat_map(|s| s.outbound.iter().map(|o| o.ssrc));
                    let ours: Vec<u32> = ours.collect();
                    for block in rr.reports.iter().filter(|b| ours.contains(&b.ssrc)) {
                        self.cc.on_receiver_report(now, block.fraction_lost as u64, 256);
                    }
                }
                RtcpPacket::TransportFeedback(fb) => {
                    // A report can only cover packets we sent: one naming more (a few
                    // bytes of run-length chunks can claim 65,535) is dropped unexpanded.
                    if fb.status_count > self.transport.peek().wrapping_sub(fb.base_seq) {
                        self.stats.feedback_ignored += 1;
                        continue;
                    }
                    let report: Vec<(u16, Option<Duration>)> = fb
                        .packets()
                        .map(|(seq, at)| (seq, at.map(|us| Duration::from_micros(us.max(0) as u64))))
                        .collect();
                    self.cc.on_transport_feedback(now, &report);
                }
                RtcpPacket::CongestionControlFeedback(fb) => {
                    self.stats.ccfb_unknown += self.ccfb_sent.on_feedback(fb, &mut ccfb_report);
                }
                RtcpPacket::ExtendedReport(xr) => self.on_extended_report(now, xr),
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
                for o in &mut s.outbound {
                    o.stream.handle_rtcp(now, packet);
                }
            }
        }
        if !ccfb_report.is_empty() {
            // All RFC 8888 feedback of the datagram as one report, in sending order.
            ccfb_report.sort_by_key(|(seq, _)| *seq);
            self.cc.on_transport_feedback(now, &ccfb_report);
        }
        self.drain_send_streams(now);
        self.drain_cc(now);
        self.update_stats();
    }

    /// Whether any section negotiated `a=rtcp-xr:rcvr-rtt`.
    fn xr_rtt(&self) -> bool {
        self.sections.iter().any(|s| s.config.xr_rtt)
    }

    /// An XR: RRTRs are remembered to answer with DLRR; DLRR answers to our RRTRs give
    /// the receiver's RTT, which then paces the NACKs of every remote stream.
    fn on_extended_report(&mut self, now: Instant, xr: &ExtendedReport) {
        if !self.xr_rtt() {
            return;
        }
        for block in &xr.blocks {
            if let XrBlock::Rrtr(r) = block {
                self.dlrr.retain(|d| d.0 != xr.ssrc);
                if self.dlrr.len() >= MAX_DLRR {
                    self.dlrr.remove(0);
                }
                self.dlrr.push((xr.ssrc, compact_ntp(r.ntp_time), now));
            }
        }
        // Answers are matched to the SSRC our RRTRs went out with.
        let Some((_, rtt)) = self.receiver_rtt.as_mut() else { return };
        let Some(rtt) = rtt.on_extended_report(now, xr) else { return };
        self.stats.receiver_rtt = Some(rtt);
        for i in self.inbound.values_mut() {
            i.set_rtt(rtt);
        }
    }

    /// The XR of a report compound, when `a=rtcp-xr:rcvr-rtt` is negotiated: an RRTR
    /// when we send no SR (`sending` false), DLRR answers to the RRTRs that came.
    fn extended_report(&mut self, now: Instant, sending: bool) -> Option<RtcpPacket> {
        if !self.xr_rtt() {
            return None;
        }
        let sender = self.sender_ssrc();
        let mut blocks = Vec::new();
        if !sending {
            let rtt = match &mut self.receiver_rtt {
                Some((ssrc, rtt)) if *ssrc == sender => rtt,
                other => &mut other.insert((sender, ReceiverRtt::new(sender))).1,
            };
            blocks.push(XrBlock::Rrtr(rtt.rrtr(now, self.ntp.ntp(now))));
        }
        if !self.dlrr.is_empty() {
            let items = self.dlrr.drain(..).map(|(ssrc, last_rr, at)| DlrrItem {
                ssrc,
                last_rr,
                delay_since_last_rr: duration_to_compact(now.saturating_duration_since(at)),
            });
            blocks.push(XrBlock::Dlrr(items.collect()));
        }
        if blocks.is_empty() {
            return None;
        }
        self.stats.xr_sent += 1;
        Some(ExtendedReport { ssrc: sender, blocks }.into())
    }

    /// Sends the queued feedback at once, as compounds (or reduced-size) of at most
    /// [`MAX_RTCP_BYTES`].
    pub(super) fn flush_feedback(&mut self) {
        if self.feedback.is_empty() {
            return;
        }
        // Each packet is written once, straight into the datagram; one that
        // would take it past MAX_RTCP_BYTES starts the next (after the lead).
        let sender = self.sender_ssrc();
        let mut lead = Vec::new();
        if !self.config.reduced_size_rtcp {
            let rr = ReceiverReport { ssrc: sender, reports: Vec::new(), profile_extensions: Vec::new() };
            let written = write_compound(&[rr.into(), Sdes::cname(sender, &self.config.cname).into()], &mut lead);
            debug_assert!(written.is_ok(), "our own RTCP serializes");
        }
        let mut out = Vec::with_capacity(MAX_RTCP_BYTES);
        out.extend_from_slice(&lead);
        for p in std::mem::take(&mut self.feedback) {
            let start = out.len();
            if p.write(&mut out).is_err() {
                debug_assert!(false, "our own RTCP serializes");
                out.truncate(start);
                continue;
            }
            if out.len() > MAX_RTCP_BYTES && start > lead.len() {
                let tail = out.split_off(start);
                self.queue_rtcp(std::mem::replace(&mut out, lead.clone()));
                out.extend_from_slice(&tail);
            }
        }
        if out.len() > lead.len() {
            self.queue_rtcp(out);
        }
    }

    fn send_rtcp(&mut self, packets: &[RtcpPacket]) {
        let mut out = Vec::new();
        if write_compound(packets, &mut out).is_err() {
            debug_assert!(false, "our own RTCP does not serialize");
            return;
        }
        self.queue_rtcp(out);
    }

    fn queue_rtcp(&mut self, out: Vec<u8>) {
        if self.transmit.len() >= MAX_TRANSMIT {
            self.transmit.pop_front();
        }
        self.transmit.push_back(Outgoing::Rtcp(Bytes::from(out)));
        self.stats.rtcp_sent += 1;
    }

    /// Sends what [`StreamRtcp::poll`] took from the send streams as one compound, with
    /// the report blocks of the remote streams; sends an RR compound instead when it is
    /// time and no SR is.
    pub(super) fn send_stream_rtcp(&mut self, now: Instant, polled: StreamRtcp) {
        let StreamRtcp { mut srs, mut chunks, rest } = polled;
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
        let xr = self.extended_report(now, !srs.is_empty());
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
        compound.extend(xr);
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

/// The RTCP the send streams produced, sorted for one compound: their SRs, SDES chunks
/// and anything else.
#[derive(Default)]
pub(super) struct StreamRtcp {
    srs: Vec<crate::rtcp::SenderReport>,
    chunks: Vec<crate::rtcp::SdesChunk>,
    rest: Vec<RtcpPacket>,
}

impl StreamRtcp {
    /// Takes everything `o`'s stream has to send.
    pub(super) fn poll(&mut self, o: &mut Outbound) {
        while let Some(compound) = o.stream.poll_rtcp() {
            for p in compound {
                match p {
                    RtcpPacket::SenderReport(sr) => self.srs.push(sr),
                    RtcpPacket::Sdes(s) => self.chunks.extend(s.chunks),
                    other => self.rest.push(other),
                }
            }
        }
    }
}
