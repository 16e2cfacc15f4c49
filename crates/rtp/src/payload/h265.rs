//! H.265/HEVC (RFC 7798). Every payload starts with a two-byte NAL unit
//! header (`F|Type(6)|LayerId(6)|TID(3)`); its type says what follows:
//! - 0..=47: a single NAL unit, sent as is;
//! - 48, an aggregation packet (AP): small NAL units, each after a 16-bit size;
//! - 49, a fragmentation unit (FU): an FU header (`S|E|FuType(6)`) and a
//!   fragment of a large NAL unit, whose header is rebuilt from both.
//!
//! PACI (type 50) is rejected with [`PayloadError::Unsupported`]; DONL fields
//! are not supported (`sprop-max-don-diff` must be 0, the default).
//!
//! Frames are access units in Annex B form, both ways. A frame is a keyframe
//! when it holds an IRAP picture (NAL types 16..=21: BLA, IDR, CRA).
//!
//! APs and FUs are built and read by the code H.264's STAP-A and FU-A share
//! (`payload/nal.rs`), given this format's two-byte header and type codes.

use super::annexb::nal_units;
use super::nal::{self, Fragment, NalSyntax, Reassembly};
use super::{Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE};

const NAME: &str = "H.265";
const AP: u8 = 48;
const FU: u8 = 49;
const PACI: u8 = 50;

/// The NAL unit type of an H.265 NAL unit header's first byte.
pub fn nal_type(header: u8) -> u8 {
    header >> 1 & 0x3f
}

/// Whether an H.265 NAL unit type is an IRAP picture (BLA, IDR or CRA).
pub fn is_irap(kind: u8) -> bool {
    (16..=21).contains(&kind)
}

/// Where an access unit plausibly begins: a parameter set, delimiter or
/// prefix SEI, or a slice segment with `first_slice_segment_in_pic_flag`
/// (the first bit after the header).
fn start_of(kind: u8, after_header: Option<u8>) -> Start {
    let begins = match kind {
        0..=31 => after_header.is_some_and(|b| b & 0x80 != 0),
        32..=35 | 39 => true,
        _ => false,
    };
    if begins {
        Start::Probable
    } else {
        Start::Unknown
    }
}

/// The RFC 7798 layout for the shared AP and FU code: a two-byte header
/// `F|Type(6)|LayerId(6)|TID(3)`.
struct Syntax;

impl NalSyntax for Syntax {
    type Header = [u8; 2];
    const NAME: &'static str = NAME;
    const HEADER_LEN: usize = 2;
    const AGGREGATION: u8 = AP;
    const FRAGMENTATION: u8 = FU;
    const FU_TYPE_MASK: u8 = 0x3f;
    const AGGREGATION_SIZE_TRUNCATED: &'static str = "AP NAL unit size";
    const AGGREGATION_UNIT_TRUNCATED: &'static str = "AP NAL unit";
    const AGGREGATION_EMPTY: &'static str = "AP without NAL units";
    const FU_HEADER_TRUNCATED: &'static str = "FU without data";
    const FU_DATA_TRUNCATED: &'static str = "FU without data";
    const FU_UNFINISHED: &'static str = "NAL unit (FU without its end)";
    const FU_ORPHAN: &'static str = "FU continues no open NAL unit";

    fn nal_type(first: u8) -> u8 {
        nal_type(first)
    }

    fn with_type(header: &[u8], kind: u8) -> [u8; 2] {
        [header[0] & 0x81 | kind << 1, header[1]]
    }

    /// F: any unit's; LayerId and TID: the lowest (RFC 7798 section 4.4.2).
    fn aggregation_fields(units: &[&[u8]]) -> [u8; 2] {
        let f = units.iter().fold(0, |acc, n| acc | n[0] & 0x80);
        let layer = units.iter().map(|n| u16::from(n[0] & 1) << 5 | u16::from(n[1] >> 3)).min().unwrap_or(0);
        let tid = units.iter().map(|n| n[1] & 0x07).min().unwrap_or(1);
        [f | (layer >> 5) as u8, ((layer & 0x1f) as u8) << 3 | tid]
    }

    fn start_of(kind: u8, next: Option<u8>) -> Start {
        start_of(kind, next)
    }

    fn is_keyframe(kind: u8) -> bool {
        is_irap(kind)
    }
}

/// Splits H.265 access units (Annex B) into payloads: small NAL units
/// aggregated in APs, large ones fragmented in FUs.
#[derive(Debug, Clone, Default)]
pub struct H265Packetizer;

impl H265Packetizer {
    /// A packetizer.
    pub fn new() -> Self {
        H265Packetizer
    }
}

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        let units = nal_units(frame);
        if units.iter().any(|u| u.len() < 2) {
            return Err(PayloadError::Malformed { format: NAME, what: "NAL unit shorter than its 2-byte header" });
        }
        nal::check_units::<Syntax>(&units, |kind| kind >= AP)?;
        let mut out = Vec::new();
        nal::packetize::<Syntax>(units, mtu, &mut out)?;
        if let Some(last) = out.last_mut() {
            last.marker = true;
        }
        Ok(out)
    }
}

/// The H.265 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Default)]
pub struct H265 {
    /// The NAL unit being reassembled from FUs.
    fragments: Reassembly,
}

/// A depacketizer of H.265.
pub type H265Depacketizer = Depacketizer<H265>;

impl PayloadFormat for H265 {
    type Meta = ();
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        // A NAL unit may be its header alone (end of sequence, end of bitstream).
        if payload.len() < 2 {
            return Err(PayloadError::Truncated { format: NAME, what: "payload header" });
        }
        match nal_type(payload[0]) {
            0..=47 => Ok(nal::single_info::<Syntax>(payload)),
            AP => nal::aggregation_info::<Syntax>(payload),
            FU => {
                let fu = Fragment::parse::<Syntax>(payload)?;
                if matches!(fu.kind, AP | FU | PACI) {
                    return Err(PayloadError::Malformed { format: NAME, what: "FU carries an AP, FU or PACI" });
                }
                Ok(fu.info::<Syntax>())
            }
            PACI => Err(PayloadError::Unsupported { format: NAME, kind: PACI, what: "PACI" }),
            _ => Err(PayloadError::Malformed { format: NAME, what: "unspecified NAL unit type 51..=63" }),
        }
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        self.inspect(payload)?;
        match nal_type(payload[0]) {
            AP => {
                for unit in nal::aggregated_units::<Syntax>(payload)? {
                    self.fragments.whole::<Syntax>(unit, out)?;
                }
            }
            FU => {
                self.fragments.fragment::<Syntax>(payload, out)?;
            }
            _ => {
                self.fragments.whole::<Syntax>(payload, out)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        self.fragments.finish::<Syntax>()
    }

    fn reset(&mut self) {
        self.fragments.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::annexb::START_CODE;
    use crate::payload::Depacketized;

    const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff];
    const SPS: &[u8] = &[0x42, 0x01, 0x01, 0x01, 0x60, 0x80];
    const PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72];

    fn annexb(units: &[&[u8]]) -> Vec<u8> {
        units.iter().flat_map(|u| [&START_CODE[..], u].concat()).collect()
    }

    #[test]
    fn rfc7798_aggregation_packet_layout() {
        // Figure 7: payload header (type 48), then size + NAL unit per unit.
        let out = H265Packetizer::new().packetize(&annexb(&[VPS, SPS, PPS]), 1200).unwrap();
        assert_eq!(out.len(), 1);
        let expected = [&[0x60, 0x01, 0, 6][..], VPS, &[0, 6], SPS, &[0, 4], PPS].concat();
        assert_eq!(out[0].data[..], expected[..]);
        assert_eq!(H265::default().inspect(&expected).unwrap().start, Start::Probable);
    }

    #[test]
    fn rfc7798_fragmentation_unit_layout() {
        // Figure 9: payload header (type 49, LayerId and TID of the unit), FU header S|E|FuType.
        let mut idr = vec![0x26, 0x01, 0xaf];
        idr.resize(2500, 0x55);
        let out = H265Packetizer::new().packetize(&annexb(&[&idr]), 1000).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].data[..3], [0x62, 0x01, 0x93]);
        assert_eq!(out[1].data[..3], [0x62, 0x01, 0x13]);
        assert_eq!(out[2].data[..3], [0x62, 0x01, 0x53]);
        let info = H265::default().inspect(&out[0].data).unwrap();
        assert!(info.keyframe && info.start == Start::Probable);
        let mut d = H265Depacketizer::default();
        for (i, p) in out.iter().enumerate() {
            d.push(&p.data, p.marker, i as u16, 0).unwrap();
        }
        assert!(matches!(d.poll(), Some(Depacketized::Frame(f)) if f.data == annexb(&[&idr]) && f.keyframe));
    }

    #[test]
    fn paci_and_reserved_types_are_rejected() {
        assert!(matches!(H265::default().inspect(&[0x64, 0x01, 0]), Err(PayloadError::Unsupported { kind: 50, .. })));
        assert!(matches!(H265::default().inspect(&[0x7e, 0x01, 0]), Err(PayloadError::Malformed { .. })));
        assert!(H265Packetizer::new().packetize(&annexb(&[&[0x62, 0x01, 0x05]]), 1200).is_err());
        // End of sequence (type 36): a header and nothing else.
        assert_eq!(H265::default().inspect(&[0x48, 0x01]).unwrap().start, Start::Unknown);
        for bad in [&[0x60, 0x01, 0, 9, 0x40][..], &[0x60, 0x01], &[0x62, 0x01, 0x93], &[0x62, 0x01, 0xb1, 0], &[0x26]]
        {
            assert!(H265::default().inspect(bad).is_err(), "{bad:02x?}");
        }
    }
}
