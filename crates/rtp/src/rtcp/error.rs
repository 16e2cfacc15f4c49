//! Errors of the RTCP codec.

/// Why RTCP bytes could not be read, or a packet could not be written.
///
/// Every parse error is *noise*: drop the datagram (or, for an error about one
/// packet's body, that packet; [`CompoundIter`](super::CompoundIter) goes on with
/// the next) and count it. None is fatal to a session. The write errors
/// ([`RtcpError::Unencodable`]) mean the caller built a packet the wire cannot
/// carry; nothing was appended to the buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    /// The datagram is empty: an RTCP datagram holds at least one packet.
    #[error("empty datagram: RTCP needs at least one packet of 4 bytes or more")]
    Empty,
    /// Fewer than the 4 bytes of a common header are left.
    #[error("RTCP header truncated: {available} bytes left where a 4-byte header must start")]
    TruncatedHeader {
        /// Bytes left in the datagram.
        available: usize,
    },
    /// The version field is not 2 (RFC 3550 §6.4.1): not RTCP, or corrupted.
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    /// The length field reaches past the end of the datagram.
    #[error("RTCP packet type {packet_type}: length field says {length} bytes, the datagram has {available} left")]
    LengthBeyondDatagram {
        /// The packet type of the offending packet.
        packet_type: u8,
        /// The packet length the header announces, header included.
        length: usize,
        /// Bytes left in the datagram from the packet's first byte.
        available: usize,
    },
    /// The padding bit is set but the padding count (the last byte) is 0 or
    /// larger than what follows the header.
    #[error(
        "RTCP packet type {packet_type}: padding count {padding} is invalid with {payload} bytes after the header"
    )]
    InvalidPadding {
        /// The packet type of the offending packet.
        packet_type: u8,
        /// The padding count read from the packet's last byte.
        padding: u8,
        /// Bytes after the 4-byte header, padding included.
        payload: usize,
    },
    /// A packet is shorter than its fixed part.
    #[error("{packet} too short: {needed} bytes needed after the header, {available} present")]
    TooShort {
        /// Which packet (for instance "SR", "REMB").
        packet: &'static str,
        /// Bytes its fixed part needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// A count field disagrees with the bytes present.
    #[error("{packet}: count says {count} {item}, the packet carries {present}")]
    CountMismatch {
        /// Which packet.
        packet: &'static str,
        /// What is counted ("report blocks", "SSRCs"...).
        item: &'static str,
        /// The value of the count field.
        count: usize,
        /// How many the packet's bytes hold.
        present: usize,
    },
    /// A packet's body breaks its format in another way.
    #[error("{packet} malformed: {reason}")]
    Malformed {
        /// Which packet.
        packet: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The packet cannot be written: a field does not fit the wire format.
    #[error("cannot write {packet}: {reason}")]
    Unencodable {
        /// Which packet.
        packet: &'static str,
        /// Which field does not fit, and why.
        reason: &'static str,
    },
}

impl RtcpError {
    pub(crate) fn malformed(packet: &'static str, reason: &'static str) -> Self {
        RtcpError::Malformed { packet, reason }
    }

    pub(crate) fn unencodable(packet: &'static str, reason: &'static str) -> Self {
        RtcpError::Unencodable { packet, reason }
    }

    pub(crate) fn too_short(packet: &'static str, needed: usize, available: usize) -> Self {
        RtcpError::TooShort { packet, needed, available }
    }
}
