//! Requests and their answers: encoding, the long-term credential dance
//! (401, 438), responses verified and applied, failures.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::Rng;
use stun::{Attribute, Class, IntegrityKey, Message, Method, RetransmitTimer, TransactionId};

use super::{
    lifetime_secs, refresh_delay, Allocation, TurnClient, TurnError, TurnEvent, TurnState, CHANNEL_LIFETIME,
    CHANNEL_REFRESH, MAX_LIFETIME, MIN_LIFETIME, PERMISSION_LIFETIME, STREAM_RETRANSMIT,
};

/// A request and what it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request {
    Allocate,
    Refresh { lifetime: u32 },
    CreatePermission { peer: IpAddr },
    ChannelBind { peer: SocketAddr, channel: u16 },
}

impl Request {
    fn method(self) -> Method {
        match self {
            Request::Allocate => Method::ALLOCATE,
            Request::Refresh { .. } => Method::REFRESH,
            Request::CreatePermission { .. } => Method::CREATE_PERMISSION,
            Request::ChannelBind { .. } => Method::CHANNEL_BIND,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Request::Allocate => "Allocate",
            Request::Refresh { .. } => "Refresh",
            Request::CreatePermission { .. } => "CreatePermission",
            Request::ChannelBind { .. } => "ChannelBind",
        }
    }
}

/// A request in flight.
#[derive(Debug)]
pub(super) struct Transaction {
    pub(super) id: TransactionId,
    pub(super) request: Request,
    pub(super) timer: RetransmitTimer,
    /// The encoded request, sent again on retransmission.
    pub(super) wire: Vec<u8>,
    /// Sent with MESSAGE-INTEGRITY: the response must verify.
    pub(super) authenticated: bool,
    /// Already retried once after a 438.
    pub(super) stale_retried: bool,
}

/// Long-term credential state learnt from the server's 401.
pub(super) struct Auth {
    pub(super) realm: String,
    pub(super) nonce: String,
    pub(super) key: IntegrityKey,
}

impl TurnClient {
    /// `Some(error)` when no new permission or channel may be asked for.
    pub(super) fn refuse_new_request(&self) -> Option<TurnError> {
        match self.state {
            TurnState::Allocating | TurnState::Allocated => None,
            state => Some(TurnError::NoAllocation { server: self.config.server, state }),
        }
    }

    pub(super) fn refresh_in_flight(&self) -> bool {
        self.transactions.iter().any(|t| matches!(t.request, Request::Refresh { .. }))
    }

    pub(super) fn encode_request(&self, id: TransactionId, request: Request) -> Vec<u8> {
        let mut msg = Message::new(Class::Request, request.method(), id);
        match request {
            Request::Allocate => {
                msg = msg
                    .with(Attribute::RequestedTransport(stun::PROTOCOL_UDP))
                    .with(Attribute::Lifetime(lifetime_secs(self.config.lifetime)));
            }
            Request::Refresh { lifetime } => msg = msg.with(Attribute::Lifetime(lifetime)),
            Request::CreatePermission { peer } => msg = msg.with(Attribute::XorPeerAddress(SocketAddr::new(peer, 0))),
            Request::ChannelBind { peer, channel } => {
                msg = msg.with(Attribute::ChannelNumber(channel)).with(Attribute::XorPeerAddress(peer));
            }
        }
        if let Some(software) = &self.config.software {
            msg = msg.with(Attribute::Software(software));
        }
        if let Some(auth) = &self.auth {
            msg = msg
                .with(Attribute::Username(&self.config.username))
                .with(Attribute::Realm(&auth.realm))
                .with(Attribute::Nonce(&auth.nonce));
        }
        msg.to_bytes(self.auth.as_ref().map(|a| &a.key), true)
    }

    pub(super) fn start_transaction(&mut self, now: Instant, request: Request, stale_retried: bool) {
        let id = TransactionId(self.rng.gen());
        let wire = self.encode_request(id, request);
        self.queue_transmit(wire.clone());
        match request {
            Request::CreatePermission { peer } => {
                if let Some(p) = self.permissions.get_mut(&peer) {
                    p.pending = true;
                    p.refresh_at = None;
                }
            }
            Request::ChannelBind { peer, .. } => {
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.pending = true;
                    c.rebind_at = None;
                }
            }
            Request::Allocate | Request::Refresh { .. } => {}
        }
        self.transactions.push(Transaction {
            id,
            request,
            timer: RetransmitTimer::start(
                now,
                if self.config.transport.is_stream() { STREAM_RETRANSMIT } else { self.config.retransmit },
            ),
            wire,
            authenticated: self.auth.is_some(),
            stale_retried,
        });
    }

    pub(super) fn on_response(&mut self, now: Instant, msg: &Message<'_>, raw: &[u8]) {
        let Some(index) = self.transactions.iter().position(|t| t.id == msg.transaction_id) else {
            self.stats.unknown_transactions += 1;
            return;
        };
        let tx = &self.transactions[index];
        if tx.request.method() != msg.method {
            self.stats.unknown_transactions += 1;
            return;
        }
        let code = msg.error_code();
        if tx.authenticated {
            let verified = match &self.auth {
                Some(auth) if msg.has_integrity() => msg.verify_integrity(raw, &auth.key).is_ok(),
                // RFC 8489 9.2.5: only 401 and 438 may come without integrity.
                _ => msg.class == Class::Error && matches!(code, Some((401 | 438, _))),
            };
            if !verified {
                tracing::debug!(server = %self.config.server, "TURN: response failed MESSAGE-INTEGRITY; dropped");
                self.stats.integrity_failures += 1;
                return;
            }
        }
        let tx = self.transactions.swap_remove(index);
        match msg.class {
            Class::Success => self.on_success(now, tx.request, msg),
            _ => self.on_error(now, tx, msg, code),
        }
        self.upkeep(now);
    }

    pub(super) fn on_success(&mut self, now: Instant, request: Request, msg: &Message<'_>) {
        let granted = msg
            .find(|a| match a {
                Attribute::Lifetime(s) => Some(Duration::from_secs(u64::from(*s))),
                _ => None,
            })
            .unwrap_or(self.config.lifetime);
        match request {
            Request::Allocate => {
                if self.state != TurnState::Allocating {
                    return;
                }
                let relayed = msg.find(|a| match a {
                    Attribute::XorRelayedAddress(r) => Some(*r),
                    _ => None,
                });
                let Some(relayed) = relayed else {
                    let what = "no XOR-RELAYED-ADDRESS";
                    self.fail(TurnError::Protocol { server: self.config.server, request: "Allocate", what });
                    return;
                };
                let mapped = msg.find(|a| match a {
                    Attribute::XorMappedAddress(m) => Some(*m),
                    _ => None,
                });
                let lifetime = granted.clamp(MIN_LIFETIME, MAX_LIFETIME);
                self.allocation = Some(Allocation {
                    relayed,
                    mapped,
                    expires_at: now + lifetime,
                    refresh_at: now + refresh_delay(lifetime),
                });
                self.state = TurnState::Allocated;
                tracing::debug!(server = %self.config.server, %relayed, ?mapped, ?granted, "TURN: allocated");
                self.push_event(TurnEvent::Allocated { relayed, mapped });
            }
            Request::Refresh { lifetime: 0 } => {
                tracing::debug!(server = %self.config.server, "TURN: deallocated");
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            Request::Refresh { .. } => {
                let Some(a) = self.allocation.as_mut() else { return };
                let lifetime = granted.clamp(MIN_LIFETIME, MAX_LIFETIME);
                a.expires_at = now + lifetime;
                a.refresh_at = now + refresh_delay(lifetime);
                tracing::debug!(server = %self.config.server, ?granted, "TURN: refreshed");
                self.push_event(TurnEvent::Refreshed { lifetime: granted });
            }
            Request::CreatePermission { peer } => {
                let Some(p) = self.permissions.get_mut(&peer) else { return };
                let first = p.installed_until.is_none();
                Self::install_permission(p, now);
                if first {
                    tracing::debug!(%peer, "TURN: permission installed");
                    self.push_event(TurnEvent::PermissionCreated(peer));
                }
            }
            Request::ChannelBind { peer, channel } => {
                let Some(c) = self.channels.get_mut(&peer) else { return };
                if c.number != channel {
                    return;
                }
                let first = c.bound_until.is_none();
                c.pending = false;
                c.used = false;
                c.bound_until = Some(now + CHANNEL_LIFETIME);
                c.rebind_at = Some(now + CHANNEL_REFRESH);
                let p = self.permissions.entry(peer.ip()).or_default();
                let first_permission = p.installed_until.is_none();
                if p.installed_until.is_none_or(|t| t < now + PERMISSION_LIFETIME) {
                    let pending = p.pending;
                    Self::install_permission(p, now);
                    p.pending = pending;
                }
                if first_permission {
                    self.push_event(TurnEvent::PermissionCreated(peer.ip()));
                }
                if first {
                    tracing::debug!(%peer, channel, "TURN: channel bound");
                    self.push_event(TurnEvent::ChannelBound { peer, channel });
                }
            }
        }
    }

    pub(super) fn on_error(&mut self, now: Instant, tx: Transaction, msg: &Message<'_>, code: Option<(u16, &str)>) {
        let server = self.config.server;
        let Some((code, reason)) = code else {
            let what = "error response without ERROR-CODE";
            self.on_request_failed(now, tx.request, TurnError::Protocol { server, request: tx.request.name(), what });
            return;
        };
        let realm = msg.find(|a| match a {
            Attribute::Realm(r) => Some(*r),
            _ => None,
        });
        let nonce = msg.find(|a| match a {
            Attribute::Nonce(n) => Some(*n),
            _ => None,
        });
        match code {
            401 if !tx.authenticated && self.auth.is_none() => {
                let (Some(realm), Some(nonce)) = (realm, nonce) else {
                    let what = "401 without REALM and NONCE";
                    self.on_request_failed(
                        now,
                        tx.request,
                        TurnError::Protocol { server, request: tx.request.name(), what },
                    );
                    return;
                };
                tracing::debug!(%server, realm, "TURN: authenticating");
                let key = IntegrityKey::long_term(&self.config.username, realm, &self.config.password);
                self.auth = Some(Auth { realm: realm.to_owned(), nonce: nonce.to_owned(), key });
                self.start_transaction(now, tx.request, tx.stale_retried);
            }
            401 if !tx.authenticated => {
                // Another request raced the first 401: send it again with the credentials.
                self.start_transaction(now, tx.request, tx.stale_retried);
            }
            438 if !tx.stale_retried && nonce.is_some() && self.auth.is_some() => {
                if let (Some(auth), Some(nonce)) = (self.auth.as_mut(), nonce) {
                    auth.nonce = nonce.to_owned();
                    if let Some(realm) = realm.filter(|r| *r != auth.realm) {
                        auth.key = IntegrityKey::long_term(&self.config.username, realm, &self.config.password);
                        auth.realm = realm.to_owned();
                    }
                }
                tracing::debug!(%server, request = tx.request.name(), "TURN: stale nonce, retrying");
                self.stats.stale_nonce_retries += 1;
                self.start_transaction(now, tx.request, true);
            }
            401 => {
                let error = TurnError::Unauthorized { server, username: self.config.username.clone() };
                self.on_request_failed(now, tx.request, error);
            }
            437 => self.on_request_failed(now, tx.request, TurnError::AllocationMismatch { server }),
            _ => {
                let error =
                    TurnError::ServerError { server, request: tx.request.name(), code, reason: reason.to_owned() };
                self.on_request_failed(now, tx.request, error);
            }
        }
    }

    /// A request failed for good (error response or timeout).
    pub(super) fn on_request_failed(&mut self, now: Instant, request: Request, error: TurnError) {
        match request {
            Request::Allocate => {
                if self.state == TurnState::Allocating {
                    self.fail(error);
                }
            }
            Request::Refresh { lifetime: 0 } => {
                tracing::debug!(server = %self.config.server, %error, "TURN: deallocation not confirmed; closed anyway");
                self.clear();
                self.state = TurnState::Closed;
                self.push_event(TurnEvent::Closed);
            }
            Request::Refresh { .. } => {
                if matches!(error, TurnError::Timeout { .. }) {
                    // Try again while the allocation lasts; upkeep fails it at expiry.
                    if let Some(a) = self.allocation.as_mut() {
                        a.refresh_at = now;
                    }
                } else {
                    self.fail(error);
                }
            }
            Request::CreatePermission { peer } => {
                tracing::debug!(%peer, %error, "TURN: CreatePermission failed");
                self.stats.permission_failures += 1;
                if let Some(p) = self.permissions.get_mut(&peer) {
                    p.pending = false;
                    p.refresh_at = None;
                }
                self.push_event(TurnEvent::PermissionFailed { peer, error });
            }
            Request::ChannelBind { peer, channel } => {
                tracing::debug!(%peer, channel, %error, "TURN: ChannelBind failed");
                self.stats.channel_bind_failures += 1;
                if let Some(c) = self.channels.get_mut(&peer) {
                    c.pending = false;
                    c.rebind_at = None;
                }
                self.push_event(TurnEvent::ChannelBindFailed { peer, error });
            }
        }
    }
}
