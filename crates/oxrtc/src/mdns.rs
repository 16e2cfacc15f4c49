//! Resolving the mDNS `.local` names (RFC 6762) that browsers put in ICE
//! candidates instead of their local addresses.
//!
//! The wire format (the query, the answer parser) is [`ice::mdns`]; this
//! module owns the sockets, the retries and deadlines, and the limit on
//! lookups in flight. A query is sent from an ephemeral port, so it is a
//! "legacy unicast" query (RFC 6762 section 6.7): responders answer it
//! directly to that port, and no socket on 5353 or multicast membership is
//! needed.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

pub use ice::mdns::{answer_for, query, MDNS_GROUP};

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
            responder.send_to(&ice::mdns::answer(name, [127, 0, 0, 9].into()).unwrap(), from).await.unwrap();
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
