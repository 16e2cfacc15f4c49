//! Certificates and fingerprints.

use dtls::{Algorithm, Certificate, DtlsError, Fingerprint};

#[test]
fn fingerprint_is_colon_separated_upper_hex() {
    let c = Certificate::generate().unwrap();
    let fp = c.fingerprint(Algorithm::Sha256);
    assert_eq!(fp.len(), 32 * 3 - 1);
    assert!(fp.split(':').all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())));
    assert_eq!(c.fingerprint(Algorithm::Sha1).len(), 20 * 3 - 1);
    assert_eq!(c.fingerprint(Algorithm::Sha384).len(), 48 * 3 - 1);
    assert_eq!(c.fingerprint(Algorithm::Sha512).len(), 64 * 3 - 1);
}

#[test]
fn sdp_fingerprint_parses_in_any_case() {
    let c = Certificate::generate().unwrap();
    let line = format!("SHA-256 {}", c.fingerprint(Algorithm::Sha256).to_lowercase());
    let fp: Fingerprint = line.parse().unwrap();
    assert_eq!(fp.algorithm, Algorithm::Sha256);
    assert!(fp.matches(c.der()));
    assert_eq!(fp.to_string(), format!("sha-256 {}", c.fingerprint(Algorithm::Sha256)));
    assert!(matches!("md5 AB:CD".parse::<Fingerprint>(), Err(DtlsError::InvalidFingerprint(_))));
    assert!("sha-256 AB:CD".parse::<Fingerprint>().is_err(), "wrong length");
}

#[test]
fn two_certificates_differ() {
    let (a, b) = (Certificate::generate().unwrap(), Certificate::generate().unwrap());
    assert_ne!(a.fingerprint(Algorithm::Sha256), b.fingerprint(Algorithm::Sha256));
    assert!(!Fingerprint::of_der(Algorithm::Sha256, a.der()).matches(b.der()));
}

#[test]
fn pem_round_trip() {
    let c = Certificate::generate().unwrap();
    let (cert_pem, key_pem) = c.to_pem();
    assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = Certificate::from_pem(&cert_pem, &key_pem).unwrap();
    assert_eq!(back, c);
    assert!(Certificate::from_pem(&key_pem, &key_pem).is_err());
    assert!(Certificate::from_pem(&cert_pem, &cert_pem).is_err());
}

#[test]
fn debug_never_prints_the_key() {
    let c = Certificate::generate().unwrap();
    let (_, key_pem) = c.to_pem();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains(&key_pem[30..60]));
}
