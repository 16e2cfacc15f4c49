//! Helpers shared by the interop tests.
#![allow(dead_code)]

pub mod capture;
pub mod jsonpeer;
pub mod ortc;

use std::time::Duration;

use oxrtc::ice::{IceEvent, IceTransportState};
use oxrtc::{IceTransport, IceTransportEvent};

/// The next event within `limit`, or a panic naming what was awaited.
pub async fn next(t: &mut IceTransport, limit: Duration, what: &str) -> IceTransportEvent {
    match tokio::time::timeout(limit, t.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("transport closed while waiting for {what}"),
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

pub fn is_up(e: &IceTransportEvent) -> bool {
    matches!(
        e,
        IceTransportEvent::Ice(IceEvent::StateChanged(IceTransportState::Connected | IceTransportState::Completed))
    )
}

/// The repository root (for scripts and peers).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// An environment variable the test command sets, or a panic saying so.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run this test through scripts/test.sh"))
}

/// Two oxrtc DTLS transports over ICE on loopback, A the DTLS client and
/// ICE-controlling: credentials exchanged, candidates not yet (trickle them
/// from the events). `b_expects` is the fingerprint B expects of A (A's own
/// unless a test lies); `tweak` adjusts both configurations.
pub async fn loopback_dtls_pair(
    b_expects: Option<oxrtc::dtls::Fingerprint>,
    tweak: impl Fn(&mut oxrtc::dtls::DtlsConfig),
) -> [oxrtc::DtlsTransport; 2] {
    use oxrtc::dtls::{Algorithm, Certificate, DtlsConfig, Fingerprint, Role};
    let config =
        || oxrtc::IceTransportConfig { interfaces: oxrtc::InterfaceFilter::loopback_only(), ..Default::default() };
    let ice_a = IceTransport::start(config(), true).await.unwrap();
    let ice_b = IceTransport::start(config(), false).await.unwrap();
    let (ca, cb) = (ice_a.local_credentials().clone(), ice_b.local_credentials().clone());
    ice_a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    ice_b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;
    let (cert_a, cert_b) = (Certificate::generate().unwrap(), Certificate::generate().unwrap());
    let fp = |c: &Certificate| Fingerprint::of_der(Algorithm::Sha256, c.der());
    let mut config_a = DtlsConfig::new(Role::Client, cert_a.clone(), vec![fp(&cert_b)]);
    let mut config_b = DtlsConfig::new(Role::Server, cert_b, vec![b_expects.unwrap_or_else(|| fp(&cert_a))]);
    tweak(&mut config_a);
    tweak(&mut config_b);
    [
        oxrtc::DtlsTransport::start(ice_a, config_a).await.unwrap(),
        oxrtc::DtlsTransport::start(ice_b, config_b).await.unwrap(),
    ]
}
