//! Retransmission payloads, RTX (RFC 4588): a retransmitted packet travels
//! on its own SSRC and payload type, its payload prefixed with the original
//! sequence number (OSN).
//!
//! ```text
//! | OSN (16 bits) | original payload ... |
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::PayloadError;

/// The RTX payload for the packet with sequence number `original_sequence`
/// and payload `payload`.
pub fn wrap(original_sequence: u16, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(2 + payload.len());
    out.put_u16(original_sequence);
    out.put_slice(payload);
    out.freeze()
}

/// The original sequence number and payload inside an RTX payload. A payload
/// shorter than two bytes (such as a padding-only bandwidth probe) carries
/// no retransmission.
pub fn unwrap(payload: &[u8]) -> Result<(u16, &[u8]), PayloadError> {
    match payload {
        [hi, lo, rest @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => Err(PayloadError::Truncated { format: "RTX", what: "original sequence number" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_unwrap() {
        let rtx = wrap(0xabcd, &[1, 2, 3]);
        assert_eq!(rtx[..], [0xab, 0xcd, 1, 2, 3]);
        assert_eq!(unwrap(&rtx).unwrap(), (0xabcd, &[1, 2, 3][..]));
        assert_eq!(unwrap(&[0, 7]).unwrap(), (7, &[][..]));
        assert!(unwrap(&[0]).is_err());
        assert!(unwrap(&[]).unwrap_err().to_string().contains("original sequence number"));
    }
}
