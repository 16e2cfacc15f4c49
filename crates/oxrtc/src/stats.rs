//! `getStats`: W3C `RTCStatsReport` entries (webrtc-stats), as Rust types.

use std::net::SocketAddr;
use std::time::Duration;

use datachannel::ReadyState;
use ice::{CandidateKind, IceTransportState};

/// One entry of an [`RTCStatsReport`], by W3C `RTCStatsType`. Ids link the
/// entries as in a browser (`transportId`, `localCandidateId`...).
#[derive(Debug, Clone, PartialEq)]
pub enum RTCStats {
    /// `peer-connection`.
    PeerConnection(RTCPeerConnectionStats),
    /// `transport`.
    Transport(RTCTransportStats),
    /// `candidate-pair`.
    CandidatePair(RTCIceCandidatePairStats),
    /// `local-candidate`.
    LocalCandidate(RTCIceCandidateStats),
    /// `remote-candidate`.
    RemoteCandidate(RTCIceCandidateStats),
    /// `certificate`.
    Certificate(RTCCertificateStats),
    /// `data-channel`.
    DataChannel(RTCDataChannelStats),
    /// `sctp-transport`.
    SctpTransport(RTCSctpTransportStats),
    /// `inbound-rtp`.
    InboundRtp(RTCInboundRtpStreamStats),
    /// `outbound-rtp`.
    OutboundRtp(RTCOutboundRtpStreamStats),
    /// `remote-inbound-rtp`: what the peer reports about a stream we send.
    RemoteInboundRtp(RTCRemoteInboundRtpStreamStats),
    /// `remote-outbound-rtp`: what the peer reports about a stream it sends us.
    RemoteOutboundRtp(RTCRemoteOutboundRtpStreamStats),
    /// `codec`: a negotiated codec of a media section.
    Codec(RTCCodecStats),
}

/// `RTCRemoteInboundRtpStreamStats`: the peer's last receiver report on a
/// stream we send.
#[derive(Debug, Clone, PartialEq)]
pub struct RTCRemoteInboundRtpStreamStats {
    /// Entry id.
    pub id: String,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`: `audio` or `video`.
    pub kind: &'static str,
    /// `localId`: the `outbound-rtp` entry it reports on.
    pub local_id: String,
    /// `transportId`.
    pub transport_id: String,
    /// `packetsLost`.
    pub packets_lost: i64,
    /// `fractionLost`, 0..=1.
    pub fraction_lost: f64,
    /// `jitter`, in seconds.
    pub jitter: f64,
    /// `roundTripTime`, in seconds, once measured.
    pub round_trip_time: Option<f64>,
    /// `roundTripTimeMeasurements`.
    pub round_trip_time_measurements: u64,
    /// `reportsReceived`.
    pub reports_received: u64,
}

/// `RTCRemoteOutboundRtpStreamStats`: the peer's last sender report on a
/// stream it sends us.
#[derive(Debug, Clone, PartialEq)]
pub struct RTCRemoteOutboundRtpStreamStats {
    /// Entry id.
    pub id: String,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`: `audio` or `video`.
    pub kind: &'static str,
    /// `localId`: the `inbound-rtp` entry it reports on.
    pub local_id: String,
    /// `transportId`.
    pub transport_id: String,
    /// `packetsSent` (the SR's 32-bit count).
    pub packets_sent: u64,
    /// `bytesSent` (the SR's 32-bit payload octet count).
    pub bytes_sent: u64,
    /// `remoteTimestamp`: the SR's NTP time, in milliseconds since the Unix epoch.
    pub remote_timestamp: f64,
}

/// `RTCCodecStats`: one negotiated codec of a media section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCCodecStats {
    /// Entry id.
    pub id: String,
    /// The section's mid (not a W3C member; the id carries it too).
    pub mid: String,
    /// `payloadType`.
    pub payload_type: u8,
    /// `mimeType`: `audio/opus`, `video/VP8`...
    pub mime_type: String,
    /// `clockRate`.
    pub clock_rate: u32,
    /// `channels` (audio).
    pub channels: Option<u16>,
    /// `sdpFmtpLine`.
    pub sdp_fmtp_line: Option<String>,
    /// `transportId`.
    pub transport_id: String,
}

/// `RTCInboundRtpStreamStats`: one stream we receive.
#[derive(Debug, Clone, PartialEq)]
pub struct RTCInboundRtpStreamStats {
    /// Entry id.
    pub id: String,
    /// `ssrc`.
    pub ssrc: u32,
    /// `kind`: `audio` or `video`.
    pub kind: &'static str,
    /// `mid`.
    pub mid: String,
    /// `rid`.
    pub rid: Option<String>,
    /// `transportId`.
    pub transport_id: String,
    /// `packetsReceived`.
    pub packets_received: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `packetsLost`.
    pub packets_lost: i64,
    /// `jitter`, in seconds.
    pub jitter: f64,
    /// `framesDropped` (frames nobody took).
    pub frames_dropped: u64,
}

/// `RTCOutboundRtpStreamStats`: one stream we send.
#[derive(Debug, Clone, PartialEq)]
pub struct RTCOutboundRtpStreamStats {
    /// Entry id.
    pub id: String,
    /// `ssrc`.
    pub ssrc: u32,
    /// `rtxSsrc`.
    pub rtx_ssrc: Option<u32>,
    /// `kind`: `audio` or `video`.
    pub kind: &'static str,
    /// `mid`.
    pub mid: String,
    /// `rid`: the simulcast encoding, if any.
    pub rid: Option<String>,
    /// `transportId`.
    pub transport_id: String,
    /// `packetsSent`.
    pub packets_sent: u64,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `retransmittedPacketsSent`.
    pub retransmitted_packets_sent: u64,
    /// `retransmittedBytesSent`.
    pub retransmitted_bytes_sent: u64,
    /// `nackCount`.
    pub nack_count: u64,
    /// `pliCount`.
    pub pli_count: u64,
    /// `firCount`.
    pub fir_count: u64,
    /// The `remote-inbound-rtp` `roundTripTime`, in seconds, once measured.
    pub round_trip_time: Option<f64>,
}

/// The result of `getStats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RTCStatsReport {
    /// Every entry.
    pub entries: Vec<RTCStats>,
}

impl RTCStatsReport {
    /// The `peer-connection` entry.
    pub fn peer_connection(&self) -> Option<&RTCPeerConnectionStats> {
        self.entries.iter().find_map(|e| match e {
            RTCStats::PeerConnection(s) => Some(s),
            _ => None,
        })
    }

    /// The `transport` entry.
    pub fn transport(&self) -> Option<&RTCTransportStats> {
        self.entries.iter().find_map(|e| match e {
            RTCStats::Transport(s) => Some(s),
            _ => None,
        })
    }

    /// The `inbound-rtp` entries: the streams we receive.
    pub fn inbound_rtp(&self) -> impl Iterator<Item = &RTCInboundRtpStreamStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::InboundRtp(s) => Some(s),
            _ => None,
        })
    }

    /// The `outbound-rtp` entries: the streams we send.
    pub fn outbound_rtp(&self) -> impl Iterator<Item = &RTCOutboundRtpStreamStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::OutboundRtp(s) => Some(s),
            _ => None,
        })
    }

    /// The `remote-inbound-rtp` entries: the peer's reports on what we send.
    pub fn remote_inbound_rtp(&self) -> impl Iterator<Item = &RTCRemoteInboundRtpStreamStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::RemoteInboundRtp(s) => Some(s),
            _ => None,
        })
    }

    /// The `remote-outbound-rtp` entries: the peer's reports on what it sends.
    pub fn remote_outbound_rtp(&self) -> impl Iterator<Item = &RTCRemoteOutboundRtpStreamStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::RemoteOutboundRtp(s) => Some(s),
            _ => None,
        })
    }

    /// The `codec` entries.
    pub fn codecs(&self) -> impl Iterator<Item = &RTCCodecStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::Codec(s) => Some(s),
            _ => None,
        })
    }

    /// The selected `candidate-pair` entry.
    pub fn selected_candidate_pair(&self) -> Option<&RTCIceCandidatePairStats> {
        let id = self.transport()?.selected_candidate_pair_id.as_deref()?;
        self.entries.iter().find_map(|e| match e {
            RTCStats::CandidatePair(s) if s.id == id => Some(s),
            _ => None,
        })
    }

    /// The `data-channel` entries.
    pub fn data_channels(&self) -> impl Iterator<Item = &RTCDataChannelStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::DataChannel(s) => Some(s),
            _ => None,
        })
    }

    /// The `local-candidate` and `remote-candidate` entries, local first.
    pub fn candidates(&self) -> impl Iterator<Item = (&'static str, &RTCIceCandidateStats)> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::LocalCandidate(s) => Some(("local-candidate", s)),
            RTCStats::RemoteCandidate(s) => Some(("remote-candidate", s)),
            _ => None,
        })
    }

    /// The `sctp-transport` entry, once DTLS is up.
    pub fn sctp_transport(&self) -> Option<&RTCSctpTransportStats> {
        self.entries.iter().find_map(|e| match e {
            RTCStats::SctpTransport(s) => Some(s),
            _ => None,
        })
    }

    /// The `certificate` entries (ours first, then the peer's).
    pub fn certificates(&self) -> impl Iterator<Item = &RTCCertificateStats> {
        self.entries.iter().filter_map(|e| match e {
            RTCStats::Certificate(s) => Some(s),
            _ => None,
        })
    }
}

/// `RTCPeerConnectionStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCPeerConnectionStats {
    /// Entry id.
    pub id: String,
    /// `dataChannelsOpened`.
    pub data_channels_opened: u32,
    /// `dataChannelsClosed`.
    pub data_channels_closed: u32,
}

/// `RTCTransportStats`: the one ICE/DTLS transport everything is bundled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCTransportStats {
    /// Entry id.
    pub id: String,
    /// `bytesSent` (application bytes through the selected pair).
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `iceState`.
    pub ice_state: IceTransportState,
    /// `iceRole`: `controlling` or `controlled`.
    pub ice_role: &'static str,
    /// `dtlsState`: `new`, `connecting`, `connected`, `closed` or `failed`.
    pub dtls_state: &'static str,
    /// `selectedCandidatePairId`.
    pub selected_candidate_pair_id: Option<String>,
    /// `localCertificateId`.
    pub local_certificate_id: String,
    /// `remoteCertificateId`.
    pub remote_certificate_id: Option<String>,
}

/// `RTCIceCandidatePairStats` (the selected pair; oxrtc reports no others yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCIceCandidatePairStats {
    /// Entry id.
    pub id: String,
    /// `transportId`.
    pub transport_id: String,
    /// `localCandidateId`.
    pub local_candidate_id: String,
    /// `remoteCandidateId`.
    pub remote_candidate_id: String,
    /// `state`: `succeeded` for the selected pair.
    pub state: &'static str,
    /// `nominated`.
    pub nominated: bool,
    /// `currentRoundTripTime` of the last check or consent answer.
    pub current_round_trip_time: Option<Duration>,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `requestsSent` (connectivity checks, retransmissions included).
    pub requests_sent: u64,
    /// `requestsReceived`.
    pub requests_received: u64,
    /// `responsesSent` (every request received is answered).
    pub responses_sent: u64,
    /// `responsesReceived`.
    pub responses_received: u64,
}

/// `RTCIceCandidateStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCIceCandidateStats {
    /// Entry id.
    pub id: String,
    /// `transportId`.
    pub transport_id: String,
    /// `address` and `port`.
    pub address: SocketAddr,
    /// `protocol`: `udp` or `tcp`.
    pub protocol: &'static str,
    /// `candidateType`: `host`, `srflx`, `prflx` or `relay`.
    pub candidate_type: &'static str,
    /// `priority`.
    pub priority: u32,
}

/// `RTCCertificateStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCCertificateStats {
    /// Entry id.
    pub id: String,
    /// `fingerprint`: `AB:CD:...`.
    pub fingerprint: String,
    /// `fingerprintAlgorithm`: `sha-256`.
    pub fingerprint_algorithm: &'static str,
    /// `base64Certificate`: the DER, base64.
    pub base64_certificate: String,
}

/// `RTCSctpTransportStats`, with oxrtc's counters of the association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCSctpTransportStats {
    /// Entry id.
    pub id: String,
    /// `transportId`.
    pub transport_id: String,
    /// `smoothedRoundTripTime`.
    pub smoothed_round_trip_time: Duration,
    /// `congestionWindow`, bytes.
    pub congestion_window: usize,
    /// `receiverWindow`: the peer's, bytes.
    pub receiver_window: usize,
    /// `mtu`.
    pub mtu: usize,
    /// `unackData`: DATA chunks sent and not yet acknowledged.
    pub unack_data: usize,
    /// Every counter of the association (packets, retransmissions, timeouts...).
    pub association: sctp::Stats,
}

/// `RTCDataChannelStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCDataChannelStats {
    /// Entry id.
    pub id: String,
    /// `label`.
    pub label: String,
    /// `protocol`.
    pub protocol: String,
    /// `dataChannelIdentifier`: the SCTP stream id, once known.
    pub data_channel_identifier: Option<u16>,
    /// `state`.
    pub state: ReadyState,
    /// `messagesSent`.
    pub messages_sent: u64,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `messagesReceived`.
    pub messages_received: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
}

/// Renders what the core reports as W3C entries, linked by id as a
/// browser links them.
pub(crate) fn report(st: &peer::PeerStats) -> RTCStatsReport {
    let mut entries = vec![RTCStats::PeerConnection(RTCPeerConnectionStats {
        id: "P".into(),
        data_channels_opened: st.channels_opened,
        data_channels_closed: st.channels_closed,
    })];
    let fp = |der: &[u8]| dtls::Fingerprint::of_der(dtls::Algorithm::Sha256, der).value;
    let certificate = |id: &str, der: &[u8]| {
        RTCStats::Certificate(RTCCertificateStats {
            id: id.into(),
            fingerprint: fp(der),
            fingerprint_algorithm: "sha-256",
            base64_certificate: base64(der),
        })
    };
    entries.push(certificate("CF-local", &st.local_certificate_der));
    if let Some(der) = &st.remote_certificate_der {
        entries.push(certificate("CF-remote", der));
    }
    let candidate = |id: &str, c: &ice::Candidate| RTCIceCandidateStats {
        id: id.into(),
        transport_id: "T".into(),
        address: c.address,
        protocol: if c.protocol == ice::Protocol::Udp { "udp" } else { "tcp" },
        candidate_type: candidate_type(c.kind),
        priority: c.priority,
    };
    let ice = &st.ice;
    if let Some((l, r)) = &st.selected_pair {
        entries.push(RTCStats::LocalCandidate(candidate("I-local", l)));
        entries.push(RTCStats::RemoteCandidate(candidate("I-remote", r)));
        entries.push(RTCStats::CandidatePair(RTCIceCandidatePairStats {
            id: "CP".into(),
            transport_id: "T".into(),
            local_candidate_id: "I-local".into(),
            remote_candidate_id: "I-remote".into(),
            state: "succeeded",
            nominated: true,
            current_round_trip_time: ice.rtt,
            bytes_sent: ice.bytes_sent,
            bytes_received: ice.bytes_received,
            requests_sent: ice.checks_sent + ice.check_retransmits,
            requests_received: ice.checks_received,
            responses_sent: ice.checks_received,
            responses_received: ice.responses_received,
        }));
    }
    entries.push(RTCStats::Transport(RTCTransportStats {
        id: "T".into(),
        bytes_sent: ice.bytes_sent,
        bytes_received: ice.bytes_received,
        ice_state: st.ice_state,
        ice_role: if st.ice_controlling { "controlling" } else { "controlled" },
        dtls_state: st.dtls_state.as_str(),
        selected_candidate_pair_id: st.selected_pair.as_ref().map(|_| "CP".into()),
        local_certificate_id: "CF-local".into(),
        remote_certificate_id: st.remote_certificate_der.as_ref().map(|_| "CF-remote".into()),
    }));
    if let Some(sctp) = &st.sctp {
        entries.push(RTCStats::SctpTransport(RTCSctpTransportStats {
            id: "S".into(),
            transport_id: "T".into(),
            smoothed_round_trip_time: sctp.srtt,
            congestion_window: sctp.cwnd,
            receiver_window: sctp.peer_rwnd,
            mtu: 1200,
            unack_data: sctp.outstanding_chunks,
            association: sctp.clone(),
        }));
    }
    for c in &st.channels {
        entries.push(RTCStats::DataChannel(RTCDataChannelStats {
            id: format!("D{}", c.handle.0),
            label: c.info.as_ref().map(|i| i.label.clone()).unwrap_or_default(),
            protocol: c.info.as_ref().map(|i| i.protocol.clone()).unwrap_or_default(),
            data_channel_identifier: c.info.as_ref().and_then(|i| i.id),
            state: c.state,
            messages_sent: c.messages_sent,
            bytes_sent: c.bytes_sent,
            messages_received: c.messages_received,
            bytes_received: c.bytes_received,
        }));
    }
    let kind = |k: rtp::session::send::MediaKind| match k {
        rtp::session::send::MediaKind::Audio => "audio",
        rtp::session::send::MediaKind::Video => "video",
    };
    for r in &st.rtp_streams {
        let entry = match r.clone() {
            rtp::session::StreamStats::Inbound {
                mid,
                ssrc,
                rid,
                kind: k,
                packets_received,
                bytes_received,
                packets_lost,
                jitter,
                frames_dropped,
                remote_sender,
            } => {
                if let Some(sr) = remote_sender {
                    // NTP counts from 1900; the Unix epoch is 2,208,988,800 s later.
                    let ntp_secs = (sr.ntp_time >> 32) as f64 + (sr.ntp_time & 0xffff_ffff) as f64 / 4_294_967_296.0;
                    entries.push(RTCStats::RemoteOutboundRtp(RTCRemoteOutboundRtpStreamStats {
                        id: format!("ROA{ssrc}"),
                        ssrc,
                        kind: kind(k),
                        local_id: format!("IT{ssrc}"),
                        transport_id: "T".into(),
                        packets_sent: u64::from(sr.packet_count),
                        bytes_sent: u64::from(sr.octet_count),
                        remote_timestamp: (ntp_secs - 2_208_988_800.0) * 1000.0,
                    }));
                }
                RTCStats::InboundRtp(RTCInboundRtpStreamStats {
                    id: format!("IT{ssrc}"),
                    ssrc,
                    kind: kind(k),
                    mid,
                    rid,
                    transport_id: "T".into(),
                    packets_received,
                    bytes_received,
                    packets_lost,
                    jitter: jitter.as_secs_f64(),
                    frames_dropped,
                })
            }
            rtp::session::StreamStats::Outbound {
                mid,
                ssrc,
                rid,
                rtx_ssrc,
                kind: k,
                packets_sent,
                bytes_sent,
                retransmitted_packets_sent,
                retransmitted_bytes_sent,
                nack_count,
                pli_count,
                fir_count,
                round_trip_time,
                round_trip_time_measurements,
                remote,
            } => {
                if let Some(r) = remote {
                    entries.push(RTCStats::RemoteInboundRtp(RTCRemoteInboundRtpStreamStats {
                        id: format!("RIA{ssrc}"),
                        ssrc,
                        kind: kind(k),
                        local_id: format!("OT{ssrc}"),
                        transport_id: "T".into(),
                        packets_lost: r.packets_lost,
                        fraction_lost: f64::from(r.fraction_lost) / 256.0,
                        jitter: r.jitter.as_secs_f64(),
                        round_trip_time: round_trip_time.map(|d| d.as_secs_f64()),
                        round_trip_time_measurements,
                        reports_received: r.reports,
                    }));
                }
                RTCStats::OutboundRtp(RTCOutboundRtpStreamStats {
                    id: format!("OT{ssrc}"),
                    ssrc,
                    rtx_ssrc,
                    kind: kind(k),
                    mid,
                    rid,
                    transport_id: "T".into(),
                    packets_sent,
                    bytes_sent,
                    retransmitted_packets_sent,
                    retransmitted_bytes_sent,
                    nack_count,
                    pli_count,
                    fir_count,
                    round_trip_time: round_trip_time.map(|d| d.as_secs_f64()),
                })
            }
        };
        entries.push(entry);
    }
    for section in &st.rtp_codecs {
        for c in &section.codecs {
            entries.push(RTCStats::Codec(RTCCodecStats {
                id: format!("CIT{}_{}", section.mid, c.payload_type),
                mid: section.mid.clone(),
                payload_type: c.payload_type,
                mime_type: format!("{}/{}", kind(section.kind), c.name),
                clock_rate: c.clock_rate,
                channels: c.channels,
                sdp_fmtp_line: c.fmtp.clone(),
                transport_id: "T".into(),
            }));
        }
    }
    RTCStatsReport { entries }
}

pub(crate) fn candidate_type(kind: CandidateKind) -> &'static str {
    match kind {
        CandidateKind::Host => "host",
        CandidateKind::ServerReflexive => "srflx",
        CandidateKind::PeerReflexive => "prflx",
        CandidateKind::Relayed => "relay",
    }
}

/// Standard base64 (RFC 4648) with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        out.push(A[(n >> 18) as usize & 63] as char);
        out.push(A[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { A[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { A[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(super::base64(i.as_bytes()), o);
        }
    }
}
