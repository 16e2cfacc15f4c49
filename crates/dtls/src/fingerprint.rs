//! Certificate fingerprints as SDP carries them (RFC 8122 `a=fingerprint`).

use std::fmt;
use std::str::FromStr;

use sha2::Digest;

use crate::DtlsError;

/// A hash function allowed in an SDP fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `sha-1` (legacy; still accepted from remote descriptions).
    Sha1,
    /// `sha-256`, what browsers send.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl Algorithm {
    /// The SDP token: `sha-1`, `sha-256`, `sha-384` or `sha-512`.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha-1",
            Algorithm::Sha256 => "sha-256",
            Algorithm::Sha384 => "sha-384",
            Algorithm::Sha512 => "sha-512",
        }
    }

    /// Hash `data` with this algorithm.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Algorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Algorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Algorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdp_name())
    }
}

impl FromStr for Algorithm {
    type Err = DtlsError;
    fn from_str(s: &str) -> Result<Self, DtlsError> {
        match s.to_ascii_lowercase().as_str() {
            "sha-1" => Ok(Algorithm::Sha1),
            "sha-256" => Ok(Algorithm::Sha256),
            "sha-384" => Ok(Algorithm::Sha384),
            "sha-512" => Ok(Algorithm::Sha512),
            _ => Err(DtlsError::InvalidFingerprint(s.to_string())),
        }
    }
}

/// One `a=fingerprint` value: the algorithm and the colon-separated hex
/// digest (`AB:CD:...`, any case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function.
    pub algorithm: Algorithm,
    /// The digest as `AB:CD:...`.
    pub value: String,
}

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_der(algorithm: Algorithm, der: &[u8]) -> Self {
        Fingerprint { algorithm, value: to_hex(&algorithm.digest(der)) }
    }

    /// Whether `der` hashes to this fingerprint. A value that is not
    /// valid hex never matches.
    pub fn matches(&self, der: &[u8]) -> bool {
        let Some(expected) = from_hex(&self.value) else {
            return false;
        };
        let actual = self.algorithm.digest(der);
        // Not secret, but compare in full anyway.
        expected.len() == actual.len() && expected.iter().zip(&actual).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}

impl FromStr for Fingerprint {
    type Err = DtlsError;
    /// Parses the value of an SDP `a=fingerprint:` line, e.g.
    /// `sha-256 AB:CD:...`.
    fn from_str(s: &str) -> Result<Self, DtlsError> {
        let bad = || DtlsError::InvalidFingerprint(s.to_string());
        let (alg, value) = s.trim().split_once(' ').ok_or_else(bad)?;
        let algorithm: Algorithm = alg.parse().map_err(|_| bad())?;
        let value = value.trim();
        let bytes = from_hex(value).ok_or_else(bad)?;
        if bytes.len() != algorithm.digest(&[]).len() {
            return Err(bad());
        }
        Ok(Fingerprint { algorithm, value: to_hex(&bytes) })
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    s.split(':').map(|part| if part.len() == 2 { u8::from_str_radix(part, 16).ok() } else { None }).collect()
}
