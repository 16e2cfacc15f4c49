//! The media part of a peer connection: transceivers (W3C
//! `RTCRtpTransceiver`), their association with m-sections, and what each
//! negotiation leaves them with.

use rand::Rng;
use sdp::{Direction, MediaDescription, MediaKind};

use crate::media::{self, LocalEncoding, LocalSender, MediaCapabilities, MediaSection};

/// A transceiver of one peer connection: an audio or video m-section's
/// sender and receiver (W3C `RTCRtpTransceiver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransceiverId(pub u32);

/// What the application sees of a transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransceiverInfo {
    /// Its handle.
    pub id: TransceiverId,
    /// Audio or video.
    pub kind: MediaKind,
    /// Its m-section's mid, once negotiated.
    pub mid: Option<String>,
    /// The direction asked for (`RTCRtpTransceiver.direction`).
    pub direction: Direction,
    /// The direction negotiated (`currentDirection`), once negotiated.
    pub current_direction: Option<Direction>,
    /// Our sending SSRC (of the first encoding when it sends simulcast).
    pub ssrc: u32,
    /// The RTX SSRC.
    pub rtx_ssrc: u32,
    /// The RIDs of its simulcast encodings (`sendEncodings`), as asked; empty
    /// when it sends one stream. Which of them the peer took is in
    /// [`send_rids`](Self::send_rids) once negotiated.
    pub rids: Vec<String>,
    /// The RIDs the last negotiation has us send (a subset of `rids`, in
    /// their order); empty when one stream without RID is sent.
    pub send_rids: Vec<String>,
}

/// Simulcast encodings a transceiver may send at most; of a peer's
/// simulcast offer, the first this many are taken.
pub const MAX_SIMULCAST_ENCODINGS: usize = 4;

/// `RTCRtpTransceiverInit`: how [`add_transceiver_with`](crate::PeerConnection::add_transceiver_with)
/// makes a transceiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransceiverInit {
    /// `direction`.
    pub direction: Direction,
    /// `sendEncodings`: for simulcast, one RID per encoding (letters, digits,
    /// `-` and `_`, at most 16 bytes; at most [`MAX_SIMULCAST_ENCODINGS`]);
    /// the application encodes each at its own resolution and rate and
    /// writes it with [`write_frame_rid`](crate::PeerConnection::write_frame_rid).
    /// Empty: one stream.
    pub send_encodings: Vec<String>,
}

impl TransceiverInit {
    /// One stream in `direction`.
    pub fn new(direction: Direction) -> Self {
        TransceiverInit { direction, send_encodings: Vec::new() }
    }

    /// Simulcast with these RIDs.
    pub fn simulcast(direction: Direction, rids: &[&str]) -> Self {
        TransceiverInit { direction, send_encodings: rids.iter().map(|r| r.to_string()).collect() }
    }
}

/// A frame received on a transceiver: a complete encoded video frame or
/// an audio packet, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    /// The transceiver's m-section.
    pub mid: String,
    /// The stream's RID (simulcast), if any.
    pub rid: Option<String>,
    /// The stream's SSRC.
    pub ssrc: u32,
    /// The payload type it came with (see the transceiver's codecs).
    pub payload_type: u8,
    /// Its RTP timestamp.
    pub rtp_timestamp: u32,
    /// The encoded frame.
    pub data: bytes::Bytes,
    /// Whether it decodes on its own.
    pub keyframe: bool,
    /// Whether media was lost or dropped between the previous frame and this one.
    pub lost_before: bool,
}

#[derive(Debug, Clone)]
struct Transceiver {
    id: TransceiverId,
    kind: MediaKind,
    mid: Option<String>,
    direction: Direction,
    current: Option<Direction>,
    sender: LocalSender,
    /// The RIDs the last negotiation has us send.
    send_rids: Vec<String>,
    /// `Track` was announced for the current receiving period.
    receiving: bool,
    /// The direction our last completed exchange carried for it.
    expressed: Option<Direction>,
    /// Given its mid by a remote offer not answered yet: `Some(true)` when
    /// that offer created it. Undone if the offer is rolled back or replaced.
    pending_offer: Option<bool>,
}

/// How the media sections of a remote offer map to transceivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assoc {
    /// An existing transceiver (same mid, or a fresh one of the same kind).
    Existing(usize),
    /// A new transceiver, `recvonly` (W3C: created by setRemoteDescription).
    New,
    /// Not a media section we take (data, rejected, unknown kind).
    None,
}

/// The transceivers of one connection.
#[derive(Clone)]
pub(crate) struct MediaPart {
    pub caps: MediaCapabilities,
    cname: String,
    transceivers: Vec<Transceiver>,
    next_id: u32,
    /// A change that needs negotiation (a transceiver added or its direction changed).
    pub changed: bool,
}

impl MediaPart {
    pub fn new(caps: MediaCapabilities, cname: String) -> Self {
        MediaPart { caps, cname, transceivers: Vec::new(), next_id: 0, changed: false }
    }

    /// A transceiver sending one stream, or one per RID in `rids` (simulcast).
    pub fn add(&mut self, rng: &mut impl Rng, kind: MediaKind, direction: Direction, rids: &[String]) -> TransceiverId {
        let id = TransceiverId(self.next_id);
        self.next_id += 1;
        let mut taken: Vec<u32> =
            self.transceivers.iter().flat_map(|t| &t.sender.encodings).flat_map(|e| [e.ssrc, e.rtx_ssrc]).collect();
        let mut ssrc = || loop {
            let s: u32 = rng.gen();
            if s != 0 && !taken.contains(&s) {
                taken.push(s);
                break s;
            }
        };
        let rids: Vec<Option<String>> =
            if rids.is_empty() { vec![None] } else { rids.iter().cloned().map(Some).collect() };
        let encodings = rids.into_iter().map(|rid| LocalEncoding { rid, ssrc: ssrc(), rtx_ssrc: ssrc() }).collect();
        let sender = LocalSender {
            encodings,
            cname: self.cname.clone(),
            stream_id: format!("oxrtc-{}", self.cname),
            track_id: format!("{}-{}", kind.as_str(), id.0),
        };
        self.transceivers.push(Transceiver {
            id,
            kind,
            mid: None,
            direction,
            current: None,
            sender,
            send_rids: Vec::new(),
            receiving: false,
            expressed: None,
            pending_offer: None,
        });
        self.changed = true;
        id
    }

    fn index(&self, id: TransceiverId) -> Option<usize> {
        self.transceivers.iter().position(|t| t.id == id)
    }

    pub fn set_direction(&mut self, id: TransceiverId, direction: Direction) -> bool {
        let Some(i) = self.index(id) else { return false };
        if self.transceivers[i].direction != direction {
            self.transceivers[i].direction = direction;
            self.changed = true;
        }
        true
    }

    pub fn info(&self, id: TransceiverId) -> Option<TransceiverInfo> {
        self.index(id).map(|i| self.info_at(i))
    }

    fn info_at(&self, i: usize) -> TransceiverInfo {
        let t = &self.transceivers[i];
        TransceiverInfo {
            id: t.id,
            kind: t.kind.clone(),
            mid: t.mid.clone(),
            direction: t.direction,
            current_direction: t.current,
            ssrc: t.sender.encodings[0].ssrc,
            rtx_ssrc: t.sender.encodings[0].rtx_ssrc,
            rids: t.sender.encodings.iter().filter_map(|e| e.rid.clone()).collect(),
            send_rids: t.send_rids.clone(),
        }
    }

    pub fn by_mid(&self, mid: &str) -> Option<TransceiverId> {
        self.transceivers.iter().find(|t| t.mid.as_deref() == Some(mid)).map(|t| t.id)
    }

    pub fn cname(&self) -> &str {
        &self.cname
    }

    pub fn all(&self) -> Vec<TransceiverInfo> {
        (0..self.transceivers.len()).map(|i| self.info_at(i)).collect()
    }

    /// The media sections of our offer (transceiver index, mid, kind,
    /// section): every transceiver's current wish. Transceivers without a
    /// mid get the next free one (`taken` are the mids in use).
    pub fn offer_sections(&self, taken: &[String]) -> Vec<(usize, String, MediaKind, MediaSection)> {
        let mut used: Vec<String> = taken.to_vec();
        let mut out = Vec::new();
        for (i, t) in self.transceivers.iter().enumerate() {
            let mid = match &t.mid {
                Some(m) => m.clone(),
                None => {
                    let mut n = used.len();
                    while used.iter().any(|m| *m == n.to_string()) {
                        n += 1;
                    }
                    n.to_string()
                }
            };
            if !used.contains(&mid) {
                used.push(mid.clone());
            }
            let local =
                Some(t.sender.clone()).filter(|_| matches!(t.direction, Direction::SendRecv | Direction::SendOnly));
            out.push((i, mid, t.kind.clone(), media::offer(&t.kind, &self.caps, t.direction, local)));
        }
        out
    }

    /// How a remote offer's sections map to our transceivers, in m-line order:
    /// by mid first, then a transceiver of the same kind never negotiated.
    pub fn plan(&self, offer: &sdp::SessionDescription) -> Vec<Assoc> {
        let mut claimed = vec![false; self.transceivers.len()];
        let mut out = Vec::new();
        for (i, m) in offer.media.iter().enumerate() {
            if !matches!(m.kind, MediaKind::Audio | MediaKind::Video) || !m.is_rtp() {
                out.push(Assoc::None);
                continue;
            }
            let mid = m.mid().map(str::to_string).unwrap_or_else(|| i.to_string());
            let found = self.transceivers.iter().position(|t| t.mid.as_deref() == Some(mid.as_str())).or_else(|| {
                self.transceivers
                    .iter()
                    .enumerate()
                    .position(|(j, t)| !claimed[j] && t.mid.is_none() && t.kind == m.kind)
            });
            match found {
                Some(j) => {
                    claimed[j] = true;
                    out.push(Assoc::Existing(j));
                }
                None if m.is_rejected() => out.push(Assoc::None),
                None => out.push(Assoc::New),
            }
        }
        out
    }

    /// Our answer to one offered media section under `assoc`.
    pub fn answer(&self, assoc: Assoc, m: &MediaDescription, offer_direction: Direction) -> Option<MediaSection> {
        let (wanted, local) = match assoc {
            Assoc::Existing(j) => {
                let t = &self.transceivers[j];
                (t.direction, Some(t.sender.clone()))
            }
            Assoc::New => (Direction::RecvOnly, None),
            Assoc::None => return None,
        };
        media::answer(m, &self.caps, wanted, local, offer_direction)
    }

    /// Applies a remote offer's association: mids given, new transceivers
    /// made (both undone by [`rollback`](Self::rollback)).
    pub fn associate(&mut self, rng: &mut impl Rng, offer: &sdp::SessionDescription, plan: &[Assoc]) {
        for (i, (m, assoc)) in offer.media.iter().zip(plan).enumerate() {
            let mid = m.mid().map(str::to_string).unwrap_or_else(|| i.to_string());
            let (j, created) = match *assoc {
                Assoc::Existing(j) => (j, false),
                Assoc::New => {
                    self.add(rng, m.kind.clone(), Direction::RecvOnly, &[]);
                    (self.transceivers.len() - 1, true)
                }
                Assoc::None => continue,
            };
            let t = &mut self.transceivers[j];
            if t.mid.is_none() {
                t.pending_offer = Some(created);
            }
            t.mid = Some(mid);
        }
    }

    /// A remote offer rolled back or replaced before it was answered: the
    /// transceivers it made go, the mids it gave are taken back (W3C).
    pub fn rollback(&mut self) {
        self.transceivers.retain(|t| t.pending_offer != Some(true));
        for t in &mut self.transceivers {
            if t.pending_offer.take().is_some() {
                t.mid = None;
            }
        }
        self.changed = self.transceivers.iter().any(|t| t.mid.is_none() || t.expressed != Some(t.direction));
    }

    /// After a completed exchange: current directions, the wish each
    /// transceiver's section expressed, and the transceivers that start
    /// receiving (for `Track`).
    pub fn negotiated(&mut self, sections: &[crate::jsep::Section]) -> Vec<(TransceiverId, String, MediaKind)> {
        let mut started = Vec::new();
        for s in sections {
            let Some(t) = self.transceivers.iter_mut().find(|t| t.mid.as_deref() == Some(s.mid.as_str())) else {
                continue;
            };
            t.expressed = Some(t.direction);
            t.pending_offer = None;
            match &s.used {
                crate::jsep::Use::Media(ms) => {
                    t.current = Some(ms.direction);
                    t.send_rids = ms.local.iter().flat_map(|l| &l.encodings).filter_map(|e| e.rid.clone()).collect();
                    if ms.receives() && !t.receiving {
                        t.receiving = true;
                        started.push((t.id, s.mid.clone(), t.kind.clone()));
                    } else if !ms.receives() {
                        t.receiving = false;
                    }
                }
                _ => {
                    t.current = None;
                    t.send_rids.clear();
                    t.receiving = false;
                }
            }
        }
        self.changed = self.transceivers.iter().any(|t| t.mid.is_none() || t.expressed != Some(t.direction));
        started
    }

    /// Gives the transceivers of our offer the mids
    /// [`offer_sections`](Self::offer_sections) assigned them.
    pub fn offered(&mut self, mids: &[(usize, String)]) {
        for (i, mid) in mids {
            if let Some(t) = self.transceivers.get_mut(*i) {
                t.mid.get_or_insert_with(|| mid.clone());
            }
        }
    }
}
