//! # ICE, sans-IO
//!
//! ICE (Interactive Connectivity Establishment, RFC 8445) finds a working
//! path between two peers that may sit behind NATs and firewalls. Each side
//! gathers *candidates* (addresses it might be reached at: its interfaces,
//! its public address as a STUN server sees it, a relayed address on a TURN
//! server), tells the peer about them over signaling, and both sides send
//! authenticated STUN *connectivity checks* on every candidate pair. The
//! *controlling* side then nominates one working pair, and data flows on it.
//! While connected, *consent* checks (RFC 7675) keep verifying the peer
//! still wants our traffic.
//!
//! [`IceAgent`] does all of that as a state machine: it never opens a
//! socket, reads a clock or spawns a task. Its owner (a driver) binds the
//! sockets, passes every datagram and the current time in, and sends what
//! the agent hands back.
//!
//! ```
//! use std::time::Instant;
//! use ice::{IceAgent, IceConfig, IceEvent, Received};
//!
//! let now = Instant::now();
//! let mut agent = IceAgent::new(IceConfig::default(), true);
//! // The driver bound a UDP socket on 127.0.0.1:50000.
//! let socket = "127.0.0.1:50000".parse().unwrap();
//! agent.start_gathering(now, &[socket]);
//! // Candidates and credentials go to the peer over signaling...
//! while let Some(event) = agent.poll_event() {
//!     if let IceEvent::LocalCandidate(c) = event {
//!         println!("a={}", c.to_sdp());
//!     }
//! }
//! // ... and the peer's come back.
//! agent.set_remote_credentials(now, "peerufrag", "peer-password-0123456789");
//! agent.add_remote_candidate(now, ice::Candidate::parse(
//!     "candidate:1 1 udp 2130706431 127.0.0.1 50001 typ host").unwrap());
//!
//! // The loop: drain output after every input, sleep until poll_timeout.
//! agent.handle_timeout(now);
//! while let Some(t) = agent.poll_transmit(now) {
//!     // socket.send_to(&t.data, t.to)
//!     assert_eq!(t.from, socket);
//! }
//! // On a datagram: match agent.handle_receive(now, socket, from, &buf) {
//! //     Received::Data(d) => /* DTLS, SRTP... */, _ => {} }
//! let _deadline = agent.poll_timeout();
//! # let _ = Received::Handled;
//! ```
//!
//! ## The contract
//! - Call [`IceAgent::handle_receive`] for every datagram on any socket
//!   given to [`IceAgent::start_gathering`], and
//!   [`IceAgent::handle_timeout`] when [`IceAgent::poll_timeout`] is due.
//! - After each call, drain [`IceAgent::poll_transmit`] and
//!   [`IceAgent::poll_event`].
//! - Application data goes out through [`IceAgent::send`] and comes back
//!   as [`Received::Data`]; TURN framing is added and removed here.
//! - TURN servers over TCP or TLS ([`TurnTransport`]): open one connection
//!   per entry of [`IceAgent::turn_streams`] after `start_gathering`, write
//!   every [`Transmit`] whose `transport` is a stream to the connection to
//!   its `to` (each is one whole frame; `from` is only the local IP, port
//!   0), cut what the server sends with [`stun::frame_len`] and give each
//!   frame to [`IceAgent::handle_stream_frame`]. A connection that cannot
//!   be opened or breaks goes to [`IceAgent::turn_stream_failed`].
//!
//! ## Design decisions
//! - One component, one data stream: WebRTC bundles everything on one
//!   rtcp-muxed transport. There is no freezing across streams; pairs start
//!   Waiting and are paced by Ta (50 ms).
//! - Full trickle: host candidates are emitted by `start_gathering`
//!   itself; server-reflexive and relayed ones as servers answer. Checks
//!   start the moment a remote candidate arrives. A dead server only delays
//!   [`IceEvent::GatheringComplete`].
//! - Regular nomination when controlling (nominate the best valid pair once
//!   nothing better can still succeed, or after `nomination_wait`);
//!   aggressive nomination from the peer is accepted.
//! - Consent checks every second on the selected pair; nothing heard for 5 s
//!   is `disconnected`, no consent answer for 30 s is `failed` and stops
//!   sending (both configurable).
//! - ICE restart keeps data on the old pair until a new one is selected.
//! - A UDP TURN server gets one allocation per host socket; a TCP/TLS one
//!   gets a single allocation, identified by (server, transport), on the
//!   first host IP of its family. Its requests are sent once (no
//!   retransmission on a reliable stream) and ChannelData is padded.
//! - Bad input is dropped and counted in [`IceStats`]; remote candidates
//!   and pairs are capped ([`IceConfig::max_remote_candidates`],
//!   [`IceConfig::max_pairs`]); at the cap, failed peer-reflexive
//!   candidates make room for new ones.
//! - mDNS `.local` remote candidates are resolved by the driver
//!   ([`Candidate::parse_unresolved`]) with the wire codec in [`mdns`];
//!   ICE-TCP candidates are parsed but not paired yet.

#![deny(missing_docs)]

mod agent;
mod candidate;
mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod mdns;
mod transmit;
pub mod turn;
mod types;

pub use agent::{Credentials, IceAgent};
pub use candidate::{foundation, pair_priority, priority, Candidate, CandidateKind, CandidateParseError, Protocol};
pub use config::{IceConfig, TransportPolicy, TurnServer, TurnTransport};
pub use transmit::Transmit;
pub use types::{GatheringState, IceError, IceEvent, IceStats, IceTransportState, Received};
