//! The session level: `v=`, `o=`, `s=`, `t=` and friends, and the
//! [`SessionDescription`] that holds the media sections.

use std::fmt;
use std::str::FromStr;

use crate::attribute::attribute_methods;
use crate::{write_field, Attribute, Direction, Fingerprint, Group, MediaDescription, SdpError, Setup};

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`
/// (RFC 8866 section 5.2). JSEP writes `o=- <random 63-bit id> <version>
/// IN IP4 127.0.0.1` and bumps the version on every new offer or answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The user name, `-` in WebRTC (Firefox writes `mozilla...THIS_IS_SDPARTA-<version>`).
    pub username: String,
    /// The session id, stable for the life of the peer connection.
    pub session_id: u64,
    /// The session version, incremented when the description changes.
    pub session_version: u64,
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address; meaningless in WebRTC (`127.0.0.1` or `0.0.0.0`).
    pub address: String,
}

impl Origin {
    /// `o=- <session_id> <session_version> IN IP4 127.0.0.1`, as JSEP writes it.
    pub fn new(session_id: u64, session_version: u64) -> Self {
        Origin {
            username: "-".into(),
            session_id,
            session_version,
            net_type: "IN".into(),
            addr_type: "IP4".into(),
            address: "127.0.0.1".into(),
        }
    }
}

impl FromStr for Origin {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<username> <session id> <version> <nettype> <addrtype> <address>";
        let bad = || SdpError::value("o=", s, EXPECTED);
        let f: Vec<&str> = s.split_whitespace().collect();
        let [username, id, version, net_type, addr_type, address] = f.as_slice() else { return Err(bad()) };
        Ok(Origin {
            username: username.to_string(),
            session_id: id.parse().map_err(|_| bad())?,
            session_version: version.parse().map_err(|_| bad())?,
            net_type: net_type.to_string(),
            addr_type: addr_type.to_string(),
            address: address.to_string(),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field(f, &self.username)?;
        write!(f, " {} {} ", self.session_id, self.session_version)?;
        write_field(f, &self.net_type)?;
        f.write_str(" ")?;
        write_field(f, &self.addr_type)?;
        f.write_str(" ")?;
        write_field(f, &self.address)
    }
}

/// `c=<nettype> <addrtype> <address>` (RFC 8866 section 5.7). WebRTC
/// writes `c=IN IP4 0.0.0.0` until a candidate is known; the address does
/// not matter to ICE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address as written (multicast may carry `/ttl/count`).
    pub address: String,
}

impl Connection {
    /// `c=IN IP4 0.0.0.0`, the JSEP placeholder.
    pub fn unspecified() -> Self {
        Connection { net_type: "IN".into(), addr_type: "IP4".into(), address: "0.0.0.0".into() }
    }
}

impl FromStr for Connection {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let f: Vec<&str> = s.split_whitespace().collect();
        let [net_type, addr_type, address] = f.as_slice() else {
            return Err(SdpError::value("c=", s, "<nettype> <addrtype> <address>"));
        };
        Ok(Connection {
            net_type: net_type.to_string(),
            addr_type: addr_type.to_string(),
            address: address.to_string(),
        })
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field(f, &self.net_type)?;
        f.write_str(" ")?;
        write_field(f, &self.addr_type)?;
        f.write_str(" ")?;
        write_field(f, &self.address)
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 section 5.8), e.g. `b=AS:30`
/// (kbit/s) or `b=TIAS:64000` (bit/s).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, ...
    pub kind: String,
    /// The value, in the unit `kind` implies.
    pub value: u64,
}

impl FromStr for Bandwidth {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("b=", s, "<bwtype>:<bandwidth>");
        let (kind, value) = s.split_once(':').ok_or_else(bad)?;
        if kind.is_empty() || kind.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Bandwidth { kind: kind.to_string(), value: value.trim().parse().map_err(|_| bad())? })
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field(f, &self.kind)?;
        write!(f, ":{}", self.value)
    }
}

/// `t=<start> <stop>` (RFC 8866 section 5.9) with its `r=` repeat lines.
/// WebRTC always writes `t=0 0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Timing {
    /// Start time (NTP seconds), 0 for unbounded.
    pub start: u64,
    /// Stop time (NTP seconds), 0 for unbounded.
    pub stop: u64,
    /// The `r=` lines that follow, kept as written.
    pub repeats: Vec<String>,
}

impl FromStr for Timing {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("t=", s, "<start time> <stop time>");
        let f: Vec<&str> = s.split_whitespace().collect();
        let [start, stop] = f.as_slice() else { return Err(bad()) };
        Ok(Timing { start: start.parse().map_err(|_| bad())?, stop: stop.parse().map_err(|_| bad())?, repeats: vec![] })
    }
}

/// A line this crate does not model, kept as written: `i=`, `u=`, `e=`,
/// `p=`, `z=`, `k=` and any unknown type letter.
///
/// When written, such lines go where RFC 8866 puts their type (for the
/// session: `i u e p` before `c=`, the others after `t=`; in a media
/// section `i` before `c=`, the others after `b=`), each type in the order
/// read. The parser sorts them the same way, so a description it read
/// writes out and parses back to itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OtherLine {
    /// The type letter, e.g. `i`.
    pub kind: char,
    /// The text after `=`.
    pub value: String,
}

impl OtherLine {
    /// Where a session-level line of this type is written: 0..=3 before
    /// `c=`, 4 and up after `t=`.
    pub(crate) fn session_rank(kind: char) -> u8 {
        match kind {
            'i' => 0,
            'u' => 1,
            'e' => 2,
            'p' => 3,
            'z' => 4,
            'k' => 5,
            _ => 6,
        }
    }

    /// Where a media-level line of this type is written: 0 before `c=`,
    /// 1 and up after `b=`.
    pub(crate) fn media_rank(kind: char) -> u8 {
        match kind {
            'i' => 0,
            'k' => 1,
            _ => 2,
        }
    }
}

/// A whole session description: the session level and its media sections,
/// in order.
///
/// Parse with [`SessionDescription::parse`] (or `str::parse`), write with
/// `Display` (`to_string()`), which writes CRLF line endings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDescription {
    /// `v=`, always 0.
    pub version: u32,
    /// `o=`.
    pub origin: Origin,
    /// `s=`, `-` in WebRTC.
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidth: Vec<Bandwidth>,
    /// `t=` lines (WebRTC: one, `t=0 0`) with their `r=` lines.
    pub timing: Vec<Timing>,
    /// Other lines (`i=`, `u=`, `e=`, `p=`, `z=`, `k=`, unknown types).
    pub other_lines: Vec<OtherLine>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The `m=` sections, in order.
    pub media: Vec<MediaDescription>,
}

attribute_methods!(SessionDescription);

impl SessionDescription {
    /// An empty description as JSEP starts one: `v=0`, `origin`, `s=-`,
    /// `t=0 0`, no attributes, no media.
    pub fn new(origin: Origin) -> Self {
        SessionDescription {
            version: 0,
            origin,
            session_name: "-".into(),
            connection: None,
            bandwidth: vec![],
            timing: vec![Timing::default()],
            other_lines: vec![],
            attributes: vec![],
            media: vec![],
        }
    }

    /// Parses SDP text (CRLF or LF line endings). See the crate docs for
    /// what is tolerated and what is an error.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        crate::parse::parse(text)
    }

    /// Parses SDP from bytes, as it came off the signaling channel; bytes
    /// that are not UTF-8 are an error naming their line.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, SdpError> {
        if bytes.len() > crate::MAX_SDP_LEN {
            return Err(SdpError::TooLong { len: bytes.len(), max: crate::MAX_SDP_LEN });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse(text),
            Err(e) => {
                let line = 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count();
                Err(SdpError::NotUtf8 { line })
            }
        }
    }

    /// `a=ice-lite` (RFC 8839): the peer is an ICE-lite agent.
    pub fn ice_lite(&self) -> bool {
        self.has_attribute("ice-lite")
    }

    /// Sets or removes `a=ice-lite`.
    pub fn set_ice_lite(&mut self, lite: bool) -> &mut Self {
        self.set_flag("ice-lite", lite)
    }

    /// Session-level `a=end-of-candidates` (RFC 8838 allows it at either
    /// level; see [`SessionDescription::end_of_candidates_for`]).
    pub fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }

    /// Whether the peer has finished gathering for `media`: its own
    /// `a=end-of-candidates` or the session's.
    pub fn end_of_candidates_for(&self, media: &MediaDescription) -> bool {
        media.end_of_candidates() || self.end_of_candidates()
    }

    /// Every well-formed `a=group` (RFC 5888), in order.
    pub fn groups(&self) -> impl Iterator<Item = Group> + '_ {
        self.attributes_named("group").filter_map(|v| v.parse().ok())
    }

    /// The first BUNDLE group (RFC 9143), if any.
    pub fn bundle_group(&self) -> Option<Group> {
        self.groups().find(Group::is_bundle)
    }

    /// The BUNDLE group that contains `mid`, if any.
    pub fn bundle_group_of(&self, mid: &str) -> Option<Group> {
        self.groups().find(|g| g.is_bundle() && g.mids.iter().any(|m| m == mid))
    }

    /// Appends an `a=group`.
    pub fn add_group(&mut self, group: &Group) -> &mut Self {
        self.add_attribute(Attribute::new("group", group.to_string()))
    }

    /// `a=msid-semantic: WMS ...` (Chromium writes a space after the colon;
    /// the value is kept as written, e.g. `" WMS *"`).
    pub fn msid_semantic(&self) -> Option<&str> {
        self.attribute("msid-semantic")
    }

    /// `a=extmap-allow-mixed` (RFC 8285 section 6): one- and two-byte header
    /// extensions may be mixed.
    pub fn extmap_allow_mixed(&self) -> bool {
        self.has_attribute("extmap-allow-mixed")
    }

    /// The media section whose `a=mid` is `mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }

    /// The media section whose `a=mid` is `mid`, mutably.
    pub fn media_by_mid_mut(&mut self, mid: &str) -> Option<&mut MediaDescription> {
        self.media.iter_mut().find(|m| m.mid() == Some(mid))
    }

    /// The fingerprints that apply to `media`: its own, or else the
    /// session's (RFC 8122 section 5).
    pub fn fingerprints_for(&self, media: &MediaDescription) -> Vec<Fingerprint> {
        let own = media.fingerprints();
        if own.is_empty() {
            self.fingerprints()
        } else {
            own
        }
    }

    /// The `a=setup` that applies to `media`: its own, or else the session's.
    pub fn setup_for(&self, media: &MediaDescription) -> Option<Setup> {
        media.setup().or_else(|| self.setup())
    }

    /// The ICE ufrag that applies to `media`: its own, or else the session's.
    pub fn ice_ufrag_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media.ice_ufrag().or_else(|| self.ice_ufrag())
    }

    /// The ICE password that applies to `media`: its own, or else the session's.
    pub fn ice_pwd_for<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a str> {
        media.ice_pwd().or_else(|| self.ice_pwd())
    }

    /// Whether `option` (e.g. `trickle`) is in `media`'s `a=ice-options`,
    /// or in the session's when the section has none.
    pub fn has_ice_option_for(&self, media: &MediaDescription, option: &str) -> bool {
        if media.has_attribute("ice-options") {
            media.has_ice_option(option)
        } else {
            self.has_ice_option(option)
        }
    }

    /// The direction of `media`: its own attribute, else the session's, else
    /// `sendrecv` (RFC 8866 section 6.7).
    pub fn direction_for(&self, media: &MediaDescription) -> Direction {
        media.direction().or_else(|| self.direction()).unwrap_or(Direction::SendRecv)
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        SessionDescription::parse(s)
    }
}

impl fmt::Display for SessionDescription {
    /// Writes the description with CRLF line endings, the lines in RFC 8866
    /// order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let other = |f: &mut fmt::Formatter<'_>, ranks: std::ops::RangeInclusive<u8>| -> fmt::Result {
            for rank in ranks {
                for line in self.other_lines.iter().filter(|l| OtherLine::session_rank(l.kind) == rank) {
                    crate::write_line(f, line.kind, &line.value)?;
                }
            }
            Ok(())
        };
        write!(f, "v={}\r\no={}\r\ns=", self.version, self.origin)?;
        write_field(f, &self.session_name)?;
        f.write_str("\r\n")?;
        other(f, 0..=3)?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidth {
            write!(f, "b={b}\r\n")?;
        }
        for t in &self.timing {
            write!(f, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                crate::write_line(f, 'r', r)?;
            }
        }
        other(f, 4..=6)?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}
