//! The negotiation part of a peer connection: the W3C signaling state
//! machine over JSEP descriptions. It decides what is negotiated and never
//! touches a transport; the connection applies its decisions.

use std::collections::VecDeque;

use crate::config::{SdpType, SessionDescription, SignalingState};
use crate::jsep::{self, Section};
use crate::media::MediaSection;
use crate::PeerError;

/// A description as applied, with its parsed form.
#[derive(Clone)]
pub(crate) struct Applied {
    pub desc: SessionDescription,
    pub parsed: sdp::SessionDescription,
}

/// Signaling state, descriptions and sections.
pub(crate) struct Negotiation {
    pub session_id: u64,
    version: u64,
    pub signaling: SignalingState,
    changes: VecDeque<SignalingState>,
    pub current_local: Option<Applied>,
    pub pending_local: Option<Applied>,
    pub current_remote: Option<Applied>,
    pub pending_remote: Option<Applied>,
    /// Sections as negotiated by the last completed exchange.
    pub sections: Vec<Section>,
    /// Sections of the exchange in progress.
    pub pending_sections: Option<Vec<Section>>,
    /// Sections as the peer's provisional answer left them.
    provisional: Option<Vec<Section>>,
    /// The last offer `createOffer` returned, its sections and the new ICE
    /// credentials it carries (a restart). Gone once another exchange
    /// starts or completes: an old offer can no longer be set.
    pub last_offer: Option<(String, Vec<Section>, Option<ice::Credentials>)>,
    /// Our last offer set carried a data section.
    offered_data: bool,
    /// The last answer `createAnswer` returned.
    pub last_answer: Option<String>,
    /// The new ICE credentials of that answer (the peer's offer restarted ICE).
    pub answer_restart: Option<ice::Credentials>,
    /// The credentials of our pending restart offer, applied with the answer.
    pub pending_restart: Option<ice::Credentials>,
    /// `restartIce` was called, or a restart offer was rolled back.
    pub restart_pending: bool,
    /// `negotiationneeded` fired and is not met yet.
    pub negotiation_needed: bool,
}

impl Negotiation {
    pub fn new(session_id: u64) -> Self {
        Negotiation {
            session_id,
            version: 1,
            signaling: SignalingState::Stable,
            changes: VecDeque::new(),
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            sections: Vec::new(),
            pending_sections: None,
            provisional: None,
            last_offer: None,
            offered_data: false,
            last_answer: None,
            answer_restart: None,
            pending_restart: None,
            restart_pending: false,
            negotiation_needed: false,
        }
    }

    fn set_signaling(&mut self, s: SignalingState) {
        if self.signaling != s {
            self.signaling = s;
            self.changes.push_back(s);
        }
    }

    /// The next signaling state change to announce.
    pub fn take_signaling_change(&mut self) -> Option<SignalingState> {
        self.changes.pop_front()
    }

    pub fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    pub fn local(&self) -> Option<&Applied> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }

    pub fn remote(&self) -> Option<&Applied> {
        self.pending_remote.as_ref().or(self.current_remote.as_ref())
    }

    /// The sections the transport follows now.
    pub fn negotiated(&self) -> &[Section] {
        self.provisional.as_ref().or(self.pending_sections.as_ref()).unwrap_or(&self.sections)
    }

    /// Our last offer carried a data section.
    pub fn offered_data(&self) -> bool {
        self.offered_data
    }

    /// The section whose transport is used (the BUNDLE tag: the first
    /// accepted one): its index and mid.
    pub fn transport_section(&self) -> Option<(u16, String)> {
        let sections = self.pending_sections.as_ref().unwrap_or(&self.sections);
        sections.iter().enumerate().find(|(_, s)| s.is_accepted()).map(|(i, s)| (i as u16, s.mid.clone()))
    }

    pub fn check_open(&self) -> Result<(), PeerError> {
        if self.signaling == SignalingState::Closed {
            return Err(PeerError::Closed);
        }
        Ok(())
    }

    pub fn check_can_offer(&self) -> Result<(), PeerError> {
        self.check_open()?;
        if !matches!(self.signaling, SignalingState::Stable | SignalingState::HaveLocalOffer) {
            return Err(PeerError::InvalidState(format!(
                "createOffer in signaling state {:?}; answer the remote offer first or roll it back",
                self.signaling
            )));
        }
        Ok(())
    }

    pub fn check_can_answer(&self) -> Result<(), PeerError> {
        self.check_open()?;
        if !matches!(self.signaling, SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer) {
            return Err(PeerError::InvalidState(format!(
                "createAnswer in signaling state {:?}; set a remote offer first",
                self.signaling
            )));
        }
        Ok(())
    }

    /// The sections of a new offer: those negotiated, with `media` (our
    /// transceivers' sections by mid) replacing theirs or appended, plus a
    /// data section when channels want one and none exists.
    pub fn offer_sections(
        &self,
        want_data: bool,
        media: &[(usize, String, sdp::MediaKind, MediaSection)],
    ) -> Vec<Section> {
        let mut sections = self.sections.clone();
        for (_, mid, kind, m) in media {
            let section = Section::media(mid.clone(), kind.clone(), m.clone());
            match sections.iter_mut().find(|s| s.mid == *mid) {
                Some(s) => *s = section,
                None => sections.push(section),
            }
        }
        if want_data && !sections.iter().any(|s| s.is_data()) {
            let mut n = sections.len();
            while sections.iter().any(|s| s.mid == n.to_string()) {
                n += 1;
            }
            sections.push(Section::data_channel(n.to_string()));
        }
        sections
    }

    /// `setLocalDescription(offer)`: the offer must be the last one
    /// created. Returns its restart credentials, if any.
    pub fn set_local_offer(&mut self, desc: &SessionDescription) -> Result<Option<ice::Credentials>, PeerError> {
        if !matches!(self.signaling, SignalingState::Stable | SignalingState::HaveLocalOffer) {
            return Err(PeerError::InvalidState(format!("local offer in signaling state {:?}", self.signaling)));
        }
        let (sections, restart) =
            match &self.last_offer {
                Some((sdp, sections, restart)) if *sdp == desc.sdp => (sections.clone(), restart.clone()),
                _ => return Err(PeerError::InvalidModification(
                    "the local offer is not the last one createOffer returned (or another exchange happened since); \
                     create a new offer and pass it unmodified"
                        .into(),
                )),
            };
        let parsed = parse(desc)?;
        self.pending_local = Some(Applied { desc: desc.clone(), parsed });
        self.offered_data = sections.iter().any(|s| s.is_data());
        self.pending_sections = Some(sections);
        if restart.is_some() {
            self.restart_pending = false;
        }
        self.set_signaling(SignalingState::HaveLocalOffer);
        Ok(restart)
    }

    /// `setLocalDescription(answer | pranswer)`: the answer must be the last
    /// one created.
    pub fn set_local_answer(&mut self, desc: &SessionDescription) -> Result<(), PeerError> {
        if !matches!(self.signaling, SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer) {
            return Err(PeerError::InvalidState(format!("local answer in signaling state {:?}", self.signaling)));
        }
        if self.last_answer.as_deref() != Some(desc.sdp.as_str()) {
            return Err(PeerError::InvalidModification(
                "the local answer is not the last one createAnswer returned; pass it unmodified".into(),
            ));
        }
        let parsed = parse(desc)?;
        let applied = Applied { desc: desc.clone(), parsed };
        if desc.kind == SdpType::Answer {
            self.current_local = Some(applied);
            self.pending_local = None;
            if let Some(r) = self.pending_remote.take() {
                self.current_remote = Some(r);
            }
            self.sections = self.pending_sections.take().unwrap_or_default();
            self.last_offer = None;
            self.set_signaling(SignalingState::Stable);
        } else {
            self.pending_local = Some(applied);
            self.set_signaling(SignalingState::HaveLocalPranswer);
        }
        Ok(())
    }

    /// `setLocalDescription(rollback)`.
    pub fn rollback_local(&mut self) -> Result<(), PeerError> {
        if self.signaling != SignalingState::HaveLocalOffer {
            return Err(PeerError::InvalidState(format!(
                "rollback of a local offer in signaling state {:?}",
                self.signaling
            )));
        }
        self.drop_local_offer();
        Ok(())
    }

    fn drop_local_offer(&mut self) {
        self.pending_local = None;
        self.pending_sections = None;
        // A rolled-back restart is still wanted.
        self.keep_restart_for_later();
        self.set_signaling(SignalingState::Stable);
    }

    /// `setRemoteDescription(rollback)`.
    pub fn rollback_remote(&mut self) -> Result<(), PeerError> {
        if self.signaling != SignalingState::HaveRemoteOffer {
            return Err(PeerError::InvalidState(format!(
                "rollback of a remote offer in signaling state {:?}",
                self.signaling
            )));
        }
        self.pending_remote = None;
        self.pending_sections = None;
        self.last_answer = None;
        self.answer_restart = None;
        self.set_signaling(SignalingState::Stable);
        Ok(())
    }

    /// Checks a remote offer without changing anything: parsed, and the
    /// sections as we would answer them (`media` answers the media sections:
    /// one entry per m-section, `None` for those it does not take).
    pub fn check_remote_offer(
        &self,
        desc: &SessionDescription,
        media: &dyn Fn(&sdp::SessionDescription) -> Vec<Option<MediaSection>>,
    ) -> Result<(sdp::SessionDescription, Vec<Section>), PeerError> {
        if !matches!(
            self.signaling,
            SignalingState::Stable | SignalingState::HaveRemoteOffer | SignalingState::HaveLocalOffer
        ) {
            return Err(PeerError::InvalidState(format!("remote offer in signaling state {:?}", self.signaling)));
        }
        let parsed = parse(desc)?;
        let mut answers = media(&parsed);
        let sections = jsep::answer_sections(&parsed, &self.sections, &mut |i, _| answers.get_mut(i)?.take())?;
        Ok((parsed, sections))
    }

    /// Applies a checked remote offer (glare: our offer is rolled back).
    pub fn set_remote_offer(&mut self, desc: SessionDescription, parsed: sdp::SessionDescription, s: Vec<Section>) {
        if self.signaling == SignalingState::HaveLocalOffer {
            // Glare: the W3C implicit rollback of our offer.
            self.drop_local_offer();
        }
        self.pending_remote = Some(Applied { desc, parsed });
        self.pending_sections = Some(s);
        self.last_offer = None;
        self.set_signaling(SignalingState::HaveRemoteOffer);
    }

    /// Checks the peer's answer to our offer: parsed, and the sections as
    /// negotiated.
    pub fn check_remote_answer(
        &self,
        desc: &SessionDescription,
    ) -> Result<(sdp::SessionDescription, Vec<Section>), PeerError> {
        if !matches!(self.signaling, SignalingState::HaveLocalOffer | SignalingState::HaveRemotePranswer) {
            return Err(PeerError::InvalidState(format!("remote answer in signaling state {:?}", self.signaling)));
        }
        let parsed = parse(desc)?;
        let offered = self.pending_sections.as_deref().unwrap_or_default();
        let sections = jsep::apply_answer(offered, &parsed)?;
        Ok((parsed, sections))
    }

    /// Applies a checked remote answer or pranswer.
    pub fn set_remote_answer(&mut self, desc: SessionDescription, parsed: sdp::SessionDescription, s: Vec<Section>) {
        let kind = desc.kind;
        let applied = Applied { desc, parsed };
        if kind == SdpType::Answer {
            self.current_remote = Some(applied);
            self.pending_remote = None;
            if let Some(l) = self.pending_local.take() {
                self.current_local = Some(l);
            }
            self.sections = s;
            self.pending_sections = None;
            self.provisional = None;
            self.last_offer = None;
            self.set_signaling(SignalingState::Stable);
        } else {
            self.pending_remote = Some(applied);
            self.provisional = Some(s);
            self.set_signaling(SignalingState::HaveRemotePranswer);
        }
    }

    /// A restart that could not happen now (rolled back, or nothing to
    /// restart on) is asked for again in the next offer.
    pub fn keep_restart_for_later(&mut self) {
        self.restart_pending |= self.pending_restart.take().is_some();
    }
}

fn parse(desc: &SessionDescription) -> Result<sdp::SessionDescription, PeerError> {
    sdp::SessionDescription::parse(&desc.sdp).map_err(|e| PeerError::InvalidDescription(format!("{e}")))
}
