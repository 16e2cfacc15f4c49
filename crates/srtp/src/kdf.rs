//! Session key derivation (RFC 3711 section 4.3) with the AES-CM PRF.
//!
//! The key derivation rate is 0 (the only rate DTLS-SRTP uses), so the
//! session keys are derived once, from index 0, when a context is built.

use aes::cipher::{KeyIvInit, StreamCipher};

use crate::{Profile, SrtpError};

/// The six key derivation labels of RFC 3711 section 4.3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Label {
    /// SRTP encryption key.
    RtpEncryption = 0,
    /// SRTP authentication key.
    RtpAuthentication = 1,
    /// SRTP salt.
    RtpSalt = 2,
    /// SRTCP encryption key.
    RtcpEncryption = 3,
    /// SRTCP authentication key.
    RtcpAuthentication = 4,
    /// SRTCP salt.
    RtcpSalt = 5,
}

/// Derives `out.len()` bytes for `label` from a master key (16 or 32 bytes)
/// and a master salt (14 bytes, or 12 for GCM profiles, padded with zeros
/// as libsrtp does), with a key derivation rate of 0.
///
/// `x = (label << 48) XOR master_salt`, and the output is the AES-CM
/// keystream for the counter block `x * 2^16`.
pub fn derive(master_key: &[u8], master_salt: &[u8], label: Label, out: &mut [u8]) -> Result<(), SrtpError> {
    if master_salt.len() > 14 {
        return Err(SrtpError::BadKeyLength { what: "salt", expected: 14, got: master_salt.len() });
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label as u8;
    out.fill(0);
    match master_key.len() {
        16 => ctr::Ctr128BE::<aes::Aes128>::new(master_key.into(), &iv.into()).apply_keystream(out),
        32 => ctr::Ctr128BE::<aes::Aes256>::new(master_key.into(), &iv.into()).apply_keystream(out),
        got => return Err(SrtpError::BadKeyLength { what: "key", expected: 16, got }),
    }
    Ok(())
}

/// The session keys of one direction, for SRTP or for SRTCP.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    /// Session encryption key (16 or 32 bytes used).
    pub enc: [u8; 32],
    /// Session salt (14 or 12 bytes used; the rest is zero).
    pub salt: [u8; 14],
    /// Session authentication key (HMAC-SHA1; unused by GCM).
    pub auth: [u8; 20],
}

impl SessionKeys {
    /// Derives the SRTP (`rtcp == false`) or SRTCP session keys.
    pub(crate) fn derive(profile: Profile, key: &[u8], salt: &[u8], rtcp: bool) -> Result<Self, SrtpError> {
        let (le, la, ls) = if rtcp {
            (Label::RtcpEncryption, Label::RtcpAuthentication, Label::RtcpSalt)
        } else {
            (Label::RtpEncryption, Label::RtpAuthentication, Label::RtpSalt)
        };
        let mut keys = SessionKeys { enc: [0; 32], salt: [0; 14], auth: [0; 20] };
        derive(key, salt, le, &mut keys.enc[..profile.master_key_len()])?;
        derive(key, salt, ls, &mut keys.salt[..profile.master_salt_len()])?;
        if !profile.is_aead() {
            derive(key, salt, la, &mut keys.auth)?;
        }
        Ok(keys)
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.enc.fill(0);
        self.salt.fill(0);
        self.auth.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 3711 Appendix B.3.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let mut enc = [0u8; 16];
        derive(&key, &salt, Label::RtpEncryption, &mut enc).unwrap();
        assert_eq!(enc.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut s = [0u8; 14];
        derive(&key, &salt, Label::RtpSalt, &mut s).unwrap();
        assert_eq!(s.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 20];
        derive(&key, &salt, Label::RtpAuthentication, &mut auth).unwrap();
        assert_eq!(auth.to_vec(), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    }

    /// RFC 3711 Appendix B.2: the AES-CM keystream for key 2B7E..., salt
    /// F0F1...FD, SSRC 0, index 0.
    #[test]
    fn rfc3711_b2_keystream() {
        let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
        let iv = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
        let mut ks = [0u8; 48];
        ctr::Ctr128BE::<aes::Aes128>::new(key[..].into(), iv[..].into()).apply_keystream(&mut ks);
        assert_eq!(
            ks.to_vec(),
            hex(concat!(
                "E03EAD0935C95E80E166B16DD92B4EB4",
                "D23513162B02D0F72A43A2FE4A5F97AB",
                "41E95B3BB0A2E8DD477901E4FCA894C0"
            ))
        );
        // The same keystream through the SRTP IV construction.
        let mut salt = [0u8; 14];
        salt.copy_from_slice(&iv[..14]);
        let mut ks2 = [0u8; 48];
        crate::cipher::aes_cm_apply(&key, &salt, 0, 0, &mut ks2);
        assert_eq!(ks2, ks);
    }
}
