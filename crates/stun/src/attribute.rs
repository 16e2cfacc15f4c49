//! STUN and TURN attributes (RFC 8489 section 14, RFC 8656 section 18,
//! RFC 8445 section 16.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::message::{TransactionId, MAGIC_COOKIE};
use crate::StunError;

/// Attribute type numbers.
pub mod kind {
    #![allow(missing_docs)]
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    pub const LIFETIME: u16 = 0x000D;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_ADDRESS_FAMILY: u16 = 0x0017;
    pub const EVEN_PORT: u16 = 0x0018;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const DONT_FRAGMENT: u16 = 0x001A;
    pub const MESSAGE_INTEGRITY_SHA256: u16 = 0x001C;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    pub const RESERVATION_TOKEN: u16 = 0x0022;
    pub const PRIORITY: u16 = 0x0024;
    pub const USE_CANDIDATE: u16 = 0x0025;
    pub const SOFTWARE: u16 = 0x8022;
    pub const FINGERPRINT: u16 = 0x8028;
    pub const ICE_CONTROLLED: u16 = 0x8029;
    pub const ICE_CONTROLLING: u16 = 0x802A;
}

/// IANA protocol number for UDP, the value of REQUESTED-TRANSPORT.
pub const PROTOCOL_UDP: u8 = 17;

/// Address families as STUN writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    /// 0x01
    V4,
    /// 0x02
    V6,
}

/// One attribute. String and byte values borrow from the decoded datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS (plain, from old servers).
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS: where the server saw the request come from.
    XorMappedAddress(SocketAddr),
    /// USERNAME (ICE: `remote-ufrag:local-ufrag`; TURN: the account).
    Username(&'a str),
    /// ERROR-CODE: a code from 300 to 699 and a reason phrase.
    ErrorCode {
        /// The numeric code, e.g. 401, 438, 487.
        code: u16,
        /// The reason phrase.
        reason: &'a str,
    },
    /// UNKNOWN-ATTRIBUTES, carried by a 420 error.
    UnknownAttributes(Vec<u16>),
    /// REALM of long-term credentials.
    Realm(&'a str),
    /// NONCE of long-term credentials.
    Nonce(&'a str),
    /// SOFTWARE: a description of the sender's implementation.
    Software(&'a str),
    /// PRIORITY of an ICE candidate (RFC 8445).
    Priority(u32),
    /// USE-CANDIDATE: the controlling agent nominates this pair.
    UseCandidate,
    /// ICE-CONTROLLED with the sender's tie-breaker.
    IceControlled(u64),
    /// ICE-CONTROLLING with the sender's tie-breaker.
    IceControlling(u64),
    /// TURN LIFETIME in seconds.
    Lifetime(u32),
    /// TURN XOR-PEER-ADDRESS.
    XorPeerAddress(SocketAddr),
    /// TURN XOR-RELAYED-ADDRESS.
    XorRelayedAddress(SocketAddr),
    /// TURN DATA.
    Data(&'a [u8]),
    /// TURN REQUESTED-TRANSPORT (17 for UDP).
    RequestedTransport(u8),
    /// TURN REQUESTED-ADDRESS-FAMILY.
    RequestedAddressFamily(AddressFamily),
    /// TURN CHANNEL-NUMBER (0x4000 to 0x4FFF).
    ChannelNumber(u16),
    /// TURN DONT-FRAGMENT.
    DontFragment,
    /// Any other comprehension-optional attribute, kept as it came.
    Unknown {
        /// The attribute type (0x8000 and up).
        kind: u16,
        /// The value without padding.
        value: &'a [u8],
    },
}

fn bad(kind: u16, reason: &'static str) -> StunError {
    StunError::BadAttribute { kind, reason }
}

fn text(kind: u16, value: &[u8], max: usize) -> Result<&str, StunError> {
    if value.len() > max {
        return Err(bad(kind, "text value too long"));
    }
    std::str::from_utf8(value).map_err(|_| bad(kind, "text value is not UTF-8"))
}

fn u32_of(kind: u16, value: &[u8]) -> Result<u32, StunError> {
    let b: [u8; 4] = value.try_into().map_err(|_| bad(kind, "value must be 4 bytes"))?;
    Ok(u32::from_be_bytes(b))
}

fn u64_of(kind: u16, value: &[u8]) -> Result<u64, StunError> {
    let b: [u8; 8] = value.try_into().map_err(|_| bad(kind, "value must be 8 bytes"))?;
    Ok(u64::from_be_bytes(b))
}

fn xor_mask(tid: &TransactionId) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(&tid.0);
    mask
}

fn address_of(kind: u16, value: &[u8], xor: Option<&TransactionId>) -> Result<SocketAddr, StunError> {
    if value.len() < 4 {
        return Err(bad(kind, "address shorter than 4 bytes"));
    }
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let port = u16::from_be_bytes([value[2], value[3]]) ^ u16::from_be_bytes([mask[0], mask[1]]);
    let ip = match (value[1], value.len()) {
        (0x01, 8) => {
            let mut b = [0u8; 4];
            for i in 0..4 {
                b[i] = value[4 + i] ^ mask[i];
            }
            IpAddr::V4(Ipv4Addr::from(b))
        }
        (0x02, 20) => {
            let mut b = [0u8; 16];
            for i in 0..16 {
                b[i] = value[4 + i] ^ mask[i];
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        (0x01 | 0x02, _) => return Err(bad(kind, "address length does not match its family")),
        _ => return Err(bad(kind, "unknown address family")),
    };
    Ok(SocketAddr::new(ip, port))
}

fn put_address(out: &mut Vec<u8>, addr: &SocketAddr, xor: Option<&TransactionId>) {
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let port = addr.port() ^ u16::from_be_bytes([mask[0], mask[1]]);
    match addr.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, 0x01]);
            out.extend_from_slice(&port.to_be_bytes());
            out.extend(ip.octets().iter().zip(&mask[..4]).map(|(a, m)| a ^ m));
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, 0x02]);
            out.extend_from_slice(&port.to_be_bytes());
            out.extend(ip.octets().iter().zip(&mask).map(|(a, m)| a ^ m));
        }
    }
}

impl<'a> Attribute<'a> {
    /// The attribute's type number.
    pub fn kind(&self) -> u16 {
        match self {
            Attribute::MappedAddress(_) => kind::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => kind::XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => kind::USERNAME,
            Attribute::ErrorCode { .. } => kind::ERROR_CODE,
            Attribute::UnknownAttributes(_) => kind::UNKNOWN_ATTRIBUTES,
            Attribute::Realm(_) => kind::REALM,
            Attribute::Nonce(_) => kind::NONCE,
            Attribute::Software(_) => kind::SOFTWARE,
            Attribute::Priority(_) => kind::PRIORITY,
            Attribute::UseCandidate => kind::USE_CANDIDATE,
            Attribute::IceControlled(_) => kind::ICE_CONTROLLED,
            Attribute::IceControlling(_) => kind::ICE_CONTROLLING,
            Attribute::Lifetime(_) => kind::LIFETIME,
            Attribute::XorPeerAddress(_) => kind::XOR_PEER_ADDRESS,
            Attribute::XorRelayedAddress(_) => kind::XOR_RELAYED_ADDRESS,
            Attribute::Data(_) => kind::DATA,
            Attribute::RequestedTransport(_) => kind::REQUESTED_TRANSPORT,
            Attribute::RequestedAddressFamily(_) => kind::REQUESTED_ADDRESS_FAMILY,
            Attribute::ChannelNumber(_) => kind::CHANNEL_NUMBER,
            Attribute::DontFragment => kind::DONT_FRAGMENT,
            Attribute::Unknown { kind, .. } => *kind,
        }
    }

    /// Decodes one attribute value. `Ok(None)` means an unknown
    /// comprehension-required attribute (the caller lists it for a 420).
    pub(crate) fn decode(typ: u16, v: &'a [u8], tid: &TransactionId) -> Result<Option<Self>, StunError> {
        use kind as k;
        let kind = typ;
        let attr = match typ {
            k::MAPPED_ADDRESS => Attribute::MappedAddress(address_of(kind, v, None)?),
            k::XOR_MAPPED_ADDRESS => Attribute::XorMappedAddress(address_of(kind, v, Some(tid))?),
            k::XOR_PEER_ADDRESS => Attribute::XorPeerAddress(address_of(kind, v, Some(tid))?),
            k::XOR_RELAYED_ADDRESS => Attribute::XorRelayedAddress(address_of(kind, v, Some(tid))?),
            k::USERNAME => Attribute::Username(text(kind, v, 512)?),
            k::REALM => Attribute::Realm(text(kind, v, 763)?),
            k::NONCE => Attribute::Nonce(text(kind, v, 763)?),
            k::SOFTWARE => Attribute::Software(text(kind, v, 763)?),
            k::ERROR_CODE => {
                if v.len() < 4 {
                    return Err(bad(kind, "ERROR-CODE shorter than 4 bytes"));
                }
                let class = (v[2] & 0x07) as u16;
                let number = v[3] as u16;
                if !(3..=6).contains(&class) || number > 99 {
                    return Err(bad(kind, "ERROR-CODE outside 300..699"));
                }
                // Reason phrases from some servers are not valid UTF-8; keep the code.
                let reason = std::str::from_utf8(&v[4..]).unwrap_or("");
                Attribute::ErrorCode { code: class * 100 + number, reason }
            }
            k::UNKNOWN_ATTRIBUTES => {
                if !v.len().is_multiple_of(2) {
                    return Err(bad(kind, "UNKNOWN-ATTRIBUTES has an odd length"));
                }
                Attribute::UnknownAttributes(v.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
            }
            k::PRIORITY => Attribute::Priority(u32_of(kind, v)?),
            k::LIFETIME => Attribute::Lifetime(u32_of(kind, v)?),
            k::USE_CANDIDATE => {
                if !v.is_empty() {
                    return Err(bad(kind, "USE-CANDIDATE must be empty"));
                }
                Attribute::UseCandidate
            }
            k::DONT_FRAGMENT => Attribute::DontFragment,
            k::ICE_CONTROLLED => Attribute::IceControlled(u64_of(kind, v)?),
            k::ICE_CONTROLLING => Attribute::IceControlling(u64_of(kind, v)?),
            k::DATA => Attribute::Data(v),
            k::REQUESTED_TRANSPORT => {
                if v.len() != 4 {
                    return Err(bad(kind, "REQUESTED-TRANSPORT must be 4 bytes"));
                }
                Attribute::RequestedTransport(v[0])
            }
            k::REQUESTED_ADDRESS_FAMILY => {
                if v.len() != 4 {
                    return Err(bad(kind, "REQUESTED-ADDRESS-FAMILY must be 4 bytes"));
                }
                Attribute::RequestedAddressFamily(match v[0] {
                    0x01 => AddressFamily::V4,
                    0x02 => AddressFamily::V6,
                    _ => return Err(bad(kind, "unknown address family")),
                })
            }
            k::CHANNEL_NUMBER => {
                if v.len() != 4 {
                    return Err(bad(kind, "CHANNEL-NUMBER must be 4 bytes"));
                }
                Attribute::ChannelNumber(u16::from_be_bytes([v[0], v[1]]))
            }
            _ if kind < 0x8000 => return Ok(None),
            _ => Attribute::Unknown { kind, value: v },
        };
        Ok(Some(attr))
    }

    /// Appends the attribute (header, value, zero padding) to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, tid: &TransactionId) {
        out.extend_from_slice(&self.kind().to_be_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        let start = out.len();
        match self {
            Attribute::MappedAddress(a) => put_address(out, a, None),
            Attribute::XorMappedAddress(a) | Attribute::XorPeerAddress(a) | Attribute::XorRelayedAddress(a) => {
                put_address(out, a, Some(tid))
            }
            Attribute::Username(s) | Attribute::Realm(s) | Attribute::Nonce(s) | Attribute::Software(s) => {
                out.extend_from_slice(s.as_bytes())
            }
            Attribute::ErrorCode { code, reason } => {
                out.extend_from_slice(&[0, 0, (code / 100) as u8, (code % 100) as u8]);
                out.extend_from_slice(reason.as_bytes());
            }
            Attribute::UnknownAttributes(list) => {
                for t in list {
                    out.extend_from_slice(&t.to_be_bytes());
                }
            }
            Attribute::Priority(v) | Attribute::Lifetime(v) => out.extend_from_slice(&v.to_be_bytes()),
            Attribute::UseCandidate | Attribute::DontFragment => {}
            Attribute::IceControlled(v) | Attribute::IceControlling(v) => out.extend_from_slice(&v.to_be_bytes()),
            Attribute::Data(d) | Attribute::Unknown { value: d, .. } => out.extend_from_slice(d),
            Attribute::RequestedTransport(p) => out.extend_from_slice(&[*p, 0, 0, 0]),
            Attribute::RequestedAddressFamily(f) => {
                let b = match f {
                    AddressFamily::V4 => 0x01,
                    AddressFamily::V6 => 0x02,
                };
                out.extend_from_slice(&[b, 0, 0, 0]);
            }
            Attribute::ChannelNumber(n) => {
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
        }
        let len = out.len() - start;
        out[len_at..len_at + 2].copy_from_slice(&(len as u16).to_be_bytes());
        out.resize(out.len() + ((4 - len % 4) % 4), 0);
    }
}
