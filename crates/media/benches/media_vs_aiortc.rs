//! Per-frame CPU of encoding and decoding VP8 640×480 at 1 Mbit/s and Opus
//! 48 kHz stereo, three ways in one run, on the same input:
//!
//! - the bare library: libvpx and libopus called directly, the least any
//!   wrapper can cost;
//! - oxrtc-media's codecs (`media::codec`): frames in, encoded frames out;
//! - aiortc's codecs (`aiortc.codecs.vpx` and `aiortc.codecs.opus` on PyAV),
//!   in a child process (`bench/peers/aiortc_media_bench.py`).
//!
//! Settings are aiortc's so the three do the same work: VP8 speed
//! (`cpu-used`) 6, one thread, CBR, 2..56 quantizers; Opus 96 kbit/s, VoIP,
//! complexity 10, no FEC. The VP8 frames all three decode are the ones our
//! encoder wrote; the Opus packets likewise.
//!
//! `cargo bench -p oxrtc-media --features vpx,opus --bench media_vs_aiortc`
//! (aiortc from `scripts/pyenv.sh`'s `.venv`, or `OXRTC_PYTHON`).

mod common;

use std::ffi::{c_int, c_uint};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use media::codec::opus::{OpusDecoder, OpusEncoder};
use media::codec::{video_decoder, video_encoder, AudioDecoder, AudioEncoder, AudioEncoderConfig, VideoEncoderConfig};
use media::synthetic::TestPattern;
use media::{Codec, EncodedFrame, VideoFrame};
use vpx_sys as vpx;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
const VIDEO_FRAMES: u64 = 300;
const AUDIO_FRAMES: usize = 1000;
const VP8_SPEED: i8 = -6; // aiortc's `cpu-used`
const OPUS_BITRATE: u32 = 96_000; // aiortc's fixed rate

fn cpu_time() -> Duration {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// CPU microseconds per item of `step` over `items`, the median of 3 runs
/// (`setup` makes fresh state before each).
fn per_item<S, T>(items: &[T], mut setup: impl FnMut() -> S, mut step: impl FnMut(&mut S, &T)) -> f64 {
    let mut runs: Vec<f64> = (0..3)
        .map(|_| {
            let mut state = setup();
            let start = cpu_time();
            for item in items {
                step(&mut state, item);
            }
            (cpu_time() - start).as_secs_f64() * 1e6 / items.len() as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[1]
}

// ---- bare libvpx -----------------------------------------------------------

struct BareVp8 {
    ctx: Box<vpx::vpx_codec_ctx_t>,
    _cfg: Box<vpx::vpx_codec_enc_cfg_t>,
    img: Box<vpx::vpx_image_t>,
    pts: i64,
}

impl BareVp8 {
    fn encoder() -> Self {
        // SAFETY: plain libvpx calls on boxed, initialized structures, as its
        // examples make them; every return code is checked.
        unsafe {
            let iface = vpx::vpx_codec_vp8_cx();
            // Its C enums have no zero value: libvpx fills it before it is read.
            let mut cfg = Box::<vpx::vpx_codec_enc_cfg_t>::new_uninit();
            assert_eq!(vpx::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0), vpx::VPX_CODEC_OK);
            let mut cfg = cfg.assume_init();
            cfg.g_w = WIDTH;
            cfg.g_h = HEIGHT;
            cfg.g_threads = 1;
            cfg.g_timebase = vpx::vpx_rational { num: 1, den: 90_000 };
            cfg.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
            cfg.g_lag_in_frames = 0;
            cfg.rc_dropframe_thresh = 0;
            cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
            cfg.rc_min_quantizer = 2;
            cfg.rc_max_quantizer = 56;
            cfg.rc_undershoot_pct = 100;
            cfg.rc_overshoot_pct = 15;
            (cfg.rc_buf_initial_sz, cfg.rc_buf_optimal_sz, cfg.rc_buf_sz) = (500, 600, 1000);
            cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
            cfg.kf_max_dist = 3000;
            cfg.rc_target_bitrate = 1000;
            let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
            let abi = vpx::VPX_ENCODER_ABI_VERSION as c_int;
            assert_eq!(vpx::vpx_codec_enc_init_ver(&mut *ctx, iface, &*cfg, 0, abi), vpx::VPX_CODEC_OK);
            for (id, value) in [
                (vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED, c_int::from(VP8_SPEED)),
                (vpx::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD, 1),
                (vpx::vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY, 0),
                (vpx::vp8e_enc_control_id::VP8E_SET_TOKEN_PARTITIONS, 0),
                (vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT, 900),
            ] {
                assert_eq!(vpx::vpx_codec_control_(&mut *ctx, id as c_int, value), vpx::VPX_CODEC_OK);
            }
            BareVp8 { ctx, _cfg: cfg, img: Box::new(std::mem::zeroed()), pts: 0 }
        }
    }

    fn encode(&mut self, frame: &VideoFrame) -> u64 {
        let planes = frame.planes();
        let mut bytes = 0;
        // SAFETY: the image wraps the frame's planes, which outlive the call;
        // libvpx only reads them. Packets are read before the next call.
        unsafe {
            let img = &mut *self.img;
            img.fmt = vpx::vpx_img_fmt::VPX_IMG_FMT_I420;
            (img.w, img.h, img.d_w, img.d_h) = (WIDTH, HEIGHT, WIDTH, HEIGHT);
            (img.bit_depth, img.x_chroma_shift, img.y_chroma_shift, img.bps) = (8, 1, 1, 12);
            for (i, p) in planes.iter().enumerate() {
                img.planes[i] = p.data.as_ptr() as *mut u8;
                img.stride[i] = p.stride as c_int;
            }
            let err = vpx::vpx_codec_encode(&mut *self.ctx, img, self.pts, 3000, 0, vpx::VPX_DL_REALTIME as _);
            assert_eq!(err, vpx::VPX_CODEC_OK);
            self.pts += 3000;
            let mut iter = std::ptr::null();
            loop {
                let pkt = vpx::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind == vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    bytes += (*pkt).data.frame.sz as u64;
                }
            }
        }
        bytes
    }

    fn decoder() -> Box<vpx::vpx_codec_ctx_t> {
        // SAFETY: as in `encoder`.
        unsafe {
            let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
            let cfg = vpx::vpx_codec_dec_cfg_t { threads: 1, w: 0, h: 0 };
            let abi = vpx::VPX_DECODER_ABI_VERSION as c_int;
            assert_eq!(
                vpx::vpx_codec_dec_init_ver(&mut *ctx, vpx::vpx_codec_vp8_dx(), &cfg, 0, abi),
                vpx::VPX_CODEC_OK
            );
            ctx
        }
    }

    fn decode(ctx: &mut vpx::vpx_codec_ctx_t, data: &[u8]) -> u32 {
        // SAFETY: `data` is valid for the call; images are only looked at before the next call.
        unsafe {
            let err = vpx::vpx_codec_decode(ctx, data.as_ptr(), data.len() as c_uint, std::ptr::null_mut(), 0);
            assert_eq!(err, vpx::VPX_CODEC_OK);
            let mut iter = std::ptr::null();
            let mut w = 0;
            loop {
                let img = vpx::vpx_codec_get_frame(ctx, &mut iter);
                if img.is_null() {
                    break;
                }
                w += (*img).d_w;
            }
            w
        }
    }
}

impl Drop for BareVp8 {
    fn drop(&mut self) {
        // SAFETY: the context was initialized and is destroyed once.
        unsafe { vpx::vpx_codec_destroy(&mut *self.ctx) };
    }
}

// ---- bare libopus ----------------------------------------------------------

#[repr(C)]
struct OpusEnc {
    _private: [u8; 0],
}
#[repr(C)]
struct OpusDec {
    _private: [u8; 0],
}

#[link(name = "opus")]
extern "C" {
    fn opus_encoder_create(fs: i32, channels: c_int, application: c_int, error: *mut c_int) -> *mut OpusEnc;
    fn opus_encode(st: *mut OpusEnc, pcm: *const i16, frame_size: c_int, data: *mut u8, max: i32) -> i32;
    fn opus_encoder_ctl(st: *mut OpusEnc, request: c_int, ...) -> c_int;
    fn opus_encoder_destroy(st: *mut OpusEnc);
    fn opus_decoder_create(fs: i32, channels: c_int, error: *mut c_int) -> *mut OpusDec;
    fn opus_decode(st: *mut OpusDec, data: *const u8, len: i32, pcm: *mut i16, frame_size: c_int, fec: c_int) -> c_int;
    fn opus_decoder_destroy(st: *mut OpusDec);
}

const OPUS_APPLICATION_VOIP: c_int = 2048;
const OPUS_SET_BITRATE: c_int = 4002;
const OPUS_SET_COMPLEXITY: c_int = 4010;

// ---- aiortc ----------------------------------------------------------------

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("OXRTC_PYTHON") {
        return p.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

fn framed(items: impl Iterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for d in items {
        out.extend_from_slice(&(d.len() as u32).to_be_bytes());
        out.extend_from_slice(&d);
    }
    out
}

/// aiortc's figures by name, or why there are none.
fn run_aiortc(dir: &Path) -> Result<Vec<(String, f64)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/peers/aiortc_media_bench.py");
    let out = Command::new(python())
        .arg(script)
        .arg(dir)
        .output()
        .map_err(|e| format!("{} ({e}): run scripts/pyenv.sh or set OXRTC_PYTHON", python().display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("RESULT ")?.split_whitespace();
            Some((f.next()?.to_string(), f.next()?.parse().ok()?))
        })
        .collect())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("oxrtc-media-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The inputs: the moving test pattern and a two-tone chord with noise.
    let pattern = TestPattern::new(WIDTH, HEIGHT, 30);
    let frames: Vec<VideoFrame> = (0..VIDEO_FRAMES).map(|n| pattern.frame_at(n)).collect();
    std::fs::write(dir.join("video.i420"), frames.iter().flat_map(|f| f.to_packed().to_vec()).collect::<Vec<u8>>())
        .unwrap();
    let chord = common::chord(AUDIO_FRAMES);
    let pcm: Vec<Vec<i16>> = chord.iter().map(|f| f.to_i16().to_vec()).collect();
    std::fs::write(dir.join("audio.s16"), pcm.iter().flatten().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>())
        .unwrap();

    let config = VideoEncoderConfig {
        threads: Some(1),
        speed: Some(VP8_SPEED),
        ..VideoEncoderConfig::new(WIDTH, HEIGHT, 1_000_000)
    };
    // Our encoder's output is what everyone decodes.
    let mut encoded: Vec<EncodedFrame> = Vec::new();
    let mut enc = video_encoder(Codec::Vp8, config.clone()).unwrap();
    for f in &frames {
        enc.encode(f, false, &mut encoded).unwrap();
    }
    std::fs::write(dir.join("video.vp8"), framed(encoded.iter().map(|e| e.data.to_vec()))).unwrap();
    let kbps = encoded.iter().map(|e| e.data.len()).sum::<usize>() as f64 * 8.0 * 30.0 / VIDEO_FRAMES as f64 / 1000.0;

    let mut audio_config = AudioEncoderConfig::for_codec(Codec::Opus);
    audio_config.channels = 2;
    audio_config.bitrate = OPUS_BITRATE;
    audio_config.fec = false;
    let new_opus = || {
        let mut e = OpusEncoder::new(audio_config.clone()).unwrap();
        e.set_complexity(10).unwrap();
        e
    };
    let mut packets = Vec::new();
    let mut e = new_opus();
    for f in &chord {
        e.encode(f, &mut packets).unwrap();
    }
    std::fs::write(dir.join("audio.opus"), framed(packets.iter().map(|p| p.data.to_vec()))).unwrap();

    let aiortc = run_aiortc(&dir);

    let mut out = Vec::new();
    let vp8_encode_bare = per_item(&frames, BareVp8::encoder, |e, f| {
        black_box(e.encode(f));
    });
    let vp8_encode_ours = per_item(
        &frames,
        || video_encoder(Codec::Vp8, config.clone()).unwrap(),
        |e, f| {
            e.encode(f, false, &mut out).unwrap();
            black_box(out.len());
            out.clear();
        },
    );
    let vp8_decode_bare = per_item(&encoded, BareVp8::decoder, |d, f| {
        black_box(BareVp8::decode(d, &f.data));
    });
    let mut pictures = Vec::new();
    let vp8_decode_ours = per_item(
        &encoded,
        || video_decoder(Codec::Vp8).unwrap(),
        |d, f| {
            d.decode(f, &mut pictures).unwrap();
            black_box(pictures.len());
            pictures.clear();
        },
    );
    let mut buf = vec![0u8; 4000];
    let opus_encode_bare = per_item(
        &pcm,
        || {
            let mut err = 0;
            // SAFETY: creating an encoder with valid arguments; checked below.
            let e = unsafe { opus_encoder_create(48_000, 2, OPUS_APPLICATION_VOIP, &mut err) };
            assert!(!e.is_null() && err == 0);
            // SAFETY: `e` is a live encoder; both requests take one int.
            unsafe {
                assert_eq!(opus_encoder_ctl(e, OPUS_SET_BITRATE, OPUS_BITRATE as c_int), 0);
                assert_eq!(opus_encoder_ctl(e, OPUS_SET_COMPLEXITY, 10 as c_int), 0);
            }
            OpusBox::Enc(e)
        },
        |e, s| {
            let OpusBox::Enc(e) = e else { unreachable!() };
            // SAFETY: `s` holds 960 stereo samples; `buf` is writable for its length.
            let n = unsafe { opus_encode(*e, s.as_ptr(), 960, buf.as_mut_ptr(), buf.len() as i32) };
            assert!(n > 0);
        },
    );
    let mut audio_out = Vec::new();
    let opus_encode_ours = per_item(&chord, new_opus, |e, f| {
        e.encode(f, &mut audio_out).unwrap();
        black_box(audio_out.len());
        audio_out.clear();
    });
    let mut samples = vec![0i16; 5760 * 2];
    let opus_decode_bare = per_item(
        &packets,
        || {
            let mut err = 0;
            // SAFETY: creating a decoder with valid arguments; checked below.
            let d = unsafe { opus_decoder_create(48_000, 2, &mut err) };
            assert!(!d.is_null() && err == 0);
            OpusBox::Dec(d)
        },
        |d, p| {
            let OpusBox::Dec(d) = d else { unreachable!() };
            // SAFETY: `p.data` is valid for its length; `samples` holds 120 ms of stereo.
            let n = unsafe { opus_decode(*d, p.data.as_ptr(), p.data.len() as i32, samples.as_mut_ptr(), 5760, 0) };
            assert_eq!(n, 960);
        },
    );
    let mut decoded = Vec::new();
    let opus_decode_ours = per_item(
        &packets,
        || OpusDecoder::new(2).unwrap(),
        |d, p| {
            d.decode(p, &mut decoded).unwrap();
            black_box(decoded.len());
            decoded.clear();
        },
    );
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "VP8 {WIDTH}x{HEIGHT} 1 Mbit/s speed {VP8_SPEED} one thread ({VIDEO_FRAMES} frames, ours {kbps:.0} kbit/s); \
         Opus 48 kHz stereo 20 ms {} kbit/s complexity 10 ({AUDIO_FRAMES} frames). CPU µs per frame, median of 3:",
        OPUS_BITRATE / 1000
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "", "bare lib", "oxrtc", "aiortc", "oxrtc/bare", "oxrtc/aiortc"
    );
    let theirs = |name: &str| aiortc.as_ref().ok().and_then(|r| r.iter().find(|(n, _)| n == name).map(|r| r.1));
    for (name, bare, ours) in [
        ("vp8_encode", vp8_encode_bare, vp8_encode_ours),
        ("vp8_decode", vp8_decode_bare, vp8_decode_ours),
        ("opus_encode", opus_encode_bare, opus_encode_ours),
        ("opus_decode", opus_decode_bare, opus_decode_ours),
    ] {
        let (a, ratio) = match theirs(name) {
            Some(a) => (format!("{a:.1}"), format!("{:.2}", ours / a)),
            None => ("-".into(), "-".into()),
        };
        println!("{name:<12} {bare:>10.1} {ours:>10.1} {a:>10} {:>12.3} {ratio:>14}", ours / bare);
    }
    if let Err(e) = aiortc {
        println!("aiortc was not measured: {e}");
    }
}

enum OpusBox {
    Enc(*mut OpusEnc),
    Dec(*mut OpusDec),
}

impl Drop for OpusBox {
    fn drop(&mut self) {
        // SAFETY: each pointer came from its create function and is freed once.
        unsafe {
            match *self {
                OpusBox::Enc(e) => opus_encoder_destroy(e),
                OpusBox::Dec(d) => opus_decoder_destroy(d),
            }
        }
    }
}
