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

use bytes::{BufMut, Bytes, BytesMut};

use super::annexb::{nal_units, START_CODE};
use super::{
    even_chunks, Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE,
};

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
        if units.is_empty() {
            return Err(PayloadError::EmptyFrame { format: NAME });
        }
        if units.iter().any(|u| u.len() < 2) {
            return Err(PayloadError::Malformed { format: NAME, what: "NAL unit shorter than its 2-byte header" });
        }
        if let Some(unit) = units.iter().find(|u| nal_type(u[0]) >= AP) {
            return Err(PayloadError::Unsupported {
                format: NAME,
                kind: nal_type(unit[0]),
                what: "a NAL unit type reserved for RTP packetization cannot be sent",
            });
        }
        if mtu < 4 {
            return Err(PayloadError::MtuTooSmall { format: NAME, min: 4, mtu });
        }
        let mut out = Vec::new();
        let mut pending: Vec<&[u8]> = Vec::new();
        let mut pending_len = 2;
        for unit in units {
            if unit.len() > mtu {
                flush_aggregate(&mut pending, &mut out);
                pending_len = 2;
                fragment(unit, mtu, &mut out);
                continue;
            }
            if !pending.is_empty() && (pending_len + 2 + unit.len() > mtu || unit.len() > usize::from(u16::MAX)) {
                flush_aggregate(&mut pending, &mut out);
                pending_len = 2;
            }
            pending.push(unit);
            pending_len += 2 + unit.len();
        }
        flush_aggregate(&mut pending, &mut out);
        if let Some(last) = out.last_mut() {
            last.marker = true;
        }
        Ok(out)
    }
}

/// Sends the pending small NAL units: one alone as itself, more as an AP
/// (F: any unit's; LayerId and TID: the lowest, RFC 7798 section 4.4.2).
fn flush_aggregate(pending: &mut Vec<&[u8]>, out: &mut Vec<Payload>) {
    match pending.len() {
        0 => {}
        1 => out.push(Payload { data: Bytes::copy_from_slice(pending[0]), marker: false }),
        _ => {
            let f = pending.iter().fold(0, |acc, n| acc | n[0] & 0x80);
            let layer = pending.iter().map(|n| u16::from(n[0] & 1) << 5 | u16::from(n[1] >> 3)).min().unwrap_or(0);
            let tid = pending.iter().map(|n| n[1] & 0x07).min().unwrap_or(1);
            let len = 2 + pending.iter().map(|n| 2 + n.len()).sum::<usize>();
            let mut data = BytesMut::with_capacity(len);
            data.put_u8(f | AP << 1 | (layer >> 5) as u8);
            data.put_u8(((layer & 0x1f) as u8) << 3 | tid);
            for unit in pending.iter() {
                data.put_u16(unit.len() as u16);
                data.put_slice(unit);
            }
            out.push(Payload { data: data.freeze(), marker: false });
        }
    }
    pending.clear();
}

/// Sends one NAL unit larger than `mtu` as FUs of balanced sizes.
fn fragment(unit: &[u8], mtu: usize, out: &mut Vec<Payload>) {
    let header = [unit[0] & 0x81 | FU << 1, unit[1]];
    let kind = nal_type(unit[0]);
    let body = &unit[2..];
    for range in even_chunks(body.len(), mtu - 3) {
        let fu = u8::from(range.start == 0) << 7 | u8::from(range.end == body.len()) << 6 | kind;
        let mut data = BytesMut::with_capacity(3 + range.len());
        data.put_slice(&[header[0], header[1], fu]);
        data.put_slice(&body[range]);
        out.push(Payload { data: data.freeze(), marker: false });
    }
}

/// The NAL units of an AP payload (after its header), checked.
fn ap_units(body: &[u8]) -> Result<Vec<&[u8]>, PayloadError> {
    let mut units = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let [hi, lo, tail @ ..] = rest else {
            return Err(PayloadError::Truncated { format: NAME, what: "AP NAL unit size" });
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if len < 2 || len > tail.len() {
            return Err(PayloadError::Truncated { format: NAME, what: "AP NAL unit" });
        }
        units.push(&tail[..len]);
        rest = &tail[len..];
    }
    if units.is_empty() {
        return Err(PayloadError::Truncated { format: NAME, what: "AP without NAL units" });
    }
    Ok(units)
}

/// The H.265 payload format, for [`Depacketizer`].
#[derive(Debug, Clone, Default)]
pub struct H265 {
    /// The type of the NAL unit being reassembled from FUs.
    open_fragment: Option<u8>,
}

/// A depacketizer of H.265.
pub type H265Depacketizer = Depacketizer<H265>;

impl H265 {
    fn whole(&self, nal: &[u8], out: &mut Vec<u8>) -> Result<(), PayloadError> {
        if self.open_fragment.is_some() {
            return Err(PayloadError::Incomplete { format: NAME, what: "NAL unit (FU without its end)" });
        }
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
        Ok(())
    }
}

impl PayloadFormat for H265 {
    type Meta = ();
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        // A NAL unit may be its header alone (end of sequence, end of bitstream).
        if payload.len() < 2 {
            return Err(PayloadError::Truncated { format: NAME, what: "payload header" });
        }
        let info = |start, keyframe| Ok(PacketInfo { start, ends_frame: false, keyframe });
        match nal_type(payload[0]) {
            kind @ 0..=47 => info(start_of(kind, payload.get(2).copied()), is_irap(kind)),
            AP => {
                let units = ap_units(&payload[2..])?;
                let first = units[0];
                info(start_of(nal_type(first[0]), first.get(2).copied()), units.iter().any(|n| is_irap(nal_type(n[0]))))
            }
            FU => {
                if payload.len() < 4 {
                    return Err(PayloadError::Truncated { format: NAME, what: "FU without data" });
                }
                let fu = payload[2];
                let kind = fu & 0x3f;
                if matches!(kind, AP | FU | PACI) {
                    return Err(PayloadError::Malformed { format: NAME, what: "FU carries an AP, FU or PACI" });
                }
                if fu & 0x80 == 0 {
                    info(Start::Continuation, false)
                } else {
                    info(start_of(kind, payload.get(3).copied()), is_irap(kind))
                }
            }
            PACI => Err(PayloadError::Unsupported { format: NAME, kind: PACI, what: "PACI" }),
            _ => Err(PayloadError::Malformed { format: NAME, what: "unspecified NAL unit type 51..=63" }),
        }
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        self.inspect(payload)?;
        match nal_type(payload[0]) {
            AP => {
                for unit in ap_units(&payload[2..])? {
                    self.whole(unit, out)?;
                }
            }
            FU => {
                let fu = payload[2];
                let kind = fu & 0x3f;
                if fu & 0x80 != 0 {
                    if self.open_fragment.is_some() {
                        return Err(PayloadError::Incomplete { format: NAME, what: "NAL unit (FU without its end)" });
                    }
                    self.open_fragment = Some(kind);
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(&[payload[0] & 0x81 | kind << 1, payload[1]]);
                } else if self.open_fragment != Some(kind) {
                    return Err(PayloadError::Malformed { format: NAME, what: "FU continues no open NAL unit" });
                }
                out.extend_from_slice(&payload[3..]);
                if fu & 0x40 != 0 {
                    self.open_fragment = None;
                }
            }
            _ => self.whole(payload, out)?,
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<u8>, _meta: &mut ()) -> Result<(), PayloadError> {
        match self.open_fragment {
            Some(_) => Err(PayloadError::Incomplete { format: NAME, what: "NAL unit (FU without its end)" }),
            None => Ok(()),
        }
    }

    fn reset(&mut self) {
        self.open_fragment = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
