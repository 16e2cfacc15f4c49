//! The Data Channel Establishment Protocol wire format (RFC 8832 section 5):
//! DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK, carried on the channel's own
//! SCTP stream with PPID 50.

use std::time::Duration;

/// How a channel delivers, from the DATA_CHANNEL_OPEN channel type and
/// reliability parameter (RFC 8832 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reliability {
    /// Every message arrives (W3C: neither maxRetransmits nor maxPacketLifeTime).
    #[default]
    Reliable,
    /// A message is abandoned after this many retransmissions (W3C `maxRetransmits`).
    MaxRetransmits(u32),
    /// A message is abandoned this long after it was first sent (W3C `maxPacketLifeTime`).
    MaxLifetime(Duration),
}

/// DATA_CHANNEL_OPEN: asks the peer to open a channel on this stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Messages may be delivered out of order (channel type bit 0x80).
    pub unordered: bool,
    /// When messages are given up.
    pub reliability: Reliability,
    /// Priority (RFC 8831 section 6.4: 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
    /// The channel's label (UTF-8, may be empty).
    pub label: String,
    /// The subprotocol (UTF-8, may be empty).
    pub protocol: String,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// DATA_CHANNEL_OPEN (type 0x03).
    Open(Open),
    /// DATA_CHANNEL_ACK (type 0x02).
    Ack,
}

/// Why a DCEP message was rejected. The peer sent something broken: drop it
/// (RFC 8832 lets the receiver close the stream) and count it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcepError {
    /// Empty, shorter than its header, or lengths running past the end.
    #[error("DCEP message truncated: {0}")]
    Truncated(&'static str),
    /// A message type other than OPEN (0x03) or ACK (0x02).
    #[error("unknown DCEP message type {0:#04x}")]
    UnknownType(u8),
    /// A channel type RFC 8832 does not define.
    #[error("unknown DCEP channel type {0:#04x}")]
    UnknownChannelType(u8),
    /// The label or protocol is not UTF-8.
    #[error("DCEP {0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// A label or protocol longer than 65535 bytes cannot be encoded.
    #[error("data channel {0} is longer than 65535 bytes")]
    TooLong(&'static str),
}

const OPEN: u8 = 0x03;
const ACK: u8 = 0x02;

impl Message {
    /// Parses one DCEP message (the whole SCTP user message).
    pub fn parse(b: &[u8]) -> Result<Message, DcepError> {
        match b.first() {
            None => Err(DcepError::Truncated("empty message")),
            Some(&ACK) => Ok(Message::Ack),
            Some(&OPEN) => {
                if b.len() < 12 {
                    return Err(DcepError::Truncated("DATA_CHANNEL_OPEN shorter than its 12-byte header"));
                }
                let channel_type = b[1];
                let priority = u16::from_be_bytes([b[2], b[3]]);
                let param = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let label_len = u16::from_be_bytes([b[8], b[9]]) as usize;
                let protocol_len = u16::from_be_bytes([b[10], b[11]]) as usize;
                let rest = &b[12..];
                if rest.len() < label_len + protocol_len {
                    return Err(DcepError::Truncated("label and protocol run past the end"));
                }
                let label = std::str::from_utf8(&rest[..label_len]).map_err(|_| DcepError::NotUtf8("label"))?;
                let protocol = std::str::from_utf8(&rest[label_len..label_len + protocol_len])
                    .map_err(|_| DcepError::NotUtf8("protocol"))?;
                let reliability = match channel_type & 0x7f {
                    0x00 => Reliability::Reliable,
                    0x01 => Reliability::MaxRetransmits(param),
                    0x02 => Reliability::MaxLifetime(Duration::from_millis(param.into())),
                    _ => return Err(DcepError::UnknownChannelType(channel_type)),
                };
                Ok(Message::Open(Open {
                    unordered: channel_type & 0x80 != 0,
                    reliability,
                    priority,
                    label: label.to_owned(),
                    protocol: protocol.to_owned(),
                }))
            }
            Some(&t) => Err(DcepError::UnknownType(t)),
        }
    }

    /// Encodes the message.
    pub fn encode(&self) -> Result<Vec<u8>, DcepError> {
        let o = match self {
            Message::Ack => return Ok(vec![ACK]),
            Message::Open(o) => o,
        };
        let label_len = u16::try_from(o.label.len()).map_err(|_| DcepError::TooLong("label"))?;
        let protocol_len = u16::try_from(o.protocol.len()).map_err(|_| DcepError::TooLong("protocol"))?;
        let (kind, param) = match o.reliability {
            Reliability::Reliable => (0x00, 0),
            Reliability::MaxRetransmits(n) => (0x01, n),
            Reliability::MaxLifetime(d) => (0x02, u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
        };
        let mut b = Vec::with_capacity(12 + o.label.len() + o.protocol.len());
        b.push(OPEN);
        b.push(kind | if o.unordered { 0x80 } else { 0 });
        b.extend_from_slice(&o.priority.to_be_bytes());
        b.extend_from_slice(&param.to_be_bytes());
        b.extend_from_slice(&label_len.to_be_bytes());
        b.extend_from_slice(&protocol_len.to_be_bytes());
        b.extend_from_slice(o.label.as_bytes());
        b.extend_from_slice(o.protocol.as_bytes());
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_as_chromium_sends_it() {
        // Chromium's OPEN for createDataChannel("chat"): reliable, ordered,
        // priority 256 (normal), no protocol.
        let wire = [3, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0, 0, b'c', b'h', b'a', b't'];
        let m = Message::parse(&wire).unwrap();
        let want = Message::Open(Open {
            unordered: false,
            reliability: Reliability::Reliable,
            priority: 256,
            label: "chat".into(),
            protocol: String::new(),
        });
        assert_eq!(m, want);
        assert_eq!(want.encode().unwrap(), wire);
    }

    #[test]
    fn every_channel_type_round_trips() {
        for unordered in [false, true] {
            for reliability in [
                Reliability::Reliable,
                Reliability::MaxRetransmits(0),
                Reliability::MaxRetransmits(7),
                Reliability::MaxLifetime(Duration::from_millis(1500)),
            ] {
                let m = Message::Open(Open {
                    unordered,
                    reliability,
                    priority: 512,
                    label: "ünïcode label".into(),
                    protocol: "proto/1".into(),
                });
                let wire = m.encode().unwrap();
                let kind = match reliability {
                    Reliability::Reliable => 0,
                    Reliability::MaxRetransmits(_) => 1,
                    Reliability::MaxLifetime(_) => 2,
                };
                assert_eq!(wire[1], kind | if unordered { 0x80 } else { 0 });
                assert_eq!(Message::parse(&wire).unwrap(), m);
            }
        }
        assert_eq!(Message::parse(&[2]).unwrap(), Message::Ack);
        assert_eq!(Message::Ack.encode().unwrap(), [2]);
    }

    #[test]
    fn broken_messages_are_errors() {
        assert_eq!(Message::parse(&[]), Err(DcepError::Truncated("empty message")));
        assert_eq!(Message::parse(&[9]), Err(DcepError::UnknownType(9)));
        assert!(matches!(Message::parse(&[3, 0, 1, 0]), Err(DcepError::Truncated(_))));
        // Label length 255 with 2 bytes present.
        assert!(matches!(
            Message::parse(&[3, 0, 1, 0, 0, 0, 0, 0, 0, 255, 0, 0, b'a', b'b']),
            Err(DcepError::Truncated(_))
        ));
        assert_eq!(Message::parse(&[3, 0x05, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Err(DcepError::UnknownChannelType(5)));
        assert_eq!(Message::parse(&[3, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff]), Err(DcepError::NotUtf8("label")));
        let long = Message::Open(Open {
            unordered: false,
            reliability: Reliability::Reliable,
            priority: 256,
            label: "x".repeat(70_000),
            protocol: String::new(),
        });
        assert_eq!(long.encode(), Err(DcepError::TooLong("label")));
        // Every truncation of a valid OPEN fails cleanly.
        let wire = Message::Open(Open {
            unordered: true,
            reliability: Reliability::MaxRetransmits(3),
            priority: 256,
            label: "label".into(),
            protocol: "p".into(),
        })
        .encode()
        .unwrap();
        for n in 0..wire.len() {
            assert!(Message::parse(&wire[..n]).is_err(), "{n} bytes parsed");
        }
    }
}
