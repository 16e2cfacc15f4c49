//! Typed values of the attributes WebRTC uses. Each parses with `FromStr`
//! (the text after `a=name:`) and writes back with `Display`, so
//! `x.to_string().parse() == Ok(x)`.

use std::fmt;
use std::str::FromStr;

use crate::SdpError;

/// Splits off the first whitespace-separated token; the rest has its leading
/// whitespace removed.
fn first_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// A DTLS certificate fingerprint, `a=fingerprint:sha-256 AB:CD:..` (RFC 8122).
///
/// Kept as text: `oxrtc-dtls` parses and checks it (`dtls::Fingerprint`).
/// The algorithm is kept as written; compare it case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function, e.g. `sha-256`.
    pub algorithm: String,
    /// The hash as colon-separated hex bytes, e.g. `AB:CD:...`.
    pub value: String,
}

impl FromStr for Fingerprint {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let (algorithm, value) = first_token(s);
        if algorithm.is_empty() || value.is_empty() || value.contains(char::is_whitespace) {
            return Err(SdpError::value("a=fingerprint", s, "<hash function> <hex bytes>, e.g. \"sha-256 AB:CD:..\""));
        }
        Ok(Fingerprint { algorithm: algorithm.to_string(), value: value.to_string() })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, $expected:literal, { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// The keyword as SDP writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl FromStr for $name {
            type Err = SdpError;
            fn from_str(s: &str) -> Result<Self, SdpError> {
                match s.trim() {
                    $(t if t.eq_ignore_ascii_case($text) => Ok($name::$variant),)*
                    _ => Err(SdpError::value($what, s, $expected)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

keyword_enum!(
    /// The DTLS role negotiation of `a=setup` (RFC 4145, RFC 8842). An offer
    /// says `actpass`; the answer picks `active` (DTLS client) or `passive`.
    Setup, "a=setup", "actpass, active, passive or holdconn", {
        /// The offerer: either role.
        Actpass = "actpass",
        /// Opens the connection: the DTLS client.
        Active = "active",
        /// Waits for the connection: the DTLS server.
        Passive = "passive",
        /// Do not connect yet.
        Holdconn = "holdconn",
    }
);

keyword_enum!(
    /// The media direction attribute (`a=sendrecv` and so on, RFC 8866
    /// section 6.7). When a section has none, the session's applies, and
    /// when that is absent too, `sendrecv`.
    Direction, "direction", "sendrecv, sendonly, recvonly or inactive", {
        /// Send and receive.
        SendRecv = "sendrecv",
        /// Send only.
        SendOnly = "sendonly",
        /// Receive only.
        RecvOnly = "recvonly",
        /// Neither.
        Inactive = "inactive",
    }
);

impl Direction {
    /// The direction the answerer answers with: sending becomes receiving.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// `a=group:BUNDLE 0 1 2` (RFC 5888, RFC 9143): a semantics and the mids it
/// groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// The semantics, e.g. `BUNDLE`, `LS`, `FID`.
    pub semantics: String,
    /// The identification tags (`a=mid` values) in the group, in order.
    pub mids: Vec<String>,
}

impl Group {
    /// A BUNDLE group of `mids`.
    pub fn bundle<S: Into<String>>(mids: impl IntoIterator<Item = S>) -> Self {
        Group { semantics: "BUNDLE".into(), mids: mids.into_iter().map(Into::into).collect() }
    }

    /// Whether this is a BUNDLE group.
    pub fn is_bundle(&self) -> bool {
        self.semantics.eq_ignore_ascii_case("BUNDLE")
    }
}

impl FromStr for Group {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let mut it = s.split_whitespace();
        let semantics = it.next().ok_or_else(|| SdpError::value("a=group", s, "<semantics> <mid> ..."))?;
        Ok(Group { semantics: semantics.to_string(), mids: it.map(str::to_string).collect() })
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for mid in &self.mids {
            write!(f, " {mid}")?;
        }
        Ok(())
    }
}

fn payload_type(what: &'static str, s: &str, tok: &str, expected: &'static str) -> Result<u8, SdpError> {
    tok.parse::<u8>().ok().filter(|pt| *pt <= 127).ok_or_else(|| SdpError::value(what, s, expected))
}

/// `a=rtpmap:111 opus/48000/2` (RFC 8866 section 6.6): what a payload type
/// carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpMap {
    /// The RTP payload type (0..=127).
    pub payload_type: u8,
    /// The encoding name as written, e.g. `opus`, `VP8`, `rtx`. Compare
    /// case-insensitively.
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

impl FromStr for RtpMap {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<payload type> <encoding>/<clock rate>[/<channels>]";
        let bad = || SdpError::value("a=rtpmap", s, EXPECTED);
        let (pt, rest) = first_token(s);
        let payload_type = payload_type("a=rtpmap", s, pt, EXPECTED)?;
        let mut parts = rest.split('/');
        let encoding = parts.next().filter(|e| !e.is_empty() && !e.contains(char::is_whitespace)).ok_or_else(bad)?;
        let clock_rate = parts.next().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().map_err(|_| bad())?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(RtpMap { payload_type, encoding: encoding.to_string(), clock_rate, channels })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.payload_type, self.encoding, self.clock_rate)?;
        if let Some(c) = self.channels {
            write!(f, "/{c}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:111 minptime=10;useinbandfec=1` (RFC 8866 section 6.15): the
/// format parameters of a payload type, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fmtp {
    /// The RTP payload type (0..=127).
    pub payload_type: u8,
    /// Everything after the payload type, e.g. `apt=96` or `111/111` (RED).
    pub params: String,
}

impl Fmtp {
    /// The `;`-separated parameters as `(key, value)`; a parameter without
    /// `=` (RED's `111/111`) has no value. Whitespace around each is trimmed.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.split(';').map(str::trim).filter(|p| !p.is_empty()).map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p, None),
        })
    }

    /// The value of parameter `key` (ASCII case-insensitive), e.g. `apt`.
    pub fn get(&self, key: &str) -> Option<&str> {
        fmtp_param(&self.params, key)
    }
}

/// The value of parameter `key` (ASCII case-insensitive) in `a=fmtp`
/// parameters such as `apt=96` or `profile-level-id=42e01f;packetization-mode=1`.
pub fn fmtp_param<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

/// The static RTP payload types (RFC 3551 table 4) WebRTC endpoints use
/// without `a=rtpmap`: their encoding name and clock rate.
pub fn static_payload_type(pt: u8) -> Option<(&'static str, u32)> {
    match pt {
        0 => Some(("PCMU", 8000)),
        8 => Some(("PCMA", 8000)),
        // RFC 3551: 8,000 in SDP although G.722 samples at 16 kHz.
        9 => Some(("G722", 8000)),
        _ => None,
    }
}

impl FromStr for Fmtp {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<payload type> <parameters>";
        let (pt, rest) = first_token(s);
        Ok(Fmtp { payload_type: payload_type("a=fmtp", s, pt, EXPECTED)?, params: rest.to_string() })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.payload_type, self.params)
    }
}

/// One RTP format of a media section with everything the section says
/// about it, gathered by [`MediaDescription::codecs`](crate::MediaDescription::codecs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Codec {
    /// The payload type, as listed on the `m=` line.
    pub payload_type: u8,
    /// Its `a=rtpmap`; `None` for a static payload type written without one
    /// (`0` is PCMU/8000 by RFC 3551).
    pub rtpmap: Option<RtpMap>,
    /// Its `a=fmtp`, if any.
    pub fmtp: Option<Fmtp>,
    /// The `a=rtcp-fb` lines for it and for `*`, in order.
    pub feedback: Vec<RtcpFb>,
}

impl Codec {
    /// Its encoding name and clock rate: from `a=rtpmap`, else from the
    /// static payload type table.
    pub fn encoding(&self) -> Option<(&str, u32)> {
        match &self.rtpmap {
            Some(m) => Some((m.encoding.as_str(), m.clock_rate)),
            None => static_payload_type(self.payload_type),
        }
    }

    /// A retransmission format (`rtx`, RFC 4588).
    pub fn is_rtx(&self) -> bool {
        self.rtpmap.as_ref().is_some_and(|m| m.encoding.eq_ignore_ascii_case("rtx"))
    }

    /// The payload type an `rtx` format repairs (`apt=`).
    pub fn apt(&self) -> Option<u8> {
        self.fmtp.as_ref()?.get("apt")?.parse().ok()
    }
}

/// `a=rtcp-fb:96 nack pli` (RFC 4585 section 4.2): an RTCP feedback message
/// a payload type supports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFb {
    /// The payload type, or `None` for `*` (all of the section's formats).
    pub payload_type: Option<u8>,
    /// The feedback type, e.g. `nack`, `ccm`, `goog-remb`, `transport-cc`.
    pub kind: String,
    /// Its parameter, e.g. `pli` in `nack pli`, `fir` in `ccm fir`.
    pub param: Option<String>,
}

impl RtcpFb {
    /// Whether this feedback applies to `payload_type` (`*` applies to all).
    pub fn applies_to(&self, payload_type: u8) -> bool {
        self.payload_type.is_none_or(|pt| pt == payload_type)
    }
}

impl FromStr for RtcpFb {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<payload type or *> <feedback type> [<parameter>]";
        let (pt, rest) = first_token(s);
        let payload_type = if pt == "*" { None } else { Some(payload_type("a=rtcp-fb", s, pt, EXPECTED)?) };
        let (kind, param) = first_token(rest);
        if kind.is_empty() {
            return Err(SdpError::value("a=rtcp-fb", s, EXPECTED));
        }
        let param = (!param.is_empty()).then(|| param.to_string());
        Ok(RtcpFb { payload_type, kind: kind.to_string(), param })
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write!(f, "{pt} {}", self.kind)?,
            None => write!(f, "* {}", self.kind)?,
        }
        if let Some(p) = &self.param {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// `a=extmap:3/sendrecv urn:ietf:params:rtp-hdrext:sdes:mid` (RFC 8285): an
/// RTP header extension and its local id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtMap {
    /// The extension id (1..=14 one-byte, up to 255 two-byte; 4096+ reserved).
    pub id: u16,
    /// An optional direction after the id.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: String,
    /// Extension attributes after the URI, kept as written.
    pub attributes: Option<String>,
}

impl FromStr for ExtMap {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<id>[/<direction>] <uri> [<attributes>]";
        let bad = || SdpError::value("a=extmap", s, EXPECTED);
        let (id_dir, rest) = first_token(s);
        let (id, direction) = match id_dir.split_once('/') {
            Some((id, dir)) => (id, Some(dir.parse::<Direction>().map_err(|_| bad())?)),
            None => (id_dir, None),
        };
        let id = id.parse().map_err(|_| bad())?;
        let (uri, attributes) = first_token(rest);
        if uri.is_empty() {
            return Err(bad());
        }
        let attributes = (!attributes.is_empty()).then(|| attributes.to_string());
        Ok(ExtMap { id, direction, uri: uri.to_string(), attributes })
    }
}

impl fmt::Display for ExtMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(d) = self.direction {
            write!(f, "/{d}")?;
        }
        write!(f, " {}", self.uri)?;
        if let Some(a) = &self.attributes {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> <track id>` (RFC 8830): the MediaStream a track
/// belongs to. Chromium writes `-` as the stream id for a track without a
/// stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msid {
    /// The MediaStream id (`-` for none).
    pub stream_id: String,
    /// The track id (the "appdata"), when present.
    pub track_id: Option<String>,
}

impl FromStr for Msid {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let (stream_id, track) = first_token(s);
        if stream_id.is_empty() || track.contains(char::is_whitespace) {
            return Err(SdpError::value("a=msid", s, "<stream id> [<track id>]"));
        }
        Ok(Msid { stream_id: stream_id.to_string(), track_id: (!track.is_empty()).then(|| track.to_string()) })
    }
}

impl fmt::Display for Msid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stream_id)?;
        if let Some(t) = &self.track_id {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576), e.g. `1234 cname:abc`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ssrc {
    /// The synchronization source.
    pub ssrc: u32,
    /// The source attribute, e.g. `cname`, `msid`.
    pub attribute: String,
    /// Its value, e.g. the CNAME.
    pub value: Option<String>,
}

impl FromStr for Ssrc {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        const EXPECTED: &str = "<ssrc> <attribute>[:<value>]";
        let (ssrc, rest) = first_token(s);
        let ssrc = ssrc.parse().map_err(|_| SdpError::value("a=ssrc", s, EXPECTED))?;
        let (attribute, value) = match rest.split_once(':') {
            Some((a, v)) => (a, Some(v.to_string())),
            None => (rest, None),
        };
        if attribute.is_empty() {
            return Err(SdpError::value("a=ssrc", s, EXPECTED));
        }
        Ok(Ssrc { ssrc, attribute: attribute.to_string(), value })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = &self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:FID 1111 2222` (RFC 5576): related sources, e.g. a source
/// and its retransmission (RTX) source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcGroup {
    /// The semantics, e.g. `FID`, `SIM`, `FEC-FR`.
    pub semantics: String,
    /// The sources, in order.
    pub ssrcs: Vec<u32>,
}

impl FromStr for SsrcGroup {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("a=ssrc-group", s, "<semantics> <ssrc> ...");
        let mut it = s.split_whitespace();
        let semantics = it.next().ok_or_else(bad)?.to_string();
        let ssrcs = it.map(|t| t.parse().map_err(|_| bad())).collect::<Result<_, _>>()?;
        Ok(SsrcGroup { semantics, ssrcs })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

/// Whether an RTP stream named by a RID is sent or received (RFC 8851).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`: the writer of the description sends it.
    Send,
    /// `recv`: the writer of the description receives it.
    Recv,
}

impl RidDirection {
    /// The other direction (what the peer's description says of the same stream).
    pub fn reverse(self) -> RidDirection {
        match self {
            RidDirection::Send => RidDirection::Recv,
            RidDirection::Recv => RidDirection::Send,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "send" => Some(RidDirection::Send),
            "recv" => Some(RidDirection::Recv),
            _ => None,
        }
    }
}

/// Whether `id` is a well-formed RID (RFC 8851: letters, digits, `-` and `_`;
/// the `rtp-stream-id` extension carries at most 16 bytes of it).
pub fn is_rid(id: &str) -> bool {
    !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `a=rid:h send max-width=1280` (RFC 8851): one RTP stream of a section,
/// named for simulcast.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    /// The RID.
    pub id: String,
    /// Sent or received by the description's writer.
    pub direction: RidDirection,
    /// Restrictions (`pt=`, `max-width=`...), kept as written.
    pub params: Option<String>,
}

impl FromStr for Rid {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("a=rid", s, "<rid> send|recv [<restrictions>]");
        let (id, rest) = first_token(s);
        let (direction, params) = first_token(rest);
        let direction = RidDirection::parse(direction).ok_or_else(bad)?;
        if !is_rid(id) {
            return Err(bad());
        }
        let params = (!params.is_empty()).then(|| params.to_string());
        Ok(Rid { id: id.to_string(), direction, params })
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        if let Some(p) = &self.params {
            write!(f, " {p}")?;
        }
        Ok(())
    }
}

/// One simulcast stream of `a=simulcast`: a RID, perhaps paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimulcastRid {
    /// The RID (an `a=rid` of the section).
    pub rid: String,
    /// Written with `~`: negotiated, but not sent for now.
    pub paused: bool,
}

/// `a=simulcast:send h;m;l recv x` (RFC 8853): the simulcast streams of a
/// section per direction, each stream a list of alternative RIDs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Simulcast {
    /// The streams the description's writer sends, in order of preference.
    pub send: Vec<Vec<SimulcastRid>>,
    /// The streams it receives.
    pub recv: Vec<Vec<SimulcastRid>>,
}

impl Simulcast {
    /// The streams in `direction`.
    pub fn streams(&self, direction: RidDirection) -> &[Vec<SimulcastRid>] {
        match direction {
            RidDirection::Send => &self.send,
            RidDirection::Recv => &self.recv,
        }
    }

    /// The first alternative of each stream in `direction`, paused or not.
    pub fn rids(&self, direction: RidDirection) -> impl Iterator<Item = &SimulcastRid> {
        self.streams(direction).iter().filter_map(|alternatives| alternatives.first())
    }
}

impl FromStr for Simulcast {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("a=simulcast", s, "send|recv <rid>[,<rid>][;<rid>...] [send|recv ...]");
        let mut out = Simulcast::default();
        let mut tokens = s.split_whitespace();
        let mut seen = [false; 2];
        while let Some(dir) = tokens.next() {
            let dir = RidDirection::parse(dir).ok_or_else(bad)?;
            let list = tokens.next().ok_or_else(bad)?;
            if std::mem::replace(&mut seen[dir as usize], true) {
                return Err(bad());
            }
            let mut streams = Vec::new();
            for alternatives in list.split(';') {
                let mut alts = Vec::new();
                for rid in alternatives.split(',') {
                    let (paused, rid) = match rid.strip_prefix('~') {
                        Some(r) => (true, r),
                        None => (false, rid),
                    };
                    if !is_rid(rid) {
                        return Err(bad());
                    }
                    alts.push(SimulcastRid { rid: rid.to_string(), paused });
                }
                streams.push(alts);
            }
            match dir {
                RidDirection::Send => out.send = streams,
                RidDirection::Recv => out.recv = streams,
            }
        }
        if out.send.is_empty() && out.recv.is_empty() {
            return Err(bad());
        }
        Ok(out)
    }
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for dir in [RidDirection::Send, RidDirection::Recv] {
            let streams = self.streams(dir);
            if streams.is_empty() {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{} ", dir.as_str())?;
            for (i, alternatives) in streams.iter().enumerate() {
                if i > 0 {
                    f.write_str(";")?;
                }
                for (j, r) in alternatives.iter().enumerate() {
                    if j > 0 {
                        f.write_str(",")?;
                    }
                    if r.paused {
                        f.write_str("~")?;
                    }
                    f.write_str(&r.rid)?;
                }
            }
        }
        Ok(())
    }
}

/// The legacy `a=sctpmap:5000 webrtc-datachannel 1024`
/// (draft-ietf-mmusic-sctp-sdp-05) that goes with `m=application 9
/// DTLS/SCTP 5000`. Current stacks write `a=sctp-port` instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SctpMap {
    /// The SCTP port (also the m= line's format).
    pub port: u16,
    /// The protocol, `webrtc-datachannel`.
    pub protocol: String,
    /// The number of streams, when given.
    pub streams: Option<u32>,
}

impl FromStr for SctpMap {
    type Err = SdpError;
    fn from_str(s: &str) -> Result<Self, SdpError> {
        let bad = || SdpError::value("a=sctpmap", s, "<port> <protocol> [<streams>]");
        let mut it = s.split_whitespace();
        let port = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let protocol = it.next().ok_or_else(bad)?.to_string();
        let streams = match it.next() {
            Some(n) => Some(n.parse().map_err(|_| bad())?),
            None => None,
        };
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(SctpMap { port, protocol, streams })
    }
}

impl fmt::Display for SctpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.port, self.protocol)?;
        if let Some(n) = self.streams {
            write!(f, " {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: FromStr<Err = SdpError> + fmt::Display + PartialEq + fmt::Debug>(s: &str) -> T {
        let v: T = s.parse().unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(v.to_string(), s);
        assert_eq!(v.to_string().parse::<T>().unwrap(), v);
        v
    }

    #[test]
    fn rtpmap() {
        let m: RtpMap = round_trip("111 opus/48000/2");
        assert_eq!((m.payload_type, m.encoding.as_str(), m.clock_rate, m.channels), (111, "opus", 48000, Some(2)));
        let m: RtpMap = round_trip("96 VP8/90000");
        assert_eq!(m.channels, None);
        for bad in
            ["", "111", "128 opus/48000", "x opus/48000", "111 opus", "111 opus/x", "111 opus/1/2/3", "111 /8000"]
        {
            assert!(bad.parse::<RtpMap>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fmtp() {
        let f: Fmtp = round_trip("111 minptime=10;useinbandfec=1");
        assert_eq!(f.get("useinbandfec"), Some("1"));
        assert_eq!(f.parameters().count(), 2);
        let f: Fmtp = round_trip("63 111/111");
        assert_eq!(f.parameters().collect::<Vec<_>>(), vec![("111/111", None)]);
        let f: Fmtp = "97 apt=96".parse().unwrap();
        assert_eq!(f.get("APT"), Some("96"));
        assert!("x apt=1".parse::<Fmtp>().is_err());
    }

    #[test]
    fn rtcp_fb() {
        let fb: RtcpFb = round_trip("96 nack pli");
        assert_eq!((fb.payload_type, fb.kind.as_str(), fb.param.as_deref()), (Some(96), "nack", Some("pli")));
        let fb: RtcpFb = round_trip("* transport-cc");
        assert!(fb.applies_to(100) && fb.param.is_none());
        assert!("96".parse::<RtcpFb>().is_err());
    }

    #[test]
    fn extmap_msid_ssrc_groups() {
        let e: ExtMap = round_trip("3/sendrecv urn:ietf:params:rtp-hdrext:sdes:mid");
        assert_eq!((e.id, e.direction), (3, Some(Direction::SendRecv)));
        let e: ExtMap = round_trip("1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on");
        assert_eq!(e.attributes.as_deref(), Some("vad=on"));
        assert!("x urn:a".parse::<ExtMap>().is_err() && "1/sideways urn:a".parse::<ExtMap>().is_err());

        let m: Msid = round_trip("- 7b5c1f6e-0b5a-4a7c-9f7e-2d0e4e1c0a11");
        assert_eq!(m.stream_id, "-");
        let s: Ssrc = round_trip("1234 cname:x/y:z");
        assert_eq!((s.ssrc, s.attribute.as_str(), s.value.as_deref()), (1234, "cname", Some("x/y:z")));
        let g: SsrcGroup = round_trip("FID 1 2");
        assert_eq!(g.ssrcs, vec![1, 2]);
        assert!("FID 1 x".parse::<SsrcGroup>().is_err());
        let g: Group = round_trip("BUNDLE 0 1 2");
        assert!(g.is_bundle() && g.mids == ["0", "1", "2"]);
        let m: SctpMap = round_trip("5000 webrtc-datachannel 1024");
        assert_eq!((m.port, m.streams), (5000, Some(1024)));
        let f: Fingerprint = round_trip("sha-256 AB:CD");
        assert_eq!(f.algorithm, "sha-256");
        assert!("sha-256".parse::<Fingerprint>().is_err());
    }

    #[test]
    fn keywords() {
        assert_eq!("ACTPASS".parse::<Setup>().unwrap(), Setup::Actpass);
        assert_eq!(Setup::Passive.to_string(), "passive");
        assert!("maybe".parse::<Setup>().is_err());
        assert_eq!(Direction::SendOnly.reverse(), Direction::RecvOnly);
        assert_eq!("inactive".parse::<Direction>().unwrap(), Direction::Inactive);
    }

    #[test]
    fn rid_and_simulcast_round_trip() {
        let r: Rid = "h send max-width=1280;max-height=720".parse().unwrap();
        assert_eq!((r.id.as_str(), r.direction), ("h", RidDirection::Send));
        assert_eq!(r.params.as_deref(), Some("max-width=1280;max-height=720"));
        assert_eq!(r.to_string().parse::<Rid>().unwrap(), r);
        assert!("h sideways".parse::<Rid>().is_err());
        assert!("bad!id send".parse::<Rid>().is_err());
        assert!("seventeen-chars-x send".parse::<Rid>().is_err(), "longer than rtp-stream-id carries");

        let s: Simulcast = "send h;~m,m2;l recv x".parse().unwrap();
        assert_eq!(s.send.len(), 3);
        assert_eq!(
            s.send[1],
            vec![SimulcastRid { rid: "m".into(), paused: true }, SimulcastRid { rid: "m2".into(), paused: false }]
        );
        assert_eq!(s.rids(RidDirection::Send).map(|r| r.rid.as_str()).collect::<Vec<_>>(), ["h", "m", "l"]);
        assert_eq!(s.recv, vec![vec![SimulcastRid { rid: "x".into(), paused: false }]]);
        assert_eq!(s.to_string(), "send h;~m,m2;l recv x");
        assert_eq!(s.to_string().parse::<Simulcast>().unwrap(), s);
        for bad in ["", "send", "send h recv", "send h send m", "up h", "send h;;m", "send ~"] {
            assert!(bad.parse::<Simulcast>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn codec_helpers_read_static_types_rtx_and_fmtp() {
        let pcmu = Codec { payload_type: 0, rtpmap: None, fmtp: None, feedback: vec![] };
        assert_eq!(pcmu.encoding(), Some(("PCMU", 8000)));
        let unknown = Codec { payload_type: 3, ..pcmu.clone() };
        assert_eq!(unknown.encoding(), None);
        let rtx = Codec {
            payload_type: 97,
            rtpmap: Some("97 rtx/90000".parse().unwrap()),
            fmtp: Some("97 apt=96".parse().unwrap()),
            feedback: vec![],
        };
        assert!(rtx.is_rtx() && !pcmu.is_rtx());
        assert_eq!((rtx.apt(), rtx.encoding()), (Some(96), Some(("rtx", 90000))));
        let params = "level-asymmetry-allowed=1; Packetization-Mode=1;profile-level-id=42e01f";
        assert_eq!(fmtp_param(params, "packetization-mode"), Some("1"));
        assert_eq!(fmtp_param(params, "profile"), None);
    }
}
