//! # STUN and TURN wire formats, sans-IO
//!
//! STUN (Session Traversal Utilities for NAT, RFC 8489) is the small
//! request/response protocol under ICE: a *Binding* request sent to a server
//! returns the address the request came from (a server-reflexive address),
//! and the same request sent to a peer, authenticated with the peer's ICE
//! password, is an ICE connectivity check. TURN (RFC 8656) adds methods to
//! allocate a relayed address on a server and to move data through it, plus
//! the compact ChannelData framing.
//!
//! This crate is the codec and nothing more: it never touches a socket or a
//! clock. It offers
//! - [`Message`]: decode a datagram ([`Message::decode`]), read its
//!   [`Attribute`]s, verify its integrity ([`Message::verify_integrity`]),
//!   build and [`encode`](Message::encode) one with MESSAGE-INTEGRITY (or
//!   -SHA256) and FINGERPRINT;
//! - [`IntegrityKey`]: short-term (ICE) and long-term (TURN) credentials,
//!   keyed once and reused for every message;
//! - [`ChannelData`] and [`frame_len`] for TURN data and stream framing;
//! - [`RetransmitTimer`]: the client transaction timer (RTO, Rc, Rm) driven
//!   by the caller's clock;
//! - [`classify`]: RFC 7983 demultiplexing of a WebRTC flow by first byte
//!   (STUN, DTLS, TURN ChannelData, SRTP, SRTCP).
//!
//! ```
//! use stun::{Attribute, Class, IntegrityKey, Message, Method, TransactionId};
//!
//! // An ICE connectivity check, authenticated with the peer's password.
//! let key = IntegrityKey::short_term("peer-password-of-22ch");
//! let request = Message::new(Class::Request, Method::BINDING, TransactionId([7; 12]))
//!     .with(Attribute::Username("peerufrag:myufrag"))
//!     .with(Attribute::Priority(0x6e0001ff))
//!     .with(Attribute::IceControlling(42));
//! let wire = request.to_bytes(Some(&key), true);
//!
//! // The receiver decodes (FINGERPRINT is checked here) and verifies.
//! let got = Message::decode(&wire).unwrap();
//! got.verify_integrity(&wire, &key).unwrap();
//! assert_eq!(got.find(|a| match a { Attribute::Username(u) => Some(*u), _ => None }),
//!            Some("peerufrag:myufrag"));
//! ```
//!
//! ## Design decisions
//! - Decoding borrows: string and byte attributes point into the datagram,
//!   so a decode allocates only the attribute list.
//! - Every decoding failure is a [`StunError`], never a panic; all of them
//!   are noise to drop and count, none is fatal to the caller.
//! - The decoder keeps comprehension-optional attributes it does not know as
//!   [`Attribute::Unknown`] and lists unknown comprehension-required ones in
//!   [`Message::unknown_required`], so a server can answer 420
//!   ([`Message::error_response`]).
//! - Messages are capped at [`MAX_ATTRIBUTES`] attributes to bound the work
//!   a hostile peer can cause.
//! - MACs are compared in constant time; HMAC contexts are built once per
//!   credential ([`IntegrityKey`]).
//! - Only RFC 5389+ messages (with the magic cookie) are accepted; RFC 3489
//!   messages are not STUN to this crate.

#![deny(missing_docs)]

mod attribute;
mod channel_data;
mod demux;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod integrity;
mod message;
mod retransmit;

pub use attribute::{kind, AddressFamily, Attribute, PROTOCOL_UDP};
pub use channel_data::{ChannelData, MAX_CHANNEL, MIN_CHANNEL};
pub use demux::{classify, PacketKind};
pub use error::StunError;
pub use integrity::IntegrityKey;
pub use message::{
    frame_len, is_stun, Class, Message, Method, TransactionId, HEADER_LEN, MAGIC_COOKIE, MAX_ATTRIBUTES,
};
pub use retransmit::{RetransmitConfig, RetransmitTimer, TimerAction};
