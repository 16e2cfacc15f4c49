//! The one error type of this crate.

use std::time::Duration;

use crate::fingerprint::Algorithm;

/// What went wrong. Every error that reaches [`DtlsEvent::Failed`] is
/// fatal: drop the transport (and start a new handshake if you still want
/// a connection). Network noise (garbage, replays, duplicates) never
/// becomes an error; it is dropped inside the engine.
///
/// [`DtlsEvent::Failed`]: crate::DtlsEvent::Failed
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtlsError {
    /// The peer's certificate hashes to none of the fingerprints the
    /// remote description carried. Nothing it sent is delivered.
    #[error(
        "remote DTLS certificate does not match the {algorithm} fingerprint in the remote \
         description; check that the SDP answer belongs to this peer and was not rewritten"
    )]
    FingerprintMismatch {
        /// The algorithm of the first fingerprint the remote description gave.
        algorithm: Algorithm,
    },
    /// [`DtlsConfig::remote_fingerprints`](crate::DtlsConfig::remote_fingerprints) was empty.
    #[error(
        "no remote DTLS fingerprint configured; take the a=fingerprint line from the remote \
         description (WebRTC requires one)"
    )]
    NoRemoteFingerprint,
    /// The handshake did not finish in time.
    #[error(
        "DTLS handshake did not complete within {after:?}; check that ICE is connected and the \
         peer runs DTLS with the opposite role"
    )]
    HandshakeTimeout {
        /// The configured [`DtlsConfig::handshake_timeout`](crate::DtlsConfig::handshake_timeout).
        after: Duration,
    },
    /// The peer chose an SRTP protection profile that is not in
    /// [`DtlsConfig::srtp_profiles`](crate::DtlsConfig::srtp_profiles).
    #[error(
        "peer negotiated SRTP profile {profile:#06x}, which is not in the configured \
         srtp_profiles; add it or remove the peer's offer of it"
    )]
    SrtpProfileNotAllowed {
        /// The negotiated profile id (RFC 5764 / RFC 7714 registry).
        profile: u16,
    },
    /// A configuration value the engine cannot use.
    #[error("invalid DTLS configuration: {0}")]
    InvalidConfig(String),
    /// A fingerprint string that is not `ALG AB:CD:..` with a known algorithm.
    #[error(
        "invalid fingerprint {0:?}; expected e.g. \"sha-256 AB:CD:...\" with sha-1, sha-256, \
         sha-384 or sha-512"
    )]
    InvalidFingerprint(String),
    /// Generating or loading a certificate failed.
    #[error("DTLS certificate: {0}")]
    Certificate(String),
    /// The DTLS engine gave up (bad handshake message, failed signature,
    /// alert from the peer, exhausted retransmissions).
    #[error("DTLS protocol error: {0}")]
    Protocol(String),
    /// [`send`](crate::DtlsTransport::send) before the handshake completed.
    #[error("DTLS is not connected yet; wait for DtlsEvent::Connected before sending")]
    NotConnected,
    /// The transport was closed or failed; make a new one.
    #[error("DTLS transport is closed or failed; create a new DtlsTransport")]
    Closed,
}
