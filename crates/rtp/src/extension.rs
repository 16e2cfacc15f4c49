//! RTP header extensions (RFC 8285).
//!
//! An RTP packet with the X bit set carries one extension block after its CSRC list: a
//! 16-bit "defined by profile" word, a length in 32-bit words, and the block itself. RFC 8285
//! fills the block with *elements*, each a local id (negotiated in SDP with `a=extmap`) and a
//! value, in one of two forms:
//! - one-byte (profile `0xBEDE`): a byte `id << 4 | (len - 1)` per element, so ids 1..=14
//!   and values of 1..=16 bytes; id 15 ends the block;
//! - two-byte (profile `0x100` followed by 4 application bits): an id byte and a length
//!   byte per element, so ids 1..=255 and values of 0..=255 bytes.
//!
//! In both forms a zero byte between elements is padding, and the block ends with zero
//! bytes up to a multiple of four.
//!
//! [`Extensions`] holds the elements of one packet: parsed from the wire it keeps the block
//! byte for byte (unknown ids included) and a compact list of `(id, range)`; edited or built
//! for sending, it lays the values out in the one-byte form when every element fits it and
//! in the two-byte form otherwise, which must be allowed first
//! ([`Extensions::set_two_byte_allowed`], after `a=extmap-allow-mixed`). Up to 16 elements
//! and 64 bytes of values are stored inline: a typical packet allocates nothing.
//!
//! [`ExtensionMap`] maps ids to URIs (from the SDP `a=extmap` lines) and reads and writes
//! the typed values of the [known extensions](ExtensionKind) ([`Mid`], [`AbsSendTime`],
//! [`TransportCc`], ...), all of which implement [`Extension`].
//!
//! ```
//! use rtp::extension::{AbsSendTime, ExtensionMap, Extensions, Mid, TransportCc};
//!
//! let mut map = ExtensionMap::new();
//! map.insert(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")?;
//! map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01")?;
//! map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid")?;
//!
//! let mut exts = Extensions::new();
//! map.write(&mut exts, &AbsSendTime(0x12_3456))?;
//! map.write(&mut exts, &TransportCc(7))?;
//! map.write(&mut exts, &Mid::new("0")?)?;
//! assert_eq!(exts.get(3), Some(&[0, 7][..]));
//! assert_eq!(map.read::<Mid>(&exts)?.map(|m| m.as_str()), Some("0"));
//! assert_eq!(map.read::<TransportCc>(&exts)?, Some(TransportCc(7)));
//! # Ok::<(), rtp::extension::ExtensionError>(())
//! ```

mod inline;
mod map;
mod typed;

pub use map::{ExtensionKind, ExtensionMap};
pub use typed::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Extension, Mid, PlayoutDelay, RepairedRtpStreamId, Rotation, RtpStreamId,
    TimeOffset, TransportCc, VideoOrientation,
};

use inline::InlineVec;

/// The "defined by profile" word of the one-byte form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The "defined by profile" word of the two-byte form with its appbits zero (RFC 8285
/// §4.3); the low 4 bits carry the appbits.
pub const TWO_BYTE_PROFILE: u16 = 0x1000;
/// The largest extension block body in bytes: the length field counts at most 65,535
/// 32-bit words.
pub const MAX_BLOCK_LEN: usize = 0xFFFF * 4;

/// Whether `profile` is the two-byte form (`0x100X`).
fn is_two_byte(profile: u16) -> bool {
    profile & 0xFFF0 == TWO_BYTE_PROFILE
}

/// Whether an element with this id and value length can only be written in the two-byte
/// form: ids above 14 and values that are empty or longer than 16 bytes.
pub fn needs_two_byte(id: u8, len: usize) -> bool {
    !(1..=14).contains(&id) || !(1..=16).contains(&len)
}

/// Why an extension block, element or value could not be read, or an element not written.
///
/// Parse errors are *noise*: the packet that carried them is dropped and counted. The
/// others are the caller's mistakes (an id the map lacks, a value out of range).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// An element's value runs past the end of the extension block.
    #[error("RTP header extension element id {id} claims {len} bytes but only {available} remain in the block")]
    Truncated {
        /// The element's id.
        id: u8,
        /// The length its header claims.
        len: usize,
        /// The bytes left in the block after its header.
        available: usize,
    },
    /// A two-byte element's id is the block's last byte: its length byte is missing.
    #[error("RTP header extension element id {0} is cut off before its length byte (two-byte form)")]
    HeaderTruncated(u8),
    /// Id 0 is padding and cannot name an element.
    #[error("RTP header extension id 0 is reserved for padding")]
    InvalidId,
    /// A value longer than the two-byte form's 255 bytes.
    #[error("RTP header extension value for id {id} is {len} bytes; at most 255 fit an element")]
    ValueTooLong {
        /// The element's id.
        id: u8,
        /// The value's length.
        len: usize,
    },
    /// The element needs the two-byte form (id above 14, value empty or over 16 bytes),
    /// which is not allowed for this packet.
    #[error(
        "RTP header extension id {id} with a {len}-byte value needs the two-byte form, which is not allowed \
         (negotiate a=extmap-allow-mixed, or use ids 1..=14 and values of 1..=16 bytes)"
    )]
    TwoByteNotAllowed {
        /// The element's id.
        id: u8,
        /// The value's length.
        len: usize,
    },
    /// Two-byte elements cannot be turned off while some element needs them.
    #[error("RTP header extension id {id} with a {len}-byte value is present and needs the two-byte form")]
    TwoByteInUse {
        /// The element's id.
        id: u8,
        /// The value's length.
        len: usize,
    },
    /// The elements would not fit one extension block (65,535 words).
    #[error("RTP header extension block of {0} bytes is longer than the {MAX_BLOCK_LEN} an RTP header can carry")]
    BlockTooLong(usize),
    /// The packet's extension block is not RFC 8285 (profile other than `0xBEDE` and
    /// `0x100X`): it is kept and written back as is, but has no elements to edit.
    #[error("RTP header extension profile 0x{0:04x} is not RFC 8285 (0xBEDE or 0x100X); it has no elements to edit")]
    NotRfc8285(u16),
    /// A known extension's value has a length its format does not allow.
    #[error("RTP header extension {uri}: {len}-byte value, expected {expected}")]
    WrongLength {
        /// The extension's URI.
        uri: &'static str,
        /// The value's length.
        len: usize,
        /// The lengths the format allows.
        expected: &'static str,
    },
    /// A known extension's value (read or to be written) is out of its range.
    #[error("RTP header extension {uri}: {reason}")]
    InvalidValue {
        /// The extension's URI.
        uri: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// The extension map has no id for this URI: it was not negotiated.
    #[error("RTP header extension {0} has no id in the extension map (not negotiated)")]
    NotMapped(&'static str),
    /// An `a=extmap` id already names another URI.
    #[error("RTP header extension id {id} is already mapped to {uri}")]
    IdInUse {
        /// The id.
        id: u8,
        /// The URI it names.
        uri: String,
    },
}

/// One element: its id and where its value lies in [`Extensions::data`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Element {
    offset: u32,
    id: u8,
    len: u8,
}

impl Element {
    fn range(self) -> std::ops::Range<usize> {
        let start = self.offset as usize;
        start..start + self.len as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// No extension block: the X bit is clear.
    Absent,
    /// `data` is the block body exactly as received and is written back unchanged.
    Wire { profile: u16 },
    /// `data` holds the element values; the writer lays them out.
    Packed,
}

/// The header extension elements of one RTP packet.
///
/// Parsed ([`Extensions::parse`]) it writes back byte for byte, padding and unknown ids
/// included, until an element is added, removed or resized; a value overwritten with one
/// of the same length keeps the received layout. Built or edited, it is written in the
/// one-byte form when every element fits it (ids 1..=14, 1..=16 bytes), in the two-byte
/// form otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extensions {
    layout: Layout,
    data: InlineVec<u8, 64>,
    elements: InlineVec<Element, 8>,
    appbits: u8,
    two_byte_allowed: bool,
}

impl Default for Extensions {
    fn default() -> Self {
        Self::new()
    }
}

impl Extensions {
    /// No elements, one-byte form only.
    pub fn new() -> Self {
        Self {
            layout: Layout::Absent,
            data: InlineVec::new(),
            elements: InlineVec::new(),
            appbits: 0,
            two_byte_allowed: false,
        }
    }

    /// Parses an extension block: `profile` is its "defined by profile" word and `block` the
    /// body that follows the length word (a multiple of 4 bytes in a packet).
    ///
    /// In the one-byte form a zero id is a padding byte (whatever its length nibble) and id
    /// 15 ends the elements (RFC 8285 §4.2); in the two-byte form a zero byte is padding. A
    /// profile that is neither form is kept as an opaque block with no elements. A parsed
    /// two-byte block allows two-byte elements. A block whose length is not a multiple of 4
    /// (never the case in a packet) is kept padded with zeros.
    #[inline]
    pub fn parse(profile: u16, block: &[u8]) -> Result<Self, ExtensionError> {
        if block.len() > MAX_BLOCK_LEN {
            return Err(ExtensionError::BlockTooLong(block.len()));
        }
        let mut exts = Self::new();
        exts.layout = Layout::Wire { profile };
        exts.data.extend_from_slice(block);
        exts.data.grow(block.len().next_multiple_of(4) - block.len());
        if profile == ONE_BYTE_PROFILE {
            parse_one_byte(block, &mut exts.elements)?;
        } else if is_two_byte(profile) {
            exts.appbits = (profile & 0xF) as u8;
            exts.two_byte_allowed = true;
            parse_two_byte(block, &mut exts.elements)?;
        }
        Ok(exts)
    }

    /// Whether the packet carries an extension block (the X bit). A parsed empty block
    /// counts; a built one without elements does not.
    pub fn is_present(&self) -> bool {
        match self.layout {
            Layout::Absent => false,
            Layout::Wire { .. } => true,
            Layout::Packed => self.elements.len() > 0,
        }
    }

    /// The number of elements (duplicates of an id included).
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.elements.len() == 0
    }

    /// The value of the first element with this id.
    pub fn get(&self, id: u8) -> Option<&[u8]> {
        self.elements.as_slice().iter().find(|e| e.id == id).map(|e| &self.data.as_slice()[e.range()])
    }

    /// Whether an element with this id is present.
    pub fn contains(&self, id: u8) -> bool {
        self.elements.as_slice().iter().any(|e| e.id == id)
    }

    /// The elements as `(id, value)`, in packet order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, &[u8])> + '_ {
        self.elements.as_slice().iter().map(|e| (e.id, &self.data.as_slice()[e.range()]))
    }

    /// The "defined by profile" word the block is written with (`0xBEDE`, `0x100X` or, for a
    /// parsed non-RFC 8285 block, what it had), or `None` when no block is written.
    pub fn profile(&self) -> Option<u16> {
        match self.layout {
            Layout::Absent => None,
            Layout::Wire { profile } => Some(profile),
            Layout::Packed if self.is_empty() => None,
            Layout::Packed if self.fits_one_byte() => Some(ONE_BYTE_PROFILE),
            Layout::Packed => Some(TWO_BYTE_PROFILE | self.appbits as u16),
        }
    }

    /// The appbits of the two-byte form (RFC 8285 §4.3): as received, else 0.
    pub fn appbits(&self) -> u8 {
        self.appbits
    }

    /// Whether elements that need the two-byte form may be added.
    pub fn two_byte_allowed(&self) -> bool {
        self.two_byte_allowed
    }

    /// Allows or forbids elements that need the two-byte form (ids above 14, values that
    /// are empty or over 16 bytes). Allow them when the session negotiated
    /// `a=extmap-allow-mixed` (RFC 8285) or uses ids above 14. Forbidding fails while
    /// such an element is present.
    pub fn set_two_byte_allowed(&mut self, allowed: bool) -> Result<(), ExtensionError> {
        if !allowed {
            if let Some(e) = self.elements.as_slice().iter().find(|e| needs_two_byte(e.id, e.len as usize)) {
                return Err(ExtensionError::TwoByteInUse { id: e.id, len: e.len as usize });
            }
        }
        self.two_byte_allowed = allowed;
        Ok(())
    }

    /// Sets the value of `id`: it takes the place of the first element with that id (and
    /// any later duplicates go) or comes last.
    pub fn set(&mut self, id: u8, value: &[u8]) -> Result<(), ExtensionError> {
        self.set_with(id, value.len(), |out| out.copy_from_slice(value))
    }

    /// Sets the value of `id` to `len` bytes that `write` fills in.
    pub(crate) fn set_with(&mut self, id: u8, len: usize, write: impl FnOnce(&mut [u8])) -> Result<(), ExtensionError> {
        if id == 0 {
            return Err(ExtensionError::InvalidId);
        }
        if len > 255 {
            return Err(ExtensionError::ValueTooLong { id, len });
        }
        if needs_two_byte(id, len) && !self.two_byte_allowed {
            return Err(ExtensionError::TwoByteNotAllowed { id, len });
        }
        if let Layout::Wire { profile } = self.layout {
            if profile != ONE_BYTE_PROFILE && !is_two_byte(profile) {
                return Err(ExtensionError::NotRfc8285(profile));
            }
        }
        let mut same_id = self.elements.as_slice().iter().copied().filter(|e| e.id == id);
        if let (Some(e), None) = (same_id.next(), same_id.next()) {
            if e.len as usize == len {
                // The only element with this id, same length: overwrite in place, keeping
                // the received layout if there is one.
                write(&mut self.data.as_mut_slice()[e.range()]);
                return Ok(());
            }
        }
        let one_byte = !needs_two_byte(id, len)
            && self.elements.as_slice().iter().all(|e| e.id == id || !needs_two_byte(e.id, e.len as usize));
        let header = if one_byte { 1 } else { 2 };
        let body: usize = self.elements.as_slice().iter().filter(|e| e.id != id).map(|e| header + e.len as usize).sum();
        let total = (body + header + len).next_multiple_of(4);
        if total > MAX_BLOCK_LEN {
            return Err(ExtensionError::BlockTooLong(total));
        }
        self.repack(Some((id, len, write)), None);
        Ok(())
    }

    /// Removes every element with this id; returns whether there was one.
    pub fn remove(&mut self, id: u8) -> bool {
        if !self.contains(id) {
            return false;
        }
        self.repack(None::<(u8, usize, fn(&mut [u8]))>, Some(id));
        true
    }

    /// Removes every element (and a parsed block): the X bit will be clear. Whether two-byte
    /// elements are allowed is kept.
    pub fn clear(&mut self) {
        self.layout = Layout::Absent;
        self.data.clear();
        self.elements.clear();
        self.appbits = 0;
    }

    /// Lays the values out afresh, packed in element order: `insert` replaces the first
    /// element with its id (or is appended), later duplicates of that id and every element
    /// with id `drop` go away.
    fn repack(&mut self, insert: Option<(u8, usize, impl FnOnce(&mut [u8]))>, drop: Option<u8>) {
        let mut data: InlineVec<u8, 64> = InlineVec::new();
        let mut elements: InlineVec<Element, 8> = InlineVec::new();
        let (new_id, mut insert) = match insert {
            Some((id, len, write)) => (Some(id), Some((len, write))),
            None => (None, None),
        };
        let old = self.data.as_slice();
        for e in self.elements.as_slice() {
            if Some(e.id) == drop {
                continue;
            }
            let offset = data.len() as u32;
            if Some(e.id) == new_id {
                if let Some((len, write)) = insert.take() {
                    write(data.grow(len));
                    elements.push(Element { offset, id: e.id, len: len as u8 });
                }
                continue;
            }
            data.extend_from_slice(&old[e.range()]);
            elements.push(Element { offset, ..*e });
        }
        if let (Some(id), Some((len, write))) = (new_id, insert) {
            let offset = data.len() as u32;
            write(data.grow(len));
            elements.push(Element { offset, id, len: len as u8 });
        }
        self.data = data;
        self.elements = elements;
        self.layout = Layout::Packed;
    }

    fn fits_one_byte(&self) -> bool {
        self.elements.as_slice().iter().all(|e| !needs_two_byte(e.id, e.len as usize))
    }

    /// The bytes the block takes in a packet, its 4-byte header included (0 when absent).
    pub fn encoded_len(&self) -> usize {
        match self.layout {
            Layout::Absent => 0,
            Layout::Wire { .. } => 4 + self.data.len(),
            Layout::Packed if self.is_empty() => 0,
            Layout::Packed => {
                let header = if self.fits_one_byte() { 1 } else { 2 };
                let body: usize = self.elements.as_slice().iter().map(|e| header + e.len as usize).sum();
                4 + body.next_multiple_of(4)
            }
        }
    }

    /// Writes the block (header and body) to the start of `out`, which holds at least
    /// [`encoded_len`](Self::encoded_len) bytes; returns the bytes written.
    pub(crate) fn write_to(&self, out: &mut [u8]) -> usize {
        let Some(profile) = self.profile() else {
            return 0;
        };
        let len = self.encoded_len();
        let out = &mut out[..len];
        out[0..2].copy_from_slice(&profile.to_be_bytes());
        out[2..4].copy_from_slice(&(((len - 4) / 4) as u16).to_be_bytes());
        if let Layout::Wire { .. } = self.layout {
            out[4..].copy_from_slice(self.data.as_slice());
            return len;
        }
        let one_byte = profile == ONE_BYTE_PROFILE;
        let mut at = 4;
        for (id, value) in self.iter() {
            if one_byte {
                out[at] = id << 4 | (value.len() - 1) as u8;
                at += 1;
            } else {
                out[at] = id;
                out[at + 1] = value.len() as u8;
                at += 2;
            }
            out[at..at + value.len()].copy_from_slice(value);
            at += value.len();
        }
        out[at..].fill(0);
        len
    }
}

fn parse_one_byte(block: &[u8], elements: &mut InlineVec<Element, 8>) -> Result<(), ExtensionError> {
    let mut at = 0;
    while at < block.len() {
        let id = block[at] >> 4;
        if id == 0 {
            at += 1;
            continue;
        }
        if id == 15 {
            break;
        }
        let len = (block[at] & 0x0F) as usize + 1;
        let start = at + 1;
        let available = block.len() - start;
        if len > available {
            return Err(ExtensionError::Truncated { id, len, available });
        }
        elements.push(Element { offset: start as u32, id, len: len as u8 });
        at = start + len;
    }
    Ok(())
}

fn parse_two_byte(block: &[u8], elements: &mut InlineVec<Element, 8>) -> Result<(), ExtensionError> {
    let mut at = 0;
    while at < block.len() {
        let id = block[at];
        if id == 0 {
            at += 1;
            continue;
        }
        let Some(&len) = block.get(at + 1) else {
            return Err(ExtensionError::HeaderTruncated(id));
        };
        let start = at + 2;
        let available = block.len() - start;
        if len as usize > available {
            return Err(ExtensionError::Truncated { id, len: len as usize, available });
        }
        elements.push(Element { offset: start as u32, id, len });
        at = start + len as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(exts: &Extensions) -> Vec<u8> {
        let mut out = vec![0xAA; exts.encoded_len()];
        assert_eq!(exts.write_to(&mut out), out.len());
        out
    }

    fn reparsed(wire: &[u8]) -> Extensions {
        let profile = u16::from_be_bytes([wire[0], wire[1]]);
        let words = u16::from_be_bytes([wire[2], wire[3]]) as usize;
        assert_eq!(wire.len(), 4 + words * 4);
        Extensions::parse(profile, &wire[4..]).unwrap()
    }

    /// RFC 8285 §4.2, the one-byte example: elements of 1, 2 and 4 bytes, two padding bytes
    /// between the second and the third.
    #[test]
    fn rfc8285_one_byte_example() {
        let block = [0x10, 0xA1, 0x21, 0xB1, 0xB2, 0x00, 0x00, 0x33, 0xC1, 0xC2, 0xC3, 0xC4];
        let exts = Extensions::parse(ONE_BYTE_PROFILE, &block).unwrap();
        let got: Vec<_> = exts.iter().collect();
        assert_eq!(got, [(1, &[0xA1][..]), (2, &[0xB1, 0xB2][..]), (3, &[0xC1, 0xC2, 0xC3, 0xC4][..])]);
        assert_eq!(exts.profile(), Some(0xBEDE));
        assert!(!exts.two_byte_allowed());
        // Written back as received, padding in the middle included.
        assert_eq!(written(&exts), [&[0xBE, 0xDE, 0, 3][..], &block].concat());
        // Laid out afresh, the padding moves to the end.
        let mut packed = Extensions::new();
        for (id, value) in exts.iter() {
            packed.set(id, value).unwrap();
        }
        let wire = written(&packed);
        assert_eq!(wire, [0xBE, 0xDE, 0, 3, 0x10, 0xA1, 0x21, 0xB1, 0xB2, 0x33, 0xC1, 0xC2, 0xC3, 0xC4, 0, 0]);
        assert_eq!(reparsed(&wire).iter().collect::<Vec<_>>(), got);
    }

    /// RFC 8285 §4.3, the two-byte example: an empty element, a 1-byte one, a padding byte
    /// and a 4-byte one.
    #[test]
    fn rfc8285_two_byte_example() {
        let block = [0x01, 0x00, 0x02, 0x01, 0xB1, 0x00, 0x03, 0x04, 0xC1, 0xC2, 0xC3, 0xC4];
        let exts = Extensions::parse(0x1000, &block).unwrap();
        let got: Vec<_> = exts.iter().collect();
        assert_eq!(got, [(1, &[][..]), (2, &[0xB1][..]), (3, &[0xC1, 0xC2, 0xC3, 0xC4][..])]);
        assert!(exts.two_byte_allowed());
        assert_eq!(exts.appbits(), 0);
        assert_eq!(written(&exts), [&[0x10, 0x00, 0, 3][..], &block].concat());
        // The empty element keeps it in the two-byte form when laid out afresh.
        let mut edited = exts.clone();
        edited.set(4, &[0xD1]).unwrap();
        let wire = written(&edited);
        assert_eq!(wire[..4], [0x10, 0x00, 0, 4]);
        let back = reparsed(&wire);
        assert_eq!(back.iter().collect::<Vec<_>>(), [got, vec![(4, &[0xD1][..])]].concat());
    }

    #[test]
    fn two_byte_appbits_are_kept() {
        let exts = Extensions::parse(0x100A, &[0x05, 0x01, 0x77, 0x00]).unwrap();
        assert_eq!(exts.appbits(), 0xA);
        assert_eq!(exts.get(5), Some(&[0x77][..]));
        let mut edited = exts.clone();
        edited.set(200, &[1, 2]).unwrap();
        assert_eq!(edited.profile(), Some(0x100A));
        assert_eq!(written(&edited), [0x10, 0x0A, 0, 2, 0x05, 0x01, 0x77, 200, 2, 1, 2, 0]);
    }

    #[test]
    fn id_15_ends_the_one_byte_block() {
        // Element 1, then id 15 (its length nibble ignored), then bytes that look like an
        // element and a truncated one: neither is read.
        let block = [0x10, 0xAA, 0xF7, 0x20, 0xBB, 0x3F, 0x00, 0x00];
        let exts = Extensions::parse(ONE_BYTE_PROFILE, &block).unwrap();
        assert_eq!(exts.iter().collect::<Vec<_>>(), [(1, &[0xAA][..])]);
        assert!(!exts.contains(2));
        assert_eq!(written(&exts)[4..], block);
    }

    #[test]
    fn padding_bytes_are_skipped_in_both_forms() {
        let one = Extensions::parse(ONE_BYTE_PROFILE, &[0, 0, 0x10, 0x01, 0, 0x20, 0x02, 0]).unwrap();
        assert_eq!(one.iter().collect::<Vec<_>>(), [(1, &[1][..]), (2, &[2][..])]);
        // An id-0 byte with a length nibble is one padding byte too.
        let odd = Extensions::parse(ONE_BYTE_PROFILE, &[0x05, 0x10, 0x01, 0]).unwrap();
        assert_eq!(odd.iter().collect::<Vec<_>>(), [(1, &[1][..])]);
        let two = Extensions::parse(0x1000, &[0, 0, 9, 1, 0x99, 0, 0, 0]).unwrap();
        assert_eq!(two.iter().collect::<Vec<_>>(), [(9, &[0x99][..])]);
        let empty = Extensions::parse(ONE_BYTE_PROFILE, &[]).unwrap();
        assert!(empty.is_present() && empty.is_empty());
        assert_eq!(written(&empty), [0xBE, 0xDE, 0, 0]);
    }

    #[test]
    fn truncated_elements_are_errors() {
        assert_eq!(
            Extensions::parse(ONE_BYTE_PROFILE, &[0x13, 1, 2, 3]),
            Err(ExtensionError::Truncated { id: 1, len: 4, available: 3 })
        );
        assert_eq!(
            Extensions::parse(ONE_BYTE_PROFILE, &[0x10, 1, 0, 0x20]),
            Err(ExtensionError::Truncated { id: 2, len: 1, available: 0 })
        );
        assert_eq!(
            Extensions::parse(0x1000, &[7, 4, 1, 2]),
            Err(ExtensionError::Truncated { id: 7, len: 4, available: 2 })
        );
        assert_eq!(Extensions::parse(0x1000, &[1, 1, 5, 7]), Err(ExtensionError::HeaderTruncated(7)));
        let msg = ExtensionError::Truncated { id: 7, len: 4, available: 2 }.to_string();
        assert!(msg.contains("id 7") && msg.contains("4 bytes") && msg.contains('2'), "{msg}");
    }

    #[test]
    fn blocks_outside_a_packet_are_aligned_and_bounded() {
        let exts = Extensions::parse(ONE_BYTE_PROFILE, &[0x10, 0xAB, 0x20]).unwrap_err();
        assert_eq!(exts, ExtensionError::Truncated { id: 2, len: 1, available: 0 });
        let exts = Extensions::parse(ONE_BYTE_PROFILE, &[0x10, 0xAB, 0x00]).unwrap();
        assert_eq!(written(&exts), [0xBE, 0xDE, 0, 1, 0x10, 0xAB, 0, 0], "padded to the word");
        let opaque = Extensions::parse(0x0001, &[1, 2, 3, 4, 5]).unwrap();
        assert_eq!(written(&opaque), [0, 1, 0, 2, 1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(
            Extensions::parse(0x0001, &vec![0; MAX_BLOCK_LEN + 1]),
            Err(ExtensionError::BlockTooLong(MAX_BLOCK_LEN + 1))
        );
    }

    #[test]
    fn other_profiles_are_opaque() {
        let block = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut exts = Extensions::parse(0xABCD, &block).unwrap();
        assert!(exts.is_present() && exts.is_empty());
        assert_eq!(exts.profile(), Some(0xABCD));
        assert_eq!(written(&exts), [&[0xAB, 0xCD, 0, 2][..], &block].concat());
        assert_eq!(exts.set(1, &[1]), Err(ExtensionError::NotRfc8285(0xABCD)));
        assert!(!exts.remove(1));
        exts.clear();
        exts.set(1, &[1]).unwrap();
        assert_eq!(written(&exts), [0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0]);
    }

    #[test]
    fn writer_picks_one_byte_when_everything_fits() {
        let mut exts = Extensions::new();
        assert!(!exts.is_present());
        assert_eq!(exts.profile(), None);
        assert_eq!(exts.encoded_len(), 0);
        exts.set(1, &[0xA]).unwrap();
        exts.set(14, &[0xB; 16]).unwrap();
        assert_eq!(exts.profile(), Some(ONE_BYTE_PROFILE));
        let wire = written(&exts);
        assert_eq!(wire.len(), 4 + 20);
        assert_eq!(wire[..8], [0xBE, 0xDE, 0, 5, 0x10, 0xA, 0xEF, 0xB]);
        assert_eq!(reparsed(&wire).iter().collect::<Vec<_>>(), exts.iter().collect::<Vec<_>>());
    }

    #[test]
    fn two_byte_form_only_when_allowed() {
        let mut exts = Extensions::new();
        for (id, len) in [(15u8, 1usize), (200, 1), (1, 0), (1, 17), (0, 1)] {
            let err = exts.set(id, &vec![1; len]).unwrap_err();
            if id == 0 {
                assert_eq!(err, ExtensionError::InvalidId);
            } else {
                assert_eq!(err, ExtensionError::TwoByteNotAllowed { id, len });
                assert!(err.to_string().contains("extmap-allow-mixed"));
            }
        }
        assert!(exts.is_empty());
        exts.set_two_byte_allowed(true).unwrap();
        exts.set(1, &[1]).unwrap();
        assert_eq!(exts.profile(), Some(ONE_BYTE_PROFILE), "one-byte while everything fits");
        exts.set(15, &[2, 2]).unwrap();
        assert_eq!(exts.profile(), Some(TWO_BYTE_PROFILE));
        assert_eq!(written(&exts), [0x10, 0x00, 0, 2, 1, 1, 1, 15, 2, 2, 2, 0]);
        assert_eq!(exts.set_two_byte_allowed(false), Err(ExtensionError::TwoByteInUse { id: 15, len: 2 }));
        assert!(exts.remove(15));
        exts.set_two_byte_allowed(false).unwrap();
        assert_eq!(written(&exts), [0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0]);
        exts.set_two_byte_allowed(true).unwrap();
        assert_eq!(exts.set(3, &[0; 256]), Err(ExtensionError::ValueTooLong { id: 3, len: 256 }));
        exts.set(3, &[]).unwrap();
        exts.set(4, &[7; 255]).unwrap();
        let back = reparsed(&written(&exts));
        assert_eq!(back.get(3), Some(&[][..]));
        assert_eq!(back.get(4), Some(&[7; 255][..]));
    }

    #[test]
    fn block_too_long_is_refused() {
        let mut exts = Extensions::new();
        exts.set_two_byte_allowed(true).unwrap();
        for id in 1..=255u8 {
            exts.set(id, &[id; 255]).unwrap();
        }
        // 255 elements of 257 bytes still fit; a duplicate-free map cannot go further.
        assert!(exts.encoded_len() <= 4 + MAX_BLOCK_LEN);
        // A received block full of 17-byte one-byte elements grows past the limit when a
        // two-byte element turns every header into two bytes.
        let mut block = vec![0x1F; (MAX_BLOCK_LEN / 17) * 17];
        block.resize(MAX_BLOCK_LEN, 0);
        let mut wire_exts = Extensions::parse(ONE_BYTE_PROFILE, &block).unwrap();
        assert_eq!(wire_exts.len(), MAX_BLOCK_LEN / 17);
        wire_exts.set_two_byte_allowed(true).unwrap();
        assert!(matches!(wire_exts.set(200, &[1; 200]), Err(ExtensionError::BlockTooLong(_))));
    }

    #[test]
    fn set_replaces_and_remove_drops() {
        let block = [0x10, 0xAA, 0x21, 0xB1, 0xB2, 0x10, 0xCC, 0x00];
        let mut exts = Extensions::parse(ONE_BYTE_PROFILE, &block).unwrap();
        assert_eq!(exts.len(), 3, "duplicates are kept");
        assert_eq!(exts.get(1), Some(&[0xAA][..]), "the first of a duplicated id wins");
        // Same length: in place, the wire layout stays.
        exts.set(2, &[0xD1, 0xD2]).unwrap();
        assert_eq!(written(&exts)[4..], [0x10, 0xAA, 0x21, 0xD1, 0xD2, 0x10, 0xCC, 0x00]);
        // A duplicated id is laid out afresh even at the same length: one element remains.
        let mut dup = exts.clone();
        dup.set(1, &[0xEE]).unwrap();
        assert_eq!(dup.iter().collect::<Vec<_>>(), [(1, &[0xEE][..]), (2, &[0xD1, 0xD2][..])]);
        // Another length: laid out afresh, in the first one's place, the duplicate gone.
        exts.set(1, &[0xE1, 0xE2, 0xE3]).unwrap();
        assert_eq!(exts.iter().collect::<Vec<_>>(), [(1, &[0xE1, 0xE2, 0xE3][..]), (2, &[0xD1, 0xD2][..])]);
        assert_eq!(written(&exts), [0xBE, 0xDE, 0, 2, 0x12, 0xE1, 0xE2, 0xE3, 0x21, 0xD1, 0xD2, 0]);
        assert!(exts.remove(1));
        assert!(!exts.remove(1));
        assert_eq!(exts.iter().collect::<Vec<_>>(), [(2, &[0xD1, 0xD2][..])]);
        assert!(exts.remove(2));
        assert!(!exts.is_present(), "an emptied block is not written");
        assert_eq!(exts.encoded_len(), 0);
        assert_eq!(written(&exts), Vec::<u8>::new());
    }

    #[test]
    fn many_elements_spill_and_round_trip() {
        let mut exts = Extensions::new();
        exts.set_two_byte_allowed(true).unwrap();
        for id in 1..=40u8 {
            exts.set(id, &vec![id; id as usize % 20]).unwrap();
        }
        assert_eq!(exts.len(), 40);
        let back = reparsed(&written(&exts));
        assert_eq!(back.iter().collect::<Vec<_>>(), exts.iter().collect::<Vec<_>>());
        assert_eq!(back.get(33), Some(&[33; 13][..]));
    }

    #[test]
    fn needs_two_byte_bounds() {
        assert!(!needs_two_byte(1, 1));
        assert!(!needs_two_byte(14, 16));
        assert!(needs_two_byte(15, 1));
        assert!(needs_two_byte(0, 1));
        assert!(needs_two_byte(1, 0));
        assert!(needs_two_byte(1, 17));
    }
}
