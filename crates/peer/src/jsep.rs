//! Writing our descriptions and reading the peer's (JSEP, RFC 9429).

use sdp::{Attribute, Group, MediaDescription, MediaKind, Origin, SessionDescription, Setup};

use crate::media::{self, MediaSection};
use crate::PeerError;

/// What an m-section carries once negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Use {
    /// Our data channels (SCTP over the section's DTLS transport).
    Data,
    /// RTP media (audio or video) of one transceiver.
    Media(MediaSection),
    /// Port 0: kept for its mid and its place, carries nothing.
    Rejected,
}

/// One m-section as negotiated, in m-line order (which never changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    pub mid: String,
    pub kind: MediaKind,
    pub protocol: String,
    pub formats: Vec<String>,
    pub used: Use,
}

impl Section {
    /// Our data channel section with a fresh mid.
    pub fn data_channel(mid: String) -> Self {
        Section {
            mid,
            kind: MediaKind::Application,
            protocol: sdp::PROTO_DATA_CHANNEL.into(),
            formats: vec![sdp::FORMAT_DATA_CHANNEL.into()],
            used: Use::Data,
        }
    }

    /// An audio or video section of one transceiver.
    pub fn media(mid: String, kind: MediaKind, m: MediaSection) -> Self {
        Section { mid, kind, protocol: sdp::PROTO_RTP.into(), formats: m.formats(), used: Use::Media(m) }
    }

    /// Carries our data channels.
    pub fn is_data(&self) -> bool {
        self.used == Use::Data
    }

    /// Accepted (data or media): needs the transport.
    pub fn is_accepted(&self) -> bool {
        self.used != Use::Rejected
    }

    /// Legacy `DTLS/SCTP 5000` with `a=sctpmap` (pre-RFC 8841 peers).
    pub fn is_legacy_sctp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("DTLS/SCTP")
    }
}

/// What goes into every accepted section of a description we write.
pub(crate) struct LocalTransport<'a> {
    pub ufrag: &'a str,
    pub pwd: &'a str,
    pub fingerprint: &'a sdp::Fingerprint,
    pub setup: Setup,
    pub candidates: &'a [String],
    pub end_of_candidates: bool,
    pub ice_lite: bool,
    pub max_message_size: usize,
}

/// Writes a description of `sections`.
pub(crate) fn write(
    session_id: u64,
    version: u64,
    sections: &[Section],
    bundle: bool,
    t: &LocalTransport<'_>,
) -> SessionDescription {
    let mut origin = Origin::new(session_id, version);
    origin.address = "127.0.0.1".into();
    let mut s = SessionDescription::new(origin);
    if t.ice_lite {
        s.set_ice_lite(true);
    }
    let accepted: Vec<&str> = sections.iter().filter(|m| m.is_accepted()).map(|m| m.mid.as_str()).collect();
    if bundle && !accepted.is_empty() {
        s.add_group(&Group { semantics: "BUNDLE".into(), mids: accepted.iter().map(|m| m.to_string()).collect() });
    }
    s.attributes.push(Attribute::new("msid-semantic", " WMS"));
    for section in sections {
        let formats: Vec<&str> = section.formats.iter().map(String::as_str).collect();
        if !section.is_accepted() {
            let mut m = MediaDescription::new(section.kind.clone(), 0, &section.protocol, &formats);
            m.connection = Some(sdp::Connection::unspecified());
            m.set_mid(&section.mid);
            s.media.push(m);
            continue;
        }
        let mut m = MediaDescription::new(section.kind.clone(), 9, &section.protocol, &formats);
        m.connection = Some(sdp::Connection::unspecified());
        m.set_ice_ufrag(t.ufrag).set_ice_pwd(t.pwd).set_ice_options(&["trickle"]);
        m.add_fingerprint(t.fingerprint).set_setup(t.setup).set_mid(&section.mid);
        match &section.used {
            Use::Media(media) => media::write(&mut m, media),
            _ if section.is_legacy_sctp() => {
                let port = section.formats.first().cloned().unwrap_or_else(|| "5000".into());
                m.add_attribute(Attribute::new("sctpmap", format!("{port} webrtc-datachannel 65535")));
            }
            _ => {
                m.set_sctp_port(crate::config::SCTP_PORT).set_max_message_size(t.max_message_size as u64);
            }
        }
        for c in t.candidates {
            m.add_candidate(c.strip_prefix("candidate:").unwrap_or(c));
        }
        if t.end_of_candidates {
            m.set_end_of_candidates(true);
        }
        s.media.push(m);
    }
    s
}

/// The transport parameters of the peer, from its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteTransport {
    pub ufrag: String,
    pub pwd: String,
    pub fingerprints: Vec<dtls::Fingerprint>,
    pub setup: Option<Setup>,
    pub ice_lite: bool,
    pub sctp_port: u16,
    /// `None`: no limit (`a=max-message-size:0`).
    pub max_message_size: Option<usize>,
    pub candidates: Vec<String>,
    pub end_of_candidates: bool,
}

/// Reads the peer's parameters from the section `mid` (the BUNDLE tag: with
/// BUNDLE every section shares them), and the SCTP ones from its data section.
pub(crate) fn remote_transport(s: &SessionDescription, mid: &str) -> Result<RemoteTransport, PeerError> {
    let m = s.media_by_mid(mid).ok_or_else(|| PeerError::InvalidDescription(format!("no m-section with mid {mid}")))?;
    let ufrag = m.ice_ufrag().or(s.ice_ufrag());
    let pwd = m.ice_pwd().or(s.ice_pwd());
    let (Some(ufrag), Some(pwd)) = (ufrag, pwd) else {
        return Err(PeerError::InvalidDescription(format!("m-section {mid} has no a=ice-ufrag/a=ice-pwd")));
    };
    let fingerprints: Vec<dtls::Fingerprint> =
        s.fingerprints_for(m).iter().filter_map(|f| format!("{} {}", f.algorithm, f.value).parse().ok()).collect();
    if fingerprints.is_empty() {
        return Err(PeerError::InvalidDescription(format!(
            "m-section {mid} has no usable a=fingerprint (sha-1, sha-256, sha-384 or sha-512)"
        )));
    }
    // SCTP parameters come from the data section, wherever it is in the bundle.
    let data = s.media.iter().find(|d| d.is_data_channel() && !d.is_rejected()).unwrap_or(m);
    let sctp_port = data.sctp_port().or_else(|| data.sctpmap().map(|map| map.port)).unwrap_or(crate::config::SCTP_PORT);
    Ok(RemoteTransport {
        ufrag: ufrag.to_string(),
        pwd: pwd.to_string(),
        fingerprints,
        setup: s.setup_for(m),
        ice_lite: s.ice_lite(),
        sctp_port,
        // RFC 8841: 0 means the peer sets no limit.
        max_message_size: match data.max_message_size_or_default() {
            0 => None,
            n => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        },
        candidates: m.candidates().map(str::to_string).collect(),
        end_of_candidates: s.end_of_candidates_for(m),
    })
}

/// The sections of the peer's offer as we answer them: the first usable
/// data channel section accepted, each media section as `media` answers it
/// (given its index, `None` rejects it), everything else rejected.
pub(crate) fn answer_sections(
    offer: &SessionDescription,
    previous: &[Section],
    media: &mut dyn FnMut(usize, &MediaDescription) -> Option<MediaSection>,
) -> Result<Vec<Section>, PeerError> {
    if offer.media.len() < previous.len() {
        return Err(PeerError::InvalidDescription(format!(
            "the offer has {} m-sections, fewer than the {} already negotiated; sections are never removed",
            offer.media.len(),
            previous.len()
        )));
    }
    let mut data_taken = false;
    let mut out = Vec::with_capacity(offer.media.len());
    for (i, m) in offer.media.iter().enumerate() {
        let mid = match m.mid() {
            Some(mid) => mid.to_string(),
            None => i.to_string(),
        };
        if let Some(p) = previous.get(i) {
            if p.mid != mid {
                return Err(PeerError::InvalidDescription(format!(
                    "m-section {i} changed its mid from {} to {mid}",
                    p.mid
                )));
            }
        }
        let data = !data_taken && m.is_data_channel() && !m.is_rejected();
        data_taken |= data;
        if !data {
            if let Some(answered) = media(i, m) {
                out.push(Section::media(mid, m.kind.clone(), answered));
                continue;
            }
        }
        let used = if data { Use::Data } else { Use::Rejected };
        out.push(Section { mid, kind: m.kind.clone(), protocol: m.protocol.clone(), formats: m.formats.clone(), used });
    }
    Ok(out)
}

/// Checks the peer's answer against our offer and returns the sections as
/// negotiated.
pub(crate) fn apply_answer(offered: &[Section], answer: &SessionDescription) -> Result<Vec<Section>, PeerError> {
    if answer.media.len() != offered.len() {
        return Err(PeerError::InvalidDescription(format!(
            "the answer has {} m-sections but our offer had {}",
            answer.media.len(),
            offered.len()
        )));
    }
    let mut out = offered.to_vec();
    for (section, m) in out.iter_mut().zip(&answer.media) {
        if let Some(mid) = m.mid() {
            if mid != section.mid {
                return Err(PeerError::InvalidDescription(format!(
                    "answer m-section {mid} does not match offered mid {}",
                    section.mid
                )));
            }
        }
        match &section.used {
            Use::Data if m.is_data_channel() && m.port != 0 => {}
            Use::Media(offered) => match media::from_answer(offered, m, answer.direction_for(m)) {
                Some(settled) => {
                    section.formats = settled.formats();
                    section.used = Use::Media(settled);
                }
                None => section.used = Use::Rejected,
            },
            _ => section.used = Use::Rejected,
        }
    }
    Ok(out)
}

/// The DTLS role we take, given the setup attribute of the peer's
/// description (RFC 8842): an offer's `actpass` is answered `active`.
pub(crate) fn dtls_role(remote_setup: Option<Setup>, remote_is_offer: bool) -> dtls::Role {
    match remote_setup {
        Some(Setup::Active) => dtls::Role::Server,
        Some(Setup::Passive) => dtls::Role::Client,
        // actpass (or absent) in an offer: we answer active; an answer must
        // not say actpass, but a lenient reading takes it as passive.
        _ if remote_is_offer => dtls::Role::Client,
        _ => dtls::Role::Client,
    }
}
