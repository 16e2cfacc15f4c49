//! Source description, SDES (RFC 3550 §6.5), packet type 202: per source (a
//! chunk), a list of items such as the CNAME that ties a participant's
//! streams together.
//!
//! ```text
//! |V=2|P|    SC   |  PT=SDES=202  |             length            |
//! |                          SSRC/CSRC_1                          |
//! |     type      |    length     |  text (length bytes) ...      |
//! |     ...       |  0 (END) and null octets to the next 32 bits  |
//! |                          SSRC/CSRC_2 ...                      |
//! ```

use super::header::{u32_at, write_packet, MAX_COUNT};
use super::{RtcpError, PT_SDES};

const NAME: &str = "SDES";

/// One SDES item: its type and its value (UTF-8 text on the wire, kept as bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// The item type: one of the constants below, or another registered type.
    /// Type 0 is the END marker and cannot be an item.
    pub kind: u8,
    /// The value, at most 255 bytes.
    pub value: Vec<u8>,
}

impl SdesItem {
    /// Canonical end-point identifier, the one item every compound must carry.
    pub const CNAME: u8 = 1;
    /// User name.
    pub const NAME: u8 = 2;
    /// Electronic mail address.
    pub const EMAIL: u8 = 3;
    /// Phone number.
    pub const PHONE: u8 = 4;
    /// Geographic user location.
    pub const LOC: u8 = 5;
    /// Application or tool name.
    pub const TOOL: u8 = 6;
    /// Notice or status.
    pub const NOTE: u8 = 7;
    /// Private extension (prefix length, prefix, value; kept whole in `value`).
    pub const PRIV: u8 = 8;

    /// An item of `kind` with a text value.
    pub fn text(kind: u8, value: &str) -> Self {
        SdesItem { kind, value: value.as_bytes().to_vec() }
    }

    /// The value as text, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

/// The items describing one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its items, in wire order.
    pub items: Vec<SdesItem>,
}

/// A source description packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sdes {
    /// One chunk per source, at most 31.
    pub chunks: Vec<SdesChunk>,
}

impl Sdes {
    /// An SDES with one chunk holding only a CNAME, as a compound packet carries.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Sdes { chunks: vec![SdesChunk { ssrc, items: vec![SdesItem::text(SdesItem::CNAME, cname)] }] }
    }

    /// The CNAME of each chunk that has one, as `(ssrc, cname bytes)`.
    pub fn cnames(&self) -> impl Iterator<Item = (u32, &[u8])> + '_ {
        self.chunks
            .iter()
            .filter_map(|c| c.items.iter().find(|i| i.kind == SdesItem::CNAME).map(|i| (c.ssrc, i.value.as_slice())))
    }

    /// Parses the body (after the header, padding removed); `count` is SC.
    pub(crate) fn parse(count: u8, body: &[u8]) -> Result<Self, RtcpError> {
        let mut chunks = Vec::with_capacity(count as usize);
        let mut at = 0;
        for _ in 0..count {
            if body.len() - at < 4 {
                return Err(RtcpError::CountMismatch {
                    packet: NAME,
                    item: "chunks",
                    count: count as usize,
                    present: chunks.len(),
                });
            }
            let ssrc = u32_at(body, at);
            at += 4;
            let mut items = Vec::new();
            loop {
                let Some(&kind) = body.get(at) else {
                    return Err(RtcpError::malformed(NAME, "chunk ends without an END item"));
                };
                if kind == 0 {
                    // END, then null octets up to the next 32-bit boundary
                    // (chunks start on one: the body does).
                    at = (at + 4) & !3;
                    if at > body.len() {
                        return Err(RtcpError::malformed(NAME, "chunk not padded to 32 bits after its END item"));
                    }
                    break;
                }
                if body.len() - at < 2 {
                    return Err(RtcpError::malformed(NAME, "item header runs past the packet"));
                }
                let len = body[at + 1] as usize;
                if body.len() - at - 2 < len {
                    return Err(RtcpError::malformed(NAME, "item value runs past the packet"));
                }
                items.push(SdesItem { kind, value: body[at + 2..at + 2 + len].to_vec() });
                at += 2 + len;
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        if at != body.len() {
            return Err(RtcpError::malformed(NAME, "bytes after the chunks the source count announces"));
        }
        Ok(Sdes { chunks })
    }

    /// Appends the packet to `out`; fails on more than 31 chunks, an item of
    /// type 0 or a value longer than 255 bytes.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        if self.chunks.len() > MAX_COUNT as usize {
            return Err(RtcpError::unencodable(NAME, "more than 31 chunks"));
        }
        write_packet(out, NAME, self.chunks.len() as u8, PT_SDES, |out| {
            for chunk in &self.chunks {
                let start = out.len();
                out.extend_from_slice(&chunk.ssrc.to_be_bytes());
                for item in &chunk.items {
                    if item.kind == 0 {
                        return Err(RtcpError::unencodable(NAME, "item type 0 is the END marker"));
                    }
                    let len = u8::try_from(item.value.len())
                        .map_err(|_| RtcpError::unencodable(NAME, "item value longer than 255 bytes"))?;
                    out.extend_from_slice(&[item.kind, len]);
                    out.extend_from_slice(&item.value);
                }
                // END and null octets to the chunk's next 32-bit boundary.
                let len = out.len() - start + 1;
                out.resize(start + ((len + 3) & !3), 0);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cname_chunk_layout() {
        let mut out = Vec::new();
        Sdes::cname(0x0102_0304, "abc").write(&mut out).unwrap();
        // SSRC, CNAME(3) "abc", END: 4 + 5 + 1 = 10, padded to 12.
        assert_eq!(out, [0x81, 202, 0, 3, 1, 2, 3, 4, 1, 3, b'a', b'b', b'c', 0, 0, 0]);
        let parsed = Sdes::parse(1, &out[4..]).unwrap();
        assert_eq!(parsed, Sdes::cname(0x0102_0304, "abc"));
        assert_eq!(parsed.cnames().collect::<Vec<_>>(), vec![(0x0102_0304, &b"abc"[..])]);
        assert_eq!(parsed.chunks[0].items[0].as_str(), Some("abc"));
    }

    #[test]
    fn aligned_items_still_get_a_full_null_word() {
        // 4 + 2 + 2 = 8 bytes of items: END needs a new word of nulls.
        let mut out = Vec::new();
        Sdes::cname(1, "ab").write(&mut out).unwrap();
        assert_eq!(&out[4..], &[0, 0, 0, 1, 1, 2, b'a', b'b', 0, 0, 0, 0]);
        // A chunk without items is its SSRC and one null word.
        out.clear();
        Sdes { chunks: vec![SdesChunk { ssrc: 5, items: vec![] }] }.write(&mut out).unwrap();
        assert_eq!(out, [0x81, 202, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0]);
        assert_eq!(Sdes::parse(1, &out[4..]).unwrap().chunks[0].items, vec![]);
    }

    #[test]
    fn several_chunks_and_items() {
        let sdes = Sdes {
            chunks: vec![
                SdesChunk {
                    ssrc: 1,
                    items: vec![
                        SdesItem::text(SdesItem::CNAME, "user@host"),
                        SdesItem::text(SdesItem::TOOL, "oxrtc"),
                        SdesItem { kind: SdesItem::PRIV, value: vec![2, b'x', b'y', 0xff] },
                    ],
                },
                SdesChunk { ssrc: 2, items: vec![SdesItem::text(SdesItem::NOTE, "")] },
            ],
        };
        let mut out = Vec::new();
        sdes.write(&mut out).unwrap();
        assert_eq!(out[0], 0x82);
        assert_eq!(out.len() % 4, 0);
        assert_eq!(Sdes::parse(2, &out[4..]).unwrap(), sdes);
        assert_eq!(sdes.cnames().count(), 1);
    }

    #[test]
    fn empty_sdes() {
        let mut out = Vec::new();
        Sdes::default().write(&mut out).unwrap();
        assert_eq!(out, [0x80, 202, 0, 0]);
        assert_eq!(Sdes::parse(0, &[]).unwrap(), Sdes::default());
    }

    #[test]
    fn parse_errors() {
        let count = |count, present| RtcpError::CountMismatch { packet: "SDES", item: "chunks", count, present };
        assert_eq!(Sdes::parse(1, &[0, 0, 0]), Err(count(1, 0)));
        assert_eq!(Sdes::parse(2, &[0, 0, 0, 1, 0, 0, 0, 0]), Err(count(2, 1)));
        let m = |reason| Err(RtcpError::malformed("SDES", reason));
        assert_eq!(Sdes::parse(1, &[0, 0, 0, 1]), m("chunk ends without an END item"));
        assert_eq!(Sdes::parse(1, &[0, 0, 0, 1, 1]), m("item header runs past the packet"));
        assert_eq!(Sdes::parse(1, &[0, 0, 0, 1, 1, 3, b'a', b'b']), m("item value runs past the packet"));
        assert_eq!(Sdes::parse(1, &[0, 0, 0, 1, 1, 0, 0]), m("chunk not padded to 32 bits after its END item"));
        assert_eq!(Sdes::parse(0, &[0, 0, 0, 0]), m("bytes after the chunks the source count announces"));
        assert_eq!(
            Sdes::parse(1, &[0, 0, 0, 1, 0, 0, 0, 0, 9]),
            m("bytes after the chunks the source count announces")
        );
    }

    #[test]
    fn write_errors() {
        let mut out = vec![1];
        let long = Sdes { chunks: vec![SdesChunk { ssrc: 1, items: vec![SdesItem { kind: 1, value: vec![0; 256] }] }] };
        assert_eq!(long.write(&mut out), Err(RtcpError::unencodable("SDES", "item value longer than 255 bytes")));
        let end = Sdes { chunks: vec![SdesChunk { ssrc: 1, items: vec![SdesItem { kind: 0, value: vec![] }] }] };
        assert_eq!(end.write(&mut out), Err(RtcpError::unencodable("SDES", "item type 0 is the END marker")));
        let many = Sdes { chunks: vec![SdesChunk { ssrc: 1, items: vec![] }; 32] };
        assert_eq!(many.write(&mut out), Err(RtcpError::unencodable("SDES", "more than 31 chunks")));
        assert_eq!(out, [1]);
        let max =
            Sdes { chunks: vec![SdesChunk { ssrc: 1, items: vec![SdesItem { kind: 1, value: vec![b'x'; 255] }] }] };
        max.write(&mut out).unwrap();
        assert_eq!(Sdes::parse(1, &out[5..]).unwrap(), max);
    }
}
