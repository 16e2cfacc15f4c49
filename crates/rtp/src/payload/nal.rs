//! What the H.264 (RFC 6184) and H.265 (RFC 7798) payload formats share:
//! NAL units too large for one payload travel as fragmentation units (FU-A,
//! FU), small ones together in aggregation packets (STAP-A, AP), and every
//! other payload is one NAL unit as is.
//!
//! The two layouts differ only in the size of the NAL unit header (1 byte,
//! 2 bytes), where its type field sits, the type codes of the two packet
//! kinds, and how an aggregation packet's header is made from its units: a
//! [`NalSyntax`] says these, and the functions here do the rest.
//!
//! - An aggregation packet: a payload header (a NAL unit header whose type is
//!   the aggregation type), then per NAL unit a 16-bit size and the unit.
//! - A fragmentation unit: a payload header (the NAL unit's header with the
//!   fragmentation type), an FU header `S|E|type` (S: first fragment, E:
//!   last, type: the NAL unit's), then a piece of the NAL unit after its
//!   header. The receiver rebuilds the header from the payload header and the
//!   FU header's type.

use bytes::{BufMut, Bytes, BytesMut};

use super::annexb::START_CODE;
use super::{even_chunks, PacketInfo, Payload, PayloadError, Start};

/// The FU header's start bit.
const FU_START: u8 = 0x80;
/// The FU header's end bit.
const FU_END: u8 = 0x40;

/// How one NAL-unit-based payload format lays out its headers and names its
/// errors.
pub(super) trait NalSyntax {
    /// A NAL unit header, which is also the payload header of every packet.
    type Header: AsRef<[u8]>;
    /// The format's name, for errors.
    const NAME: &'static str;
    /// The length of a NAL unit header in bytes.
    const HEADER_LEN: usize;
    /// The type of an aggregation packet (STAP-A, AP).
    const AGGREGATION: u8;
    /// The type of a fragmentation unit (FU-A, FU).
    const FRAGMENTATION: u8;
    /// The bits of the FU header that hold the fragmented unit's type.
    const FU_TYPE_MASK: u8;
    /// The error for an aggregation packet that ends inside a size field.
    const AGGREGATION_SIZE_TRUNCATED: &'static str;
    /// The error for an aggregated NAL unit that is shorter than a header or
    /// runs past the payload.
    const AGGREGATION_UNIT_TRUNCATED: &'static str;
    /// The error for an aggregation packet that holds no NAL unit.
    const AGGREGATION_EMPTY: &'static str;
    /// The error for a fragmentation unit that ends before its FU header.
    const FU_HEADER_TRUNCATED: &'static str;
    /// The error for a fragmentation unit with no data after its FU header.
    const FU_DATA_TRUNCATED: &'static str;
    /// The unit left open when a frame ends, or a new unit starts, inside a
    /// fragmented NAL unit.
    const FU_UNFINISHED: &'static str;
    /// The error for a fragment that continues no open NAL unit.
    const FU_ORPHAN: &'static str;

    /// The NAL unit type in a header's first byte.
    fn nal_type(first: u8) -> u8;

    /// `header` (at least [`HEADER_LEN`](Self::HEADER_LEN) bytes) with its
    /// type field set to `kind`.
    fn with_type(header: &[u8], kind: u8) -> Self::Header;

    /// The header fields an aggregation packet takes from its `units` (two
    /// or more), to be completed by [`with_type`](Self::with_type).
    fn aggregation_fields(units: &[&[u8]]) -> Self::Header;

    /// Where a NAL unit of type `kind`, whose first byte after the header is
    /// `next`, sits in its access unit.
    fn start_of(kind: u8, next: Option<u8>) -> Start;

    /// Whether a NAL unit of type `kind` makes its access unit a keyframe.
    fn is_keyframe(kind: u8) -> bool;
}

/// Checks the NAL units of a frame before they are sent: there is one at
/// least, and none has a type the RTP payload format reserves.
pub(super) fn check_units<S: NalSyntax>(units: &[&[u8]], reserved: impl Fn(u8) -> bool) -> Result<(), PayloadError> {
    if units.is_empty() {
        return Err(PayloadError::EmptyFrame { format: S::NAME });
    }
    match units.iter().find(|u| reserved(S::nal_type(u[0]))) {
        Some(unit) => Err(PayloadError::Unsupported {
            format: S::NAME,
            kind: S::nal_type(unit[0]),
            what: "a NAL unit type reserved for RTP packetization cannot be sent",
        }),
        None => Ok(()),
    }
}

/// Sends `units` (each at least a header long) into `out`, in order: those
/// that fit the payload budget `mtu` as single NAL unit packets or, several
/// together, as aggregation packets; the others as fragmentation units. The
/// marker bit is left to the caller.
pub(super) fn packetize<S: NalSyntax>(
    units: Vec<&[u8]>,
    mtu: usize,
    out: &mut Vec<Payload>,
) -> Result<(), PayloadError> {
    let min = S::HEADER_LEN + 2;
    if mtu < min {
        return Err(PayloadError::MtuTooSmall { format: S::NAME, min, mtu });
    }
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut pending_len = S::HEADER_LEN;
    for unit in units {
        if unit.len() > mtu {
            flush_aggregate::<S>(&mut pending, out);
            pending_len = S::HEADER_LEN;
            fragment::<S>(unit, mtu, out);
            continue;
        }
        if !pending.is_empty() && (pending_len + 2 + unit.len() > mtu || unit.len() > usize::from(u16::MAX)) {
            flush_aggregate::<S>(&mut pending, out);
            pending_len = S::HEADER_LEN;
        }
        pending.push(unit);
        pending_len += 2 + unit.len();
    }
    flush_aggregate::<S>(&mut pending, out);
    Ok(())
}

/// Sends the pending small NAL units: one alone as a single NAL unit packet,
/// more as an aggregation packet.
fn flush_aggregate<S: NalSyntax>(pending: &mut Vec<&[u8]>, out: &mut Vec<Payload>) {
    match pending.len() {
        0 => {}
        1 => out.push(Payload { data: Bytes::copy_from_slice(pending[0]), marker: false }),
        _ => {
            let header = S::with_type(S::aggregation_fields(pending).as_ref(), S::AGGREGATION);
            let len = S::HEADER_LEN + pending.iter().map(|n| 2 + n.len()).sum::<usize>();
            let mut data = BytesMut::with_capacity(len);
            data.put_slice(header.as_ref());
            for unit in pending.iter() {
                data.put_u16(unit.len() as u16);
                data.put_slice(unit);
            }
            out.push(Payload { data: data.freeze(), marker: false });
        }
    }
    pending.clear();
}

/// Sends one NAL unit larger than `mtu` as fragmentation units of balanced sizes.
fn fragment<S: NalSyntax>(unit: &[u8], mtu: usize, out: &mut Vec<Payload>) {
    let header = S::with_type(unit, S::FRAGMENTATION);
    let kind = S::nal_type(unit[0]);
    let body = &unit[S::HEADER_LEN..];
    for range in even_chunks(body.len(), mtu - S::HEADER_LEN - 1) {
        let fu = u8::from(range.start == 0) << 7 | u8::from(range.end == body.len()) << 6 | kind;
        let mut data = BytesMut::with_capacity(S::HEADER_LEN + 1 + range.len());
        data.put_slice(header.as_ref());
        data.put_u8(fu);
        data.put_slice(&body[range]);
        out.push(Payload { data: data.freeze(), marker: false });
    }
}

/// The NAL units of an aggregation packet (`payload`, its header included), checked.
pub(super) fn aggregated_units<S: NalSyntax>(payload: &[u8]) -> Result<Vec<&[u8]>, PayloadError> {
    let mut units = Vec::new();
    let mut rest = &payload[S::HEADER_LEN..];
    while !rest.is_empty() {
        let [hi, lo, tail @ ..] = rest else {
            return Err(PayloadError::Truncated { format: S::NAME, what: S::AGGREGATION_SIZE_TRUNCATED });
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if len < S::HEADER_LEN || len > tail.len() {
            return Err(PayloadError::Truncated { format: S::NAME, what: S::AGGREGATION_UNIT_TRUNCATED });
        }
        units.push(&tail[..len]);
        rest = &tail[len..];
    }
    if units.is_empty() {
        return Err(PayloadError::Truncated { format: S::NAME, what: S::AGGREGATION_EMPTY });
    }
    Ok(units)
}

/// The [`PacketInfo`] of a single NAL unit packet (`payload` is the unit).
pub(super) fn single_info<S: NalSyntax>(payload: &[u8]) -> PacketInfo {
    let kind = S::nal_type(payload[0]);
    info(S::start_of(kind, payload.get(S::HEADER_LEN).copied()), S::is_keyframe(kind))
}

/// The [`PacketInfo`] of an aggregation packet: it starts where its first
/// unit does, and shows a keyframe when any unit does.
pub(super) fn aggregation_info<S: NalSyntax>(payload: &[u8]) -> Result<PacketInfo, PayloadError> {
    let units = aggregated_units::<S>(payload)?;
    let start = single_info::<S>(units[0]).start;
    Ok(info(start, units.iter().any(|n| S::is_keyframe(S::nal_type(n[0])))))
}

fn info(start: Start, keyframe: bool) -> PacketInfo {
    PacketInfo { start, ends_frame: false, keyframe }
}

/// A fragmentation unit, read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fragment<'a> {
    /// The payload header.
    header: &'a [u8],
    /// The FU header's S bit: the first fragment of its NAL unit.
    pub(super) start: bool,
    /// The FU header's E bit: the last fragment.
    pub(super) end: bool,
    /// The fragmented NAL unit's type.
    pub(super) kind: u8,
    /// The piece of the NAL unit (after its header) this packet carries.
    data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// Reads the fragmentation unit `payload` (its payload header included).
    pub(super) fn parse<S: NalSyntax>(payload: &'a [u8]) -> Result<Self, PayloadError> {
        let (Some(header), Some(&fu)) = (payload.get(..S::HEADER_LEN), payload.get(S::HEADER_LEN)) else {
            return Err(PayloadError::Truncated { format: S::NAME, what: S::FU_HEADER_TRUNCATED });
        };
        let data = &payload[S::HEADER_LEN + 1..];
        if data.is_empty() {
            return Err(PayloadError::Truncated { format: S::NAME, what: S::FU_DATA_TRUNCATED });
        }
        let kind = fu & S::FU_TYPE_MASK;
        Ok(Fragment { header, start: fu & FU_START != 0, end: fu & FU_END != 0, kind, data })
    }

    /// The [`PacketInfo`]: a first fragment is where its NAL unit would be,
    /// the others continue it.
    pub(super) fn info<S: NalSyntax>(&self) -> PacketInfo {
        if self.start {
            info(S::start_of(self.kind, self.data.first().copied()), S::is_keyframe(self.kind))
        } else {
            info(Start::Continuation, false)
        }
    }
}

/// Puts NAL units back together in Annex B form: whole ones and fragmented
/// ones, checking that fragments come in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Reassembly {
    /// Where the NAL unit being reassembled starts in the frame (its start
    /// code), and its type.
    open: Option<(usize, u8)>,
}

impl Reassembly {
    /// Appends a whole NAL unit to `out` and returns where it starts (its
    /// start code); fails while a fragmented unit is open.
    pub(super) fn whole<S: NalSyntax>(&self, nal: &[u8], out: &mut Vec<u8>) -> Result<usize, PayloadError> {
        self.finish::<S>()?;
        let start = out.len();
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
        Ok(start)
    }

    /// Appends the fragmentation unit `payload` to `out`; returns where the
    /// NAL unit it completes starts, when it is the last fragment.
    pub(super) fn fragment<S: NalSyntax>(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Option<usize>, PayloadError> {
        let fu = Fragment::parse::<S>(payload)?;
        if fu.start {
            self.finish::<S>()?;
            self.open = Some((out.len(), fu.kind));
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(S::with_type(fu.header, fu.kind).as_ref());
        } else if self.open.map(|(_, kind)| kind) != Some(fu.kind) {
            return Err(PayloadError::Malformed { format: S::NAME, what: S::FU_ORPHAN });
        }
        out.extend_from_slice(fu.data);
        Ok(if fu.end { self.open.take().map(|(start, _)| start) } else { None })
    }

    /// Fails when a fragmented NAL unit is still open.
    pub(super) fn finish<S: NalSyntax>(&self) -> Result<(), PayloadError> {
        match self.open {
            Some(_) => Err(PayloadError::Incomplete { format: S::NAME, what: S::FU_UNFINISHED }),
            None => Ok(()),
        }
    }

    /// Forgets an open fragmented unit.
    pub(super) fn reset(&mut self) {
        self.open = None;
    }
}
