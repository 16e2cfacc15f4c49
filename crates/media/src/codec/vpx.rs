//! VP8 and VP9 through the system libvpx (cargo feature `vpx`).
//!
//! The encoder is set up the way a real-time sender wants it: the real-time
//! deadline, no look-ahead (one frame in, one frame out), constant bitrate
//! with a small buffer, error resilience, and a bitrate that changes in place
//! (`vpx_codec_enc_config_set`, no new encoder, no keyframe). VP8 can spread
//! its frames over 2 or 3 temporal layers; [`VideoEncoder::last_temporal_layer`]
//! says which layer each output frame belongs to.
//!
//! The decoder copies each picture out of libvpx's buffers into an I420
//! [`VideoFrame`], so nothing it returns borrows from the library.

use std::ffi::CStr;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::ptr;

use bytes::Bytes;
use vpx_sys as sys;

use super::{VideoDecoder, VideoEncoder, VideoEncoderConfig};
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, PixelFormat, Plane, TimeBase, VideoFrame};

/// Buffer model in milliseconds (initial, optimal, size): WebRTC's values
/// for real-time VP8/VP9 (`libvpx_vp8_encoder.cc`).
const BUFFER_MS: (c_uint, c_uint, c_uint) = (500, 600, 1000);
/// Rate control may undershoot the target by up to 100% (skip bits on easy
/// frames) and overshoot it by 15%, as WebRTC sets them.
const UNDERSHOOT_PCT: c_uint = 100;
const OVERSHOOT_PCT: c_uint = 15;
/// VP8 speed: negative means a fixed speed of 8 (fast, real-time quality);
/// a positive value would let libvpx adapt the speed to measured CPU time,
/// which makes output depend on machine load.
const VP8_CPU_USED: c_int = -8;
/// VP9 real-time speed (5..=9 are the real-time speeds; 7 is WebRTC's choice
/// for resolutions from 640x480 up on desktop).
const VP9_CPU_USED: c_int = 7;
/// VP9 adaptive quantization mode 3: cyclic refresh, as WebRTC uses.
const VP9_AQ_CYCLIC_REFRESH: c_int = 3;

/// The name libvpx's codec reports in errors.
fn name(codec: Codec) -> &'static str {
    if codec == Codec::Vp9 {
        "VP9"
    } else {
        "VP8"
    }
}

/// A libvpx error as a [`MediaError::Codec`], with the library's detail
/// when it gave one.
fn vpx_error(
    codec: Codec,
    what: &str,
    ctx: Option<&mut sys::vpx_codec_ctx_t>,
    err: sys::vpx_codec_err_t,
) -> MediaError {
    // SAFETY: vpx_codec_err_to_string returns a static NUL-terminated string for any code.
    let mut message =
        format!("{what}: {}", unsafe { CStr::from_ptr(sys::vpx_codec_err_to_string(err)) }.to_string_lossy());
    if let Some(ctx) = ctx {
        // SAFETY: `ctx` is an initialized context; the detail, when not null,
        // is a NUL-terminated string owned by the context, read before any other call.
        let detail = unsafe { sys::vpx_codec_error_detail(ctx) };
        if !detail.is_null() {
            // SAFETY: checked non-null above; libvpx NUL-terminates it.
            let d = unsafe { CStr::from_ptr(detail) }.to_string_lossy();
            message.push_str(&format!(" ({d})"));
        }
    }
    MediaError::Codec { codec: name(codec), message }
}

/// One VP8 temporal-layer pattern: the layer of each frame of a period and
/// the reference and update flags that keep upper layers droppable.
struct LayerPattern {
    /// Layer id of each frame in the period.
    ids: &'static [u8],
    /// `vpx_codec_encode` flags of each frame in the period.
    flags: &'static [u32],
    /// Share of the total bitrate of each layer (cumulative per layer), in percent.
    cumulative_pct: &'static [u32],
}

// Flag groups. A frame in layer 0 references and updates only LAST; upper
// layers never update LAST (nor the entropy state), so dropping them leaves
// layer 0 decodable.
const NO_REF_GF_ARF: u32 = sys::VP8_EFLAG_NO_REF_GF | sys::VP8_EFLAG_NO_REF_ARF;
const NO_UPD_ALL: u32 =
    sys::VP8_EFLAG_NO_UPD_LAST | sys::VP8_EFLAG_NO_UPD_GF | sys::VP8_EFLAG_NO_UPD_ARF | sys::VP8_EFLAG_NO_UPD_ENTROPY;
const TL0: u32 = NO_REF_GF_ARF | sys::VP8_EFLAG_NO_UPD_GF | sys::VP8_EFLAG_NO_UPD_ARF;
/// Top layer frame that only looks at layer 0 (LAST) and updates nothing.
const TOP_FROM_BASE: u32 = NO_REF_GF_ARF | NO_UPD_ALL;
/// Layer 1 of 3: references LAST (layer 0), keeps itself in GOLDEN for layer 2.
const TL1_OF_3: u32 =
    NO_REF_GF_ARF | sys::VP8_EFLAG_NO_UPD_LAST | sys::VP8_EFLAG_NO_UPD_ARF | sys::VP8_EFLAG_NO_UPD_ENTROPY;
/// Layer 2 of 3 after layer 1: references LAST and GOLDEN, updates nothing.
const TL2_AFTER_TL1: u32 = sys::VP8_EFLAG_NO_REF_ARF | NO_UPD_ALL;

/// Two layers: 0 1 0 1 ..., layer 0 gets 60% of the bits (WebRTC's split).
const TWO_LAYERS: LayerPattern =
    LayerPattern { ids: &[0, 1], flags: &[TL0, TOP_FROM_BASE], cumulative_pct: &[60, 100] };
/// Three layers: 0 2 1 2 ..., 40% / 20% / 40% of the bits (WebRTC's split).
const THREE_LAYERS: LayerPattern = LayerPattern {
    ids: &[0, 2, 1, 2],
    flags: &[TL0, TOP_FROM_BASE, TL1_OF_3, TL2_AFTER_TL1],
    cumulative_pct: &[40, 60, 100],
};

/// A VP8 or VP9 encoder on libvpx.
pub struct VpxEncoder {
    codec: Codec,
    config: VideoEncoderConfig,
    // Boxed: libvpx keeps pointers into the context and its configuration,
    // so neither may move after `vpx_codec_enc_init_ver`.
    ctx: Box<sys::vpx_codec_ctx_t>,
    cfg: Box<sys::vpx_codec_enc_cfg_t>,
    layers: Option<&'static LayerPattern>,
    /// Position in the temporal-layer period of the next frame.
    layer_index: usize,
    last_layer: Option<u8>,
    /// Input pts in the encoder's 1/90000 time base, to keep them increasing.
    last_pts: Option<i64>,
}

// SAFETY: a libvpx context has no thread affinity; it must only not be used
// from two threads at once, which `&mut self` on every call guarantees.
unsafe impl Send for VpxEncoder {}

impl VpxEncoder {
    /// A VP8 or VP9 encoder with `config` (I420 frames of its size).
    pub fn new(codec: Codec, config: VideoEncoderConfig) -> Result<Self> {
        if !matches!(codec, Codec::Vp8 | Codec::Vp9) {
            return Err(MediaError::Unsupported(format!("libvpx encodes VP8 and VP9, not {codec:?}")));
        }
        check_config(codec, &config)?;
        let layers = match (codec, config.temporal_layers) {
            (_, 0 | 1) => None,
            (Codec::Vp8, 2) => Some(&TWO_LAYERS),
            (Codec::Vp8, 3) => Some(&THREE_LAYERS),
            (Codec::Vp8, n) => {
                return Err(MediaError::InvalidConfig(format!("{n} temporal layers: VP8 supports 1, 2 or 3")))
            }
            (_, n) => {
                return Err(MediaError::InvalidConfig(format!(
                    "{n} temporal layers: this VP9 encoder supports none (set temporal_layers to 1)"
                )))
            }
        };
        let iface = interface(codec, true);
        // The configuration holds C enums with no zero value: libvpx writes
        // all of it before it is read.
        let mut cfg = Box::<sys::vpx_codec_enc_cfg_t>::new_uninit();
        // SAFETY: `iface` is libvpx's static interface; `cfg` is valid for writes.
        let err = unsafe { sys::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(codec, "default encoder settings", None, err));
        }
        // SAFETY: vpx_codec_enc_config_default succeeded, so every field is set.
        let mut cfg = unsafe { cfg.assume_init() };
        let threads =
            config.threads.unwrap_or_else(|| super::default_threads(config.width, config.height, super::cores()));
        cfg.g_w = config.width;
        cfg.g_h = config.height;
        cfg.g_threads = threads as c_uint;
        cfg.g_timebase = sys::vpx_rational { num: 1, den: 90_000 };
        cfg.g_error_resilient = sys::VPX_ERROR_RESILIENT_DEFAULT;
        cfg.g_lag_in_frames = 0;
        cfg.g_pass = sys::vpx_enc_pass::VPX_RC_ONE_PASS;
        // The caller paces frames; the encoder never drops one.
        cfg.rc_dropframe_thresh = 0;
        cfg.rc_resize_allowed = 0;
        cfg.rc_end_usage = sys::vpx_rc_mode::VPX_CBR;
        cfg.rc_min_quantizer = 2;
        cfg.rc_max_quantizer = if codec == Codec::Vp8 { 56 } else { 52 };
        cfg.rc_undershoot_pct = UNDERSHOOT_PCT;
        cfg.rc_overshoot_pct = OVERSHOOT_PCT;
        (cfg.rc_buf_initial_sz, cfg.rc_buf_optimal_sz, cfg.rc_buf_sz) = BUFFER_MS;
        match config.keyframe_interval {
            Some(n) => {
                cfg.kf_mode = sys::vpx_kf_mode::VPX_KF_AUTO;
                cfg.kf_min_dist = 0;
                cfg.kf_max_dist = n;
            }
            None => cfg.kf_mode = sys::vpx_kf_mode::VPX_KF_DISABLED,
        }
        set_rates(&mut cfg, config.bitrate, layers);
        if let Some(p) = layers {
            cfg.ts_number_layers = p.cumulative_pct.len() as c_uint;
            cfg.ts_periodicity = p.ids.len() as c_uint;
            for (i, &id) in p.ids.iter().enumerate() {
                cfg.ts_layer_id[i] = c_uint::from(id);
            }
            for l in 0..p.cumulative_pct.len() {
                // Layer l runs at 1/decimator of the frame rate.
                let per_period = p.ids.iter().filter(|&&id| usize::from(id) <= l).count();
                cfg.ts_rate_decimator[l] = (p.ids.len() / per_period) as c_uint;
            }
        }

        // SAFETY: all-zero is the documented "not yet initialized" state of a context.
        let mut ctx: Box<sys::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `ctx` and `cfg` are valid, boxed (they do not move while the
        // encoder lives) and the ABI version is the one the bindings were made for.
        let err =
            unsafe { sys::vpx_codec_enc_init_ver(&mut *ctx, iface, &*cfg, 0, sys::VPX_ENCODER_ABI_VERSION as c_int) };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(codec, "starting the encoder (check size, bitrate and threads)", None, err));
        }
        let mut enc = VpxEncoder { codec, config, ctx, cfg, layers, layer_index: 0, last_layer: None, last_pts: None };
        enc.config.threads = Some(threads);
        enc.apply_controls()?;
        Ok(enc)
    }

    /// Speed, noise, static threshold, intra-frame size cap and (VP9) tiles and AQ.
    fn apply_controls(&mut self) -> Result<()> {
        // Cap a keyframe at this percent of a frame's average size: WebRTC's
        // rule (optimal buffer in ms × 0.5 × fps / 10), at least 300%.
        let max_intra = ((f64::from(BUFFER_MS.1) * 0.5 * self.config.framerate / 10.0) as c_int).max(300);
        let threads = self.config.threads.unwrap_or(1).max(1);
        let speed = self.config.speed.map(c_int::from);
        let mut controls: Vec<(c_int, c_int, &str)> = vec![
            (sys::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD as c_int, 1, "static threshold"),
            (sys::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int, max_intra, "intra bitrate cap"),
        ];
        if self.codec == Codec::Vp8 {
            controls.push((
                sys::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int,
                speed.unwrap_or(VP8_CPU_USED),
                "speed",
            ));
            controls.push((sys::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY as c_int, 0, "denoiser"));
            // One token partition per thread (log2), so threads decode in parallel too.
            let partitions = (usize::BITS - 1 - threads.leading_zeros()).min(3) as c_int;
            controls.push((
                sys::vp8e_enc_control_id::VP8E_SET_TOKEN_PARTITIONS as c_int,
                partitions,
                "token partitions",
            ));
        } else {
            controls.push((
                sys::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int,
                speed.unwrap_or(VP9_CPU_USED),
                "speed",
            ));
            controls.push((sys::vp8e_enc_control_id::VP9E_SET_AQ_MODE as c_int, VP9_AQ_CYCLIC_REFRESH, "AQ mode"));
            controls.push((sys::vp8e_enc_control_id::VP9E_SET_ROW_MT as c_int, 1, "row threading"));
            let tiles = (usize::BITS - 1 - threads.leading_zeros()) as c_int;
            controls.push((sys::vp8e_enc_control_id::VP9E_SET_TILE_COLUMNS as c_int, tiles, "tile columns"));
            controls.push((sys::vp8e_enc_control_id::VP9E_SET_NOISE_SENSITIVITY as c_int, 0, "denoiser"));
            controls.push((sys::vp8e_enc_control_id::VP9E_SET_FRAME_PARALLEL_DECODING as c_int, 0, "frame parallel"));
        }
        for (id, value, what) in controls {
            self.control(id, value, what)?;
        }
        Ok(())
    }

    /// One `vpx_codec_control` with an int argument.
    fn control(&mut self, id: c_int, value: c_int, what: &str) -> Result<()> {
        // SAFETY: the context is initialized; every control used here takes one int.
        let err = unsafe { sys::vpx_codec_control_(&mut *self.ctx, id, value) };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(self.codec, &format!("setting {what}"), Some(&mut self.ctx), err));
        }
        Ok(())
    }
}

/// Checks the settings libvpx would refuse with a less helpful message.
fn check_config(codec: Codec, c: &VideoEncoderConfig) -> Result<()> {
    let max = if codec == Codec::Vp8 { 16_383 } else { 65_535 };
    if c.width == 0 || c.height == 0 || c.width > max || c.height > max {
        return Err(MediaError::InvalidConfig(format!(
            "{}x{}: {} takes 1..={max} per side",
            c.width,
            c.height,
            name(codec)
        )));
    }
    if c.bitrate < 1000 {
        return Err(MediaError::InvalidConfig(format!("bitrate {} bit/s: give at least 1000", c.bitrate)));
    }
    if !(c.framerate.is_finite() && c.framerate > 0.0 && c.framerate <= 1000.0) {
        return Err(MediaError::InvalidConfig(format!("frame rate {}: give a value in (0, 1000]", c.framerate)));
    }
    let speeds = if codec == Codec::Vp8 { -16..=16 } else { 0..=9 };
    if let Some(speed) = c.speed.filter(|s| !speeds.contains(s)) {
        return Err(MediaError::InvalidConfig(format!("speed {speed}: {} takes {speeds:?}", name(codec))));
    }
    if c.threads == Some(0) || c.threads.is_some_and(|t| t > 64) {
        return Err(MediaError::InvalidConfig(format!("{:?} threads: give 1..=64 or None", c.threads)));
    }
    Ok(())
}

/// Sets the total target (kbit/s) and, with layers, each layer's cumulative target.
fn set_rates(cfg: &mut sys::vpx_codec_enc_cfg_t, bitrate: u32, layers: Option<&LayerPattern>) {
    let kbps = (bitrate / 1000).max(1);
    cfg.rc_target_bitrate = kbps;
    if let Some(p) = layers {
        for (l, pct) in p.cumulative_pct.iter().enumerate() {
            cfg.ts_target_bitrate[l] = (kbps * pct / 100).max(1);
        }
    }
}

/// libvpx's encoder or decoder interface for `codec`.
fn interface(codec: Codec, encoder: bool) -> *mut sys::vpx_codec_iface_t {
    // SAFETY: these return pointers to static interface descriptions.
    unsafe {
        match (codec, encoder) {
            (Codec::Vp9, true) => sys::vpx_codec_vp9_cx(),
            (Codec::Vp9, false) => sys::vpx_codec_vp9_dx(),
            (_, true) => sys::vpx_codec_vp8_cx(),
            (_, false) => sys::vpx_codec_vp8_dx(),
        }
    }
}

impl VideoEncoder for VpxEncoder {
    fn codec(&self) -> Codec {
        self.codec
    }

    fn encode(&mut self, frame: &VideoFrame, keyframe: bool, out: &mut Vec<EncodedFrame>) -> Result<()> {
        let frame = &*super::i420_input(frame, &self.config)?;
        let planes = frame.planes();
        // SAFETY: all-zero is a valid vpx_image (null planes), filled in below.
        let mut img: sys::vpx_image_t = unsafe { std::mem::zeroed() };
        img.fmt = sys::vpx_img_fmt::VPX_IMG_FMT_I420;
        img.w = frame.width();
        img.h = frame.height();
        img.d_w = frame.width();
        img.d_h = frame.height();
        img.bit_depth = 8;
        img.x_chroma_shift = 1;
        img.y_chroma_shift = 1;
        img.bps = 12;
        for (i, p) in planes.iter().enumerate() {
            // libvpx only reads through these pointers (the encoder copies the image).
            img.planes[i] = p.data.as_ptr().cast_mut();
            img.stride[i] = c_int::try_from(p.stride)
                .map_err(|_| MediaError::BadFrame(format!("plane {i} stride {} is too large", p.stride)))?;
        }

        // Timestamps in 1/90000, kept strictly increasing (libvpx's rate
        // control needs it); the output carries the input's own pts.
        let mut pts = frame.time_base.rescale(frame.pts, TimeBase::VIDEO);
        if let Some(last) = self.last_pts {
            pts = pts.max(last + 1);
        }
        self.last_pts = Some(pts);
        let duration = (90_000.0 / self.config.framerate).round().max(1.0) as c_ulong;

        let mut flags: u32 = 0;
        if keyframe {
            flags |= sys::VPX_EFLAG_FORCE_KF;
            // A keyframe starts the layer pattern again, in layer 0.
            self.layer_index = 0;
        }
        let mut layer = None;
        if let Some(p) = self.layers {
            let i = self.layer_index % p.ids.len();
            flags |= p.flags[i];
            layer = Some(p.ids[i]);
            self.control(
                sys::vp8e_enc_control_id::VP8E_SET_TEMPORAL_LAYER_ID as c_int,
                c_int::from(p.ids[i]),
                "temporal layer",
            )?;
            self.layer_index = (self.layer_index + 1) % p.ids.len();
        }

        // SAFETY: the context is initialized; `img` points at planes of
        // `frame`, which is alive for the call and holds the rows the strides
        // describe (checked by VideoFrame::new); libvpx copies what it keeps.
        let err = unsafe {
            sys::vpx_codec_encode(
                &mut *self.ctx,
                &img,
                pts,
                duration,
                sys::vpx_enc_frame_flags_t::from(flags),
                c_ulong::from(sys::VPX_DL_REALTIME),
            )
        };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(self.codec, "encoding a frame", Some(&mut self.ctx), err));
        }
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        let mut produced = false;
        loop {
            // SAFETY: the context is initialized and `iter` starts null, as libvpx asks.
            let pkt = unsafe { sys::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            if pkt.is_null() {
                break;
            }
            // SAFETY: non-null packets stay valid until the next call on the context.
            let pkt = unsafe { &*pkt };
            if pkt.kind != sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: `kind` says the union holds a frame.
            let f = unsafe { pkt.data.frame };
            if f.buf.is_null() || f.sz == 0 {
                continue;
            }
            // SAFETY: libvpx gives `sz` readable bytes at `buf` until the next call.
            let data = unsafe { std::slice::from_raw_parts(f.buf.cast::<u8>(), f.sz as usize) };
            let key = f.flags & sys::VPX_FRAME_IS_KEY != 0;
            out.push(EncodedFrame {
                codec: self.codec,
                data: Bytes::copy_from_slice(data),
                pts: frame.pts,
                time_base: frame.time_base,
                duration: None,
                keyframe: key,
            });
            self.last_layer = if key && layer.is_some() { Some(0) } else { layer };
            produced = true;
        }
        if !produced {
            self.last_layer = None;
        }
        Ok(())
    }

    fn set_bitrate(&mut self, bitrate: u32) -> Result<()> {
        if bitrate < 1000 {
            return Err(MediaError::InvalidConfig(format!("bitrate {bitrate} bit/s: give at least 1000")));
        }
        set_rates(&mut self.cfg, bitrate, self.layers);
        // SAFETY: the context is initialized and `cfg` is the configuration it
        // was made with (same size), changed only in its rate fields.
        let err = unsafe { sys::vpx_codec_enc_config_set(&mut *self.ctx, &*self.cfg) };
        if err != sys::VPX_CODEC_OK {
            set_rates(&mut self.cfg, self.config.bitrate, self.layers);
            return Err(vpx_error(self.codec, "changing the bitrate", Some(&mut self.ctx), err));
        }
        self.config.bitrate = bitrate;
        Ok(())
    }

    fn config(&self) -> &VideoEncoderConfig {
        &self.config
    }

    fn last_temporal_layer(&self) -> Option<u8> {
        self.last_layer
    }
}

impl Drop for VpxEncoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialized in `new` and is destroyed once.
        unsafe { sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}

/// A VP8 or VP9 decoder on libvpx, giving I420 frames.
pub struct VpxDecoder {
    codec: Codec,
    ctx: Box<sys::vpx_codec_ctx_t>,
}

// SAFETY: as for the encoder: no thread affinity, exclusive use through `&mut self`.
unsafe impl Send for VpxDecoder {}

impl VpxDecoder {
    /// A decoder for `codec` (VP8 or VP9).
    pub fn new(codec: Codec) -> Result<Self> {
        if !matches!(codec, Codec::Vp8 | Codec::Vp9) {
            return Err(MediaError::Unsupported(format!("libvpx decodes VP8 and VP9, not {codec:?}")));
        }
        // One thread unless the machine has cores to spare (libvpx's
        // threads spin while they wait; libwebrtc decodes VP8 on one).
        let threads = if codec == Codec::Vp9 && super::cores() >= 4 { 2 } else { 1 };
        let cfg = sys::vpx_codec_dec_cfg_t { threads, w: 0, h: 0 };
        // SAFETY: all-zero is the "not yet initialized" state of a context.
        let mut ctx: Box<sys::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `ctx` is boxed (never moves), `cfg` is read during the call only.
        let err = unsafe {
            sys::vpx_codec_dec_init_ver(
                &mut *ctx,
                interface(codec, false),
                &cfg,
                0,
                sys::VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(codec, "starting the decoder", None, err));
        }
        Ok(VpxDecoder { codec, ctx })
    }
}

impl VideoDecoder for VpxDecoder {
    fn codec(&self) -> Codec {
        self.codec
    }

    fn decode(&mut self, frame: &EncodedFrame, out: &mut Vec<VideoFrame>) -> Result<()> {
        if frame.data.is_empty() {
            return Err(MediaError::Codec {
                codec: name(self.codec),
                message: "empty frame: nothing to decode".into(),
            });
        }
        let len = c_uint::try_from(frame.data.len()).map_err(|_| MediaError::Codec {
            codec: name(self.codec),
            message: format!("a {}-byte frame is too large to decode", frame.data.len()),
        })?;
        // SAFETY: the context is initialized; libvpx reads `len` bytes of `data` during the call.
        let err = unsafe { sys::vpx_codec_decode(&mut *self.ctx, frame.data.as_ptr(), len, ptr::null_mut(), 0) };
        if err != sys::VPX_CODEC_OK {
            return Err(vpx_error(
                self.codec,
                "decoding a frame (corrupt or not this codec?)",
                Some(&mut self.ctx),
                err,
            ));
        }
        let mut iter: sys::vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: the context is initialized and `iter` starts null.
            let img = unsafe { sys::vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
            if img.is_null() {
                break;
            }
            // SAFETY: a non-null image stays valid until the next decode call.
            let img = unsafe { &*img };
            out.push(copy_image(self.codec, img, frame.pts, frame.time_base)?);
        }
        Ok(())
    }
}

/// Copies an 8-bit I420 image out of libvpx into a [`VideoFrame`].
fn copy_image(codec: Codec, img: &sys::vpx_image_t, pts: i64, time_base: TimeBase) -> Result<VideoFrame> {
    if img.fmt != sys::vpx_img_fmt::VPX_IMG_FMT_I420 && img.fmt != sys::vpx_img_fmt::VPX_IMG_FMT_YV12 {
        return Err(MediaError::Unsupported(format!(
            "{} stream in {:?}: only 8-bit 4:2:0 is supported",
            name(codec),
            img.fmt
        )));
    }
    let (w, h) = (img.d_w, img.d_h);
    let mut planes = Vec::with_capacity(3);
    for i in 0..3 {
        let (row, rows) = PixelFormat::I420.plane_size(i, w, h);
        // YV12 stores V before U; swap to I420 order.
        let src_i = if img.fmt == sys::vpx_img_fmt::VPX_IMG_FMT_YV12 && i > 0 { 3 - i } else { i };
        let stride = usize::try_from(img.stride[src_i])
            .map_err(|_| MediaError::Unsupported(format!("{} image with a negative stride", name(codec))))?;
        let base = img.planes[src_i];
        if base.is_null() || stride < row {
            return Err(MediaError::Codec {
                codec: name(codec),
                message: "the decoder returned an incomplete image".into(),
            });
        }
        let mut data = Vec::with_capacity(row * rows);
        for r in 0..rows {
            // SAFETY: libvpx's image has `d_h` rows (rounded up for chroma) of
            // at least `d_w` pixels at `stride` bytes apart from each plane base.
            let src = unsafe { std::slice::from_raw_parts(base.add(r * stride), row) };
            data.extend_from_slice(src);
        }
        planes.push(Plane { data: data.into(), stride: row });
    }
    VideoFrame::new(PixelFormat::I420, w, h, planes, pts, time_base)
}

impl Drop for VpxDecoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialized in `new` and is destroyed once.
        unsafe { sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}
