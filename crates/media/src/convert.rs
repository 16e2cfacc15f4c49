//! Pixel format conversion and scaling of [`VideoFrame`]s.
//!
//! YUV ↔ RGB goes through the `yuv` crate (pure Rust, SSE/AVX/NEON), with
//! BT.601 limited-range coefficients, what cameras and WebRTC's I420 frames
//! use. I420 ↔ NV12 and the packed RGB orders only move bytes, so they are
//! exact. Scaling is bilinear, per plane, through `fast_image_resize` (pure
//! Rust, SIMD). `benches/convert.rs` compares `yuv` with
//! `dcv-color-primitives`.
//!
//! ```
//! use media::{PixelFormat, synthetic::TestPattern};
//! let i420 = TestPattern::new(640, 480, 30).frame_at(0);
//! let rgb = i420.to_format(PixelFormat::Rgb24).unwrap();
//! let small = i420.scale(320, 240).unwrap();
//! assert_eq!((rgb.format(), small.width()), (PixelFormat::Rgb24, 320));
//! ```

use fast_image_resize as fir;
use yuv::{
    BufferStoreMut, YuvBiPlanarImage, YuvBiPlanarImageMut, YuvConversionMode, YuvPlanarImage, YuvPlanarImageMut,
    YuvRange, YuvStandardMatrix,
};

use crate::error::{MediaError, Result};
use crate::frame::{PixelFormat, Plane, VideoFrame};

const RANGE: YuvRange = YuvRange::Limited;
const MATRIX: YuvStandardMatrix = YuvStandardMatrix::Bt601;
const MODE: YuvConversionMode = YuvConversionMode::Balanced;

fn yuv_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::BadFrame(format!("{what}: {e}"))
}

/// Byte order of a packed RGB format: (index of R, G, B in a pixel, alpha index if any).
fn channel_order(f: PixelFormat) -> Option<([usize; 3], Option<usize>)> {
    match f {
        PixelFormat::Rgb24 => Some(([0, 1, 2], None)),
        PixelFormat::Bgr24 => Some(([2, 1, 0], None)),
        PixelFormat::Rgba => Some(([0, 1, 2], Some(3))),
        PixelFormat::Bgra => Some(([2, 1, 0], Some(3))),
        _ => None,
    }
}

impl VideoFrame {
    /// This frame in `format` (a cheap clone when it already is): I420, NV12
    /// and the packed RGB/BGR/RGBA/BGRA formats convert both ways. RGB with
    /// alpha gets an opaque alpha from YUV; YUV drops alpha.
    pub fn to_format(&self, format: PixelFormat) -> Result<VideoFrame> {
        let from = self.format();
        if from == format {
            return Ok(self.clone());
        }
        let (w, h) = (self.width(), self.height());
        let mut out = vec![0u8; VideoFrame::packed_len(format, w, h)];
        match (from, format) {
            (PixelFormat::I420, PixelFormat::Nv12) => self.i420_to_nv12(&mut out),
            (PixelFormat::Nv12, PixelFormat::I420) => self.nv12_to_i420(&mut out),
            (PixelFormat::I420, to) => self.i420_to_packed(to, &mut out)?,
            (PixelFormat::Nv12, to) => self.nv12_to_packed(to, &mut out)?,
            (rgb, PixelFormat::I420) => self.packed_to_i420(rgb, &mut out)?,
            (rgb, PixelFormat::Nv12) => self.packed_to_nv12(rgb, &mut out)?,
            (a, b) => self.swizzle(a, b, &mut out)?,
        }
        VideoFrame::from_packed(format, w, h, out.into(), self.pts, self.time_base)
    }

    /// This frame scaled to `width`×`height` (bilinear, each plane on its
    /// own, SIMD where the CPU has it), same format and timestamp.
    pub fn scale(&self, width: u32, height: u32) -> Result<VideoFrame> {
        if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
            return Err(MediaError::BadFrame(format!("scale to {width}x{height}: each side must be 1..=16384")));
        }
        if (width, height) == (self.width(), self.height()) {
            return Ok(self.clone());
        }
        let format = self.format();
        let mut resizer = fir::Resizer::new();
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear))
            .use_alpha(false);
        let mut planes = Vec::with_capacity(format.planes());
        for i in 0..format.planes() {
            let (src_row, src_rows) = format.plane_size(i, self.width(), self.height());
            let (dst_row, dst_rows) = format.plane_size(i, width, height);
            let bpp = match (format, i) {
                (PixelFormat::Nv12, 1) => 2,
                (f, _) => f.bytes_per_pixel(),
            };
            let pixel_type = match bpp {
                1 => fir::PixelType::U8,
                2 => fir::PixelType::U8x2,
                3 => fir::PixelType::U8x3,
                _ => fir::PixelType::U8x4,
            };
            let packed = self.packed_plane(i);
            let src = fir::images::ImageRef::new((src_row / bpp) as u32, src_rows as u32, &packed, pixel_type)
                .map_err(|e| yuv_err("scaling", e))?;
            let mut dst = fir::images::Image::new((dst_row / bpp) as u32, dst_rows as u32, pixel_type);
            resizer.resize(&src, &mut dst, &options).map_err(|e| yuv_err("scaling", e))?;
            planes.push(Plane { data: dst.into_vec().into(), stride: dst_row });
        }
        VideoFrame::new(format, width, height, planes, self.pts, self.time_base)
    }

    /// Plane `i` without stride padding (borrowed when there is none).
    fn packed_plane(&self, i: usize) -> std::borrow::Cow<'_, [u8]> {
        let (row, rows) = self.format().plane_size(i, self.width(), self.height());
        let p = &self.planes()[i];
        if p.stride == row {
            std::borrow::Cow::Borrowed(&p.data[..row * rows])
        } else {
            std::borrow::Cow::Owned(self.rows(i).flatten().copied().collect())
        }
    }

    fn planar(&self) -> YuvPlanarImage<'_, u8> {
        let p = self.planes();
        YuvPlanarImage {
            y_plane: &p[0].data,
            y_stride: p[0].stride as u32,
            u_plane: &p[1].data,
            u_stride: p[1].stride as u32,
            v_plane: &p[2].data,
            v_stride: p[2].stride as u32,
            width: self.width(),
            height: self.height(),
        }
    }

    fn biplanar(&self) -> YuvBiPlanarImage<'_, u8> {
        let p = self.planes();
        YuvBiPlanarImage {
            y_plane: &p[0].data,
            y_stride: p[0].stride as u32,
            uv_plane: &p[1].data,
            uv_stride: p[1].stride as u32,
            width: self.width(),
            height: self.height(),
        }
    }

    fn i420_to_nv12(&self, out: &mut [u8]) {
        let (w, h) = (self.width() as usize, self.height() as usize);
        let (y, uv) = out.split_at_mut(w * h);
        for (dst, src) in y.chunks_exact_mut(w).zip(self.rows(0)) {
            dst.copy_from_slice(src);
        }
        let cw = w.div_ceil(2);
        for ((dst, u), v) in uv.chunks_exact_mut(cw * 2).zip(self.rows(1)).zip(self.rows(2)) {
            for ((pair, &u), &v) in dst.chunks_exact_mut(2).zip(u).zip(v) {
                pair[0] = u;
                pair[1] = v;
            }
        }
    }

    fn nv12_to_i420(&self, out: &mut [u8]) {
        let (w, h) = (self.width() as usize, self.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (y, uv) = out.split_at_mut(w * h);
        let (u, v) = uv.split_at_mut(cw * ch);
        for (dst, src) in y.chunks_exact_mut(w).zip(self.rows(0)) {
            dst.copy_from_slice(src);
        }
        for ((u, v), src) in u.chunks_exact_mut(cw).zip(v.chunks_exact_mut(cw)).zip(self.rows(1)) {
            for ((u, v), pair) in u.iter_mut().zip(v.iter_mut()).zip(src.chunks_exact(2)) {
                *u = pair[0];
                *v = pair[1];
            }
        }
    }

    fn i420_to_packed(&self, to: PixelFormat, out: &mut [u8]) -> Result<()> {
        let img = self.planar();
        let stride = self.width() * to.bytes_per_pixel() as u32;
        let r = match to {
            PixelFormat::Rgb24 => yuv::yuv420_to_rgb(&img, out, stride, RANGE, MATRIX),
            PixelFormat::Bgr24 => yuv::yuv420_to_bgr(&img, out, stride, RANGE, MATRIX),
            PixelFormat::Rgba => yuv::yuv420_to_rgba(&img, out, stride, RANGE, MATRIX),
            PixelFormat::Bgra => yuv::yuv420_to_bgra(&img, out, stride, RANGE, MATRIX),
            other => return Err(MediaError::Unsupported(format!("I420 to {other:?}"))),
        };
        r.map_err(|e| yuv_err("I420 to RGB", e))
    }

    fn nv12_to_packed(&self, to: PixelFormat, out: &mut [u8]) -> Result<()> {
        let img = self.biplanar();
        let stride = self.width() * to.bytes_per_pixel() as u32;
        let r = match to {
            PixelFormat::Rgb24 => yuv::yuv_nv12_to_rgb(&img, out, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgr24 => yuv::yuv_nv12_to_bgr(&img, out, stride, RANGE, MATRIX, MODE),
            PixelFormat::Rgba => yuv::yuv_nv12_to_rgba(&img, out, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgra => yuv::yuv_nv12_to_bgra(&img, out, stride, RANGE, MATRIX, MODE),
            other => return Err(MediaError::Unsupported(format!("NV12 to {other:?}"))),
        };
        r.map_err(|e| yuv_err("NV12 to RGB", e))
    }

    fn packed_to_i420(&self, from: PixelFormat, out: &mut [u8]) -> Result<()> {
        let (w, h) = (self.width(), self.height());
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let (y, uv) = out.split_at_mut((w * h) as usize);
        let (u, v) = uv.split_at_mut((cw * ch) as usize);
        let mut img = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(y),
            y_stride: w,
            u_plane: BufferStoreMut::Borrowed(u),
            u_stride: cw,
            v_plane: BufferStoreMut::Borrowed(v),
            v_stride: cw,
            width: w,
            height: h,
        };
        let p = &self.planes()[0];
        let (src, stride) = (&p.data[..], p.stride as u32);
        let r = match from {
            PixelFormat::Rgb24 => yuv::rgb_to_yuv420(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgr24 => yuv::bgr_to_yuv420(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Rgba => yuv::rgba_to_yuv420(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgra => yuv::bgra_to_yuv420(&mut img, src, stride, RANGE, MATRIX, MODE),
            other => return Err(MediaError::Unsupported(format!("{other:?} to I420"))),
        };
        r.map_err(|e| yuv_err("RGB to I420", e))
    }

    fn packed_to_nv12(&self, from: PixelFormat, out: &mut [u8]) -> Result<()> {
        let (w, h) = (self.width(), self.height());
        let (y, uv) = out.split_at_mut((w * h) as usize);
        let mut img = YuvBiPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(y),
            y_stride: w,
            uv_plane: BufferStoreMut::Borrowed(uv),
            uv_stride: w.div_ceil(2) * 2,
            width: w,
            height: h,
        };
        let p = &self.planes()[0];
        let (src, stride) = (&p.data[..], p.stride as u32);
        let r = match from {
            PixelFormat::Rgb24 => yuv::rgb_to_yuv_nv12(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgr24 => yuv::bgr_to_yuv_nv12(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Rgba => yuv::rgba_to_yuv_nv12(&mut img, src, stride, RANGE, MATRIX, MODE),
            PixelFormat::Bgra => yuv::bgra_to_yuv_nv12(&mut img, src, stride, RANGE, MATRIX, MODE),
            other => return Err(MediaError::Unsupported(format!("{other:?} to NV12"))),
        };
        r.map_err(|e| yuv_err("RGB to NV12", e))
    }

    /// Between packed RGB orders: moves bytes, alpha 255 when added.
    fn swizzle(&self, from: PixelFormat, to: PixelFormat, out: &mut [u8]) -> Result<()> {
        let (Some((src_rgb, _)), Some((dst_rgb, dst_a))) = (channel_order(from), channel_order(to)) else {
            return Err(MediaError::Unsupported(format!("{from:?} to {to:?}")));
        };
        let (sb, db) = (from.bytes_per_pixel(), to.bytes_per_pixel());
        let row_out = self.width() as usize * db;
        for (dst, src) in out.chunks_exact_mut(row_out).zip(self.rows(0)) {
            for (d, s) in dst.chunks_exact_mut(db).zip(src.chunks_exact(sb)) {
                for c in 0..3 {
                    d[dst_rgb[c]] = s[src_rgb[c]];
                }
                if let Some(a) = dst_a {
                    d[a] = if sb == 4 { s[3] } else { 255 };
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::TimeBase;
    use crate::synthetic::TestPattern;

    fn max_diff(a: &VideoFrame, b: &VideoFrame) -> u8 {
        let (a, b) = (a.to_packed(), b.to_packed());
        a.iter().zip(b.iter()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
    }

    fn mean_diff(a: &VideoFrame, b: &VideoFrame, plane: usize) -> f64 {
        let (mut sum, mut n) = (0u64, 0u64);
        for (ra, rb) in a.rows(plane).zip(b.rows(plane)) {
            for (x, y) in ra.iter().zip(rb) {
                sum += u64::from(x.abs_diff(*y));
                n += 1;
            }
        }
        sum as f64 / n as f64
    }

    #[test]
    fn nv12_round_trip_is_exact() {
        for (w, h) in [(640, 480), (65, 33)] {
            let f = TestPattern::new(640, 480, 30).frame_at(7).scale(w, h).unwrap();
            let nv12 = f.to_format(PixelFormat::Nv12).unwrap();
            assert_eq!(nv12.planes().len(), 2);
            let back = nv12.to_format(PixelFormat::I420).unwrap();
            assert_eq!(back.to_packed(), f.to_packed(), "{w}x{h}");
        }
    }

    #[test]
    fn rgb_round_trips_stay_close() {
        // The pattern has YUV values no RGB colour has (luma below 16, bars
        // of full chroma): one trip through RGB clips them into gamut, and
        // from there the round trip must hold.
        let pattern = TestPattern::new(640, 480, 30).frame_at(3);
        let f = pattern.to_format(PixelFormat::Rgb24).unwrap().to_format(PixelFormat::I420).unwrap();
        for fmt in [PixelFormat::Rgb24, PixelFormat::Bgr24, PixelFormat::Rgba, PixelFormat::Bgra] {
            let rgb = f.to_format(fmt).unwrap();
            assert_eq!((rgb.format(), rgb.pts), (fmt, f.pts));
            let back = rgb.to_format(PixelFormat::I420).unwrap();
            // Luma survives within rounding; chroma is averaged over 2×2 blocks
            // on the way back, so the edges between bars move it a little more.
            let y = mean_diff(&f, &back, 0);
            let u = mean_diff(&f, &back, 1);
            assert!(y < 1.0 && u < 2.0, "{fmt:?}: mean |dY| {y}, |dU| {u}");
            let via_nv12 = rgb.to_format(PixelFormat::Nv12).unwrap().to_format(PixelFormat::I420).unwrap();
            assert!(mean_diff(&back, &via_nv12, 0) < 0.01, "{fmt:?} to NV12 and to I420 agree");
            let nv12_rgb = f.to_format(PixelFormat::Nv12).unwrap().to_format(fmt).unwrap();
            assert!(max_diff(&nv12_rgb, &rgb) <= 2, "{fmt:?} from NV12 and from I420 agree");
        }
    }

    #[test]
    fn packed_orders_swap_exactly() {
        let px = vec![10, 20, 30, 40, 50, 60];
        let rgb = VideoFrame::from_packed(PixelFormat::Rgb24, 2, 1, px.into(), 5, TimeBase::VIDEO).unwrap();
        let bgra = rgb.to_format(PixelFormat::Bgra).unwrap();
        assert_eq!(&bgra.to_packed()[..], &[30, 20, 10, 255, 60, 50, 40, 255]);
        let back = bgra.to_format(PixelFormat::Rgb24).unwrap();
        assert_eq!(back.to_packed(), rgb.to_packed());
    }

    #[test]
    fn scaling_keeps_the_picture() {
        let f = TestPattern::new(640, 480, 30).frame_at(0);
        let half = f.scale(320, 240).unwrap();
        assert_eq!((half.width(), half.height(), half.planes()[1].stride), (320, 240, 160));
        let up = half.scale(640, 480).unwrap();
        assert!(mean_diff(&f, &up, 0) < 6.0, "{}", mean_diff(&f, &up, 0));
        let rgba = f.to_format(PixelFormat::Rgba).unwrap().scale(1280, 720).unwrap();
        assert_eq!(rgba.planes()[0].stride, 1280 * 4);
        let nv12 = f.to_format(PixelFormat::Nv12).unwrap().scale(321, 241).unwrap();
        assert_eq!(nv12.planes()[1].stride, 161 * 2);
        assert!(f.scale(0, 10).is_err());
    }
}
