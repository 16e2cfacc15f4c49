//! A camera through Video4Linux2: the kernel's ioctls, memory-mapped
//! buffers, YUYV or I420/NV12 frames converted to I420.
//!
//! The structures below follow `<linux/videodev2.h>` for 64-bit Linux; a
//! test compiles that header with the system C compiler and checks every
//! size, offset and ioctl number used here.

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Capture;
use crate::error::{MediaError, Result};
use crate::frame::{Frame, PixelFormat, TimeBase, VideoFrame};
use crate::track::{FrameReceiver, QueueLimits};

const fn fourcc(s: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*s)
}
const YUYV: u32 = fourcc(b"YUYV");
const YU12: u32 = fourcc(b"YU12");
const NV12: u32 = fourcc(b"NV12");

const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
const MEMORY_MMAP: u32 = 1;
const FIELD_NONE: u32 = 1;
const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
const CAP_STREAMING: u32 = 0x0400_0000;
const CAP_DEVICE_CAPS: u32 = 0x8000_0000;
const BUFFERS: u32 = 4;

#[repr(C)]
#[derive(Default)]
struct Capability {
    driver: [u8; 16],
    card: [u8; 32],
    bus_info: [u8; 32],
    version: u32,
    capabilities: u32,
    device_caps: u32,
    reserved: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PixFormat {
    width: u32,
    height: u32,
    pixelformat: u32,
    field: u32,
    bytesperline: u32,
    sizeimage: u32,
    colorspace: u32,
    priv_: u32,
    flags: u32,
    ycbcr_enc: u32,
    quantization: u32,
    xfer_func: u32,
}

/// `struct v4l2_format`: the union is 200 bytes, 8-byte aligned (it holds pointers).
#[repr(C)]
struct Format {
    type_: u32,
    fmt: FormatUnion,
}

#[repr(C)]
union FormatUnion {
    pix: PixFormat,
    raw: [u8; 200],
    _align: [u64; 25],
}

#[repr(C)]
#[derive(Default)]
struct RequestBuffers {
    count: u32,
    type_: u32,
    memory: u32,
    capabilities: u32,
    flags: u8,
    reserved: [u8; 3],
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Timecode {
    type_: u32,
    flags: u32,
    frames: u8,
    seconds: u8,
    minutes: u8,
    hours: u8,
    userbits: [u8; 4],
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Buffer {
    index: u32,
    type_: u32,
    bytesused: u32,
    flags: u32,
    field: u32,
    timestamp: libc::timeval,
    timecode: Timecode,
    sequence: u32,
    memory: u32,
    /// `m.offset` for memory-mapped buffers (a union of 8 bytes).
    m: u64,
    length: u32,
    reserved2: u32,
    request_fd: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct Fract {
    numerator: u32,
    denominator: u32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CaptureParm {
    capability: u32,
    capturemode: u32,
    timeperframe: Fract,
    extendedmode: u32,
    readbuffers: u32,
    reserved: [u32; 4],
}

#[repr(C)]
struct StreamParm {
    type_: u32,
    parm: StreamParmUnion,
}

#[repr(C)]
union StreamParmUnion {
    capture: CaptureParm,
    raw: [u8; 200],
}

const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | ((b'V' as u64) << 8) | nr
}
const READ: u64 = 2;
const WRITE: u64 = 1;
const QUERYCAP: u64 = ioc(READ, 0, size_of::<Capability>());
const S_FMT: u64 = ioc(READ | WRITE, 5, size_of::<Format>());
const REQBUFS: u64 = ioc(READ | WRITE, 8, size_of::<RequestBuffers>());
const QUERYBUF: u64 = ioc(READ | WRITE, 9, size_of::<Buffer>());
const QBUF: u64 = ioc(READ | WRITE, 15, size_of::<Buffer>());
const DQBUF: u64 = ioc(READ | WRITE, 17, size_of::<Buffer>());
const STREAMON: u64 = ioc(WRITE, 18, size_of::<i32>());
const STREAMOFF: u64 = ioc(WRITE, 19, size_of::<i32>());
const S_PARM: u64 = ioc(READ | WRITE, 22, size_of::<StreamParm>());

/// One memory-mapped driver buffer.
struct Mapped {
    ptr: *mut c_void,
    len: usize,
}

/// An opened, streaming V4L2 camera.
pub struct Camera {
    file: File,
    path: PathBuf,
    buffers: Vec<Mapped>,
    pix: PixFormat,
    first: Option<Duration>,
}

// SAFETY: the mappings belong to this value alone and are only touched
// through `&mut self`; moving it to another thread moves that ownership.
unsafe impl Send for Camera {}

impl Camera {
    /// Opens `device` (`/dev/video0`), asks for `width`×`height` YUYV (or
    /// I420/NV12) at `fps` and starts streaming. The driver may choose
    /// another size: see [`Camera::size`].
    pub fn open(device: &Path, width: u32, height: u32, fps: u32) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(device)
            .map_err(|e| file_error(device, format!("cannot open the camera: {e}")))?;
        let mut cam = Camera { file, path: device.into(), buffers: Vec::new(), pix: PixFormat::default(), first: None };
        let mut cap = Capability::default();
        cam.ioctl(QUERYCAP, &mut cap, "VIDIOC_QUERYCAP (is it a V4L2 device?)")?;
        let caps = if cap.capabilities & CAP_DEVICE_CAPS != 0 { cap.device_caps } else { cap.capabilities };
        if caps & CAP_VIDEO_CAPTURE == 0 || caps & CAP_STREAMING == 0 {
            return Err(file_error(device, "not a streaming video capture device".into()));
        }
        let mut chosen = None;
        for pixelformat in [YUYV, YU12, NV12] {
            let mut f = Format {
                type_: BUF_TYPE_VIDEO_CAPTURE,
                fmt: FormatUnion {
                    pix: PixFormat { width, height, pixelformat, field: FIELD_NONE, ..PixFormat::default() },
                },
            };
            if cam.ioctl(S_FMT, &mut f, "VIDIOC_S_FMT").is_ok() {
                // SAFETY: the driver fills the `pix` member for a capture type.
                let pix = unsafe { f.fmt.pix };
                if pix.pixelformat == pixelformat {
                    chosen = Some(pix);
                    break;
                }
            }
        }
        let Some(pix) = chosen else {
            return Err(file_error(
                device,
                "the camera offers none of YUYV, YU12 (I420), NV12 (MJPEG is not supported)".into(),
            ));
        };
        if pix.width == 0 || pix.height == 0 || pix.width > 8192 || pix.height > 8192 || pix.bytesperline > 65_536 {
            return Err(file_error(
                device,
                format!("the driver chose an unusable format {}x{}", pix.width, pix.height),
            ));
        }
        cam.pix = pix;
        let mut parm = StreamParm {
            type_: BUF_TYPE_VIDEO_CAPTURE,
            parm: StreamParmUnion {
                capture: CaptureParm {
                    timeperframe: Fract { numerator: 1, denominator: fps.max(1) },
                    ..Default::default()
                },
            },
        };
        // Not every driver lets the rate be set: keep its own then.
        let _ = cam.ioctl(S_PARM, &mut parm, "VIDIOC_S_PARM");
        let mut req =
            RequestBuffers { count: BUFFERS, type_: BUF_TYPE_VIDEO_CAPTURE, memory: MEMORY_MMAP, ..Default::default() };
        cam.ioctl(REQBUFS, &mut req, "VIDIOC_REQBUFS (memory-mapped streaming)")?;
        for index in 0..req.count.min(BUFFERS * 2) {
            let mut b = Buffer { index, type_: BUF_TYPE_VIDEO_CAPTURE, memory: MEMORY_MMAP, ..Default::default() };
            cam.ioctl(QUERYBUF, &mut b, "VIDIOC_QUERYBUF")?;
            // SAFETY: maps the driver's buffer `index` at the offset it gave, shared, read-only.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    b.length as usize,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    cam.file.as_raw_fd(),
                    b.m as libc::off_t,
                )
            };
            if ptr == libc::MAP_FAILED {
                return Err(file_error(device, format!("mmap of buffer {index}: {}", std::io::Error::last_os_error())));
            }
            cam.buffers.push(Mapped { ptr, len: b.length as usize });
            cam.ioctl(QBUF, &mut b, "VIDIOC_QBUF")?;
        }
        let mut kind = BUF_TYPE_VIDEO_CAPTURE as i32;
        cam.ioctl(STREAMON, &mut kind, "VIDIOC_STREAMON")?;
        Ok(cam)
    }

    /// The size the driver chose.
    pub fn size(&self) -> (u32, u32) {
        (self.pix.width, self.pix.height)
    }

    fn ioctl<T>(&self, request: u64, arg: &mut T, what: &str) -> Result<()> {
        loop {
            // SAFETY: `arg` is the structure `request` takes (checked against the
            // kernel header by a test), alive and exclusively borrowed for the call.
            let r = unsafe { libc::ioctl(self.file.as_raw_fd(), request as _, arg as *mut T as *mut c_void) };
            if r >= 0 {
                return Ok(());
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(file_error(&self.path, format!("{what}: {e}")));
            }
        }
    }

    /// Waits for the next picture and returns it as I420 (`pts` in 1/90000 s
    /// from the first picture, from the driver's timestamps).
    pub fn read_frame(&mut self) -> Result<VideoFrame> {
        let mut b = Buffer { type_: BUF_TYPE_VIDEO_CAPTURE, memory: MEMORY_MMAP, ..Default::default() };
        self.ioctl(DQBUF, &mut b, "VIDIOC_DQBUF")?;
        let result = self.convert(&b);
        self.ioctl(QBUF, &mut b, "VIDIOC_QBUF")?;
        result
    }

    fn convert(&mut self, b: &Buffer) -> Result<VideoFrame> {
        let Some(m) = self.buffers.get(b.index as usize) else {
            return Err(file_error(&self.path, format!("the driver returned unknown buffer {}", b.index)));
        };
        let used = (b.bytesused as usize).min(m.len);
        // SAFETY: the driver has handed this mapped buffer back (DQBUF) and
        // does not write it until it is queued again; `used` is within the mapping.
        let data = unsafe { std::slice::from_raw_parts(m.ptr as *const u8, used) };
        let at = Duration::new(b.timestamp.tv_sec.max(0) as u64, (b.timestamp.tv_usec.clamp(0, 999_999) * 1000) as u32);
        let first = *self.first.get_or_insert(at);
        let pts = TimeBase::NANOS.rescale(at.saturating_sub(first).as_nanos() as i64, TimeBase::VIDEO);
        let (w, h, stride) = (self.pix.width, self.pix.height, self.pix.bytesperline as usize);
        let i420 = match self.pix.pixelformat {
            YUYV => yuyv_to_i420(data, w, h, stride.max(2 * w as usize)),
            _ => {
                let f = if self.pix.pixelformat == NV12 { PixelFormat::Nv12 } else { PixelFormat::I420 };
                let need = VideoFrame::packed_len(f, w, h);
                if data.len() < need {
                    return Err(file_error(&self.path, format!("a short picture: {} of {need} bytes", data.len())));
                }
                let frame = VideoFrame::from_packed(
                    f,
                    w,
                    h,
                    bytes::Bytes::copy_from_slice(&data[..need]),
                    pts,
                    TimeBase::VIDEO,
                )?;
                return Ok(frame);
            }
        };
        let Some(i420) = i420 else {
            return Err(file_error(&self.path, format!("a short YUYV picture: {} bytes for {w}x{h}", data.len())));
        };
        VideoFrame::from_packed(PixelFormat::I420, w, h, i420.into(), pts, TimeBase::VIDEO)
    }

    /// Captures on a thread of its own into a live queue.
    pub fn start(mut self, limits: QueueLimits) -> Result<(FrameReceiver, Capture)> {
        let name = format!("oxrtc-media v4l2 {}", self.path.display());
        Capture::spawn(name, limits, move || self.read_frame().map(Frame::Video))
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let mut kind = BUF_TYPE_VIDEO_CAPTURE as i32;
        let _ = self.ioctl(STREAMOFF, &mut kind, "VIDIOC_STREAMOFF");
        for m in self.buffers.drain(..) {
            // SAFETY: unmaps what `open` mapped, once.
            unsafe { libc::munmap(m.ptr, m.len) };
        }
    }
}

fn file_error(path: &Path, message: String) -> MediaError {
    MediaError::File { path: path.into(), message }
}

/// Packed 4:2:2 Y0 U Y1 V to planar 4:2:0 (chroma of each row pair averaged);
/// `None` if `data` is too short.
fn yuyv_to_i420(data: &[u8], width: u32, height: u32, stride: usize) -> Option<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    if w < 2 || data.len() < stride * (h - 1) + 2 * w {
        return None;
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let (y, uv) = out.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(cw * ch);
    for row in 0..h {
        let src = &data[row * stride..row * stride + 2 * w];
        for (x, px) in y[row * w..(row + 1) * w].iter_mut().enumerate() {
            *px = src[2 * x];
        }
    }
    for crow in 0..ch {
        let r0 = 2 * crow;
        let r1 = (r0 + 1).min(h - 1);
        for cx in 0..w / 2 {
            let a = &data[r0 * stride + 4 * cx..];
            let b = &data[r1 * stride + 4 * cx..];
            u[crow * cw + cx] = (u16::from(a[1]) + u16::from(b[1])).div_ceil(2) as u8;
            v[crow * cw + cx] = (u16::from(a[3]) + u16::from(b[3])).div_ceil(2) as u8;
        }
        if w % 2 == 1 {
            u[crow * cw + cw - 1] = 128;
            v[crow * cw + cw - 1] = 128;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// Every size, offset and ioctl number used here, checked against the
    /// system's `<linux/videodev2.h>` compiled by the C compiler.
    #[test]
    fn layouts_match_the_kernel_header() {
        let dir = std::env::temp_dir().join(format!("oxrtc-v4l2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let src = dir.join("probe.c");
        std::fs::write(
            &src,
            r#"#include <stdio.h>
#include <stddef.h>
#include <linux/videodev2.h>
int main(void) {
  printf("%zu %zu %zu %zu %zu %zu\n", sizeof(struct v4l2_capability), sizeof(struct v4l2_format),
    sizeof(struct v4l2_requestbuffers), sizeof(struct v4l2_buffer), sizeof(struct v4l2_streamparm),
    sizeof(struct v4l2_pix_format));
  printf("%zu %zu %zu %zu %zu\n", offsetof(struct v4l2_format, fmt), offsetof(struct v4l2_buffer, timestamp),
    offsetof(struct v4l2_buffer, sequence), offsetof(struct v4l2_buffer, m), offsetof(struct v4l2_buffer, length));
  printf("%lu %lu %lu %lu %lu %lu %lu %lu %lu\n", (unsigned long)VIDIOC_QUERYCAP, (unsigned long)VIDIOC_S_FMT,
    (unsigned long)VIDIOC_REQBUFS, (unsigned long)VIDIOC_QUERYBUF, (unsigned long)VIDIOC_QBUF,
    (unsigned long)VIDIOC_DQBUF, (unsigned long)VIDIOC_STREAMON, (unsigned long)VIDIOC_STREAMOFF,
    (unsigned long)VIDIOC_S_PARM);
  printf("%u %u %u %u\n", V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_YUV420, V4L2_PIX_FMT_NV12, V4L2_CAP_STREAMING);
  return 0;
}
"#,
        )
        .unwrap();
        let exe = dir.join("probe");
        let cc = Command::new("cc").arg(&src).arg("-o").arg(&exe).status().expect("a C compiler (cc) for this test");
        assert!(cc.success());
        let out = String::from_utf8(Command::new(&exe).output().unwrap().stdout).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let lines: Vec<Vec<u64>> =
            out.lines().map(|l| l.split_whitespace().map(|n| n.parse().unwrap()).collect()).collect();
        let ours_sizes = [
            size_of::<Capability>(),
            size_of::<Format>(),
            size_of::<RequestBuffers>(),
            size_of::<Buffer>(),
            size_of::<StreamParm>(),
            size_of::<PixFormat>(),
        ];
        assert_eq!(lines[0], ours_sizes.map(|s| s as u64), "struct sizes");
        let ours_offsets = [
            std::mem::offset_of!(Format, fmt),
            std::mem::offset_of!(Buffer, timestamp),
            std::mem::offset_of!(Buffer, sequence),
            std::mem::offset_of!(Buffer, m),
            std::mem::offset_of!(Buffer, length),
        ];
        assert_eq!(lines[1], ours_offsets.map(|s| s as u64), "offsets");
        assert_eq!(
            lines[2],
            [QUERYCAP, S_FMT, REQBUFS, QUERYBUF, QBUF, DQBUF, STREAMON, STREAMOFF, S_PARM],
            "ioctl numbers"
        );
        assert_eq!(lines[3], [YUYV, YU12, NV12, CAP_STREAMING].map(u64::from), "fourccs and flags");
    }

    #[test]
    fn yuyv_becomes_i420() {
        // 4x2: Y ramps, U 100/120 on the two rows, V 200/220.
        let row = |u: u8, v: u8, y0: u8| vec![y0, u, y0 + 1, v, y0 + 2, u, y0 + 3, v];
        let data = [row(100, 200, 10), row(120, 220, 20)].concat();
        let out = yuyv_to_i420(&data, 4, 2, 8).unwrap();
        assert_eq!(&out[..8], &[10, 11, 12, 13, 20, 21, 22, 23]);
        assert_eq!(&out[8..10], &[110, 110], "U averaged over the row pair");
        assert_eq!(&out[10..12], &[210, 210]);
        assert!(yuyv_to_i420(&data[..10], 4, 2, 8).is_none());
    }

    #[test]
    fn a_missing_camera_is_named_in_the_error() {
        let e = Camera::open(Path::new("/dev/video-none"), 640, 480, 30).err().unwrap().to_string();
        assert!(e.contains("/dev/video-none") && e.contains("cannot open"), "{e}");
        // A file that is not a V4L2 device is refused at the capability query.
        let e = Camera::open(Path::new("/dev/null"), 640, 480, 30).err().unwrap().to_string();
        assert!(e.contains("VIDIOC_QUERYCAP"), "{e}");
    }
}
