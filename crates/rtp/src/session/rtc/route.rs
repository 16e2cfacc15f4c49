//! Which m-section (and which stream) an incoming RTP packet belongs to, in libwebrtc's
//! order (`RtpDemuxer`): a known SSRC (learned, or from `a=ssrc`); then the MID header
//! extension, with RID or repaired RID, learning the SSRC; then the payload type, only when
//! exactly one receiving section could take it. RTX is told apart by its payload type
//! (`apt`) or a repaired RID.
//!
//! Learned SSRCs are capped per section and in total ([`MAX_REMOTE_SSRCS_PER_SECTION`],
//! [`MAX_REMOTE_SSRCS`]); a packet that would exceed a cap is dropped and counted, so a
//! flood of random SSRCs creates no state beyond the caps.

use std::collections::HashMap;

use crate::extension::{ExtensionKind, Mid, RepairedRtpStreamId, RtpStreamId};
use crate::packet::RtpHeader;

use super::Section;

/// Remote SSRCs (media and RTX) learned per m-section at most (16: a simulcast of three
/// encodings with RTX uses six).
pub const MAX_REMOTE_SSRCS_PER_SECTION: usize = 16;
/// Remote SSRCs (media and RTX) learned per session at most.
pub const MAX_REMOTE_SSRCS: usize = 128;

/// What an SSRC carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteKind {
    /// Media; its stream is keyed by the SSRC itself.
    Media,
    /// RTX (RFC 4588) repairing the media SSRC, once known.
    Rtx { media: Option<u32> },
}

/// Where an SSRC's packets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The section's id ([`Section::id`]).
    pub section: u64,
    pub kind: RouteKind,
    /// The RID (media) or repaired RID (RTX) the SSRC was learned with.
    pub rid: Option<String>,
}

/// Why a packet has no route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// Nothing names a receiving section (unknown SSRC, no or unknown MID, a payload type
    /// that no section or several sections take).
    Unroutable,
    /// The SSRC would exceed a cap.
    Capped,
}

/// The SSRC table, bounded.
#[derive(Debug)]
pub(crate) struct Router {
    routes: HashMap<u32, Route>,
    per_section: HashMap<u64, usize>,
    max_per_section: usize,
    max_total: usize,
}

impl Router {
    pub fn new(max_per_section: usize, max_total: usize) -> Self {
        Router { routes: HashMap::new(), per_section: HashMap::new(), max_per_section, max_total }
    }

    /// SSRCs known.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn get(&self, ssrc: u32) -> Option<&Route> {
        self.routes.get(&ssrc)
    }

    /// The RTX SSRC's media SSRC, once found.
    pub fn set_rtx_media(&mut self, rtx: u32, media: u32) {
        if let Some(Route { kind: RouteKind::Rtx { media: m }, .. }) = self.routes.get_mut(&rtx) {
            *m = Some(media);
        }
    }

    /// Routes `header` (its SSRC is not known yet) and learns the SSRC.
    pub fn learn(&mut self, sections: &[Section], header: &RtpHeader) -> Result<Route, NoRoute> {
        // At the total cap a flood of new SSRCs costs no parsing of ids.
        if self.routes.len() >= self.max_total {
            return Err(NoRoute::Capped);
        }
        let route = decide(sections, header)?;
        let count = self.per_section.get(&route.section).copied().unwrap_or(0);
        if count >= self.max_per_section {
            return Err(NoRoute::Capped);
        }
        self.per_section.insert(route.section, count + 1);
        self.routes.insert(header.ssrc, route.clone());
        Ok(route)
    }

    /// Forgets one SSRC (the remote said BYE).
    pub fn forget(&mut self, ssrc: u32) -> Option<Route> {
        let route = self.routes.remove(&ssrc)?;
        if let Some(n) = self.per_section.get_mut(&route.section) {
            *n = n.saturating_sub(1);
        }
        Some(route)
    }

    /// Forgets the SSRCs of sections `keep` does not accept; returns the media SSRCs gone.
    pub fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) -> Vec<u32> {
        let mut gone = Vec::new();
        self.routes.retain(|ssrc, r| {
            let kept = keep(r.section);
            if !kept && r.kind == RouteKind::Media {
                gone.push(*ssrc);
            }
            kept
        });
        self.per_section.clear();
        for r in self.routes.values() {
            *self.per_section.entry(r.section).or_default() += 1;
        }
        gone
    }
}

/// The MID, RID and repaired RID a packet carries, read with the first receiving section's
/// map that knows the MID extension (under BUNDLE the ids are shared).
fn read_ids(sections: &[Section], header: &RtpHeader) -> (Option<String>, Option<String>, Option<String>) {
    let exts = &header.extensions;
    for map in sections.iter().map(|s| &s.config.extensions) {
        let Some(id) = map.id_of(ExtensionKind::Mid) else { continue };
        if !exts.contains(id) {
            continue;
        }
        let mid = map.read::<Mid>(exts).ok().flatten().map(|m| m.as_str().to_owned());
        let rid = map.read::<RtpStreamId>(exts).ok().flatten().map(|r| r.as_str().to_owned());
        let rrid = map.read::<RepairedRtpStreamId>(exts).ok().flatten().map(|r| r.as_str().to_owned());
        return (mid, rid, rrid);
    }
    (None, None, None)
}

/// Whether `pt` is one of the section's RTX payload types.
pub(crate) fn is_rtx_payload_type(section: &Section, pt: u8) -> bool {
    section.config.codecs.iter().any(|c| c.rtx_payload_type == Some(pt))
}

fn takes_payload_type(section: &Section, pt: u8) -> bool {
    section.config.codecs.iter().any(|c| c.payload_type == pt || c.rtx_payload_type == Some(pt))
}

fn route(section: &Section, header: &RtpHeader, rid: Option<String>, rrid: Option<String>) -> Route {
    let rtx = rrid.is_some() || is_rtx_payload_type(section, header.payload_type);
    let (kind, rid) = if rtx { (RouteKind::Rtx { media: None }, rrid) } else { (RouteKind::Media, rid) };
    Route { section: section.id, kind, rid }
}

/// The route of a packet from an unknown SSRC.
fn decide(sections: &[Section], header: &RtpHeader) -> Result<Route, NoRoute> {
    let receiving = || sections.iter().filter(|s| s.config.receive);
    if let Some(s) = receiving().find(|s| s.config.remote_ssrcs.contains(&header.ssrc)) {
        return Ok(route(s, header, None, None));
    }
    let (mid, rid, rrid) = read_ids(sections, header);
    if let Some(mid) = mid {
        // A MID that names no receiving section is final: the payload type is not tried.
        let s = receiving().find(|s| s.config.mid == mid).ok_or(NoRoute::Unroutable)?;
        return Ok(route(s, header, rid, rrid));
    }
    let mut candidates = receiving().filter(|s| takes_payload_type(s, header.payload_type));
    match (candidates.next(), candidates.next()) {
        (Some(s), None) => Ok(route(s, header, rid, rrid)),
        _ => Err(NoRoute::Unroutable),
    }
}
