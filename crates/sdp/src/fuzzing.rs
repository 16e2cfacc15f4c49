//! Entry points shared by the cargo-fuzz target (`fuzz/`) and the test that
//! replays its corpus. Not part of the stable API.

use crate::SessionDescription;

/// Parses `data` as SDP, as it would arrive over signaling. Whatever parses
/// must write out and parse back to the same description, and every typed
/// accessor must run without panicking.
pub fn sdp_parse(data: &[u8]) {
    let Ok(sdp) = SessionDescription::parse_bytes(data) else { return };
    let text = sdp.to_string();
    let back = SessionDescription::parse(&text).expect("a written description parses");
    assert_eq!(back, sdp, "writing and parsing changed the description");
    assert_eq!(back.to_string(), text, "writing is not stable");

    let _ = (sdp.ice_lite(), sdp.bundle_group(), sdp.groups().count(), sdp.fingerprints(), sdp.direction());
    for m in &sdp.media {
        let _ = (sdp.fingerprints_for(m), sdp.setup_for(m), sdp.direction_for(m), sdp.ice_ufrag_for(m));
        let _ = (sdp.end_of_candidates_for(m), sdp.has_ice_option_for(m, "trickle"), sdp.ice_pwd_for(m));
        let _ = (m.mid(), m.is_rejected(), m.is_data_channel(), m.sctp_port(), m.max_message_size(), m.sctpmap());
        let _ = (m.rtpmaps().count(), m.fmtps().count(), m.rtcp_fbs().count(), m.extmaps().count());
        let _ = (m.msids().count(), m.ssrcs().count(), m.ssrc_groups().count(), m.candidates().count());
        let _ = (m.payload_types().count(), m.ice_options().count(), m.ssrc_ids(), m.rtx_for(96), m.codecs());
        for f in m.fmtps() {
            let _ = f.parameters().count();
        }
        for c in m.codecs() {
            let _ = (c.encoding(), c.is_rtx(), c.apt());
        }
        // RIDs and simulcast: what parses writes back the same.
        for r in m.rids() {
            assert_eq!(r.to_string().parse::<crate::Rid>().as_ref(), Ok(&r), "a=rid round trip");
        }
        if let Some(s) = m.simulcast() {
            assert_eq!(s.to_string().parse::<crate::Simulcast>().as_ref(), Ok(&s), "a=simulcast round trip");
            let _ = (s.rids(crate::RidDirection::Send).count(), s.rids(crate::RidDirection::Recv).count());
        }
    }
}
