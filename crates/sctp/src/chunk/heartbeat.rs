//! HEARTBEAT and HEARTBEAT-ACK (RFC 9260 3.3.5, 3.3.6): one Heartbeat Info parameter
//! (type 1) whose content only the sender interprets.

use bytes::Bytes;

use super::{params, write_param};
use crate::error::ParseError;

/// Heartbeat Info parameter type.
const HEARTBEAT_INFO: u16 = 1;

/// The sender-specific heartbeat information, echoed verbatim by the ACK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Content of the Heartbeat Info parameter.
    pub info: Bytes,
}

impl Heartbeat {
    pub(crate) fn parse(v: Bytes) -> Result<Heartbeat, ParseError> {
        for p in params(&v) {
            let (t, r) = p?;
            if t == HEARTBEAT_INFO {
                return Ok(Heartbeat { info: v.slice(r) });
            }
        }
        Err(ParseError::Invalid("HEARTBEAT without a Heartbeat Info parameter"))
    }

    pub(crate) fn value_len(&self) -> usize {
        super::pad4(4 + self.info.len())
    }

    pub(crate) fn write_value(&self, out: &mut Vec<u8>) {
        write_param(out, HEARTBEAT_INFO, &self.info);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{round_trip, Chunk};
    use super::*;

    #[test]
    fn heartbeat_round_trips() {
        let h = Heartbeat { info: Bytes::from_static(b"0123456789a") };
        assert_eq!(round_trip(&Chunk::Heartbeat(h.clone())), Chunk::Heartbeat(h.clone()));
        assert_eq!(round_trip(&Chunk::HeartbeatAck(h.clone())), Chunk::HeartbeatAck(h));
        assert!(Heartbeat::parse(Bytes::from_static(&[0, 1, 0, 40])).is_err());
        assert!(Heartbeat::parse(Bytes::new()).is_err());
    }
}
