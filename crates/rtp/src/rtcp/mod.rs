//! RTCP, the RTP Control Protocol (RFC 3550 §6) and the feedback WebRTC
//! uses on top of it (RFC 4585, RFC 5104, RFC 8888, RFC 3611, REMB and
//! transport-wide congestion control).
//!
//! An RTCP datagram is a *compound* of packets laid end to end, each with a
//! 4-byte common header whose length field finds the next. RFC 3550 asks
//! that a compound start with an SR or RR and carry an SDES CNAME; RFC 5506
//! (*reduced-size* RTCP, negotiated with `a=rtcp-rsize`, which browsers
//! use) lets a datagram carry feedback alone. This module reads both alike:
//!
//! - [`CompoundIter`] / [`parse_compound`] split a datagram and yield typed
//!   [`RtcpPacket`]s. Unknown packet types and feedback formats come out as
//!   [`RawPacket`] and are written back unchanged.
//! - [`write_compound`] (or each type's `write`) appends packets to a
//!   caller's `Vec<u8>` with correct length fields; a body that is not whole
//!   32-bit words gets RTCP padding, as libwebrtc does.
//! - [`is_full_compound`] tells an RFC 3550 compound from a reduced-size one.
//!
//! One file per packet type, each citing its layout: [`SenderReport`],
//! [`ReceiverReport`] (with [`ReportBlock`]s), [`Sdes`], [`Bye`], [`App`];
//! transport-layer feedback (PT 205) [`Nack`] (FMT 1),
//! [`CongestionControlFeedback`] (FMT 11), [`TransportFeedback`] (FMT 15,
//! built with [`TwccBuilder`]); payload-specific feedback (PT 206) [`Pli`]
//! (FMT 1), [`Fir`] (FMT 4), [`Remb`] (FMT 15 with the "REMB" identifier);
//! and [`ExtendedReport`] (PT 207) with RRTR and DLRR blocks.
//!
//! ```
//! use rtp::rtcp::{parse_compound, write_compound, ReceiverReport, Remb, RtcpPacket};
//!
//! let packets: Vec<RtcpPacket> = vec![
//!     ReceiverReport { ssrc: 1, ..Default::default() }.into(),
//!     Remb { sender_ssrc: 1, media_ssrc: 0, bitrate: 2_500_000, ssrcs: vec![0xbeef] }.into(),
//! ];
//! let mut datagram = Vec::new();
//! write_compound(&packets, &mut datagram).unwrap();
//! assert_eq!(parse_compound(&datagram).unwrap(), packets);
//! ```
//!
//! ## Design decisions
//! - Every parse error is an [`RtcpError`] naming what is wrong, never a
//!   panic, and all of them are noise: drop and count, nothing is fatal.
//! - Lengths and counts are checked before anything is read or allocated;
//!   allocation is bounded by the datagram's size. Transport-wide feedback
//!   expands lazily ([`TransportFeedback::packets`]), at most 65,535 packets.
//! - Padding is accepted on any packet of a compound, not only the last as
//!   RFC 3550 A.2 would have it: libwebrtc pads transport-wide feedback in
//!   place. A padding count of 0 or beyond the packet is an error.
//! - A compound need not start with SR/RR (RFC 5506); check
//!   [`is_full_compound`] where a profile demands it.
//! - Packets are owned values with public fields: build them as literals,
//!   match on them, write them; the writer checks what the wire cannot carry.

mod app;
mod bye;
mod ccfb;
mod error;
mod fir;
mod header;
mod nack;
mod pli;
mod raw;
mod remb;
mod report_block;
mod rr;
mod sdes;
mod sr;
mod twcc;
mod twcc_builder;
mod xr;

pub use app::App;
pub use bye::Bye;
pub use ccfb::{CcfbMetric, CcfbStream, CongestionControlFeedback, Ecn, ATO_OVERRANGE, ATO_UNAVAILABLE, FMT_CCFB};
pub use error::RtcpError;
pub use fir::{Fir, FirEntry, FMT_FIR};
pub use header::{HEADER_LEN, VERSION};
pub use nack::{Nack, NackPair, FMT_NACK};
pub use pli::{Pli, FMT_PLI};
pub use raw::RawPacket;
pub use remb::{Remb, FMT_AFB, REMB_ID};
pub use report_block::{compact_ntp, ReportBlock};
pub use rr::ReceiverReport;
pub use sdes::{Sdes, SdesChunk, SdesItem};
pub use sr::SenderReport;
pub use twcc::{
    PacketStatus, StatusChunk, TransportFeedback, DELTA_TICK_US, FMT_TWCC, MAX_RUN_LENGTH, REFERENCE_TICK_US,
};
pub use twcc_builder::{TwccAddError, TwccBuilder};
pub use xr::{DlrrItem, ExtendedReport, RawXrBlock, Rrtr, XrBlock, BT_DLRR, BT_RRTR};

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of a source description.
pub const PT_SDES: u8 = 202;
/// Packet type of a goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of an application-defined packet.
pub const PT_APP: u8 = 204;
/// Packet type of transport-layer feedback (RFC 4585).
pub const PT_RTPFB: u8 = 205;
/// Packet type of payload-specific feedback (RFC 4585).
pub const PT_PSFB: u8 = 206;
/// Packet type of an extended report (RFC 3611).
pub const PT_XR: u8 = 207;

/// One RTCP packet of a compound.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR (PT 200).
    SenderReport(SenderReport),
    /// RR (PT 201).
    ReceiverReport(ReceiverReport),
    /// SDES (PT 202).
    Sdes(Sdes),
    /// BYE (PT 203).
    Bye(Bye),
    /// APP (PT 204).
    App(App),
    /// Generic NACK (PT 205, FMT 1).
    Nack(Nack),
    /// RFC 8888 congestion control feedback (PT 205, FMT 11).
    CongestionControlFeedback(CongestionControlFeedback),
    /// Transport-wide congestion control feedback (PT 205, FMT 15).
    TransportFeedback(TransportFeedback),
    /// Picture loss indication (PT 206, FMT 1).
    Pli(Pli),
    /// Full intra request (PT 206, FMT 4).
    Fir(Fir),
    /// Receiver estimated maximum bitrate (PT 206, FMT 15, "REMB").
    Remb(Remb),
    /// Extended report (PT 207).
    ExtendedReport(ExtendedReport),
    /// Any other packet type or feedback format, kept as bytes.
    Unknown(RawPacket),
}

macro_rules! from_packet {
    ($($variant:ident),*) => {$(
        impl From<$variant> for RtcpPacket {
            fn from(p: $variant) -> Self {
                RtcpPacket::$variant(p)
            }
        }
    )*};
}
from_packet!(
    SenderReport,
    ReceiverReport,
    Sdes,
    Bye,
    App,
    Nack,
    CongestionControlFeedback,
    TransportFeedback,
    Pli,
    Fir,
    Remb,
    ExtendedReport
);

impl From<RawPacket> for RtcpPacket {
    fn from(p: RawPacket) -> Self {
        RtcpPacket::Unknown(p)
    }
}

impl RtcpPacket {
    /// The packet's type (PT) on the wire.
    pub fn packet_type(&self) -> u8 {
        match self {
            RtcpPacket::SenderReport(_) => PT_SR,
            RtcpPacket::ReceiverReport(_) => PT_RR,
            RtcpPacket::Sdes(_) => PT_SDES,
            RtcpPacket::Bye(_) => PT_BYE,
            RtcpPacket::App(_) => PT_APP,
            RtcpPacket::Nack(_) | RtcpPacket::CongestionControlFeedback(_) | RtcpPacket::TransportFeedback(_) => {
                PT_RTPFB
            }
            RtcpPacket::Pli(_) | RtcpPacket::Fir(_) | RtcpPacket::Remb(_) => PT_PSFB,
            RtcpPacket::ExtendedReport(_) => PT_XR,
            RtcpPacket::Unknown(raw) => raw.packet_type,
        }
    }

    /// Parses one packet's body (after the header, padding removed).
    fn parse(header: header::Header, body: &[u8]) -> Result<Self, RtcpError> {
        let count = header.count;
        Ok(match (header.packet_type, count) {
            (PT_SR, _) => SenderReport::parse(count, body)?.into(),
            (PT_RR, _) => ReceiverReport::parse(count, body)?.into(),
            (PT_SDES, _) => Sdes::parse(count, body)?.into(),
            (PT_BYE, _) => Bye::parse(count, body)?.into(),
            (PT_APP, _) => App::parse(count, body)?.into(),
            (PT_RTPFB, FMT_NACK) => Nack::parse(body)?.into(),
            (PT_RTPFB, FMT_CCFB) => CongestionControlFeedback::parse(body)?.into(),
            (PT_RTPFB, FMT_TWCC) => TransportFeedback::parse(body)?.into(),
            (PT_PSFB, FMT_PLI) => Pli::parse(body)?.into(),
            (PT_PSFB, FMT_FIR) => Fir::parse(body)?.into(),
            (PT_PSFB, FMT_AFB) if Remb::is_remb(body) => Remb::parse(body)?.into(),
            (PT_XR, _) => ExtendedReport::parse(body)?.into(),
            (packet_type, _) => RawPacket::parse(packet_type, count, body).into(),
        })
    }

    /// Appends the packet to `out`; on an error nothing is appended.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), RtcpError> {
        match self {
            RtcpPacket::SenderReport(p) => p.write(out),
            RtcpPacket::ReceiverReport(p) => p.write(out),
            RtcpPacket::Sdes(p) => p.write(out),
            RtcpPacket::Bye(p) => p.write(out),
            RtcpPacket::App(p) => p.write(out),
            RtcpPacket::Nack(p) => p.write(out),
            RtcpPacket::CongestionControlFeedback(p) => p.write(out),
            RtcpPacket::TransportFeedback(p) => p.write(out),
            RtcpPacket::Pli(p) => p.write(out),
            RtcpPacket::Fir(p) => p.write(out),
            RtcpPacket::Remb(p) => p.write(out),
            RtcpPacket::ExtendedReport(p) => p.write(out),
            RtcpPacket::Unknown(p) => p.write(out),
        }
    }
}

/// Iterates over the packets of an RTCP datagram (compound or reduced-size).
///
/// Yields one item per packet. An error in a packet's *body* (a bad SDES
/// item, a NACK without entries...) is yielded for that packet and the
/// iteration goes on with the next, whose position the header gives. An
/// error in the *framing* (empty datagram, bad version, a length beyond the
/// datagram, invalid padding, a truncated header) is yielded once and ends
/// the iteration.
#[derive(Debug, Clone)]
pub struct CompoundIter<'a> {
    rest: &'a [u8],
    started: bool,
    done: bool,
}

impl<'a> CompoundIter<'a> {
    /// Iterates over the packets of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        CompoundIter { rest: datagram, started: false, done: false }
    }
}

impl Iterator for CompoundIter<'_> {
    type Item = Result<RtcpPacket, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.rest.is_empty() {
            self.done = true;
            return (!self.started).then_some(Err(RtcpError::Empty));
        }
        self.started = true;
        match header::split(self.rest) {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok((header, body, len)) => {
                self.rest = &self.rest[len..];
                Some(RtcpPacket::parse(header, body))
            }
        }
    }
}

/// Parses every packet of an RTCP datagram; fails on the first error.
pub fn parse_compound(datagram: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    CompoundIter::new(datagram).collect()
}

/// Appends `packets` to `out` as one datagram. On an error, `out` is left as
/// it was (no partial compound).
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    let start = out.len();
    for p in packets {
        if let Err(e) = p.write(out) {
            out.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

/// Whether `packets` form a full RFC 3550 compound: first an SR or RR, and an
/// SDES with a CNAME somewhere. A datagram that is not one is reduced-size
/// RTCP (RFC 5506), valid only where `a=rtcp-rsize` was negotiated.
pub fn is_full_compound(packets: &[RtcpPacket]) -> bool {
    matches!(packets.first(), Some(RtcpPacket::SenderReport(_) | RtcpPacket::ReceiverReport(_)))
        && packets.iter().any(|p| matches!(p, RtcpPacket::Sdes(s) if s.cnames().next().is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_framing_errors_end_iteration() {
        assert_eq!(parse_compound(&[]), Err(RtcpError::Empty));
        let mut it = CompoundIter::new(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201]);
        assert!(matches!(it.next(), Some(Ok(RtcpPacket::ReceiverReport(_)))));
        assert_eq!(it.next(), Some(Err(RtcpError::TruncatedHeader { available: 2 })));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        let mut it = CompoundIter::new(&[0x40, 201, 0, 1, 0, 0, 0, 1]);
        assert_eq!(it.next(), Some(Err(RtcpError::BadVersion(1))));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn body_errors_skip_to_the_next_packet() {
        let datagram = [
            &[0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2][..], // NACK without an entry
            &[0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2][..], // PLI
        ]
        .concat();
        let items: Vec<_> = CompoundIter::new(&datagram).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], Err(RtcpError::malformed("generic NACK", "no PID/BLP entry")));
        assert_eq!(items[1], Ok(RtcpPacket::Pli(Pli { sender_ssrc: 1, media_ssrc: 2 })));
        assert_eq!(parse_compound(&datagram), Err(RtcpError::malformed("generic NACK", "no PID/BLP entry")));
    }

    #[test]
    fn unknown_types_and_formats_are_kept_raw() {
        let datagram = [
            &[0x80, 201, 0, 1, 0, 0, 0, 1][..],
            &[0x83, 210, 0, 1, 1, 2, 3, 4][..],             // unknown PT
            &[0x82, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2][..], // RTPFB FMT 2
            &[0x8f, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, b'X', b'Y', b'Z', b'W'][..], // AFB, not REMB
            &[0x85, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2][..], // PSFB FMT 5
        ]
        .concat();
        let packets = parse_compound(&datagram).unwrap();
        assert_eq!(packets.len(), 5);
        assert_eq!(
            packets[1],
            RtcpPacket::Unknown(RawPacket { packet_type: 210, count: 3, payload: vec![1, 2, 3, 4] })
        );
        assert!(packets[2..].iter().all(|p| matches!(p, RtcpPacket::Unknown(_))));
        assert_eq!(packets.iter().map(RtcpPacket::packet_type).collect::<Vec<_>>(), vec![201, 210, 205, 206, 206]);
        let mut out = Vec::new();
        write_compound(&packets, &mut out).unwrap();
        assert_eq!(out, datagram);
    }

    #[test]
    fn padding_on_the_last_packet_is_removed() {
        // RR then an APP padded by 8 bytes (as for a block cipher).
        let datagram = [
            &[0x80, 201, 0, 1, 0, 0, 0, 1][..],
            &[0xa0, 204, 0, 4, 0, 0, 0, 2, b'n', b'a', b'm', b'e', 0, 0, 0, 0, 0, 0, 0, 8][..],
        ]
        .concat();
        let packets = parse_compound(&datagram).unwrap();
        assert_eq!(packets[1], RtcpPacket::App(App { subtype: 0, ssrc: 2, name: *b"name", data: vec![] }));
        let mut out = Vec::new();
        write_compound(&packets, &mut out).unwrap();
        assert_eq!(&out[..8], &datagram[..8]);
        assert_eq!(&out[8..], &[0x80, 204, 0, 2, 0, 0, 0, 2, b'n', b'a', b'm', b'e']);
    }

    #[test]
    fn write_compound_is_all_or_nothing() {
        let packets: Vec<RtcpPacket> =
            vec![ReceiverReport::default().into(), Nack::default().into(), Pli::default().into()];
        let mut out = vec![0xaa];
        assert_eq!(write_compound(&packets, &mut out), Err(RtcpError::unencodable("generic NACK", "no PID/BLP entry")));
        assert_eq!(out, [0xaa]);
    }

    #[test]
    fn full_compound_or_reduced_size() {
        let rr: RtcpPacket = ReceiverReport::default().into();
        let cname: RtcpPacket = Sdes::cname(1, "x").into();
        let pli: RtcpPacket = Pli::default().into();
        assert!(is_full_compound(&[rr.clone(), cname.clone(), pli.clone()]));
        assert!(!is_full_compound(std::slice::from_ref(&rr)));
        assert!(!is_full_compound(std::slice::from_ref(&pli)));
        assert!(!is_full_compound(&[cname, rr]));
        assert!(!is_full_compound(&[]));
        // A reduced-size datagram parses like any other.
        let mut out = Vec::new();
        pli.write(&mut out).unwrap();
        assert_eq!(parse_compound(&out).unwrap(), vec![pli]);
    }
}
