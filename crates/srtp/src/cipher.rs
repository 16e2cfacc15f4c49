//! The per-packet transforms: AES-CM with HMAC-SHA1 (RFC 3711) and
//! AEAD AES-GCM (RFC 7714), for SRTP and SRTCP.
//!
//! Everything here is keyed once, when a context is built: the AES key
//! schedule, the HMAC inner/outer state and the GCM key are cloned (a copy)
//! for each packet, never re-derived.

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use hmac::{Hmac, Mac};
use ring::aead;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::kdf::SessionKeys;
use crate::{Profile, SrtpError};

/// Length of the AEAD tag of the GCM profiles.
const GCM_TAG_LEN: usize = 16;

/// Applies the AES-128-CM keystream of RFC 3711 section 4.1.1 to `data`:
/// the counter block is `(salt * 2^16) XOR (ssrc * 2^64) XOR (index * 2^16)`.
/// The key is expanded on each call; used by tests and by nothing hot.
pub fn aes_cm_apply(key: &[u8], salt: &[u8; 14], ssrc: u32, index: u64, data: &mut [u8]) {
    let aes = aes::Aes128::new(key.into());
    cm_apply(&aes, salt, ssrc, index, data);
}

fn cm_apply(aes: &aes::Aes128, salt: &[u8; 14], ssrc: u32, index: u64, data: &mut [u8]) {
    let mut iv = [0u8; 16];
    iv[..14].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *b ^= s;
    }
    let core = ctr::CtrCore::<aes::Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(aes.clone(), &iv.into());
    ctr::Ctr128BE::<aes::Aes128>::from_core(core).apply_keystream(data);
}

/// The keyed transform of one direction, for SRTP or for SRTCP.
// Two live per context and never moved per packet: boxing would only add
// an indirection on the hot path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transform {
    /// AES-128-CM encryption, HMAC-SHA1 authentication.
    CmHmac {
        /// The expanded session encryption key.
        aes: aes::Aes128,
        /// The 112-bit session salt.
        salt: [u8; 14],
        /// HMAC-SHA1 keyed with the session authentication key.
        mac: Hmac<Sha1>,
        /// Bytes of the tag kept (10 or 4).
        tag_len: usize,
    },
    /// AEAD AES-GCM.
    Gcm {
        /// The session key.
        key: aead::LessSafeKey,
        /// The 96-bit session salt.
        salt: [u8; 12],
    },
}

impl Transform {
    /// Keys the transform for `profile` from derived session keys.
    pub(crate) fn new(profile: Profile, keys: &SessionKeys, rtcp: bool) -> Result<Self, SrtpError> {
        let key_len = profile.master_key_len();
        Ok(match profile {
            Profile::Aes128CmHmacSha1_80 | Profile::Aes128CmHmacSha1_32 => Transform::CmHmac {
                aes: aes::Aes128::new(keys.enc[..16].into()),
                salt: keys.salt,
                mac: <Hmac<Sha1> as Mac>::new_from_slice(&keys.auth).expect("HMAC takes keys of any length"),
                tag_len: if rtcp { profile.rtcp_tag_len() } else { profile.rtp_tag_len() },
            },
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => {
                let alg = if key_len == 16 { &aead::AES_128_GCM } else { &aead::AES_256_GCM };
                let unbound = aead::UnboundKey::new(alg, &keys.enc[..key_len])
                    .map_err(|_| SrtpError::BadKeyLength { what: "key", expected: key_len, got: key_len })?;
                let mut salt = [0u8; 12];
                salt.copy_from_slice(&keys.salt[..12]);
                Transform::Gcm { key: aead::LessSafeKey::new(unbound), salt }
            }
        })
    }

    /// Bytes this transform adds to an SRTP packet.
    pub(crate) fn tag_len(&self) -> usize {
        match self {
            Transform::CmHmac { tag_len, .. } => *tag_len,
            Transform::Gcm { .. } => GCM_TAG_LEN,
        }
    }

    /// Protects an RTP packet whose header is `header_len` bytes, writing the
    /// SRTP packet into `out`.
    pub(crate) fn protect_rtp(&self, packet: &[u8], header_len: usize, ssrc: u32, index: u64, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(packet.len() + self.tag_len());
        out.extend_from_slice(packet);
        let roc = (index >> 16) as u32;
        match self {
            Transform::CmHmac { aes, salt, mac, tag_len } => {
                cm_apply(aes, salt, ssrc, index, &mut out[header_len..]);
                let mut mac = mac.clone();
                mac.update(out);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                out.extend_from_slice(&tag[..*tag_len]);
            }
            Transform::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, ssrc, index);
                let (aad, body) = out.split_at_mut(header_len);
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(&*aad), body)
                    .expect("GCM seals any SRTP-sized packet");
                out.extend_from_slice(tag.as_ref());
            }
        }
    }

    /// Authenticates and decrypts an SRTP packet, writing the RTP packet into
    /// `out`. `out` holds garbage on error.
    pub(crate) fn unprotect_rtp(
        &self,
        packet: &[u8],
        header_len: usize,
        ssrc: u32,
        index: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), SrtpError> {
        let tag_len = self.tag_len();
        if packet.len() < header_len + tag_len {
            return Err(SrtpError::Malformed("SRTP packet shorter than its header and tag"));
        }
        let body_end = packet.len() - tag_len;
        let roc = (index >> 16) as u32;
        out.clear();
        match self {
            Transform::CmHmac { aes, salt, mac, .. } => {
                let mut mac = mac.clone();
                mac.update(&packet[..body_end]);
                mac.update(&roc.to_be_bytes());
                let tag = mac.finalize().into_bytes();
                if !bool::from(tag[..tag_len].ct_eq(&packet[body_end..])) {
                    return Err(SrtpError::AuthenticationFailed);
                }
                out.extend_from_slice(&packet[..body_end]);
                cm_apply(aes, salt, ssrc, index, &mut out[header_len..]);
            }
            Transform::Gcm { key, salt } => {
                out.extend_from_slice(packet);
                let nonce = gcm_nonce(salt, ssrc, index);
                let (aad, body) = out.split_at_mut(header_len);
                key.open_in_place(nonce, aead::Aad::from(&*aad), body).map_err(|_| SrtpError::AuthenticationFailed)?;
                out.truncate(body_end);
            }
        }
        Ok(())
    }

    /// Protects a (compound) RTCP packet with SRTCP index `index`, always
    /// encrypting (E flag set).
    pub(crate) fn protect_rtcp(&self, packet: &[u8], ssrc: u32, index: u32, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(packet.len() + 4 + self.tag_len());
        out.extend_from_slice(packet);
        let trailer = (0x8000_0000 | index).to_be_bytes();
        match self {
            Transform::CmHmac { aes, salt, mac, tag_len } => {
                cm_apply(aes, salt, ssrc, u64::from(index), &mut out[8..]);
                out.extend_from_slice(&trailer);
                let mut mac = mac.clone();
                mac.update(out);
                let tag = mac.finalize().into_bytes();
                out.extend_from_slice(&tag[..*tag_len]);
            }
            Transform::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, ssrc, u64::from(index));
                let mut aad = [0u8; 12];
                aad[..8].copy_from_slice(&packet[..8]);
                aad[8..].copy_from_slice(&trailer);
                let tag = key
                    .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), &mut out[8..])
                    .expect("GCM seals any SRTCP-sized packet");
                out.extend_from_slice(tag.as_ref());
                out.extend_from_slice(&trailer);
            }
        }
    }

    /// Reads the E flag and 31-bit SRTCP index of an SRTCP packet, checking
    /// only lengths.
    pub(crate) fn rtcp_trailer(&self, packet: &[u8]) -> Result<(bool, u32), SrtpError> {
        let tag_len = self.tag_len();
        if packet.len() < 8 + 4 + tag_len {
            return Err(SrtpError::Malformed("SRTCP packet shorter than header, index and tag"));
        }
        let at = match self {
            Transform::CmHmac { .. } => packet.len() - tag_len - 4,
            Transform::Gcm { .. } => packet.len() - 4,
        };
        let word = u32::from_be_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]]);
        Ok((word & 0x8000_0000 != 0, word & 0x7fff_ffff))
    }

    /// Authenticates and (if the E flag is set) decrypts an SRTCP packet.
    pub(crate) fn unprotect_rtcp(&self, packet: &[u8], ssrc: u32, out: &mut Vec<u8>) -> Result<(), SrtpError> {
        let (encrypted, index) = self.rtcp_trailer(packet)?;
        let tag_len = self.tag_len();
        out.clear();
        match self {
            Transform::CmHmac { aes, salt, mac, .. } => {
                let body_end = packet.len() - tag_len;
                let mut mac = mac.clone();
                mac.update(&packet[..body_end]);
                let tag = mac.finalize().into_bytes();
                if !bool::from(tag[..tag_len].ct_eq(&packet[body_end..])) {
                    return Err(SrtpError::AuthenticationFailed);
                }
                out.extend_from_slice(&packet[..body_end - 4]);
                if encrypted {
                    cm_apply(aes, salt, ssrc, u64::from(index), &mut out[8..]);
                }
            }
            Transform::Gcm { key, salt } => {
                let nonce = gcm_nonce(salt, ssrc, u64::from(index));
                let trailer = &packet[packet.len() - 4..];
                let sealed = &packet[..packet.len() - 4];
                if encrypted {
                    let mut aad = [0u8; 12];
                    aad[..8].copy_from_slice(&packet[..8]);
                    aad[8..].copy_from_slice(trailer);
                    out.extend_from_slice(sealed);
                    key.open_in_place(nonce, aead::Aad::from(aad), &mut out[8..])
                        .map_err(|_| SrtpError::AuthenticationFailed)?;
                    out.truncate(sealed.len() - tag_len);
                } else {
                    // RFC 7714 section 9.3: unencrypted SRTCP authenticates
                    // the whole packet and the index word as AAD.
                    let plain = &sealed[..sealed.len() - tag_len];
                    let mut aad = Vec::with_capacity(plain.len() + 4);
                    aad.extend_from_slice(plain);
                    aad.extend_from_slice(trailer);
                    let mut tag = [0u8; GCM_TAG_LEN];
                    tag.copy_from_slice(&sealed[plain.len()..]);
                    key.open_in_place(nonce, aead::Aad::from(aad), &mut tag)
                        .map_err(|_| SrtpError::AuthenticationFailed)?;
                    out.extend_from_slice(plain);
                }
            }
        }
        Ok(())
    }
}

/// The RFC 7714 IV: `00 00 || SSRC || ROC || SEQ` for SRTP, or
/// `00 00 || SSRC || 00 00 || 0 || SRTCP index` for SRTCP, XOR the session
/// salt. Both are `00 00 || SSRC || 48-bit index`.
fn gcm_nonce(salt: &[u8; 12], ssrc: u32, index: u64) -> aead::Nonce {
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
    iv[6..12].copy_from_slice(&index.to_be_bytes()[2..]);
    for (b, s) in iv.iter_mut().zip(salt) {
        *b ^= s;
    }
    aead::Nonce::assume_unique_for_key(iv)
}
