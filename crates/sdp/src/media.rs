//! A media section: the `m=` line and everything up to the next one.

use std::fmt;

use crate::attribute::attribute_methods;
use crate::session::OtherLine;
use crate::{
    write_field, Attribute, Bandwidth, Codec, Connection, ExtMap, Fmtp, Msid, Rid, RtcpFb, RtpMap, SctpMap, Simulcast,
    Ssrc, SsrcGroup,
};

/// The `<media>` of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application`: data channels (SCTP over DTLS).
    Application,
    /// Anything else (`text`, `message`, ...), as written.
    Other(String),
}

impl MediaKind {
    /// The token as SDP writes it.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Other(s) => s,
        }
    }

    /// Reads the token (exact match; `Audio` is `Other("Audio")` so that it
    /// writes back as read).
    pub fn from_token(token: &str) -> Self {
        match token {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Application,
            other => MediaKind::Other(other.to_string()),
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protocol of a data channel section, RFC 8841: `UDP/DTLS/SCTP` over ICE.
pub const PROTO_DATA_CHANNEL: &str = "UDP/DTLS/SCTP";
/// The RTP protocol WebRTC uses, RFC 8829: `UDP/TLS/RTP/SAVPF`.
pub const PROTO_RTP: &str = "UDP/TLS/RTP/SAVPF";
/// The data channel format of current stacks (RFC 8841).
pub const FORMAT_DATA_CHANNEL: &str = "webrtc-datachannel";

/// One media section (`m=` and its `i=`, `c=`, `b=`, `k=` and `a=` lines).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaDescription {
    /// The media type.
    pub kind: MediaKind,
    /// The port; 0 rejects the section (unless it is `a=bundle-only`). WebRTC
    /// writes 9 (discard) and leaves addresses to ICE.
    pub port: u16,
    /// The `/<number of ports>` after the port, if written.
    pub port_count: Option<u16>,
    /// The transport protocol, e.g. `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`,
    /// legacy `DTLS/SCTP`.
    pub protocol: String,
    /// The formats: RTP payload types, `webrtc-datachannel`, or the SCTP port
    /// of legacy `DTLS/SCTP`.
    pub formats: Vec<String>,
    /// `c=`.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidth: Vec<Bandwidth>,
    /// Other lines (`i=`, `k=`, unknown types).
    pub other_lines: Vec<OtherLine>,
    /// `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

attribute_methods!(MediaDescription);

impl MediaDescription {
    /// An `m=<kind> <port> <protocol> <formats>` section with no other lines.
    pub fn new(kind: MediaKind, port: u16, protocol: &str, formats: &[&str]) -> Self {
        MediaDescription {
            kind,
            port,
            port_count: None,
            protocol: protocol.to_string(),
            formats: formats.iter().map(|f| f.to_string()).collect(),
            connection: None,
            bandwidth: vec![],
            other_lines: vec![],
            attributes: vec![],
        }
    }

    /// A data channel section as JSEP offers it:
    /// `m=application 9 UDP/DTLS/SCTP webrtc-datachannel`, `c=IN IP4 0.0.0.0`,
    /// `a=mid:<mid>`, `a=sctp-port:5000`, `a=max-message-size:262144`. Add
    /// the ICE and DTLS attributes.
    pub fn data_channel(mid: &str) -> Self {
        let mut m = MediaDescription::new(MediaKind::Application, 9, PROTO_DATA_CHANNEL, &[FORMAT_DATA_CHANNEL]);
        m.connection = Some(Connection::unspecified());
        m.set_mid(mid).set_sctp_port(5000).set_max_message_size(262_144);
        m
    }

    /// Whether the section is rejected: port 0 and not `a=bundle-only`
    /// (RFC 9143 section 7.5 gives a bundle-only section port 0 in an offer).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.bundle_only()
    }

    /// Whether this is a data channel section: `application` over SCTP
    /// (`UDP/DTLS/SCTP`, `TCP/DTLS/SCTP` or legacy `DTLS/SCTP`).
    pub fn is_data_channel(&self) -> bool {
        self.kind == MediaKind::Application && self.protocol.to_ascii_uppercase().ends_with("DTLS/SCTP")
    }

    /// Whether the protocol is RTP (`.../RTP/...`).
    pub fn is_rtp(&self) -> bool {
        self.protocol.split('/').any(|p| p.eq_ignore_ascii_case("RTP"))
    }

    /// The formats that are RTP payload types (numbers 0..=127).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse::<u8>().ok()).filter(|pt| *pt <= 127)
    }

    /// `a=mid` (RFC 5888).
    pub fn mid(&self) -> Option<&str> {
        self.attribute("mid")
    }

    /// Sets `a=mid`.
    pub fn set_mid(&mut self, mid: &str) -> &mut Self {
        self.set_attribute("mid", Some(mid.to_string()))
    }

    /// `a=bundle-only` (RFC 9143).
    pub fn bundle_only(&self) -> bool {
        self.has_attribute("bundle-only")
    }

    /// Sets or removes `a=bundle-only`.
    pub fn set_bundle_only(&mut self, on: bool) -> &mut Self {
        self.set_flag("bundle-only", on)
    }

    /// `a=rtcp-mux` (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// Sets or removes `a=rtcp-mux`.
    pub fn set_rtcp_mux(&mut self, on: bool) -> &mut Self {
        self.set_flag("rtcp-mux", on)
    }

    /// `a=rtcp-mux-only` (RFC 8858).
    pub fn rtcp_mux_only(&self) -> bool {
        self.has_attribute("rtcp-mux-only")
    }

    /// Sets or removes `a=rtcp-mux-only`.
    pub fn set_rtcp_mux_only(&mut self, on: bool) -> &mut Self {
        self.set_flag("rtcp-mux-only", on)
    }

    /// `a=rtcp-rsize` (RFC 5506).
    pub fn rtcp_rsize(&self) -> bool {
        self.has_attribute("rtcp-rsize")
    }

    /// Sets or removes `a=rtcp-rsize`.
    pub fn set_rtcp_rsize(&mut self, on: bool) -> &mut Self {
        self.set_flag("rtcp-rsize", on)
    }

    /// The value of every `a=candidate` (the text after `candidate:`),
    /// in order. `oxrtc-ice` parses them.
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        self.attributes_named("candidate")
    }

    /// Appends `a=candidate:<candidate>`; `candidate` may or may not start
    /// with `candidate:` (as the W3C `RTCIceCandidate.candidate` does).
    pub fn add_candidate(&mut self, candidate: &str) -> &mut Self {
        let value = candidate.strip_prefix("candidate:").unwrap_or(candidate);
        self.add_attribute(Attribute::new("candidate", value))
    }

    /// `a=end-of-candidates` (RFC 8838).
    pub fn end_of_candidates(&self) -> bool {
        self.has_attribute("end-of-candidates")
    }

    /// Sets or removes `a=end-of-candidates`.
    pub fn set_end_of_candidates(&mut self, on: bool) -> &mut Self {
        self.set_flag("end-of-candidates", on)
    }

    /// The SCTP port of a data channel section: `a=sctp-port` (RFC 8841),
    /// or else the port of a legacy `a=sctpmap`.
    pub fn sctp_port(&self) -> Option<u16> {
        match self.attribute("sctp-port") {
            Some(p) => p.trim().parse().ok(),
            None => self.sctpmap().map(|m| m.port),
        }
    }

    /// Sets `a=sctp-port`.
    pub fn set_sctp_port(&mut self, port: u16) -> &mut Self {
        self.set_attribute("sctp-port", Some(port.to_string()))
    }

    /// `a=max-message-size` (RFC 8841 section 6): the largest message the
    /// writer can receive; 0 means no limit. Absent means 64 KiB per RFC
    /// 8841, but use [`MediaDescription::max_message_size_or_default`] for that.
    pub fn max_message_size(&self) -> Option<u64> {
        self.attribute("max-message-size").and_then(|v| v.trim().parse().ok())
    }

    /// `a=max-message-size`, or 65536 when absent (RFC 8841 section 6.1).
    pub fn max_message_size_or_default(&self) -> u64 {
        self.max_message_size().unwrap_or(65_536)
    }

    /// Sets `a=max-message-size`.
    pub fn set_max_message_size(&mut self, size: u64) -> &mut Self {
        self.set_attribute("max-message-size", Some(size.to_string()))
    }

    /// The legacy `a=sctpmap`, if present and well-formed.
    pub fn sctpmap(&self) -> Option<SctpMap> {
        self.attribute("sctpmap").and_then(|v| v.parse().ok())
    }

    /// `a=sctp-init` (used by some stacks to skip the SCTP handshake), raw.
    pub fn sctp_init(&self) -> Option<&str> {
        self.attribute("sctp-init")
    }

    /// Every well-formed `a=rtpmap`, in order (malformed ones are skipped;
    /// read them with [`MediaDescription::attributes_named`]).
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap> + '_ {
        self.attributes_named("rtpmap").filter_map(|v| v.parse().ok())
    }

    /// The `a=rtpmap` of `payload_type`.
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        self.rtpmaps().find(|m| m.payload_type == payload_type)
    }

    /// Appends an `a=rtpmap`.
    pub fn add_rtpmap(&mut self, rtpmap: &RtpMap) -> &mut Self {
        self.add_attribute(Attribute::new("rtpmap", rtpmap.to_string()))
    }

    /// Each payload type of the `m=` line, in its order (the offerer's
    /// preference), with its rtpmap, fmtp and RTCP feedback. One pass over
    /// the attributes; the first rtpmap or fmtp of a payload type wins.
    pub fn codecs(&self) -> Vec<Codec> {
        let mut codecs: Vec<Codec> = Vec::new();
        let mut index = [usize::MAX; 128];
        for pt in self.payload_types() {
            if index[usize::from(pt)] == usize::MAX {
                index[usize::from(pt)] = codecs.len();
                codecs.push(Codec { payload_type: pt, rtpmap: None, fmtp: None, feedback: vec![] });
            }
        }
        // The codec index of a payload type listed on the m= line.
        let slot = |pt: u8| index.get(usize::from(pt)).copied().filter(|i| *i != usize::MAX);
        for a in &self.attributes {
            let value = a.value.as_deref().unwrap_or("");
            if a.name.eq_ignore_ascii_case("rtpmap") {
                if let Some((i, map)) = value.parse::<RtpMap>().ok().and_then(|m| Some((slot(m.payload_type)?, m))) {
                    codecs[i].rtpmap.get_or_insert(map);
                }
            } else if a.name.eq_ignore_ascii_case("fmtp") {
                if let Some((i, fmtp)) = value.parse::<Fmtp>().ok().and_then(|f| Some((slot(f.payload_type)?, f))) {
                    codecs[i].fmtp.get_or_insert(fmtp);
                }
            } else if a.name.eq_ignore_ascii_case("rtcp-fb") {
                match value.parse::<RtcpFb>() {
                    Ok(fb @ RtcpFb { payload_type: None, .. }) => {
                        codecs.iter_mut().for_each(|c| c.feedback.push(fb.clone()))
                    }
                    Ok(fb) => {
                        if let Some(i) = fb.payload_type.and_then(slot) {
                            codecs[i].feedback.push(fb);
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        codecs
    }

    /// The retransmission (RFC 4588) payload type that repairs
    /// `payload_type`: an `rtx` rtpmap whose fmtp says `apt=<payload_type>`.
    pub fn rtx_for(&self, payload_type: u8) -> Option<u8> {
        self.codecs().into_iter().find(|c| c.is_rtx() && c.apt() == Some(payload_type)).map(|c| c.payload_type)
    }

    /// Every well-formed `a=fmtp`, in order.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp> + '_ {
        self.attributes_named("fmtp").filter_map(|v| v.parse().ok())
    }

    /// The `a=fmtp` of `payload_type`.
    pub fn fmtp(&self, payload_type: u8) -> Option<Fmtp> {
        self.fmtps().find(|f| f.payload_type == payload_type)
    }

    /// Appends an `a=fmtp`.
    pub fn add_fmtp(&mut self, fmtp: &Fmtp) -> &mut Self {
        self.add_attribute(Attribute::new("fmtp", fmtp.to_string()))
    }

    /// Every well-formed `a=rtcp-fb`, in order.
    pub fn rtcp_fbs(&self) -> impl Iterator<Item = RtcpFb> + '_ {
        self.attributes_named("rtcp-fb").filter_map(|v| v.parse().ok())
    }

    /// The `a=rtcp-fb` lines that apply to `payload_type` (its own and `*`).
    pub fn rtcp_fbs_for(&self, payload_type: u8) -> impl Iterator<Item = RtcpFb> + '_ {
        self.rtcp_fbs().filter(move |fb| fb.applies_to(payload_type))
    }

    /// Appends an `a=rtcp-fb`.
    pub fn add_rtcp_fb(&mut self, fb: &RtcpFb) -> &mut Self {
        self.add_attribute(Attribute::new("rtcp-fb", fb.to_string()))
    }

    /// Every well-formed `a=extmap`, in order.
    pub fn extmaps(&self) -> impl Iterator<Item = ExtMap> + '_ {
        self.attributes_named("extmap").filter_map(|v| v.parse().ok())
    }

    /// Appends an `a=extmap`.
    pub fn add_extmap(&mut self, extmap: &ExtMap) -> &mut Self {
        self.add_attribute(Attribute::new("extmap", extmap.to_string()))
    }

    /// Every well-formed `a=msid` (RFC 8830), in order.
    pub fn msids(&self) -> impl Iterator<Item = Msid> + '_ {
        self.attributes_named("msid").filter_map(|v| v.parse().ok())
    }

    /// Appends an `a=msid`.
    pub fn add_msid(&mut self, msid: &Msid) -> &mut Self {
        self.add_attribute(Attribute::new("msid", msid.to_string()))
    }

    /// Every well-formed `a=ssrc` (RFC 5576), in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc> + '_ {
        self.attributes_named("ssrc").filter_map(|v| v.parse().ok())
    }

    /// The distinct SSRCs named by `a=ssrc` lines, in order of first mention.
    pub fn ssrc_ids(&self) -> Vec<u32> {
        let mut seen = std::collections::HashSet::new();
        self.ssrcs().map(|s| s.ssrc).filter(|id| seen.insert(*id)).collect()
    }

    /// Appends an `a=ssrc`.
    pub fn add_ssrc(&mut self, ssrc: &Ssrc) -> &mut Self {
        self.add_attribute(Attribute::new("ssrc", ssrc.to_string()))
    }

    /// Every well-formed `a=ssrc-group`, in order.
    pub fn ssrc_groups(&self) -> impl Iterator<Item = SsrcGroup> + '_ {
        self.attributes_named("ssrc-group").filter_map(|v| v.parse().ok())
    }

    /// Appends an `a=ssrc-group`.
    pub fn add_ssrc_group(&mut self, group: &SsrcGroup) -> &mut Self {
        self.add_attribute(Attribute::new("ssrc-group", group.to_string()))
    }

    /// Every well-formed `a=rid` (RFC 8851), in order.
    pub fn rids(&self) -> impl Iterator<Item = Rid> + '_ {
        self.attributes_named("rid").filter_map(|v| v.parse().ok())
    }

    /// Appends an `a=rid`.
    pub fn add_rid(&mut self, rid: &Rid) -> &mut Self {
        self.add_attribute(Attribute::new("rid", rid.to_string()))
    }

    /// `a=simulcast` (RFC 8853), when present and well-formed.
    pub fn simulcast(&self) -> Option<Simulcast> {
        self.attribute("simulcast")?.parse().ok()
    }

    /// Appends an `a=simulcast`.
    pub fn set_simulcast(&mut self, simulcast: &Simulcast) -> &mut Self {
        self.add_attribute(Attribute::new("simulcast", simulcast.to_string()))
    }
}

impl fmt::Display for MediaDescription {
    /// Writes the section with CRLF line endings, `m=` first.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m=")?;
        write_field(f, self.kind.as_str())?;
        write!(f, " {}", self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        f.write_str(" ")?;
        write_field(f, &self.protocol)?;
        for fmt in &self.formats {
            f.write_str(" ")?;
            write_field(f, fmt)?;
        }
        f.write_str("\r\n")?;
        let other = |f: &mut fmt::Formatter<'_>, ranks: std::ops::RangeInclusive<u8>| -> fmt::Result {
            for rank in ranks {
                for line in self.other_lines.iter().filter(|l| OtherLine::media_rank(l.kind) == rank) {
                    crate::write_line(f, line.kind, &line.value)?;
                }
            }
            Ok(())
        };
        other(f, 0..=0)?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for b in &self.bandwidth {
            write!(f, "b={b}\r\n")?;
        }
        other(f, 1..=2)?;
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}
