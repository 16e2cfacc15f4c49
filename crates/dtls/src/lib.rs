//! # DTLS for WebRTC, sans-IO
//!
//! WebRTC secures every peer connection with DTLS (TLS over datagrams,
//! RFC 6347 for 1.2, RFC 9147 for 1.3). Both peers use self-signed
//! certificates; what authenticates them is the certificate *fingerprint*
//! each one put in its SDP (`a=fingerprint:sha-256 AB:CD:...`, RFC 8122).
//! The handshake also negotiates an SRTP protection profile and exports
//! the SRTP master keys (DTLS-SRTP, RFC 5764), and afterwards carries SCTP
//! (data channels) as application data.
//!
//! This crate is a state machine: bytes and time in; datagrams, events and
//! the next timeout out. It offers
//! - [`Certificate`]: generate an ECDSA P-256 (or, with the `openssl`
//!   feature, RSA) self-signed certificate with [`CertificateOptions`]
//!   (validity, common name), load or save it as PEM, compute its
//!   [`fingerprint`](Certificate::fingerprint);
//! - [`Fingerprint`] and [`Algorithm`]: parse and check `a=fingerprint`
//!   values (sha-1, sha-256, sha-384, sha-512);
//! - [`DtlsTransport`] with [`DtlsConfig`]: the handshake, the fingerprint
//!   check, SRTP keys split into local and remote ([`SrtpKeys`]),
//!   application data and close_notify, on one of two engines ([`Engine`]).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use dtls::{Algorithm, Certificate, DtlsConfig, DtlsEvent, DtlsTransport, Fingerprint, Role};
//!
//! let (a_cert, b_cert) = (Certificate::generate()?, Certificate::generate()?);
//! // Each side learns the other's fingerprint from the remote description.
//! let fp = |c: &Certificate| Fingerprint::of_der(Algorithm::Sha256, c.der());
//! let a_cfg = DtlsConfig::new(Role::Client, a_cert.clone(), vec![fp(&b_cert)]);
//! let b_cfg = DtlsConfig::new(Role::Server, b_cert.clone(), vec![fp(&a_cert)]);
//!
//! let mut now = Instant::now(); // the caller owns the clock
//! let mut a = DtlsTransport::new(now, a_cfg)?;
//! let mut b = DtlsTransport::new(now, b_cfg)?;
//!
//! // The loop every caller runs: after any input, drain transmits and
//! // events, then sleep until the earliest poll_timeout.
//! let (mut a_up, mut b_up) = (false, false);
//! while !(a_up && b_up) {
//!     while let Some(d) = a.poll_transmit(now) { b.handle_receive(now, &d); }
//!     while let Some(d) = b.poll_transmit(now) { a.handle_receive(now, &d); }
//!     while let Some(e) = a.poll_event() { a_up |= matches!(e, DtlsEvent::Connected { .. }); }
//!     while let Some(e) = b.poll_event() { b_up |= matches!(e, DtlsEvent::Connected { .. }); }
//!     now += Duration::from_millis(10);
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! a.send(b"hello")?;
//! while let Some(d) = a.poll_transmit(now) { b.handle_receive(now, &d); }
//! assert_eq!(b.poll_event(), Some(DtlsEvent::Data(b"hello".to_vec())));
//! # Ok::<(), dtls::DtlsError>(())
//! ```
//!
//! ## The contract
//! - Time is always an argument; the crate never reads a clock, opens a
//!   socket or spawns. Pass the same monotonic clock to every call.
//! - After every call that takes input (`new`, `handle_receive`,
//!   `handle_timeout`, `send`, `close`), drain [`poll_transmit`](DtlsTransport::poll_transmit)
//!   and [`poll_event`](DtlsTransport::poll_event), then re-read
//!   [`poll_timeout`](DtlsTransport::poll_timeout).
//! - [`DtlsEvent::Failed`] and [`DtlsEvent::Closed`] are final. Every
//!   [`DtlsError`] in `Failed` is fatal; make a new transport. Network noise
//!   (garbage, duplicates, replays, records of an old epoch) is dropped
//!   inside and never surfaces.
//!
//! ## Design decisions
//! - Two engines behind a small internal `Backend` trait (module
//!   `backend`); no engine type appears in this API, and both give the
//!   same events in the same order. [`Engine::Auto`] (the default) picks:
//!   - [dimpl](https://docs.rs/dimpl) 0.9 with its pure-Rust `rust-crypto`
//!     provider, except DTLS 1.2 record protection (AES-GCM), which runs on
//!     ring (already used for certificates; about 10% less CPU per data
//!     channel byte): DTLS 1.2 and 1.3, ECDSA certificates only (ours and
//!     the peer's), timers on the caller's clock;
//!   - OpenSSL (cargo feature `openssl`, the system OpenSSL 3 through the
//!     `openssl` crate, over an in-memory stream): DTLS 1.2 only, ECDSA
//!     *and RSA* certificates, every SRTP profile. `Auto` uses it when the
//!     local certificate is RSA; choose [`Engine::OpenSsl`] to accept
//!     peers with RSA certificates. Its retransmission timer runs on
//!     OpenSSL's own wall clock (it cannot take ours): fine in real time,
//!     but on a simulated clock lost flights come back late, so the
//!     netsim tests run on dimpl. It screens out noise that OpenSSL 3.0
//!     would otherwise treat as fatal (see the module doc of
//!     `backend::openssl`).
//! - Certificates: ECDSA P-256 by default ([`Certificate::generate`]);
//!   RSA 2048 to 4096 bits via [`Certificate::generate_with`] with the
//!   `openssl` feature (its key generation is fast; without the feature
//!   it is an error that says so). Keys are PKCS#8 and certificates are
//!   signed by rcgen. Validity is what the caller passes
//!   ([`CertificateOptions::validity`]); the crate never reads the clock,
//!   so the default is 1975 to 4096.
//! - We check the peer's certificate ourselves, hashing its DER with each
//!   configured fingerprint's algorithm. On a mismatch the transport fails
//!   at once: it sends nothing more (not even its Finished) and delivers
//!   no application data. There is no PKI validation: WebRTC has none.
//! - The handshake deadline ([`DtlsConfig::handshake_timeout`]) counts
//!   from [`DtlsTransport::new`], also for a server still waiting for a
//!   ClientHello; it ends with [`DtlsError::HandshakeTimeout`].
//! - SRTP keys are the RFC 5764 section 4.2 export (label
//!   `EXTRACTOR-dtls_srtp`, 2 * (key + salt) bytes), split into client and
//!   server halves and handed out as local/remote by role, ready for
//!   `oxrtc-srtp` (`Profile::from_id`).
//! - dimpl always offers AEAD_AES_256_GCM (0x0008), AEAD_AES_128_GCM
//!   (0x0007) and AES128_CM_HMAC_SHA1_80 (0x0001); it cannot offer
//!   AES128_CM_HMAC_SHA1_32 (0x0002). OpenSSL offers exactly
//!   [`DtlsConfig::srtp_profiles`], in order, 0x0002 included. With either
//!   engine the list is enforced after negotiation: a profile outside it
//!   fails the transport.
//! - [`DtlsEvent::Connected`] comes before any [`DtlsEvent::Data`], and
//!   data is only ever delivered from a peer whose fingerprint matched.

#![deny(missing_docs)]

mod backend;
mod certificate;
mod error;
mod fingerprint;
mod transport;

pub use certificate::{Certificate, CertificateOptions, KeyType};
pub use error::DtlsError;
pub use fingerprint::{Algorithm, Fingerprint};
pub use transport::{DtlsConfig, DtlsEvent, DtlsTransport, DtlsVersion, Engine, Role, SrtpKeys, DEFAULT_SRTP_PROFILES};
