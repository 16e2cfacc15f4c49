//! The common RTCP header (RFC 3550 §6.4.1) shared by every packet type:
//!
//! ```text
//!  0                   1                   2                   3
//! |V=2|P|  count  |      PT       |             length            |
//! ```
//!
//! `count` is a report count, a subtype or a feedback message type (FMT)
//! depending on `PT`; `length` is the packet's size in 32-bit words minus one,
//! header and padding included. This file splits packets off a datagram and
//! writes the header (length and padding) around a packet's body.

use super::RtcpError;

/// RTCP version carried in every header.
pub const VERSION: u8 = 2;
/// Size of the common header.
pub const HEADER_LEN: usize = 4;
/// The largest value of the 5-bit count / subtype / FMT field.
pub const MAX_COUNT: u8 = 31;

/// The fields of a common header, as read from the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The 5-bit count, subtype or FMT.
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
}

/// Splits the first packet off `data`: returns its header, its body (after
/// the header, padding removed) and the packet's total size in bytes.
///
/// Padding is accepted on any packet of a compound, not only the last: RFC
/// 3550 A.2 expects it on the last one only, but libwebrtc pads transport-wide
/// feedback in place and receivers in the field accept it.
pub(crate) fn split(data: &[u8]) -> Result<(Header, &[u8], usize), RtcpError> {
    if data.len() < HEADER_LEN {
        return Err(RtcpError::TruncatedHeader { available: data.len() });
    }
    let version = data[0] >> 6;
    if version != VERSION {
        return Err(RtcpError::BadVersion(version));
    }
    let padded = data[0] & 0x20 != 0;
    let header = Header { count: data[0] & 0x1f, packet_type: data[1] };
    let length = (u16_at(data, 2) as usize + 1) * 4;
    if length > data.len() {
        return Err(RtcpError::LengthBeyondDatagram { packet_type: header.packet_type, length, available: data.len() });
    }
    let mut body = &data[HEADER_LEN..length];
    if padded {
        let padding = data[length - 1];
        if padding == 0 || padding as usize > body.len() {
            return Err(RtcpError::InvalidPadding { packet_type: header.packet_type, padding, payload: body.len() });
        }
        body = &body[..body.len() - padding as usize];
    }
    Ok((header, body, length))
}

/// Writes one packet: the header, then `body` (which appends the packet's
/// body to `out`), then the length field and, when the body is not a whole
/// number of words, RTCP padding (P bit set, the last byte counting the
/// padding bytes), as libwebrtc pads transport-wide feedback. On an error
/// `out` is left as it was.
pub(crate) fn write_packet(
    out: &mut Vec<u8>,
    packet: &'static str,
    count: u8,
    packet_type: u8,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), RtcpError>,
) -> Result<(), RtcpError> {
    if count > MAX_COUNT {
        return Err(RtcpError::unencodable(packet, "count/subtype/FMT above 31 does not fit 5 bits"));
    }
    let start = out.len();
    out.extend_from_slice(&[VERSION << 6 | count, packet_type, 0, 0]);
    if let Err(e) = body(out) {
        out.truncate(start);
        return Err(e);
    }
    let unaligned = (out.len() - start) % 4;
    if unaligned != 0 {
        let padding = 4 - unaligned;
        out.resize(out.len() + padding, 0);
        let last = out.len() - 1;
        out[last] = padding as u8;
        out[start] |= 0x20;
    }
    let words = (out.len() - start) / 4 - 1;
    if words > u16::MAX as usize {
        out.truncate(start);
        return Err(RtcpError::unencodable(packet, "longer than the 65,536 words the length field counts"));
    }
    out[start + 2..start + 4].copy_from_slice(&(words as u16).to_be_bytes());
    Ok(())
}

/// Reads the two SSRCs that open every feedback message (RFC 4585 §6.1):
/// the packet sender and the media source. Returns them and the FCI.
pub(crate) fn feedback_ssrcs<'a>(packet: &'static str, body: &'a [u8]) -> Result<(u32, u32, &'a [u8]), RtcpError> {
    if body.len() < 8 {
        return Err(RtcpError::too_short(packet, 8, body.len()));
    }
    Ok((u32_at(body, 0), u32_at(body, 4), &body[8..]))
}

/// Appends the two SSRCs of a feedback message.
pub(crate) fn put_feedback_ssrcs(out: &mut Vec<u8>, sender_ssrc: u32, media_ssrc: u32) {
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
}

/// Big-endian u16 at `at`; the caller has checked the length.
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Big-endian u32 at `at`; the caller has checked the length.
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Big-endian u64 at `at`; the caller has checked the length.
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    (u32_at(b, at) as u64) << 32 | u32_at(b, at + 4) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_fields_and_length() {
        let data = [0x81, 201, 0, 1, 1, 2, 3, 4, 0xee];
        let (h, body, len) = split(&data).unwrap();
        assert_eq!(h, Header { count: 1, packet_type: 201 });
        assert_eq!(body, &[1, 2, 3, 4]);
        assert_eq!(len, 8);
    }

    #[test]
    fn split_strips_padding() {
        let data = [0xa0, 204, 0, 2, 1, 2, 3, 4, 5, 0, 0, 3];
        let (_, body, len) = split(&data).unwrap();
        assert_eq!(body, &[1, 2, 3, 4, 5]);
        assert_eq!(len, 12);
    }

    #[test]
    fn split_errors() {
        assert_eq!(split(&[0x80, 200, 0]), Err(RtcpError::TruncatedHeader { available: 3 }));
        assert_eq!(split(&[0x40, 200, 0, 0]), Err(RtcpError::BadVersion(1)));
        assert_eq!(
            split(&[0x80, 200, 0, 2, 0, 0, 0, 0]),
            Err(RtcpError::LengthBeyondDatagram { packet_type: 200, length: 12, available: 8 })
        );
        assert_eq!(
            split(&[0xa0, 203, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::InvalidPadding { packet_type: 203, padding: 0, payload: 4 })
        );
        assert_eq!(
            split(&[0xa0, 203, 0, 1, 0, 0, 0, 5]),
            Err(RtcpError::InvalidPadding { packet_type: 203, padding: 5, payload: 4 })
        );
        // A padding count of exactly the payload leaves an empty body.
        assert_eq!(split(&[0xa0, 203, 0, 1, 0, 0, 0, 4]).unwrap().1, &[] as &[u8]);
    }

    #[test]
    fn write_packet_sets_length_and_pads() {
        let mut out = vec![9];
        write_packet(&mut out, "test", 3, 204, |o| {
            o.extend_from_slice(&[1, 2, 3, 4, 5]);
            Ok(())
        })
        .unwrap();
        assert_eq!(out, [9, 0xa3, 204, 0, 2, 1, 2, 3, 4, 5, 0, 0, 3]);
        let (_, body, _) = split(&out[1..]).unwrap();
        assert_eq!(body, &[1, 2, 3, 4, 5]);
    }

    #[test]
    fn write_packet_errors_leave_buffer() {
        let mut out = vec![1, 2];
        let e = write_packet(&mut out, "test", 32, 200, |_| Ok(())).unwrap_err();
        assert!(matches!(e, RtcpError::Unencodable { packet: "test", .. }));
        let e = write_packet(&mut out, "test", 0, 200, |o| {
            o.push(1);
            Err(RtcpError::unencodable("test", "no"))
        })
        .unwrap_err();
        assert_eq!(e, RtcpError::unencodable("test", "no"));
        let e = write_packet(&mut out, "big", 0, 200, |o| {
            o.resize(o.len() + 65536 * 4, 0);
            Ok(())
        })
        .unwrap_err();
        assert!(matches!(e, RtcpError::Unencodable { packet: "big", .. }));
        assert_eq!(out, [1, 2]);
        // The largest packet the length field counts.
        write_packet(&mut out, "big", 0, 200, |o| {
            o.resize(o.len() + 65535 * 4, 0);
            Ok(())
        })
        .unwrap();
        assert_eq!(&out[2..6], &[0x80, 200, 0xff, 0xff]);
    }

    #[test]
    fn feedback_ssrcs_need_eight_bytes() {
        assert_eq!(feedback_ssrcs("PLI", &[0; 7]), Err(RtcpError::too_short("PLI", 8, 7)));
        let (s, m, fci) = feedback_ssrcs("PLI", &[0, 0, 0, 1, 0, 0, 0, 2, 9]).unwrap();
        assert_eq!((s, m, fci), (1, 2, &[9u8][..]));
        let mut out = Vec::new();
        put_feedback_ssrcs(&mut out, 1, 2);
        assert_eq!(out, [0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(u64_at(&[1, 2, 3, 4, 5, 6, 7, 8], 0), 0x0102_0304_0506_0708);
    }
}
