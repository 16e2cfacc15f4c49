//! AV1 (AOM "RTP Payload Format For AV1" v1.0). A payload is an aggregation
//! header followed by OBU elements:
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |Z|Y| W |N|-|-|-|  Z: the first element continues the previous packet's last OBU
//! +-+-+-+-+-+-+-+-+  Y: the last element continues in the next packet
//!                    W: 0 = every element has a LEB128 length; 1..=3 = that many
//!                       elements, the last without a length
//!                    N: first packet of a coded video sequence
//! ```
//!
//! OBUs travel without their size field (`obu_has_size_field` = 0), temporal
//! delimiters and tile lists are not sent, and large OBUs are fragmented across
//! packets. Frames are temporal units in the low-overhead bitstream format
//! (AV1 section 5.2) both ways: the packetizer takes OBUs with size fields
//! (the last may lack one), the depacketizer restores every size field and
//! starts each temporal unit with a temporal delimiter. A frame is a keyframe
//! when N is set or it carries a sequence header.
//!
//! No bit marks the first packet of a temporal unit, so after loss reception
//! resumes at the next packet with a new timestamp whose first OBU can open a
//! unit (sequence header, frame header, frame). A unit of several frames that
//! lost its first packet may therefore come out without its first frames,
//! flagged [`discontinuity`](super::Frame::discontinuity).

use bytes::{BufMut, BytesMut};

use super::{Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE};

const NAME: &str = "AV1";
/// OBU types (AV1 section 6.2.2).
const OBU_SEQUENCE_HEADER: u8 = 1;
const OBU_TEMPORAL_DELIMITER: u8 = 2;
const OBU_FRAME_HEADER: u8 = 3;
const OBU_FRAME: u8 = 6;
const OBU_TILE_LIST: u8 = 8;
/// A temporal delimiter OBU with an empty size field.
const TEMPORAL_DELIMITER: [u8; 2] = [OBU_TEMPORAL_DELIMITER << 3 | 0x02, 0];

/// Reads a LEB128 value (AV1 section 4.10.5: at most 8 bytes, value below
/// 2^32); returns it and its length.
pub fn read_leb128(data: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// Appends `value` as LEB128 in the fewest bytes.
pub fn write_leb128(mut value: u32, out: &mut Vec<u8>) {
    loop {
        let b = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The length of `value` in LEB128.
fn leb128_len(value: usize) -> usize {
    let bits = usize::BITS - value.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

fn obu_type(header: u8) -> u8 {
    header >> 3 & 0x0f
}

/// One OBU of a temporal unit: its header (size-field bit cleared) and payload.
struct Obu<'a> {
    header: [u8; 2],
    header_len: usize,
    payload: &'a [u8],
}

/// Splits a low-overhead temporal unit into OBUs. Every OBU must carry its
/// size field, except the last, which may run to the end.
fn parse_obus(tu: &[u8]) -> Result<Vec<Obu<'_>>, PayloadError> {
    let malformed = |what| PayloadError::Malformed { format: NAME, what };
    let mut obus = Vec::new();
    let mut rest = tu;
    while !rest.is_empty() {
        let header = rest[0];
        if header & 0x80 != 0 {
            return Err(malformed("OBU forbidden bit set"));
        }
        let header_len = if header & 0x04 != 0 { 2 } else { 1 };
        if rest.len() < header_len {
            return Err(malformed("OBU extension header cut short"));
        }
        let after = &rest[header_len..];
        let (payload, next) = if header & 0x02 != 0 {
            let (size, n) = read_leb128(after).ok_or(malformed("OBU size field"))?;
            let size = size as usize;
            if after.len() - n < size {
                return Err(malformed("OBU size runs past the temporal unit"));
            }
            (&after[n..n + size], &after[n + size..])
        } else {
            (after, &after[after.len()..])
        };
        obus.push(Obu { header: [header & !0x02, rest.get(1).copied().unwrap_or(0)], header_len, payload });
        rest = next;
    }
    Ok(obus)
}

/// Splits AV1 temporal units into payloads: OBUs aggregated while they fit,
/// fragmented only when one does not fit a payload of its own, W used when
/// a payload has at most three elements. N is set on the first payload of a
/// temporal unit that carries a sequence header (real-time encoders send one
/// with each keyframe; the packetizer cannot see the frame type otherwise).
#[derive(Debug, Clone, Default)]
pub struct Av1Packetizer;

impl Av1Packetizer {
    /// A packetizer.
    pub fn new() -> Self {
        Av1Packetizer
    }
}

/// A payload being filled: its elements so far.
struct Building {
    data: Vec<u8>,
    elements: Vec<std::ops::Range<usize>>,
    continues: bool,
}

impl Building {
    fn new(continues: bool) -> Self {
        Building { data: Vec::new(), elements: Vec::new(), continues }
    }

    /// Its size if sent now, every element with a length field.
    fn size(&self) -> usize {
        1 + self.elements.iter().map(|r| leb128_len(r.len()) + r.len()).sum::<usize>()
    }

    fn finish(self, fragmented: bool, first_of_sequence: bool, out: &mut Vec<Payload>) {
        if self.elements.is_empty() {
            return;
        }
        let count = self.elements.len();
        let w = if count <= 3 { count as u8 } else { 0 };
        let mut data = BytesMut::with_capacity(self.size());
        data.put_u8(
            u8::from(self.continues) << 7 | u8::from(fragmented) << 6 | w << 4 | u8::from(first_of_sequence) << 3,
        );
        let mut length = Vec::with_capacity(5);
        for (i, range) in self.elements.iter().enumerate() {
            if w == 0 || i + 1 < count {
                length.clear();
                write_leb128(range.len() as u32, &mut length);
                data.put_slice(&length);
            }
            data.put_slice(&self.data[range.clone()]);
        }
        out.push(Payload { data: data.freeze(), marker: false });
    }
}

impl Packetizer for Av1Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        if mtu < 3 {
            return Err(PayloadError::MtuTooSmall { format: NAME, min: 3, mtu });
        }
        let obus: Vec<Obu<'_>> = parse_obus(frame)?
            .into_iter()
            .filter(|o| !matches!(obu_type(o.header[0]), OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST))
            .collect();
        if obus.is_empty() {
            return Err(PayloadError::EmptyFrame { format: NAME });
        }
        let new_sequence = obus.iter().any(|o| obu_type(o.header[0]) == OBU_SEQUENCE_HEADER);
        let mut out = Vec::new();
        let mut packet = Building::new(false);
        let mut element = Vec::new();
        for obu in &obus {
            element.clear();
            element.extend_from_slice(&obu.header[..obu.header_len]);
            element.extend_from_slice(obu.payload);
            let mut rest = &element[..];
            loop {
                let space = mtu - packet.size();
                if leb128_len(rest.len()) + rest.len() <= space {
                    let at = packet.data.len();
                    packet.data.extend_from_slice(rest);
                    packet.elements.push(at..at + rest.len());
                    break;
                }
                let fits_alone = leb128_len(rest.len()) + rest.len() < mtu;
                // Fragment only what would not fit a packet of its own anyway.
                let take = if fits_alone || space < 2 {
                    0
                } else {
                    (1..space).rev().find(|&k| leb128_len(k) + k <= space).unwrap_or(0)
                };
                if take > 0 {
                    let at = packet.data.len();
                    packet.data.extend_from_slice(&rest[..take]);
                    packet.elements.push(at..at + take);
                    rest = &rest[take..];
                }
                let first = out.is_empty();
                std::mem::replace(&mut packet, Building::new(take > 0)).finish(
                    take > 0,
                    first && new_sequence,
                    &mut out,
                );
            }
        }
        let first = out.is_empty();
        packet.finish(false, first && new_sequence, &mut out);
        if let Some(last) = out.last_mut() {
            last.marker = true;
        }
        Ok(out)
    }
}

/// The OBU elements of a payload after its aggregation header.
fn elements(payload: &[u8]) -> Result<(u8, Vec<&[u8]>), PayloadError> {
    let truncated = |what| PayloadError::Truncated { format: NAME, what };
    let (&header, mut rest) = payload.split_first().ok_or(truncated("empty payload"))?;
    let w = usize::from(header >> 4 & 0x03);
    let mut list = Vec::new();
    while !rest.is_empty() {
        if w != 0 && list.len() + 1 == w {
            list.push(rest);
            break;
        }
        let (len, n) = read_leb128(rest).ok_or(truncated("OBU element length"))?;
        let len = len as usize;
        if rest.len() - n < len {
            return Err(truncated("OBU element"));
        }
        list.push(&rest[n..n + len]);
        rest = &rest[n + len..];
    }
    if w != 0 && list.len() != w {
        return Err(truncated("fewer OBU elements than W says"));
    }
    if list.is_empty() {
        return Err(truncated("no OBU elements"));
    }
    if header & 0x80 != 0 && header & 0x08 != 0 {
        return Err(PayloadError::Malformed { format: NAME, what: "N=1 with Z=1" });
    }
    Ok((header, list))
}

/// The AV1 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Default)]
pub struct Av1 {
    /// Where the OBU still being received starts in the frame.
    open: Option<usize>,
}

/// A depacketizer of AV1.
pub type Av1Depacketizer = Depacketizer<Av1>;

impl Av1 {
    /// Turns the OBU received whole at `out[start..]` into its low-overhead
    /// form: with a size field, or removed if receivers must ignore it.
    fn close_obu(out: &mut Vec<u8>, start: usize) -> Result<(), PayloadError> {
        let malformed = |what| PayloadError::Malformed { format: NAME, what };
        let header = out[start];
        if header & 0x80 != 0 {
            return Err(malformed("OBU forbidden bit set"));
        }
        if matches!(obu_type(header), OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST) {
            out.truncate(start);
            return Ok(());
        }
        let header_len = if header & 0x04 != 0 { 2 } else { 1 };
        if out.len() - start < header_len {
            return Err(malformed("OBU extension header cut short"));
        }
        let body = start + header_len;
        if header & 0x02 != 0 {
            let (size, n) = read_leb128(&out[body..]).ok_or(malformed("OBU size field"))?;
            if out.len() - body - n != size as usize {
                return Err(malformed("OBU size field disagrees with its element"));
            }
            return Ok(());
        }
        let mut size = Vec::with_capacity(5);
        write_leb128((out.len() - body) as u32, &mut size);
        out[start] |= 0x02;
        out.splice(body..body, size);
        Ok(())
    }
}

impl PayloadFormat for Av1 {
    type Meta = ();
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        let (header, list) = elements(payload)?;
        let (z, n) = (header & 0x80 != 0, header & 0x08 != 0);
        let fresh = if z { &list[1..] } else { &list[..] };
        let keyframe = n || fresh.iter().any(|e| e.first().is_some_and(|&h| obu_type(h) == OBU_SEQUENCE_HEADER));
        let start = if z {
            Start::Continuation
        } else if n {
            Start::Definite
        } else if list[0].first().is_some_and(|&h| {
            // What a temporal unit opens with once its delimiter is stripped.
            matches!(obu_type(h), OBU_SEQUENCE_HEADER | OBU_TEMPORAL_DELIMITER | OBU_FRAME_HEADER | OBU_FRAME)
        }) {
            Start::Probable
        } else {
            Start::Unknown
        };
        Ok(PacketInfo { start, ends_frame: false, keyframe })
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        let (header, list) = elements(payload)?;
        let (z, y) = (header & 0x80 != 0, header & 0x40 != 0);
        if out.is_empty() {
            out.extend_from_slice(&TEMPORAL_DELIMITER);
        }
        let count = list.len();
        for (i, element) in list.into_iter().enumerate() {
            if i == 0 && z {
                if self.open.is_none() {
                    return Err(PayloadError::Malformed { format: NAME, what: "Z=1 but no OBU is open" });
                }
            } else if self.open.is_some() {
                return Err(PayloadError::Incomplete { format: NAME, what: "OBU (Y=1 but the next packet has Z=0)" });
            } else if element.is_empty() {
                continue;
            } else {
                self.open = Some(out.len());
            }
            out.extend_from_slice(element);
            if !(y && i + 1 == count) {
                if let Some(start) = self.open.take() {
                    Self::close_obu(out, start)?;
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        match self.open {
            Some(_) => Err(PayloadError::Incomplete { format: NAME, what: "OBU" }),
            None => Ok(()),
        }
    }

    fn reset(&mut self) {
        self.open = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Depacketized;

    #[test]
    fn leb128_values() {
        for v in [0u32, 1, 127, 128, 300, 16_383, 16_384, u32::MAX] {
            let mut out = Vec::new();
            write_leb128(v, &mut out);
            assert_eq!(out.len(), leb128_len(v as usize));
            assert_eq!(read_leb128(&out), Some((v, out.len())));
        }
        assert_eq!(read_leb128(&[0xe5, 0x8e, 0x26]), Some((624_485, 3)));
        // Non-minimal encodings are accepted; over 2^32 - 1 or unterminated is not.
        assert_eq!(read_leb128(&[0x81, 0x80, 0x00]), Some((1, 3)));
        assert_eq!(read_leb128(&[0x80, 0x80, 0x80, 0x80, 0x10]), None);
        assert_eq!(read_leb128(&[0x80; 9]), None);
        assert_eq!(read_leb128(&[]), None);
    }

    #[test]
    fn aggregation_header_and_elements() {
        // W=2: a sequence header with a length, then a frame OBU without one; N=1.
        let payload = [0x28, 0x03, 0x08, 0xaa, 0xbb, 0x30, 0x01, 0x02, 0x03];
        let info = Av1::default().inspect(&payload).unwrap();
        assert!(info.keyframe && info.start == Start::Definite);
        let mut d = Av1Depacketizer::default();
        d.push(&payload, true, 1, 0).unwrap();
        let Some(Depacketized::Frame(f)) = d.poll() else { panic!() };
        // A temporal delimiter first, then both OBUs with their size fields restored.
        assert_eq!(f.data[..], [0x12, 0x00, 0x0a, 0x02, 0xaa, 0xbb, 0x32, 0x03, 0x01, 0x02, 0x03]);

        // W=0: every element has a length.
        let payload = [0x00, 0x02, 0x30, 0x01, 0x02, 0x30, 0x02];
        let mut d = Av1Depacketizer::default();
        d.push(&payload, true, 1, 0).unwrap();
        let Some(Depacketized::Frame(f)) = d.poll() else { panic!() };
        assert_eq!(f.data[..], [0x12, 0x00, 0x32, 0x01, 0x01, 0x32, 0x01, 0x02]);
        assert!(!f.keyframe);

        for bad in [&[][..], &[0x00], &[0x00, 0x05, 0x30], &[0x30, 0x01, 0x30], &[0x88, 0x30], &[0x00, 0x80]] {
            assert!(Av1::default().inspect(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn an_obu_fragmented_across_packets() {
        // Y=1 then Z=1: a frame OBU in two parts; its extension header is kept.
        let mut d = Av1Depacketizer::default();
        d.push(&[0x50, 0x34, 0x20, 0x01, 0x02], false, 1, 0).unwrap();
        assert_eq!(Av1::default().inspect(&[0x90, 0x03, 0x04]).unwrap().start, Start::Continuation);
        d.push(&[0x90, 0x03, 0x04], true, 2, 0).unwrap();
        let Some(Depacketized::Frame(f)) = d.poll() else { panic!() };
        assert_eq!(f.data[..], [0x12, 0x00, 0x36, 0x20, 0x04, 0x01, 0x02, 0x03, 0x04]);
    }

    #[test]
    fn delimiters_and_tile_lists_are_not_sent() {
        let tu = [0x12, 0x00, 0x0a, 0x01, 0xee, 0x42, 0x01, 0x99, 0x32, 0x02, 0x05, 0x06];
        let out = Av1Packetizer::new().packetize(&tu, 1200).unwrap();
        assert_eq!(out.len(), 1);
        // N=1 (a sequence header), W=2; both OBUs without size fields.
        assert_eq!(out[0].data[..], [0x28, 0x02, 0x08, 0xee, 0x30, 0x05, 0x06]);
        assert!(out[0].marker);
        assert!(matches!(Av1Packetizer::new().packetize(&[0x12, 0x00], 1200), Err(PayloadError::EmptyFrame { .. })));
        assert!(Av1Packetizer::new().packetize(&[0x32, 0x05, 0x00], 1200).is_err());
    }
}
