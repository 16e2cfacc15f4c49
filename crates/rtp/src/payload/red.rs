//! Redundant audio data, RED (RFC 2198): one payload carries the current
//! (primary) frame and copies of earlier frames, so a lost packet's frame
//! can be recovered from the next one.
//!
//! ```text
//! redundant block header (4 bytes), one per redundant block:
//!  |1| block PT (7) | timestamp offset (14) | block length (10) |
//! primary block header (1 byte), last:
//!  |0| block PT (7) |
//! then the blocks' data, in the same order (oldest first, primary last).
//! ```

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::PayloadError;

const NAME: &str = "RED";
/// The largest timestamp offset a redundant block can have (14 bits).
pub const MAX_TIMESTAMP_OFFSET: u32 = 0x3fff;
/// The largest redundant block (10-bit length).
pub const MAX_BLOCK_LEN: usize = 0x3ff;

/// One block of a RED payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedBlock<'a> {
    /// The payload type of the block's data.
    pub payload_type: u8,
    /// How far before the packet's RTP timestamp the block's frame lies (0 for the primary).
    pub timestamp_offset: u16,
    /// The block's data, one frame of the inner format.
    pub data: &'a [u8],
}

impl RedBlock<'_> {
    /// The RTP timestamp of the block's frame, given the packet's.
    pub fn timestamp(&self, packet_timestamp: u32) -> u32 {
        packet_timestamp.wrapping_sub(u32::from(self.timestamp_offset))
    }
}

/// Splits a RED payload into its blocks: redundant ones first (oldest
/// first, as sent), the primary last.
pub fn decode(payload: &[u8]) -> Result<Vec<RedBlock<'_>>, PayloadError> {
    let truncated = |what| PayloadError::Truncated { format: NAME, what };
    let mut headers = Vec::new();
    let mut at = 0;
    loop {
        let first = *payload.get(at).ok_or(truncated("block header"))?;
        if first & 0x80 == 0 {
            headers.push((first, 0, None));
            at += 1;
            break;
        }
        let h = payload.get(at..at + 4).ok_or(truncated("redundant block header"))?;
        let offset = u16::from(h[1]) << 6 | u16::from(h[2]) >> 2;
        let len = usize::from(h[2] & 0x03) << 8 | usize::from(h[3]);
        headers.push((first & 0x7f, offset, Some(len)));
        at += 4;
    }
    let mut blocks = Vec::with_capacity(headers.len());
    for (payload_type, timestamp_offset, len) in headers {
        let len = len.unwrap_or(payload.len() - at);
        let data = payload.get(at..at + len).ok_or(truncated("redundant block data"))?;
        at += len;
        blocks.push(RedBlock { payload_type, timestamp_offset, data });
    }
    Ok(blocks)
}

/// Builds a RED payload from redundant blocks (oldest first) and the primary
/// block. Fails when a payload type exceeds 7 bits, an offset 14 bits or a
/// redundant block 1023 bytes.
pub fn encode(redundant: &[RedBlock<'_>], primary: RedBlock<'_>) -> Result<Bytes, PayloadError> {
    let malformed = |what| PayloadError::Malformed { format: NAME, what };
    let len = 5 * redundant.len() + 1 + redundant.iter().map(|b| b.data.len()).sum::<usize>() + primary.data.len();
    let mut out = BytesMut::with_capacity(len);
    for b in redundant {
        if b.payload_type > 0x7f || primary.payload_type > 0x7f {
            return Err(malformed("payload type over 127"));
        }
        if u32::from(b.timestamp_offset) > MAX_TIMESTAMP_OFFSET {
            return Err(malformed("timestamp offset over 14 bits"));
        }
        if b.data.len() > MAX_BLOCK_LEN {
            return Err(PayloadError::TooLarge {
                format: NAME,
                what: "redundant block",
                len: b.data.len(),
                mtu: MAX_BLOCK_LEN,
            });
        }
        out.put_u8(0x80 | b.payload_type);
        out.put_u8((b.timestamp_offset >> 6) as u8);
        out.put_u8(((b.timestamp_offset & 0x3f) as u8) << 2 | (b.data.len() >> 8) as u8);
        out.put_u8(b.data.len() as u8);
    }
    if primary.payload_type > 0x7f {
        return Err(malformed("payload type over 127"));
    }
    out.put_u8(primary.payload_type);
    for b in redundant {
        out.put_slice(b.data);
    }
    out.put_slice(primary.data);
    Ok(out.freeze())
}

/// Keeps the last frames sent and puts up to `distance` of them, as
/// redundancy, in front of each new frame.
#[derive(Debug, Clone)]
pub struct RedEncoder {
    distance: usize,
    history: VecDeque<(u8, u32, Bytes)>,
}

impl RedEncoder {
    /// An encoder adding up to `distance` earlier frames (1 or 2 is usual).
    pub fn new(distance: usize) -> Self {
        RedEncoder { distance, history: VecDeque::with_capacity(distance + 1) }
    }

    /// The RED payload for `frame` (of `payload_type`, at RTP `timestamp`),
    /// at most `mtu` bytes: earlier frames that are too old, too large or do
    /// not fit are left out.
    pub fn encode(
        &mut self,
        payload_type: u8,
        timestamp: u32,
        frame: &[u8],
        mtu: usize,
    ) -> Result<Bytes, PayloadError> {
        if 1 + frame.len() > mtu {
            return Err(PayloadError::TooLarge {
                format: NAME,
                what: "primary frame",
                len: frame.len(),
                mtu: mtu.saturating_sub(1),
            });
        }
        let mut room = mtu - 1 - frame.len();
        let mut chosen = Vec::new();
        // Newest first, so the most recent frames win the room.
        for (pt, ts, data) in self.history.iter().rev() {
            let offset = timestamp.wrapping_sub(*ts);
            if offset == 0 || offset > MAX_TIMESTAMP_OFFSET || data.len() > MAX_BLOCK_LEN || 4 + data.len() > room {
                continue;
            }
            room -= 4 + data.len();
            chosen.push(RedBlock { payload_type: *pt, timestamp_offset: offset as u16, data });
        }
        chosen.reverse();
        let out = encode(&chosen, RedBlock { payload_type, timestamp_offset: 0, data: frame })?;
        if self.distance > 0 {
            if self.history.len() == self.distance {
                self.history.pop_front();
            }
            self.history.push_back((payload_type, timestamp, Bytes::copy_from_slice(frame)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2198_example_layout() {
        // Shaped like RFC 2198 section 3's example: a primary block (PT 0) after one redundant
        // block (PT 5, 5 bytes, 160 ticks older).
        let payload = [0x85, 0x02, 0x80, 0x05, 0x00, 1, 2, 3, 4, 5, 9, 9];
        let blocks = decode(&payload).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0], RedBlock { payload_type: 5, timestamp_offset: 160, data: &[1, 2, 3, 4, 5] });
        assert_eq!(blocks[1], RedBlock { payload_type: 0, timestamp_offset: 0, data: &[9, 9] });
        assert_eq!(blocks[0].timestamp(1000), 840);
        assert_eq!(encode(&blocks[..1], blocks[1]).unwrap()[..], payload);
    }

    #[test]
    fn bad_payloads_are_errors() {
        for bad in [&[][..], &[0x80], &[0x85, 0x02, 0x80], &[0x85, 0x02, 0x80, 0x06, 0x00, 1, 2, 3, 4, 5]] {
            assert!(decode(bad).is_err(), "{bad:02x?}");
        }
        // A primary block alone, even empty, is fine.
        assert_eq!(decode(&[0x6f]).unwrap(), [RedBlock { payload_type: 111, timestamp_offset: 0, data: &[] }]);
        let big = [0u8; 1024];
        let block = RedBlock { payload_type: 111, timestamp_offset: 960, data: &big };
        assert!(encode(&[block], RedBlock { payload_type: 111, timestamp_offset: 0, data: &[1] }).is_err());
    }

    #[test]
    fn encoder_carries_the_previous_frames() {
        let mut red = RedEncoder::new(2);
        let frames: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 50 + usize::from(i)]).collect();
        let mut payloads = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            payloads.push(red.encode(111, 960 * i as u32, f, 1200).unwrap());
        }
        let last = decode(&payloads[3]).unwrap();
        assert_eq!(last.len(), 3);
        assert_eq!((last[0].timestamp(2880), last[0].data), (960, &frames[1][..]));
        assert_eq!((last[1].timestamp(2880), last[1].data), (1920, &frames[2][..]));
        assert_eq!((last[2].timestamp_offset, last[2].data), (0, &frames[3][..]));
        // Without room, redundancy is left out; the newest is kept first.
        let tight = red.encode(111, 3840, &[7; 40], 1 + 40 + 4 + 53).unwrap();
        let blocks = decode(&tight).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].data, &frames[3][..]);
        // Too old to express in 14 bits.
        let far = red.encode(111, 3840 + 20_000, &[8; 10], 1200).unwrap();
        assert_eq!(decode(&far).unwrap().len(), 1);
    }
}
