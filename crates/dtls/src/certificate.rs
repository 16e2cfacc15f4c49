//! The local certificate: an ECDSA P-256 key and a self-signed X.509
//! certificate, as WebRTC uses them (identity comes from the fingerprint
//! in SDP, not from a CA).

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use crate::fingerprint::{Algorithm, Fingerprint};
use crate::DtlsError;

/// A certificate (DER) and its private key (PKCS#8 DER).
///
/// Generate one per peer connection or per process; share the
/// [`fingerprint`](Certificate::fingerprint) in the local description.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    key_pkcs8: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Certificate").field("sha-256", &self.fingerprint(Algorithm::Sha256)).finish_non_exhaustive()
    }
}

impl Certificate {
    /// A fresh ECDSA P-256 key and a self-signed certificate for it, with
    /// a random 128-bit serial (Firefox refuses two certificates with the
    /// same issuer and serial). The validity period is rcgen's default
    /// (1975 to 4096), so no clock is read.
    pub fn generate() -> Result<Self, DtlsError> {
        let err = |e: rcgen::Error| DtlsError::Certificate(format!("generation failed: {e}"));
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, "oxrtc");
        params.distinguished_name = dn;
        let mut serial = [0u8; 16];
        SystemRandom::new()
            .fill(&mut serial)
            .map_err(|_| DtlsError::Certificate("the OS random source failed".into()))?;
        serial[0] &= 0x7f; // a positive INTEGER
        serial[0] |= 0x01; // and no leading zero byte
        params.serial_number = Some(serial.to_vec().into());
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(Certificate { der: cert.der().to_vec(), key_pkcs8: key.serialize_der() })
    }

    /// From a DER certificate and a PKCS#8 DER private key. Checks that the
    /// key is an ECDSA P-256 key that parses; it does not check that it
    /// belongs to the certificate (the handshake will fail if not).
    pub fn from_der(der: Vec<u8>, key_pkcs8: Vec<u8>) -> Result<Self, DtlsError> {
        rcgen::KeyPair::try_from(key_pkcs8.as_slice())
            .map_err(|e| DtlsError::Certificate(format!("private key is not a PKCS#8 ECDSA P-256 key: {e}")))?;
        Ok(Certificate { der, key_pkcs8 })
    }

    /// From PEM text: a `CERTIFICATE` block and a `PRIVATE KEY` (PKCS#8)
    /// block, in one string or two.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, DtlsError> {
        let cert = pem::parse(cert_pem).map_err(|e| DtlsError::Certificate(format!("certificate PEM: {e}")))?;
        if cert.tag() != "CERTIFICATE" {
            return Err(DtlsError::Certificate(format!("expected a CERTIFICATE PEM block, found {:?}", cert.tag())));
        }
        let key = pem::parse_many(key_pem)
            .map_err(|e| DtlsError::Certificate(format!("private key PEM: {e}")))?
            .into_iter()
            .find(|p| p.tag() == "PRIVATE KEY")
            .ok_or_else(|| {
                DtlsError::Certificate(
                    "no PRIVATE KEY (PKCS#8) PEM block found; convert with `openssl pkcs8 -topk8 -nocrypt`".into(),
                )
            })?;
        Self::from_der(cert.into_contents(), key.into_contents())
    }

    /// The certificate and key as PEM (`CERTIFICATE`, `PRIVATE KEY`).
    pub fn to_pem(&self) -> (String, String) {
        (
            pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone())),
            pem::encode(&pem::Pem::new("PRIVATE KEY", self.key_pkcs8.clone())),
        )
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The fingerprint in SDP form, `AB:CD:...` (put it after
    /// `a=fingerprint:sha-256 `).
    pub fn fingerprint(&self, algorithm: Algorithm) -> String {
        Fingerprint::of_der(algorithm, &self.der).value
    }

    pub(crate) fn key_pkcs8(&self) -> &[u8] {
        &self.key_pkcs8
    }
}
