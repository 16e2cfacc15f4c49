//! What containers need to know from inside a codec's bitstream: whether a
//! frame is a keyframe, a keyframe's picture size, an Opus packet's length.
//! Each reads only the first bytes of a frame and never fails: what it
//! cannot tell it answers with `false` or `None`.

use crate::frame::Codec;

/// Reads bits most significant first; reading past the end gives `None`.
pub(crate) struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Bits { data, at: 0 }
    }

    pub(crate) fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.at / 8)?;
        let b = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(b))
    }

    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |v, _| Some((v << 1) | self.bit()?))
    }

    /// An Exp-Golomb `ue(v)` (H.264), up to 31 leading zeros.
    pub(crate) fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some(((1u64 << zeros) - 1 + u64::from(self.bits(zeros)?)).min(u64::from(u32::MAX)) as u32)
    }
}

/// Whether `data`, one frame of `codec`, decodes on its own.
///
/// - VP8: the frame tag's key bit.
/// - VP9: the uncompressed header's `frame_type` (a frame that only shows an
///   earlier one is not a keyframe).
/// - AV1 (best effort): the temporal unit carries a sequence header, as
///   encoders put one before each key frame.
/// - H.264 (Annex B): an IDR slice.
/// - Audio: always.
pub fn is_keyframe(codec: Codec, data: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => data.first().is_some_and(|b| b & 1 == 0),
        Codec::Vp9 => vp9_key_size(data).is_some(),
        Codec::Av1 => av1_obus(data).any(|(t, _)| t == 1),
        Codec::H264 => annexb_nals(data).any(|n| n.first().is_some_and(|b| b & 0x1F == 5)),
        _ => true,
    }
}

/// The picture size a keyframe of `codec` announces (VP8, VP9, AV1).
pub fn keyframe_size(codec: Codec, data: &[u8]) -> Option<(u32, u32)> {
    match codec {
        Codec::Vp8 => {
            if data.len() < 10 || data[0] & 1 != 0 || data[3..6] != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = u32::from(u16::from_le_bytes([data[6], data[7]]) & 0x3FFF);
            let h = u32::from(u16::from_le_bytes([data[8], data[9]]) & 0x3FFF);
            (w > 0 && h > 0).then_some((w, h))
        }
        Codec::Vp9 => vp9_key_size(data).flatten(),
        Codec::Av1 => av1_obus(data).find(|(t, _)| *t == 1).and_then(|(_, p)| av1_sequence_size(p)),
        _ => None,
    }
}

/// `Some` for a VP9 keyframe, holding its size when the header is whole.
fn vp9_key_size(data: &[u8]) -> Option<Option<(u32, u32)>> {
    let mut b = Bits::new(data);
    if b.bits(2)? != 2 {
        return None;
    }
    let profile = b.bit()? | (b.bit()? << 1);
    if profile == 3 {
        b.bit()?;
    }
    if b.bit()? == 1 || b.bit()? != 0 {
        return None; // shows an earlier frame, or an inter frame
    }
    let size = (|| {
        b.bits(2)?; // show_frame, error_resilient_mode
        if b.bits(24)? != 0x49_83_42 {
            return None;
        }
        if profile >= 2 {
            b.bit()?;
        }
        if b.bits(3)? != 7 {
            b.bit()?; // colour range
            if profile == 1 || profile == 3 {
                b.bits(3)?;
            }
        } else if profile == 1 || profile == 3 {
            b.bit()?;
        }
        Some((b.bits(16)? + 1, b.bits(16)? + 1))
    })();
    Some(size)
}

/// The OBUs of a low-overhead AV1 stream: (type, payload). Stops at the
/// first one that does not fit.
pub(crate) fn av1_obus(data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let header = *rest.first()?;
        let kind = (header >> 3) & 0x0F;
        let mut at = 1 + usize::from(header & 0x04 != 0);
        let len = if header & 0x02 != 0 {
            let mut v = 0u64;
            let mut i = 0;
            loop {
                let b = *rest.get(at)?;
                v |= u64::from(b & 0x7F) << (7 * i);
                at += 1;
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if i == 8 {
                    return None;
                }
            }
            usize::try_from(v).ok()?
        } else {
            rest.len().checked_sub(at)?
        };
        let end = at.checked_add(len)?;
        let payload = rest.get(at..end)?;
        rest = &rest[end..];
        Some((kind, payload))
    })
}

/// The maximum frame size of an AV1 sequence header.
fn av1_sequence_size(p: &[u8]) -> Option<(u32, u32)> {
    let mut b = Bits::new(p);
    b.bits(3)?; // seq_profile
    b.bit()?; // still_picture
    let reduced = b.bit()? == 1;
    if reduced {
        b.bits(5)?;
    } else {
        let timing = b.bit()? == 1;
        let mut decoder_model = false;
        let mut buffer_delay_len = 0;
        if timing {
            b.bits(32)?;
            b.bits(32)?;
            if b.bit()? == 1 {
                // num_ticks_per_picture_minus_1, uvlc
                let mut zeros = 0;
                while b.bit()? == 0 {
                    zeros += 1;
                    if zeros >= 32 {
                        return None;
                    }
                }
                b.bits(zeros)?;
            }
            decoder_model = b.bit()? == 1;
            if decoder_model {
                buffer_delay_len = b.bits(5)? + 1;
                b.bits(32)?;
                b.bits(10)?;
            }
        }
        let display_model = b.bit()? == 1;
        let points = b.bits(5)? + 1;
        for _ in 0..points {
            b.bits(12)?;
            let level = b.bits(5)?;
            if level > 7 {
                b.bit()?;
            }
            if decoder_model && b.bit()? == 1 {
                b.bits(buffer_delay_len * 2 + 1)?;
            }
            if display_model && b.bit()? == 1 {
                b.bits(4)?;
            }
        }
    }
    let wbits = b.bits(4)? + 1;
    let hbits = b.bits(4)? + 1;
    Some((b.bits(wbits)? + 1, b.bits(hbits)? + 1))
}

/// The NAL units of an Annex B buffer (without start codes).
pub(crate) fn annexb_nals(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::with_capacity(starts.len());
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
        while end > s && data[end - 1] == 0 {
            end -= 1; // trailing zeros, or the extra zero of a 4-byte start code
        }
        out.push(&data[s..end]);
    }
    out.into_iter()
}

/// The length in 48 kHz samples of an Opus packet, from its TOC byte
/// (RFC 6716 section 3.1); `None` for an empty or malformed packet.
pub fn opus_packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame length in 1/48000 s.
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    let total = frame * frames;
    (frames > 0 && total <= 5760).then_some(total)
}

/// An `avcC` record (ISO/IEC 14496-15): how long NAL unit lengths are and
/// the parameter sets, as MP4 and Matroska carry H.264.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AvcConfig {
    /// Bytes of each NAL unit's length (1, 2 or 4).
    pub length_size: usize,
    /// The SPS and PPS NAL units, each behind a 4-byte start code.
    pub parameter_sets: Vec<u8>,
}

impl AvcConfig {
    /// Parses an `avcC` record; `None` when malformed.
    pub(crate) fn parse(c: &[u8]) -> Option<AvcConfig> {
        if c.len() < 7 || c[0] != 1 {
            return None;
        }
        let length_size = usize::from(c[4] & 3) + 1;
        if length_size == 3 {
            return None;
        }
        let mut parameter_sets = Vec::new();
        let mut at = 5;
        for mask in [0x1F, 0xFF] {
            let count = *c.get(at)? & mask;
            at += 1;
            for _ in 0..count {
                let len = usize::from(u16::from_be_bytes([*c.get(at)?, *c.get(at + 1)?]));
                let nal = c.get(at + 2..at + 2 + len)?;
                parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
                parameter_sets.extend_from_slice(nal);
                at += 2 + len;
            }
        }
        Some(AvcConfig { length_size, parameter_sets })
    }

    /// A sample of length-prefixed NAL units as Annex B; a keyframe gets
    /// the parameter sets in front unless it carries its own SPS.
    pub(crate) fn to_annexb(&self, sample: &[u8], keyframe: bool) -> Option<Vec<u8>> {
        let mut nals = Vec::new();
        let mut at = 0;
        while at < sample.len() {
            let head = sample.get(at..at + self.length_size)?;
            let len = head.iter().fold(0usize, |v, &b| (v << 8) | usize::from(b));
            let nal = sample.get(at + self.length_size..at + self.length_size + len)?;
            nals.push(nal);
            at += self.length_size + len;
        }
        let mut out = Vec::with_capacity(sample.len() + self.parameter_sets.len() + 4 * nals.len());
        if keyframe && !nals.iter().any(|n| n.first().is_some_and(|b| b & 0x1F == 7)) {
            out.extend_from_slice(&self.parameter_sets);
        }
        for n in nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(n);
        }
        Some(out)
    }
}

/// The picture size an H.264 SPS (a NAL unit, header included) gives, after cropping.
pub fn h264_sps_size(sps: &[u8]) -> Option<(u32, u32)> {
    if sps.first()? & 0x1F != 7 || sps.len() < 4 {
        return None;
    }
    // Emulation prevention bytes out (00 00 03 -> 00 00).
    let mut rbsp = Vec::with_capacity(sps.len());
    let mut zeros = 0;
    for &b in &sps[1..] {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        rbsp.push(b);
    }
    let mut b = Bits::new(&rbsp);
    let profile = b.bits(8)?;
    b.bits(16)?; // constraint flags, level
    b.ue()?; // seq_parameter_set_id
    let mut chroma = 1;
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma = b.ue()?;
        if chroma == 3 {
            b.bit()?;
        }
        b.ue()?;
        b.ue()?;
        b.bit()?;
        if b.bit()? == 1 {
            for i in 0..if chroma == 3 { 12 } else { 8 } {
                if b.bit()? == 1 {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i64, 8i64);
                    for _ in 0..size {
                        if next != 0 {
                            let v = i64::from(b.ue()?);
                            let delta = if v % 2 == 1 { (v + 1) / 2 } else { -(v / 2) };
                            next = (last + delta + 256) % 256;
                        }
                        last = if next == 0 { last } else { next };
                    }
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?;
        }
        1 => {
            b.bit()?;
            b.ue()?;
            b.ue()?;
            for _ in 0..b.ue()?.min(255) {
                b.ue()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?;
    let w_mbs = b.ue()?.checked_add(1)?;
    let h_units = b.ue()?.checked_add(1)?;
    let frame_mbs_only = b.bit()?;
    if frame_mbs_only == 0 {
        b.bit()?;
    }
    b.bit()?;
    let (mut left, mut right, mut top, mut bottom) = (0, 0, 0, 0);
    if b.bit()? == 1 {
        (left, right, top, bottom) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
    }
    let (sub_w, sub_h): (u32, u32) = match chroma {
        0 => (1, 1),
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let crop_x = if chroma == 0 { 1 } else { sub_w };
    let crop_y = (2 - frame_mbs_only) * if chroma == 0 { 1 } else { sub_h };
    let width = w_mbs.checked_mul(16)?.checked_sub(crop_x.checked_mul(left.checked_add(right)?)?)?;
    let height =
        h_units.checked_mul(16 * (2 - frame_mbs_only))?.checked_sub(crop_y.checked_mul(top.checked_add(bottom)?)?)?;
    (width > 0 && height > 0 && width <= 16_384 && height <= 16_384).then_some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_toc_gives_durations() {
        assert_eq!(opus_packet_samples(&[0xFC]), Some(960)); // CELT FB 20 ms stereo
        assert_eq!(opus_packet_samples(&[0x78 | 1, 0]), Some(1920)); // Hybrid FB 20 ms, 2 frames
        assert_eq!(opus_packet_samples(&[0x18, 0]), Some(2880)); // SILK NB 60 ms
        assert_eq!(opus_packet_samples(&[0x03 | 0xF8, 6]), Some(5760)); // 6 x 20 ms
        assert_eq!(opus_packet_samples(&[0x03 | 0xF8, 7]), None); // 140 ms
        assert_eq!(opus_packet_samples(&[0x03]), None);
        assert_eq!(opus_packet_samples(&[]), None);
    }

    #[test]
    fn vp8_keyframes_and_sizes() {
        let key = [0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00];
        assert!(is_keyframe(Codec::Vp8, &key));
        assert_eq!(keyframe_size(Codec::Vp8, &key), Some((320, 240)));
        assert!(!is_keyframe(Codec::Vp8, &[0x51, 0, 0]));
    }

    #[test]
    fn annexb_splits_on_both_start_codes() {
        let nals: Vec<&[u8]> = annexb_nals(&[0, 0, 0, 1, 0x67, 1, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65]).collect();
        assert_eq!(nals, vec![&[0x67, 1][..], &[0x68, 2], &[0x65]]);
        assert!(is_keyframe(Codec::H264, &[0, 0, 1, 0x65, 0x88]));
        assert!(!is_keyframe(Codec::H264, &[0, 0, 1, 0x41, 0x88]));
    }
}
