//! # SRTP and SRTCP, sans-IO
//!
//! SRTP (Secure RTP, RFC 3711) encrypts the payload of RTP packets and
//! authenticates the whole packet; SRTCP does the same for RTCP. WebRTC keys
//! both from a DTLS handshake (DTLS-SRTP, RFC 5764), which also picks the
//! *protection profile*: AES-CM with an HMAC-SHA1 tag (RFC 3711) or
//! AEAD AES-GCM (RFC 7714).
//!
//! This crate is pure functions on buffers: no socket, no clock, no RNG.
//! It offers
//! - [`Profile`]: the four DTLS-SRTP profiles with their ids and lengths;
//! - [`SrtpContext`]: one direction of a session, built from the master key
//!   and salt, with [`protect_rtp`](SrtpContext::protect_rtp),
//!   [`unprotect_rtp`](SrtpContext::unprotect_rtp),
//!   [`protect_rtcp`](SrtpContext::protect_rtcp) and
//!   [`unprotect_rtcp`](SrtpContext::unprotect_rtcp);
//! - [`derive`](fn@derive) (RFC 3711 section 4.3 key derivation), [`RtpHeader`],
//!   [`ReplayWindow`] and [`estimate_index`] for those who need the parts.
//!
//! ```
//! use srtp::{Config, Profile, SrtpContext, SrtpError};
//!
//! let (key, salt) = ([7u8; 16], [9u8; 12]);
//! let mut sender = SrtpContext::new(Profile::AeadAes128Gcm, &key, &salt, Config::default())?;
//! let mut receiver = SrtpContext::new(Profile::AeadAes128Gcm, &key, &salt, Config::default())?;
//!
//! // V=2, PT=96, seq 1, timestamp 0, SSRC 0x11223344, then the payload.
//! let rtp = [0x80, 96, 0, 1, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, b'h', b'i'];
//! let (mut srtp, mut back) = (Vec::new(), Vec::new());
//! sender.protect_rtp(&rtp, &mut srtp)?;
//! assert_eq!(srtp.len(), rtp.len() + 16); // the GCM tag
//! receiver.unprotect_rtp(&srtp, &mut back)?;
//! assert_eq!(back, rtp);
//!
//! // The same packet again is a replay: drop it and count it.
//! assert_eq!(receiver.unprotect_rtp(&srtp, &mut back), Err(SrtpError::Replayed));
//! # Ok::<(), SrtpError>(())
//! ```
//!
//! ## Design decisions
//! - One [`SrtpContext`] per direction: protect with your keys, unprotect
//!   with the peer's. A context tracks each SSRC (rollover counter, SRTCP
//!   index, replay windows) up to [`Config::max_ssrcs`], so a peer cannot
//!   make it grow without bound.
//! - Every error of `unprotect_*` is *noise*: drop the packet, count it,
//!   carry on. No error is fatal, none panics, and a packet that fails
//!   changes no state: rollover counters and replay windows move only after
//!   the tag verified.
//! - Keys are derived and expanded once per context (AES schedules, HMAC
//!   state, GCM keys); per packet only copies of that state are made.
//! - The key derivation rate is 0 and MKIs are not supported: DTLS-SRTP
//!   uses neither.
//! - The SRTCP tag is 80 bits for both AES-CM profiles (RFC 5764 section
//!   4.1.2), and SRTCP is always sent encrypted.
//! - Output goes into a `Vec` the caller lends and reuses, so a steady
//!   stream of packets allocates nothing.
//! - The sender also keeps a replay window, so it refuses to encrypt two
//!   packets under one index (keystream reuse) unless
//!   [`Config::allow_repeat_tx`] says the repeats are retransmissions.

#![deny(missing_docs)]

mod cipher;
mod context;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod header;
mod kdf;
mod profile;
mod replay;
#[cfg(test)]
mod rfc7714_tests;

pub use cipher::aes_cm_apply;
pub use context::{estimate_index, Config, SrtpContext};
pub use error::SrtpError;
pub use header::{rtcp_sender_ssrc, RtpHeader};
pub use kdf::{derive, Label};
pub use profile::Profile;
pub use replay::{ReplayWindow, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW};
