//! Demultiplexing one UDP flow by its first byte (RFC 7983 section 7, with
//! the TURN ChannelData range of RFC 8656 and RTP/RTCP by RFC 5761).

/// What a datagram on a WebRTC flow is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// STUN (first byte 0 to 3).
    Stun,
    /// ZRTP (16 to 19); not used by WebRTC, dropped.
    Zrtp,
    /// DTLS (20 to 63).
    Dtls,
    /// TURN ChannelData (64 to 79).
    ChannelData,
    /// SRTP (128 to 191, payload type outside 64..=95).
    Rtp,
    /// SRTCP (128 to 191, packet type 192 to 223, RFC 5761).
    Rtcp,
    /// Anything else: drop and count.
    Unknown,
}

/// Classifies a datagram by its first bytes; never reads past them.
pub fn classify(packet: &[u8]) -> PacketKind {
    match packet.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(16..=19) => PacketKind::Zrtp,
        Some(20..=63) => PacketKind::Dtls,
        Some(64..=79) => PacketKind::ChannelData,
        Some(128..=191) => match packet.get(1) {
            Some(192..=223) => PacketKind::Rtcp,
            Some(_) => PacketKind::Rtp,
            None => PacketKind::Unknown,
        },
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7983_ranges() {
        assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
        assert_eq!(classify(&[3]), PacketKind::Stun);
        assert_eq!(classify(&[4]), PacketKind::Unknown);
        assert_eq!(classify(&[16]), PacketKind::Zrtp);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketKind::Dtls); // handshake record
        assert_eq!(classify(&[23]), PacketKind::Dtls);
        assert_eq!(classify(&[63]), PacketKind::Dtls);
        assert_eq!(classify(&[0x40, 0x00]), PacketKind::ChannelData);
        assert_eq!(classify(&[79]), PacketKind::ChannelData);
        assert_eq!(classify(&[80]), PacketKind::Unknown);
        assert_eq!(classify(&[0x80, 96]), PacketKind::Rtp); // PT 96
        assert_eq!(classify(&[0x80, 0x80 | 111]), PacketKind::Rtp); // marker + PT 111
        assert_eq!(classify(&[0x80, 200]), PacketKind::Rtcp); // sender report
        assert_eq!(classify(&[0x81, 201]), PacketKind::Rtcp); // receiver report
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
        assert_eq!(classify(&[192]), PacketKind::Unknown);
        assert_eq!(classify(&[]), PacketKind::Unknown);
    }
}
