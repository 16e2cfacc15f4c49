//! RTP media sections: the codecs and header extensions we offer and
//! accept, and how an audio or video m-section is negotiated (JSEP, RFC 9429
//! section 5.3; RFC 3264 for the answerer's choice of payload types).
//!
//! An answer keeps the offerer's payload types and extension ids and lists
//! only what both sides support; a section with no common codec is
//! rejected. Retransmission formats (`rtx`, RFC 4588) are kept for the
//! codecs kept, and RTCP feedback is the intersection of both sides'.

use sdp::{
    Codec, Direction, ExtMap, Fmtp, MediaDescription, MediaKind, Rid, RidDirection, RtcpFb, RtpMap, Simulcast,
    SimulcastRid,
};

/// A codec we can send and receive (its payload format: packetizing and
/// depacketizing; encoding is the application's or `oxrtc-media`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecCapability {
    /// The encoding name as SDP writes it: `opus`, `PCMU`, `VP8`, `H264`...
    pub name: String,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Channels (audio), as in `a=rtpmap` (Opus: 2).
    pub channels: Option<u16>,
    /// The format parameters we offer (`a=fmtp`), if any.
    pub fmtp: Option<String>,
    /// The payload type we offer it with.
    pub payload_type: u8,
    /// The payload type of its retransmission format (`rtx`), if we offer one.
    pub rtx_payload_type: Option<u8>,
    /// RTCP feedback we support for it: `nack`, `nack pli`, `ccm fir`,
    /// `goog-remb`, `transport-cc`, `ack ccfb` (RFC 8888; written once for
    /// the section as `a=rtcp-fb:* ack ccfb`, as that RFC requires).
    pub feedback: Vec<String>,
}

/// An RTP header extension we support, and the id we offer it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionCapability {
    /// The extension URI.
    pub uri: String,
    /// The id we offer (1..=14 fits the one-byte form).
    pub id: u16,
    /// Offered in audio sections.
    pub audio: bool,
    /// Offered in video sections.
    pub video: bool,
}

/// What this endpoint offers and accepts in audio and video sections.
/// [`Default`] is a browser-like set: Opus, G.722, PCMU and PCMA; VP8, VP9,
/// H.264 (constrained baseline, packetization modes 1 and 0) and AV1, each
/// video codec with RTX; and the header extensions oxrtc reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaCapabilities {
    /// Audio codecs, in order of preference.
    pub audio: Vec<CodecCapability>,
    /// Video codecs, in order of preference.
    pub video: Vec<CodecCapability>,
    /// Header extensions.
    pub extensions: Vec<ExtensionCapability>,
}

/// RFC 8888 congestion control feedback, as `a=rtcp-fb` names it. Where
/// `transport-cc` is negotiated too, the session uses that (what browsers
/// speak) and ccfb is the fallback.
pub const CCFB: &str = "ack ccfb";

/// The transport-wide congestion control extension's URI.
pub const TRANSPORT_CC_URI: &str = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

impl Default for MediaCapabilities {
    fn default() -> Self {
        let fb = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let video_fb = fb(&["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli", CCFB]);
        let codec =
            |name: &str, clock_rate, channels, fmtp: Option<&str>, pt, rtx, feedback: &Vec<String>| CodecCapability {
                name: name.into(),
                clock_rate,
                channels,
                fmtp: fmtp.map(str::to_string),
                payload_type: pt,
                rtx_payload_type: rtx,
                feedback: feedback.clone(),
            };
        let opus_fb = fb(&["transport-cc", CCFB]);
        let none = Vec::new();
        let ext = |id, uri: &str, audio, video| ExtensionCapability { uri: uri.into(), id, audio, video };
        MediaCapabilities {
            audio: vec![
                codec("opus", 48000, Some(2), Some("minptime=10;useinbandfec=1"), 111, None, &opus_fb),
                codec("G722", 8000, None, None, 9, None, &none),
                codec("PCMU", 8000, None, None, 0, None, &none),
                codec("PCMA", 8000, None, None, 8, None, &none),
            ],
            video: vec![
                codec("VP8", 90000, None, None, 96, Some(97), &video_fb),
                codec("VP9", 90000, None, Some("profile-id=0"), 98, Some(99), &video_fb),
                codec(
                    "H264",
                    90000,
                    None,
                    Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
                    108,
                    Some(109),
                    &video_fb,
                ),
                codec(
                    "H264",
                    90000,
                    None,
                    Some("level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
                    114,
                    Some(115),
                    &video_fb,
                ),
                codec("AV1", 90000, None, None, 45, Some(46), &video_fb),
            ],
            extensions: vec![
                ext(1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", true, false),
                ext(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", true, true),
                ext(3, TRANSPORT_CC_URI, true, true),
                ext(4, "urn:ietf:params:rtp-hdrext:sdes:mid", true, true),
                ext(10, RID_URI, false, true),
                ext(11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", false, true),
                ext(13, "urn:3gpp:video-orientation", false, true),
                ext(14, "urn:ietf:params:rtp-hdrext:toffset", false, true),
            ],
        }
    }
}

impl MediaCapabilities {
    fn codecs(&self, kind: &MediaKind) -> &[CodecCapability] {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
            _ => &[],
        }
    }
}

/// Our sending side of a section: what `a=ssrc`, `a=msid` and, for
/// simulcast, `a=rid` and `a=simulcast` announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalSender {
    /// One stream without RID, or one per simulcast encoding (each with its RID).
    pub encodings: Vec<LocalEncoding>,
    pub cname: String,
    pub stream_id: String,
    pub track_id: String,
}

/// One stream we send: its SSRCs, and its RID when it is a simulcast encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalEncoding {
    pub rid: Option<String>,
    pub ssrc: u32,
    pub rtx_ssrc: u32,
}

impl LocalSender {
    /// Sends simulcast (its encodings carry RIDs).
    fn simulcast(&self) -> bool {
        self.encodings.iter().any(|e| e.rid.is_some())
    }

    /// Only the encodings whose RID `keep` accepts, in our order; without any,
    /// the first encoding alone and without RID (RFC 8853 section 5.3: a peer
    /// that declines simulcast gets one stream).
    fn negotiated(mut self, keep: impl Fn(&str) -> bool) -> LocalSender {
        let first = self.encodings.first().cloned();
        self.encodings.retain(|e| e.rid.as_deref().is_some_and(&keep));
        if self.encodings.is_empty() {
            self.encodings.extend(first.map(|e| LocalEncoding { rid: None, ..e }));
        }
        self
    }
}

/// An accepted RTP media section as negotiated (or as we offer it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MediaSection {
    /// Our direction.
    pub direction: Direction,
    /// Codecs with their payload types, feedback and fmtp; `rtx` formats
    /// included (their fmtp names the codec they repair).
    pub codecs: Vec<Codec>,
    pub extensions: Vec<ExtMap>,
    /// The peer's SSRCs (`a=ssrc`), if it announced any.
    pub remote_ssrcs: Vec<u32>,
    /// The RIDs of the simulcast streams the peer sends us, if any (they
    /// arrive as separate streams of the section, told apart by RID).
    pub remote_rids: Vec<String>,
    /// Ours, when we send.
    pub local: Option<LocalSender>,
    /// `a=rtcp-xr:rcvr-rtt=all` (RFC 3611) on both sides: receiver reference
    /// time and DLRR reports give a receive-only endpoint its round-trip time.
    pub xr_rtt: bool,
}

/// The RTCP XR attribute value we offer and accept (RFC 3611 section 5.1).
const XR_RCVR_RTT: &str = "rcvr-rtt=all";

/// The RTP header extension that carries a stream's RID (RFC 8852).
const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// The RIDs of the simulcast streams `m` says its writer does in
/// `direction`: the first alternative of each stream of `a=simulcast`
/// that has an `a=rid` of that direction; empty without simulcast or when
/// the RID extension is not negotiated; the first
/// [`MAX_SIMULCAST_ENCODINGS`](crate::MAX_SIMULCAST_ENCODINGS) at most.
fn simulcast_rids(m: &MediaDescription, direction: RidDirection, extensions: &[ExtMap]) -> Vec<SimulcastRid> {
    let Some(simulcast) = m.simulcast() else { return vec![] };
    if !extensions.iter().any(|e| e.uri == RID_URI) {
        return vec![];
    }
    let rids: Vec<Rid> = m.rids().filter(|r| r.direction == direction).collect();
    let mut out: Vec<SimulcastRid> = Vec::new();
    for r in simulcast.rids(direction).take(crate::MAX_SIMULCAST_ENCODINGS) {
        if rids.iter().any(|x| x.id == r.rid) && !out.iter().any(|o| o.rid == r.rid) {
            out.push(r.clone());
        }
    }
    out
}

fn has_xr_rtt(m: &MediaDescription) -> bool {
    m.attributes_named("rtcp-xr").any(|v| v.split_whitespace().any(|p| p.starts_with("rcvr-rtt")))
}

impl MediaSection {
    /// The payload types, in order, as the m-line lists them.
    pub fn formats(&self) -> Vec<String> {
        self.codecs.iter().map(|c| c.payload_type.to_string()).collect()
    }

    /// We send on it.
    pub fn sends(&self) -> bool {
        matches!(self.direction, Direction::SendRecv | Direction::SendOnly)
    }

    /// We receive on it.
    pub fn receives(&self) -> bool {
        matches!(self.direction, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// The directions both allow: sending only if both send, and so on.
pub(crate) fn intersect(a: Direction, b: Direction) -> Direction {
    let send = |d| matches!(d, Direction::SendRecv | Direction::SendOnly);
    let recv = |d| matches!(d, Direction::SendRecv | Direction::RecvOnly);
    match (send(a) && send(b), recv(a) && recv(b)) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

fn fmtp_get<'a>(fmtp: Option<&'a str>, key: &str) -> Option<&'a str> {
    sdp::fmtp_param(fmtp?, key)
}

/// Whether an offered codec is one of ours: name, clock rate and channels,
/// and the parameters that change the bitstream (H.264 packetization mode
/// and profile, VP9 and AV1 profile).
fn matches(cap: &CodecCapability, c: &Codec) -> bool {
    let Some(map) = &c.rtpmap else {
        // A static payload type without rtpmap (RFC 3551).
        return c.encoding().is_some_and(|(name, rate)| cap.name.eq_ignore_ascii_case(name) && cap.clock_rate == rate);
    };
    if !map.encoding.eq_ignore_ascii_case(&cap.name)
        || map.clock_rate != cap.clock_rate
        || map.channels.unwrap_or(1) != cap.channels.unwrap_or(1)
    {
        return false;
    }
    let ours = cap.fmtp.as_deref();
    let theirs = c.fmtp.as_ref().map(|f| f.params.as_str());
    if cap.name.eq_ignore_ascii_case("H264") {
        let mode = |f| fmtp_get(f, "packetization-mode").unwrap_or("0").to_string();
        // Profile: the first byte of profile-level-id (42 baseline, 4d main,
        // 64 high); constrained baseline (42e0) and baseline (4200) decode alike.
        let profile = |f| fmtp_get(f, "profile-level-id").and_then(|p| p.get(..2)).unwrap_or("42").to_ascii_lowercase();
        return mode(ours) == mode(theirs) && profile(ours) == profile(theirs);
    }
    if cap.name.eq_ignore_ascii_case("VP9") {
        return fmtp_get(ours, "profile-id").unwrap_or("0") == fmtp_get(theirs, "profile-id").unwrap_or("0");
    }
    if cap.name.eq_ignore_ascii_case("AV1") {
        return fmtp_get(ours, "profile").unwrap_or("0") == fmtp_get(theirs, "profile").unwrap_or("0");
    }
    true
}

fn feedback_of(pt: u8, list: &[String]) -> Vec<RtcpFb> {
    list.iter()
        .map(|f| {
            let (kind, param) = match f.split_once(' ') {
                Some((k, p)) => (k.to_string(), Some(p.to_string())),
                None => (f.clone(), None),
            };
            RtcpFb { payload_type: Some(pt), kind, param }
        })
        .collect()
}

fn fb_name(fb: &RtcpFb) -> String {
    match &fb.param {
        Some(p) => format!("{} {p}", fb.kind),
        None => fb.kind.clone(),
    }
}

fn rtx_codec(pt: u8, apt: u8, clock_rate: u32) -> Codec {
    Codec {
        payload_type: pt,
        rtpmap: Some(RtpMap { payload_type: pt, encoding: "rtx".into(), clock_rate, channels: None }),
        fmtp: Some(Fmtp { payload_type: pt, params: format!("apt={apt}") }),
        feedback: vec![],
    }
}

/// The section we offer for a new transceiver of `kind`.
pub(crate) fn offer(
    kind: &MediaKind,
    caps: &MediaCapabilities,
    direction: Direction,
    local: Option<LocalSender>,
) -> MediaSection {
    let mut codecs = Vec::new();
    for cap in caps.codecs(kind) {
        codecs.push(Codec {
            payload_type: cap.payload_type,
            rtpmap: Some(RtpMap {
                payload_type: cap.payload_type,
                encoding: cap.name.clone(),
                clock_rate: cap.clock_rate,
                channels: cap.channels,
            }),
            fmtp: cap.fmtp.as_ref().map(|p| Fmtp { payload_type: cap.payload_type, params: p.clone() }),
            feedback: feedback_of(cap.payload_type, &cap.feedback),
        });
        if let Some(rtx) = cap.rtx_payload_type {
            codecs.push(rtx_codec(rtx, cap.payload_type, cap.clock_rate));
        }
    }
    let extensions = caps
        .extensions
        .iter()
        .filter(|e| if *kind == MediaKind::Audio { e.audio } else { e.video })
        .map(|e| ExtMap { id: e.id, direction: None, uri: e.uri.clone(), attributes: None })
        .collect();
    MediaSection { direction, codecs, extensions, remote_ssrcs: vec![], remote_rids: vec![], local, xr_rtt: true }
}

/// Our answer to an offered media section, given the direction our
/// transceiver wants; `None` rejects it (no common codec, or not RTP).
pub(crate) fn answer(
    offered: &MediaDescription,
    caps: &MediaCapabilities,
    wanted: Direction,
    local: Option<LocalSender>,
    offer_direction: Direction,
) -> Option<MediaSection> {
    if offered.is_rejected() || !offered.is_rtp() || !matches!(offered.kind, MediaKind::Audio | MediaKind::Video) {
        return None;
    }
    let all = offered.codecs();
    let mut codecs = Vec::new();
    for c in all.iter().filter(|c| !c.is_rtx()) {
        let Some(cap) = caps.codecs(&offered.kind).iter().find(|cap| matches(cap, c)) else { continue };
        let mut kept = c.clone();
        kept.feedback.retain(|fb| cap.feedback.iter().any(|f| *f == fb_name(fb)));
        codecs.push(kept);
        if cap.rtx_payload_type.is_some() {
            if let Some(rtx) = offered.rtx_for(c.payload_type) {
                codecs.push(rtx_codec(rtx, c.payload_type, cap.clock_rate));
            }
        }
    }
    if codecs.is_empty() {
        return None;
    }
    let extensions: Vec<ExtMap> = offered
        .extmaps()
        .filter(|e| {
            caps.extensions
                .iter()
                .any(|x| x.uri == e.uri && if offered.kind == MediaKind::Audio { x.audio } else { x.video })
        })
        .map(|e| ExtMap { direction: None, ..e })
        .collect();
    let direction = intersect(offer_direction.reverse(), wanted);
    // Simulcast the offerer sends (we receive each RID as its own stream), and
    // simulcast it asks for (we send those of our encodings it names).
    let remote_rids = match direction {
        Direction::SendRecv | Direction::RecvOnly => {
            simulcast_rids(offered, RidDirection::Send, &extensions).into_iter().map(|r| r.rid).collect()
        }
        _ => vec![],
    };
    let wanted_rids = simulcast_rids(offered, RidDirection::Recv, &extensions);
    let local = local
        .filter(|_| matches!(direction, Direction::SendRecv | Direction::SendOnly))
        .map(|l| l.negotiated(|rid| wanted_rids.iter().any(|r| r.rid == rid)));
    Some(MediaSection {
        direction,
        codecs,
        extensions,
        remote_ssrcs: offered.ssrc_ids(),
        remote_rids,
        local,
        xr_rtt: has_xr_rtt(offered),
    })
}

/// Our offered section as the peer's answer settles it; `None` when the
/// answer rejects it.
pub(crate) fn from_answer(
    offered: &MediaSection,
    answered: &MediaDescription,
    answer_direction: Direction,
) -> Option<MediaSection> {
    if answered.is_rejected() || !answered.is_rtp() {
        return None;
    }
    let theirs = answered.codecs();
    let mut codecs = Vec::new();
    for c in &theirs {
        // The answer may only list what we offered (same payload type).
        let Some(ours) = offered.codecs.iter().find(|o| o.payload_type == c.payload_type) else { continue };
        let mut kept = ours.clone();
        kept.feedback.retain(|fb| c.feedback.iter().any(|t| fb_name(t) == fb_name(fb)));
        codecs.push(kept);
    }
    if codecs.iter().all(Codec::is_rtx) {
        return None;
    }
    let extensions: Vec<ExtMap> = answered
        .extmaps()
        .filter(|e| offered.extensions.iter().any(|o| o.uri == e.uri))
        .map(|e| ExtMap { direction: None, ..e })
        .collect();
    let direction = intersect(answer_direction.reverse(), offered.direction);
    // The encodings of our simulcast offer the answerer takes (`a=simulcast:recv`).
    let accepted = simulcast_rids(answered, RidDirection::Recv, &extensions);
    let local = offered
        .local
        .clone()
        .filter(|_| matches!(direction, Direction::SendRecv | Direction::SendOnly))
        .map(|l| l.negotiated(|rid| accepted.iter().any(|r| r.rid == rid)));
    Some(MediaSection {
        direction,
        codecs,
        extensions,
        remote_ssrcs: answered.ssrc_ids(),
        // We never offer to receive simulcast, so the answer cannot send it.
        remote_rids: vec![],
        local,
        xr_rtt: offered.xr_rtt && has_xr_rtt(answered),
    })
}

/// Writes a media section's own attributes (the transport ones are the
/// caller's): mid and direction first come from the caller too.
pub(crate) fn write(m: &mut MediaDescription, s: &MediaSection) {
    for e in &s.extensions {
        m.add_extmap(e);
    }
    m.set_direction(s.direction);
    if let Some(l) = &s.local {
        m.add_msid(&sdp::Msid { stream_id: l.stream_id.clone(), track_id: Some(l.track_id.clone()) });
    }
    m.set_rtcp_mux(true).set_rtcp_rsize(true);
    if s.xr_rtt {
        m.add_attribute(sdp::Attribute::new("rtcp-xr", XR_RCVR_RTT));
    }
    // RFC 8888 section 6: ccfb is per section, with the wildcard payload type.
    let is_ccfb = |fb: &RtcpFb| fb_name(fb) == CCFB;
    if s.codecs.iter().any(|c| c.feedback.iter().any(is_ccfb)) {
        m.add_rtcp_fb(&RtcpFb { payload_type: None, kind: "ack".into(), param: Some("ccfb".into()) });
    }
    for c in &s.codecs {
        if let Some(map) = &c.rtpmap {
            m.add_rtpmap(map);
        }
        for fb in c.feedback.iter().filter(|fb| !is_ccfb(fb)) {
            m.add_rtcp_fb(fb);
        }
        if let Some(f) = &c.fmtp {
            m.add_fmtp(f);
        }
    }
    write_simulcast(m, s);
    // Simulcast streams are announced by RID, not SSRC (as browsers do): the
    // peer learns each SSRC from the RID extension.
    if let Some(l) = s.local.as_ref().filter(|l| !l.simulcast()) {
        let has_rtx = s.codecs.iter().any(Codec::is_rtx);
        let msid = format!("{} {}", l.stream_id, l.track_id);
        for e in &l.encodings {
            if has_rtx {
                m.add_ssrc_group(&sdp::SsrcGroup { semantics: "FID".into(), ssrcs: vec![e.ssrc, e.rtx_ssrc] });
            }
            let mut ssrcs = vec![e.ssrc];
            if has_rtx {
                ssrcs.push(e.rtx_ssrc);
            }
            for ssrc in ssrcs {
                m.add_ssrc(&sdp::Ssrc { ssrc, attribute: "cname".into(), value: Some(l.cname.clone()) });
                m.add_ssrc(&sdp::Ssrc { ssrc, attribute: "msid".into(), value: Some(msid.clone()) });
            }
        }
    }
}

/// `a=rid` and `a=simulcast` (RFC 8851, 8853) for the encodings we send and
/// the peer's simulcast streams we receive.
fn write_simulcast(m: &mut MediaDescription, s: &MediaSection) {
    let mut simulcast = Simulcast::default();
    let sent = s.local.as_ref().filter(|l| l.simulcast() && s.sends());
    for rid in sent.into_iter().flat_map(|l| &l.encodings).filter_map(|e| e.rid.as_ref()) {
        m.add_rid(&Rid { id: rid.clone(), direction: RidDirection::Send, params: None });
        simulcast.send.push(vec![SimulcastRid { rid: rid.clone(), paused: false }]);
    }
    for rid in s.remote_rids.iter().filter(|_| s.receives()) {
        m.add_rid(&Rid { id: rid.clone(), direction: RidDirection::Recv, params: None });
        simulcast.recv.push(vec![SimulcastRid { rid: rid.clone(), paused: false }]);
    }
    if !simulcast.send.is_empty() || !simulcast.recv.is_empty() {
        m.set_simulcast(&simulcast);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROMIUM_OFFER: &str = include_str!("../../sdp/tests/fixtures/chromium156_captured_media_offer.sdp");

    fn offered(kind: MediaKind) -> MediaDescription {
        let s = sdp::SessionDescription::parse(CHROMIUM_OFFER).unwrap();
        s.media.into_iter().find(|m| m.kind == kind).unwrap()
    }

    #[test]
    fn directions_intersect() {
        use Direction::*;
        assert_eq!(intersect(SendRecv, RecvOnly), RecvOnly);
        assert_eq!(intersect(SendOnly, RecvOnly), Inactive);
        assert_eq!(intersect(SendRecv, SendRecv), SendRecv);
        assert_eq!(intersect(SendOnly, SendRecv), SendOnly);
    }

    #[test]
    fn chromium_video_is_answered_with_our_codecs_in_its_order_and_payload_types() {
        let m = offered(MediaKind::Video);
        let a = answer(&m, &MediaCapabilities::default(), Direction::RecvOnly, None, Direction::SendRecv).unwrap();
        let names: Vec<(u8, String, Option<String>)> = a
            .codecs
            .iter()
            .map(|c| {
                (c.payload_type, c.rtpmap.as_ref().unwrap().encoding.clone(), c.fmtp.as_ref().map(|f| f.params.clone()))
            })
            .collect();
        // VP8 + RTX first (Chromium's order), then the H.264 baseline variants
        // with their RTX; main and high profile H.264 are not ours.
        assert_eq!(names[0], (96, "VP8".into(), None));
        assert_eq!(names[1], (97, "rtx".into(), Some("apt=96".into())));
        let h264: Vec<u8> = names.iter().filter(|n| n.1 == "H264").map(|n| n.0).collect();
        assert_eq!(h264, vec![102, 104, 108, 114]);
        assert!(names.iter().any(|n| n.1 == "VP9") && names.iter().any(|n| n.1 == "AV1"));
        assert!(!names.iter().any(|n| n.1 == "red" || n.1 == "ulpfec"));
        let vp8 = &a.codecs[0];
        let fbs: Vec<String> = vp8.feedback.iter().map(fb_name).collect();
        assert_eq!(fbs, ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"], "Chromium offers no ccfb");
        // Extensions: the offer's ids, only those we know.
        let ext: Vec<(u16, &str)> = a.extensions.iter().map(|e| (e.id, e.uri.as_str())).collect();
        assert!(ext.contains(&(4, "urn:ietf:params:rtp-hdrext:sdes:mid")));
        assert!(ext.contains(&(3, TRANSPORT_CC_URI)));
        assert!(!ext.iter().any(|e| e.1.contains("video-timing")));
        assert_eq!(a.direction, Direction::RecvOnly);
        assert_eq!(a.remote_ssrcs.len(), 2, "video SSRC and its RTX");
        assert!(a.xr_rtt, "Chromium offers a=rtcp-xr:rcvr-rtt=all");
    }

    #[test]
    fn chromium_audio_keeps_opus_g722_pcmu_pcma_only() {
        let m = offered(MediaKind::Audio);
        let a = answer(&m, &MediaCapabilities::default(), Direction::SendRecv, None, Direction::SendRecv).unwrap();
        let pts: Vec<u8> = a.codecs.iter().map(|c| c.payload_type).collect();
        assert_eq!(pts, vec![111, 9, 0, 8]);
        assert_eq!(a.codecs[0].feedback.iter().map(fb_name).collect::<Vec<_>>(), ["transport-cc"]);
        assert_eq!(a.direction, Direction::SendRecv);
    }

    /// RFC 8888: offered once per section with the wildcard payload type,
    /// and a peer that offers only ccfb (no transport-cc) gets it answered.
    #[test]
    fn ccfb_is_negotiated_with_the_wildcard_form() {
        let ours = offer(&MediaKind::Video, &MediaCapabilities::default(), Direction::SendRecv, None);
        let mut m = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        m.set_mid("0");
        write(&mut m, &ours);
        let text = m.to_string();
        assert_eq!(text.matches("a=rtcp-fb:* ack ccfb").count(), 1, "{text}");
        assert!(!text.contains(" ack ccfb\r\na=rtcp-fb:96 ack"), "no per-codec ccfb lines");
        assert_eq!(text.matches("ack ccfb").count(), 1, "{text}");

        let theirs = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n\
            c=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n\
            a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtcp-fb:* ack ccfb\r\na=rtcp-fb:96 nack\r\n";
        let m = sdp::SessionDescription::parse(theirs).unwrap().media.remove(0);
        let a = answer(&m, &MediaCapabilities::default(), Direction::SendRecv, None, Direction::SendRecv).unwrap();
        let configs = crate::media_session::codec_configs(&a);
        let vp8 = configs.iter().find(|c| c.name == "VP8").unwrap();
        assert!(vp8.ccfb && !vp8.transport_cc && vp8.nack, "{vp8:?}");
        let mut written = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        write(&mut written, &a);
        assert_eq!(written.to_string().matches("a=rtcp-fb:* ack ccfb").count(), 1);
    }

    #[test]
    fn no_common_codec_rejects() {
        let m = offered(MediaKind::Video);
        let caps = MediaCapabilities { video: vec![], ..MediaCapabilities::default() };
        assert!(answer(&m, &caps, Direction::SendRecv, None, Direction::SendRecv).is_none());
    }

    #[test]
    fn an_offer_round_trips_through_sdp_and_the_answer_settles_it() {
        let local = LocalSender {
            encodings: vec![LocalEncoding { rid: None, ssrc: 1111, rtx_ssrc: 2222 }],
            cname: "cname".into(),
            stream_id: "stream".into(),
            track_id: "track".into(),
        };
        let ours = offer(&MediaKind::Video, &MediaCapabilities::default(), Direction::SendRecv, Some(local));
        let mut m = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        m.formats = ours.formats();
        m.set_mid("0");
        write(&mut m, &ours);
        let text = m.to_string();
        assert!(text.contains("a=rtpmap:96 VP8/90000"), "{text}");
        assert!(text.contains("a=fmtp:97 apt=96"), "{text}");
        assert!(text.contains("a=ssrc-group:FID 1111 2222"), "{text}");
        assert!(text.contains("a=msid:stream track"), "{text}");
        assert!(text.contains("a=rtcp-xr:rcvr-rtt=all"), "{text}");
        // The peer (as another oxrtc) answers recvonly with VP8 only.
        let caps = MediaCapabilities {
            video: MediaCapabilities::default().video.into_iter().filter(|c| c.name == "VP8").collect(),
            ..MediaCapabilities::default()
        };
        let theirs = answer(&m, &caps, Direction::RecvOnly, None, Direction::SendRecv).unwrap();
        assert_eq!(theirs.direction, Direction::RecvOnly);
        assert_eq!(theirs.remote_ssrcs, vec![1111, 2222]);
        let mut a = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        a.formats = theirs.formats();
        write(&mut a, &theirs);
        let settled = from_answer(&ours, &a, Direction::RecvOnly).unwrap();
        assert_eq!(settled.direction, Direction::SendOnly);
        assert_eq!(settled.codecs.iter().map(|c| c.payload_type).collect::<Vec<_>>(), vec![96, 97]);
        assert!(settled.local.is_some());
        assert!(theirs.xr_rtt && settled.xr_rtt);
    }

    fn simulcast_sender(rids: &[&str]) -> LocalSender {
        LocalSender {
            encodings: rids
                .iter()
                .enumerate()
                .map(|(i, r)| LocalEncoding { rid: Some(r.to_string()), ssrc: 10 + i as u32, rtx_ssrc: 20 + i as u32 })
                .collect(),
            cname: "c".into(),
            stream_id: "s".into(),
            track_id: "t".into(),
        }
    }

    fn section(text: &str) -> MediaDescription {
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
             c=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n{text}"
        );
        sdp::SessionDescription::parse(&sdp).unwrap().media.remove(0)
    }

    /// An offerer that asks to receive simulcast (an SFU) gets those of our
    /// encodings it names, in our order; one that does not gets the first
    /// encoding alone, without RID.
    #[test]
    fn an_offer_asking_for_simulcast_is_answered_with_the_encodings_it_names() {
        let rid_ext = format!("a=extmap:10 {RID_URI}\r\n");
        let asks = section(&format!(
            "a=recvonly\r\n{rid_ext}a=rid:l recv\r\na=rid:h recv\r\na=rid:x recv\r\na=simulcast:recv h;l;x\r\n"
        ));
        let caps = MediaCapabilities::default();
        let ours = simulcast_sender(&["h", "m", "l"]);
        let a = answer(&asks, &caps, Direction::SendOnly, Some(ours.clone()), Direction::RecvOnly).unwrap();
        let rids: Vec<_> = a.local.as_ref().unwrap().encodings.iter().map(|e| e.rid.clone().unwrap()).collect();
        assert_eq!(rids, ["h", "l"]);
        let mut m = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        write(&mut m, &a);
        let text = m.to_string();
        assert!(text.contains("a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n"), "{text}");
        assert!(!text.contains("a=ssrc:"), "{text}");

        for plain in [
            section("a=recvonly\r\n"),
            // Simulcast asked for, but the RID extension is not offered.
            section("a=recvonly\r\na=rid:h recv\r\na=simulcast:recv h\r\n"),
        ] {
            let a = answer(&plain, &caps, Direction::SendOnly, Some(ours.clone()), Direction::RecvOnly).unwrap();
            let l = a.local.as_ref().unwrap();
            assert_eq!(l.encodings, vec![LocalEncoding { rid: None, ssrc: 10, rtx_ssrc: 20 }]);
            let mut m = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
            write(&mut m, &a);
            let text = m.to_string();
            assert!(!text.contains("a=rid") && !text.contains("a=simulcast"), "{text}");
            assert!(text.contains("a=ssrc:10 cname:c"), "{text}");
        }
    }

    /// A simulcast offer is answered with its RIDs as recv, paused ones
    /// and alternatives reduced to the first, RIDs without `a=rid` left out.
    #[test]
    fn a_simulcast_offer_is_answered_with_its_rids_received() {
        let text = format!(
            "a=sendonly\r\na=extmap:10 {RID_URI}\r\na=rid:q send\r\na=rid:f send max-width=1280\r\n\
             a=rid:f2 send\r\na=simulcast:send ~q;f,f2;zz\r\n"
        );
        let a = answer(&section(&text), &MediaCapabilities::default(), Direction::RecvOnly, None, Direction::SendOnly)
            .unwrap();
        assert_eq!(a.remote_rids, ["q", "f"]);
        let mut m = MediaDescription::new(MediaKind::Video, 9, sdp::PROTO_RTP, &[]);
        write(&mut m, &a);
        let text = m.to_string();
        assert!(text.contains("a=rid:q recv\r\na=rid:f recv\r\na=simulcast:recv q;f\r\n"), "{text}");

        // A flood of RIDs: the first MAX_SIMULCAST_ENCODINGS are taken.
        let rids: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
        let lines: String = rids.iter().map(|r| format!("a=rid:{r} send\r\n")).collect();
        let text = format!("a=sendonly\r\na=extmap:10 {RID_URI}\r\n{lines}a=simulcast:send {}\r\n", rids.join(";"));
        let a = answer(&section(&text), &MediaCapabilities::default(), Direction::RecvOnly, None, Direction::SendOnly)
            .unwrap();
        assert_eq!(a.remote_rids, rids[..crate::MAX_SIMULCAST_ENCODINGS]);
    }
}
