//! Local interfaces and sockets: which addresses become host candidates.

use std::net::{IpAddr, SocketAddr, UdpSocket};

/// Which local interfaces ICE may use (aiortc has no such filter; docker
/// bridges and VPN tunnels leak addresses and slow checks down without one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceFilter {
    /// Interface names or IP addresses to use; empty means all.
    pub allow: Vec<String>,
    /// Interface names or IP addresses never to use. Names ending in `*`
    /// match a prefix (`docker*`, `veth*`).
    pub deny: Vec<String>,
    /// Whether loopback interfaces are used.
    pub loopback: bool,
    /// Whether IPv6 addresses are used.
    pub ipv6: bool,
}

impl InterfaceFilter {
    /// Loopback only (127.0.0.1 and, if `ipv6`, ::1): for tests and
    /// same-machine links.
    pub fn loopback_only() -> Self {
        InterfaceFilter { allow: vec!["127.0.0.1".into(), "::1".into()], deny: Vec::new(), loopback: true, ipv6: false }
    }

    fn matches(pattern: &str, name: &str, ip: &IpAddr) -> bool {
        if let Some(prefix) = pattern.strip_suffix('*') {
            return name.starts_with(prefix);
        }
        pattern == name || pattern.parse::<IpAddr>().is_ok_and(|p| p == *ip)
    }

    /// Whether an interface address passes the filter.
    pub fn accepts(&self, name: &str, ip: &IpAddr) -> bool {
        if ip.is_loopback() && !self.loopback {
            return false;
        }
        if ip.is_ipv6() && !self.ipv6 {
            return false;
        }
        if let IpAddr::V6(v6) = ip {
            // Link-local IPv6 needs scope ids; skip it.
            if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                return false;
            }
        }
        if self.deny.iter().any(|p| Self::matches(p, name, ip)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|p| Self::matches(p, name, ip))
    }

    /// The local addresses that pass the filter.
    pub fn addresses(&self) -> std::io::Result<Vec<IpAddr>> {
        let mut out = Vec::new();
        for iface in if_addrs::get_if_addrs()? {
            let ip = iface.ip();
            if self.accepts(&iface.name, &ip) && !out.contains(&ip) {
                out.push(ip);
            }
        }
        Ok(out)
    }
}

/// Socket buffers asked of the kernel (capped by `net.core.rmem_max` and
/// `wmem_max`). The default receive buffer (about 200 KiB on Linux) drops
/// datagrams when a data channel bursts at full speed, and every drop halves
/// SCTP's congestion window.
const RECV_BUFFER: usize = 4 * 1024 * 1024;
const SEND_BUFFER: usize = 2 * 1024 * 1024;

/// Binds a UDP socket on `ip`, on a port from `range` if given (the first
/// free one), else on any port, with large socket buffers.
pub fn bind_udp(ip: IpAddr, range: Option<(u16, u16)>) -> std::io::Result<UdpSocket> {
    let socket = bind_port(ip, range)?;
    let s = socket2::SockRef::from(&socket);
    // Best effort: a smaller buffer only costs throughput.
    let _ = s.set_recv_buffer_size(RECV_BUFFER);
    let _ = s.set_send_buffer_size(SEND_BUFFER);
    Ok(socket)
}

fn bind_port(ip: IpAddr, range: Option<(u16, u16)>) -> std::io::Result<UdpSocket> {
    match range {
        None => UdpSocket::bind(SocketAddr::new(ip, 0)),
        Some((lo, hi)) => {
            let mut last = None;
            for port in lo..=hi {
                match UdpSocket::bind(SocketAddr::new(ip, port)) {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| std::io::Error::other(format!("empty port range {lo}-{hi}"))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_rules() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        let f = InterfaceFilter::loopback_only();
        assert!(f.accepts("lo", &lo));
        assert!(!f.accepts("eth0", &lan));
        let f = InterfaceFilter { deny: vec!["docker*".into()], ..Default::default() };
        assert!(!f.accepts("docker0", &lan));
        assert!(f.accepts("eth0", &lan));
        assert!(!f.accepts("lo", &lo), "loopback is off unless asked for");
        let f = InterfaceFilter { loopback: true, ..Default::default() };
        assert!(f.accepts("lo", &lo));
        assert!(!f.accepts("lo", &"::1".parse().unwrap()), "IPv6 is off unless asked for");
    }

    #[test]
    fn port_range_is_honoured() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let a = bind_udp(lo, Some((47310, 47320))).unwrap();
        let b = bind_udp(lo, Some((47310, 47320))).unwrap();
        let (pa, pb) = (a.local_addr().unwrap().port(), b.local_addr().unwrap().port());
        assert!((47310..=47320).contains(&pa) && (47310..=47320).contains(&pb));
        assert_ne!(pa, pb);
    }
}
