//! The extension map of a session: which local id names which extension URI, as negotiated
//! by the SDP `a=extmap:<id>[/<direction>] <uri>` lines (RFC 8285 §5). The caller parses the
//! SDP and hands over the id and the URI; this crate does not depend on the SDP crate.

use super::{Extension, ExtensionError, Extensions};

/// The header extensions this crate knows the values of, by URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionKind {
    /// `urn:ietf:params:rtp-hdrext:sdes:mid`: [`Mid`](super::Mid).
    Mid,
    /// `urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id`: [`RtpStreamId`](super::RtpStreamId).
    RtpStreamId,
    /// `urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id`:
    /// [`RepairedRtpStreamId`](super::RepairedRtpStreamId).
    RepairedRtpStreamId,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`:
    /// [`AbsSendTime`](super::AbsSendTime).
    AbsSendTime,
    /// `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`:
    /// [`TransportCc`](super::TransportCc).
    TransportCc,
    /// `urn:ietf:params:rtp-hdrext:ssrc-audio-level`: [`AudioLevel`](super::AudioLevel).
    AudioLevel,
    /// `urn:ietf:params:rtp-hdrext:toffset`: [`TimeOffset`](super::TimeOffset).
    TimeOffset,
    /// `urn:3gpp:video-orientation`: [`VideoOrientation`](super::VideoOrientation).
    VideoOrientation,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/playout-delay`:
    /// [`PlayoutDelay`](super::PlayoutDelay).
    PlayoutDelay,
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time`:
    /// [`AbsCaptureTime`](super::AbsCaptureTime).
    AbsCaptureTime,
}

impl ExtensionKind {
    /// Every known extension.
    pub const ALL: [ExtensionKind; 10] = [
        ExtensionKind::Mid,
        ExtensionKind::RtpStreamId,
        ExtensionKind::RepairedRtpStreamId,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportCc,
        ExtensionKind::AudioLevel,
        ExtensionKind::TimeOffset,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
    ];

    /// The URI that names it in `a=extmap`.
    pub const fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => "urn:ietf:params:rtp-hdrext:sdes:mid",
            ExtensionKind::RtpStreamId => "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            ExtensionKind::RepairedRtpStreamId => "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
            ExtensionKind::AbsSendTime => "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            ExtensionKind::TransportCc => "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
            ExtensionKind::AudioLevel => "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            ExtensionKind::TimeOffset => "urn:ietf:params:rtp-hdrext:toffset",
            ExtensionKind::VideoOrientation => "urn:3gpp:video-orientation",
            ExtensionKind::PlayoutDelay => "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
            ExtensionKind::AbsCaptureTime => "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time",
        }
    }

    /// The known extension a URI names, compared byte for byte.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.uri() == uri)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Local ids ↔ extension URIs for one session (or one direction of it).
///
/// Ids are 1..=255 (1..=14 usable in the one-byte form). Unknown URIs are kept too, so a
/// caller can look them up by id; their elements are read and written as raw bytes through
/// [`Extensions`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtensionMap {
    entries: Vec<(u8, String)>,
    /// The id of each known kind (0 = not mapped), for lookups per packet without string
    /// comparisons.
    known: [u8; ExtensionKind::ALL.len()],
}

impl ExtensionMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `id` to `uri` (one `a=extmap` line). Mapping an id again to the same URI is a
    /// no-op; to another URI it is an error ([`ExtensionError::IdInUse`]). If a known URI is
    /// mapped under two ids, typed reads and writes use the first.
    pub fn insert(&mut self, id: u8, uri: impl Into<String>) -> Result<(), ExtensionError> {
        let uri = uri.into();
        if id == 0 {
            return Err(ExtensionError::InvalidId);
        }
        if let Some(existing) = self.uri(id) {
            if existing == uri {
                return Ok(());
            }
            return Err(ExtensionError::IdInUse { id, uri: existing.to_string() });
        }
        if let Some(kind) = ExtensionKind::from_uri(&uri) {
            if self.known[kind.index()] == 0 {
                self.known[kind.index()] = id;
            }
        }
        self.entries.push((id, uri));
        Ok(())
    }

    /// Unmaps `id`; returns the URI it named.
    pub fn remove(&mut self, id: u8) -> Option<String> {
        let at = self.entries.iter().position(|(i, _)| *i == id)?;
        let (_, uri) = self.entries.remove(at);
        if let Some(kind) = ExtensionKind::from_uri(&uri) {
            if self.known[kind.index()] == id {
                // Fall back to another id of the same URI, if any.
                self.known[kind.index()] = self.id(&uri).unwrap_or(0);
            }
        }
        Some(uri)
    }

    /// The URI `id` names.
    pub fn uri(&self, id: u8) -> Option<&str> {
        self.entries.iter().find(|(i, _)| *i == id).map(|(_, uri)| uri.as_str())
    }

    /// The (first) id of `uri`.
    pub fn id(&self, uri: &str) -> Option<u8> {
        self.entries.iter().find(|(_, u)| u == uri).map(|(id, _)| *id)
    }

    /// The id of a known extension.
    pub fn id_of(&self, kind: ExtensionKind) -> Option<u8> {
        Some(self.known[kind.index()]).filter(|&id| id != 0)
    }

    /// The known extension `id` names.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.uri(id).and_then(ExtensionKind::from_uri)
    }

    /// The mappings as `(id, uri)`, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &str)> + '_ {
        self.entries.iter().map(|(id, uri)| (*id, uri.as_str()))
    }

    /// The number of mappings.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether some id needs the two-byte form (ids above 14): then two-byte elements must
    /// be allowed on the packets of this session
    /// ([`Extensions::set_two_byte_allowed`]).
    pub fn needs_two_byte(&self) -> bool {
        self.entries.iter().any(|(id, _)| *id > 14)
    }

    /// Reads a typed value from a packet's extensions: `Ok(None)` when the extension is not
    /// mapped or the packet does not carry it, an error when it carries a malformed value.
    pub fn read<'a, T: Extension<'a>>(&self, exts: &'a Extensions) -> Result<Option<T>, ExtensionError> {
        match self.id_of(T::KIND).and_then(|id| exts.get(id)) {
            Some(value) => T::parse(value).map(Some),
            None => Ok(None),
        }
    }

    /// Writes a typed value into a packet's extensions under its mapped id, replacing any
    /// value there.
    pub fn write<'a, T: Extension<'a>>(&self, exts: &mut Extensions, value: &T) -> Result<(), ExtensionError> {
        let id = self.id_of(T::KIND).ok_or(ExtensionError::NotMapped(T::KIND.uri()))?;
        exts.set_with(id, value.value_len(), |out| value.write_value(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::{AudioLevel, Mid, RtpStreamId, TransportCc};

    const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";

    #[test]
    fn uris_round_trip() {
        for kind in ExtensionKind::ALL {
            assert_eq!(ExtensionKind::from_uri(kind.uri()), Some(kind));
        }
        assert_eq!(ExtensionKind::from_uri("urn:example:unknown"), None);
        assert_eq!(ExtensionKind::from_uri("URN:IETF:PARAMS:RTP-HDREXT:SDES:MID"), None);
    }

    #[test]
    fn insert_look_up_and_remove() {
        let mut map = ExtensionMap::new();
        assert!(map.is_empty());
        map.insert(4, MID).unwrap();
        map.insert(9, "urn:example:private").unwrap();
        map.insert(4, MID).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map.uri(4), Some(MID));
        assert_eq!(map.id(MID), Some(4));
        assert_eq!(map.id_of(ExtensionKind::Mid), Some(4));
        assert_eq!(map.kind(4), Some(ExtensionKind::Mid));
        assert_eq!(map.kind(9), None);
        assert_eq!(map.uri(9), Some("urn:example:private"));
        assert_eq!(map.id_of(ExtensionKind::AbsSendTime), None);
        assert_eq!(map.iter().collect::<Vec<_>>(), [(4, MID), (9, "urn:example:private")]);
        assert_eq!(map.insert(4, "urn:other"), Err(ExtensionError::IdInUse { id: 4, uri: MID.to_string() }));
        assert_eq!(map.insert(0, MID), Err(ExtensionError::InvalidId));
        assert!(!map.needs_two_byte());
        // The same URI under a second id: typed access keeps the first until it goes.
        map.insert(20, MID).unwrap();
        assert!(map.needs_two_byte());
        assert_eq!(map.id_of(ExtensionKind::Mid), Some(4));
        assert_eq!(map.remove(4).as_deref(), Some(MID));
        assert_eq!(map.id_of(ExtensionKind::Mid), Some(20));
        assert_eq!(map.remove(20).as_deref(), Some(MID));
        assert_eq!(map.id_of(ExtensionKind::Mid), None);
        assert_eq!(map.remove(20), None);
    }

    #[test]
    fn typed_read_and_write_through_the_map() {
        let mut map = ExtensionMap::new();
        map.insert(1, ExtensionKind::AudioLevel.uri()).unwrap();
        map.insert(3, ExtensionKind::TransportCc.uri()).unwrap();
        map.insert(4, MID).unwrap();
        let mut exts = Extensions::new();
        assert_eq!(map.read::<Mid>(&exts), Ok(None));
        map.write(&mut exts, &AudioLevel::new(true, 40).unwrap()).unwrap();
        map.write(&mut exts, &TransportCc(513)).unwrap();
        map.write(&mut exts, &Mid::new("a1").unwrap()).unwrap();
        assert_eq!(exts.iter().collect::<Vec<_>>(), [(1, &[0x80 | 40][..]), (3, &[2, 1][..]), (4, &b"a1"[..])]);
        assert_eq!(map.read::<TransportCc>(&exts), Ok(Some(TransportCc(513))));
        assert_eq!(map.read::<Mid>(&exts).unwrap().unwrap().as_str(), "a1");
        assert_eq!(map.read::<AudioLevel>(&exts).unwrap().unwrap().level(), 40);
        // Not negotiated: reads as absent, refuses to write.
        assert_eq!(map.read::<RtpStreamId>(&exts), Ok(None));
        assert_eq!(
            map.write(&mut exts, &RtpStreamId::new("h").unwrap()),
            Err(ExtensionError::NotMapped(ExtensionKind::RtpStreamId.uri()))
        );
        // Malformed on the wire: an error naming the extension.
        exts.set(3, &[1]).unwrap();
        let err = map.read::<TransportCc>(&exts).unwrap_err();
        assert!(err.to_string().contains("transport-wide-cc"), "{err}");
        // A long mid needs the two-byte form.
        let long = Mid::new("a-mid-longer-than-16").unwrap();
        assert_eq!(map.write(&mut exts, &long), Err(ExtensionError::TwoByteNotAllowed { id: 4, len: 20 }));
        exts.set_two_byte_allowed(true).unwrap();
        map.write(&mut exts, &long).unwrap();
        assert_eq!(exts.profile(), Some(0x1000));
    }
}
