//! The negotiated media sections as the RTP session
//! ([`rtp::session::rtc::Session`]) takes them.

use rtp::extension::ExtensionMap;
use rtp::session::rtc::{CodecConfig, MediaConfig, SendConfig};
use rtp::session::send::MediaKind;

use crate::jsep::{Section, Use};
use crate::media::MediaSection;

/// The RTP session's view of every accepted audio and video section.
pub(crate) fn media_configs(sections: &[Section], jitter_buffer: bool) -> Vec<MediaConfig> {
    sections
        .iter()
        .filter_map(|s| match &s.used {
            Use::Media(m) => Some(media_config(&s.mid, &s.kind, m, jitter_buffer)),
            _ => None,
        })
        .collect()
}

fn media_config(mid: &str, kind: &sdp::MediaKind, m: &MediaSection, jitter_buffer: bool) -> MediaConfig {
    let codecs = codec_configs(m);
    let mut extensions = ExtensionMap::new();
    for e in &m.extensions {
        if let Ok(id) = u8::try_from(e.id) {
            // A duplicate or out-of-range id from the peer is left out.
            let _ = extensions.insert(id, e.uri.clone());
        }
    }
    let has_rtx = codecs.iter().any(|c| c.rtx_payload_type.is_some());
    MediaConfig {
        mid: mid.to_string(),
        kind: if *kind == sdp::MediaKind::Audio { MediaKind::Audio } else { MediaKind::Video },
        codecs,
        extensions,
        send: m
            .local
            .iter()
            .filter(|_| m.sends())
            .flat_map(|l| &l.encodings)
            .map(|e| SendConfig { ssrc: e.ssrc, rtx_ssrc: has_rtx.then_some(e.rtx_ssrc), rid: e.rid.clone() })
            .collect(),
        receive: m.receives(),
        remote_ssrcs: m.remote_ssrcs.clone(),
        jitter_buffer,
        xr_rtt: m.xr_rtt,
    }
}

/// The section's codecs (RTX folded into the codec it repairs), with their
/// negotiated feedback.
pub(crate) fn codec_configs(m: &MediaSection) -> Vec<CodecConfig> {
    let rtx_of = |pt: u8| m.codecs.iter().find(|c| c.is_rtx() && c.apt() == Some(pt)).map(|c| c.payload_type);
    m.codecs
        .iter()
        .filter(|c| !c.is_rtx())
        .filter_map(|c| {
            let (name, clock_rate) = c.encoding()?;
            let channels = c.rtpmap.as_ref().and_then(|r| r.channels);
            let has = |kind: &str, param: Option<&str>| {
                c.feedback.iter().any(|f| f.kind.eq_ignore_ascii_case(kind) && f.param.as_deref() == param)
            };
            let mut cfg = CodecConfig::new(c.payload_type, name, clock_rate);
            cfg.channels = channels;
            cfg.fmtp = c.fmtp.as_ref().map(|f| f.params.clone());
            cfg.rtx_payload_type = rtx_of(c.payload_type);
            cfg.nack = has("nack", None);
            cfg.pli = has("nack", Some("pli"));
            cfg.fir = has("ccm", Some("fir"));
            cfg.transport_cc = has("transport-cc", None);
            cfg.remb = has("goog-remb", None);
            cfg.ccfb = has("ack", Some("ccfb"));
            Some(cfg)
        })
        .collect()
}
