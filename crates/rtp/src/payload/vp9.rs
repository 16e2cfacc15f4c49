//! VP9 (RFC 9628). Each payload starts with a payload descriptor:
//!
//! ```text
//!       0 1 2 3 4 5 6 7
//!      +-+-+-+-+-+-+-+-+
//!      |I|P|L|F|B|E|V|Z| (required)
//!      +-+-+-+-+-+-+-+-+
//!   I: |M| PICTURE ID  | (M=1: 15 bits over two bytes)
//!      +-+-+-+-+-+-+-+-+
//!   L: |  TID  |U| SID |D| then, in non-flexible mode, TL0PICIDX
//!      +-+-+-+-+-+-+-+-+
//! F,P: | P_DIFF      |N| (flexible mode: up to 3 reference diffs)
//!      +-+-+-+-+-+-+-+-+
//!   V: | SS            | (scalability structure)
//!      +-+-+-+-+-+-+-+-+
//! ```
//!
//! B and E bracket one layer frame (one spatial layer of a picture); the
//! marker bit ends the picture. The depacketizer yields one [`Frame`](super::Frame)
//! per layer frame; [`Frame::marker`](super::Frame::marker) says it ends the picture.
//! A keyframe is the start (B=1) of a frame with P=0 on spatial layer 0.

use bytes::{BufMut, BytesMut};

use super::vp8::PictureId;
use super::{
    even_chunks, Depacketizer, PacketInfo, Packetizer, Payload, PayloadError, PayloadFormat, Start, VIDEO_CLOCK_RATE,
};

const NAME: &str = "VP9";
/// At most this many reference diffs follow a flexible-mode descriptor (RFC 9628).
const MAX_REFERENCES: usize = 3;

/// The layer indices of a VP9 descriptor (the L bit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Vp9Layers {
    /// TID: the temporal layer (0..=7).
    pub temporal_id: u8,
    /// U: a switching-up point to a higher temporal layer.
    pub switching_up: bool,
    /// SID: the spatial layer (0..=7).
    pub spatial_id: u8,
    /// D: the layer frame depends on the spatial layer below (inter-layer prediction).
    pub inter_layer_dependency: bool,
}

/// One picture of a picture group in a scalability structure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vp9GroupPicture {
    /// T: its temporal layer.
    pub temporal_id: u8,
    /// U: a switching-up point.
    pub switching_up: bool,
    /// The picture id differences of the pictures it references (R of them, at most 3).
    pub reference_diffs: Vec<u8>,
}

/// The scalability structure (SS, the V bit): layers, their resolutions and
/// the picture group of non-flexible mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vp9Scalability {
    /// The number of spatial layers (N_S + 1, 1..=8).
    pub spatial_layers: u8,
    /// Y: each spatial layer's width and height.
    pub resolutions: Option<Vec<(u16, u16)>>,
    /// G: the picture group description.
    pub picture_group: Option<Vec<Vp9GroupPicture>>,
}

/// A VP9 payload descriptor (RFC 9628 section 4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vp9Descriptor {
    /// I: the picture id.
    pub picture_id: Option<PictureId>,
    /// P: the frame uses inter-picture prediction.
    pub inter_picture_predicted: bool,
    /// F: flexible mode (references listed per frame) rather than a picture group.
    pub flexible: bool,
    /// B: the payload begins a layer frame.
    pub begins_frame: bool,
    /// E: the payload ends a layer frame.
    pub ends_frame: bool,
    /// Z: the frame is not used for prediction by higher spatial layers.
    pub not_upper_reference: bool,
    /// L: the layer indices.
    pub layers: Option<Vp9Layers>,
    /// TL0PICIDX (non-flexible mode with L=1).
    pub tl0_pic_idx: Option<u8>,
    /// P_DIFFs (flexible mode with P=1): picture id differences of the references.
    pub reference_diffs: Vec<u8>,
    /// V: the scalability structure.
    pub scalability: Option<Vp9Scalability>,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, PayloadError> {
        let b = *self.data.get(self.at).ok_or(PayloadError::Truncated { format: NAME, what })?;
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, PayloadError> {
        Ok(u16::from(self.byte(what)?) << 8 | u16::from(self.byte(what)?))
    }
}

impl Vp9Descriptor {
    /// Parses the descriptor at the start of `payload`; returns it and its length.
    pub fn parse(payload: &[u8]) -> Result<(Vp9Descriptor, usize), PayloadError> {
        let mut r = Reader { data: payload, at: 0 };
        let first = r.byte("empty payload")?;
        let bit = |n: u8| first & (0x80 >> n) != 0;
        let mut d = Vp9Descriptor {
            inter_picture_predicted: bit(1),
            flexible: bit(3),
            begins_frame: bit(4),
            ends_frame: bit(5),
            not_upper_reference: bit(7),
            ..Vp9Descriptor::default()
        };
        if bit(0) {
            let (id, len) = PictureId::read(&payload[r.at..], NAME)?;
            d.picture_id = Some(id);
            r.at += len;
        }
        if bit(2) {
            let b = r.byte("layer indices")?;
            d.layers = Some(Vp9Layers {
                temporal_id: b >> 5,
                switching_up: b & 0x10 != 0,
                spatial_id: (b >> 1) & 0x07,
                inter_layer_dependency: b & 0x01 != 0,
            });
            if !d.flexible {
                d.tl0_pic_idx = Some(r.byte("TL0PICIDX")?);
            }
        }
        if d.flexible && d.inter_picture_predicted {
            loop {
                if d.reference_diffs.len() == MAX_REFERENCES {
                    return Err(PayloadError::Malformed { format: NAME, what: "more than 3 P_DIFFs" });
                }
                let b = r.byte("P_DIFF")?;
                d.reference_diffs.push(b >> 1);
                if b & 1 == 0 {
                    break;
                }
            }
        }
        if bit(6) {
            d.scalability = Some(Self::parse_scalability(&mut r)?);
        }
        Ok((d, r.at))
    }

    fn parse_scalability(r: &mut Reader<'_>) -> Result<Vp9Scalability, PayloadError> {
        let b = r.byte("scalability structure")?;
        let mut ss = Vp9Scalability { spatial_layers: (b >> 5) + 1, ..Vp9Scalability::default() };
        if b & 0x10 != 0 {
            let mut sizes = Vec::with_capacity(usize::from(ss.spatial_layers));
            for _ in 0..ss.spatial_layers {
                sizes.push((r.u16("SS width")?, r.u16("SS height")?));
            }
            ss.resolutions = Some(sizes);
        }
        if b & 0x08 != 0 {
            let count = r.byte("SS N_G")?;
            let mut group = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let p = r.byte("SS picture description")?;
                let mut picture =
                    Vp9GroupPicture { temporal_id: p >> 5, switching_up: p & 0x10 != 0, ..Default::default() };
                for _ in 0..(p >> 2) & 0x03 {
                    picture.reference_diffs.push(r.byte("SS P_DIFF")?);
                }
                group.push(picture);
            }
            ss.picture_group = Some(group);
        }
        Ok(ss)
    }

    /// Whether this payload starts a keyframe: B=1, P=0, spatial layer 0.
    pub fn starts_keyframe(&self) -> bool {
        self.begins_frame && !self.inter_picture_predicted && self.layers.is_none_or(|l| l.spatial_id == 0)
    }

    /// Appends the encoded descriptor to `out`. Fields the mode does not
    /// carry are left out (TL0PICIDX in flexible mode, P_DIFFs without F and P);
    /// at most 3 P_DIFFs are written.
    pub fn write(&self, out: &mut Vec<u8>) {
        let diffs = if self.flexible && self.inter_picture_predicted { &self.reference_diffs[..] } else { &[] };
        let diffs = &diffs[..diffs.len().min(MAX_REFERENCES)];
        out.push(
            u8::from(self.picture_id.is_some()) << 7
                | u8::from(self.inter_picture_predicted) << 6
                | u8::from(self.layers.is_some()) << 5
                | u8::from(self.flexible) << 4
                | u8::from(self.begins_frame) << 3
                | u8::from(self.ends_frame) << 2
                | u8::from(self.scalability.is_some()) << 1
                | u8::from(self.not_upper_reference),
        );
        if let Some(id) = self.picture_id {
            id.write(out);
        }
        if let Some(l) = self.layers {
            out.push(
                (l.temporal_id & 7) << 5
                    | u8::from(l.switching_up) << 4
                    | (l.spatial_id & 7) << 1
                    | u8::from(l.inter_layer_dependency),
            );
            if !self.flexible {
                out.push(self.tl0_pic_idx.unwrap_or(0));
            }
        }
        for (i, diff) in diffs.iter().enumerate() {
            out.push(diff << 1 | u8::from(i + 1 < diffs.len()));
        }
        if let Some(ss) = &self.scalability {
            let layers = ss.spatial_layers.clamp(1, 8);
            out.push(
                (layers - 1) << 5 | u8::from(ss.resolutions.is_some()) << 4 | u8::from(ss.picture_group.is_some()) << 3,
            );
            if let Some(sizes) = &ss.resolutions {
                for i in 0..usize::from(layers) {
                    let (w, h) = sizes.get(i).copied().unwrap_or_default();
                    out.extend_from_slice(&w.to_be_bytes());
                    out.extend_from_slice(&h.to_be_bytes());
                }
            }
            if let Some(group) = &ss.picture_group {
                let group = &group[..group.len().min(255)];
                out.push(group.len() as u8);
                for p in group {
                    let refs = &p.reference_diffs[..p.reference_diffs.len().min(3)];
                    out.push((p.temporal_id & 7) << 5 | u8::from(p.switching_up) << 4 | (refs.len() as u8) << 2);
                    out.extend_from_slice(refs);
                }
            }
        }
    }
}

/// Whether a VP9 frame is a keyframe, and its size if so, from its
/// uncompressed header (VP9 bitstream specification section 6.2).
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    let mut bits = Bits { data: frame, at: 0 };
    if bits.read(2)? != 2 {
        return None;
    }
    let profile = bits.read(1)? | bits.read(1)? << 1;
    if profile == 3 {
        bits.read(1)?;
    }
    // show_existing_frame, then frame_type (0 = KEY_FRAME), show_frame, error_resilient_mode.
    if bits.read(1)? == 1 || bits.read(1)? != 0 {
        return None;
    }
    bits.read(2)?;
    if bits.read(24)? != 0x49_83_42 {
        return None;
    }
    if profile >= 2 {
        bits.read(1)?;
    }
    let color_space = bits.read(3)?;
    if color_space != 7 {
        bits.read(1)?;
        if profile == 1 || profile == 3 {
            bits.read(3)?;
        }
    } else if profile == 1 || profile == 3 {
        bits.read(1)?;
    }
    let width = bits.read(16)? + 1;
    let height = bits.read(16)? + 1;
    Some((width as u16, height as u16))
}

struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn read(&mut self, n: usize) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            let byte = self.data.get(self.at / 8)?;
            v = v << 1 | u32::from(byte >> (7 - self.at % 8) & 1);
            self.at += 1;
        }
        Some(v)
    }
}

/// Splits VP9 frames into payloads in non-flexible mode with one layer:
/// a 15-bit picture id that increments per frame, P=0 on keyframes, and on
/// a keyframe's first packet a scalability structure with its resolution and
/// a one-picture group.
#[derive(Debug, Clone, Default)]
pub struct Vp9Packetizer {
    picture_id: u16,
}

impl Vp9Packetizer {
    /// A packetizer whose first frame gets picture id 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// A packetizer whose first frame gets picture id `id` (taken modulo 2^15).
    pub fn with_picture_id(id: u16) -> Self {
        Vp9Packetizer { picture_id: id & 0x7fff }
    }
}

impl Packetizer for Vp9Packetizer {
    fn packetize(&mut self, frame: &[u8], mtu: usize) -> Result<Vec<Payload>, PayloadError> {
        if frame.is_empty() {
            return Err(PayloadError::EmptyFrame { format: NAME });
        }
        let size = keyframe_size(frame);
        let mut first = Vp9Descriptor {
            picture_id: Some(PictureId::Long(self.picture_id)),
            inter_picture_predicted: size.is_none(),
            begins_frame: true,
            ..Vp9Descriptor::default()
        };
        if size.is_some() {
            first.scalability = Some(Vp9Scalability {
                spatial_layers: 1,
                resolutions: size.map(|s| vec![s]),
                picture_group: Some(vec![Vp9GroupPicture { reference_diffs: vec![1], ..Default::default() }]),
            });
        }
        let mut first_header = Vec::new();
        first.write(&mut first_header);
        let mut rest = first.clone();
        rest.begins_frame = false;
        rest.scalability = None;
        let mut rest_header = Vec::new();
        rest.write(&mut rest_header);
        if mtu <= first_header.len() {
            return Err(PayloadError::MtuTooSmall { format: NAME, min: first_header.len() + 1, mtu });
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;

        // The first packet carries the longer header: split what follows it evenly.
        let head = frame.len().min(mtu - first_header.len());
        let ranges: Vec<std::ops::Range<usize>> = std::iter::once(0..head)
            .chain(even_chunks(frame.len() - head, mtu - rest_header.len()).map(|r| r.start + head..r.end + head))
            .filter(|r| !r.is_empty())
            .collect();
        let count = ranges.len();
        let mut out = Vec::with_capacity(count);
        for (i, range) in ranges.into_iter().enumerate() {
            let mut header = if i == 0 { first_header.clone() } else { rest_header.clone() };
            if i + 1 == count {
                header[0] |= 0x04; // E
            }
            let mut data = BytesMut::with_capacity(header.len() + range.len());
            data.put_slice(&header);
            data.put_slice(&frame[range]);
            out.push(Payload { data: data.freeze(), marker: i + 1 == count });
        }
        Ok(out)
    }
}

/// The VP9 payload format, for [`Depacketizer`]; each frame's meta is the
/// descriptor of its first packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Vp9;

/// A depacketizer of VP9 (one output frame per layer frame).
pub type Vp9Depacketizer = Depacketizer<Vp9>;

impl Vp9 {
    fn split(payload: &[u8]) -> Result<(Vp9Descriptor, &[u8]), PayloadError> {
        let (descriptor, len) = Vp9Descriptor::parse(payload)?;
        let data = &payload[len..];
        if data.is_empty() {
            return Err(PayloadError::Truncated { format: NAME, what: "no VP9 data after the descriptor" });
        }
        Ok((descriptor, data))
    }
}

impl PayloadFormat for Vp9 {
    type Meta = Vp9Descriptor;
    const NAME: &'static str = NAME;
    const CLOCK_RATE: u32 = VIDEO_CLOCK_RATE;

    fn inspect(&self, payload: &[u8]) -> Result<PacketInfo, PayloadError> {
        let (d, _) = Self::split(payload)?;
        Ok(PacketInfo {
            start: if d.begins_frame { Start::Definite } else { Start::Continuation },
            ends_frame: d.ends_frame,
            keyframe: d.starts_keyframe(),
        })
    }

    fn append(&mut self, payload: &[u8], out: &mut Vec<u8>, meta: &mut Vp9Descriptor) -> Result<(), PayloadError> {
        let (d, data) = Self::split(payload)?;
        if d.begins_frame {
            *meta = d;
        }
        out.extend_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(bytes: &[u8]) -> Vp9Descriptor {
        let (d, len) = Vp9Descriptor::parse(bytes).unwrap();
        let mut again = Vec::new();
        d.write(&mut again);
        assert_eq!(again, bytes[..len], "re-encoding {d:?}");
        d
    }

    #[test]
    fn flexible_mode_descriptor() {
        // I=1 (M=1, id 0x0123), P=1, L=1, F=1, B=1; TID 2 U=1 SID 1 D=1; P_DIFFs 1 and 4.
        let d = round(&[0xf8, 0x81, 0x23, 0x53, 0x03, 0x08, 0xaa]);
        assert_eq!(d.picture_id, Some(PictureId::Long(0x123)));
        assert!(d.flexible && d.inter_picture_predicted && d.begins_frame && !d.ends_frame);
        assert_eq!(
            d.layers,
            Some(Vp9Layers { temporal_id: 2, switching_up: true, spatial_id: 1, inter_layer_dependency: true })
        );
        assert_eq!((d.tl0_pic_idx, &d.reference_diffs[..]), (None, &[1, 4][..]));
        assert!(!d.starts_keyframe());
        // A fourth P_DIFF is malformed; a missing one truncated.
        assert!(matches!(Vp9Descriptor::parse(&[0x50, 3, 3, 3, 2]), Err(PayloadError::Malformed { .. })));
        assert!(matches!(Vp9Descriptor::parse(&[0x50, 3]), Err(PayloadError::Truncated { .. })));
    }

    #[test]
    fn non_flexible_mode_with_scalability_structure() {
        // I=1 (7-bit id 5), L=1, B=1, E=1, V=1; TID 0 SID 0; TL0PICIDX 9; SS: two
        // layers with resolutions, a group of two pictures (T0 refs 2; T1 U refs 1).
        let bytes = [
            0xae, 0x05, 0x00, 0x09, 0x38, 0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68, 0x02, 0x04, 0x02, 0x34, 0x01,
            0xaa,
        ];
        let d = round(&bytes);
        assert_eq!(d.picture_id, Some(PictureId::Short(5)));
        assert_eq!(d.tl0_pic_idx, Some(9));
        assert!(d.starts_keyframe());
        let ss = d.scalability.unwrap();
        assert_eq!(ss.spatial_layers, 2);
        assert_eq!(ss.resolutions, Some(vec![(320, 180), (640, 360)]));
        let group = ss.picture_group.unwrap();
        assert_eq!(group.len(), 2);
        assert_eq!(group[0], Vp9GroupPicture { temporal_id: 0, switching_up: false, reference_diffs: vec![2] });
        assert_eq!(group[1], Vp9GroupPicture { temporal_id: 1, switching_up: true, reference_diffs: vec![1] });
        // Cut anywhere inside, it is truncated.
        for cut in 1..18 {
            assert!(Vp9Descriptor::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn keyframe_only_on_the_base_spatial_layer() {
        // B=1, P=0, L=1 with SID 1: not a keyframe (it predicts from layer 0).
        assert!(!Vp9.inspect(&[0x28, 0x02, 0x00, 0xaa]).unwrap().keyframe);
        assert!(Vp9.inspect(&[0x28, 0x00, 0x00, 0xaa]).unwrap().keyframe);
        // Without layer indices: spatial layer 0.
        assert!(Vp9.inspect(&[0x08, 0xaa]).unwrap().keyframe);
        // B=0: a continuation.
        let info = Vp9.inspect(&[0x04, 0xaa]).unwrap();
        assert!(!info.keyframe && info.ends_frame && info.start == Start::Continuation);
    }

    #[test]
    fn uncompressed_header_of_a_keyframe() {
        // frame_marker 2, profile 0, show_existing 0, frame_type 0, show 1, error_res 0,
        // sync code, color_space 0, color_range 0, 1280x720.
        let header = [0x82, 0x49, 0x83, 0x42, 0x00, 0x4f, 0xf0, 0x2c, 0xf0];
        assert_eq!(keyframe_size(&header), Some((1280, 720)));
        // frame_type 1: an interframe.
        assert_eq!(keyframe_size(&[0x86, 0x00]), None);
        assert_eq!(keyframe_size(&header[..6]), None);
    }
}
