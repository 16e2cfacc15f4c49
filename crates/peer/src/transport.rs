//! [`Transport`]: the secure transport every WebRTC session runs on, as one
//! sans-IO part.
//!
//! An ICE agent finds the path; on the selected pair datagrams are told
//! apart by their first byte (RFC 7983): DTLS goes to the DTLS engine, SRTP
//! and SRTCP to the two SRTP contexts keyed by the handshake (RFC 5764), and
//! DTLS application data to the SCTP association of the data channels when
//! one is attached. The plumbing between them lives here and nowhere else:
//! DTLS datagrams that arrive before DTLS is started are kept, DTLS output
//! waits for a selected pair instead of a retransmission timeout, and
//! both ends' association connects once DTLS is up.
//!
//! Both faces of oxrtc use it: [`PeerConnection`](crate::PeerConnection)
//! starts its parts as negotiation decides, and the ORTC objects of the
//! facade (`IceTransport`, `DtlsTransport`, `SctpTransport`) start them as
//! their caller asks.
//!
//! The contract is the engines' one: time is an argument; after every call
//! drain [`poll_transmit`](Transport::poll_transmit) and
//! [`poll_event`](Transport::poll_event), then re-read
//! [`poll_timeout`](Transport::poll_timeout). Network noise (garbage,
//! replays, SRTP that fails authentication, SRTP before keys) is dropped and
//! counted in [`TransportStats`], never reported as an error.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use datachannel::{DataChannelEvent, DataChannels};
use dtls::{DtlsConfig, DtlsError, DtlsEvent};
use ice::{IceAgent, IceEvent, Received, Transmit, TurnTransport};
use srtp::{Profile, SrtpContext};
use tracing::debug;

use crate::config::DtlsTransportState;

/// DTLS datagrams kept while DTLS is not started yet (the peer's
/// ClientHello can beat our own set-up), and DTLS datagrams of ours kept
/// while ICE has no pair.
pub const EARLY_DATAGRAMS: usize = 32;

/// What the transport reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // rare control events next to small packet variants
pub enum TransportEvent {
    /// An event of the ICE agent (candidate, state, selected pair...).
    Ice(IceEvent),
    /// A datagram on the selected pair while no DTLS is started, when
    /// [`Transport::deliver_datagrams`] asked for them (ORTC `IceTransport`).
    Datagram(Vec<u8>),
    /// DTLS connected and the peer's certificate matched a remote
    /// fingerprint.
    DtlsConnected {
        /// The negotiated SRTP profile (RTP can flow); `None` when DTLS-SRTP
        /// was not negotiated.
        srtp_profile: Option<Profile>,
        /// The peer's certificate, DER.
        remote_certificate_der: Vec<u8>,
    },
    /// DTLS application data (one record) while no SCTP association is
    /// attached.
    DtlsData(Vec<u8>),
    /// close_notify sent or received. Final for DTLS.
    DtlsClosed,
    /// DTLS failed (wrong fingerprint, handshake timeout, protocol error).
    /// Final for DTLS.
    DtlsFailed(DtlsError),
    /// An RTP packet, authenticated and decrypted.
    Rtp(Vec<u8>),
    /// An RTCP compound packet, authenticated and decrypted.
    Rtcp(Vec<u8>),
    /// An event of the attached data channels.
    Channel(DataChannelEvent),
}

/// Counters of the transport's own work (the engines keep theirs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Datagrams dropped: SRTP before keys or failing authentication,
    /// replays, first bytes of no known protocol, DTLS before DTLS started
    /// past [`EARLY_DATAGRAMS`].
    pub dropped: u64,
    /// RTP packets unprotected and delivered.
    pub rtp_received: u64,
    /// RTCP packets unprotected and delivered.
    pub rtcp_received: u64,
    /// RTP packets protected and sent.
    pub rtp_sent: u64,
    /// RTCP packets protected and sent.
    pub rtcp_sent: u64,
}

/// Why an RTP or RTCP packet was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SrtpSendError {
    /// DTLS is not connected, or negotiated no SRTP profile.
    #[error("no SRTP keys: wait for DTLS to connect with an SRTP profile before sending RTP or RTCP")]
    NoKeys,
    /// The packet does not parse as RTP/RTCP, or its SSRC limit is reached.
    #[error(transparent)]
    Srtp(#[from] srtp::SrtpError),
}

struct Srtp {
    tx: SrtpContext,
    rx: SrtpContext,
}

/// ICE, DTLS, SRTP/SRTCP and SCTP composed once: DTLS is demultiplexed from SRTP by first byte (RFC 7983), early DTLS is kept, DTLS output waits for a pair, both ends start SCTP once DTLS is up.
pub struct Transport {
    ice: IceAgent,
    deliver_datagrams: bool,
    dtls: Option<dtls::DtlsTransport>,
    dtls_state: DtlsTransportState,
    srtp_profile: Option<Profile>,
    srtp: Option<Srtp>,
    remote_certificate: Option<Vec<u8>>,
    sctp: Option<DataChannels>,
    early_in: Vec<Vec<u8>>,
    early_out: VecDeque<Vec<u8>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransportEvent>,
    stats: TransportStats,
    /// The data channels were used through `channels_mut`: drive at the
    /// next poll (at this time), so that back-to-back sends share packets.
    pending: Option<Instant>,
}

impl Transport {
    /// A transport on `ice` (not gathering yet: call
    /// [`start_gathering`](Self::start_gathering)).
    pub fn new(ice: IceAgent) -> Self {
        Transport {
            ice,
            deliver_datagrams: false,
            dtls: None,
            dtls_state: DtlsTransportState::New,
            srtp_profile: None,
            srtp: None,
            remote_certificate: None,
            sctp: None,
            early_in: Vec::new(),
            early_out: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TransportStats::default(),
            pending: None,
        }
    }

    /// Delivers datagrams of the selected pair as
    /// [`TransportEvent::Datagram`] while no DTLS is started (the ORTC
    /// `IceTransport` used alone). Off by default.
    pub fn deliver_datagrams(&mut self, on: bool) {
        self.deliver_datagrams = on;
    }

    // ---- ICE ----

    /// The ICE agent (credentials, candidates, selected pair, stats).
    pub fn ice(&self) -> &IceAgent {
        &self.ice
    }

    /// The ICE agent, to apply signaling (remote credentials and candidates,
    /// roles, restart). Drain the transport's output afterwards.
    pub fn ice_mut(&mut self) -> &mut IceAgent {
        &mut self.ice
    }

    /// Starts gathering on the local sockets `hosts`.
    pub fn start_gathering(&mut self, now: Instant, hosts: &[SocketAddr]) {
        self.ice.start_gathering(now, hosts);
        self.drive(now);
    }

    /// The TURN servers to reach over TCP or TLS (open one connection each).
    pub fn turn_streams(&self) -> Vec<(SocketAddr, TurnTransport)> {
        self.ice.turn_streams()
    }

    /// A TCP/TLS connection to a TURN server failed.
    pub fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, reason: &str) {
        self.ice.turn_stream_failed(now, server, transport, reason);
        self.drive(now);
    }

    // ---- DTLS and SRTP ----

    /// Starts DTLS (role, certificate, remote fingerprints in `config`). A
    /// client's first flight leaves once ICE has a pair; DTLS datagrams the
    /// peer sent before this call are processed now.
    ///
    /// Fails when DTLS is already started or on a configuration error (see
    /// [`dtls::DtlsTransport::new`]); the state becomes `Failed` only in the
    /// second case.
    pub fn start_dtls(&mut self, now: Instant, config: DtlsConfig) -> Result<(), DtlsError> {
        if self.dtls.is_some() {
            return Err(DtlsError::InvalidConfig("DTLS is already started on this transport".into()));
        }
        match dtls::DtlsTransport::new(now, config) {
            Ok(mut t) => {
                for d in self.early_in.drain(..) {
                    t.handle_receive(now, &d);
                }
                self.dtls = Some(t);
                self.dtls_state = DtlsTransportState::Connecting;
                self.drive(now);
                Ok(())
            }
            Err(e) => {
                self.dtls_state = DtlsTransportState::Failed;
                Err(e)
            }
        }
    }

    /// Whether DTLS is started.
    pub fn dtls_started(&self) -> bool {
        self.dtls.is_some()
    }

    /// The DTLS role, once started.
    pub fn dtls_role(&self) -> Option<dtls::Role> {
        self.dtls.as_ref().map(|d| d.role())
    }

    /// The W3C `RTCDtlsTransport.state`.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.dtls_state
    }

    /// The peer's certificate (DER), once DTLS is connected.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// The SRTP profile negotiated by DTLS, once connected.
    pub fn srtp_profile(&self) -> Option<Profile> {
        self.srtp_profile
    }

    /// Sends `data` as one DTLS record. Fails before DTLS is connected or
    /// after it closed.
    pub fn send_dtls(&mut self, now: Instant, data: &[u8]) -> Result<(), DtlsError> {
        let d = self.dtls.as_mut().ok_or(DtlsError::NotConnected)?;
        d.send(data)?;
        self.drive(now);
        Ok(())
    }

    /// Sends a datagram as it is on the selected pair (no DTLS). Fails when
    /// ICE has no pair.
    pub fn send_datagram(&mut self, data: &[u8]) -> Result<(), ice::IceError> {
        let t = self.ice.send(data)?;
        self.transmits.push_back(t);
        Ok(())
    }

    /// Protects an RTP packet (`rtcp == false`) or an RTCP compound packet
    /// and sends it. Fails before DTLS-SRTP keys exist or when the packet
    /// does not parse.
    pub fn send_srtp(&mut self, packet: &[u8], rtcp: bool) -> Result<(), SrtpSendError> {
        let Some(s) = self.srtp.as_mut() else {
            return Err(SrtpSendError::NoKeys);
        };
        let mut out = Vec::with_capacity(packet.len() + 32);
        if rtcp {
            s.tx.protect_rtcp(packet, &mut out)?;
            self.stats.rtcp_sent += 1;
        } else {
            s.tx.protect_rtp(packet, &mut out)?;
            self.stats.rtp_sent += 1;
        }
        self.send_on_pair(out);
        Ok(())
    }

    // ---- SCTP ----

    /// Attaches data channels over an SCTP association; it connects once
    /// DTLS is up. Fails when one is attached already.
    pub fn attach_sctp(
        &mut self,
        now: Instant,
        config: sctp::SctpConfig,
        limits: datachannel::ChannelLimits,
    ) -> Result<(), DtlsError> {
        if self.sctp.is_some() {
            return Err(DtlsError::InvalidConfig("an SCTP association is already attached".into()));
        }
        let Some(role) = self.dtls_role() else {
            return Err(DtlsError::InvalidConfig(
                "start DTLS before attaching SCTP (the DTLS role picks the stream ids)".into(),
            ));
        };
        let client = role == dtls::Role::Client;
        let mut dc = DataChannels::new(sctp::Association::new(now, config), client);
        dc.set_limits(limits);
        if self.dtls_state == DtlsTransportState::Connected {
            connect_sctp(&mut dc, now);
        }
        self.sctp = Some(dc);
        self.drive(now);
        Ok(())
    }

    /// The attached data channels.
    pub fn channels(&self) -> Option<&DataChannels> {
        self.sctp.as_ref()
    }

    /// The attached data channels at `now`, to create, send on and close
    /// channels. Their packets are made at the next poll or input, so that
    /// back-to-back messages share packets.
    pub fn channels_mut(&mut self, now: Instant) -> Option<&mut DataChannels> {
        if self.sctp.is_some() {
            self.pending = Some(now);
        }
        self.sctp.as_mut()
    }

    // ---- I/O ----

    /// A datagram received on local socket `local` from `source`.
    pub fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        if let Received::Data(d) = self.ice.handle_receive(now, local, source, data) {
            let d = d.to_vec();
            self.on_datagram(now, d);
        }
        self.drive(now);
    }

    /// A frame from a TURN server reached over TCP or TLS.
    pub fn handle_stream_frame(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, frame: &[u8]) {
        if let Received::Data(d) = self.ice.handle_stream_frame(now, server, transport, frame) {
            let d = d.to_vec();
            self.on_datagram(now, d);
        }
        self.drive(now);
    }

    fn on_datagram(&mut self, now: Instant, d: Vec<u8>) {
        match stun::classify(&d) {
            stun::PacketKind::Dtls => match &mut self.dtls {
                Some(t) => t.handle_receive(now, &d),
                None => {
                    if self.early_in.len() < EARLY_DATAGRAMS {
                        self.early_in.push(d.clone());
                    } else {
                        self.drop_one("DTLS before DTLS started, past the early buffer");
                    }
                    if self.deliver_datagrams {
                        self.events.push_back(TransportEvent::Datagram(d));
                    }
                }
            },
            kind @ (stun::PacketKind::Rtp | stun::PacketKind::Rtcp) => {
                let rtcp = kind == stun::PacketKind::Rtcp;
                let Some(s) = self.srtp.as_mut() else {
                    if self.deliver_datagrams && self.dtls.is_none() {
                        self.events.push_back(TransportEvent::Datagram(d));
                    } else {
                        self.drop_one("SRTP before keys");
                    }
                    return;
                };
                let mut out = Vec::with_capacity(d.len());
                let r = if rtcp { s.rx.unprotect_rtcp(&d, &mut out) } else { s.rx.unprotect_rtp(&d, &mut out) };
                match r {
                    Ok(()) if rtcp => {
                        self.stats.rtcp_received += 1;
                        self.events.push_back(TransportEvent::Rtcp(out));
                    }
                    Ok(()) => {
                        self.stats.rtp_received += 1;
                        self.events.push_back(TransportEvent::Rtp(out));
                    }
                    Err(e) => self.drop_one(&e.to_string()),
                }
            }
            _ => {
                if self.deliver_datagrams && self.dtls.is_none() {
                    self.events.push_back(TransportEvent::Datagram(d));
                } else {
                    self.drop_one("not DTLS, SRTP or SRTCP");
                }
            }
        }
    }

    fn drop_one(&mut self, why: &str) {
        self.stats.dropped += 1;
        if self.stats.dropped.is_power_of_two() {
            debug!(dropped = self.stats.dropped, why, "datagram dropped");
        }
    }

    /// Call when [`poll_timeout`](Self::poll_timeout) is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ice.handle_timeout(now);
        if let Some(d) = &mut self.dtls {
            d.handle_timeout(now);
        }
        if let Some(dc) = &mut self.sctp {
            dc.handle_timeout(now);
        }
        self.drive(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.pending,
            self.ice.poll_timeout(),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.sctp.as_ref().and_then(|c| c.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(asked) = self.pending {
            self.drive(now.max(asked));
        }
        self.transmits.pop_front().or_else(|| self.ice.poll_transmit(now))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<TransportEvent> {
        if let Some(now) = self.pending {
            self.drive(now);
        }
        // ICE events of calls made through `ice_mut` come straight out.
        self.events.pop_front().or_else(|| self.ice.poll_event().map(TransportEvent::Ice))
    }

    /// Our counters.
    pub fn stats(&self) -> TransportStats {
        self.stats
    }

    /// Closes everything: the association aborts, DTLS sends close_notify,
    /// ICE stops (TURN allocations released). Drain
    /// [`poll_transmit`](Self::poll_transmit) once more.
    pub fn close(&mut self, now: Instant) {
        if let Some(dc) = &mut self.sctp {
            dc.abort(now);
        }
        self.drive(now);
        self.sctp = None;
        if let Some(d) = &mut self.dtls {
            d.close(now);
        }
        self.drive(now);
        self.ice.close(now);
        if self.dtls_state != DtlsTransportState::Failed {
            self.dtls_state = DtlsTransportState::Closed;
        }
    }

    /// Moves output between the engines until none has anything more.
    fn drive(&mut self, now: Instant) {
        self.pending = None;
        for _ in 0..16 {
            let mut busy = false;
            while let Some(e) = self.ice.poll_event() {
                self.events.push_back(TransportEvent::Ice(e));
            }
            while let Some(e) = self.dtls.as_mut().and_then(|d| d.poll_event()) {
                busy = true;
                self.on_dtls_event(now, e);
            }
            if let Some(dc) = &mut self.sctp {
                while let Some(p) = dc.poll_transmit(now) {
                    busy = true;
                    if let Some(d) = &mut self.dtls {
                        if let Err(e) = d.send(&p) {
                            debug!(error = %e, "SCTP packet dropped");
                        }
                    }
                }
                while let Some(e) = dc.poll_event() {
                    busy = true;
                    self.events.push_back(TransportEvent::Channel(e));
                }
            }
            busy |= self.flush_dtls(now);
            if !busy {
                break;
            }
        }
    }

    /// DTLS datagrams to ICE (held while ICE has no pair).
    fn flush_dtls(&mut self, now: Instant) -> bool {
        let mut busy = false;
        let paired = self.ice.selected_pair().is_some();
        if let Some(d) = &mut self.dtls {
            while let Some(t) = d.poll_transmit(now) {
                busy = true;
                // Only what waits for a pair is capped: with a pair every
                // datagram goes out (SCTP's windows bound the burst).
                if paired || self.early_out.len() < EARLY_DATAGRAMS {
                    self.early_out.push_back(t);
                }
            }
        }
        if paired {
            while let Some(d) = self.early_out.pop_front() {
                self.send_on_pair(d);
            }
        }
        busy
    }

    fn send_on_pair(&mut self, d: Vec<u8>) {
        match self.ice.send(&d) {
            Ok(t) => self.transmits.push_back(t),
            Err(e) => debug!(error = %e, "datagram dropped"),
        }
    }

    fn on_dtls_event(&mut self, now: Instant, e: DtlsEvent) {
        match e {
            DtlsEvent::Connected { srtp, remote_certificate_der } => {
                let profile = srtp.as_ref().and_then(|k| Profile::from_id(k.profile));
                if let (Some(keys), Some(profile)) = (srtp, profile) {
                    let config = srtp::Config::default();
                    let tx = SrtpContext::new(profile, &keys.local_key, &keys.local_salt, config.clone());
                    let rx = SrtpContext::new(profile, &keys.remote_key, &keys.remote_salt, config);
                    match (tx, rx) {
                        (Ok(tx), Ok(rx)) => {
                            self.srtp = Some(Srtp { tx, rx });
                            self.srtp_profile = Some(profile);
                        }
                        (Err(e), _) | (_, Err(e)) => debug!(error = %e, "SRTP contexts not created"),
                    }
                }
                self.dtls_state = DtlsTransportState::Connected;
                self.remote_certificate = Some(remote_certificate_der.clone());
                if let Some(dc) = &mut self.sctp {
                    connect_sctp(dc, now);
                }
                self.events.push_back(TransportEvent::DtlsConnected {
                    srtp_profile: self.srtp_profile,
                    remote_certificate_der,
                });
            }
            DtlsEvent::Data(d) => match &mut self.sctp {
                // The record's buffer becomes the messages' (no copy).
                Some(dc) => dc.handle_receive_bytes(now, Bytes::from(d)),
                None => self.events.push_back(TransportEvent::DtlsData(d)),
            },
            DtlsEvent::Closed => {
                self.dtls_state = DtlsTransportState::Closed;
                self.events.push_back(TransportEvent::DtlsClosed);
                // Nothing can carry SCTP any more: its channels close now,
                // not when its retransmissions give up.
                if let Some(dc) = &mut self.sctp {
                    if !dc.association().is_closed() {
                        dc.abort(now);
                    }
                }
            }
            DtlsEvent::Failed(e) => {
                self.dtls_state = DtlsTransportState::Failed;
                self.events.push_back(TransportEvent::DtlsFailed(e));
            }
        }
    }
}

/// Starts the association once DTLS is up. Both ends send INIT whatever
/// their DTLS role, as libwebrtc and Pion do: a peer that waits for ours
/// (werift when ICE-controlled) connects, and SCTP resolves the collision
/// when both start (RFC 9260 5.2).
fn connect_sctp(dc: &mut DataChannels, now: Instant) {
    dc.connect(now);
}
