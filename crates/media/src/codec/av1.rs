//! AV1 decoding through the system libdav1d (cargo feature `av1`).
//!
//! Decode only: no AV1 encoder is built in. rav1e (pure Rust, with nasm
//! assembly) was measured: `rav1e 0.8` without its binaries, `cargo build
//! -j 1`, had not finished after 5 minutes (its dependencies alone took
//! them), too heavy for a codec feature. libdav1d 1.0 (Debian bookworm)
//! pins the `dav1d` crate at 0.9.6; later versions need libdav1d 1.3.
//! The decoder runs with a frame delay of 1, so each temporal unit in gives
//! its picture back in the same call, as real-time playback wants.

use dav1d::{PixelLayout, PlanarImageComponent};

use super::VideoDecoder;
use crate::error::{MediaError, Result};
use crate::frame::{Codec, EncodedFrame, PixelFormat, Plane, TimeBase, VideoFrame};

fn codec_err(what: &str, e: dav1d::Error) -> MediaError {
    MediaError::Codec { codec: "AV1", message: format!("{what}: {e} (corrupt data or not an AV1 OBU stream?)") }
}

/// An AV1 decoder on libdav1d, giving I420 frames (8-bit 4:2:0 streams).
pub struct Av1Decoder {
    dec: dav1d::Decoder,
    /// Time base of the frames given to it, for the pictures it returns.
    time_base: TimeBase,
}

impl Av1Decoder {
    /// A decoder with low-latency settings: one frame of delay, at most 2 threads.
    pub fn new() -> Result<Self> {
        let mut s = dav1d::Settings::new();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        s.set_n_threads(cores.min(2) as u32);
        s.set_max_frame_delay(1);
        let dec = dav1d::Decoder::with_settings(&s).map_err(|e| codec_err("starting the decoder", e))?;
        Ok(Av1Decoder { dec, time_base: TimeBase::VIDEO })
    }

    /// Takes every picture the decoder has ready.
    fn drain(&mut self, out: &mut Vec<VideoFrame>) -> Result<()> {
        loop {
            match self.dec.get_picture() {
                Ok(p) => out.push(copy_picture(&p, self.time_base)?),
                Err(e) if e.is_again() => return Ok(()),
                Err(e) => return Err(codec_err("decoding", e)),
            }
        }
    }
}

impl VideoDecoder for Av1Decoder {
    fn codec(&self) -> Codec {
        Codec::Av1
    }

    fn decode(&mut self, frame: &EncodedFrame, out: &mut Vec<VideoFrame>) -> Result<()> {
        if frame.data.is_empty() {
            return Err(MediaError::Codec { codec: "AV1", message: "empty frame: nothing to decode".into() });
        }
        check_obus(&frame.data)?;
        self.time_base = frame.time_base;
        // Bytes is cheap to clone and owns its data, as dav1d needs ('static).
        match self.dec.send_data(frame.data.clone(), None, Some(frame.pts), None) {
            Ok(()) => {}
            Err(e) if e.is_again() => {
                // The decoder is full: take pictures out and feed the rest,
                // until all of this frame's data is in (send_data must not be
                // called again while data is pending).
                loop {
                    self.drain(out)?;
                    match self.dec.send_pending_data() {
                        Ok(()) => break,
                        Err(e) if e.is_again() => continue,
                        Err(e) => return Err(codec_err("decoding", e)),
                    }
                }
            }
            Err(e) => return Err(codec_err("decoding", e)),
        }
        self.drain(out)
    }
}

/// Checks that `data` is a sequence of whole OBUs with size fields (AV1
/// section 5.3), so garbage is refused here: libdav1d only logs some of it.
fn check_obus(mut data: &[u8]) -> Result<()> {
    let bad = |why: String| MediaError::Codec { codec: "AV1", message: format!("not an AV1 OBU stream: {why}") };
    while let Some(&header) = data.first() {
        let kind = (header >> 3) & 0x0f;
        if header & 0x80 != 0 {
            return Err(bad("the forbidden bit of an OBU header is set".into()));
        }
        if !matches!(kind, 1..=8 | 15) {
            return Err(bad(format!("OBU type {kind} is reserved")));
        }
        if header & 0x02 == 0 {
            return Err(bad("an OBU without a size field (this decoder takes the low-overhead format)".into()));
        }
        let mut at = 1 + usize::from(header & 0x04 != 0);
        // leb128 size: up to 8 bytes, 7 bits each.
        let mut size: u64 = 0;
        for i in 0..8 {
            let Some(&b) = data.get(at) else {
                return Err(bad("an OBU header is cut short".into()));
            };
            at += 1;
            size |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
            if i == 7 {
                return Err(bad("an OBU size is longer than 8 bytes".into()));
            }
        }
        let end = usize::try_from(size).ok().and_then(|s| at.checked_add(s)).filter(|&e| e <= data.len());
        let Some(end) = end else {
            return Err(bad(format!("an OBU of {size} bytes runs past the frame's {} bytes", data.len())));
        };
        data = &data[end..];
    }
    Ok(())
}

/// Copies an 8-bit 4:2:0 picture into an I420 [`VideoFrame`].
fn copy_picture(p: &dav1d::Picture, time_base: TimeBase) -> Result<VideoFrame> {
    if p.pixel_layout() != PixelLayout::I420 || p.bit_depth() != 8 {
        return Err(MediaError::Unsupported(format!(
            "AV1 stream in {:?} at {} bits: only 8-bit 4:2:0 is supported",
            p.pixel_layout(),
            p.bit_depth()
        )));
    }
    let (w, h) = (p.width(), p.height());
    let mut planes = Vec::with_capacity(3);
    for (i, c) in [PlanarImageComponent::Y, PlanarImageComponent::U, PlanarImageComponent::V].into_iter().enumerate() {
        let (row, rows) = PixelFormat::I420.plane_size(i, w, h);
        let stride = p.stride(c) as usize;
        let data = p.plane(c);
        let mut copy = Vec::with_capacity(row * rows);
        for r in 0..rows {
            let line = data.get(r * stride..r * stride + row).ok_or_else(|| MediaError::Codec {
                codec: "AV1",
                message: "the decoder returned a picture smaller than its size".into(),
            })?;
            copy.extend_from_slice(line);
        }
        planes.push(Plane { data: copy.into(), stride: row });
    }
    VideoFrame::new(PixelFormat::I420, w, h, planes, p.timestamp().unwrap_or(0), time_base)
}
