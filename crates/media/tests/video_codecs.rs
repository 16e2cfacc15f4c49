//! Video codecs end to end on the synthetic test pattern: quality (PSNR),
//! rate control, keyframes on request, VP8 temporal layers, garbage input,
//! and ffmpeg reading what we write (and us reading what ffmpeg writes).
//!
//! Each codec's tests build with its feature (`vpx`, `h264`, `av1`); run
//! them all with `cargo test -p oxrtc-media --all-features --test
//! video_codecs -- --nocapture` to see the measured numbers.
//!
//! ffmpeg/ffprobe are required by the cross-checks: when missing they fail
//! and say to run `scripts/media-deps.sh`.

#![cfg(any(feature = "vpx", feature = "h264", feature = "av1"))]
// Helpers serve whichever codecs are built.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use media::codec::{video_decoder, video_encoder, VideoEncoderConfig};
use media::synthetic::TestPattern;
use media::{Codec, EncodedFrame, PixelFormat, TimeBase, VideoFrame};

const W: u32 = 640;
const H: u32 = 480;
const FPS: u32 = 30;
/// Frames before quality counts: rate control settles in about a second.
const WARM_UP: usize = 30;

/// PSNR of plane `plane` of `b` against `a` (same size, 8-bit).
fn psnr_plane(a: &VideoFrame, b: &VideoFrame, plane: usize) -> f64 {
    let (mut sse, mut n) = (0f64, 0f64);
    for (ra, rb) in a.rows(plane).zip(b.rows(plane)) {
        for (x, y) in ra.iter().zip(rb) {
            let d = f64::from(*x) - f64::from(*y);
            sse += d * d;
            n += 1.0;
        }
    }
    if sse == 0.0 {
        return 100.0;
    }
    10.0 * (255.0f64 * 255.0 / (sse / n)).log10()
}

/// (Y PSNR, PSNR over all samples of the three planes).
fn psnr(a: &VideoFrame, b: &VideoFrame) -> (f64, f64) {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()), "sizes differ");
    let y = psnr_plane(a, b, 0);
    // All planes, weighted by their sample counts (4:1:1).
    let mse = |p: f64| 255.0f64 * 255.0 / 10f64.powf(p / 10.0);
    let all = (4.0 * mse(y) + mse(psnr_plane(a, b, 1)) + mse(psnr_plane(a, b, 2))) / 6.0;
    (y, 10.0 * (255.0f64 * 255.0 / all).log10())
}

/// What a run of the encoder and decoder measured.
#[derive(Debug)]
struct Run {
    frames: Vec<EncodedFrame>,
    /// Mean Y PSNR after warm-up (dB).
    psnr_y: f64,
    /// Mean all-plane PSNR after warm-up (dB).
    psnr_all: f64,
    /// Lowest Y PSNR after warm-up.
    psnr_y_min: f64,
    /// Output bitrate after warm-up (bit/s).
    bitrate: f64,
}

/// Encodes `n` frames of the pattern at `bitrate`, decodes them and measures.
fn run(codec: Codec, config: VideoEncoderConfig, n: usize) -> Run {
    let pattern = TestPattern::new(config.width, config.height, FPS);
    let mut enc = video_encoder(codec, config).expect("encoder");
    let mut dec = video_decoder(codec).expect("decoder");
    let (mut frames, mut decoded) = (Vec::new(), Vec::new());
    let (mut sum_y, mut sum_all, mut min_y, mut bytes) = (0.0, 0.0, f64::MAX, 0usize);
    for i in 0..n {
        let src = pattern.frame_at(i as u64);
        let mut out = Vec::new();
        enc.encode(&src, false, &mut out).expect("encode");
        assert_eq!(out.len(), 1, "{codec:?}: one frame out per frame in (frame {i})");
        let f = &out[0];
        assert_eq!((f.pts, f.time_base), (src.pts, src.time_base), "output keeps the input's timestamp");
        decoded.clear();
        dec.decode(f, &mut decoded).expect("decode");
        assert_eq!(decoded.len(), 1, "{codec:?}: one picture per frame (frame {i})");
        assert_eq!(decoded[0].pts, src.pts);
        if i >= WARM_UP {
            let (y, all) = psnr(&src, &decoded[0]);
            sum_y += y;
            sum_all += all;
            min_y = min_y.min(y);
            bytes += f.data.len();
        }
        frames.extend(out);
    }
    let counted = (n - WARM_UP) as f64;
    Run {
        frames,
        psnr_y: sum_y / counted,
        psnr_all: sum_all / counted,
        psnr_y_min: min_y,
        bitrate: bytes as f64 * 8.0 * f64::from(FPS) / counted,
    }
}

/// Checks quality at 640x480, 1 Mbit/s, 30 fps, and prints the numbers.
fn quality(codec: Codec) -> Run {
    let r = run(codec, VideoEncoderConfig::new(W, H, 1_000_000), 150);
    eprintln!(
        "{codec:?} 640x480@30 1 Mbit/s: Y PSNR {:.2} dB (min {:.2}), all-plane PSNR {:.2} dB, output {:.0} kbit/s",
        r.psnr_y,
        r.psnr_y_min,
        r.psnr_all,
        r.bitrate / 1000.0
    );
    assert!(r.psnr_y >= 32.0, "{codec:?}: Y PSNR {:.2} dB below 32", r.psnr_y);
    assert!(r.bitrate < 1_300_000.0, "{codec:?}: {:.0} bit/s overshoots 1 Mbit/s by more than 30%", r.bitrate);
    assert!(r.frames[0].keyframe, "the first frame is a keyframe");
    r
}

/// Lowering the bitrate mid-stream shrinks the frames without a keyframe.
fn bitrate_change(codec: Codec) {
    let pattern = TestPattern::new(W, H, FPS);
    let mut enc = video_encoder(codec, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
    let mut sizes = Vec::new();
    let mut keys = Vec::new();
    for i in 0..180u64 {
        if i == 90 {
            enc.set_bitrate(250_000).unwrap();
            assert_eq!(enc.config().bitrate, 250_000);
        }
        let mut out = Vec::new();
        enc.encode(&pattern.frame_at(i), false, &mut out).unwrap();
        for f in out {
            sizes.push(f.data.len());
            keys.push(f.keyframe);
        }
    }
    let mean = |r: std::ops::Range<usize>| sizes[r.clone()].iter().sum::<usize>() as f64 / r.len() as f64;
    let (before, after) = (mean(60..90), mean(150..180));
    eprintln!(
        "{codec:?} bitrate 1000 -> 250 kbit/s: {:.0} -> {:.0} kbit/s",
        before * 8.0 * 30.0 / 1000.0,
        after * 8.0 * 30.0 / 1000.0
    );
    assert!(after < before * 0.6, "{codec:?}: frames {before:.0} B before, {after:.0} B after lowering the bitrate");
    assert!(keys[1..].iter().all(|k| !k), "{codec:?}: no keyframe after the first (bitrate change in place)");
}

/// A keyframe comes out exactly where one is asked for.
fn keyframe_on_request(codec: Codec) {
    let pattern = TestPattern::new(W, H, FPS);
    let mut enc = video_encoder(codec, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
    let mut keys = Vec::new();
    for i in 0..40u64 {
        let mut out = Vec::new();
        enc.encode(&pattern.frame_at(i), i == 25, &mut out).unwrap();
        keys.extend(out.iter().map(|f| f.keyframe));
    }
    let at: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
    assert_eq!(at, vec![0, 25], "{codec:?}: keyframes at the start and where asked");
}

/// Garbage gives an error, not a panic nor a picture.
fn garbage(codec: Codec) {
    let mut dec = video_decoder(codec).unwrap();
    let mut seed = 0x1234_5678u32;
    let junk: Vec<u8> = (0..4000)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect();
    let mut out = Vec::new();
    for data in [junk.clone(), vec![0u8; 3], vec![0xff; 100], vec![]] {
        let f = EncodedFrame {
            codec,
            data: data.into(),
            pts: 0,
            time_base: TimeBase::VIDEO,
            duration: None,
            keyframe: true,
        };
        let e = dec.decode(&f, &mut out).expect_err("garbage must be refused");
        assert!(matches!(e, media::MediaError::Codec { .. }), "{codec:?}: {e}");
    }
    assert!(out.is_empty());
}

/// Converted input (NV12, RGB) encodes like I420.
fn other_input_formats(codec: Codec) {
    let pattern = TestPattern::new(W, H, FPS);
    let mut enc = video_encoder(codec, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
    let mut dec = video_decoder(codec).unwrap();
    let mut out = Vec::new();
    for (i, fmt) in [PixelFormat::Nv12, PixelFormat::Rgb24, PixelFormat::Bgra].into_iter().enumerate() {
        let f = pattern.frame_at(i as u64).to_format(fmt).unwrap();
        enc.encode(&f, false, &mut out).unwrap();
    }
    let mut pics = Vec::new();
    for f in &out {
        dec.decode(f, &mut pics).unwrap();
    }
    assert_eq!(pics.len(), 3);
    // RGB clips the pattern's out-of-gamut colours: compare with what the
    // encoder was given, back in I420.
    let given = pattern.frame_at(2).to_format(PixelFormat::Bgra).unwrap().to_format(PixelFormat::I420).unwrap();
    let (y, _) = psnr(&given, &pics[2]);
    assert!(y > 30.0, "{codec:?} from BGRA: Y PSNR {y:.2}");
}

/// ffmpeg's path, or a failure that says how to install it.
fn tool(name: &str) -> String {
    match Command::new(name).arg("-version").output() {
        Ok(o) if o.status.success() => name.to_string(),
        _ => panic!("{name} is missing: it is needed to cross-check our files; run scripts/media-deps.sh"),
    }
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("oxrtc-video-{}-{name}", std::process::id()))
}

/// Writes `frames` as an IVF file (a 32-byte header, then size, pts, data per frame).
fn write_ivf(path: &Path, fourcc: &[u8; 4], w: u32, h: u32, frames: &[EncodedFrame]) {
    let mut b = Vec::new();
    b.extend_from_slice(b"DKIF");
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(fourcc);
    b.extend_from_slice(&(w as u16).to_le_bytes());
    b.extend_from_slice(&(h as u16).to_le_bytes());
    b.extend_from_slice(&90_000u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    for f in frames {
        b.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.pts as u64).to_le_bytes());
        b.extend_from_slice(&f.data);
    }
    std::fs::write(path, b).unwrap();
}

/// Reads an IVF file's frames (size and pts per frame).
fn read_ivf(path: &Path, codec: Codec) -> Vec<EncodedFrame> {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..4], b"DKIF");
    let header = u16::from_le_bytes([b[6], b[7]]) as usize;
    let mut at = header;
    let mut frames = Vec::new();
    while at + 12 <= b.len() {
        let len = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
        let pts = i64::from_le_bytes(b[at + 4..at + 12].try_into().unwrap());
        at += 12;
        frames.push(EncodedFrame {
            codec,
            data: b[at..at + len].to_vec().into(),
            pts,
            time_base: TimeBase::VIDEO,
            duration: None,
            keyframe: frames.is_empty(),
        });
        at += len;
    }
    frames
}

/// `ffprobe -count_frames` on `path`: the frames it decoded.
fn ffprobe_count(path: &Path) -> usize {
    let out = Command::new(tool("ffprobe"))
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_frames,width,height", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let fields: Vec<&str> = text.split(',').collect();
    assert_eq!(&fields[..2], &["640", "480"], "ffprobe sees 640x480: {text}");
    fields[2].parse().unwrap_or_else(|_| panic!("ffprobe output {text}"))
}

#[cfg(feature = "vpx")]
mod vpx {
    use super::*;
    use media::codec::VideoEncoder;

    #[test]
    fn vp8_quality_at_1_mbps() {
        quality(Codec::Vp8);
    }

    #[test]
    fn vp9_quality_at_1_mbps() {
        quality(Codec::Vp9);
    }

    #[test]
    fn vp8_bitrate_changes_without_keyframe() {
        bitrate_change(Codec::Vp8);
    }

    #[test]
    fn vp9_bitrate_changes_without_keyframe() {
        bitrate_change(Codec::Vp9);
    }

    #[test]
    fn vp8_and_vp9_keyframes_on_request() {
        keyframe_on_request(Codec::Vp8);
        keyframe_on_request(Codec::Vp9);
    }

    #[test]
    fn vp8_and_vp9_refuse_garbage() {
        garbage(Codec::Vp8);
        garbage(Codec::Vp9);
    }

    #[test]
    fn vp8_at_aiortcs_speed_keeps_quality_and_speeds_out_of_range_are_refused() {
        let config = VideoEncoderConfig { speed: Some(-6), ..VideoEncoderConfig::new(640, 480, 1_000_000) };
        let r = run(Codec::Vp8, config, 60);
        assert!(r.psnr_y >= 32.0, "{} dB", r.psnr_y);
        for (codec, speed) in [(Codec::Vp8, 17), (Codec::Vp8, -17), (Codec::Vp9, 10), (Codec::Vp9, -1)] {
            let config = VideoEncoderConfig { speed: Some(speed), ..VideoEncoderConfig::new(640, 480, 1_000_000) };
            let e = video_encoder(codec, config).err().expect("refused");
            assert!(e.to_string().contains(&format!("speed {speed}")), "{e}");
        }
    }

    #[test]
    fn vp8_and_vp9_take_nv12_and_rgb() {
        other_input_formats(Codec::Vp8);
        other_input_formats(Codec::Vp9);
    }

    #[test]
    fn keyframe_interval_is_kept() {
        let pattern = TestPattern::new(320, 240, FPS);
        let mut c = VideoEncoderConfig::new(320, 240, 300_000);
        c.keyframe_interval = Some(10);
        let mut enc = video_encoder(Codec::Vp8, c).unwrap();
        let mut keys = Vec::new();
        for i in 0..35 {
            let mut out = Vec::new();
            enc.encode(&pattern.frame_at(i), false, &mut out).unwrap();
            keys.extend(out.iter().map(|f| f.keyframe));
        }
        let gaps: Vec<usize> = keys.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
        assert!(gaps.len() >= 4 && gaps.windows(2).all(|w| w[1] - w[0] <= 10), "keyframes at {gaps:?}");
    }

    /// Encodes 3-layer VP8 and returns the frames with their layer ids.
    fn layered(layers: u8, n: u64) -> (Vec<EncodedFrame>, Vec<Option<u8>>, Box<dyn VideoEncoder>) {
        let pattern = TestPattern::new(W, H, FPS);
        let mut c = VideoEncoderConfig::new(W, H, 1_000_000);
        c.temporal_layers = layers;
        let mut enc = video_encoder(Codec::Vp8, c).unwrap();
        let (mut frames, mut ids) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut out = Vec::new();
            enc.encode(&pattern.frame_at(i), i == 41, &mut out).unwrap();
            assert_eq!(out.len(), 1);
            ids.push(enc.last_temporal_layer());
            frames.extend(out);
        }
        (frames, ids, enc)
    }

    #[test]
    fn vp8_temporal_layers_follow_their_pattern() {
        let (_, ids, _) = layered(2, 8);
        assert_eq!(ids, [0, 1, 0, 1, 0, 1, 0, 1].map(Some));
        let (frames, ids, _) = layered(3, 48);
        assert_eq!(&ids[..8], &[0, 2, 1, 2, 0, 2, 1, 2].map(Some));
        // The keyframe asked for at frame 41 starts the pattern again in layer 0.
        assert_eq!(&ids[39..46], &[Some(2), Some(0), Some(0), Some(2), Some(1), Some(2), Some(0)]);
        assert!(frames[41].keyframe);
        let (_, none, _) = layered(1, 3);
        assert_eq!(none, [None, None, None]);
    }

    #[test]
    fn vp8_base_layer_decodes_alone() {
        // Dropping layers 1 and 2 (what an SFU does for a low-rate receiver)
        // must leave layer 0 decodable: upper layers are not referenced by it.
        let (frames, ids, _) = layered(3, 90);
        let pattern = TestPattern::new(W, H, FPS);
        let mut dec = video_decoder(Codec::Vp8).unwrap();
        let mut worst: f64 = 100.0;
        let mut base_bytes = 0usize;
        for (f, id) in frames.iter().zip(&ids) {
            if *id != Some(0) {
                continue;
            }
            base_bytes += f.data.len();
            let mut out = Vec::new();
            dec.decode(f, &mut out).unwrap();
            let n = pattern.read_counter(&out[0]).expect("the counter reads back");
            let src = pattern.frame_at(n);
            assert_eq!(src.pts, f.pts);
            worst = worst.min(psnr(&src, &out[0]).0);
        }
        let all: usize = frames.iter().map(|f| f.data.len()).sum();
        eprintln!(
            "VP8 3 layers: base layer alone worst Y PSNR {worst:.2} dB, {:.0}% of the bytes",
            100.0 * base_bytes as f64 / all as f64
        );
        assert!(worst > 28.0, "base layer alone decodes cleanly: worst Y PSNR {worst:.2}");
    }

    #[test]
    fn bad_settings_are_refused_with_reasons() {
        let mut c = VideoEncoderConfig::new(W, H, 1_000_000);
        c.temporal_layers = 4;
        let e = video_encoder(Codec::Vp8, c.clone()).err().unwrap();
        assert!(e.to_string().contains("VP8 supports 1, 2 or 3"), "{e}");
        c.temporal_layers = 2;
        assert!(video_encoder(Codec::Vp9, c).is_err());
        let mut enc = video_encoder(Codec::Vp8, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
        let small = TestPattern::new(320, 240, FPS).frame_at(0);
        let e = enc.encode(&small, false, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("scale it first"), "{e}");
        assert!(enc.set_bitrate(10).is_err());
    }

    #[test]
    fn ffprobe_reads_our_vp8_and_vp9() {
        for (codec, fourcc) in [(Codec::Vp8, b"VP80"), (Codec::Vp9, b"VP90")] {
            let pattern = TestPattern::new(W, H, FPS);
            let mut enc = video_encoder(codec, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
            let mut frames = Vec::new();
            for i in 0..45 {
                enc.encode(&pattern.frame_at(i), i == 30, &mut frames).unwrap();
            }
            let path = temp(&format!("{codec:?}.ivf"));
            write_ivf(&path, fourcc, W, H, &frames);
            let n = ffprobe_count(&path);
            std::fs::remove_file(&path).ok();
            assert_eq!(n, 45, "{codec:?}: ffprobe decodes every frame");
        }
    }
}

#[cfg(feature = "h264")]
mod h264 {
    use super::*;

    #[test]
    fn h264_quality_at_1_mbps() {
        let r = quality(Codec::H264);
        // Annex B, constrained baseline: SPS (type 7) first, profile_idc 66
        // with constraint_set1 (what 42e0xx asks).
        let d = &r.frames[0].data;
        assert!(d.starts_with(&[0, 0, 0, 1]) || d.starts_with(&[0, 0, 1]), "Annex B start code");
        let at = if d[2] == 1 { 3 } else { 4 };
        assert_eq!(d[at] & 0x1f, 7, "SPS first");
        assert_eq!(d[at + 1], 66, "baseline profile");
        assert_ne!(d[at + 2] & 0x40, 0, "constraint_set1_flag (constrained baseline)");
    }

    #[test]
    fn h264_bitrate_changes_without_keyframe() {
        bitrate_change(Codec::H264);
    }

    #[test]
    fn h264_keyframe_on_request() {
        keyframe_on_request(Codec::H264);
    }

    #[test]
    fn h264_refuses_garbage() {
        garbage(Codec::H264);
    }

    #[test]
    fn h264_takes_nv12_and_rgb() {
        other_input_formats(Codec::H264);
    }

    #[test]
    fn ffprobe_reads_our_h264() {
        let pattern = TestPattern::new(W, H, FPS);
        let mut enc = video_encoder(Codec::H264, VideoEncoderConfig::new(W, H, 1_000_000)).unwrap();
        let mut stream = Vec::new();
        for i in 0..45 {
            let mut out = Vec::new();
            enc.encode(&pattern.frame_at(i), false, &mut out).unwrap();
            for f in out {
                stream.extend_from_slice(&f.data);
            }
        }
        let path = temp("stream.h264");
        std::fs::write(&path, stream).unwrap();
        let n = ffprobe_count(&path);
        std::fs::remove_file(&path).ok();
        assert_eq!(n, 45);
    }
}

#[cfg(feature = "av1")]
mod av1 {
    use super::*;

    /// ffmpeg (libaom) encodes a clip to IVF; we decode it and compare with
    /// ffmpeg's own decode of the same file (AV1 decoding is bit-exact).
    #[test]
    fn decodes_what_ffmpeg_encodes() {
        let ffmpeg = tool("ffmpeg");
        let (ivf, yuv) = (temp("av1.ivf"), temp("av1.yuv"));
        let enc = Command::new(&ffmpeg)
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-frames:v", "12"])
            .args(["-pix_fmt", "yuv420p", "-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-b:v", "300k"])
            .arg(&ivf)
            .output()
            .unwrap();
        assert!(
            enc.status.success(),
            "ffmpeg could not encode AV1 (libaom-av1); run scripts/media-deps.sh: {}",
            String::from_utf8_lossy(&enc.stderr)
        );
        let dec = Command::new(&ffmpeg)
            .args(["-v", "error", "-y", "-i"])
            .arg(&ivf)
            .args(["-f", "rawvideo", "-pix_fmt", "yuv420p"])
            .arg(&yuv)
            .output()
            .unwrap();
        assert!(dec.status.success(), "ffmpeg decode: {}", String::from_utf8_lossy(&dec.stderr));
        let frames = read_ivf(&ivf, Codec::Av1);
        let reference = std::fs::read(&yuv).unwrap();
        std::fs::remove_file(&ivf).ok();
        std::fs::remove_file(&yuv).ok();
        assert_eq!(frames.len(), 12);

        let mut d = video_decoder(Codec::Av1).unwrap();
        let mut pics = Vec::new();
        for f in &frames {
            d.decode(f, &mut pics).unwrap();
        }
        assert_eq!(pics.len(), 12, "one picture per temporal unit");
        let size = VideoFrame::packed_len(PixelFormat::I420, 320, 240);
        for (i, p) in pics.iter().enumerate() {
            assert_eq!((p.width(), p.height(), p.pts), (320, 240, frames[i].pts));
            assert_eq!(&p.to_packed()[..], &reference[i * size..(i + 1) * size], "frame {i} matches ffmpeg's decode");
        }
    }

    #[test]
    fn av1_refuses_garbage() {
        garbage(Codec::Av1);
    }

    #[test]
    fn av1_has_no_encoder() {
        let e = video_encoder(Codec::Av1, VideoEncoderConfig::new(W, H, 1_000_000)).err().unwrap();
        assert!(e.to_string().contains("decodes AV1 only"), "{e}");
    }
}
