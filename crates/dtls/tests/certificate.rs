//! Certificates and fingerprints.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dtls::{Algorithm, Certificate, CertificateOptions, DtlsError, Fingerprint, KeyType};

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

#[test]
fn validity_and_common_name_are_as_asked() {
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
    // 2025-03-01T00:00:00Z, plus 30 days.
    let (from, to) = (at(1_740_787_200), at(1_740_787_200 + 30 * 86_400));
    let opts = CertificateOptions { validity: Some((from, to)), common_name: "my-sfu".into(), ..Default::default() };
    let c = Certificate::generate_with(&opts).unwrap();
    assert_eq!(c.key_type(), KeyType::EcdsaP256);
    assert_eq!((c.not_before(), c.not_after()), (Some(from), Some(to)));
    assert!(c.der().windows(6).any(|w| w == b"my-sfu"));
    // Through PEM and back.
    let (cert_pem, key_pem) = c.to_pem();
    let back = Certificate::from_pem(&cert_pem, &key_pem).unwrap();
    assert_eq!(back.not_after(), Some(to));
    assert_eq!(back.key_type(), KeyType::EcdsaP256);
}

#[test]
fn validity_outside_x509_years_is_refused() {
    let early = UNIX_EPOCH - Duration::from_secs(30 * 365 * 86_400); // 1940
    let opts = CertificateOptions { validity: Some((early, SystemTime::UNIX_EPOCH)), ..Default::default() };
    let err = Certificate::generate_with(&opts).unwrap_err();
    assert!(err.to_string().contains("between the years 1950 and 9999"), "{err}");
}

#[test]
fn a_key_that_is_not_pkcs8_is_refused_with_advice() {
    let c = Certificate::generate().unwrap();
    let err = Certificate::from_der(c.der().to_vec(), vec![0x30, 0x03, 0x02, 0x01, 0x00]).unwrap_err();
    assert!(err.to_string().contains("neither a PKCS#8 ECDSA P-256 key nor a PKCS#8 RSA key"), "{err}");
}

#[cfg(not(feature = "openssl"))]
#[test]
fn rsa_generation_without_the_openssl_feature_says_what_to_do() {
    let opts = CertificateOptions { key: KeyType::RSA_2048, ..Default::default() };
    let err = Certificate::generate_with(&opts).unwrap_err();
    assert!(err.to_string().contains("needs the `openssl` feature"), "{err}");
}
