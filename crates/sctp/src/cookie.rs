//! The state cookie (RFC 9260 5.1.3): everything the listener needs to build the association
//! from a COOKIE-ECHO, signed with HMAC-SHA256 so that answering an INIT keeps no state.
//!
//! ```text
//! version (1) | created, ms since the association's epoch (8) | local tag | local initial TSN
//! | peer tag | peer initial TSN | peer a_rwnd | peer outbound (2) | peer inbound (2)
//! | peer features (1) | HMAC-SHA256 over the above (32)
//! ```

use std::time::Duration;

use bytes::{BufMut, Bytes};
use ring::hmac;

const VERSION: u8 = 1;
const BODY_LEN: usize = 34;
const MAC_LEN: usize = 32;
/// Size of a cookie on the wire.
pub(crate) const COOKIE_LEN: usize = BODY_LEN + MAC_LEN;

/// Peer feature bits kept in the cookie.
pub(crate) mod feature {
    pub const FORWARD_TSN: u8 = 1;
    pub const I_DATA: u8 = 2;
    pub const RE_CONFIG: u8 = 4;
    pub const ZERO_CHECKSUM: u8 = 8;
}

/// What a cookie carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CookieData {
    pub created: Duration,
    pub local_tag: u32,
    pub local_tsn: u32,
    pub peer_tag: u32,
    pub peer_tsn: u32,
    pub peer_a_rwnd: u32,
    pub peer_outbound: u16,
    pub peer_inbound: u16,
    pub peer_features: u8,
}

/// Signs and checks cookies. The HMAC key is set up once per association.
pub(crate) struct CookieSigner {
    key: hmac::Key,
}

impl CookieSigner {
    pub(crate) fn new(secret: &[u8; 32]) -> Self {
        CookieSigner { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    pub(crate) fn sign(&self, c: &CookieData) -> Bytes {
        let mut b = Vec::with_capacity(COOKIE_LEN);
        b.put_u8(VERSION);
        b.put_u64(c.created.as_millis() as u64);
        b.put_u32(c.local_tag);
        b.put_u32(c.local_tsn);
        b.put_u32(c.peer_tag);
        b.put_u32(c.peer_tsn);
        b.put_u32(c.peer_a_rwnd);
        b.put_u16(c.peer_outbound);
        b.put_u16(c.peer_inbound);
        b.put_u8(c.peer_features);
        let tag = hmac::sign(&self.key, &b);
        b.extend_from_slice(tag.as_ref());
        Bytes::from(b)
    }

    /// The cookie's content if it is ours and intact (lifetime is checked by the caller).
    pub(crate) fn verify(&self, b: &[u8]) -> Option<CookieData> {
        if b.len() != COOKIE_LEN || b[0] != VERSION {
            return None;
        }
        hmac::verify(&self.key, &b[..BODY_LEN], &b[BODY_LEN..]).ok()?;
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut ms = [0u8; 8];
        ms.copy_from_slice(&b[1..9]);
        Some(CookieData {
            created: Duration::from_millis(u64::from_be_bytes(ms)),
            local_tag: u32_at(9),
            local_tsn: u32_at(13),
            peer_tag: u32_at(17),
            peer_tsn: u32_at(21),
            peer_a_rwnd: u32_at(25),
            peer_outbound: u16::from_be_bytes([b[29], b[30]]),
            peer_inbound: u16::from_be_bytes([b[31], b[32]]),
            peer_features: b[33],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_verify_and_tampering_is_detected() {
        let s = CookieSigner::new(&[7; 32]);
        let c = CookieData {
            created: Duration::from_millis(1234),
            local_tag: 1,
            local_tsn: 2,
            peer_tag: 3,
            peer_tsn: 4,
            peer_a_rwnd: 5,
            peer_outbound: 6,
            peer_inbound: 7,
            peer_features: 8,
        };
        let b = s.sign(&c);
        assert_eq!(s.verify(&b), Some(c));
        for i in 0..b.len() {
            let mut t = b.to_vec();
            t[i] ^= 0x10;
            assert_eq!(s.verify(&t), None, "byte {i}");
        }
        assert_eq!(CookieSigner::new(&[8; 32]).verify(&b), None);
        assert_eq!(s.verify(&b[..10]), None);
    }
}
