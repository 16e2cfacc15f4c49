//! # WebRTC data channels, sans-IO
//!
//! A WebRTC data channel (RFC 8831) is an SCTP stream pair with a label,
//! a subprotocol and a reliability mode. Channels are opened in band with
//! the Data Channel Establishment Protocol (DCEP, RFC 8832: an OPEN on the
//! new stream, answered by an ACK) or negotiated out of band by both
//! applications agreeing on an id. Messages are SCTP user messages whose
//! payload protocol identifier (PPID) says string or binary; empty messages
//! travel as one 0 byte with an "empty" PPID. Closing a channel resets its
//! streams (RFC 6525); the id can then be used again.
//!
//! This crate is that layer over an [`sctp::Association`]:
//! - [`dcep`]: the OPEN and ACK wire format;
//! - [`DataChannels`]: channel ids by DTLS role parity (client even, server
//!   odd), DCEP, the six reliability types, string/binary/empty PPIDs,
//!   buffered amounts and their low-threshold events, closing by stream
//!   reset.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use datachannel::{ChannelEvent, ChannelInit, DataChannelEvent, DataChannels};
//! use sctp::{Association, SctpConfig};
//!
//! let mut now = Instant::now(); // the caller owns the clock
//! let config = |seed| SctpConfig { seed, ..SctpConfig::default() };
//! // The DTLS client takes even ids, the server odd ones.
//! let mut client = DataChannels::new(Association::new(now, config(1)), true);
//! let mut server = DataChannels::new(Association::new(now, config(2)), false);
//! client.connect(now);
//! let id = client.create(now, ChannelInit::new("chat")).unwrap();
//!
//! // The loop every caller runs: move packets (over DTLS in real life),
//! // read events, sleep until the earliest poll_timeout.
//! let mut got = None;
//! for _ in 0..100 {
//!     while let Some(p) = client.poll_transmit(now) { server.handle_receive(now, &p); }
//!     while let Some(p) = server.poll_transmit(now) { client.handle_receive(now, &p); }
//!     while let Some(e) = client.poll_event() {
//!         if e == DataChannelEvent::Channel(id, ChannelEvent::Open) {
//!             client.send(now, id, Bytes::from_static(b"hello"), false).unwrap();
//!         }
//!     }
//!     while let Some(e) = server.poll_event() {
//!         if let DataChannelEvent::Channel(_, ChannelEvent::Message { data, .. }) = e { got = Some(data); }
//!     }
//!     if got.is_some() { break; }
//!     now += Duration::from_millis(10);
//!     client.handle_timeout(now);
//!     server.handle_timeout(now);
//! }
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! ```
//!
//! ## Design decisions
//! - [`DataChannels`] owns the association so that a send is refused at
//!   once (too large for the peer, buffer full) rather than queued without
//!   bound.
//! - A channel we open is [`Open`](ChannelEvent::Open) as soon as its
//!   OPEN is sent (as browsers do); until the peer's ACK arrives its
//!   messages go ordered, so none overtakes the OPEN, even on an unordered
//!   channel (RFC 8832 section 6).
//! - Broken DCEP messages, OPENs for ids of our parity or in use, and
//!   messages on streams without a channel are dropped and counted in
//!   [`DataChannelStats`]; none is fatal.

#![deny(missing_docs)]

mod channels;
pub mod dcep;
#[doc(hidden)]
pub mod fuzzing;

pub use channels::{
    ppid, ChannelEvent, ChannelInfo, ChannelInit, ChannelLimits, DataChannelError, DataChannelEvent, DataChannelStats,
    DataChannels, ReadyState,
};
pub use dcep::{DcepError, Reliability};
