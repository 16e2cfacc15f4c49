//! VP8 (RFC 7741). Each payload starts with a payload descriptor:
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |X|R|N|S|R| PID | (required)
//!      +-+-+-+-+-+-+-+-+
//!   X: |I|L|T|K| RSV   | (optional)
//!      +-+-+-+-+-+-+-+-+
//!   I: |M| PictureID   | (optional; M=1: 15 bits over two bytes)
//!      +-+-+-+-+-+-+-+-+
//!   L: |   TL0PICIDX   | (optional)
//!      +-+-+-+-+-+-+-+-+
//! T/K: |TID|Y| KEYIDX  | (optional)
//!      +-+-+-+-+-+-+-+-+
//! ```
//!
//! A frame begins with the packet whose S bit is set and PID is 0; the first
//! byte of its data is the VP8 frame tag, whose lowest bit (P) is 0 on a
//! keyframe. The marker bit ends the frame.

use bytes::{BufMut, BytesMut};

use super::{
    even_chunks, Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE,
};

const NAME: &str = "VP8";

/// A picture id of VP8 or VP9: 7 bits in one byte or 15 bits in two (M=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureId {
    /// A 7-bit picture id.
    Short(u8),
    /// A 15-bit picture id.
    Long(u16),
}

impl PictureId {
    /// The id's value (0..=127 or 0..=32767).
    pub fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v & 0x7f),
            PictureId::Long(v) => v & 0x7fff,
        }
    }

    /// Reads a picture id at the start of `data`; returns it and its length.
    pub(crate) fn read(data: &[u8], format: &'static str) -> Result<(PictureId, usize), PayloadError> {
        let truncated = PayloadError::Truncated { format, what: "picture id" };
        let first = *data.first().ok_or(truncated.clone())?;
        if first & 0x80 == 0 {
            return Ok((PictureId::Short(first), 1));
        }
        let second = *data.get(1).ok_or(truncated)?;
        Ok((PictureId::Long(u16::from(first & 0x7f) << 8 | u16::from(second)), 2))
    }

    pub(crate) fn write(self, out: &mut Vec<u8>) {
        match self {
            PictureId::Short(v) => out.push(v & 0x7f),
            PictureId::Long(v) => out.extend_from_slice(&(0x8000 | (v & 0x7fff)).to_be_bytes()),
        }
    }
}

/// The temporal layer fields of a VP8 descriptor (the T bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Temporal {
    /// TID: the temporal layer index (0..=3).
    pub tid: u8,
    /// Y: the frame depends only on temporal base layer frames (layer sync).
    pub layer_sync: bool,
}

/// A VP8 payload descriptor (RFC 7741 section 4.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// N: the frame is not used as a reference and may be discarded.
    pub non_reference: bool,
    /// S: the payload starts a VP8 partition.
    pub start_of_partition: bool,
    /// PID: the partition index (0..=7) the payload's first byte belongs to.
    pub partition_index: u8,
    /// I: the picture id.
    pub picture_id: Option<PictureId>,
    /// L: the TL0PICIDX, a running index of temporal base layer frames.
    pub tl0_pic_idx: Option<u8>,
    /// T: temporal layer index and layer sync bit.
    pub temporal: Option<Vp8Temporal>,
    /// K: the KEYIDX (0..=31), a running index of keyframes' key indices.
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Parses the descriptor at the start of `payload`; returns it and its
    /// length (the VP8 data follows).
    pub fn parse(payload: &[u8]) -> Result<(Vp8Descriptor, usize), PayloadError> {
        let truncated = |what| PayloadError::Truncated { format: NAME, what };
        let first = *payload.first().ok_or(truncated("empty payload"))?;
        let mut d = Vp8Descriptor {
            non_reference: first & 0x20 != 0,
            start_of_partition: first & 0x10 != 0,
            partition_index: first & 0x07,
            ..Vp8Descriptor::default()
        };
        let mut at = 1;
        if first & 0x80 != 0 {
            let x = *payload.get(at).ok_or(truncated("extension byte"))?;
            at += 1;
            if x & 0x80 != 0 {
                let (id, len) = PictureId::read(&payload[at..], NAME)?;
                d.picture_id = Some(id);
                at += len;
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(*payload.get(at).ok_or(truncated("TL0PICIDX"))?);
                at += 1;
            }
            if x & 0x30 != 0 {
                let tk = *payload.get(at).ok_or(truncated("TID/Y/KEYIDX"))?;
                at += 1;
                if x & 0x20 != 0 {
                    d.temporal = Some(Vp8Temporal { tid: tk >> 6, layer_sync: tk & 0x20 != 0 });
                }
                if x & 0x10 != 0 {
                    d.key_idx = Some(tk & 0x1f);
                }
            }
        }
        Ok((d, at))
    }

    /// Whether this payload starts a frame: S=1 and PID=0.
    pub fn starts_frame(&self) -> bool {
        self.start_of_partition && self.partition_index == 0
    }

    /// Appends the encoded descriptor to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        let extended = self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.temporal.is_some()
            || self.key_idx.is_some();
        out.push(
            u8::from(extended) << 7
                | u8::from(self.non_reference) << 5
                | u8::from(self.start_of_partition) << 4
                | (self.partition_index & 0x07),
        );
        if !extended {
            return;
        }
        out.push(
            u8::from(self.picture_id.is_some()) << 7
                | u8::from(self.tl0_pic_idx.is_some()) << 6
                | u8::from(self.temporal.is_some()) << 5
                | u8::from(self.key_idx.is_some()) << 4,
        );
        if let Some(id) = self.picture_id {
            id.write(out);
        }
        if let Some(idx) = self.tl0_pic_idx {
            out.push(idx);
        }
        if self.temporal.is_some() || self.key_idx.is_some() {
            let t = self.temporal.map_or(0, |t| (t.tid & 0x03) << 6 | u8::from(t.layer_sync) << 5);
            out.push(t | self.key_idx.unwrap_or(0) & 0x1f);
        }
    }
}

/// The width and height of a VP8 keyframe, from its uncompressed header
/// (RFC 6386 section 9.1): frame tag, start code 9d 01 2a, then 14-bit sizes.
/// `None` for an interframe or a truncated header.
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((width, height))
}

/// Splits VP8 frames into payloads with a 15-bit picture id that increments
/// per frame (descriptor: X=1, I=1, M=1, four bytes).
#[derive(Debug, Clone, Default)]
pub struct Vp8Packetizer {
    picture_id: u16,
}

impl Vp8Packetizer {
    /// A packetizer whose first frame gets picture id 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A packetizer whose first frame gets picture id `id` (taken modulo 2^15).
    pub fn with_picture_id(id: u16) -> Self {
        Vp8Packetizer { picture_id: id & 0x7fff }
    }

    /// The picture id the next frame will get.
    pub fn next_picture_id(&self) -> u16 {
        self.picture_id
    }
}

impl Packetizer for Vp8Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        const HEADER: usize = 4;
        if frame.is_empty() {
            return Err(PayloadError::EmptyFrame { format: NAME });
        }
        if mtu <= HEADER {
            return Err(PayloadError::MtuTooSmall { format: NAME, min: HEADER + 1, mtu });
        }
        let picture_id = PictureId::Long(self.picture_id);
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        let chunks = even_chunks(frame.len(), mtu - HEADER);
        let count = frame.len().div_ceil(mtu - HEADER).max(1);
        // One buffer for the whole frame, split into the payloads: one allocation per
        // frame rather than per packet.
        let mut buf = BytesMut::with_capacity(frame.len() + count * HEADER);
        let mut header = Vec::with_capacity(HEADER);
        let mut out = Vec::with_capacity(count);
        for range in chunks {
            header.clear();
            let descriptor = Vp8Descriptor {
                start_of_partition: range.start == 0,
                picture_id: Some(picture_id),
                ..Vp8Descriptor::default()
            };
            descriptor.write(&mut header);
            buf.put_slice(&header);
            buf.put_slice(&frame[range.clone()]);
            let data = buf.split().freeze();
            out.push(Payload { data, marker: range.end == frame.len() });
        }
        Ok(out)
    }
}

/// What a VP8 depacketizer reports per frame, from its first packet's descriptor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vp8Meta {
    /// The descriptor of the frame's first packet.
    pub descriptor: Vp8Descriptor,
    /// The keyframe's width and height, when it is one.
    pub size: Option<(u16, u16)>,
}

/// The VP8 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Vp8;

/// A depacketizer of VP8.
pub type Vp8Depacketizer = Depacketizer<Vp8>;

impl Vp8 {
    fn split(payload: &[u8]) -> Result<(Vp8Descriptor, &[u8]), PayloadError> {
        let (descriptor, len) = Vp8Descriptor::parse(payload)?;
        let data = &payload[len..];
        if data.is_empty() {
            return Err(PayloadError::Truncated { format: NAME, what: "no VP8 data after the descriptor" });
        }
        Ok((descriptor, data))
    }
}

impl PayloadFormat for Vp8 {
    type Meta = Vp8Meta;
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        let (descriptor, data) = Self::split(payload)?;
        let starts = descriptor.starts_frame();
        Ok(PacketInfo {
            start: if starts { Start::Definite } else { Start::Continuation },
            ends_frame: false,
            keyframe: starts && data[0] & 1 == 0,
        })
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, meta: &mut Vp8Meta) -> Result<(), PayloadError> {
        let (descriptor, data) = Self::split(payload)?;
        if descriptor.starts_frame() {
            meta.descriptor = descriptor;
        }
        out.extend_from_slice(data);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>, meta: &mut Vp8Meta) -> Result<(), PayloadError> {
        meta.size = keyframe_size(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Depacketized, DropReason};

    fn parse(bytes: &[u8]) -> Vp8Descriptor {
        let (d, len) = Vp8Descriptor::parse(bytes).unwrap();
        let mut again = Vec::new();
        d.write(&mut again);
        assert_eq!(again, bytes[..len], "re-encoding {d:?}");
        d
    }

    #[test]
    fn rfc7741_descriptor_layouts() {
        // No extension: X=0, N=1, S=1, PID=2.
        let d = parse(&[0x32, 0xaa]);
        assert!(d.non_reference && d.start_of_partition && d.partition_index == 2 && d.picture_id.is_none());
        // X=1, I=1 with a 7-bit picture id 17.
        let d = parse(&[0x90, 0x80, 17, 0xaa]);
        assert_eq!(d.picture_id, Some(PictureId::Short(17)));
        assert!(d.starts_frame());
        // X=1, I=1 M=1 (15-bit id 0x1234), L=1, T=1, K=1: TID 2, Y=1, KEYIDX 5.
        let d = parse(&[0x90, 0xf0, 0x92, 0x34, 0x07, 0xa5, 0xaa]);
        assert_eq!(d.picture_id.map(PictureId::value), Some(0x1234));
        assert_eq!(d.tl0_pic_idx, Some(7));
        assert_eq!(d.temporal, Some(Vp8Temporal { tid: 2, layer_sync: true }));
        assert_eq!(d.key_idx, Some(5));
        // T=0, K=1: the shared byte carries only KEYIDX.
        let d = parse(&[0x80, 0x10, 0x1f, 0xaa]);
        assert_eq!((d.temporal, d.key_idx), (None, Some(31)));
        // T=1, K=0: KEYIDX bits are ignored.
        let (d, len) = Vp8Descriptor::parse(&[0x80, 0x20, 0x41, 0xaa]).unwrap();
        assert_eq!((d.temporal, d.key_idx, len), (Some(Vp8Temporal { tid: 1, layer_sync: false }), None, 3));
    }

    #[test]
    fn truncated_descriptors_are_errors() {
        for bad in [&[][..], &[0x80], &[0x80, 0x80], &[0x80, 0x80, 0x80], &[0x80, 0x40], &[0x80, 0x30], &[0x10]] {
            assert!(Vp8.inspect(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn keyframe_from_the_p_bit_of_the_first_partition() {
        let key = [0x90, 0x80, 1, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        let info = Vp8.inspect(&key).unwrap();
        assert!(info.keyframe && info.start == Start::Definite);
        assert_eq!(keyframe_size(&key[3..]), Some((640, 480)));
        // P=1: an interframe.
        assert!(!Vp8.inspect(&[0x10, 0x51, 0, 0]).unwrap().keyframe);
        // A keyframe-looking byte in a continuation packet (S=0) means nothing.
        let info = Vp8.inspect(&[0x00, 0x50]).unwrap();
        assert!(!info.keyframe && info.start == Start::Continuation);
        // S=1 with PID=1 starts a partition, not a frame.
        assert_eq!(Vp8.inspect(&[0x11, 0x50]).unwrap().start, Start::Continuation);
    }

    #[test]
    fn picture_ids_increment_per_frame_and_wrap_at_15_bits() {
        let mut p = Vp8Packetizer::with_picture_id(0x7ffe);
        let mut ids = Vec::new();
        for _ in 0..3 {
            let out = p.packetize(&[0x11; 30], 14).unwrap();
            assert_eq!(out.len(), 3);
            for (i, payload) in out.iter().enumerate() {
                let (d, len) = Vp8Descriptor::parse(&payload.data).unwrap();
                assert_eq!(len, 4);
                assert_eq!(d.start_of_partition, i == 0);
                assert_eq!(payload.marker, i == 2);
                ids.push(d.picture_id.unwrap());
            }
        }
        let long = PictureId::Long;
        assert_eq!(
            ids,
            [
                long(0x7ffe),
                long(0x7ffe),
                long(0x7ffe),
                long(0x7fff),
                long(0x7fff),
                long(0x7fff),
                long(0),
                long(0),
                long(0)
            ]
        );
        assert!(matches!(p.packetize(&[1], 4), Err(PayloadError::MtuTooSmall { min: 5, .. })));
    }

    #[test]
    fn a_lost_middle_packet_drops_the_frame_until_the_next_start() {
        let mut p = Vp8Packetizer::new();
        let mut d = Vp8Depacketizer::default();
        let first = p.packetize(&[0x50; 100], 40).unwrap();
        let second = p.packetize(&[0x51; 100], 40).unwrap();
        d.push(&first[0].data, false, 1, 0).unwrap();
        d.push(&first[2].data, true, 3, 0).unwrap();
        d.push(&second[0].data, false, 4, 3000).unwrap();
        d.push(&second[1].data, false, 5, 3000).unwrap();
        d.push(&second[2].data, true, 6, 3000).unwrap();
        assert_eq!(
            d.poll(),
            Some(Depacketized::Dropped(crate::payload::Dropped { reason: DropReason::Loss, timestamp: Some(0) }))
        );
        let Some(Depacketized::Frame(f)) = d.poll() else { panic!("the second frame") };
        assert_eq!((f.data.len(), f.timestamp, f.discontinuity, f.keyframe), (100, 3000, true, false));
        assert_eq!(f.meta.descriptor.picture_id, Some(PictureId::Long(1)));
        assert_eq!(d.poll(), None);
    }
}
