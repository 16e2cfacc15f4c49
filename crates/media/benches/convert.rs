//! Pixel conversion speed: this crate's converter (the `yuv` crate) next to
//! `dcv-color-primitives`, and bilinear scaling (`fast_image_resize`), in
//! ns per frame at 640x480 and 1280x720.
//!
//! `cargo bench -p oxrtc-media --bench convert` (plain timing loops, no harness).

use std::hint::black_box;
use std::time::{Duration, Instant};

use dcv_color_primitives as dcp;
use media::synthetic::TestPattern;
use media::{PixelFormat, VideoFrame};

/// Mean ns per call of `f`, over at least 0.3 s after a warm-up.
fn time(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let (start, mut n) = (Instant::now(), 0u32);
    while start.elapsed() < Duration::from_millis(300) || n < 10 {
        f();
        n += 1;
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn dcv_format(f: PixelFormat) -> dcp::ImageFormat {
    let (pixel_format, color_space, num_planes) = match f {
        PixelFormat::I420 => (dcp::PixelFormat::I420, dcp::ColorSpace::Bt601, 3),
        PixelFormat::Rgb24 => (dcp::PixelFormat::Rgb, dcp::ColorSpace::Rgb, 1),
        PixelFormat::Bgr24 => (dcp::PixelFormat::Bgr, dcp::ColorSpace::Rgb, 1),
        PixelFormat::Bgra => (dcp::PixelFormat::Bgra, dcp::ColorSpace::Rgb, 1),
        other => panic!("{other:?} not in this bench"),
    };
    dcp::ImageFormat { pixel_format, color_space, num_planes }
}

/// One conversion with dcv-color-primitives into preallocated planes.
fn dcv_convert(src: &VideoFrame, to: PixelFormat, out: &mut [Vec<u8>]) {
    let (w, h) = (src.width(), src.height());
    let src_bufs: Vec<&[u8]> = src.planes().iter().map(|p| &p.data[..]).collect();
    let src_strides: Vec<usize> = src.planes().iter().map(|p| p.stride).collect();
    let dst_strides: Vec<usize> = (0..to.planes()).map(|i| to.plane_size(i, w, h).0).collect();
    let mut dst: Vec<&mut [u8]> = out.iter_mut().map(|v| &mut v[..]).collect();
    dcp::convert_image(
        w,
        h,
        &dcv_format(src.format()),
        Some(&src_strides),
        &src_bufs,
        &dcv_format(to),
        Some(&dst_strides),
        &mut dst,
    )
    .expect("dcv conversion");
}

fn main() {
    println!("{:<26} {:>10} {:>14} {:>14} {:>8}", "conversion", "size", "yuv ns/frame", "dcv ns/frame", "dcv/yuv");
    for (w, h) in [(640u32, 480u32), (1280, 720)] {
        let i420 = TestPattern::new(w, h, 30).frame_at(3);
        let cases = [
            (PixelFormat::I420, PixelFormat::Rgb24),
            (PixelFormat::I420, PixelFormat::Bgra),
            (PixelFormat::Bgr24, PixelFormat::I420),
            (PixelFormat::Bgra, PixelFormat::I420),
        ];
        for (from, to) in cases {
            let src = i420.to_format(from).unwrap();
            let ours = time(|| {
                black_box(src.to_format(to).unwrap());
            });
            let mut out: Vec<Vec<u8>> = (0..to.planes())
                .map(|i| {
                    let (row, rows) = to.plane_size(i, w, h);
                    vec![0u8; row * rows]
                })
                .collect();
            let theirs = time(|| {
                dcv_convert(&src, to, &mut out);
                black_box(&out);
            });
            println!(
                "{:<26} {:>10} {:>14.0} {:>14.0} {:>8.2}",
                format!("{from:?} -> {to:?}"),
                format!("{w}x{h}"),
                ours,
                theirs,
                theirs / ours
            );
        }
        let nv12 = time(|| {
            black_box(i420.to_format(PixelFormat::Nv12).unwrap());
        });
        println!("{:<26} {:>10} {:>14.0} {:>14} {:>8}", "I420 -> Nv12", format!("{w}x{h}"), nv12, "-", "-");
        let (sw, sh) = (w / 2, h / 2);
        let scale = time(|| {
            black_box(i420.scale(sw, sh).unwrap());
        });
        println!(
            "{:<26} {:>10} {:>14.0} {:>14} {:>8}",
            format!("I420 scale to {sw}x{sh}"),
            format!("{w}x{h}"),
            scale,
            "-",
            "-"
        );
    }
    println!("(yuv: our VideoFrame::to_format, which allocates its output; dcv writes into preallocated buffers)");
}
