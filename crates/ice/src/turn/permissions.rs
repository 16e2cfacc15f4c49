//! Permissions per peer IP (RFC 8656 section 9) and channels per peer
//! address (section 12): asked for, refreshed while used, expired,
//! channel numbers cooled down before reuse; and the periodic upkeep
//! that also refreshes the allocation.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use stun::{MAX_CHANNEL, MIN_CHANNEL};

use super::{
    lifetime_secs, Request, TurnClient, TurnError, TurnEvent, TurnState, CHANNEL_COOLDOWN, MAX_CHANNELS,
    MAX_PERMISSIONS, PERMISSION_LIFETIME, PERMISSION_REFRESH,
};

/// A permission for one peer IP.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Permission {
    /// Installed on the server until then.
    pub(super) installed_until: Option<Instant>,
    /// When to send the next CreatePermission (None: not planned).
    pub(super) refresh_at: Option<Instant>,
    /// A CreatePermission for this IP is in flight.
    pub(super) pending: bool,
    /// Traffic went to or came from this IP since the last installation.
    pub(super) used: bool,
}

/// A channel for one peer transport address.
#[derive(Debug, Clone, Copy)]
pub(super) struct Channel {
    pub(super) number: u16,
    pub(super) bound_until: Option<Instant>,
    pub(super) rebind_at: Option<Instant>,
    pub(super) pending: bool,
    pub(super) used: bool,
}

impl TurnClient {
    /// Asks the server to accept traffic from (and relay to) `peer`. Before the
    /// allocation exists the request waits for it. The permission is kept
    /// (refreshed at [`PERMISSION_REFRESH`]) while traffic flows; calling
    /// this again on an installed permission counts as use.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) {
        if let Some(error) = self.refuse_new_request() {
            self.stats.permission_failures += 1;
            self.push_event(TurnEvent::PermissionFailed { peer, error });
            return;
        }
        if let Some(p) = self.permissions.get_mut(&peer) {
            p.used = true;
            if p.installed_until.is_none() && !p.pending && p.refresh_at.is_none() {
                p.refresh_at = Some(now);
            }
        } else {
            if self.permissions.len() >= MAX_PERMISSIONS {
                self.stats.permission_failures += 1;
                let error =
                    TurnError::Limit { server: self.config.server, what: "permissions", limit: MAX_PERMISSIONS };
                self.push_event(TurnEvent::PermissionFailed { peer, error });
                return;
            }
            self.permissions.insert(peer, Permission { refresh_at: Some(now), ..Permission::default() });
        }
        self.upkeep(now);
    }

    /// Binds a channel to `peer` (which also installs the permission for its
    /// IP), so [`send_to`](Self::send_to) uses 4-byte ChannelData headers.
    /// Before the allocation exists the request waits for it. The channel is
    /// re-bound at [`CHANNEL_REFRESH`](super::CHANNEL_REFRESH) while traffic flows.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) {
        if let Some(error) = self.refuse_new_request() {
            self.stats.channel_bind_failures += 1;
            self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            return;
        }
        if let Some(c) = self.channels.get_mut(&peer) {
            c.used = true;
            if c.bound_until.is_none() && !c.pending && c.rebind_at.is_none() {
                c.rebind_at = Some(now);
            }
            self.upkeep(now);
            return;
        }
        let limit = if self.channels.len() >= MAX_CHANNELS {
            Some(("channels", MAX_CHANNELS))
        } else if !self.permissions.contains_key(&peer.ip()) && self.permissions.len() >= MAX_PERMISSIONS {
            Some(("permissions", MAX_PERMISSIONS))
        } else {
            None
        };
        let number = match limit {
            None => self.free_channel_number(),
            Some(_) => None,
        };
        let Some(number) = number else {
            let (what, limit) = limit.unwrap_or(("channel numbers", usize::from(MAX_CHANNEL - MIN_CHANNEL) + 1));
            self.stats.channel_bind_failures += 1;
            let error = TurnError::Limit { server: self.config.server, what, limit };
            self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            return;
        };
        self.permissions.entry(peer.ip()).or_default();
        self.channels
            .insert(peer, Channel { number, bound_until: None, rebind_at: Some(now), pending: false, used: false });
        self.channel_peers.insert(number, peer);
        self.upkeep(now);
    }

    pub(super) fn mark_used(&mut self, peer: SocketAddr) {
        if let Some(p) = self.permissions.get_mut(&peer.ip()) {
            p.used = true;
        }
        if let Some(c) = self.channels.get_mut(&peer) {
            c.used = true;
        }
    }

    pub(super) fn free_channel_number(&mut self) -> Option<u16> {
        let span = MAX_CHANNEL - MIN_CHANNEL + 1;
        for _ in 0..span {
            let candidate = self.next_channel;
            self.next_channel = if candidate >= MAX_CHANNEL { MIN_CHANNEL } else { candidate + 1 };
            if !self.channel_peers.contains_key(&candidate) && !self.retired_channels.contains_key(&candidate) {
                return Some(candidate);
            }
        }
        None
    }

    /// Refresh, permission and channel upkeep; only while allocated.
    pub(super) fn upkeep(&mut self, now: Instant) {
        if self.state != TurnState::Allocated {
            return;
        }
        if let Some(a) = self.allocation {
            if now >= a.expires_at {
                self.fail(TurnError::Expired { server: self.config.server });
                return;
            }
            if now >= a.refresh_at && !self.refresh_in_flight() {
                let lifetime = lifetime_secs(self.config.lifetime);
                self.start_transaction(now, Request::Refresh { lifetime }, false);
            }
        }

        let mut send = Vec::new();
        self.permissions.retain(|ip, p| {
            if p.installed_until.is_some_and(|t| now >= t) {
                tracing::debug!(peer = %ip, "TURN: permission expired");
                p.installed_until = None;
            }
            if !p.pending && p.refresh_at.is_some_and(|t| now >= t) {
                if p.installed_until.is_some() && !p.used {
                    p.refresh_at = None; // idle: let it expire
                } else {
                    send.push(*ip);
                }
            }
            p.installed_until.is_some() || p.pending || p.refresh_at.is_some()
        });
        // Keep permissions whose channel is still being bound (the bind installs them).
        for (peer, c) in &self.channels {
            if c.pending || c.rebind_at.is_some() {
                self.permissions.entry(peer.ip()).or_default();
            }
        }
        for peer in send {
            self.start_transaction(now, Request::CreatePermission { peer }, false);
        }

        let mut bind = Vec::new();
        let mut expired = Vec::new();
        for (peer, c) in self.channels.iter_mut() {
            if c.bound_until.is_some_and(|t| now >= t) {
                tracing::debug!(%peer, channel = c.number, "TURN: channel expired");
                c.bound_until = None;
            }
            if !c.pending && c.rebind_at.is_some_and(|t| now >= t) {
                if c.bound_until.is_some() && !c.used {
                    c.rebind_at = None;
                } else {
                    bind.push((*peer, c.number));
                }
            }
            if c.bound_until.is_none() && !c.pending && c.rebind_at.is_none() && !bind.iter().any(|(p, _)| p == peer) {
                expired.push(*peer);
            }
        }
        for peer in expired {
            self.retire_channel(now, peer);
        }
        for (peer, channel) in bind {
            self.start_transaction(now, Request::ChannelBind { peer, channel }, false);
        }
        self.retired_channels.retain(|_, until| now < *until);
    }

    pub(super) fn retire_channel(&mut self, now: Instant, peer: SocketAddr) {
        if let Some(c) = self.channels.remove(&peer) {
            self.channel_peers.remove(&c.number);
            self.retired_channels.insert(c.number, now + CHANNEL_COOLDOWN);
        }
    }

    pub(super) fn install_permission(p: &mut Permission, now: Instant) {
        p.installed_until = Some(now + PERMISSION_LIFETIME);
        p.refresh_at = Some(now + PERMISSION_REFRESH);
        p.pending = false;
        p.used = false;
    }
}
