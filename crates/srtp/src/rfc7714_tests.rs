//! The packet vectors of RFC 7714 sections 16 and 17. They are given for
//! session keys (the key derivation is pinned by RFC 3711 B.3 in `kdf`).

use crate::{Profile, SrtpContext, SrtpError};

const KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const KEY_256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo".
const SALT: &str = "517569642070726f2071756f";

/// Section 16: "Gallia est omnis divisa in partes tres", sequence number
/// 0xf17b, SSRC 0x5501a0b2, rollover counter 0.
const RTP: &str = concat!(
    "8040f17b8041f8d35501a0b247616c6c",
    "696120657374206f6d6e697320646976",
    "69736120696e20706172746573207472",
    "6573",
);

/// Section 16.1.1.
const SRTP_128: &str = concat!(
    "8040f17b8041f8d35501a0b2f24de3a3",
    "fb34de6cacba861c9d7e4bcabe633bd5",
    "0d294e6f42a5f47a51c7d19b36de3adf",
    "8833899d7f27beb16a9152cf765ee439",
    "0cce",
);

/// Section 16.2.1.
const SRTP_256: &str = concat!(
    "8040f17b8041f8d35501a0b232b1de78",
    "a822fe12ef9f78fa332e33aab1801238",
    "9a58e2f3b50b2a0276ffae0f1ba63799",
    "b87b7aa3db36dfffd6b0f9bb7878d7a7",
    "6c13",
);

/// The RTCP packet sections 17.1 to 17.4 operate on (sender SSRC "Mars").
const RTCP: &str = concat!(
    "81c8000d4d6172734e5450314e545032",
    "525450200000042a0000e9304c756e61",
    "deadbeefdeadbeefdeadbeefdeadbeef",
    "deadbeef",
);

/// Section 17.1, SRTCP index 0x5d4.
const SRTCP_128: &str = concat!(
    "81c8000d4d61727363e94885dcdab67c",
    "a727d7662f6b7e997ff5c0f76c06f32d",
    "c676a5f1730d6fda4ce09b4686303ded",
    "0bb9275bc84aa45896cf4d2fc5abf872",
    "45d9eade800005d4",
);

/// Section 17.2.
const SRTCP_256: &str = concat!(
    "81c8000d4d617273d50ae4d1f5ce5d30",
    "4ba297e47d470c282c3ece5dbffe0a50",
    "a2eaa5c1110555be8415f658c61de047",
    "6f1b6fad1d1eb30c4446839f57ff6f6c",
    "b26ac3be800005d4",
);

/// Section 17.3: authenticated, not encrypted (E flag clear).
const SRTCP_128_TAG_ONLY: &str = concat!(
    "81c8000d4d6172734e5450314e545032",
    "525450200000042a0000e9304c756e61",
    "deadbeefdeadbeefdeadbeefdeadbeef",
    "deadbeef841dd9683dd78ec92ae58790",
    "125f62b3000005d4",
);

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn context(profile: Profile, key: &str) -> SrtpContext {
    SrtpContext::from_session_keys(profile, &hex(key), &hex(SALT))
}

#[test]
fn srtp_vectors() {
    for (profile, key, srtp) in
        [(Profile::AeadAes128Gcm, KEY_128, SRTP_128), (Profile::AeadAes256Gcm, KEY_256, SRTP_256)]
    {
        let mut out = Vec::new();
        context(profile, key).protect_rtp(&hex(RTP), &mut out).unwrap();
        assert_eq!(out, hex(srtp), "{profile:?} protect");
        let mut rx = context(profile, key);
        rx.unprotect_rtp(&hex(srtp), &mut out).unwrap();
        assert_eq!(out, hex(RTP), "{profile:?} unprotect");
        let mut bad = hex(srtp);
        bad[20] ^= 1;
        assert_eq!(context(profile, key).unprotect_rtp(&bad, &mut out), Err(SrtpError::AuthenticationFailed));
    }
}

#[test]
fn srtcp_vectors() {
    for (profile, key, srtcp) in
        [(Profile::AeadAes128Gcm, KEY_128, SRTCP_128), (Profile::AeadAes256Gcm, KEY_256, SRTCP_256)]
    {
        let mut tx = context(profile, key);
        tx.set_rtcp_index(0x4d61_7273, 0x5d4);
        let mut out = Vec::new();
        tx.protect_rtcp(&hex(RTCP), &mut out).unwrap();
        assert_eq!(out, hex(srtcp), "{profile:?} protect");
        context(profile, key).unprotect_rtcp(&hex(srtcp), &mut out).unwrap();
        assert_eq!(out, hex(RTCP), "{profile:?} unprotect");
    }
}

#[test]
fn srtcp_tag_only_vector() {
    let mut out = Vec::new();
    context(Profile::AeadAes128Gcm, KEY_128).unprotect_rtcp(&hex(SRTCP_128_TAG_ONLY), &mut out).unwrap();
    assert_eq!(out, hex(RTCP));
}
