//! TURN ChannelData messages (RFC 8656 section 12.4): application data to
//! or from a bound channel behind a 4-byte header instead of a 36-byte Send
//! indication.

use crate::StunError;

/// The lowest channel number a client may bind.
pub const MIN_CHANNEL: u16 = 0x4000;
/// The highest channel number a client may bind.
pub const MAX_CHANNEL: u16 = 0x4FFF;

/// A decoded ChannelData message borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// The channel number, 0x4000 to 0x4FFF.
    pub channel: u16,
    /// The application data.
    pub data: &'a [u8],
}

impl<'a> ChannelData<'a> {
    /// True when the first byte says ChannelData (64 to 79, RFC 7983).
    pub fn is_channel_data(buf: &[u8]) -> bool {
        buf.first().is_some_and(|b| (64..=79).contains(b))
    }

    /// Decodes a ChannelData message from a datagram (or one stream frame,
    /// whose trailing padding is ignored).
    pub fn decode(buf: &'a [u8]) -> Result<Self, StunError> {
        if buf.len() < 4 {
            return Err(StunError::Truncated("ChannelData header"));
        }
        let channel = u16::from_be_bytes([buf[0], buf[1]]);
        if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&channel) {
            return Err(StunError::NotStun("ChannelData channel number outside 0x4000..0x4FFF"));
        }
        let len = u16::from_be_bytes([buf[2], buf[3]]) as usize;
        if buf.len() - 4 < len {
            return Err(StunError::Truncated("ChannelData payload"));
        }
        Ok(ChannelData { channel, data: &buf[4..4 + len] })
    }

    /// Appends the message to `out`; `pad` rounds it to 4 bytes, as a stream
    /// transport (TCP, TLS) requires.
    pub fn encode(&self, out: &mut Vec<u8>, pad: bool) {
        out.extend_from_slice(&self.channel.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
        out.extend_from_slice(self.data);
        if pad {
            out.resize(out.len() + (4 - self.data.len() % 4) % 4, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        let mut out = Vec::new();
        ChannelData { channel: 0x4001, data: b"hello" }.encode(&mut out, true);
        assert_eq!(out.len(), 12);
        assert_eq!(&out[..4], &[0x40, 0x01, 0, 5]);
        let d = ChannelData::decode(&out).unwrap();
        assert_eq!(d, ChannelData { channel: 0x4001, data: b"hello" });
        assert!(ChannelData::is_channel_data(&out));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(ChannelData::decode(&[0x40, 0x00, 0x00]).is_err());
        assert!(ChannelData::decode(&[0x40, 0x00, 0x00, 0x09, 1, 2]).is_err());
        assert!(ChannelData::decode(&[0x50, 0x00, 0x00, 0x00]).is_err());
    }
}
