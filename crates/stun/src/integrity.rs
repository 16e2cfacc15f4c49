//! MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
//! (RFC 8489 sections 14.5 to 14.7, 9.1 and 9.2).

use md5::{Digest, Md5};
use ring::hmac;
use subtle::ConstantTimeEq;

use crate::message::HEADER_LEN;

/// XOR value of the FINGERPRINT attribute ("STUN").
const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// A keyed HMAC context for one credential, built once and reused for every
/// message (re-keying an HMAC per packet is a cost we do not pay).
#[derive(Clone)]
pub struct IntegrityKey {
    sha1: hmac::Key,
    sha256: hmac::Key,
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
            sha1: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key),
            sha256: hmac::Key::new(hmac::HMAC_SHA256, key),
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
    pub(crate) fn mac(&self, sha256: bool, prefix: &[u8], length_field: u16) -> hmac::Tag {
        let key = if sha256 { &self.sha256 } else { &self.sha1 };
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(&prefix[..2]);
        ctx.update(&length_field.to_be_bytes());
        ctx.update(&prefix[4..]);
        ctx.sign()
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
