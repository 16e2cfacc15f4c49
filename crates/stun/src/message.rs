//! The STUN message: header, attribute list, decoding and encoding
//! (RFC 8489 section 5 and 14).

use crate::attribute::{kind, Attribute};
use crate::integrity::{fingerprint_of, IntegrityKey};
use crate::StunError;

/// The fixed value in every STUN header since RFC 5389.
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;
/// The most attributes a message may carry before it is dropped as abusive.
pub const MAX_ATTRIBUTES: usize = 64;

/// The class of a message (RFC 8489 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Asks for a response.
    Request,
    /// Needs no response (TURN Send/Data, ICE keepalives).
    Indication,
    /// A success response.
    Success,
    /// An error response carrying ERROR-CODE.
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }

    fn from_bits(bits: u16) -> Self {
        match bits {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// A STUN method (12 bits). The constants name the ones ICE and TURN use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(pub u16);

impl Method {
    /// Binding (RFC 8489): ICE connectivity checks and server reflexive discovery.
    pub const BINDING: Method = Method(0x001);
    /// TURN Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// TURN Refresh.
    pub const REFRESH: Method = Method(0x004);
    /// TURN Send indication.
    pub const SEND: Method = Method(0x006);
    /// TURN Data indication.
    pub const DATA: Method = Method(0x007);
    /// TURN CreatePermission.
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// TURN ChannelBind.
    pub const CHANNEL_BIND: Method = Method(0x009);
}

/// The 96-bit transaction id that pairs a response with its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(pub [u8; 12]);

fn message_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0fff;
    let c = class.bits();
    (m & 0x000f) | ((m & 0x0070) << 1) | ((m & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
}

fn split_type(t: u16) -> (Class, Method) {
    let m = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
    let c = ((t >> 4) & 1) | ((t >> 7) & 2);
    (Class::from_bits(c), Method(m))
}

/// True when `buf` starts like a STUN message: first two bits zero, the magic
/// cookie, and a 4-aligned length. Cheap; use it to demultiplex (RFC 7983).
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[0] & 0xc0 == 0
        && buf[4..8] == MAGIC_COOKIE.to_be_bytes()
        && u16::from_be_bytes([buf[2], buf[3]]).is_multiple_of(4)
}

/// Where a message-integrity attribute sits in the raw message, kept by the
/// decoder so that it can be verified later against a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IntegrityMark {
    /// Offset of the attribute header.
    offset: usize,
    /// Offset and length of the MAC value.
    value: (usize, usize),
}

/// A decoded or to-be-encoded STUN message. Attribute values borrow from the
/// datagram they were decoded from, so decoding allocates only the attribute
/// list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Request, indication, success or error.
    pub class: Class,
    /// The method.
    pub method: Method,
    /// The transaction id.
    pub transaction_id: TransactionId,
    /// The attributes in wire order, without MESSAGE-INTEGRITY,
    /// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (those are computed by
    /// [`Message::encode`] and checked by [`Message::decode`] /
    /// [`Message::verify_integrity`]).
    pub attributes: Vec<Attribute<'a>>,
    unknown_required: Vec<u16>,
    sha1: Option<IntegrityMark>,
    sha256: Option<IntegrityMark>,
}

impl<'a> Message<'a> {
    /// A new message with no attributes.
    pub fn new(class: Class, method: Method, transaction_id: TransactionId) -> Self {
        Message {
            class,
            method,
            transaction_id,
            attributes: Vec::new(),
            unknown_required: Vec::new(),
            sha1: None,
            sha256: None,
        }
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, attribute: Attribute<'a>) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// The first attribute for which `f` returns `Some`.
    pub fn find<T>(&self, f: impl Fn(&Attribute<'a>) -> Option<T>) -> Option<T> {
        self.attributes.iter().find_map(f)
    }

    /// A success response to this request (same method and transaction id).
    pub fn success_response<'b>(&self) -> Message<'b> {
        Message::new(Class::Success, self.method, self.transaction_id)
    }

    /// An error response to this request with ERROR-CODE `code` and `reason`.
    /// For a 420 it also lists [`Message::unknown_required`].
    pub fn error_response<'b>(&self, code: u16, reason: &'b str) -> Message<'b> {
        let mut m =
            Message::new(Class::Error, self.method, self.transaction_id).with(Attribute::ErrorCode { code, reason });
        if code == 420 {
            m.attributes.push(Attribute::UnknownAttributes(self.unknown_required.clone()));
        }
        m
    }

    /// The ERROR-CODE of an error response.
    pub fn error_code(&self) -> Option<(u16, &'a str)> {
        self.find(|a| match a {
            Attribute::ErrorCode { code, reason } => Some((*code, *reason)),
            _ => None,
        })
    }

    /// Comprehension-required attribute types this decoder did not know. A
    /// server answers a request carrying any with a 420 error listing them.
    pub fn unknown_required(&self) -> &[u16] {
        &self.unknown_required
    }

    /// Whether the message carried MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.
    pub fn has_integrity(&self) -> bool {
        self.sha1.is_some() || self.sha256.is_some()
    }

    /// Decodes one STUN message that fills `buf` exactly (a UDP datagram, or
    /// one frame cut from a stream with [`frame_len`]). A FINGERPRINT, if
    /// present, is verified here; integrity is verified by
    /// [`Message::verify_integrity`], which needs the key.
    pub fn decode(buf: &'a [u8]) -> Result<Self, StunError> {
        if buf.len() < HEADER_LEN {
            return Err(StunError::NotStun("shorter than the 20-byte header"));
        }
        if buf[0] & 0xc0 != 0 {
            return Err(StunError::NotStun("the two leading bits are not zero"));
        }
        if buf[4..8] != MAGIC_COOKIE.to_be_bytes() {
            return Err(StunError::NotStun("no magic cookie"));
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        if !len.is_multiple_of(4) {
            return Err(StunError::NotStun("length is not a multiple of 4"));
        }
        if HEADER_LEN + len != buf.len() {
            return Err(StunError::NotStun("length field does not match the datagram"));
        }
        let (class, method) = split_type(u16::from_be_bytes([buf[0], buf[1]]));
        let mut tid = [0u8; 12];
        tid.copy_from_slice(&buf[8..20]);
        let transaction_id = TransactionId(tid);
        let mut msg = Message::new(class, method, transaction_id);

        let mut pos = HEADER_LEN;
        let mut count = 0;
        while pos < buf.len() {
            if buf.len() - pos < 4 {
                return Err(StunError::Truncated("attribute header"));
            }
            count += 1;
            if count > MAX_ATTRIBUTES {
                return Err(StunError::TooManyAttributes(MAX_ATTRIBUTES));
            }
            let typ = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let alen = u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]) as usize;
            let vstart = pos + 4;
            let padded = (alen + 3) & !3;
            if buf.len() - vstart < padded {
                return Err(StunError::Truncated("attribute value"));
            }
            let value = &buf[vstart..vstart + alen];
            let next = vstart + padded;
            match typ {
                kind::FINGERPRINT => {
                    if alen != 4 {
                        return Err(StunError::BadAttribute { kind: typ, reason: "FINGERPRINT must be 4 bytes" });
                    }
                    if next != buf.len() {
                        return Err(StunError::BadAttribute {
                            kind: typ,
                            reason: "FINGERPRINT is not the last attribute",
                        });
                    }
                    let want = u32::from_be_bytes([value[0], value[1], value[2], value[3]]);
                    if fingerprint_of(&buf[..pos], (next - HEADER_LEN) as u16) != want {
                        return Err(StunError::FingerprintMismatch);
                    }
                }
                _ if msg.sha256.is_some() => {
                    // RFC 8489 14.6: everything after MESSAGE-INTEGRITY-SHA256
                    // except FINGERPRINT is ignored.
                }
                kind::MESSAGE_INTEGRITY_SHA256 => {
                    if !(16..=32).contains(&alen) || !alen.is_multiple_of(4) {
                        return Err(StunError::BadAttribute {
                            kind: typ,
                            reason: "MESSAGE-INTEGRITY-SHA256 must be 16 to 32 bytes in steps of 4",
                        });
                    }
                    msg.sha256 = Some(IntegrityMark { offset: pos, value: (vstart, alen) });
                }
                _ if msg.sha1.is_some() => {
                    // RFC 8489 14.5: after MESSAGE-INTEGRITY only
                    // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count.
                }
                kind::MESSAGE_INTEGRITY => {
                    if alen != 20 {
                        return Err(StunError::BadAttribute {
                            kind: typ,
                            reason: "MESSAGE-INTEGRITY must be 20 bytes",
                        });
                    }
                    msg.sha1 = Some(IntegrityMark { offset: pos, value: (vstart, alen) });
                }
                _ => match Attribute::decode(typ, value, &transaction_id)? {
                    Some(attr) => msg.attributes.push(attr),
                    None => msg.unknown_required.push(typ),
                },
            }
            pos = next;
        }
        Ok(msg)
    }

    /// Verifies the message's integrity against `key`, using
    /// MESSAGE-INTEGRITY-SHA256 when present, else MESSAGE-INTEGRITY. `raw`
    /// must be the exact bytes this message was decoded from. The comparison
    /// runs in constant time.
    pub fn verify_integrity(&self, raw: &[u8], key: &IntegrityKey) -> Result<(), StunError> {
        let (mark, sha256) = match (self.sha256, self.sha1) {
            (Some(m), _) => (m, true),
            (None, Some(m)) => (m, false),
            (None, None) => return Err(StunError::NoIntegrity),
        };
        let (vstart, vlen) = mark.value;
        let end = vstart + vlen;
        if raw.len() < end {
            return Err(StunError::IntegrityMismatch);
        }
        let length_field = ((end + 3) & !3) - HEADER_LEN;
        let tag = key.mac(sha256, &raw[..mark.offset], length_field as u16);
        if crate::integrity::ct_eq(&tag.as_ref()[..vlen], &raw[vstart..end]) {
            Ok(())
        } else {
            Err(StunError::IntegrityMismatch)
        }
    }

    /// Appends the encoded message to `out`. With `integrity`, a
    /// MESSAGE-INTEGRITY (HMAC-SHA1) attribute is added — or
    /// MESSAGE-INTEGRITY-SHA256 when the key asks for it — and with
    /// `fingerprint` a FINGERPRINT last.
    pub fn encode(&self, out: &mut Vec<u8>, integrity: Option<&IntegrityKey>, fingerprint: bool) {
        let start = out.len();
        out.extend_from_slice(&message_type(self.class, self.method).to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.transaction_id.0);
        for attr in &self.attributes {
            attr.encode(out, &self.transaction_id);
        }
        if let Some(key) = integrity {
            let sha256 = key.prefers_sha256();
            let (typ, mac_len) =
                if sha256 { (kind::MESSAGE_INTEGRITY_SHA256, 32) } else { (kind::MESSAGE_INTEGRITY, 20) };
            let length_field = out.len() - start - HEADER_LEN + 4 + mac_len;
            let tag = key.mac(sha256, &out[start..], length_field as u16);
            out.extend_from_slice(&typ.to_be_bytes());
            out.extend_from_slice(&(mac_len as u16).to_be_bytes());
            out.extend_from_slice(&tag.as_ref()[..mac_len]);
        }
        if fingerprint {
            let length_field = out.len() - start - HEADER_LEN + 8;
            let crc = fingerprint_of(&out[start..], length_field as u16);
            out.extend_from_slice(&kind::FINGERPRINT.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let len = (out.len() - start - HEADER_LEN) as u16;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Encodes into a new vector; see [`Message::encode`].
    pub fn to_bytes(&self, integrity: Option<&IntegrityKey>, fingerprint: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out, integrity, fingerprint);
        out
    }
}

/// For a byte stream (TURN over TCP or TLS, RFC 6544 framing): the length of
/// the complete STUN message or ChannelData frame at the start of `buf`,
/// once its header is in. ChannelData over a stream is padded to 4 bytes
/// (RFC 8656 section 12.5). Returns `None` when more bytes are needed to
/// tell, and `Some(Err)` for bytes that are neither.
pub fn frame_len(buf: &[u8]) -> Option<Result<usize, StunError>> {
    if buf.len() < 4 {
        return None;
    }
    let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    match buf[0] >> 6 {
        0 => Some(Ok(HEADER_LEN + len)),
        1 => Some(Ok(4 + ((len + 3) & !3))),
        _ => Some(Err(StunError::NotStun("stream frame is neither STUN nor ChannelData"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_round_trips() {
        for c in [Class::Request, Class::Indication, Class::Success, Class::Error] {
            for m in [0x001u16, 0x003, 0x009, 0x080, 0xfff] {
                let t = message_type(c, Method(m));
                assert_eq!(split_type(t), (c, Method(m)));
            }
        }
        assert_eq!(message_type(Class::Request, Method::BINDING), 0x0001);
        assert_eq!(message_type(Class::Success, Method::BINDING), 0x0101);
        assert_eq!(message_type(Class::Error, Method::BINDING), 0x0111);
        assert_eq!(message_type(Class::Indication, Method::SEND), 0x0016);
        assert_eq!(message_type(Class::Indication, Method::DATA), 0x0017);
    }
}
