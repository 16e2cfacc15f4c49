//! SCTP chunks (RFC 9260 section 3.3 and extensions): one wire type per file.
//!
//! Every chunk is `type (1) | flags (1) | length (2) | value`, padded to 4 bytes. Parsing
//! takes the value as [`Bytes`] so payloads are slices of the received packet, not copies.

mod data;
mod error_cause;
mod forward_tsn;
mod heartbeat;
mod init;
mod reconfig;
mod sack;

pub use data::DataChunk;
pub use error_cause::{cause, describe_causes, ErrorCause};
pub use forward_tsn::{ForwardTsn, ForwardTsnStream};
pub use heartbeat::Heartbeat;
pub use init::{Init, EDMID_DTLS};
pub use reconfig::{ReConfig, ReconfigParam, ReconfigResult};
pub use sack::Sack;

use bytes::{BufMut, Bytes};

use crate::error::ParseError;

/// Chunk type numbers.
pub mod kind {
    /// Payload data (RFC 9260).
    pub const DATA: u8 = 0;
    /// Initiation.
    pub const INIT: u8 = 1;
    /// Initiation acknowledgement.
    pub const INIT_ACK: u8 = 2;
    /// Selective acknowledgement.
    pub const SACK: u8 = 3;
    /// Heartbeat request.
    pub const HEARTBEAT: u8 = 4;
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// Abort.
    pub const ABORT: u8 = 6;
    /// Shutdown.
    pub const SHUTDOWN: u8 = 7;
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// Operation error.
    pub const ERROR: u8 = 9;
    /// State cookie.
    pub const COOKIE_ECHO: u8 = 10;
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: u8 = 11;
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
    /// Interleaved data (RFC 8260).
    pub const I_DATA: u8 = 64;
    /// Re-configuration (RFC 6525).
    pub const RE_CONFIG: u8 = 130;
    /// Forward cumulative TSN (RFC 3758).
    pub const FORWARD_TSN: u8 = 192;
    /// Interleaved forward TSN (RFC 8260).
    pub const I_FORWARD_TSN: u8 = 194;
}

/// One decoded chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chunk {
    /// DATA or I-DATA (see [`DataChunk::interleaved`]).
    Data(DataChunk),
    /// INIT.
    Init(Init),
    /// INIT-ACK (same layout as INIT; carries the state cookie).
    InitAck(Init),
    /// SACK.
    Sack(Sack),
    /// HEARTBEAT.
    Heartbeat(Heartbeat),
    /// HEARTBEAT-ACK (echoes the heartbeat's parameters).
    HeartbeatAck(Heartbeat),
    /// ABORT: T bit (verification tag is the sender's own, reflected) and error causes.
    Abort {
        /// The T bit.
        t_bit: bool,
        /// Error causes, undecoded (see [`describe_causes`]).
        causes: Bytes,
    },
    /// SHUTDOWN with the sender's cumulative TSN ack.
    Shutdown {
        /// Cumulative TSN ack.
        cum_tsn_ack: u32,
    },
    /// SHUTDOWN-ACK.
    ShutdownAck,
    /// ERROR (operation error) with its causes, undecoded.
    Error {
        /// Error causes.
        causes: Bytes,
    },
    /// COOKIE-ECHO with the state cookie.
    CookieEcho {
        /// The cookie, as received in INIT-ACK.
        cookie: Bytes,
    },
    /// COOKIE-ACK.
    CookieAck,
    /// SHUTDOWN-COMPLETE.
    ShutdownComplete {
        /// The T bit.
        t_bit: bool,
    },
    /// FORWARD-TSN or I-FORWARD-TSN (see [`ForwardTsn::interleaved`]).
    ForwardTsn(ForwardTsn),
    /// RE-CONFIG.
    ReConfig(ReConfig),
    /// A chunk type this crate does not know.
    Unknown {
        /// Chunk type.
        kind: u8,
        /// Flags.
        flags: u8,
        /// The value, undecoded.
        value: Bytes,
    },
}

impl Chunk {
    /// Decodes one chunk from its type, flags and value (the bytes after the 4-byte header,
    /// without padding).
    pub fn parse(kind: u8, flags: u8, value: Bytes) -> Result<Chunk, ParseError> {
        Ok(match kind {
            kind::DATA => Chunk::Data(DataChunk::parse(flags, value, false)?),
            kind::I_DATA => Chunk::Data(DataChunk::parse(flags, value, true)?),
            kind::INIT => Chunk::Init(Init::parse(value)?),
            kind::INIT_ACK => Chunk::InitAck(Init::parse(value)?),
            kind::SACK => Chunk::Sack(Sack::parse(&value)?),
            kind::HEARTBEAT => Chunk::Heartbeat(Heartbeat::parse(value)?),
            kind::HEARTBEAT_ACK => Chunk::HeartbeatAck(Heartbeat::parse(value)?),
            kind::ABORT => Chunk::Abort { t_bit: flags & 1 != 0, causes: value },
            kind::SHUTDOWN => {
                let v: [u8; 4] = value.get(..4).and_then(|s| s.try_into().ok()).ok_or(ParseError::Truncated {
                    what: "SHUTDOWN",
                    need: 4,
                    have: value.len(),
                })?;
                Chunk::Shutdown { cum_tsn_ack: u32::from_be_bytes(v) }
            }
            kind::SHUTDOWN_ACK => Chunk::ShutdownAck,
            kind::ERROR => Chunk::Error { causes: value },
            kind::COOKIE_ECHO => Chunk::CookieEcho { cookie: value },
            kind::COOKIE_ACK => Chunk::CookieAck,
            kind::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete { t_bit: flags & 1 != 0 },
            kind::FORWARD_TSN => Chunk::ForwardTsn(ForwardTsn::parse(&value, false)?),
            kind::I_FORWARD_TSN => Chunk::ForwardTsn(ForwardTsn::parse(&value, true)?),
            kind::RE_CONFIG => Chunk::ReConfig(ReConfig::parse(&value)?),
            _ => Chunk::Unknown { kind, flags, value },
        })
    }

    /// Size on the wire including the 4-byte header and padding.
    pub fn encoded_len(&self) -> usize {
        pad4(4 + self.value_len())
    }

    fn value_len(&self) -> usize {
        match self {
            Chunk::Data(d) => d.value_len(),
            Chunk::Init(i) | Chunk::InitAck(i) => i.value_len(),
            Chunk::Sack(s) => s.value_len(),
            Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => h.value_len(),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => causes.len(),
            Chunk::Shutdown { .. } => 4,
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => 0,
            Chunk::CookieEcho { cookie } => cookie.len(),
            Chunk::ForwardTsn(f) => f.value_len(),
            Chunk::ReConfig(r) => r.value_len(),
            Chunk::Unknown { value, .. } => value.len(),
        }
    }

    /// Appends the chunk (header, value, padding) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let (kind, flags) = match self {
            Chunk::Data(d) => (if d.interleaved { kind::I_DATA } else { kind::DATA }, d.flags()),
            Chunk::Init(_) => (kind::INIT, 0),
            Chunk::InitAck(_) => (kind::INIT_ACK, 0),
            Chunk::Sack(_) => (kind::SACK, 0),
            Chunk::Heartbeat(_) => (kind::HEARTBEAT, 0),
            Chunk::HeartbeatAck(_) => (kind::HEARTBEAT_ACK, 0),
            Chunk::Abort { t_bit, .. } => (kind::ABORT, *t_bit as u8),
            Chunk::Shutdown { .. } => (kind::SHUTDOWN, 0),
            Chunk::ShutdownAck => (kind::SHUTDOWN_ACK, 0),
            Chunk::Error { .. } => (kind::ERROR, 0),
            Chunk::CookieEcho { .. } => (kind::COOKIE_ECHO, 0),
            Chunk::CookieAck => (kind::COOKIE_ACK, 0),
            Chunk::ShutdownComplete { t_bit } => (kind::SHUTDOWN_COMPLETE, *t_bit as u8),
            Chunk::ForwardTsn(f) => (if f.interleaved { kind::I_FORWARD_TSN } else { kind::FORWARD_TSN }, 0),
            Chunk::ReConfig(_) => (kind::RE_CONFIG, 0),
            Chunk::Unknown { kind, flags, .. } => (*kind, *flags),
        };
        let len = 4 + self.value_len();
        out.put_u8(kind);
        out.put_u8(flags);
        out.put_u16(len as u16);
        match self {
            Chunk::Data(d) => d.write_value(out),
            Chunk::Init(i) | Chunk::InitAck(i) => i.write_value(out),
            Chunk::Sack(s) => s.write_value(out),
            Chunk::Heartbeat(h) | Chunk::HeartbeatAck(h) => h.write_value(out),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => out.extend_from_slice(causes),
            Chunk::Shutdown { cum_tsn_ack } => out.put_u32(*cum_tsn_ack),
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => {}
            Chunk::CookieEcho { cookie } => out.extend_from_slice(cookie),
            Chunk::ForwardTsn(f) => f.write_value(out),
            Chunk::ReConfig(r) => r.write_value(out),
            Chunk::Unknown { value, .. } => out.extend_from_slice(value),
        }
        pad_to4(out);
    }
}

/// What the upper two bits of an unknown chunk or parameter type ask for (RFC 9260 3.2, 3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownAction {
    /// 00: stop processing, discard silently.
    Stop,
    /// 01: stop processing, discard and report.
    StopAndReport,
    /// 10: skip it and continue.
    Skip,
    /// 11: skip it, continue and report.
    SkipAndReport,
}

impl UnknownAction {
    /// The action encoded in the top two bits of `kind`.
    pub fn of(kind: u8) -> UnknownAction {
        match kind >> 6 {
            0 => UnknownAction::Stop,
            1 => UnknownAction::StopAndReport,
            2 => UnknownAction::Skip,
            _ => UnknownAction::SkipAndReport,
        }
    }
}

pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn pad_to4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Iterates TLV parameters (`type (2) | length (2) | value`, padded to 4): yields
/// `(type, value range)` or an error for a bad length.
pub(crate) fn params(b: &[u8]) -> impl Iterator<Item = Result<(u16, std::ops::Range<usize>), ParseError>> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= b.len() {
            return None;
        }
        let (Some(t), Some(len)) = (be16(b, at), be16(b, at + 2)) else {
            at = b.len();
            return Some(Err(ParseError::Truncated { what: "parameter header", need: 4, have: b.len() - at }));
        };
        let len = len as usize;
        if len < 4 || at + len > b.len() {
            at = b.len();
            return Some(Err(ParseError::BadLength { what: "parameter", len }));
        }
        let r = at + 4..at + len;
        at += pad4(len);
        Some(Ok((t, r)))
    })
}

pub(crate) fn write_param(out: &mut Vec<u8>, t: u16, value: &[u8]) {
    out.put_u16(t);
    out.put_u16((4 + value.len()) as u16);
    out.extend_from_slice(value);
    pad_to4(out);
}

#[cfg(test)]
pub(crate) fn round_trip(c: &Chunk) -> Chunk {
    let mut out = Vec::new();
    c.write(&mut out);
    assert_eq!(out.len(), c.encoded_len());
    let len = u16::from_be_bytes([out[2], out[3]]) as usize;
    Chunk::parse(out[0], out[1], Bytes::copy_from_slice(&out[4..len])).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_chunks_round_trip() {
        for c in [
            Chunk::Shutdown { cum_tsn_ack: 77 },
            Chunk::ShutdownAck,
            Chunk::CookieAck,
            Chunk::ShutdownComplete { t_bit: true },
            Chunk::CookieEcho { cookie: Bytes::from_static(b"cookie!") },
            Chunk::Abort { t_bit: false, causes: Bytes::from_static(&[0, 12, 0, 4]) },
            Chunk::Unknown { kind: 0xbf, flags: 3, value: Bytes::from_static(b"xyz") },
        ] {
            assert_eq!(round_trip(&c), c);
        }
    }

    #[test]
    fn truncated_shutdown_is_an_error() {
        assert!(Chunk::parse(kind::SHUTDOWN, 0, Bytes::from_static(&[1, 2])).is_err());
    }

    #[test]
    fn unknown_actions_follow_the_upper_bits() {
        assert_eq!(UnknownAction::of(0x3f), UnknownAction::Stop);
        assert_eq!(UnknownAction::of(0x40), UnknownAction::StopAndReport);
        assert_eq!(UnknownAction::of(0x80), UnknownAction::Skip);
        assert_eq!(UnknownAction::of(0xc0), UnknownAction::SkipAndReport);
    }

    #[test]
    fn bad_parameter_lengths_are_errors() {
        assert!(params(&[0, 1, 0, 2]).next().unwrap().is_err());
        assert!(params(&[0, 1, 0, 9, 0, 0, 0, 0]).next().unwrap().is_err());
        assert!(params(&[0, 1]).next().unwrap().is_err());
    }
}
