//! H.264 (RFC 6184). A payload is one of
//! - a single NAL unit (types 1..=23), sent as is;
//! - a STAP-A (type 24): small NAL units aggregated, each after a 16-bit size;
//! - an FU-A (type 28): a fragment of a large NAL unit, after an FU indicator
//!   (the NAL's F and NRI, type 28) and an FU header (`S|E|R|Type`).
//!
//! Packetization mode 0 allows only single NAL units; mode 1 (what browsers
//! negotiate) adds STAP-A and FU-A. The interleaved mode's STAP-B, MTAP and
//! FU-B are rejected with [`PayloadError::Unsupported`].
//!
//! Frames are access units in Annex B form, both ways. A frame is a keyframe
//! when it holds an IDR slice (type 5) or an SPS (type 7).
//!
//! STAP-A and FU-A are built and read by the code H.265's AP and FU share
//! (`payload/nal.rs`), given this format's one-byte header and type codes.

use bytes::Bytes;

use super::annexb::{nal_units, START_CODE};
use super::nal::{self, Fragment, NalSyntax, Reassembly};
use super::{Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE};

const NAME: &str = "H.264";
const STAP_A: u8 = 24;
const FU_A: u8 = 28;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
/// Parameter sets longer than this are not kept for insertion.
const MAX_PARAMETER_SET: usize = 4096;

/// The `packetization-mode` of RFC 6184 section 6.2 (the interleaved mode 2 is not offered).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PacketizationMode {
    /// Mode 0: one NAL unit per payload; larger NAL units cannot be sent.
    SingleNalUnit,
    /// Mode 1: single NAL units, STAP-A aggregates and FU-A fragments.
    #[default]
    NonInterleaved,
}

/// The NAL unit type of an H.264 NAL unit header byte.
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

/// Whether an H.264 NAL unit (its header byte and, for slices, the next
/// byte) is where an access unit plausibly begins: an access unit delimiter,
/// SEI, parameter set, or a slice whose `first_mb_in_slice` is 0 (its
/// Exp-Golomb code is the single bit 1).
fn begins_access_unit(kind: u8, next: Option<u8>) -> bool {
    match kind {
        1 | NAL_IDR => next.is_some_and(|b| b & 0x80 != 0),
        6..=9 | 14 | 15 => true,
        _ => false,
    }
}

fn start_of(kind: u8, next: Option<u8>) -> Start {
    if begins_access_unit(kind, next) {
        Start::Probable
    } else {
        Start::Unknown
    }
}

/// The RFC 6184 layout for the shared STAP-A and FU-A code: a one-byte
/// header `F|NRI(2)|Type(5)`.
struct Syntax;

impl NalSyntax for Syntax {
    type Header = [u8; 1];
    const NAME: &'static str = NAME;
    const HEADER_LEN: usize = 1;
    const AGGREGATION: u8 = STAP_A;
    const FRAGMENTATION: u8 = FU_A;
    const FU_TYPE_MASK: u8 = 0x1f;
    const AGGREGATION_SIZE_TRUNCATED: &'static str = "STAP-A NAL unit size";
    const AGGREGATION_UNIT_TRUNCATED: &'static str = "STAP-A NAL unit";
    const AGGREGATION_EMPTY: &'static str = "STAP-A without NAL units";
    const FU_HEADER_TRUNCATED: &'static str = "FU-A header";
    const FU_DATA_TRUNCATED: &'static str = "FU-A without data";
    const FU_UNFINISHED: &'static str = "NAL unit (FU-A without its end)";
    const FU_ORPHAN: &'static str = "FU-A fragment continues no open NAL unit";

    fn nal_type(first: u8) -> u8 {
        nal_type(first)
    }

    fn with_type(header: &[u8], kind: u8) -> [u8; 1] {
        [header[0] & 0xe0 | kind]
    }

    /// F: any unit's F; NRI: the largest.
    fn aggregation_fields(units: &[&[u8]]) -> [u8; 1] {
        let f = units.iter().fold(0, |acc, n| acc | n[0] & 0x80);
        let nri = units.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
        [f | nri]
    }

    fn start_of(kind: u8, next: Option<u8>) -> Start {
        start_of(kind, next)
    }

    fn is_keyframe(kind: u8) -> bool {
        kind == NAL_IDR || kind == NAL_SPS
    }
}

/// The last SPS and PPS seen, and where a frame lacks them.
#[derive(Debug, Clone, Default)]
struct ParameterSets {
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

impl ParameterSets {
    fn remember(&mut self, nal: &[u8]) {
        let slot = match nal_type(nal[0]) {
            NAL_SPS => &mut self.sps,
            NAL_PPS => &mut self.pps,
            _ => return,
        };
        if nal.len() <= MAX_PARAMETER_SET {
            *slot = Some(nal.to_vec());
        }
    }
}

/// Splits H.264 access units (Annex B) into payloads.
#[derive(Debug, Clone, Default)]
pub struct H264Packetizer {
    mode: PacketizationMode,
    insert_parameter_sets: bool,
    parameter_sets: ParameterSets,
}

impl H264Packetizer {
    /// A packetizer for the given packetization mode.
    pub fn new(mode: PacketizationMode) -> Self {
        H264Packetizer { mode, ..Self::default() }
    }

    /// Sends the last SPS and PPS seen before an IDR slice of an access unit
    /// that does not carry them itself, so that a receiver joining late (or
    /// after loss) can decode the IDR.
    pub fn insert_parameter_sets(mut self, on: bool) -> Self {
        self.insert_parameter_sets = on;
        self
    }

    /// The NAL units to send for `frame`: with insertion on, missing
    /// parameter sets go before the first slice of an IDR access unit.
    fn units<'a>(&'a mut self, frame: &'a [u8]) -> Vec<&'a [u8]> {
        let mut units = nal_units(frame);
        if !self.insert_parameter_sets {
            return units;
        }
        let has = |t: u8| units.iter().any(|n| nal_type(n[0]) == t);
        let (has_sps, has_pps, has_idr) = (has(NAL_SPS), has(NAL_PPS), has(NAL_IDR));
        for unit in &units {
            self.parameter_sets.remember(unit);
        }
        if has_idr {
            let at = units.iter().position(|n| (1..=5).contains(&nal_type(n[0]))).unwrap_or(0);
            if !has_pps {
                if let Some(pps) = &self.parameter_sets.pps {
                    units.insert(at, pps);
                }
            }
            if !has_sps {
                if let Some(sps) = &self.parameter_sets.sps {
                    units.insert(at, sps);
                }
            }
        }
        units
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        let mode = self.mode;
        let units = self.units(frame);
        nal::check_units::<Syntax>(&units, |kind| matches!(kind, 0 | 24..=31))?;
        let mut out = Vec::new();
        match mode {
            PacketizationMode::SingleNalUnit => {
                for unit in &units {
                    if unit.len() > mtu {
                        return Err(PayloadError::TooLarge { format: NAME, what: "NAL unit", len: unit.len(), mtu });
                    }
                    out.push(Payload { data: Bytes::copy_from_slice(unit), marker: false });
                }
            }
            PacketizationMode::NonInterleaved => nal::packetize::<Syntax>(units, mtu, &mut out)?,
        }
        if let Some(last) = out.last_mut() {
            last.marker = true;
        }
        Ok(out)
    }
}

/// What an H.264 depacketizer reports per access unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct H264Meta {
    /// Whether the last SPS/PPS seen were inserted before the IDR slice.
    pub inserted_parameter_sets: bool,
}

/// The H.264 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Default)]
pub struct H264 {
    insert_parameter_sets: bool,
    parameter_sets: ParameterSets,
    /// The NAL unit being reassembled from FU-A fragments.
    fragments: Reassembly,
    /// Where the first slice of the frame starts, and which units the frame has.
    first_slice: Option<usize>,
    has_sps: bool,
    has_pps: bool,
    has_idr: bool,
}

/// A depacketizer of H.264.
pub type H264Depacketizer = Depacketizer<H264>;

impl H264 {
    /// The format, with parameter set insertion off.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts the last SPS and PPS received before the IDR slice of an access
    /// unit that arrives without them (a receiver joining a stream whose
    /// parameter sets went earlier or out of band).
    pub fn insert_parameter_sets(mut self, on: bool) -> Self {
        self.insert_parameter_sets = on;
        self
    }

    /// Notes a complete NAL unit at `start..` (its start code) of `out`.
    fn complete(&mut self, out: &[u8], start: usize) {
        let nal = &out[start + START_CODE.len()..];
        match nal_type(nal[0]) {
            NAL_SPS => self.has_sps = true,
            NAL_PPS => self.has_pps = true,
            NAL_IDR => self.has_idr = true,
            _ => {}
        }
        if (1..=5).contains(&nal_type(nal[0])) && self.first_slice.is_none() {
            self.first_slice = Some(start);
        }
        self.parameter_sets.remember(nal);
    }

    fn whole(&mut self, nal: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadError> {
        let start = self.fragments.whole::<Syntax>(nal, out)?;
        self.complete(out, start);
        Ok(())
    }
}

impl PayloadFormat for H264 {
    type Meta = H264Meta;
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        let header = *payload.first().ok_or(PayloadError::Truncated { format: NAME, what: "empty payload" })?;
        match nal_type(header) {
            1..=23 => Ok(nal::single_info::<Syntax>(payload)),
            STAP_A => nal::aggregation_info::<Syntax>(payload),
            FU_A => Ok(Fragment::parse::<Syntax>(payload)?.info::<Syntax>()),
            kind @ 25..=27 | kind @ 29 => Err(PayloadError::Unsupported {
                format: NAME,
                kind,
                what: ["STAP-B", "MTAP16", "MTAP24", "", "FU-B"][usize::from(kind - 25)],
            }),
            _ => Err(PayloadError::Malformed { format: NAME, what: "reserved NAL unit type" }),
        }
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut H264Meta) -> Result<(), PayloadError> {
        self.inspect(payload)?;
        match nal_type(payload[0]) {
            STAP_A => {
                for unit in nal::aggregated_units::<Syntax>(payload)? {
                    self.whole(unit, out)?;
                }
            }
            FU_A => {
                if let Some(start) = self.fragments.fragment::<Syntax>(payload, out)? {
                    self.complete(out, start);
                }
            }
            _ => self.whole(payload, out)?,
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>, meta: &mut H264Meta) -> Result<(), PayloadError> {
        self.fragments.finish::<Syntax>()?;
        if self.insert_parameter_sets && self.has_idr && !(self.has_sps && self.has_pps) {
            let mut missing = Vec::new();
            for (has, set) in [(self.has_sps, &self.parameter_sets.sps), (self.has_pps, &self.parameter_sets.pps)] {
                if let (false, Some(set)) = (has, set) {
                    missing.extend_from_slice(&START_CODE);
                    missing.extend_from_slice(set);
                }
            }
            if !missing.is_empty() {
                let at = self.first_slice.unwrap_or(0);
                out.splice(at..at, missing);
                meta.inserted_parameter_sets = true;
            }
        }
        Ok(())
    }

    fn reset(&mut self) {
        self.fragments.reset();
        self.first_slice = None;
        self.has_sps = false;
        self.has_pps = false;
        self.has_idr = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Depacketized;

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x06, 0xd0, 0xa1, 0x35];
    const PPS: &[u8] = &[0x68, 0xce, 0x06, 0xe2];

    fn annexb(units: &[&[u8]]) -> Vec<u8> {
        units.iter().flat_map(|u| [&START_CODE[..], u].concat()).collect()
    }

    fn idr(len: usize) -> Vec<u8> {
        // nal_ref_idc 3, type 5; first_mb_in_slice 0 (bit 1), slice_type 7 (I).
        let mut nal = vec![0x65, 0x88, 0x84, 0x00];
        nal.resize(len, 0x3c);
        nal
    }

    fn depacketize(format: H264, payloads: &[Payload]) -> Vec<Depacketized<H264Meta>> {
        let mut d = H264Depacketizer::new(format);
        for (i, p) in payloads.iter().enumerate() {
            let _ = d.push(&p.data, p.marker, i as u16, 1000);
        }
        std::iter::from_fn(|| d.poll()).collect()
    }

    #[test]
    fn rfc6184_stap_a_layout() {
        // Figure 7: STAP-A header, then per NAL unit a 16-bit size and the unit.
        let frame = annexb(&[SPS, PPS]);
        let out = H264Packetizer::default().packetize(&frame, 1200).unwrap();
        assert_eq!(out.len(), 1);
        let expected = [&[0x78, 0, 13][..], SPS, &[0, 4], PPS].concat();
        assert_eq!(out[0].data[..], expected[..]);
        assert!(out[0].marker);
        let info = H264::new().inspect(&expected).unwrap();
        assert!(info.keyframe);
        assert_eq!(info.start, Start::Probable);
    }

    #[test]
    fn rfc6184_fu_a_layout() {
        // Figure 14: FU indicator (F, NRI of the unit, type 28), FU header S|E|R|type.
        let nal = idr(1000);
        let out = H264Packetizer::default().packetize(&annexb(&[&nal]), 400).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].data[..2], [0x7c, 0x85]);
        assert_eq!(out[1].data[..2], [0x7c, 0x05]);
        assert_eq!(out[2].data[..2], [0x7c, 0x45]);
        assert_eq!(out.iter().map(|p| p.data.len() - 2).sum::<usize>(), 999);
        assert_eq!(out.iter().map(|p| p.marker).collect::<Vec<_>>(), [false, false, true]);
        let got = depacketize(H264::new(), &out);
        assert!(matches!(&got[..], [Depacketized::Frame(f)] if f.data == annexb(&[&nal]) && f.keyframe));
    }

    #[test]
    fn single_nal_mode_refuses_large_units() {
        let frame = annexb(&[SPS, PPS, &idr(500)]);
        let out = H264Packetizer::new(PacketizationMode::SingleNalUnit).packetize(&frame, 1200).unwrap();
        assert_eq!(out.iter().map(|p| p.data.len()).collect::<Vec<_>>(), [13, 4, 500]);
        let err = H264Packetizer::new(PacketizationMode::SingleNalUnit).packetize(&frame, 400).unwrap_err();
        assert_eq!(err, PayloadError::TooLarge { format: NAME, what: "NAL unit", len: 500, mtu: 400 });
        assert!(err.to_string().contains("does not fit"));
        let got = depacketize(H264::new(), &out);
        assert!(matches!(&got[..], [Depacketized::Frame(f)] if f.data == frame && f.keyframe));
    }

    #[test]
    fn units_of_packetization_types_cannot_be_sent() {
        for kind in [0, 24, 28, 31] {
            let err = H264Packetizer::default().packetize(&annexb(&[&[kind, 1, 2]]), 1200).unwrap_err();
            assert!(matches!(err, PayloadError::Unsupported { kind: k, .. } if k == kind), "{err}");
        }
    }

    #[test]
    fn interleaved_and_reserved_types_are_rejected() {
        for (kind, name) in [(25, "STAP-B"), (26, "MTAP16"), (27, "MTAP24"), (29, "FU-B")] {
            let err = H264::new().inspect(&[0x60 | kind, 0, 1, 2]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        for kind in [0, 30, 31] {
            assert!(matches!(H264::new().inspect(&[kind, 1]), Err(PayloadError::Malformed { .. })));
        }
        // A STAP-A whose size runs past the payload, a zero size, an empty one.
        for bad in [&[0x78, 0, 5, 0x67][..], &[0x78, 0, 0], &[0x78], &[0x7c, 0x85], &[0x7c]] {
            assert!(H264::new().inspect(bad).is_err(), "{bad:02x?}");
        }
    }

    #[test]
    fn parameter_sets_are_inserted_before_a_bare_idr() {
        let slice = idr(50);
        let first = H264Packetizer::default().packetize(&annexb(&[SPS, PPS, &slice]), 1200).unwrap();
        let bare = H264Packetizer::default().packetize(&annexb(&[&[0x09, 0xf0], &slice]), 1200).unwrap();
        let mut d = H264Depacketizer::new(H264::new().insert_parameter_sets(true));
        for (seq, p) in first.iter().chain(&bare).enumerate() {
            d.push(&p.data, p.marker, seq as u16, if seq < first.len() { 0 } else { 3000 }).unwrap();
        }
        let Some(Depacketized::Frame(a)) = d.poll() else { panic!() };
        assert!(!a.meta.inserted_parameter_sets);
        let Some(Depacketized::Frame(b)) = d.poll() else { panic!() };
        assert!(b.meta.inserted_parameter_sets && b.keyframe);
        // After the access unit delimiter, before the slice.
        assert_eq!(b.data, annexb(&[&[0x09, 0xf0], SPS, PPS, &slice]));

        // The packetizer does the same on the sending side.
        let mut p = H264Packetizer::default().insert_parameter_sets(true);
        p.packetize(&annexb(&[SPS, PPS, &slice]), 1200).unwrap();
        let out = p.packetize(&annexb(&[&slice]), 1200).unwrap();
        let got = depacketize(H264::new(), &out);
        assert!(matches!(&got[..], [Depacketized::Frame(f)] if f.data == annexb(&[SPS, PPS, &slice])));
    }
}
