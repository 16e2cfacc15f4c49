//! The DTLS engines behind [`DtlsTransport`](crate::DtlsTransport).
//!
//! Everything engine-specific lives below this module, behind the small
//! [`Backend`] trait: [`dimpl`] (pure Rust, the default) and,
//! with the `openssl` feature, `openssl` (the system OpenSSL). The trait speaks
//! owned bytes and plain strings for errors; mapping to
//! [`DtlsError`](crate::DtlsError) happens in the transport.

use std::time::{Duration, Instant};

use crate::{Certificate, DtlsVersion, Engine, KeyType, Role};

mod dimpl;
#[cfg(feature = "openssl")]
mod openssl;
mod ring_gcm;

/// One output of the engine, owned.
#[derive(Debug)]
pub(crate) enum Output {
    /// A datagram to send.
    Transmit(Vec<u8>),
    /// Nothing more to do until this time; ends a poll round.
    Timeout(Instant),
    /// The peer's leaf certificate (DER), before `Connected` and before
    /// any datagram the engine produced after receiving it.
    PeerCert(Vec<u8>),
    /// The handshake completed.
    Connected,
    /// DTLS-SRTP keying material (RFC 5764 section 4.2, label
    /// `EXTRACTOR-dtls_srtp`, length 2 * (key + salt)) and the profile id.
    Keying { profile: u16, material: Vec<u8> },
    /// Application data from the peer.
    Data(Vec<u8>),
    /// The peer sent close_notify.
    CloseNotify,
}

/// What the transport needs from a DTLS engine. All errors are fatal.
pub(crate) trait Backend: Send {
    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), String>;
    fn handle_timeout(&mut self, now: Instant) -> Result<(), String>;
    fn send(&mut self, data: &[u8]) -> Result<(), String>;
    fn close(&mut self) -> Result<(), String>;
    /// The next output; a round of polling ends with [`Output::Timeout`].
    fn poll(&mut self) -> Output;
}

/// What the engine is built from.
pub(crate) struct BackendConfig<'a> {
    pub role: Role,
    pub version: DtlsVersion,
    pub certificate: &'a Certificate,
    pub mtu: usize,
    pub handshake_timeout: Duration,
    /// The SRTP profile ids to offer or accept, by preference. dimpl
    /// ignores it (it always offers its three); OpenSSL offers exactly these.
    #[cfg_attr(not(feature = "openssl"), allow(dead_code))]
    pub srtp_profiles: &'a [u16],
}

/// Builds the engine `engine` asks for ([`Engine::Auto`]: dimpl, unless
/// the local certificate is RSA, which only OpenSSL can use).
pub(crate) fn new(now: Instant, engine: Engine, config: BackendConfig<'_>) -> Result<Box<dyn Backend>, String> {
    let rsa = matches!(config.certificate.key_type(), KeyType::Rsa { .. });
    let use_openssl = match engine {
        Engine::OpenSsl => true,
        Engine::Dimpl if rsa => {
            return Err("the dimpl engine cannot use an RSA certificate; use Engine::OpenSsl (feature `openssl`) \
                        or an ECDSA P-256 certificate (Certificate::generate)"
                .into())
        }
        Engine::Dimpl => false,
        Engine::Auto => rsa,
    };
    if !use_openssl {
        return dimpl::Dimpl::new(now, config).map(|d| Box::new(d) as Box<dyn Backend>);
    }
    #[cfg(feature = "openssl")]
    {
        openssl::OpenSsl::new(now, config).map(|d| Box::new(d) as Box<dyn Backend>)
    }
    #[cfg(not(feature = "openssl"))]
    {
        let why = if rsa {
            "the local certificate is RSA, which only the OpenSSL engine can use"
        } else {
            "Engine::OpenSsl was chosen"
        };
        Err(format!(
            "{why}, but oxrtc-dtls was built without its `openssl` feature; enable it \
             (oxrtc-dtls = {{ features = [\"openssl\"] }}) or use an ECDSA P-256 certificate with Engine::Dimpl"
        ))
    }
}
