//! Error causes carried by ABORT and ERROR (RFC 9260 3.3.10).

use bytes::BufMut;

use super::{be16, pad_to4, params};

/// Cause codes this crate sends or names.
pub mod cause {
    /// Invalid stream identifier.
    pub const INVALID_STREAM: u16 = 1;
    /// Stale cookie.
    pub const STALE_COOKIE: u16 = 3;
    /// Out of resource.
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unrecognized chunk type.
    pub const UNRECOGNIZED_CHUNK: u16 = 6;
    /// No user data (a DATA chunk without payload).
    pub const NO_USER_DATA: u16 = 9;
    /// User-initiated abort.
    pub const USER_ABORT: u16 = 12;
    /// Protocol violation.
    pub const PROTOCOL_VIOLATION: u16 = 13;
}

/// One error cause to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCause {
    /// Cause code (see [`cause`]).
    pub code: u16,
    /// Cause-specific information.
    pub info: Vec<u8>,
}

impl ErrorCause {
    /// Encodes causes back to back, as ABORT and ERROR carry them.
    pub fn encode(causes: &[ErrorCause]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in causes {
            out.put_u16(c.code);
            out.put_u16((4 + c.info.len()) as u16);
            out.extend_from_slice(&c.info);
            pad_to4(&mut out);
        }
        out
    }
}

/// A human-readable summary of encoded causes, for logs and [`SctpEvent::Aborted`](crate::SctpEvent::Aborted).
pub fn describe_causes(b: &[u8]) -> String {
    let mut parts = Vec::new();
    for p in params(b) {
        let Ok((code, r)) = p else {
            parts.push("malformed cause".to_string());
            break;
        };
        let info = &b[r];
        parts.push(match code {
            cause::INVALID_STREAM => format!("invalid stream {}", be16(info, 0).unwrap_or_default()),
            cause::STALE_COOKIE => "stale cookie".into(),
            cause::UNRECOGNIZED_CHUNK => "unrecognized chunk type".into(),
            cause::NO_USER_DATA => "DATA chunk without user data".into(),
            cause::USER_ABORT => {
                format!("user-initiated abort {}", String::from_utf8_lossy(info).chars().take(200).collect::<String>())
            }
            cause::PROTOCOL_VIOLATION => {
                format!("protocol violation: {}", String::from_utf8_lossy(info).chars().take(200).collect::<String>())
            }
            c => format!("error cause {c}"),
        });
        if parts.len() >= 8 {
            break;
        }
    }
    if parts.is_empty() {
        "no cause given".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_encode_and_describe() {
        let b = ErrorCause::encode(&[
            ErrorCause { code: cause::PROTOCOL_VIOLATION, info: b"bad".to_vec() },
            ErrorCause { code: cause::INVALID_STREAM, info: vec![0, 9, 0, 0] },
        ]);
        assert_eq!(describe_causes(&b), "protocol violation: bad; invalid stream 9");
        assert_eq!(describe_causes(&[0, 1]), "malformed cause");
        assert_eq!(describe_causes(&[]), "no cause given");
    }
}
