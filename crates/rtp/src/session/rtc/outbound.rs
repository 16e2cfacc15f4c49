//! The sending side of one m-section: its [`SendStream`] (sequence numbers, history,
//! NACK → RTX, PLI/FIR, SRs) and one packetizer per payload type. Packets are built
//! here when a frame is written and stamped with the send-time extensions
//! (transport-wide sequence number, abs-send-time) when the pacer releases them, so the
//! numbers follow the order packets really leave in.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;

use crate::extension::{AbsSendTime, ExtensionKind, ExtensionMap, TransportCc};
use crate::packet::RtpPacket;
use crate::session::send::{
    MediaKind, MediaPacket, NtpClock, RtxConfig, SendError, SendStream, SendStreamConfig, TransportSequence,
};

use super::codec::{self, DynPacketizer};
use super::{MediaConfig, SendConfig, SessionError};

/// One stream we send on an m-section (the section's only one, or one simulcast
/// encoding).
pub(crate) struct Outbound {
    pub stream: SendStream,
    pub kind: MediaKind,
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
    pub rid: Option<String>,
    extensions: ExtensionMap,
    ntp: NtpClock,
    packetizers: HashMap<u8, DynPacketizer>,
    /// Numbers written at build time, replaced when the packet leaves.
    scratch: TransportSequence,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("ssrc", &self.ssrc)
            .field("rtx_ssrc", &self.rtx_ssrc)
            .field("rid", &self.rid)
            .finish()
    }
}

impl Outbound {
    pub fn new(
        media: &MediaConfig,
        send: &SendConfig,
        cname: &str,
        ntp: NtpClock,
        seed: u64,
    ) -> Result<Self, SendError> {
        let clock_rate = media.codecs.first().map_or(90_000, |c| c.clock_rate);
        let mut config = SendStreamConfig::new(send.ssrc, media.kind, clock_rate, cname, ntp);
        config.mid = Some(media.mid.clone());
        config.rid = send.rid.clone();
        config.extensions = media.extensions.clone();
        config.seed = seed;
        config.rtx = send.rtx_ssrc.map(|ssrc| RtxConfig { ssrc, payload_types: rtx_payload_types(media) });
        let packetizers = media
            .codecs
            .iter()
            .filter_map(|c| Some((c.payload_type, codec::packetizer(c)?)))
            .collect::<HashMap<_, _>>();
        Ok(Outbound {
            stream: SendStream::new(config)?,
            kind: media.kind,
            ssrc: send.ssrc,
            rtx_ssrc: send.rtx_ssrc,
            rid: send.rid.clone(),
            extensions: media.extensions.clone(),
            ntp,
            packetizers,
            scratch: TransportSequence::new(0),
        })
    }

    /// Packetizes one frame into packets to pace.
    pub fn packetize(
        &mut self,
        now: Instant,
        payload_type: u8,
        rtp_timestamp: u32,
        data: &[u8],
        max_payload: usize,
    ) -> Result<Vec<RtpPacket>, SessionError> {
        let packetizer =
            self.packetizers.get_mut(&payload_type).ok_or(SessionError::UnknownPayloadType(payload_type))?;
        let payloads = packetizer.packetize(data, max_payload)?;
        let mut out = Vec::with_capacity(payloads.len());
        for p in payloads {
            out.push(self.write(now, payload_type, rtp_timestamp, p.marker, p.data)?);
        }
        Ok(out)
    }

    /// A renegotiation kept this stream: take the section's new payload types, RTX
    /// payload types and extension ids (a packetizer stays for a payload type whose codec
    /// did not change, so VP8 picture ids and the like continue). Refused, with nothing
    /// changed, when the new extension ids cannot carry the stream's mid or rid.
    pub fn renegotiate(&mut self, old: &MediaConfig, media: &MediaConfig) -> Result<(), SendError> {
        self.stream.renegotiate(media.extensions.clone(), rtx_payload_types(media))?;
        self.extensions = media.extensions.clone();
        let same = |c: &super::CodecConfig| {
            old.codecs.iter().any(|o| o.payload_type == c.payload_type && o.name == c.name && o.fmtp == c.fmtp)
        };
        let mut kept = std::mem::take(&mut self.packetizers);
        for c in &media.codecs {
            let packetizer = match kept.remove(&c.payload_type).filter(|_| same(c)) {
                Some(p) => p,
                None => match codec::packetizer(c) {
                    Some(p) => p,
                    None => continue,
                },
            };
            self.packetizers.insert(c.payload_type, packetizer);
        }
        Ok(())
    }

    /// Whether this is the stream `send` describes (kept across a renegotiation).
    pub fn is(&self, send: &SendConfig) -> bool {
        self.ssrc == send.ssrc && self.rtx_ssrc == send.rtx_ssrc && self.rid == send.rid
    }

    /// One payload as it is (forwarding): the stream assigns SSRC and sequence number.
    pub fn write(
        &mut self,
        now: Instant,
        payload_type: u8,
        rtp_timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<RtpPacket, SessionError> {
        let mut media = MediaPacket::new(payload_type, rtp_timestamp as u64, now, payload);
        media.marker = marker;
        Ok(self.stream.write_rtp(now, media, &mut self.scratch)?)
    }

    /// The next retransmission the stream wants to send.
    pub fn poll_resend(&mut self, now: Instant) -> Option<RtpPacket> {
        self.stream.poll_rtp(now, &mut self.scratch)
    }

    /// A padding packet (the newest packet again as RTX), when RTX is negotiated.
    pub fn padding(&mut self, now: Instant) -> Option<RtpPacket> {
        self.stream.write_padding(now, &mut self.scratch)
    }

    /// Writes the send-time extensions as the packet leaves at `now`; returns the
    /// transport-wide sequence number when it carries one.
    pub fn stamp(&self, now: Instant, packet: &mut RtpPacket, transport: &mut TransportSequence) -> Option<u16> {
        let exts = &mut packet.header.extensions;
        if self.extensions.id_of(ExtensionKind::AbsSendTime).is_some() {
            // Fits: the stream wrote the same extension when it built the packet.
            let _ = self.extensions.write(exts, &AbsSendTime::from_ntp(self.ntp.ntp(now)));
        }
        self.extensions.id_of(ExtensionKind::TransportCc)?;
        let seq = transport.peek();
        self.extensions.write(exts, &TransportCc(seq)).ok()?;
        Some(transport.take())
    }
}

/// `(media payload type, RTX payload type)` of the section's codecs that have RTX.
fn rtx_payload_types(media: &MediaConfig) -> Vec<(u8, u8)> {
    media.codecs.iter().filter_map(|c| Some((c.payload_type, c.rtx_payload_type?))).collect()
}
