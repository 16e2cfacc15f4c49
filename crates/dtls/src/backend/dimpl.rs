//! The default engine: [dimpl](https://docs.rs/dimpl), pure Rust
//! (`rust-crypto`), DTLS 1.2 and 1.3, ECDSA certificates only, driven on
//! the caller's clock.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Backend, BackendConfig, Output};
use crate::{DtlsVersion, Role};

pub(crate) struct Dimpl {
    dtls: dimpl::Dtls,
    buf: Vec<u8>,
}

impl Dimpl {
    pub(crate) fn new(now: Instant, c: BackendConfig<'_>) -> Result<Self, String> {
        let config = config(c.mtu, c.handshake_timeout)?;
        let cert = dimpl::DtlsCertificate {
            certificate: c.certificate.der().to_vec(),
            private_key: c.certificate.key_pkcs8().to_vec(),
        };
        let mut dtls = match c.version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
        };
        dtls.set_active(c.role == Role::Client);
        Ok(Dimpl { dtls, buf: vec![0; c.mtu.max(2048)] })
    }
}

/// dimpl's configuration for these settings. Building one checks the
/// crypto provider with trial key exchanges (about 6 ms per transport), so
/// configurations are built once per process and shared; they are
/// immutable.
fn config(mtu: usize, handshake_timeout: Duration) -> Result<Arc<dimpl::Config>, String> {
    type Cache = Mutex<Vec<((usize, Duration), Arc<dimpl::Config>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let key = (mtu, handshake_timeout);
    if let Some((_, c)) = cache.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let config = dimpl::Config::builder()
        .with_crypto_provider(super::ring_gcm::provider())
        .mtu(mtu)
        .handshake_timeout(handshake_timeout)
        // WebRTC authenticates both sides by fingerprint.
        .require_client_certificate(true)
        .build()
        .map_err(|e| e.to_string())?;
    let config = Arc::new(config);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    // A handful of distinct settings at most in practice; bound it anyway.
    if cache.len() >= 16 {
        cache.remove(0);
    }
    cache.push((key, config.clone()));
    Ok(config)
}

impl Backend for Dimpl {
    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), String> {
        self.dtls.handle_packet(packet).map_err(|e| e.to_string())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
        self.dtls.handle_timeout(now).map_err(|e| e.to_string())
    }

    fn send(&mut self, data: &[u8]) -> Result<(), String> {
        self.dtls.send_application_data(data).map(|_| ()).map_err(|e| e.to_string())
    }

    fn close(&mut self) -> Result<(), String> {
        self.dtls.close().map_err(|e| e.to_string())
    }

    fn poll(&mut self) -> Output {
        loop {
            let needed = match self.dtls.poll_output(&mut self.buf) {
                dimpl::Output::Packet(p) => return Output::Transmit(p.to_vec()),
                dimpl::Output::Timeout(t) => return Output::Timeout(t),
                dimpl::Output::Connected => return Output::Connected,
                dimpl::Output::PeerCert(der) => return Output::PeerCert(der.to_vec()),
                dimpl::Output::KeyingMaterial(km, profile) => {
                    return Output::Keying { profile: profile_id(profile), material: km.to_vec() }
                }
                dimpl::Output::ApplicationData(d) => return Output::Data(d.to_vec()),
                dimpl::Output::CloseNotify => return Output::CloseNotify,
                dimpl::Output::BufferTooSmall { needed } => needed,
                // A newer dimpl may add outputs we do not use yet.
                #[allow(unreachable_patterns)]
                _ => continue,
            };
            self.buf.resize(needed, 0);
        }
    }
}

fn profile_id(profile: dimpl::SrtpProfile) -> u16 {
    match profile {
        dimpl::SrtpProfile::AES128_CM_SHA1_80 => 0x0001,
        dimpl::SrtpProfile::AEAD_AES_128_GCM => 0x0007,
        dimpl::SrtpProfile::AEAD_AES_256_GCM => 0x0008,
        // Unknown to us: an id no configuration allows.
        #[allow(unreachable_patterns)]
        _ => 0xffff,
    }
}
