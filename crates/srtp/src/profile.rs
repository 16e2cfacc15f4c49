//! SRTP protection profiles (RFC 5764 section 4.1.2, RFC 7714 section 14.2).

/// An SRTP protection profile: the cipher, the authentication and the
/// lengths of keys, salts and tags, as negotiated by DTLS-SRTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `SRTP_AES128_CM_HMAC_SHA1_80` (0x0001): AES-128 counter mode,
    /// HMAC-SHA1 truncated to 80 bits.
    Aes128CmHmacSha1_80,
    /// `SRTP_AES128_CM_HMAC_SHA1_32` (0x0002): as above with a 32-bit SRTP
    /// tag; SRTCP keeps an 80-bit tag (RFC 5764 section 4.1.2).
    Aes128CmHmacSha1_32,
    /// `SRTP_AEAD_AES_128_GCM` (0x0007, RFC 7714): AES-128-GCM, 16-byte tag.
    AeadAes128Gcm,
    /// `SRTP_AEAD_AES_256_GCM` (0x0008, RFC 7714): AES-256-GCM, 16-byte tag.
    AeadAes256Gcm,
}

impl Profile {
    /// Every profile, in order of preference for an offer (GCM first).
    pub const ALL: [Profile; 4] =
        [Profile::AeadAes128Gcm, Profile::AeadAes256Gcm, Profile::Aes128CmHmacSha1_80, Profile::Aes128CmHmacSha1_32];

    /// The DTLS-SRTP protection profile id (the `use_srtp` extension value).
    pub fn id(self) -> u16 {
        match self {
            Profile::Aes128CmHmacSha1_80 => 0x0001,
            Profile::Aes128CmHmacSha1_32 => 0x0002,
            Profile::AeadAes128Gcm => 0x0007,
            Profile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The profile with this DTLS-SRTP id, if this crate implements it.
    pub fn from_id(id: u16) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.id() == id)
    }

    /// Length in bytes of the master (and session encryption) key.
    pub fn master_key_len(self) -> usize {
        match self {
            Profile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// Length in bytes of the master (and session) salt.
    pub fn master_salt_len(self) -> usize {
        if self.is_aead() {
            12
        } else {
            14
        }
    }

    /// Whether the profile is an AEAD (GCM) profile.
    pub fn is_aead(self) -> bool {
        matches!(self, Profile::AeadAes128Gcm | Profile::AeadAes256Gcm)
    }

    /// Length in bytes of the authentication tag on SRTP packets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Profile::Aes128CmHmacSha1_80 => 10,
            Profile::Aes128CmHmacSha1_32 => 4,
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => 16,
        }
    }

    /// Length in bytes of the authentication tag on SRTCP packets.
    pub fn rtcp_tag_len(self) -> usize {
        match self {
            Profile::Aes128CmHmacSha1_80 | Profile::Aes128CmHmacSha1_32 => 10,
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => 16,
        }
    }

    /// Bytes of keying material DTLS-SRTP exports per direction
    /// (key plus salt); the exporter output is twice this.
    pub fn keying_material_len(self) -> usize {
        self.master_key_len() + self.master_salt_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for p in Profile::ALL {
            assert_eq!(Profile::from_id(p.id()), Some(p));
        }
        assert_eq!(Profile::from_id(0x0003), None);
        assert_eq!(Profile::AeadAes256Gcm.keying_material_len(), 44);
        assert_eq!(Profile::Aes128CmHmacSha1_80.keying_material_len(), 30);
    }
}
