//! # SCTP for WebRTC data channels, sans-IO
//!
//! WebRTC data channels are SCTP (RFC 9260) streams carried inside DTLS records
//! (RFC 8261): each DTLS application-data record holds exactly one SCTP packet, so there
//! are no IP addresses, no multi-homing and no SCTP-level port demultiplexing beyond the
//! `a=sctp-port` pair. One association carries up to 65535 streams; each data channel is one
//! stream id, reliable or partially reliable (RFC 3758), ordered or not, and is closed by
//! resetting its stream (RFC 6525). The DCEP handshake (RFC 8832) and the PPIDs for strings,
//! binary and empty messages are the caller's business.
//!
//! This crate is a state machine: bytes and time in; packets, events and the next timeout
//! out. It offers
//! - [`Association`] with [`SctpConfig`]: handshake with a stateless signed cookie, INIT
//!   collisions, data transfer with fragmentation and bundling, SACKs with gap blocks,
//!   RTO (RFC 6298), fast retransmit, congestion control, flow control, heartbeats,
//!   partial reliability, stream reset, I-DATA interleaving (RFC 8260), zero checksum
//!   (RFC 9653), shutdown and abort;
//! - the wire format in [`chunk`] (one chunk type per file) and [`Packet`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use sctp::{Association, SctpConfig, SctpEvent, SendParams};
//!
//! let mut now = Instant::now(); // the caller owns the clock
//! let mut a = Association::new(now, SctpConfig { seed: 1, ..SctpConfig::default() });
//! let mut b = Association::new(now, SctpConfig { seed: 2, ..SctpConfig::default() });
//! a.connect(now); // in WebRTC both sides may call connect
//! a.send(now, 1, 51, Bytes::from_static(b"hello"), SendParams::default())?;
//!
//! // The loop every caller runs: after any input, drain transmits and events, then sleep
//! // until the earliest poll_timeout. Here each packet would go into a DTLS record.
//! let mut got = None;
//! while got.is_none() {
//!     while let Some(p) = a.poll_transmit(now) { b.handle_receive(now, &p); }
//!     while let Some(p) = b.poll_transmit(now) { a.handle_receive(now, &p); }
//!     while let Some(e) = b.poll_event() {
//!         if let SctpEvent::Message { stream, ppid, data } = e { got = Some((stream, ppid, data)); }
//!     }
//!     while a.poll_event().is_some() {}
//!     now += Duration::from_millis(10);
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(got, Some((1, 51, Bytes::from_static(b"hello"))));
//! # Ok::<(), sctp::SendError>(())
//! ```
//!
//! ## The contract
//! - Time is always an argument; the crate never reads a clock, opens a socket or spawns.
//!   Pass the same monotonic clock to every call.
//! - After every call that takes input (`connect`, `handle_receive`, `handle_timeout`,
//!   `send`, `reset_streams`, `shutdown`, `abort`), drain
//!   [`poll_transmit`](Association::poll_transmit) and [`poll_event`](Association::poll_event),
//!   then re-read [`poll_timeout`](Association::poll_timeout).
//! - [`SctpEvent::Closed`] and [`SctpEvent::Aborted`] are final: make a new association.
//!   An association aborts when the peer aborts, when it is unreachable
//!   ([`SctpConfig::max_retransmits`] timeouts in a row, or no answer to INIT), and when the
//!   peer violates the protocol in a way we cannot skip over (a message larger than
//!   [`SctpConfig::max_message_size`], I-DATA without negotiation or DATA after it). An
//!   association that ended answers a peer still talking to it with ABORT (or
//!   SHUTDOWN-COMPLETE), so that the peer ends too.
//! - Network noise (bad checksums, malformed chunks, wrong verification tags, duplicates,
//!   TSNs far outside the window, data beyond the receive window, stale cookies, INIT
//!   floods) is dropped inside, counted in [`Stats`], and never surfaces.
//! - [`SendError`]s are never fatal: nothing was queued, the association carries on.
//!
//! ## Design decisions
//! - **Stateless listener.** Answering an INIT allocates nothing: all the state is in an
//!   HMAC-SHA256-signed cookie (key set up once per association) with a lifetime. Answers
//!   wait in a queue of at most 16; more are dropped and counted.
//! - **INIT collision** (both peers connect, as Chromium and Firefox do) follows RFC 9260
//!   5.2.1 and 5.2.4 cases B and D. Association restart (5.2.2, case A) is not supported:
//!   WebRTC never restarts; an INIT to an established association is dropped.
//! - **Memory is bounded everywhere**: send queues by [`SctpConfig::send_buffer_limit`]
//!   (back-pressure via [`SendError::BufferFull`] and [`SctpEvent::BufferedAmountLow`]),
//!   reassembly and reordering by [`SctpConfig::receive_window`], outstanding data by the
//!   windows, control answers by small fixed caps.
//! - **Zero copy for user data**: messages are [`bytes::Bytes`]; fragments are slices of
//!   them and, with [`Association::handle_receive_bytes`], received payloads are slices of
//!   the received packet. A multi-fragment message is copied once, when it is reassembled;
//!   a message that fits a packet is never split just to fill the current one.
//! - **Scheduling**: streams take turns (round robin). With DATA a message's fragments
//!   must have consecutive TSNs, so turns are per message; with I-DATA (both peers set
//!   [`SctpConfig::interleaving`]) turns are per chunk and a large message on one stream
//!   does not hold back the others.
//! - **Congestion control** is RFC 9260 section 7 (slow start, congestion avoidance, fast
//!   retransmit after 3 miss indications, fast recovery) with an initial window of
//!   [`SctpConfig::initial_cwnd_packets`] and an RTO floor of [`SctpConfig::rto_min`]
//!   (200 ms by default, as WebRTC stacks use, instead of RFC 9260's 1 s).
//! - **Zero checksum** (RFC 9653, DTLS as the alternate method) is used when both peers
//!   offer it; packets with INIT or COOKIE-ECHO and out-of-the-blue answers always carry a
//!   CRC32c, and a correct CRC32c is always accepted.
//! - Stream reset supports the Outgoing SSN Reset Request (what data channels use), with
//!   deferred processing when the request is ahead of the data; other requests (incoming,
//!   SSN/TSN reset, add streams) are denied. A request answered "in progress" is repeated
//!   with the same sequence number; a peer re-asking with a new one after "in progress" gets
//!   "performed" without a second reset event.
//! - The CRC32c is stored little-endian (checked against an independent vector).
//! - Each association logs inside its own `tracing` span (`sctp`, with port and seed).
//!
//! ## Not implemented
//! Association restart (RFC 9260 5.2.2 case A), multi-homing and address parameters
//! (meaningless over DTLS), AUTH (RFC 4895), ECN, the SSN/TSN reset and add-streams requests,
//! stream schedulers other than round robin, and PLPMTUD (the caller sets the MTU).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod association;
pub mod chunk;
mod cookie;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod packet;

pub use association::{Association, SctpConfig, SctpEvent, SendParams, Stats, STALL_LIMIT};
pub use error::{ParseError, SendError};
pub use packet::{checksum, CommonHeader, Packet, HEADER_LEN};
