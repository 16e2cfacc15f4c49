//! ICE candidates: types, priorities, foundations, and the SDP
//! `candidate` attribute (RFC 8445 section 5.1, RFC 8839 section 5.1).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// What kind of address a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    /// An address of a local interface.
    Host,
    /// The address a STUN server saw (our NAT's public side).
    ServerReflexive,
    /// An address learned from a connectivity check.
    PeerReflexive,
    /// An address allocated on a TURN server.
    Relayed,
}

impl CandidateKind {
    /// The RFC 8445 recommended type preference.
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }

    /// The SDP token: `host`, `srflx`, `prflx` or `relay`.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }
}

/// The transport protocol of a candidate. Only UDP candidates are paired
/// today; TCP ones (RFC 6544) are parsed and kept so they can be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP (RFC 6544), not yet paired.
    Tcp,
}

/// An ICE candidate: an address a peer may be reached at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Candidates with the same foundation share type, base and server.
    pub foundation: String,
    /// Component id; always 1 with rtcp-mux.
    pub component: u16,
    /// UDP or TCP.
    pub protocol: Protocol,
    /// The RFC 8445 priority.
    pub priority: u32,
    /// The transport address.
    pub address: SocketAddr,
    /// Host, server-reflexive, peer-reflexive or relayed.
    pub kind: CandidateKind,
    /// The related address (`raddr`/`rport`) of a reflexive or relayed candidate.
    pub related: Option<SocketAddr>,
    /// Extension attributes (`generation 0`, `ufrag abc`, `network-id 1`,
    /// `tcptype active`...) kept in order so they are written back unchanged.
    pub extensions: Vec<(String, String)>,
}

/// Why a `candidate` attribute could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CandidateParseError {
    /// A field is missing or malformed.
    #[error("malformed ICE candidate {line:?}: {reason}")]
    Malformed {
        /// The text that was parsed.
        line: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The priority of a candidate (RFC 8445 section 5.1.2.1).
pub fn priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    (kind.type_preference() << 24) | ((local_preference as u32) << 8) | (256 - component.clamp(1, 256) as u32)
}

/// A short foundation string derived from what RFC 8445 section 5.1.1.3
/// says must be shared: type, base IP, server, and protocol.
pub fn foundation(kind: CandidateKind, base: IpAddr, server: Option<SocketAddr>, protocol: Protocol) -> String {
    // FNV-1a over a textual key: stable across runs and platforms.
    let key = format!("{}|{}|{:?}|{:?}", kind.as_str(), base, server, protocol);
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
}

impl Candidate {
    /// A host candidate for a local socket address.
    pub fn host(address: SocketAddr, local_preference: u16) -> Self {
        Candidate {
            foundation: foundation(CandidateKind::Host, address.ip(), None, Protocol::Udp),
            component: 1,
            protocol: Protocol::Udp,
            priority: priority(CandidateKind::Host, local_preference, 1),
            address,
            kind: CandidateKind::Host,
            related: None,
            extensions: Vec::new(),
        }
    }

    /// A server-reflexive or relayed candidate learned through `server`,
    /// whose base (or, for relayed, mapped address) is `related`.
    pub fn from_server(
        kind: CandidateKind,
        address: SocketAddr,
        related: SocketAddr,
        server: SocketAddr,
        local_preference: u16,
    ) -> Self {
        Candidate {
            foundation: foundation(kind, related.ip(), Some(server), Protocol::Udp),
            component: 1,
            protocol: Protocol::Udp,
            priority: priority(kind, local_preference, 1),
            address,
            kind,
            related: Some(related),
            extensions: Vec::new(),
        }
    }

    /// A peer-reflexive candidate with the priority the peer announced.
    pub fn peer_reflexive(address: SocketAddr, priority: u32, base: SocketAddr) -> Self {
        Candidate {
            foundation: foundation(CandidateKind::PeerReflexive, address.ip(), None, Protocol::Udp),
            component: 1,
            protocol: Protocol::Udp,
            priority,
            address,
            kind: CandidateKind::PeerReflexive,
            related: Some(base),
            extensions: Vec::new(),
        }
    }

    /// Writes the SDP attribute value, `candidate:...`, without `a=`.
    pub fn to_sdp(&self) -> String {
        self.to_string()
    }

    /// Parses `candidate:...` (with or without `a=`). A candidate whose
    /// address is a hostname (an mDNS `.local` name) is an error here; use
    /// [`Candidate::parse_unresolved`] to get the name and resolve it.
    pub fn parse(s: &str) -> Result<Self, CandidateParseError> {
        match Self::parse_unresolved(s)? {
            (c, None) => Ok(c),
            (_, Some(_)) => Err(CandidateParseError::Malformed {
                line: s.to_string(),
                reason: "the address is a hostname; resolve it first (parse_unresolved)",
            }),
        }
    }

    /// Parses like [`Candidate::parse`], but accepts a hostname address
    /// (`abcd-1234.local`): it is returned beside a candidate whose address
    /// has the unspecified IP and the right port. Set the resolved IP with
    /// `candidate.address.set_ip(ip)` before adding it.
    pub fn parse_unresolved(s: &str) -> Result<(Self, Option<String>), CandidateParseError> {
        let bad = |reason| CandidateParseError::Malformed { line: s.to_string(), reason };
        let t = s.trim();
        let t = t.strip_prefix("a=").unwrap_or(t);
        let t = t.strip_prefix("candidate:").unwrap_or(t);
        let mut it = t.split_ascii_whitespace();
        let foundation = it.next().ok_or_else(|| bad("no foundation"))?;
        if foundation.len() > 32 {
            return Err(bad("foundation longer than 32 characters"));
        }
        let component: u16 = it.next().and_then(|c| c.parse().ok()).ok_or_else(|| bad("bad component id"))?;
        let protocol = match it.next().map(|p| p.to_ascii_lowercase()) {
            Some(p) if p == "udp" => Protocol::Udp,
            Some(p) if p == "tcp" => Protocol::Tcp,
            _ => return Err(bad("transport is neither udp nor tcp")),
        };
        let priority: u32 = it.next().and_then(|p| p.parse().ok()).ok_or_else(|| bad("bad priority"))?;
        let host = it.next().ok_or_else(|| bad("no address"))?;
        let port: u16 = it.next().and_then(|p| p.parse().ok()).ok_or_else(|| bad("bad port"))?;
        let (ip, hostname) = match host.parse::<IpAddr>() {
            Ok(ip) => (ip, None),
            Err(_) if host.len() <= 255 && host.contains('.') => {
                (IpAddr::V4(Ipv4Addr::UNSPECIFIED), Some(host.to_ascii_lowercase()))
            }
            Err(_) => return Err(bad("address is neither an IP nor a hostname")),
        };
        if it.next() != Some("typ") {
            return Err(bad("no `typ`"));
        }
        let kind = match it.next() {
            Some("host") => CandidateKind::Host,
            Some("srflx") => CandidateKind::ServerReflexive,
            Some("prflx") => CandidateKind::PeerReflexive,
            Some("relay") => CandidateKind::Relayed,
            _ => return Err(bad("unknown candidate type")),
        };
        let mut raddr: Option<IpAddr> = None;
        let mut rport: Option<u16> = None;
        let mut extensions = Vec::new();
        while let Some(k) = it.next() {
            let v = it.next().ok_or_else(|| bad("extension without a value"))?;
            match k {
                "raddr" => raddr = v.parse().ok(),
                "rport" => rport = v.parse().ok(),
                _ => {
                    if extensions.len() >= 16 {
                        return Err(bad("too many extension attributes"));
                    }
                    extensions.push((k.to_string(), v.to_string()));
                }
            }
        }
        let related = match (raddr, rport) {
            (Some(ip), Some(port)) => Some(SocketAddr::new(ip, port)),
            _ => None,
        };
        let cand = Candidate {
            foundation: foundation.to_string(),
            component,
            protocol,
            priority,
            address: SocketAddr::new(ip, port),
            kind,
            related,
            extensions,
        };
        Ok((cand, hostname))
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = match self.protocol {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        };
        write!(
            f,
            "candidate:{} {} {} {} {} {} typ {}",
            self.foundation,
            self.component,
            proto,
            self.priority,
            self.address.ip(),
            self.address.port(),
            self.kind.as_str()
        )?;
        if let Some(r) = self.related {
            write!(f, " raddr {} rport {}", r.ip(), r.port())?;
        }
        for (k, v) in &self.extensions {
            write!(f, " {k} {v}")?;
        }
        Ok(())
    }
}

/// The pair priority of RFC 8445 section 6.1.2.3, from the controlling
/// agent's candidate priority `g` and the controlled one's `d`.
pub fn pair_priority(g: u32, d: u32) -> u64 {
    let (g, d) = (g as u64, d as u64);
    (1u64 << 32) * g.min(d) + 2 * g.max(d) + u64::from(g > d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_browser_candidates() {
        let chrome = "candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 10.0.0.2 rport 46154 generation 0 ufrag EsAw network-cost 999";
        let c = Candidate::parse(chrome).unwrap();
        assert_eq!(c.kind, CandidateKind::ServerReflexive);
        assert_eq!(c.address, "203.0.113.7:46154".parse().unwrap());
        assert_eq!(c.related, Some("10.0.0.2:46154".parse().unwrap()));
        assert_eq!(c.extensions.len(), 3);
        assert_eq!(c.to_sdp(), chrome);

        let mdns = "a=candidate:1 1 UDP 2122252543 4b1a9b7e-1c2d-4e3f-9a0b-1c2d3e4f5a6b.local 53000 typ host";
        assert!(Candidate::parse(mdns).is_err());
        let (c, name) = Candidate::parse_unresolved(mdns).unwrap();
        assert_eq!(name.as_deref(), Some("4b1a9b7e-1c2d-4e3f-9a0b-1c2d3e4f5a6b.local"));
        assert_eq!(c.address.port(), 53000);

        let aioice = "candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 38501 typ host";
        assert_eq!(Candidate::parse(aioice).unwrap().to_sdp(), aioice);
        let tcp = "candidate:3 1 tcp 1518280447 ::1 9 typ host tcptype active";
        assert_eq!(Candidate::parse(tcp).unwrap().protocol, Protocol::Tcp);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "candidate:",
            "candidate:1 x udp 1 1.2.3.4 5 typ host",
            "candidate:1 1 sctp 1 1.2.3.4 5 typ host",
            "candidate:1 1 udp 1 1.2.3.4 99999 typ host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ nope",
            "candidate:1 1 udp 1 1.2.3.4 5 host",
            "candidate:1 1 udp 1 1.2.3.4 5 typ host generation",
        ] {
            assert!(Candidate::parse(s).is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn priorities_follow_rfc8445() {
        assert_eq!(priority(CandidateKind::Host, 65535, 1), 2130706431);
        assert!(priority(CandidateKind::Host, 1, 1) > priority(CandidateKind::PeerReflexive, 65535, 1));
        assert!(priority(CandidateKind::ServerReflexive, 65535, 1) > priority(CandidateKind::Relayed, 65535, 1));
        assert_eq!(pair_priority(1, 2), (1 << 32) + 4);
        assert_eq!(pair_priority(2, 1), (1 << 32) + 5);
    }
}
