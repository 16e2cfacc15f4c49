//! Resolving the mDNS `.local` names (RFC 6762) that browsers put in ICE
//! candidates instead of their local addresses.
//!
//! A query is sent from an ephemeral port, so it is a "legacy unicast"
//! query (RFC 6762 section 6.7): responders answer it directly to that port,
//! and no socket on 5353 or multicast membership is needed.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

/// The mDNS group and port.
pub const MDNS_GROUP: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// Builds a query for the A and AAAA records of `name` with id `id`.
/// Returns `None` for a name that is not a valid DNS name.
pub fn query(name: &str, id: u16) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0]); // flags, QD=2, AN, NS, AR
    let qname = encode_name(name)?;
    for qtype in [TYPE_A, TYPE_AAAA] {
        out.extend_from_slice(&qname);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
    }
    Some(out)
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
    (out.len() <= 255).then_some(out)
}

/// Reads a possibly compressed name at `pos`; returns it (lowercase) and
/// the position after it. At most 16 compression jumps are followed.
fn read_name(msg: &[u8], mut pos: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut end = None;
    for _ in 0..16 {
        loop {
            let len = *msg.get(pos)? as usize;
            if len & 0xc0 == 0xc0 {
                let ptr = ((len & 0x3f) << 8) | *msg.get(pos + 1)? as usize;
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
            if name.len() > 255 {
                return None;
            }
            pos += 1 + len;
        }
    }
    None
}

/// The address of `name` in a DNS/mDNS response, if it has an A or AAAA
/// answer for it. Malformed messages give `None`, never a panic.
pub fn answer_for(msg: &[u8], name: &str) -> Option<IpAddr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let header = msg.get(..12)?;
    if header[2] & 0x80 == 0 {
        return None; // a query, not a response
    }
    let qd = u16::from_be_bytes([header[4], header[5]]);
    let an = u16::from_be_bytes([header[6], header[7]]) as usize
        + u16::from_be_bytes([header[8], header[9]]) as usize
        + u16::from_be_bytes([header[10], header[11]]) as usize;
    let mut pos = 12;
    for _ in 0..qd {
        pos = read_name(msg, pos)?.1 + 4;
    }
    for _ in 0..an.min(64) {
        let (rname, p) = read_name(msg, pos)?;
        let fixed = msg.get(p..p + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]) & 0x7fff; // top bit: cache-flush
        let rdlen = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let rdata = msg.get(p + 10..p + 10 + rdlen)?;
        pos = p + 10 + rdlen;
        if rname != name || class != CLASS_IN {
            continue;
        }
        match (rtype, rdata.len()) {
            (TYPE_A, 4) => return Some(IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]))),
            (TYPE_AAAA, 16) => {
                let b: [u8; 16] = rdata.try_into().ok()?;
                return Some(IpAddr::V6(Ipv6Addr::from(b)));
            }
            _ => {}
        }
    }
    None
}

/// Resolves `name` by asking `target` (normally [`MDNS_GROUP`]) from a
/// socket bound to `bind`, retrying every 250 ms until `timeout`.
pub async fn resolve(name: &str, bind: IpAddr, target: SocketAddr, timeout: Duration) -> io::Result<IpAddr> {
    let q = query(name, 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?} is not a valid mDNS name")))?;
    let socket = UdpSocket::bind(SocketAddr::new(bind, 0)).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut buf = vec![0u8; 9000];
    loop {
        socket.send_to(&q, target).await?;
        let retry = (tokio::time::Instant::now() + Duration::from_millis(250)).min(deadline);
        loop {
            match tokio::time::timeout_at(retry, socket.recv_from(&mut buf)).await {
                Ok(Ok((n, _))) => {
                    if let Some(ip) = answer_for(&buf[..n], name) {
                        return Ok(ip);
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no mDNS answer for {name} within {timeout:?}: the peer's host is not on this network segment"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as a browser's responder sends it: the question echoed,
    /// then an A record whose name is a compression pointer to it, with the
    /// cache-flush bit.
    fn response(name: &str, ip: [u8; 4]) -> Vec<u8> {
        let mut m = vec![0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&encode_name(name).unwrap());
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4]);
        m.extend_from_slice(&ip);
        m
    }

    #[test]
    fn reads_a_compressed_answer() {
        let name = "1f0e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8.local";
        let r = response(name, [127, 0, 0, 1]);
        assert_eq!(answer_for(&r, name), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(answer_for(&r, &name.to_uppercase()), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(answer_for(&r, "other.local"), None);
        let q = query(name, 7).unwrap();
        assert_eq!(answer_for(&q, name), None, "a query is no answer");
    }

    #[test]
    fn malformed_responses_are_none() {
        let name = "a.local";
        let r = response(name, [10, 0, 0, 1]);
        for n in 0..r.len() {
            assert_eq!(answer_for(&r[..n], name), None);
        }
        // A compression loop.
        let mut looped = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12];
        looped.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(answer_for(&looped, name), None);
        assert!(query("bad..name.local", 0).is_none());
    }

    #[tokio::test]
    async fn resolves_through_a_responder() {
        // A responder on loopback stands in for the mDNS group (tests never
        // send to the multicast group: traffic stays on 127.0.0.1).
        let responder = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let target = responder.local_addr().unwrap();
        let name = "4b1a9b7e-1c2d-4e3f-9a0b-1c2d3e4f5a6b.local";
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            // Drop the first query to exercise the retry.
            let _ = responder.recv_from(&mut buf).await.unwrap();
            let (_, from) = responder.recv_from(&mut buf).await.unwrap();
            responder.send_to(&response(name, [127, 0, 0, 9]), from).await.unwrap();
        });
        let ip = resolve(name, "127.0.0.1".parse().unwrap(), target, Duration::from_secs(3)).await.unwrap();
        assert_eq!(ip, "127.0.0.9".parse::<IpAddr>().unwrap());
        let err = resolve("nobody.local", "127.0.0.1".parse().unwrap(), target, Duration::from_millis(300)).await;
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
}

/// Resolutions one transport or connection runs at once; further `.local`
/// candidates are dropped with a warning (remote descriptions and
/// candidates come from the peer: a flood of names must not become a flood
/// of sockets and tasks).
const MAX_PENDING: usize = 16;

/// Resolves remote `.local` candidates in the background for one
/// transport or connection, at most [`MAX_PENDING`] at a time.
#[derive(Clone)]
pub(crate) struct Resolver {
    server: SocketAddr,
    bind: IpAddr,
    timeout: Duration,
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Resolver {
    /// Asks `server` (the mDNS group unless a test says otherwise) from
    /// `local_ip` (from the server's own address when it is loopback).
    pub(crate) fn new(server: Option<SocketAddr>, local_ip: IpAddr, timeout: Duration) -> Self {
        let server = server.unwrap_or(MDNS_GROUP);
        let bind = if server.ip().is_loopback() { server.ip() } else { local_ip };
        Resolver { server, bind, timeout, permits: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_PENDING)) }
    }

    /// Resolves `name` and hands `candidate` with the address found to
    /// `deliver`; a name that does not resolve in time is dropped, as
    /// browsers do.
    pub(crate) fn spawn<F, Fut>(&self, name: String, mut candidate: ice::Candidate, deliver: F)
    where
        F: FnOnce(ice::Candidate) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!(%name, "too many mDNS names being resolved; remote candidate dropped");
            return;
        };
        let (server, bind, timeout) = (self.server, self.bind, self.timeout);
        tokio::spawn(async move {
            let _permit = permit;
            match resolve(&name, bind, server, timeout).await {
                Ok(ip) => {
                    candidate.address.set_ip(ip);
                    deliver(candidate).await;
                }
                Err(e) => tracing::warn!(%name, error = %e, "remote mDNS candidate dropped"),
            }
        });
    }
}
