//! # mDNS `.local` names on the wire (RFC 6762, RFC 8828), sans-IO
//!
//! Browsers hide their local addresses in ICE candidates behind random
//! `.local` names (RFC 8828) and answer for them with multicast DNS. To use
//! such a candidate the peer asks the mDNS group for the name's A and AAAA
//! records and reads the address from the answer. This module is that wire
//! format and nothing else: [`query`] builds the question, [`answer_for`]
//! reads a response; the driver owns the socket, the retries and the
//! deadline (the `oxrtc` facade sends the query from an ephemeral port, a
//! "legacy unicast" query (RFC 6762 section 6.7) that responders answer
//! directly to that port, so no socket on 5353 and no multicast membership
//! are needed).
//!
//! ```
//! use ice::mdns;
//!
//! let name = "1f0e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8.local";
//! let q = mdns::query(name, 0).unwrap();
//! // socket.send_to(&q, mdns::MDNS_GROUP); then for each datagram received:
//! let reply = mdns::answer(name, "192.168.1.20".parse().unwrap()).unwrap(); // a responder's
//! assert_eq!(mdns::answer_for(&reply, name), Some("192.168.1.20".parse().unwrap()));
//! assert_eq!(mdns::answer_for(&q, name), None, "a query is no answer");
//! ```
//!
//! Whatever arrives on the socket comes from anyone on the link: the parser
//! reads it with explicit bounds (a truncated message is `None`), follows at
//! most 16 compression pointers per name (a pointer loop is `None`), caps
//! names at 255 bytes and looks at no more than 64 records. It never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The mDNS IPv4 group and port (RFC 6762 section 3).
pub const MDNS_GROUP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;
/// The cache-flush bit responders set in a record's class (RFC 6762 section 10.2).
const CACHE_FLUSH: u16 = 0x8000;
/// Compression pointers followed per name before giving up (a loop).
const MAX_JUMPS: usize = 16;
/// Records (answer, authority and additional) looked at per message.
const MAX_RECORDS: usize = 64;
/// The longest name on the wire (RFC 1035 section 2.3.4).
const MAX_NAME: usize = 255;

/// Builds a query (id `id`, no flags) for the A and AAAA records of `name`.
/// `None` for a name that is not a valid DNS name (an empty label, a label
/// over 63 bytes, more than 255 bytes in all).
pub fn query(name: &str, id: u16) -> Option<Vec<u8>> {
    let qname = encode_name(name)?;
    let mut out = Vec::with_capacity(12 + 2 * (qname.len() + 4));
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0]); // flags, QD=2, AN, NS, AR
    for qtype in [TYPE_A, TYPE_AAAA] {
        out.extend_from_slice(&qname);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    Some(out)
}

/// Builds the response a responder sends for `name` at `ip`: the question
/// echoed, then one A (or AAAA) record whose name is a compression pointer
/// to it, with the cache-flush bit and a TTL of 120 s, as browsers answer.
/// `None` for a name [`query`] would refuse.
pub fn answer(name: &str, ip: IpAddr) -> Option<Vec<u8>> {
    let qname = encode_name(name)?;
    let (rtype, rdata) = match ip {
        IpAddr::V4(v4) => (TYPE_A, v4.octets().to_vec()),
        IpAddr::V6(v6) => (TYPE_AAAA, v6.octets().to_vec()),
    };
    let mut out = vec![0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0]; // response, authoritative; QD=1, AN=1
    out.extend_from_slice(&qname);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&[0xc0, 12]); // the question's name
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&(CLASS_IN | CACHE_FLUSH).to_be_bytes());
    out.extend_from_slice(&120u32.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&rdata);
    Some(out)
}

/// The address of `name` in a DNS/mDNS response, if it has an A or AAAA
/// record for it (in any section; names compared without case). Queries
/// and malformed messages give `None`, never a panic.
pub fn answer_for(msg: &[u8], name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let header = msg.get(..12)?;
    if header[2] & 0x80 == 0 {
        return None; // a query, not a response
    }
    let count = |i: usize| usize::from(u16::from_be_bytes([header[i], header[i + 1]]));
    let questions = count(4);
    let records = count(6) + count(8) + count(10);
    let mut pos = 12;
    for _ in 0..questions {
        pos = read_name(msg, pos)?.1 + 4; // QTYPE, QCLASS
    }
    for _ in 0..records.min(MAX_RECORDS) {
        let (rname, p) = read_name(msg, pos)?;
        let fixed = msg.get(p..p + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]) & !CACHE_FLUSH;
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdata = msg.get(p + 10..p + 10 + rdlen)?;
        pos = p + 10 + rdlen;
        if rname != name || class != CLASS_IN {
            continue;
        }
        match rtype {
            TYPE_A => {
                if let Ok(b) = <[u8; 4]>::try_from(rdata) {
                    return Some(IpAddr::V4(Ipv4Addr::from(b)));
                }
            }
            TYPE_AAAA => {
                if let Ok(b) = <[u8; 16]>::try_from(rdata) {
                    return Some(IpAddr::V6(Ipv6Addr::from(b)));
                }
            }
            _ => {}
        }
    }
    None
}

fn encode_name(name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    (out.len() <= MAX_NAME).then_some(out)
}

/// Reads a possibly compressed name at `pos`; returns it (lowercase, labels
/// joined by dots) and the position after it. `None` when it runs past the
/// end, is longer than 255 bytes or takes more than 16 jumps.
pub(crate) fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..MAX_JUMPS {
        loop {
            let len = usize::from(*msg.get(pos)?);
            if len & 0xc0 == 0xc0 {
                let ptr = ((len & 0x3f) << 8) | usize::from(*msg.get(pos + 1)?);
                end.get_or_insert(pos + 2);
                pos = ptr;
                break;
            }
            if len == 0 {
                return Some((name, end.unwrap_or(pos + 1)));
            }
            let label = msg.get(pos + 1..pos + 1 + len)?;
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
            if name.len() > MAX_NAME {
                return None;
            }
            pos += 1 + len;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_compressed_answer() {
        let name = "1f0e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8.local";
        let r = answer(name, "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(answer_for(&r, name), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(answer_for(&r, &name.to_uppercase()), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(answer_for(&r, &format!("{name}.")), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(answer_for(&r, "other.local"), None);
        let q = query(name, 7).unwrap();
        assert_eq!(answer_for(&q, name), None, "a query is no answer");
    }

    #[test]
    fn reads_an_aaaa_answer() {
        let name = "a.local";
        let ip: IpAddr = "fe80::1:2".parse().unwrap();
        assert_eq!(answer_for(&answer(name, ip).unwrap(), name), Some(ip));
    }

    #[test]
    fn a_query_asks_for_a_and_aaaa() {
        let q = query("Host.local.", 0x1234).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
        let (name, p) = read_name(&q, 12).unwrap();
        assert_eq!(name, "host.local");
        assert_eq!(&q[p..p + 4], &[0, 1, 0, 1]);
        let (again, p) = read_name(&q, p + 4).unwrap();
        assert_eq!(again, "host.local");
        assert_eq!(&q[p..], &[0, 28, 0, 1]);
    }

    #[test]
    fn malformed_responses_are_none() {
        let name = "a.local";
        let r = answer(name, "10.0.0.1".parse().unwrap()).unwrap();
        for n in 0..r.len() {
            assert_eq!(answer_for(&r[..n], name), None, "truncated to {n} bytes");
        }
        // A compression loop.
        let mut looped = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
        looped.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(answer_for(&looped, name), None);
        // An A record of the wrong length.
        let mut short = r.clone();
        let len = short.len();
        short[len - 5] = 3;
        short.pop();
        assert_eq!(answer_for(&short, name), None);
    }

    #[test]
    fn invalid_names_are_refused() {
        assert!(query("bad..name.local", 0).is_none());
        assert!(query("", 0).is_none());
        assert!(query(&format!("{}.local", "a".repeat(64)), 0).is_none());
        let long = vec!["abcdefgh"; 30].join(".");
        assert!(query(&long, 0).is_none(), "270 bytes on the wire");
        assert!(answer("bad..local", "10.0.0.1".parse().unwrap()).is_none());
    }
}
