//! [`PeerConnection`]: the coordinator. JSEP decides (the
//! [`Negotiation`](crate::negotiation::Negotiation) part), the
//! [`Transport`] carries, the data channels part maps handles to streams;
//! this file only routes between them.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use datachannel::{ChannelInfo, ChannelInit, ReadyState};
use ice::{Candidate, GatheringState, IceAgent, IceEvent, IceTransportState, Transmit, TurnTransport};
use rand::{Rng, SeedableRng};
use sdp::Setup;

use crate::config::{
    ChannelHandle, DtlsTransportState, IceCandidate, PeerConfig, PeerConnectionState, PeerEvent, PeerWarning,
    SctpTransportState, SdpType, SessionDescription, SignalingState,
};
use crate::data::DataPart;
use crate::jsep::{self, LocalTransport, RemoteTransport};
use crate::negotiation::{Applied, Negotiation};
use crate::stats::PeerStats;
use crate::transceivers::{MediaPart, TransceiverId, TransceiverInfo};
use crate::transport::{Transport, TransportEvent};
use crate::PeerError;

/// Frame events that wait for [`PeerConnection::poll_event`] at most.
pub const MAX_QUEUED_FRAMES: usize = 1024;

/// A WebRTC peer connection as a sans-IO state machine: the JSEP
/// offer/answer state machine (W3C signaling states, BUNDLE, rollback,
/// rejected sections, ICE restart) driving the secure [`Transport`] and
/// the data channels over SCTP. See the [crate docs](crate) for the loop
/// that drives it.
pub struct PeerConnection {
    config: PeerConfig,
    certificate: dtls::Certificate,
    fingerprint: sdp::Fingerprint,
    hosts: Vec<SocketAddr>,
    rng: rand::rngs::StdRng,

    /// Signaling state, descriptions, sections.
    jsep: Negotiation,
    /// ICE + DTLS + SRTP + SCTP.
    transport: Transport,
    /// The peer's transport parameters as applied to the transport.
    remote: Option<RemoteTransport>,
    /// Those of a remote offer not answered yet (applied with our answer,
    /// dropped with a rollback).
    offered_remote: Option<RemoteTransport>,
    /// Candidates trickled while `offered_remote` waits.
    offered_candidates: Vec<Option<Candidate>>,
    dtls_role: Option<dtls::Role>,
    ice: IceSide,
    data: DataPart,
    media: MediaPart,
    /// The RTP session of every audio and video section (BUNDLE: one),
    /// made with the first negotiated media section.
    rtp: Option<rtp::session::rtc::Session>,
    /// Frame events waiting in `events`: at most [`MAX_QUEUED_FRAMES`]; the
    /// newest are dropped past it (a caller that drives I/O but does not
    /// poll events must not grow memory).
    queued_frames: usize,
    /// The mids our last created offer gave transceivers (by index),
    /// applied when that offer is set.
    offer_mids: Vec<(usize, String)>,

    state: PeerConnectionState,
    /// The DTLS and SCTP transport states last announced.
    dtls_state: DtlsTransportState,
    sctp_state: Option<SctpTransportState>,
    events: VecDeque<PeerEvent>,
    /// Sends are packetized at the next poll (at this time).
    pending_drive: Option<Instant>,
}

/// What the W3C API reports of ICE, as it changes.
#[derive(Default)]
struct IceSide {
    started: bool,
    state: Option<IceTransportState>,
    gathering: Option<GatheringState>,
    local_candidates: Vec<String>,
}

impl IceSide {
    fn state(&self) -> IceTransportState {
        self.state.unwrap_or(IceTransportState::New)
    }
    fn gathering(&self) -> GatheringState {
        self.gathering.unwrap_or(GatheringState::New)
    }
}

impl PeerConnection {
    /// A connection that will gather on `hosts` (the local sockets the
    /// caller bound, already filtered by interface and port range) once a
    /// local description is set.
    pub fn new(config: PeerConfig, hosts: Vec<SocketAddr>) -> Result<Self, PeerError> {
        let certificate = match &config.certificate {
            Some(c) => c.clone(),
            None => dtls::Certificate::generate().map_err(PeerError::Dtls)?,
        };
        let fingerprint =
            sdp::Fingerprint { algorithm: "sha-256".into(), value: certificate.fingerprint(dtls::Algorithm::Sha256) };
        let mut rng = match config.seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::rngs::StdRng::from_entropy(),
        };
        let mut ice_config = config.ice.clone();
        if ice_config.seed.is_none() {
            ice_config.seed = Some(rng.gen());
        }
        let session_id = rng.gen_range(1..i64::MAX as u64);
        let cname: String = (0..16).map(|_| char::from(b'a' + rng.gen_range(0..26u8))).collect();
        let media = MediaPart::new(config.media.clone(), cname);
        Ok(PeerConnection {
            transport: Transport::new(IceAgent::new(ice_config, true)),
            config,
            certificate,
            fingerprint,
            hosts,
            rng,
            jsep: Negotiation::new(session_id),
            remote: None,
            offered_remote: None,
            offered_candidates: Vec::new(),
            dtls_role: None,
            ice: IceSide::default(),
            data: DataPart::default(),
            media,
            rtp: None,
            queued_frames: 0,
            offer_mids: Vec::new(),
            state: PeerConnectionState::New,
            dtls_state: DtlsTransportState::New,
            sctp_state: None,
            events: VecDeque::new(),
            pending_drive: None,
        })
    }

    // ---- states and descriptions ----

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.jsep.signaling
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceTransportState {
        self.ice.state()
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> GatheringState {
        self.ice.gathering()
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }

    /// The largest message the peer accepts: its `a=max-message-size`
    /// (64 KiB when it gave none, RFC 8841); `None` before its description
    /// is applied or when it sets no limit.
    pub fn remote_max_message_size(&self) -> Option<usize> {
        self.remote.as_ref().and_then(|r| r.max_message_size)
    }

    /// The W3C `RTCDtlsTransport.state`.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.transport.dtls_state()
    }

    /// Our certificate.
    pub fn certificate(&self) -> &dtls::Certificate {
        &self.certificate
    }

    /// The peer's DTLS certificate (DER), once DTLS is connected.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.transport.remote_certificate()
    }

    /// What `getStats` reports, read from every part at `now`.
    pub fn stats(&self, now: Instant) -> PeerStats {
        crate::stats::collect(now, self)
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `localDescription`: the pending one if any, else the current one,
    /// with the candidates gathered so far.
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.jsep.local().map(|a| self.with_candidates(a))
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.jsep.current_local.as_ref().map(|a| self.with_candidates(a))
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.jsep.pending_local.as_ref().map(|a| self.with_candidates(a))
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.jsep.remote().map(|a| a.desc.clone())
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.jsep.current_remote.as_ref().map(|a| a.desc.clone())
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.jsep.pending_remote.as_ref().map(|a| a.desc.clone())
    }

    fn with_candidates(&self, a: &Applied) -> SessionDescription {
        let mut parsed = a.parsed.clone();
        let complete = self.ice.gathering() == GatheringState::Complete;
        for m in parsed.media.iter_mut().filter(|m| m.port != 0) {
            for c in &self.ice.local_candidates {
                m.add_candidate(c);
            }
            if complete && !m.end_of_candidates() {
                m.set_end_of_candidates(true);
            }
        }
        SessionDescription { kind: a.desc.kind, sdp: parsed.to_string() }
    }

    // ---- JSEP ----

    fn local_transport<'a>(&'a self, setup: Setup, restart: Option<&'a ice::Credentials>) -> LocalTransport<'a> {
        let creds = restart.unwrap_or(self.transport.ice().local_credentials());
        LocalTransport {
            ufrag: &creds.ufrag,
            pwd: &creds.pwd,
            fingerprint: &self.fingerprint,
            setup,
            // A restart offer's candidates come after the restart, by trickle.
            candidates: if restart.is_some() { &[] } else { &self.ice.local_candidates },
            end_of_candidates: restart.is_none() && self.ice.gathering() == GatheringState::Complete,
            ice_lite: self.config.ice.lite,
            max_message_size: self.config.max_message_size,
        }
    }

    fn our_setup(&self) -> Option<Setup> {
        self.dtls_role.map(|r| match r {
            dtls::Role::Client => Setup::Active,
            dtls::Role::Server => Setup::Passive,
        })
    }

    /// `createOffer`. `ice_restart` asks for new ICE credentials (as
    /// [`restart_ice`](Self::restart_ice) does).
    pub fn create_offer(&mut self, now: Instant, ice_restart: bool) -> Result<SessionDescription, PeerError> {
        let _ = now;
        self.jsep.check_can_offer()?;
        let taken: Vec<String> = self.jsep.sections.iter().map(|s| s.mid.clone()).collect();
        let media = self.media.offer_sections(&taken);
        self.offer_mids = media.iter().map(|(i, mid, _, _)| (*i, mid.clone())).collect();
        let sections = self.jsep.offer_sections(self.data.wanted, &media);
        let restart = ((ice_restart || self.jsep.restart_pending) && self.ice.started)
            .then(|| self.transport.ice_mut().new_credentials());
        let setup = self.our_setup().unwrap_or(Setup::Actpass);
        let version = self.jsep.next_version();
        let transport = self.local_transport(setup, restart.as_ref());
        let sdp = jsep::write(self.jsep.session_id, version, &sections, true, &transport).to_string();
        self.jsep.last_offer = Some((sdp.clone(), sections, restart));
        Ok(SessionDescription::offer(sdp))
    }

    /// `createAnswer`.
    pub fn create_answer(&mut self) -> Result<SessionDescription, PeerError> {
        self.jsep.check_can_answer()?;
        let sections = self.jsep.pending_sections.clone().unwrap_or_default();
        let remote = self.jsep.pending_remote.as_ref().ok_or(PeerError::InvalidState("no remote offer".into()))?;
        let remote_setup = self.offered_remote.as_ref().or(self.remote.as_ref()).and_then(|r| r.setup);
        let setup = match self.our_setup() {
            Some(s) => s,
            None => match remote_setup {
                Some(Setup::Active) => Setup::Passive,
                _ => Setup::Active,
            },
        };
        let bundle =
            sections.iter().find(|s| s.is_accepted()).is_some_and(|s| remote.parsed.bundle_group_of(&s.mid).is_some());
        // A remote offer with new ICE credentials restarts ICE: our answer
        // carries new ones too (applied when the answer is set).
        let restart = self
            .offered_remote
            .as_ref()
            .zip(self.remote.as_ref())
            .is_some_and(|(o, r)| o.ufrag != r.ufrag || o.pwd != r.pwd)
            .then(|| self.transport.ice_mut().new_credentials());
        let version = self.jsep.next_version();
        let sdp = jsep::write(
            self.jsep.session_id,
            version,
            &sections,
            bundle,
            &self.local_transport(setup, restart.as_ref()),
        )
        .to_string();
        self.jsep.last_answer = Some(sdp.clone());
        self.jsep.answer_restart = restart;
        Ok(SessionDescription::answer(sdp))
    }

    /// `setLocalDescription`; `None` creates the offer or answer the state
    /// calls for (the W3C parameterless form) and returns it.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        desc: Option<SessionDescription>,
    ) -> Result<SessionDescription, PeerError> {
        self.jsep.check_open()?;
        let desc = match desc {
            Some(d) => d,
            None => match self.jsep.signaling {
                SignalingState::Stable | SignalingState::HaveLocalOffer => self.create_offer(now, false)?,
                _ => self.create_answer()?,
            },
        };
        match desc.kind {
            SdpType::Rollback => {
                self.jsep.rollback_local()?;
                self.after_exchange_step();
            }
            SdpType::Offer => {
                let restart = self.jsep.set_local_offer(&desc)?;
                let mids = std::mem::take(&mut self.offer_mids);
                self.media.offered(&mids);
                if !self.ice.started {
                    self.transport.ice_mut().set_controlling(true);
                }
                // An ICE restart takes effect with the answer, so that a
                // rollback of this offer leaves ICE untouched.
                self.jsep.pending_restart = restart;
                self.start_gathering(now);
            }
            SdpType::Answer | SdpType::Pranswer => {
                self.jsep.set_local_answer(&desc)?;
                // The remote offer's transport parameters apply now.
                let remote_setup = self.offered_remote.as_ref().or(self.remote.as_ref()).and_then(|r| r.setup);
                if self.dtls_role.is_none() {
                    // The answerer's role is fixed by its first answer.
                    self.dtls_role = Some(jsep::dtls_role(remote_setup, true));
                }
                if let Some(remote) = self.offered_remote.take() {
                    let restart = self.jsep.answer_restart.take();
                    self.apply_remote_transport(now, remote, Some(restart));
                }
                for c in std::mem::take(&mut self.offered_candidates) {
                    self.add_candidate_now(now, c);
                }
                self.start_gathering(now);
                self.apply_sections(now, false);
                self.after_exchange_step();
            }
        }
        self.drive(now);
        Ok(desc)
    }

    /// `setRemoteDescription`. Returns the remote candidates whose address
    /// is an mDNS `.local` name, with that name: resolve them and pass them
    /// to [`add_ice_candidate`](Self::add_ice_candidate).
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        desc: SessionDescription,
    ) -> Result<Vec<(Candidate, String)>, PeerError> {
        self.jsep.check_open()?;
        let mut unresolved = Vec::new();
        match desc.kind {
            SdpType::Rollback => {
                self.jsep.rollback_remote()?;
                self.media.rollback();
                // Nothing of the offer was applied: forget it.
                self.offered_remote = None;
                self.offered_candidates.clear();
                self.after_exchange_step();
            }
            SdpType::Offer => {
                // The whole offer is checked before anything changes (not
                // even the implicit rollback happens for a broken offer).
                // An offer replacing one not answered yet undoes its association first.
                let mut media = self.media.clone();
                media.rollback();
                let answer_media = |offer: &sdp::SessionDescription| {
                    let plan = media.plan(offer);
                    offer.media.iter().zip(plan).map(|(m, a)| media.answer(a, m, offer.direction_for(m))).collect()
                };
                let (parsed, sections) = self.jsep.check_remote_offer(&desc, &answer_media)?;
                let plan = media.plan(&parsed);
                media.associate(&mut self.rng, &parsed, &plan);
                self.media = media;
                let remote = match sections.iter().find(|s| s.is_accepted()) {
                    Some(s) => Some(jsep::remote_transport(&parsed, &s.mid)?),
                    None => None,
                };
                if !self.ice.started && self.jsep.current_remote.is_none() {
                    self.transport.ice_mut().set_controlling(false);
                }
                unresolved = remote.as_ref().map(mdns_candidates).unwrap_or_default();
                self.offered_remote = remote;
                self.offered_candidates.clear();
                self.jsep.set_remote_offer(desc, parsed, sections);
            }
            SdpType::Answer | SdpType::Pranswer => {
                let (parsed, sections) = self.jsep.check_remote_answer(&desc)?;
                let remote = sections
                    .iter()
                    .find(|s| s.is_accepted())
                    .map(|s| jsep::remote_transport(&parsed, &s.mid))
                    .transpose()?;
                match remote {
                    None => {
                        // Nothing to restart on: keep the request for later.
                        self.jsep.keep_restart_for_later();
                    }
                    Some(remote) => {
                        if let Some(creds) = self.jsep.pending_restart.take() {
                            // Our restart offer is answered: new credentials
                            // on both sides from now on.
                            self.transport.ice_mut().restart_with(now, creds);
                            self.ice.local_candidates.clear();
                            if let Some(r) = &mut self.remote {
                                r.ufrag.clear();
                            }
                        }
                        if self.dtls_role.is_none() {
                            self.dtls_role = Some(jsep::dtls_role(remote.setup, false));
                        }
                        unresolved = self.apply_remote_transport(now, remote, None);
                    }
                }
                self.jsep.set_remote_answer(desc, parsed, sections);
                self.apply_sections(now, true);
                self.after_exchange_step();
            }
        }
        self.drive(now);
        Ok(unresolved)
    }

    /// ICE credentials, lite mode and candidates of the peer, into the
    /// transport. `from_offer` is `Some` when they come from the peer's
    /// offer (only an offer restarts ICE), with the credentials our answer
    /// gave for a restart.
    fn apply_remote_transport(
        &mut self,
        now: Instant,
        remote: RemoteTransport,
        from_offer: Option<Option<ice::Credentials>>,
    ) -> Vec<(Candidate, String)> {
        let restart = self.remote.as_ref().is_some_and(|r| r.ufrag != remote.ufrag || r.pwd != remote.pwd);
        let ice = self.transport.ice_mut();
        if let (true, Some(creds)) = (restart, from_offer) {
            // The peer restarts ICE: new credentials on our side too.
            match creds {
                Some(creds) => ice.restart_with(now, creds),
                None => ice.restart(now),
            }
            self.ice.local_candidates.clear();
        }
        if self.remote.as_ref().is_none_or(|r| r.ufrag != remote.ufrag || r.pwd != remote.pwd) {
            ice.set_remote_credentials(now, &remote.ufrag, &remote.pwd);
        }
        if remote.ice_lite {
            ice.set_remote_lite(true);
        }
        let mut unresolved = Vec::new();
        // A description is the peer's text: read at most as many candidates
        // as the agent keeps, and report what was skipped once.
        let cap = self.config.ice.max_remote_candidates;
        let (mut bad, mut first_error) = (0usize, None);
        for line in remote.candidates.iter().take(cap) {
            match Candidate::parse_unresolved(line) {
                Ok((c, None)) => ice.add_remote_candidate(now, c),
                Ok((c, Some(name))) => unresolved.push((c, name)),
                Err(e) => {
                    bad += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(first) = first_error {
            self.events.push_back(PeerEvent::Warning(PeerWarning::BadRemoteCandidates { count: bad, first }));
        }
        if remote.candidates.len() > cap {
            self.events.push_back(PeerEvent::Warning(PeerWarning::TooManyRemoteCandidates {
                count: remote.candidates.len(),
                kept: cap,
            }));
        }
        if remote.end_of_candidates && unresolved.is_empty() {
            self.transport.ice_mut().end_of_remote_candidates(now);
        }
        if let Some(dc) = self.transport.channels_mut(now) {
            dc.set_remote_max_message_size(remote.max_message_size.unwrap_or(usize::MAX));
        }
        self.remote = Some(remote);
        unresolved
    }

    /// `addIceCandidate`: a remote candidate (resolved), or `None` for
    /// end-of-candidates.
    pub fn add_ice_candidate(&mut self, now: Instant, candidate: Option<Candidate>) -> Result<(), PeerError> {
        self.jsep.check_open()?;
        if self.offered_remote.is_some() {
            // The offer's transport is not applied yet; neither are its
            // candidates (a rollback drops them with it).
            if self.offered_candidates.len() < self.config.ice.max_remote_candidates {
                self.offered_candidates.push(candidate);
            }
            return Ok(());
        }
        if self.remote.is_none() && self.jsep.remote().is_none() {
            return Err(PeerError::InvalidState(
                "addIceCandidate before a remote description; set the remote description first".into(),
            ));
        }
        self.add_candidate_now(now, candidate);
        self.drive(now);
        Ok(())
    }

    fn add_candidate_now(&mut self, now: Instant, candidate: Option<Candidate>) {
        match candidate {
            Some(c) => self.transport.ice_mut().add_remote_candidate(now, c),
            None => self.transport.ice_mut().end_of_remote_candidates(now),
        }
    }

    /// `restartIce`: the next offer carries new ICE credentials.
    pub fn restart_ice(&mut self) {
        if self.jsep.signaling == SignalingState::Closed {
            return;
        }
        self.jsep.restart_pending = true;
        self.update_negotiation_needed();
    }

    /// After a signaling step: events for a new signaling state and
    /// negotiation-needed (fired again when back to stable with the need
    /// unmet, W3C).
    fn after_exchange_step(&mut self) {
        while let Some(s) = self.jsep.take_signaling_change() {
            self.events.push_back(PeerEvent::SignalingStateChange(s));
        }
        self.jsep.negotiation_needed = false;
        self.update_negotiation_needed();
    }

    fn update_negotiation_needed(&mut self) {
        let needed = (self.data.wanted && !self.jsep.sections.iter().any(|s| s.is_data()))
            || self.jsep.restart_pending
            || self.media.changed;
        if !needed {
            self.jsep.negotiation_needed = false;
            return;
        }
        if self.jsep.signaling == SignalingState::Stable && !self.jsep.negotiation_needed {
            self.jsep.negotiation_needed = true;
            self.events.push_back(PeerEvent::NegotiationNeeded);
        }
    }

    fn start_gathering(&mut self, now: Instant) {
        // Its events reach the application through `drive`, after the
        // signaling change that started it.
        if self.ice.started {
            return;
        }
        self.ice.started = true;
        let hosts = self.hosts.clone();
        self.transport.start_gathering(now, &hosts);
    }

    /// After an exchange: the transport starts when any section is
    /// accepted, SCTP when the data section is.
    /// `answered_by_peer`: this exchange was our offer and the peer's answer.
    fn apply_sections(&mut self, now: Instant, answered_by_peer: bool) {
        for (transceiver, mid, kind) in self.media.negotiated(self.jsep.negotiated()) {
            self.events.push_back(PeerEvent::Track { transceiver, mid, kind });
        }
        let media = crate::media_session::media_configs(self.jsep.negotiated(), self.config.jitter_buffer);
        if !media.is_empty() || self.rtp.is_some() {
            let (cname, seed) = (self.media.cname().to_string(), self.rng.gen());
            let mut config = rtp::session::rtc::SessionConfig::new(cname, seed);
            if let Some((at, unix)) = self.config.wall_clock {
                config.unix_time =
                    (unix + now.saturating_duration_since(at)).saturating_sub(at.saturating_duration_since(now));
            }
            let rtp = self.rtp.get_or_insert_with(|| rtp::session::rtc::Session::new(now, config));
            rtp.set_media(now, media);
        }
        let sections = self.jsep.negotiated();
        let needs_transport = sections.iter().any(|s| s.is_accepted());
        let has_data = sections.iter().any(|s| s.is_data());
        if !has_data {
            // Only the peer's answer to our offer can reject our data
            // section; an offer of its own that lacks one leaves our
            // channels waiting for the next negotiation.
            if answered_by_peer
                && self.jsep.offered_data()
                && self.data.wanted
                && self.jsep.signaling == SignalingState::Stable
                && self.transport.channels().is_none()
            {
                // The peer rejected data channels.
                let mut events = Vec::new();
                self.data.close_all(&mut events);
                self.events.extend(events);
                self.data.wanted = false;
            }
        }
        if !needs_transport || self.transport.dtls_started() {
            if has_data {
                self.start_sctp(now);
            }
            self.update_state();
            return;
        }
        let (Some(role), Some(remote)) = (self.dtls_role, self.remote.as_ref()) else { return };
        let mut config = dtls::DtlsConfig::new(role, self.certificate.clone(), remote.fingerprints.clone());
        config.version = self.config.dtls_version;
        config.engine = self.config.dtls_engine;
        config.handshake_timeout = self.config.dtls_handshake_timeout;
        if let Err(e) = self.transport.start_dtls(now, config) {
            self.events.push_back(PeerEvent::Warning(PeerWarning::DtlsNotStarted(e)));
        }
        if has_data {
            self.start_sctp(now);
        }
        self.update_state();
    }

    fn start_sctp(&mut self, now: Instant) {
        if self.transport.channels().is_some() || !self.transport.dtls_started() {
            return;
        }
        let remote = self.remote.as_ref();
        let config = sctp::SctpConfig {
            local_port: crate::config::SCTP_PORT,
            remote_port: remote.map_or(crate::config::SCTP_PORT, |r| r.sctp_port),
            max_message_size: self.config.max_message_size,
            // No limit is `None` here, the largest size for SCTP.
            remote_max_message_size: remote.and_then(|r| r.max_message_size).unwrap_or(usize::MAX),
            send_buffer_limit: self.config.send_buffer_limit,
            seed: self.rng.gen(),
            ..self.config.sctp.clone()
        };
        if let Err(e) = self.transport.attach_sctp(now, config, self.config.channel_limits.clone()) {
            self.events.push_back(PeerEvent::Warning(PeerWarning::DtlsNotStarted(e)));
            return;
        }
        let mut events = Vec::new();
        if let Some(dc) = self.transport.channels_mut(now) {
            self.data.attach(now, dc, &mut events);
        }
        self.events.extend(events);
    }

    // ---- media ----

    /// `addTransceiver(kind, {direction})`: a new audio or video
    /// transceiver; fires [`PeerEvent::NegotiationNeeded`].
    pub fn add_transceiver(
        &mut self,
        kind: sdp::MediaKind,
        direction: sdp::Direction,
    ) -> Result<TransceiverId, PeerError> {
        self.add_transceiver_with(kind, crate::TransceiverInit::new(direction))
    }

    /// `addTransceiver(kind, init)`: with `sendEncodings` RIDs, a video
    /// transceiver that sends simulcast (RFC 8853: `a=rid` and `a=simulcast`
    /// in our offer, one SSRC and RTX SSRC per encoding, each stream marked
    /// with its RID). A peer that declines simulcast gets the first encoding
    /// only. Fires [`PeerEvent::NegotiationNeeded`].
    pub fn add_transceiver_with(
        &mut self,
        kind: sdp::MediaKind,
        init: crate::TransceiverInit,
    ) -> Result<TransceiverId, PeerError> {
        self.jsep.check_open()?;
        if !matches!(kind, sdp::MediaKind::Audio | sdp::MediaKind::Video) {
            return Err(PeerError::InvalidState(format!("a transceiver is audio or video, not {kind}")));
        }
        let rids = &init.send_encodings;
        if let Some(bad) = rids.iter().find(|r| !sdp::is_rid(r)) {
            return Err(PeerError::InvalidArgument(format!(
                "RID {bad:?} is not 1 to 16 letters, digits, '-' or '_' (RFC 8851)"
            )));
        }
        if rids.len() > crate::MAX_SIMULCAST_ENCODINGS {
            return Err(PeerError::InvalidArgument(format!(
                "{} send encodings; at most {} can be sent",
                rids.len(),
                crate::MAX_SIMULCAST_ENCODINGS
            )));
        }
        if rids.iter().enumerate().any(|(i, r)| rids[..i].contains(r)) {
            return Err(PeerError::InvalidArgument("send encodings need distinct RIDs".into()));
        }
        let id = self.media.add(&mut self.rng, kind, init.direction, rids);
        self.update_negotiation_needed();
        Ok(id)
    }

    /// `RTCRtpTransceiver.direction = ...`: takes effect with the next
    /// negotiation (fires [`PeerEvent::NegotiationNeeded`]).
    pub fn set_transceiver_direction(&mut self, id: TransceiverId, direction: sdp::Direction) -> Result<(), PeerError> {
        if !self.media.set_direction(id, direction) {
            return Err(PeerError::InvalidState(format!("no transceiver {}", id.0)));
        }
        self.update_negotiation_needed();
        Ok(())
    }

    /// Runs `f` on the RTP session with the mid of a transceiver's
    /// negotiated section, and drives the connection at the next poll.
    fn with_media<T>(
        &mut self,
        now: Instant,
        id: TransceiverId,
        f: impl FnOnce(&mut rtp::session::rtc::Session, &str) -> Result<T, rtp::session::rtc::SessionError>,
    ) -> Result<T, PeerError> {
        let info = self.media.info(id).ok_or(PeerError::NoSuchTransceiver(id))?;
        let (Some(mid), Some(_), Some(rtp)) = (info.mid, info.current_direction, self.rtp.as_mut()) else {
            return Err(PeerError::NotNegotiated(id));
        };
        let out = f(rtp, &mid)?;
        self.pending_drive.get_or_insert(now);
        Ok(out)
    }

    /// Sends one encoded frame on a transceiver: packetized with the codec
    /// of `payload_type` (one of [`codecs`](Self::codecs)) and paced out.
    /// `rtp_timestamp` is in the codec's clock (90 kHz for video).
    pub fn write_frame(
        &mut self,
        now: Instant,
        id: TransceiverId,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), PeerError> {
        self.with_media(now, id, |rtp, mid| rtp.write_frame(now, mid, payload_type, rtp_timestamp, data))
    }

    /// [`write_frame`](Self::write_frame) on the simulcast encoding `rid`
    /// of a transceiver (one of [`TransceiverInfo::send_rids`]).
    pub fn write_frame_rid(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rid: &str,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), PeerError> {
        self.with_media(now, id, |rtp, mid| rtp.write_frame_rid(now, mid, Some(rid), payload_type, rtp_timestamp, data))
    }

    /// Sends one RTP payload as it is (no packetizing: forwarding,
    /// pre-packetized media); SSRC and sequence number are ours.
    pub fn write_rtp(
        &mut self,
        now: Instant,
        id: TransceiverId,
        payload_type: u8,
        rtp_timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), PeerError> {
        self.with_media(now, id, |rtp, mid| rtp.write_rtp(now, mid, payload_type, rtp_timestamp, marker, payload))
    }

    /// Asks the peer for a keyframe on what a transceiver receives (PLI or FIR).
    pub fn request_keyframe(
        &mut self,
        now: Instant,
        id: TransceiverId,
        kind: crate::KeyframeRequestKind,
    ) -> Result<(), PeerError> {
        self.with_media(now, id, |rtp, mid| rtp.request_keyframe(now, mid, kind))
    }

    /// Asks the peer for a keyframe of one simulcast stream a transceiver
    /// receives (its [`MediaFrame::rid`](crate::MediaFrame::rid)).
    pub fn request_keyframe_rid(
        &mut self,
        now: Instant,
        id: TransceiverId,
        rid: &str,
        kind: crate::KeyframeRequestKind,
    ) -> Result<(), PeerError> {
        self.with_media(now, id, |rtp, mid| rtp.request_keyframe_rid(now, mid, Some(rid), kind))
    }

    /// The codecs negotiated on a transceiver's section, in preference
    /// order (RTX folded in); empty before negotiation.
    pub fn codecs(&self, id: TransceiverId) -> Vec<crate::CodecConfig> {
        let Some(mid) = self.media.info(id).and_then(|i| i.mid) else { return vec![] };
        match self.jsep.negotiated().iter().find(|s| s.mid == mid).map(|s| &s.used) {
            Some(jsep::Use::Media(m)) => crate::media_session::codec_configs(m),
            _ => vec![],
        }
    }

    /// Lip sync: the NTP/RTP clock pair the last sender report of a
    /// received stream gave (the stream's SSRC is in each
    /// [`MediaFrame`](crate::MediaFrame)).
    pub fn sender_clock(&self, ssrc: u32) -> Option<crate::SenderClock> {
        self.rtp.as_ref()?.sender_clock(ssrc)
    }

    /// Each RTP stream's counters (sent, then received).
    pub(crate) fn rtp_stream_stats(&self) -> Vec<rtp::session::StreamStats> {
        self.rtp.as_ref().map(|r| r.stream_stats()).unwrap_or_default()
    }

    pub(crate) fn rtp_codecs(&self) -> Vec<crate::stats::SectionCodecs> {
        let Some(rtp) = self.rtp.as_ref() else { return vec![] };
        rtp.section_codecs()
            .map(|(mid, kind, codecs)| crate::stats::SectionCodecs { mid: mid.into(), kind, codecs: codecs.to_vec() })
            .collect()
    }

    /// The RTP session's counters, once media is negotiated.
    pub fn media_stats(&self) -> Option<rtp::session::rtc::SessionStats> {
        self.rtp.as_ref().map(|r| r.stats())
    }

    /// A transceiver's mid, directions and SSRCs.
    pub fn transceiver(&self, id: TransceiverId) -> Option<TransceiverInfo> {
        self.media.info(id)
    }

    /// `getTransceivers()`, in creation order.
    pub fn transceivers(&self) -> Vec<TransceiverInfo> {
        self.media.all()
    }

    // ---- data channels ----

    /// `createDataChannel`. The channel opens
    /// ([`ChannelEvent::Open`](datachannel::ChannelEvent::Open)) once negotiated and connected; the
    /// first one fires [`PeerEvent::NegotiationNeeded`].
    pub fn create_data_channel(&mut self, now: Instant, init: ChannelInit) -> Result<ChannelHandle, PeerError> {
        self.jsep.check_open()?;
        let handle = self.data.create(now, self.transport.channels_mut(now), init)?;
        self.update_negotiation_needed();
        self.drive(now);
        Ok(handle)
    }

    /// `RTCDataChannel.send`: text (`binary == false`) or bytes. A full
    /// send buffer is [`PeerError::SendBufferFull`]: retry after
    /// [`ChannelEvent::BufferedAmountLow`](datachannel::ChannelEvent::BufferedAmountLow) or a while.
    pub fn send(&mut self, now: Instant, h: ChannelHandle, data: Bytes, binary: bool) -> Result<(), PeerError> {
        self.data.send(now, self.transport.channels_mut(now), h, data, binary)?;
        // Packets are made when the caller next polls, so that messages sent
        // back to back share SCTP packets (bundling) and DTLS records.
        self.pending_drive = Some(now);
        Ok(())
    }

    /// The application took `messages` [`ChannelEvent::Message`](datachannel::ChannelEvent::Message)s of
    /// `bytes` bytes together, each counted as SCTP carried it (an empty
    /// message is one byte).
    /// With [`sctp::SctpConfig::hold_until_consumed`] set in
    /// [`PeerConfig::sctp`] (the tokio facade sets it) a message counts
    /// against SCTP's receive window until then, so a reader that falls
    /// behind slows the peer down instead of growing a queue (pull-style
    /// delivery): then call it for every message, whatever its channel.
    /// Without that setting it does nothing.
    pub fn message_consumed(&mut self, now: Instant, bytes: usize, messages: usize) {
        if let Some(dc) = self.transport.channels_mut(now) {
            dc.consumed(bytes, messages);
            self.pending_drive = Some(now);
        }
    }

    /// `RTCDataChannel.close`.
    pub fn close_channel(&mut self, now: Instant, h: ChannelHandle) {
        if let Some(e) = self.data.close(now, self.transport.channels_mut(now), h) {
            self.events.push_back(e);
        }
        self.drive(now);
    }

    /// `RTCDataChannel.readyState`; `None` once closed and forgotten.
    pub fn channel_state(&self, h: ChannelHandle) -> Option<ReadyState> {
        self.data.state(self.transport.channels(), h)
    }

    /// The channel's label, protocol, id (once it has a stream) and
    /// reliability.
    pub fn channel_info(&self, h: ChannelHandle) -> Option<ChannelInfo> {
        self.data.info(self.transport.channels(), h)
    }

    pub(crate) fn data_counts(&self) -> (u32, u32) {
        (self.data.opened, self.data.closed)
    }

    pub(crate) fn channel_counters(&self, h: ChannelHandle) -> crate::data::Counters {
        self.data.counters(h)
    }

    pub(crate) fn channel_handles(&self) -> impl Iterator<Item = ChannelHandle> + '_ {
        self.data.handles()
    }

    /// `RTCDataChannel.bufferedAmount`.
    pub fn buffered_amount(&self, h: ChannelHandle) -> usize {
        match (self.data.stream_of(h), self.transport.channels()) {
            (Ok(id), Some(dc)) => dc.buffered_amount(id),
            _ => 0,
        }
    }

    /// Bytes queued on all channels together (against
    /// [`PeerConfig::send_buffer_limit`]).
    pub fn buffered_amount_total(&self) -> usize {
        self.transport.channels().map_or(0, |dc| dc.association().buffered_amount_total())
    }

    /// `RTCDataChannel.bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, now: Instant, h: ChannelHandle, threshold: usize) {
        if let (Ok(id), Some(dc)) = (self.data.stream_of(h), self.transport.channels_mut(now)) {
            dc.set_buffered_amount_low_threshold(id, threshold);
        }
    }

    // ---- close ----

    /// `close`: channels close, DTLS sends close_notify, ICE stops. Drain
    /// [`poll_transmit`](Self::poll_transmit) once more.
    pub fn close(&mut self, now: Instant) {
        if self.jsep.signaling == SignalingState::Closed {
            return;
        }
        self.transport.close(now);
        // Events the transport produced while closing are moot now.
        while self.transport.poll_event().is_some() {}
        let mut events = Vec::new();
        self.data.close_all(&mut events);
        self.events.extend(events);
        self.jsep.signaling = SignalingState::Closed;
        self.update_state();
        self.events.push_back(PeerEvent::SignalingStateChange(SignalingState::Closed));
    }

    // ---- I/O ----

    /// A datagram received on local socket `local` from `source`.
    pub fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        self.transport.handle_receive(now, local, source, data);
        self.drive(now);
    }

    /// A frame from a TURN server reached over TCP or TLS.
    pub fn handle_stream_frame(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, frame: &[u8]) {
        self.transport.handle_stream_frame(now, server, transport, frame);
        self.drive(now);
    }

    /// The TURN servers to reach over TCP or TLS (open one connection each).
    pub fn turn_streams(&self) -> Vec<(SocketAddr, TurnTransport)> {
        self.transport.turn_streams()
    }

    /// A TCP/TLS connection to a TURN server failed.
    pub fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, reason: &str) {
        self.transport.turn_stream_failed(now, server, transport, reason);
        self.drive(now);
    }

    /// Call when [`poll_timeout`](Self::poll_timeout) is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.transport.handle_timeout(now);
        if let Some(rtp) = &mut self.rtp {
            rtp.handle_timeout(now);
        }
        self.drive(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        // The RTP session's timers run once SRTP can carry what they produce.
        let media =
            self.rtp.as_ref().filter(|_| self.transport.srtp_profile().is_some()).and_then(|r| r.poll_timeout());
        [self.pending_drive, self.transport.poll_timeout(), media].into_iter().flatten().min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(asked) = self.pending_drive.take() {
            self.drive(now.max(asked));
        }
        self.transport.poll_transmit(now)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        if let Some(now) = self.pending_drive.take() {
            self.drive(now);
        }
        let e = self.events.pop_front();
        if matches!(e, Some(PeerEvent::Frame(..))) {
            self.queued_frames -= 1;
        }
        e
    }

    /// Routes the transport's events to the parts.
    fn drive(&mut self, now: Instant) {
        self.pending_drive = None;
        while let Some(s) = self.jsep.take_signaling_change() {
            self.events.push_back(PeerEvent::SignalingStateChange(s));
        }
        while let Some(e) = self.transport.poll_event() {
            match e {
                TransportEvent::Ice(e) => self.on_ice_event(e),
                TransportEvent::DtlsConnected { .. } | TransportEvent::DtlsClosed => self.update_state(),
                TransportEvent::DtlsFailed(e) => {
                    self.events.push_back(PeerEvent::Warning(PeerWarning::DtlsFailed(e)));
                    self.update_state();
                }
                TransportEvent::Channel(e) => match self.data.on_event(e) {
                    Ok(Some(pe)) => self.events.push_back(pe),
                    Ok(None) => {}
                    Err(len) => {
                        if let Some(dc) = self.transport.channels_mut(now) {
                            dc.consumed(len, 1);
                        }
                    }
                },
                TransportEvent::Rtp(p) => {
                    if let Some(rtp) = &mut self.rtp {
                        rtp.handle_rtp(now, Bytes::from(p));
                    }
                }
                TransportEvent::Rtcp(p) => {
                    if let Some(rtp) = &mut self.rtp {
                        rtp.handle_rtcp(now, Bytes::from(p));
                    }
                }
                TransportEvent::Datagram(_) | TransportEvent::DtlsData(_) => {}
            }
        }
        self.pump_media(now);
        self.announce_transport_states();
    }

    /// The RTP session's packets into SRTP (once DTLS gave keys: until then
    /// they wait in its bounded queues), its events out.
    fn pump_media(&mut self, now: Instant) {
        let Some(rtp) = self.rtp.as_mut() else { return };
        if self.transport.srtp_profile().is_some() {
            while let Some(out) = rtp.poll_transmit(now) {
                let (packet, rtcp) = match out {
                    rtp::session::rtc::Outgoing::Rtp(p) => (p, false),
                    rtp::session::rtc::Outgoing::Rtcp(p) => (p, true),
                };
                if let Err(e) = self.transport.send_srtp(&packet, rtcp) {
                    tracing::debug!("RTP not sent: {e}");
                }
            }
        }
        while let Some(e) = rtp.poll_event() {
            use rtp::session::rtc::SessionEvent as S;
            let event = match e {
                S::Frame { mid, rid, ssrc, payload_type, rtp_timestamp, data, keyframe, lost_before, .. } => {
                    let Some(t) = self.media.by_mid(&mid) else { continue };
                    if self.queued_frames >= MAX_QUEUED_FRAMES {
                        tracing::debug!("frame dropped: {MAX_QUEUED_FRAMES} frame events wait for poll_event");
                        continue;
                    }
                    self.queued_frames += 1;
                    let frame = crate::transceivers::MediaFrame {
                        mid,
                        rid,
                        ssrc,
                        payload_type,
                        rtp_timestamp,
                        data,
                        keyframe,
                        lost_before,
                    };
                    PeerEvent::Frame(t, frame)
                }
                S::KeyframeRequested { mid, rid, kind } => {
                    let Some(t) = self.media.by_mid(&mid) else { continue };
                    PeerEvent::KeyframeRequested(t, kind, rid)
                }
                S::EstimateChanged { bitrate_bps } => PeerEvent::BandwidthEstimate(bitrate_bps),
                S::StreamAdded { .. } => continue,
            };
            self.events.push_back(event);
        }
    }

    /// Announces the DTLS and SCTP transports' state changes (W3C
    /// `RTCDtlsTransport` and `RTCSctpTransport` `statechange`).
    fn announce_transport_states(&mut self) {
        let dtls = self.transport.dtls_state();
        if dtls != self.dtls_state {
            self.dtls_state = dtls;
            self.events.push_back(PeerEvent::DtlsStateChange(dtls));
        }
        let sctp = self.transport.channels().map(|dc| {
            let a = dc.association();
            if a.is_closed() {
                SctpTransportState::Closed
            } else if a.is_established() {
                SctpTransportState::Connected
            } else {
                SctpTransportState::Connecting
            }
        });
        if sctp.is_some() && sctp != self.sctp_state {
            self.sctp_state = sctp;
            self.events.push_back(PeerEvent::SctpStateChange(sctp.unwrap_or(SctpTransportState::Closed)));
        }
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        // W3C order: "gathering" before the first candidate.
        if self.ice.gathering.is_none() && self.transport.ice().gathering_state() != GatheringState::New {
            self.ice.gathering = Some(GatheringState::Gathering);
            self.events.push_back(PeerEvent::IceGatheringStateChange(GatheringState::Gathering));
        }
        match e {
            IceEvent::LocalCandidate(c) => {
                let line = c.to_sdp();
                self.ice.local_candidates.push(line.clone());
                if let Some((i, mid)) = self.jsep.transport_section() {
                    self.events.push_back(PeerEvent::IceCandidate(Some(IceCandidate {
                        candidate: line,
                        sdp_mid: mid,
                        sdp_m_line_index: i,
                    })));
                }
            }
            IceEvent::GatheringComplete => {
                self.events.push_back(PeerEvent::IceCandidate(None));
                if self.ice.gathering != Some(GatheringState::Complete) {
                    self.ice.gathering = Some(GatheringState::Complete);
                    self.events.push_back(PeerEvent::IceGatheringStateChange(GatheringState::Complete));
                }
            }
            IceEvent::StateChanged(s) => {
                if s != self.ice.state() {
                    self.ice.state = Some(s);
                    self.events.push_back(PeerEvent::IceConnectionStateChange(s));
                    self.update_state();
                }
            }
            IceEvent::ServerError { server, code, text } => {
                self.events.push_back(PeerEvent::Warning(PeerWarning::IceServer { server, code, text }));
            }
            IceEvent::SelectedPairChanged { .. } | IceEvent::RoleChanged(_) => {}
        }
    }

    fn update_state(&mut self) {
        let ice = self.ice.state();
        let dtls = self.transport.dtls_state();
        let s = if self.jsep.signaling == SignalingState::Closed {
            PeerConnectionState::Closed
        } else if ice == IceTransportState::Failed || dtls == DtlsTransportState::Failed {
            PeerConnectionState::Failed
        } else if ice == IceTransportState::Disconnected {
            PeerConnectionState::Disconnected
        } else if matches!(ice, IceTransportState::Connected | IceTransportState::Completed)
            // W3C: "connected" when every transport is connected, completed
            // or closed; a peer's close_notify is not a reason to go back to
            // "connecting" (ICE consent then notices the peer is gone).
            && matches!(dtls, DtlsTransportState::Connected | DtlsTransportState::New | DtlsTransportState::Closed)
        {
            let needs_transport = self.jsep.sections.iter().any(|s| s.is_accepted());
            if dtls == DtlsTransportState::New && needs_transport {
                PeerConnectionState::Connecting
            } else {
                PeerConnectionState::Connected
            }
        } else if ice == IceTransportState::New && dtls == DtlsTransportState::New {
            PeerConnectionState::New
        } else {
            PeerConnectionState::Connecting
        };
        if s != self.state {
            self.state = s;
            self.events.push_back(PeerEvent::ConnectionStateChange(s));
        }
    }
}

/// The candidates of `remote` whose address is an mDNS name (resolved by
/// the caller), parsed; the others are applied with the description.
fn mdns_candidates(remote: &RemoteTransport) -> Vec<(Candidate, String)> {
    remote
        .candidates
        .iter()
        .filter_map(|line| match Candidate::parse_unresolved(line) {
            Ok((c, Some(name))) => Some((c, name)),
            _ => None,
        })
        .collect()
}
