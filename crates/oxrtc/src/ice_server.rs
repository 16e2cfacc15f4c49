//! `RTCIceServer` URLs (RFC 7064 `stun:`, RFC 7065 `turn:`/`turns:`).

use std::io;
use std::net::SocketAddr;

use ice::{IceConfig, TurnServer, TurnTransport};

/// The W3C `RTCIceServer`: STUN or TURN URLs and their credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RTCIceServer {
    /// `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]`,
    /// `turns:host[:port]`.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: String,
    /// TURN password.
    pub credential: String,
}

impl RTCIceServer {
    /// A server with these URLs and no credentials (STUN).
    pub fn new(urls: &[&str]) -> Self {
        RTCIceServer { urls: urls.iter().map(|u| u.to_string()).collect(), ..Default::default() }
    }
}

/// One parsed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IceUrl {
    pub turn: bool,
    pub transport: TurnTransport,
    pub host: String,
    pub port: u16,
}

fn invalid(url: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("ICE server URL {url:?}: {why}"))
}

/// Parses one URL.
pub(crate) fn parse_url(url: &str) -> io::Result<IceUrl> {
    let (scheme, rest) = url.split_once(':').ok_or_else(|| invalid(url, "no scheme (stun:, turn: or turns:)"))?;
    let (turn, tls) = match scheme.to_ascii_lowercase().as_str() {
        "stun" => (false, false),
        "turn" => (true, false),
        "turns" => (true, true),
        "stuns" => return Err(invalid(url, "stuns: (STUN over TLS) is not supported; use stun:")),
        _ => return Err(invalid(url, "unknown scheme; use stun:, turn: or turns:")),
    };
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let mut transport = if tls { TurnTransport::Tls } else { TurnTransport::Udp };
    if let Some(q) = query {
        if !turn {
            return Err(invalid(url, "stun: URLs take no query"));
        }
        match q.to_ascii_lowercase().strip_prefix("transport=") {
            Some("udp") if !tls => transport = TurnTransport::Udp,
            Some("tcp") => transport = if tls { TurnTransport::Tls } else { TurnTransport::Tcp },
            _ => return Err(invalid(url, "the query must be transport=udp or transport=tcp")),
        }
    }
    let default_port = if tls { 5349 } else { 3478 };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or_else(|| invalid(url, "unclosed [ in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| invalid(url, "bad port"))?,
            None if after.is_empty() => default_port,
            None => return Err(invalid(url, "junk after the IPv6 address")),
        };
        (h.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| invalid(url, "bad port"))?),
            None => (hostport.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(invalid(url, "no host"));
    }
    Ok(IceUrl { turn, transport, host, port })
}

/// Resolves every URL of `servers` into the agent's configuration.
pub(crate) async fn apply(servers: &[RTCIceServer], config: &mut IceConfig) -> io::Result<Option<String>> {
    let mut tls_name = None;
    for server in servers {
        for url in &server.urls {
            let u = parse_url(url)?;
            let addr: SocketAddr = tokio::net::lookup_host((u.host.as_str(), u.port))
                .await?
                .next()
                .ok_or_else(|| invalid(url, "the host name did not resolve"))?;
            if u.turn {
                if server.username.is_empty() {
                    return Err(invalid(url, "TURN needs a username and credential"));
                }
                if u.transport == TurnTransport::Tls && u.host.parse::<std::net::IpAddr>().is_err() {
                    tls_name = Some(u.host.clone());
                }
                config.turn_servers.push(TurnServer {
                    address: addr,
                    username: server.username.clone(),
                    password: server.credential.clone(),
                    transport: u.transport,
                });
            } else {
                config.stun_servers.push(addr);
            }
        }
    }
    Ok(tls_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("stun:stun.example.org").unwrap();
        assert_eq!((u.turn, u.host.as_str(), u.port), (false, "stun.example.org", 3478));
        let u = parse_url("turn:127.0.0.1:3479?transport=tcp").unwrap();
        assert_eq!((u.turn, u.transport, u.port), (true, TurnTransport::Tcp, 3479));
        let u = parse_url("turns:turn.example.org").unwrap();
        assert_eq!((u.transport, u.port), (TurnTransport::Tls, 5349));
        let u = parse_url("turn:[::1]:3478?transport=udp").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.transport), ("::1", 3478, TurnTransport::Udp));
        for bad in ["http://x", "stun:", "turn:host:port", "turn:h?transport=sctp", "stun:h?transport=udp", "stuns:h"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
