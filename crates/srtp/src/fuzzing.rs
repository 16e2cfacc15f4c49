//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that
//! replays their corpus. Not part of the stable API.

use crate::{rtcp_sender_ssrc, Config, Profile, RtpHeader, SrtpContext, SrtpError};

/// The master key the fuzz target uses (the first `master_key_len` bytes).
pub const KEY: [u8; 32] = *b"oxrtc fuzz master key, 32 bytes!";
/// The master salt the fuzz target uses (the first `master_salt_len` bytes).
pub const SALT: [u8; 14] = *b"oxrtc fuzz sal";

/// The profile a fuzz input's first byte selects (the byte mod 4).
pub fn profile_of(selector: u8) -> Profile {
    match selector % 4 {
        0 => Profile::Aes128CmHmacSha1_80,
        1 => Profile::Aes128CmHmacSha1_32,
        2 => Profile::AeadAes128Gcm,
        _ => Profile::AeadAes256Gcm,
    }
}

/// A fresh context of `profile` keyed with [`KEY`] and [`SALT`].
pub fn context(profile: Profile) -> SrtpContext {
    SrtpContext::new(profile, &KEY[..profile.master_key_len()], &SALT[..profile.master_salt_len()], Config::default())
        .expect("the fuzz keys fit every profile")
}

/// The first byte picks the profile; the rest is what a peer could send.
/// It goes to `unprotect_rtp` and `unprotect_rtcp` of fresh contexts (a
/// second try of what was accepted must be a replay), and when it parses as
/// RTP or RTCP it also makes a protect → unprotect round trip, which must
/// give back the input.
pub fn srtp_unprotect(data: &[u8]) {
    let Some((&selector, packet)) = data.split_first() else { return };
    let profile = profile_of(selector);
    let mut out = Vec::new();

    let mut rx = context(profile);
    if rx.unprotect_rtp(packet, &mut out).is_ok() {
        assert!(out.len() < packet.len(), "unprotect did not strip the tag");
        assert_eq!(rx.unprotect_rtp(packet, &mut out), Err(SrtpError::Replayed), "an SRTP replay was accepted");
    }
    let mut rx = context(profile);
    if rx.unprotect_rtcp(packet, &mut out).is_ok() {
        assert!(out.len() < packet.len(), "unprotect did not strip the trailer");
        assert_eq!(rx.unprotect_rtcp(packet, &mut out), Err(SrtpError::Replayed), "an SRTCP replay was accepted");
    }

    if RtpHeader::parse(packet).is_ok() {
        let (mut tx, mut rx) = (context(profile), context(profile));
        let mut srtp = Vec::new();
        tx.protect_rtp(packet, &mut srtp).expect("a fresh context protects any RTP packet");
        assert_eq!(srtp.len(), packet.len() + profile.rtp_tag_len());
        rx.unprotect_rtp(&srtp, &mut out).expect("our own SRTP packet unprotects");
        assert_eq!(out, packet, "the SRTP round trip changed the packet");
    }
    if rtcp_sender_ssrc(packet).is_ok() {
        let (mut tx, mut rx) = (context(profile), context(profile));
        let mut srtcp = Vec::new();
        tx.protect_rtcp(packet, &mut srtcp).expect("a fresh context protects any RTCP packet");
        assert_eq!(srtcp.len(), packet.len() + 4 + profile.rtcp_tag_len());
        rx.unprotect_rtcp(&srtcp, &mut out).expect("our own SRTCP packet unprotects");
        assert_eq!(out, packet, "the SRTCP round trip changed the packet");
    }
}
