//! A NAT box in RFC 4787 terms: mapping behaviour (which outbound flows share a public
//! port), filtering behaviour (which inbound packets a mapping lets in), idle timeouts.
//!
//! - A **mapping** binds a private endpoint (and, depending on [`NatMapping`], the remote
//!   address or address and port) to a public port of the NAT's public IP. Ports are
//!   allocated deterministically: [`NatConfig::first_port`] (40000 by default), then the
//!   next free one, wrapping at 65535.
//! - Each mapping remembers the remote endpoints its private host has sent to
//!   (*permissions*); [`NatFiltering`] decides which inbound sources they admit.
//! - A mapping expires after [`NatConfig::mapping_timeout`] without outbound traffic
//!   (RFC 4787 REQ-5 and REQ-6: outbound refresh; inbound refresh only with
//!   [`NatConfig::inbound_refresh`]). A permission expires after the same idle time.
//! - Memory is bounded: at most [`NatConfig::max_mappings`] mappings (the least recently
//!   active is evicted) and [`MAX_PERMISSIONS_PER_MAPPING`] permissions per mapping.
//! - Hairpinning (RFC 4787 REQ-9) works: a private host sending to its NAT's public address
//!   is translated out and back in, and the receiver sees the sender's public address.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Default idle time after which a mapping expires (RFC 4787 REQ-5 asks for at least 2 min).
pub const DEFAULT_MAPPING_TIMEOUT: Duration = Duration::from_secs(120);
/// Default cap on live mappings per NAT.
pub const DEFAULT_MAX_MAPPINGS: usize = 4096;
/// Default first public port a NAT allocates.
pub const DEFAULT_FIRST_PORT: u16 = 40000;
/// Cap on remembered remote endpoints per mapping; the least recently used is forgotten.
pub const MAX_PERMISSIONS_PER_MAPPING: usize = 256;

/// How often (in simulated time) a NAT sweeps out expired mappings.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Handle to a NAT of one [`Network`](crate::Network), returned by
/// [`Network::add_nat`](crate::Network::add_nat).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NatId(pub(crate) usize);

/// RFC 4787 section 4.1: when does an outbound flow reuse an existing public port?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatMapping {
    /// Same private endpoint, any destination: same public port ("full cone" family).
    EndpointIndependent,
    /// Same private endpoint and destination IP: same public port.
    AddressDependent,
    /// Same private endpoint and destination IP and port: same public port ("symmetric").
    AddressAndPortDependent,
}

/// RFC 4787 section 5: which inbound packets reach the private host through a mapping?
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatFiltering {
    /// Any source ("full cone").
    EndpointIndependent,
    /// Sources whose IP the private host has sent to through this mapping ("restricted cone").
    AddressDependent,
    /// Sources whose IP and port the private host has sent to ("port-restricted cone").
    AddressAndPortDependent,
}

/// Everything that describes a NAT's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatConfig {
    /// Mapping behaviour.
    pub mapping: NatMapping,
    /// Filtering behaviour.
    pub filtering: NatFiltering,
    /// Idle time after which a mapping (and a permission) expires.
    pub mapping_timeout: Duration,
    /// Cap on mappings; when full, expired ones are removed, then the least recently
    /// active one. Clamped to the number of ports available (and at least 1).
    pub max_mappings: usize,
    /// First public port allocated (0 is treated as 1).
    pub first_port: u16,
    /// Whether inbound packets also refresh a mapping's idle timer (RFC 4787: MAY).
    pub inbound_refresh: bool,
}

impl NatConfig {
    /// The given behaviours with default timeout, cap and port range.
    pub fn new(mapping: NatMapping, filtering: NatFiltering) -> Self {
        NatConfig {
            mapping,
            filtering,
            mapping_timeout: DEFAULT_MAPPING_TIMEOUT,
            max_mappings: DEFAULT_MAX_MAPPINGS,
            first_port: DEFAULT_FIRST_PORT,
            inbound_refresh: false,
        }
    }
}

/// What identifies a mapping; the remote parts are `None` when the behaviour ignores them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct MappingKey {
    private: SocketAddr,
    remote_ip: Option<IpAddr>,
    remote_port: Option<u16>,
}

impl MappingKey {
    fn new(behaviour: NatMapping, private: SocketAddr, remote: SocketAddr) -> Self {
        let (remote_ip, remote_port) = match behaviour {
            NatMapping::EndpointIndependent => (None, None),
            NatMapping::AddressDependent => (Some(remote.ip()), None),
            NatMapping::AddressAndPortDependent => (Some(remote.ip()), Some(remote.port())),
        };
        MappingKey { private, remote_ip, remote_port }
    }
}

#[derive(Clone, Debug)]
struct Mapping {
    key: MappingKey,
    last_active: Instant,
    /// Remote endpoints sent to through this mapping, with the time of the last packet.
    permissions: BTreeMap<SocketAddr, Instant>,
}

impl Mapping {
    fn permit(&mut self, remote: SocketAddr, now: Instant, timeout: Duration) {
        self.permissions.insert(remote, now);
        if self.permissions.len() > MAX_PERMISSIONS_PER_MAPPING {
            self.permissions.retain(|_, t| alive(*t, timeout, now));
        }
        while self.permissions.len() > MAX_PERMISSIONS_PER_MAPPING {
            let oldest = self.permissions.iter().min_by_key(|(addr, t)| (**t, **addr)).map(|(addr, _)| *addr);
            match oldest {
                Some(addr) => self.permissions.remove(&addr),
                None => break,
            };
        }
    }
}

/// Whether something last active at `last` is still alive at `now`.
fn alive(last: Instant, timeout: Duration, now: Instant) -> bool {
    !matches!(last.checked_add(timeout), Some(expiry) if now >= expiry)
}

/// A NAT's state. Driven by the network with non-decreasing `now`.
#[derive(Clone, Debug)]
pub(crate) struct Nat {
    pub(crate) public_ip: IpAddr,
    config: NatConfig,
    by_port: BTreeMap<u16, Mapping>,
    by_key: BTreeMap<MappingKey, u16>,
    next_port: u16,
    next_sweep: Option<Instant>,
}

impl Nat {
    pub(crate) fn new(public_ip: IpAddr, config: NatConfig) -> Self {
        Nat {
            public_ip,
            config,
            by_port: BTreeMap::new(),
            by_key: BTreeMap::new(),
            next_port: config.first_port.max(1),
            next_sweep: None,
        }
    }

    fn first_port(&self) -> u16 {
        self.config.first_port.max(1)
    }

    fn capacity(&self) -> usize {
        let ports = 65536 - usize::from(self.first_port());
        self.config.max_mappings.clamp(1, ports)
    }

    /// Translates an outbound packet from `private` to `remote`: returns the public source
    /// address, creating or refreshing the mapping and the permission for `remote`.
    pub(crate) fn outbound(&mut self, now: Instant, private: SocketAddr, remote: SocketAddr) -> Option<SocketAddr> {
        self.maybe_sweep(now);
        let timeout = self.config.mapping_timeout;
        let key = MappingKey::new(self.config.mapping, private, remote);
        if let Some(&port) = self.by_key.get(&key) {
            if let Some(mapping) = self.by_port.get_mut(&port) {
                if alive(mapping.last_active, timeout, now) {
                    mapping.last_active = now;
                    mapping.permit(remote, now, timeout);
                    return Some(SocketAddr::new(self.public_ip, port));
                }
            }
            self.remove(port);
            self.by_key.remove(&key);
        }

        if self.by_port.len() >= self.capacity() {
            self.sweep(now);
        }
        if self.by_port.len() >= self.capacity() {
            self.evict_least_recently_active();
        }
        let port = self.allocate_port()?;
        let mut mapping = Mapping { key, last_active: now, permissions: BTreeMap::new() };
        mapping.permit(remote, now, timeout);
        self.by_port.insert(port, mapping);
        self.by_key.insert(key, port);
        Some(SocketAddr::new(self.public_ip, port))
    }

    /// Translates an inbound packet from `remote` to `public_port`: returns the private
    /// destination, or `None` when there is no live mapping or filtering refuses it.
    pub(crate) fn inbound(&mut self, now: Instant, remote: SocketAddr, public_port: u16) -> Option<SocketAddr> {
        self.maybe_sweep(now);
        let timeout = self.config.mapping_timeout;
        let last_active = self.by_port.get(&public_port)?.last_active;
        if !alive(last_active, timeout, now) {
            self.remove(public_port);
            return None;
        }
        let filtering = self.config.filtering;
        let inbound_refresh = self.config.inbound_refresh;
        let mapping = self.by_port.get_mut(&public_port)?;
        let allowed = match filtering {
            NatFiltering::EndpointIndependent => true,
            NatFiltering::AddressDependent => {
                mapping.permissions.iter().any(|(addr, t)| addr.ip() == remote.ip() && alive(*t, timeout, now))
            }
            NatFiltering::AddressAndPortDependent => {
                mapping.permissions.get(&remote).is_some_and(|t| alive(*t, timeout, now))
            }
        };
        if !allowed {
            return None;
        }
        if inbound_refresh {
            mapping.last_active = now;
        }
        Some(mapping.key.private)
    }

    /// Number of mappings still alive at `now`.
    pub(crate) fn live_mappings(&self, now: Instant) -> usize {
        let timeout = self.config.mapping_timeout;
        self.by_port.values().filter(|m| alive(m.last_active, timeout, now)).count()
    }

    fn remove(&mut self, port: u16) {
        if let Some(mapping) = self.by_port.remove(&port) {
            self.by_key.remove(&mapping.key);
        }
    }

    fn maybe_sweep(&mut self, now: Instant) {
        if !matches!(self.next_sweep, Some(at) if now < at) {
            self.sweep(now);
        }
    }

    /// Removes expired mappings and expired permissions of live ones.
    fn sweep(&mut self, now: Instant) {
        let timeout = self.config.mapping_timeout;
        let expired: Vec<u16> =
            self.by_port.iter().filter(|(_, m)| !alive(m.last_active, timeout, now)).map(|(port, _)| *port).collect();
        for port in expired {
            self.remove(port);
        }
        for mapping in self.by_port.values_mut() {
            mapping.permissions.retain(|_, t| alive(*t, timeout, now));
        }
        self.next_sweep = now.checked_add(SWEEP_INTERVAL);
    }

    fn evict_least_recently_active(&mut self) {
        let oldest = self.by_port.iter().min_by_key(|(port, m)| (m.last_active, **port)).map(|(port, _)| *port);
        if let Some(port) = oldest {
            self.remove(port);
        }
    }

    /// The next free port at or after `next_port`, wrapping within `[first_port, 65535]`.
    fn allocate_port(&mut self) -> Option<u16> {
        let first = self.first_port();
        for _ in first..=u16::MAX {
            let port = self.next_port.max(first);
            self.next_port = if port == u16::MAX { first } else { port + 1 };
            if !self.by_port.contains_key(&port) {
                return Some(port);
            }
        }
        None
    }
}
