//! Packets this crate does not decode: an unknown packet type, or a
//! feedback message type (FMT) it does not know. They are kept as bytes and
//! written back as they came.

use super::header::write_packet;
use super::RtcpError;

const NAME: &str = "raw RTCP packet";

/// An undecoded RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawPacket {
    /// The packet type.
    pub packet_type: u8,
    /// The 5-bit count / subtype / FMT field.
    pub count: u8,
    /// The bytes after the header, RTCP padding removed. When they are not
    /// whole 32-bit words, RTCP padding is added back on writing.
    pub payload: Vec<u8>,
}

impl RawPacket {
    /// Keeps a packet's fields as read.
    pub(crate) fn parse(packet_type: u8, count: u8, body: &[u8]) -> Self {
        RawPacket { packet_type, count, payload: body.to_vec() }
    }

    /// Appends the packet to `out`; fails on a count above 31.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        write_packet(out, NAME, self.count, self.packet_type, |out| {
            out.extend_from_slice(&self.payload);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_back_unchanged() {
        let wire = [0x9f, 195, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8];
        let raw = RawPacket::parse(195, 31, &wire[4..]);
        let mut out = Vec::new();
        raw.write(&mut out).unwrap();
        assert_eq!(out, wire);
    }

    #[test]
    fn count_must_fit() {
        let raw = RawPacket { packet_type: 1, count: 32, payload: vec![] };
        assert!(matches!(raw.write(&mut Vec::new()), Err(RtcpError::Unencodable { .. })));
    }
}
