//! [`PeerConnection`]: JSEP and the engines under one state machine.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use datachannel::{ChannelInfo, ChannelInit, DataChannelEvent, DataChannels, ReadyState};
use ice::{Candidate, GatheringState, IceAgent, IceEvent, IceTransportState, Received, Transmit, TurnTransport};
use rand::{Rng, SeedableRng};
use sdp::Setup;
use tracing::debug;

use crate::config::{
    ChannelHandle, DtlsTransportState, IceCandidate, PeerConfig, PeerConnectionState, PeerEvent, SdpType,
    SessionDescription, SignalingState,
};
use crate::jsep::{self, LocalTransport, RemoteTransport, Section};
use crate::PeerError;

/// DTLS datagrams kept when they arrive before the DTLS transport exists,
/// and DTLS datagrams kept while ICE has no pair yet.
const EARLY_DATAGRAMS: usize = 32;

enum Slot {
    /// Created before the association exists.
    Pending(ChannelInit),
    /// On this SCTP stream.
    Stream(u16),
}

/// A description as applied, with its parsed form.
#[derive(Clone)]
struct Applied {
    desc: SessionDescription,
    parsed: sdp::SessionDescription,
}

/// A WebRTC peer connection as a sans-IO state machine: the JSEP
/// offer/answer state machine (W3C signaling states, BUNDLE, rollback,
/// rejected sections, ICE restart) driving an ICE agent, a DTLS transport
/// and the data channels over SCTP. See the [crate docs](crate) for the
/// loop that drives it.
pub struct PeerConnection {
    config: PeerConfig,
    certificate: dtls::Certificate,
    fingerprint: sdp::Fingerprint,
    agent: IceAgent,
    hosts: Vec<SocketAddr>,
    agent_started: bool,
    rng: rand::rngs::StdRng,
    session_id: u64,
    version: u64,

    signaling: SignalingState,
    ice_state: IceTransportState,
    gathering: GatheringState,
    state: PeerConnectionState,

    current_local: Option<Applied>,
    pending_local: Option<Applied>,
    current_remote: Option<Applied>,
    pending_remote: Option<Applied>,
    /// Sections as negotiated by the last completed exchange.
    sections: Vec<Section>,
    /// Sections of the exchange in progress.
    pending_sections: Option<Vec<Section>>,
    last_offer: Option<(String, Vec<Section>)>,
    /// New ICE credentials in the last offer (an ICE restart), applied to
    /// the agent only when that offer is set.
    last_offer_restart: Option<ice::Credentials>,
    /// The credentials of our pending restart offer, applied with the answer.
    pending_restart: Option<ice::Credentials>,
    last_answer: Option<String>,
    remote: Option<RemoteTransport>,
    local_candidates: Vec<String>,

    dtls: Option<dtls::DtlsTransport>,
    dtls_role: Option<dtls::Role>,
    dtls_state: DtlsTransportState,
    early_dtls: Vec<Vec<u8>>,
    dtls_out: VecDeque<Vec<u8>>,
    remote_certificate: Option<Vec<u8>>,

    channels: Option<DataChannels>,
    slots: BTreeMap<ChannelHandle, Slot>,
    by_stream: HashMap<u16, ChannelHandle>,
    next_handle: u64,
    want_data: bool,
    negotiation_needed: bool,
    restart_pending: bool,

    transmits: VecDeque<Transmit>,
    events: VecDeque<PeerEvent>,
    /// Sends are packetized at the next poll (at this time).
    pending_drive: Option<Instant>,
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
        Ok(PeerConnection {
            agent: IceAgent::new(ice_config, true),
            config,
            certificate,
            fingerprint,
            hosts,
            agent_started: false,
            rng,
            session_id,
            version: 1,
            signaling: SignalingState::Stable,
            ice_state: IceTransportState::New,
            gathering: GatheringState::New,
            state: PeerConnectionState::New,
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            sections: Vec::new(),
            pending_sections: None,
            last_offer: None,
            last_offer_restart: None,
            pending_restart: None,
            last_answer: None,
            remote: None,
            local_candidates: Vec::new(),
            dtls: None,
            dtls_role: None,
            dtls_state: DtlsTransportState::New,
            early_dtls: Vec::new(),
            dtls_out: VecDeque::new(),
            remote_certificate: None,
            channels: None,
            slots: BTreeMap::new(),
            by_stream: HashMap::new(),
            next_handle: 1,
            want_data: false,
            negotiation_needed: false,
            restart_pending: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            pending_drive: None,
        })
    }

    // ---- states and descriptions ----

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceTransportState {
        self.ice_state
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.state
    }

    /// The peer's `a=max-message-size` (65536 when it gave none), once a
    /// remote description with a data section is applied.
    pub fn remote_max_message_size(&self) -> Option<usize> {
        self.remote.as_ref().map(|r| r.max_message_size)
    }

    /// The W3C `RTCDtlsTransport.state`.
    pub fn dtls_state(&self) -> DtlsTransportState {
        self.dtls_state
    }

    /// Our certificate.
    pub fn certificate(&self) -> &dtls::Certificate {
        &self.certificate
    }

    /// The peer's DTLS certificate (DER), once DTLS is connected.
    pub fn remote_certificate(&self) -> Option<&[u8]> {
        self.remote_certificate.as_deref()
    }

    /// The ICE agent (stats, selected pair).
    pub fn ice_agent(&self) -> &IceAgent {
        &self.agent
    }

    /// The data channels and their association, once DTLS is up (stats).
    pub fn data_channels(&self) -> Option<&DataChannels> {
        self.channels.as_ref()
    }

    /// `localDescription`: the pending one if any, else the current one,
    /// with the candidates gathered so far.
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.pending_local.as_ref().or(self.current_local.as_ref()).map(|a| self.with_candidates(a))
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.current_local.as_ref().map(|a| self.with_candidates(a))
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.pending_local.as_ref().map(|a| self.with_candidates(a))
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.pending_remote.as_ref().or(self.current_remote.as_ref()).map(|a| a.desc.clone())
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.current_remote.as_ref().map(|a| a.desc.clone())
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.pending_remote.as_ref().map(|a| a.desc.clone())
    }

    fn with_candidates(&self, a: &Applied) -> SessionDescription {
        let mut parsed = a.parsed.clone();
        let complete = self.gathering == GatheringState::Complete;
        for m in parsed.media.iter_mut().filter(|m| m.port != 0) {
            for c in &self.local_candidates {
                m.add_candidate(c);
            }
            if complete && !m.end_of_candidates() {
                m.set_end_of_candidates(true);
            }
        }
        SessionDescription { kind: a.desc.kind, sdp: parsed.to_string() }
    }

    // ---- JSEP ----

    fn check_open(&self) -> Result<(), PeerError> {
        if self.signaling == SignalingState::Closed {
            return Err(PeerError::Closed);
        }
        Ok(())
    }

    fn local_transport<'a>(&'a self, setup: Setup, restart: Option<&'a ice::Credentials>) -> LocalTransport<'a> {
        let creds = restart.unwrap_or(self.agent.local_credentials());
        LocalTransport {
            ufrag: &creds.ufrag,
            pwd: &creds.pwd,
            fingerprint: &self.fingerprint,
            setup,
            // A restart offer's candidates come after the restart, by trickle.
            candidates: if restart.is_some() { &[] } else { &self.local_candidates },
            end_of_candidates: restart.is_none() && self.gathering == GatheringState::Complete,
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
        self.check_open()?;
        if !matches!(self.signaling, SignalingState::Stable | SignalingState::HaveLocalOffer) {
            return Err(PeerError::InvalidState(format!(
                "createOffer in signaling state {:?}; answer the remote offer first or roll it back",
                self.signaling
            )));
        }
        let mut sections = self.sections.clone();
        if self.want_data && !sections.iter().any(|s| s.data) {
            let mut n = sections.len();
            while sections.iter().any(|s| s.mid == n.to_string()) {
                n += 1;
            }
            sections.push(Section::data_channel(n.to_string()));
        }
        let _ = now;
        let restart =
            ((ice_restart || self.restart_pending) && self.agent_started).then(|| self.agent.new_credentials());
        let setup = self.our_setup().unwrap_or(Setup::Actpass);
        self.version += 1;
        let bundle = true;
        let transport = self.local_transport(setup, restart.as_ref());
        let desc = jsep::write(self.session_id, self.version, &sections, bundle, &transport);
        let sdp = desc.to_string();
        self.last_offer = Some((sdp.clone(), sections));
        self.last_offer_restart = restart;
        Ok(SessionDescription::offer(sdp))
    }

    /// `createAnswer`.
    pub fn create_answer(&mut self) -> Result<SessionDescription, PeerError> {
        self.check_open()?;
        if !matches!(self.signaling, SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer) {
            return Err(PeerError::InvalidState(format!(
                "createAnswer in signaling state {:?}; set a remote offer first",
                self.signaling
            )));
        }
        let sections = self.pending_sections.clone().unwrap_or_default();
        let remote = self.pending_remote.as_ref().ok_or(PeerError::InvalidState("no remote offer".into()))?;
        let setup = match self.our_setup() {
            Some(s) => s,
            None => match self.remote.as_ref().and_then(|r| r.setup) {
                Some(Setup::Active) => Setup::Passive,
                _ => Setup::Active,
            },
        };
        let bundle = sections.iter().find(|s| s.data).is_some_and(|s| remote.parsed.bundle_group_of(&s.mid).is_some());
        self.version += 1;
        let desc = jsep::write(self.session_id, self.version, &sections, bundle, &self.local_transport(setup, None));
        let sdp = desc.to_string();
        self.last_answer = Some(sdp.clone());
        Ok(SessionDescription::answer(sdp))
    }

    /// `setLocalDescription`; `None` creates the offer or answer the state
    /// calls for (the W3C parameterless form) and returns it.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        desc: Option<SessionDescription>,
    ) -> Result<SessionDescription, PeerError> {
        self.check_open()?;
        let desc = match desc {
            Some(d) => d,
            None => match self.signaling {
                SignalingState::Stable | SignalingState::HaveLocalOffer => self.create_offer(now, false)?,
                _ => self.create_answer()?,
            },
        };
        match desc.kind {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveLocalOffer {
                    return Err(PeerError::InvalidState(format!(
                        "rollback of a local offer in signaling state {:?}",
                        self.signaling
                    )));
                }
                self.pending_local = None;
                self.pending_sections = None;
                // A rolled-back restart is still wanted.
                self.restart_pending |= self.pending_restart.take().is_some();
                self.set_signaling(SignalingState::Stable);
                // Back to stable with the need unmet: fire again (W3C).
                self.negotiation_needed = false;
                self.update_negotiation_needed();
            }
            SdpType::Offer => {
                if !matches!(self.signaling, SignalingState::Stable | SignalingState::HaveLocalOffer) {
                    return Err(PeerError::InvalidState(format!(
                        "local offer in signaling state {:?}",
                        self.signaling
                    )));
                }
                let sections = match &self.last_offer {
                    Some((sdp, sections)) if *sdp == desc.sdp => sections.clone(),
                    _ => {
                        return Err(PeerError::InvalidModification(
                            "the local offer is not the last one createOffer returned; pass it unmodified".into(),
                        ))
                    }
                };
                let parsed = parse(&desc)?;
                self.pending_local = Some(Applied { desc: desc.clone(), parsed });
                self.pending_sections = Some(sections);
                if !self.agent_started {
                    self.agent.set_controlling(true);
                }
                // An ICE restart takes effect with the answer, so that a
                // rollback of this offer leaves ICE untouched.
                self.pending_restart = self.last_offer_restart.take();
                if self.pending_restart.is_some() {
                    self.restart_pending = false;
                }
                self.set_signaling(SignalingState::HaveLocalOffer);
                self.start_gathering(now);
            }
            SdpType::Answer | SdpType::Pranswer => {
                if !matches!(self.signaling, SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer) {
                    return Err(PeerError::InvalidState(format!(
                        "local answer in signaling state {:?}",
                        self.signaling
                    )));
                }
                if self.last_answer.as_deref() != Some(desc.sdp.as_str()) {
                    return Err(PeerError::InvalidModification(
                        "the local answer is not the last one createAnswer returned; pass it unmodified".into(),
                    ));
                }
                let parsed = parse(&desc)?;
                let sections = self.pending_sections.clone().unwrap_or_default();
                if self.dtls_role.is_none() {
                    let remote_setup = self.remote.as_ref().and_then(|r| r.setup);
                    self.dtls_role = Some(jsep::dtls_role(remote_setup, true));
                }
                if desc.kind == SdpType::Answer {
                    self.current_local = Some(Applied { desc: desc.clone(), parsed });
                    self.pending_local = None;
                    if let Some(r) = self.pending_remote.take() {
                        self.current_remote = Some(r);
                    }
                    self.sections = sections;
                    self.pending_sections = None;
                    self.set_signaling(SignalingState::Stable);
                } else {
                    self.pending_local = Some(Applied { desc: desc.clone(), parsed });
                    self.set_signaling(SignalingState::HaveLocalPranswer);
                }
                self.start_gathering(now);
                self.apply_transport(
                    now,
                    &self.pending_sections.clone().unwrap_or_else(|| self.sections.clone()),
                    false,
                );
                // Back to stable with the need unmet (the peer's offer lacked
                // our data section): fire again (W3C).
                self.negotiation_needed = false;
                self.update_negotiation_needed();
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
        self.check_open()?;
        let mut unresolved = Vec::new();
        match desc.kind {
            SdpType::Rollback => {
                if self.signaling != SignalingState::HaveRemoteOffer {
                    return Err(PeerError::InvalidState(format!(
                        "rollback of a remote offer in signaling state {:?}",
                        self.signaling
                    )));
                }
                self.pending_remote = None;
                self.pending_sections = None;
                self.set_signaling(SignalingState::Stable);
                self.negotiation_needed = false;
                self.update_negotiation_needed();
            }
            SdpType::Offer => {
                if !matches!(
                    self.signaling,
                    SignalingState::Stable | SignalingState::HaveRemoteOffer | SignalingState::HaveLocalOffer
                ) {
                    return Err(PeerError::InvalidState(format!(
                        "remote offer in signaling state {:?}",
                        self.signaling
                    )));
                }
                // Check the whole offer before changing anything (not even
                // the implicit rollback below happens for a broken offer).
                let parsed = parse(&desc)?;
                let sections = jsep::answer_sections(&parsed, &self.sections)?;
                let remote = match sections.iter().find(|s| s.data) {
                    Some(data) => Some(jsep::remote_transport(&parsed, &data.mid)?),
                    None => None,
                };
                if self.signaling == SignalingState::HaveLocalOffer {
                    // Glare: the W3C implicit rollback of our offer.
                    self.pending_local = None;
                    self.pending_sections = None;
                    self.restart_pending |= self.pending_restart.take().is_some();
                    self.set_signaling(SignalingState::Stable);
                }
                if !self.agent_started && self.current_remote.is_none() {
                    self.agent.set_controlling(false);
                }
                if let Some(remote) = remote {
                    unresolved = self.apply_remote_transport(now, remote);
                }
                self.pending_remote = Some(Applied { desc, parsed });
                self.pending_sections = Some(sections);
                self.set_signaling(SignalingState::HaveRemoteOffer);
            }
            SdpType::Answer | SdpType::Pranswer => {
                if !matches!(self.signaling, SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer) {
                    return Err(PeerError::InvalidState(format!(
                        "remote answer in signaling state {:?}",
                        self.signaling
                    )));
                }
                let parsed = parse(&desc)?;
                let offered = self.pending_sections.clone().unwrap_or_default();
                let sections = jsep::apply_answer(&offered, &parsed)?;
                let data = sections.iter().find(|s| s.data);
                let remote = data.map(|d| jsep::remote_transport(&parsed, &d.mid)).transpose()?;
                if remote.is_none() {
                    // Nothing to restart on: keep the request for later.
                    self.restart_pending |= self.pending_restart.take().is_some();
                }
                if let Some(remote) = remote {
                    if let Some(creds) = self.pending_restart.take() {
                        // Our restart offer is answered: new credentials on
                        // both sides from now on.
                        self.agent.restart_with(now, creds);
                        self.local_candidates.clear();
                        if let Some(r) = &mut self.remote {
                            r.ufrag.clear();
                        }
                    }
                    if self.dtls_role.is_none() {
                        self.dtls_role = Some(jsep::dtls_role(remote.setup, false));
                    }
                    unresolved = self.apply_remote_transport(now, remote);
                }
                if desc.kind == SdpType::Answer {
                    self.current_remote = Some(Applied { desc, parsed });
                    self.pending_remote = None;
                    if let Some(l) = self.pending_local.take() {
                        self.current_local = Some(l);
                    }
                    self.sections = sections.clone();
                    self.pending_sections = None;
                    self.set_signaling(SignalingState::Stable);
                } else {
                    self.pending_remote = Some(Applied { desc, parsed });
                    self.set_signaling(SignalingState::HaveRemotePranswer);
                }
                self.apply_transport(now, &sections, true);
                self.negotiation_needed = false;
                self.update_negotiation_needed();
            }
        }
        self.drive(now);
        Ok(unresolved)
    }

    /// ICE credentials, lite mode and candidates of the peer.
    fn apply_remote_transport(&mut self, now: Instant, remote: RemoteTransport) -> Vec<(Candidate, String)> {
        let restart = self.remote.as_ref().is_some_and(|r| r.ufrag != remote.ufrag || r.pwd != remote.pwd);
        // Only a remote offer can restart ICE; an answer (or a final answer
        // after a pranswer) with new credentials follows our offer's.
        let remote_offer =
            !matches!(self.signaling, SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer);
        if restart && remote_offer {
            // The peer restarts ICE: we answer with new credentials too.
            self.agent.restart(now);
            self.local_candidates.clear();
        }
        if self.remote.as_ref().is_none_or(|r| r.ufrag != remote.ufrag || r.pwd != remote.pwd) {
            self.agent.set_remote_credentials(now, &remote.ufrag, &remote.pwd);
        }
        if remote.ice_lite {
            self.agent.set_remote_lite(true);
        }
        let mut unresolved = Vec::new();
        // A description is the peer's text: read at most as many candidates
        // as the agent keeps, and report what was skipped once.
        let cap = self.config.ice.max_remote_candidates;
        let (mut bad, mut first_error) = (0usize, None);
        for line in remote.candidates.iter().take(cap) {
            match Candidate::parse_unresolved(line) {
                Ok((c, None)) => self.agent.add_remote_candidate(now, c),
                Ok((c, Some(name))) => unresolved.push((c, name)),
                Err(e) => {
                    bad += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
        let skipped = remote.candidates.len().saturating_sub(cap);
        if let Some(e) = first_error {
            self.events.push_back(PeerEvent::Warning(format!("{bad} remote candidate(s) ignored, the first: {e}")));
        }
        if skipped > 0 {
            self.events.push_back(PeerEvent::Warning(format!(
                "remote description has {} candidates; the {skipped} past the first {cap} were ignored",
                remote.candidates.len()
            )));
        }
        if remote.end_of_candidates && unresolved.is_empty() {
            self.agent.end_of_remote_candidates(now);
        }
        if let Some(dc) = &mut self.channels {
            dc.association_mut().set_remote_max_message_size(remote.max_message_size);
        }
        self.remote = Some(remote);
        unresolved
    }

    /// `addIceCandidate`: a remote candidate (resolved), or `None` for
    /// end-of-candidates.
    pub fn add_ice_candidate(&mut self, now: Instant, candidate: Option<Candidate>) -> Result<(), PeerError> {
        self.check_open()?;
        if self.remote.is_none() && self.pending_remote.is_none() && self.current_remote.is_none() {
            return Err(PeerError::InvalidState(
                "addIceCandidate before a remote description; set the remote description first".into(),
            ));
        }
        match candidate {
            Some(c) => self.agent.add_remote_candidate(now, c),
            None => self.agent.end_of_remote_candidates(now),
        }
        self.drive(now);
        Ok(())
    }

    /// `restartIce`: the next offer carries new ICE credentials.
    pub fn restart_ice(&mut self) {
        if self.signaling == SignalingState::Closed {
            return;
        }
        self.restart_pending = true;
        self.update_negotiation_needed();
    }

    fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.events.push_back(PeerEvent::SignalingStateChange(s));
        }
    }

    fn update_negotiation_needed(&mut self) {
        let has_data = self.sections.iter().any(|s| s.data);
        let needed = (self.want_data && !has_data) || self.restart_pending;
        if !needed {
            self.negotiation_needed = false;
            return;
        }
        if self.signaling == SignalingState::Stable && !self.negotiation_needed {
            self.negotiation_needed = true;
            self.events.push_back(PeerEvent::NegotiationNeeded);
        }
    }

    fn start_gathering(&mut self, now: Instant) {
        if self.agent_started {
            return;
        }
        self.agent_started = true;
        let hosts = self.hosts.clone();
        self.agent.start_gathering(now, &hosts);
    }

    /// After an exchange: start DTLS if a data section is negotiated.
    /// `answered_by_peer`: this exchange was our offer and the peer's answer.
    fn apply_transport(&mut self, now: Instant, sections: &[Section], answered_by_peer: bool) {
        let has_data = sections.iter().any(|s| s.data);
        if !has_data {
            // Only the peer's answer to our offer can reject our data
            // section; an offer of its own that lacks one leaves our
            // channels waiting for the next negotiation.
            let offered_data = self.last_offer.as_ref().is_some_and(|(_, s)| s.iter().any(|s| s.data));
            if answered_by_peer
                && offered_data
                && self.want_data
                && self.signaling == SignalingState::Stable
                && self.channels.is_none()
            {
                // The peer rejected data channels.
                let handles: Vec<ChannelHandle> = self.slots.keys().copied().collect();
                for h in handles {
                    self.slots.remove(&h);
                    self.events.push_back(PeerEvent::ChannelClosed(h));
                }
                self.want_data = false;
            }
            return;
        }
        if self.dtls.is_some() {
            return;
        }
        let (Some(role), Some(remote)) = (self.dtls_role, self.remote.as_ref()) else { return };
        let mut config = dtls::DtlsConfig::new(role, self.certificate.clone(), remote.fingerprints.clone());
        config.version = self.config.dtls_version;
        config.engine = self.config.dtls_engine;
        config.handshake_timeout = self.config.dtls_handshake_timeout;
        match dtls::DtlsTransport::new(now, config) {
            Ok(t) => {
                self.dtls = Some(t);
                self.dtls_state = DtlsTransportState::Connecting;
                for d in std::mem::take(&mut self.early_dtls) {
                    if let Some(t) = &mut self.dtls {
                        t.handle_receive(now, &d);
                    }
                }
            }
            Err(e) => {
                self.dtls_state = DtlsTransportState::Failed;
                self.events.push_back(PeerEvent::Warning(format!("DTLS not started: {e}")));
            }
        }
        self.update_state();
    }

    // ---- data channels ----

    /// `createDataChannel`. The channel opens
    /// ([`PeerEvent::ChannelOpen`]) once negotiated and connected; the
    /// first one fires [`PeerEvent::NegotiationNeeded`].
    pub fn create_data_channel(&mut self, now: Instant, init: ChannelInit) -> Result<ChannelHandle, PeerError> {
        self.check_open()?;
        datachannel::dcep::Message::Open(datachannel::dcep::Open {
            unordered: !init.ordered,
            reliability: init.reliability,
            priority: init.priority,
            label: init.label.clone(),
            protocol: init.protocol.clone(),
        })
        .encode()
        .map_err(|e| PeerError::DataChannel(e.into()))?;
        let handle = ChannelHandle(self.next_handle);
        self.next_handle += 1;
        match &mut self.channels {
            Some(dc) => {
                let id = dc.create(now, init).map_err(PeerError::DataChannel)?;
                self.slots.insert(handle, Slot::Stream(id));
                self.by_stream.insert(id, handle);
            }
            None => {
                self.slots.insert(handle, Slot::Pending(init));
            }
        }
        self.want_data = true;
        self.update_negotiation_needed();
        self.drive(now);
        Ok(handle)
    }

    fn stream_of(&self, h: ChannelHandle) -> Result<u16, PeerError> {
        match self.slots.get(&h) {
            Some(Slot::Stream(id)) => Ok(*id),
            Some(Slot::Pending(_)) => Err(PeerError::DataChannel(datachannel::DataChannelError::NotOpen {
                id: u16::MAX,
                state: ReadyState::Connecting,
            })),
            None => Err(PeerError::NoSuchChannel(h)),
        }
    }

    /// `RTCDataChannel.send`: text (`binary == false`) or bytes.
    pub fn send(&mut self, now: Instant, h: ChannelHandle, data: Bytes, binary: bool) -> Result<(), PeerError> {
        let id = self.stream_of(h)?;
        let dc = self.channels.as_mut().ok_or(PeerError::NoSuchChannel(h))?;
        dc.send(now, id, data, binary).map_err(PeerError::DataChannel)?;
        // Packets are made when the caller next polls, so that messages sent
        // back to back share SCTP packets (bundling) and DTLS records.
        self.pending_drive = Some(now);
        Ok(())
    }

    /// `RTCDataChannel.close`.
    pub fn close_channel(&mut self, now: Instant, h: ChannelHandle) {
        match self.slots.get(&h) {
            Some(Slot::Pending(_)) => {
                self.slots.remove(&h);
                self.events.push_back(PeerEvent::ChannelClosed(h));
            }
            Some(Slot::Stream(id)) => {
                let id = *id;
                if let Some(dc) = &mut self.channels {
                    dc.close(now, id);
                }
                self.drive(now);
            }
            None => {}
        }
    }

    /// `RTCDataChannel.readyState`; `None` once closed and forgotten.
    pub fn channel_state(&self, h: ChannelHandle) -> Option<ReadyState> {
        match self.slots.get(&h)? {
            Slot::Pending(_) => Some(ReadyState::Connecting),
            Slot::Stream(id) => self.channels.as_ref().and_then(|dc| dc.ready_state(*id)),
        }
    }

    /// The channel's label, protocol, id (once known) and reliability.
    pub fn channel_info(&self, h: ChannelHandle) -> Option<ChannelInfo> {
        match self.slots.get(&h)? {
            Slot::Pending(init) => Some(ChannelInfo {
                id: u16::MAX,
                label: init.label.clone(),
                protocol: init.protocol.clone(),
                ordered: init.ordered,
                reliability: init.reliability,
                priority: init.priority,
                negotiated: init.negotiated.is_some(),
            }),
            Slot::Stream(id) => self.channels.as_ref().and_then(|dc| dc.info(*id).cloned()),
        }
    }

    /// `RTCDataChannel.bufferedAmount`.
    pub fn buffered_amount(&self, h: ChannelHandle) -> usize {
        match (self.slots.get(&h), &self.channels) {
            (Some(Slot::Stream(id)), Some(dc)) => dc.buffered_amount(*id),
            _ => 0,
        }
    }

    /// `RTCDataChannel.bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, h: ChannelHandle, threshold: usize) {
        if let (Some(Slot::Stream(id)), Some(dc)) = (self.slots.get(&h), &mut self.channels) {
            dc.set_buffered_amount_low_threshold(*id, threshold);
        }
    }

    // ---- close ----

    /// `close`: channels close, DTLS sends close_notify, ICE stops. Drain
    /// [`poll_transmit`](Self::poll_transmit) once more.
    pub fn close(&mut self, now: Instant) {
        if self.signaling == SignalingState::Closed {
            return;
        }
        if let Some(dc) = &mut self.channels {
            dc.association_mut().abort(now);
        }
        self.flush_sctp(now);
        for h in std::mem::take(&mut self.slots).into_keys() {
            self.events.push_back(PeerEvent::ChannelClosed(h));
        }
        self.channels = None;
        if let Some(d) = &mut self.dtls {
            d.close(now);
        }
        self.flush_dtls();
        self.agent.close(now);
        self.signaling = SignalingState::Closed;
        self.dtls_state = DtlsTransportState::Closed;
        self.update_state();
        self.events.push_back(PeerEvent::SignalingStateChange(SignalingState::Closed));
    }

    // ---- I/O ----

    /// A datagram received on local socket `local` from `source`.
    pub fn handle_receive(&mut self, now: Instant, local: SocketAddr, source: SocketAddr, data: &[u8]) {
        if let Received::Data(d) = self.agent.handle_receive(now, local, source, data) {
            self.on_data(now, d.to_vec());
        }
        self.drive(now);
    }

    /// A frame from a TURN server reached over TCP or TLS.
    pub fn handle_stream_frame(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, frame: &[u8]) {
        if let Received::Data(d) = self.agent.handle_stream_frame(now, server, transport, frame) {
            self.on_data(now, d.to_vec());
        }
        self.drive(now);
    }

    /// The TURN servers to reach over TCP or TLS (open one connection each).
    pub fn turn_streams(&self) -> Vec<(SocketAddr, TurnTransport)> {
        self.agent.turn_streams()
    }

    /// A TCP/TLS connection to a TURN server failed.
    pub fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, reason: &str) {
        self.agent.turn_stream_failed(now, server, transport, reason);
        self.drive(now);
    }

    fn on_data(&mut self, now: Instant, d: Vec<u8>) {
        if stun::classify(&d) != stun::PacketKind::Dtls {
            debug!(len = d.len(), "non-DTLS datagram dropped (media is not supported yet)");
            return;
        }
        match &mut self.dtls {
            Some(t) => t.handle_receive(now, &d),
            None => {
                if self.early_dtls.len() < EARLY_DATAGRAMS {
                    self.early_dtls.push(d);
                }
            }
        }
    }

    /// Call when [`poll_timeout`](Self::poll_timeout) is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
        if let Some(d) = &mut self.dtls {
            d.handle_timeout(now);
        }
        if let Some(dc) = &mut self.channels {
            dc.handle_timeout(now);
        }
        self.drive(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.pending_drive,
            self.agent.poll_timeout(),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.channels.as_ref().and_then(|c| c.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.transmits.is_empty() {
            if let Some(now) = self.pending_drive.take() {
                self.drive(now);
            }
        }
        self.transmits.pop_front().or_else(|| self.agent.poll_transmit())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        if let Some(now) = self.pending_drive.take() {
            self.drive(now);
        }
        self.events.pop_front()
    }

    /// Moves output between the engines until none has anything more.
    fn drive(&mut self, now: Instant) {
        self.pending_drive = None;
        for _ in 0..16 {
            let mut busy = false;
            while let Some(e) = self.agent.poll_event() {
                busy = true;
                self.on_ice_event(e);
            }
            while let Some(e) = self.dtls.as_mut().and_then(|d| d.poll_event()) {
                busy = true;
                self.on_dtls_event(now, e);
            }
            busy |= self.flush_sctp(now);
            busy |= self.flush_dtls();
            if !busy {
                break;
            }
        }
    }

    /// SCTP packets into DTLS, data channel events out. True if anything moved.
    fn flush_sctp(&mut self, now: Instant) -> bool {
        let Some(dc) = &mut self.channels else { return false };
        let mut busy = false;
        while let Some(p) = dc.poll_transmit(now) {
            busy = true;
            if let Some(d) = &mut self.dtls {
                if let Err(e) = d.send(&p) {
                    debug!(error = %e, "SCTP packet dropped");
                }
            }
        }
        let mut events = Vec::new();
        while let Some(e) = dc.poll_event() {
            events.push(e);
        }
        busy |= !events.is_empty();
        for e in events {
            self.on_channel_event(e);
        }
        busy
    }

    /// DTLS datagrams to ICE (held while ICE has no pair).
    fn flush_dtls(&mut self) -> bool {
        let mut busy = false;
        let has_pair = self.agent.selected_pair().is_some();
        if let Some(d) = &mut self.dtls {
            while let Some(t) = d.poll_transmit() {
                busy = true;
                // Only what waits for a pair is capped: with a pair every
                // datagram goes out below (SCTP's windows bound the burst).
                if has_pair || self.dtls_out.len() < EARLY_DATAGRAMS {
                    self.dtls_out.push_back(t);
                }
            }
        }
        if has_pair {
            while let Some(d) = self.dtls_out.pop_front() {
                match self.agent.send(&d) {
                    Ok(t) => self.transmits.push_back(t),
                    Err(e) => debug!(error = %e, "DTLS datagram dropped"),
                }
            }
        }
        busy
    }

    fn on_ice_event(&mut self, e: IceEvent) {
        // W3C order: "gathering" before the first candidate.
        if self.gathering == GatheringState::New && self.agent.gathering_state() != GatheringState::New {
            self.gathering = GatheringState::Gathering;
            self.events.push_back(PeerEvent::IceGatheringStateChange(GatheringState::Gathering));
        }
        match e {
            IceEvent::LocalCandidate(c) => {
                let line = c.to_sdp();
                self.local_candidates.push(line.clone());
                if let Some((i, s)) = self.transport_section() {
                    self.events.push_back(PeerEvent::IceCandidate(Some(IceCandidate {
                        candidate: line,
                        sdp_mid: s,
                        sdp_m_line_index: i,
                    })));
                }
            }
            IceEvent::GatheringComplete => {
                self.events.push_back(PeerEvent::IceCandidate(None));
                if self.gathering != GatheringState::Complete {
                    self.gathering = GatheringState::Complete;
                    self.events.push_back(PeerEvent::IceGatheringStateChange(GatheringState::Complete));
                }
            }
            IceEvent::StateChanged(s) => {
                if s != self.ice_state {
                    self.ice_state = s;
                    self.events.push_back(PeerEvent::IceConnectionStateChange(s));
                    self.update_state();
                }
            }
            IceEvent::ServerError { server, code, text } => {
                self.events.push_back(PeerEvent::Warning(format!("ICE server {server}: {code} {text}")));
            }
            IceEvent::SelectedPairChanged { .. } | IceEvent::RoleChanged(_) => {}
        }
    }

    /// The section whose transport is used (the BUNDLE tag): mid and index.
    fn transport_section(&self) -> Option<(u16, String)> {
        let sections = self.pending_sections.as_ref().unwrap_or(&self.sections);
        sections.iter().enumerate().find(|(_, s)| s.data).map(|(i, s)| (i as u16, s.mid.clone()))
    }

    fn on_dtls_event(&mut self, now: Instant, e: dtls::DtlsEvent) {
        match e {
            dtls::DtlsEvent::Connected { remote_certificate_der, .. } => {
                self.remote_certificate = Some(remote_certificate_der);
                self.dtls_state = DtlsTransportState::Connected;
                self.start_sctp(now);
                self.update_state();
            }
            dtls::DtlsEvent::Data(d) => {
                if let Some(dc) = &mut self.channels {
                    // The record's buffer becomes the messages' (no copy).
                    dc.handle_receive_bytes(now, Bytes::from(d));
                }
            }
            dtls::DtlsEvent::Closed => {
                self.dtls_state = DtlsTransportState::Closed;
                self.update_state();
            }
            dtls::DtlsEvent::Failed(e) => {
                self.dtls_state = DtlsTransportState::Failed;
                self.events.push_back(PeerEvent::Warning(format!("DTLS failed: {e}")));
                self.update_state();
            }
        }
    }

    fn start_sctp(&mut self, now: Instant) {
        if self.channels.is_some() {
            return;
        }
        let Some(role) = self.dtls_role else { return };
        let remote = self.remote.as_ref();
        let config = sctp::SctpConfig {
            local_port: 5000,
            remote_port: remote.map_or(5000, |r| r.sctp_port),
            max_message_size: self.config.max_message_size,
            remote_max_message_size: remote.map_or(65536, |r| r.max_message_size),
            send_buffer_limit: self.config.send_buffer_limit,
            seed: self.rng.gen(),
            ..self.config.sctp.clone()
        };
        let mut dc = DataChannels::new(sctp::Association::new(now, config), role == dtls::Role::Client);
        // Both ends send INIT whatever the roles, as libwebrtc and Pion do, so that a peer
        // that waits for ours (werift when ICE-controlled) connects; SCTP resolves the
        // collision (RFC 9260 5.2).
        dc.connect(now);
        let pending: Vec<(ChannelHandle, ChannelInit)> = self
            .slots
            .iter()
            .filter_map(|(h, s)| match s {
                Slot::Pending(init) => Some((*h, init.clone())),
                Slot::Stream(_) => None,
            })
            .collect();
        for (h, init) in pending {
            match dc.create(now, init) {
                Ok(id) => {
                    self.slots.insert(h, Slot::Stream(id));
                    self.by_stream.insert(id, h);
                }
                Err(e) => {
                    self.events.push_back(PeerEvent::Warning(format!("data channel not created: {e}")));
                    self.slots.remove(&h);
                    self.events.push_back(PeerEvent::ChannelClosed(h));
                }
            }
        }
        self.channels = Some(dc);
    }

    fn on_channel_event(&mut self, e: DataChannelEvent) {
        let handle = |s: &Self, id: u16| s.by_stream.get(&id).copied();
        match e {
            DataChannelEvent::Connected => {}
            DataChannelEvent::Incoming(info) => {
                let h = ChannelHandle(self.next_handle);
                self.next_handle += 1;
                self.slots.insert(h, Slot::Stream(info.id));
                self.by_stream.insert(info.id, h);
                self.events.push_back(PeerEvent::DataChannel(h, info));
            }
            DataChannelEvent::Open(id) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(PeerEvent::ChannelOpen(h));
                }
            }
            DataChannelEvent::Message { id, data, binary } => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(PeerEvent::ChannelMessage { channel: h, data, binary });
                }
            }
            DataChannelEvent::BufferedAmountLow(id) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(PeerEvent::ChannelBufferedAmountLow(h));
                }
            }
            DataChannelEvent::Closing(id) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(PeerEvent::ChannelClosing(h));
                }
            }
            DataChannelEvent::Closed(id) => {
                if let Some(h) = self.by_stream.remove(&id) {
                    self.slots.remove(&h);
                    self.events.push_back(PeerEvent::ChannelClosed(h));
                }
            }
            DataChannelEvent::Error(id, reason) => {
                if let Some(h) = handle(self, id) {
                    self.events.push_back(PeerEvent::ChannelError(h, reason));
                }
            }
            DataChannelEvent::AssociationClosed { reason } => {
                if let Some(r) = reason {
                    self.events.push_back(PeerEvent::Warning(format!("SCTP association ended: {r}")));
                }
            }
        }
    }

    fn update_state(&mut self) {
        let ice = self.ice_state;
        let s = if self.signaling == SignalingState::Closed {
            PeerConnectionState::Closed
        } else if ice == IceTransportState::Failed || self.dtls_state == DtlsTransportState::Failed {
            PeerConnectionState::Failed
        } else if ice == IceTransportState::Disconnected {
            PeerConnectionState::Disconnected
        } else if matches!(ice, IceTransportState::Connected | IceTransportState::Completed)
            // W3C: "connected" when every transport is connected, completed
            // or closed; a peer's close_notify is not a reason to go back to
            // "connecting" (ICE consent then notices the peer is gone).
            && matches!(self.dtls_state, DtlsTransportState::Connected | DtlsTransportState::New | DtlsTransportState::Closed)
        {
            if self.dtls_state == DtlsTransportState::New && self.dtls.is_none() && self.sections.iter().any(|s| s.data)
            {
                PeerConnectionState::Connecting
            } else {
                PeerConnectionState::Connected
            }
        } else if ice == IceTransportState::New && self.dtls_state == DtlsTransportState::New {
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

fn parse(desc: &SessionDescription) -> Result<sdp::SessionDescription, PeerError> {
    sdp::SessionDescription::parse(&desc.sdp).map_err(|e| PeerError::InvalidDescription(format!("{e}")))
}
