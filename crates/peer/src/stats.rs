//! What a peer connection reports of itself (the facade renders it as the
//! W3C `RTCStatsReport`).

use std::time::Instant;

use datachannel::{ChannelInfo, ReadyState};
use ice::{Candidate, IceStats, IceTransportState};

use crate::config::{ChannelHandle, DtlsTransportState};
use crate::transport::TransportStats;
use crate::PeerConnection;

/// Every part's counters and state at one instant.
#[derive(Debug, Clone)]
pub struct PeerStats {
    /// When they were read.
    pub timestamp: Instant,
    /// The ICE agent's counters.
    pub ice: IceStats,
    /// `iceConnectionState`.
    pub ice_state: IceTransportState,
    /// Whether we are the ICE-controlling agent.
    pub ice_controlling: bool,
    /// The selected pair: (local, remote).
    pub selected_pair: Option<(Candidate, Candidate)>,
    /// `RTCDtlsTransport.state`.
    pub dtls_state: DtlsTransportState,
    /// Our certificate, DER.
    pub local_certificate_der: Vec<u8>,
    /// The peer's certificate, DER, once DTLS is connected.
    pub remote_certificate_der: Option<Vec<u8>>,
    /// The transport's own counters (dropped datagrams, RTP/RTCP).
    pub transport: TransportStats,
    /// The SCTP association's counters, once there is one.
    pub sctp: Option<sctp::Stats>,
    /// Channels opened (ours that opened, the peer's announced) and closed.
    pub channels_opened: u32,
    /// See `channels_opened`.
    pub channels_closed: u32,
    /// Each live channel, in creation order.
    pub channels: Vec<ChannelStats>,
    /// Each RTP stream, sent then received.
    pub rtp_streams: Vec<rtp::session::StreamStats>,
    /// Each media section's mid, kind and negotiated codecs.
    pub rtp_codecs: Vec<SectionCodecs>,
}

/// The negotiated codecs of one media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionCodecs {
    /// Its mid.
    pub mid: String,
    /// Audio or video.
    pub kind: rtp::session::send::MediaKind,
    /// Its codecs (RTX folded into the codec it repairs).
    pub codecs: Vec<crate::CodecConfig>,
}

/// One data channel's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelStats {
    /// Its handle.
    pub handle: ChannelHandle,
    /// What it is (label, protocol, id once known).
    pub info: Option<ChannelInfo>,
    /// Its state.
    pub state: ReadyState,
    /// Messages handed to SCTP.
    pub messages_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Messages delivered.
    pub messages_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
}

pub(crate) fn collect(now: Instant, pc: &PeerConnection) -> PeerStats {
    let t = pc.transport();
    let ice = t.ice();
    let (opened, closed) = pc.data_counts();
    PeerStats {
        timestamp: now,
        ice: ice.stats().clone(),
        ice_state: pc.ice_connection_state(),
        ice_controlling: ice.is_controlling(),
        selected_pair: ice.selected_pair().map(|(l, r)| (l.clone(), r.clone())),
        dtls_state: t.dtls_state(),
        local_certificate_der: pc.certificate().der().to_vec(),
        remote_certificate_der: t.remote_certificate().map(<[u8]>::to_vec),
        transport: t.stats(),
        sctp: t.channels().map(|dc| dc.association().stats()),
        channels_opened: opened,
        channels_closed: closed,
        channels: pc
            .channel_handles()
            .map(|h| {
                let c = pc.channel_counters(h);
                ChannelStats {
                    handle: h,
                    info: pc.channel_info(h),
                    state: pc.channel_state(h).unwrap_or(ReadyState::Closed),
                    messages_sent: c.messages_sent,
                    bytes_sent: c.bytes_sent,
                    messages_received: c.messages_received,
                    bytes_received: c.bytes_received,
                }
            })
            .collect(),
        rtp_streams: pc.rtp_stream_stats(),
        rtp_codecs: pc.rtp_codecs(),
    }
}
