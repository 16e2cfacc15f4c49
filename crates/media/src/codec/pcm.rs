//! What the audio codecs share: cutting input of any length into packets,
//! and keeping decoder timestamps running across lost packets.

use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Samples, TimeBase};

/// A sample type a codec takes (s16 or f32).
pub(crate) trait Sample: Copy + std::fmt::Debug {
    /// Appends `frame`'s samples, converted to this type if need be.
    fn append(frame: &AudioFrame, to: &mut Vec<Self>);
}

impl Sample for i16 {
    fn append(frame: &AudioFrame, to: &mut Vec<i16>) {
        match frame.samples() {
            Samples::S16(s) => to.extend_from_slice(s),
            Samples::F32(_) => to.extend_from_slice(&frame.to_i16()),
        }
    }
}

impl Sample for f32 {
    fn append(frame: &AudioFrame, to: &mut Vec<f32>) {
        match frame.samples() {
            Samples::F32(s) => to.extend_from_slice(s),
            Samples::S16(s) => to.extend(s.iter().map(|&v| f32::from(v) / 32768.0)),
        }
    }
}

/// Collects interleaved input until whole packets of `packet` samples
/// per channel are there. Timestamps count samples from the first frame
/// pushed into an empty buffer (gaps in input timestamps are not kept).
#[derive(Debug)]
pub(crate) struct PacketBuffer<T: Sample = i16> {
    codec: &'static str,
    rate: u32,
    channels: u16,
    packet: usize,
    pending: Vec<T>,
    /// Timestamp of `pending[0]`, in 1/`rate`.
    start_pts: i64,
}

impl<T: Sample> PacketBuffer<T> {
    pub(crate) fn new(codec: &'static str, rate: u32, channels: u16, packet: usize) -> Self {
        PacketBuffer {
            codec,
            rate,
            channels,
            packet,
            pending: Vec::with_capacity(packet * usize::from(channels) * 2),
            start_pts: 0,
        }
    }

    /// Appends `frame`, which must have the rate and channels the encoder
    /// was set up for.
    pub(crate) fn push(&mut self, frame: &AudioFrame) -> Result<()> {
        if frame.sample_rate() != self.rate || frame.channels() != self.channels {
            return Err(MediaError::BadFrame(format!(
                "the {} encoder takes {} Hz with {} channel(s), got {} Hz with {}: convert the audio first \
                 (media::audio_convert::AudioConverter)",
                self.codec,
                self.rate,
                self.channels,
                frame.sample_rate(),
                frame.channels()
            )));
        }
        if self.pending.is_empty() {
            self.start_pts = frame.time_base.rescale(frame.pts, TimeBase::hz(self.rate));
        }
        T::append(frame, &mut self.pending);
        Ok(())
    }

    /// Calls `f` with the timestamp (1/rate) and samples of every complete
    /// packet, then drops them. Stops at the first error, which it returns
    /// (the packet that failed is dropped too).
    pub(crate) fn drain(&mut self, mut f: impl FnMut(i64, &[T]) -> Result<()>) -> Result<()> {
        let n = self.packet * usize::from(self.channels);
        let mut used = 0;
        let mut result = Ok(());
        while n > 0 && self.pending.len() - used >= n {
            let pts = self.start_pts;
            self.start_pts += self.packet as i64;
            let r = f(pts, &self.pending[used..used + n]);
            used += n;
            if r.is_err() {
                result = r;
                break;
            }
        }
        self.pending.drain(..used);
        result
    }
}

/// Checks `frame_ms` against the packet durations a codec allows.
pub(crate) fn check_frame_ms(codec: &str, frame_ms: u32, allowed: &[u32]) -> Result<()> {
    if allowed.contains(&frame_ms) {
        Ok(())
    } else {
        Err(MediaError::InvalidConfig(format!(
            "{codec} packets of {frame_ms} ms are not supported: use one of {allowed:?} ms (20 in WebRTC)"
        )))
    }
}

/// Packet durations (ms) of the sample-based codecs (G.711, G.722):
/// 10 to 120 ms in steps of 10 (RTP `ptime`).
pub(crate) const PTIME_MS: [u32; 12] = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];

/// Where the next decoded sample goes on the output clock, so that
/// concealment continues the timeline of the packets.
#[derive(Debug, Default)]
pub(crate) struct DecodeClock {
    next_pts: i64,
}

impl DecodeClock {
    /// The timestamp (1/`rate`) of a packet with `pts` in `tb`, and
    /// advances past its `samples`.
    pub(crate) fn packet(&mut self, pts: i64, tb: TimeBase, rate: u32, samples: usize) -> i64 {
        let at = tb.rescale(pts, TimeBase::hz(rate));
        self.next_pts = at + samples as i64;
        at
    }

    /// The timestamp of concealed `samples` right after what was decoded.
    pub(crate) fn gap(&mut self, samples: usize) -> i64 {
        let at = self.next_pts;
        self.next_pts += samples as i64;
        at
    }
}

/// Checks that a decoder is fed its own codec.
pub(crate) fn check_codec(want: crate::frame::Codec, got: crate::frame::Codec) -> Result<()> {
    if want == got {
        Ok(())
    } else {
        Err(MediaError::BadFrame(format!(
            "a {} decoder got a {} packet: route each payload type to its own decoder",
            want.sdp_name(),
            got.sdp_name()
        )))
    }
}

/// Test helpers: running ffmpeg on files in a scratch directory.
#[cfg(test)]
pub(crate) mod ffmpeg {
    use std::path::PathBuf;
    use std::process::Command;

    /// A scratch directory for one test, removed when dropped.
    pub(crate) struct Scratch(pub(crate) PathBuf);

    impl Scratch {
        pub(crate) fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("oxrtc-media-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
        pub(crate) fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `ffmpeg -y -loglevel error <args>`; fails the test (never skips)
    /// when ffmpeg is missing or fails.
    pub(crate) fn run(args: &[&str]) {
        let out = Command::new("ffmpeg")
            .args(["-nostdin", "-y", "-loglevel", "error"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run ffmpeg ({e}): run scripts/media-deps.sh to install it"));
        assert!(out.status.success(), "ffmpeg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    pub(crate) fn write_s16(path: &std::path::Path, samples: &[i16]) {
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        std::fs::write(path, bytes).unwrap();
    }

    pub(crate) fn read_s16(path: &std::path::Path) -> Vec<i16> {
        let bytes = std::fs::read(path).unwrap();
        bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
    }
}
