//! Application data through the relay: Send and Data indications,
//! ChannelData (padded to 4 bytes over a stream).

use std::net::SocketAddr;
use std::time::Instant;

use rand::Rng;
use stun::{Attribute, ChannelData, Class, Message, Method, TransactionId};

use crate::Transmit;

use super::{TurnClient, TurnState, MAX_PAYLOAD};

impl TurnClient {
    /// Handles a datagram that arrived on [`TurnConfig::local`](super::TurnConfig::local) from the
    /// server. STUN responses are consumed (`None`); a Data indication or
    /// ChannelData yields the peer and its data, borrowed from `data`.
    /// Anything else is dropped and counted.
    pub fn handle_receive<'a>(&mut self, now: Instant, data: &'a [u8]) -> Option<(SocketAddr, &'a [u8])> {
        if matches!(self.state, TurnState::Failed | TurnState::Closed) {
            self.stats.dropped += 1;
            return None;
        }
        if ChannelData::is_channel_data(data) {
            let Ok(cd) = ChannelData::decode(data) else {
                self.stats.dropped += 1;
                return None;
            };
            let Some(&peer) = self.channel_peers.get(&cd.channel) else {
                self.stats.unknown_channels += 1;
                return None;
            };
            self.mark_used(peer);
            return Some((peer, cd.data));
        }
        let msg = match Message::decode(data) {
            Ok(msg) => msg,
            Err(e) => {
                tracing::trace!(server = %self.config.server, error = %e, "TURN: dropping datagram");
                self.stats.dropped += 1;
                return None;
            }
        };
        match msg.class {
            Class::Indication if msg.method == Method::DATA => {
                let peer = msg.find(|a| match a {
                    Attribute::XorPeerAddress(p) => Some(*p),
                    _ => None,
                });
                let payload = msg.find(|a| match a {
                    Attribute::Data(d) => Some(*d),
                    _ => None,
                });
                match (peer, payload) {
                    (Some(peer), Some(payload)) => {
                        self.mark_used(peer);
                        Some((peer, payload))
                    }
                    _ => {
                        self.stats.dropped += 1;
                        None
                    }
                }
            }
            Class::Success | Class::Error => {
                self.on_response(now, &msg, data);
                None
            }
            _ => {
                self.stats.dropped += 1;
                None
            }
        }
    }

    /// Wraps `data` for `peer`: ChannelData when a channel is bound, else a
    /// Send indication. `None` (counted in [`TurnStats`](super::TurnStats)) when there is no
    /// allocation, no installed permission for the peer's IP, or `data` is
    /// larger than [`MAX_PAYLOAD`].
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8]) -> Option<Transmit> {
        if self.state != TurnState::Allocated {
            self.stats.sends_without_allocation += 1;
            return None;
        }
        if data.len() > MAX_PAYLOAD {
            self.stats.oversized_sends += 1;
            return None;
        }
        match self.permissions.get_mut(&peer.ip()) {
            Some(p) if p.installed_until.is_some() => p.used = true,
            _ => {
                self.stats.sends_without_permission += 1;
                return None;
            }
        }
        let mut out = Vec::with_capacity(data.len() + 40);
        match self.channels.get_mut(&peer) {
            Some(c) if c.bound_until.is_some() => {
                c.used = true;
                ChannelData { channel: c.number, data }.encode(&mut out, self.config.transport.is_stream());
            }
            _ => {
                let id = TransactionId(self.rng.gen());
                Message::new(Class::Indication, Method::SEND, id)
                    .with(Attribute::XorPeerAddress(peer))
                    .with(Attribute::Data(data))
                    .encode(&mut out, None, false);
            }
        }
        Some(Transmit { from: self.config.local, to: self.config.server, data: out, transport: self.config.transport })
    }
}
