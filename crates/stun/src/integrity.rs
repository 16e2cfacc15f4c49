//! MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
//! (RFC 8489 sections 14.5 to 14.7, 9.1 and 9.2).

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::message::HEADER_LEN;

/// XOR value of the FINGERPRINT attribute ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// A keyed HMAC context for one credential, built once and reused for every
/// message (re-keying an HMAC per packet is a cost we do not pay).
#[derive(Clone)]
pub struct IntegrityKey {
    /// RustCrypto's SHA-1 uses the CPU's SHA extensions; ring's SHA-1 does
    /// not. Measured on an ICE check (decode + verify): 0.85 µs with ring,
    /// 0.34 µs with RustCrypto (`cargo bench -p oxrtc-bench`).
    sha1: Hmac<sha1::Sha1>,
    sha256: ring::hmac::Key,
    prefer_sha256: bool,
}

impl std::fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrityKey").field("prefer_sha256", &self.prefer_sha256).finish_non_exhaustive()
    }
}

impl IntegrityKey {
    /// Short-term credentials (ICE): the key is the password itself.
    /// ICE passwords are ASCII, so SASLprep leaves them unchanged.
    pub fn short_term(password: &str) -> Self {
        Self::from_bytes(password.as_bytes())
    }

    /// Long-term credentials (TURN): the key is
    /// `MD5(username ":" realm ":" password)` (RFC 8489 section 9.2.2).
    /// The password must already be SASLprep-processed if it is not ASCII.
    pub fn long_term(username: &str, realm: &str, password: &str) -> Self {
        let mut md5 = Md5::new();
        md5.update(username.as_bytes());
        md5.update(b":");
        md5.update(realm.as_bytes());
        md5.update(b":");
        md5.update(password.as_bytes());
        Self::from_bytes(&md5.finalize())
    }

    /// A key from raw key bytes.
    pub fn from_bytes(key: &[u8]) -> Self {
        IntegrityKey {
            sha1: Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes keys of any length"),
            sha256: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
            prefer_sha256: false,
        }
    }

    /// Makes [`crate::Message::encode`] write MESSAGE-INTEGRITY-SHA256
    /// instead of MESSAGE-INTEGRITY.
    pub fn with_sha256(mut self) -> Self {
        self.prefer_sha256 = true;
        self
    }

    pub(crate) fn prefers_sha256(&self) -> bool {
        self.prefer_sha256
    }

    /// HMAC over `prefix` (header and attributes before the integrity
    /// attribute) with the header's length field replaced by `length_field`.
    pub(crate) fn mac(&self, sha256: bool, prefix: &[u8], length_field: u16) -> Tag {
        if sha256 {
            let mut ctx = ring::hmac::Context::with_key(&self.sha256);
            ctx.update(&prefix[..2]);
            ctx.update(&length_field.to_be_bytes());
            ctx.update(&prefix[4..]);
            let t = ctx.sign();
            let mut out = [0u8; 32];
            out.copy_from_slice(t.as_ref());
            Tag { bytes: out, len: 32 }
        } else {
            let mut ctx = self.sha1.clone();
            ctx.update(&prefix[..2]);
            ctx.update(&length_field.to_be_bytes());
            ctx.update(&prefix[4..]);
            let mut out = [0u8; 32];
            out[..20].copy_from_slice(&ctx.finalize().into_bytes());
            Tag { bytes: out, len: 20 }
        }
    }
}

/// A computed MAC (20 bytes for SHA-1, 32 for SHA-256).
pub(crate) struct Tag {
    bytes: [u8; 32],
    len: usize,
}

impl AsRef<[u8]> for Tag {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Constant-time equality of two MACs.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The FINGERPRINT value of a message whose bytes before the FINGERPRINT
/// attribute are `prefix`, with the header length field set to `length_field`.
pub(crate) fn fingerprint_of(prefix: &[u8], length_field: u16) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&prefix[..2]);
    h.update(&length_field.to_be_bytes());
    h.update(&prefix[4..HEADER_LEN.min(prefix.len())]);
    if prefix.len() > HEADER_LEN {
        h.update(&prefix[HEADER_LEN..]);
    }
    h.finalize() ^ FINGERPRINT_XOR
}
