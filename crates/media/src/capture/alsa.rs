//! Audio input through ALSA (`libasound`).

use ::alsa::pcm::{Access, Format, HwParams, PCM};
use ::alsa::{Direction, ValueOr};

use super::Capture;
use crate::error::{MediaError, Result};
use crate::frame::{AudioFrame, Frame};
use crate::track::{FrameReceiver, QueueLimits};

fn alsa_error(device: &str, what: &str, e: ::alsa::Error) -> MediaError {
    MediaError::Codec {
        codec: "ALSA",
        message: format!("{what} on capture device {device:?}: {e} (list devices with `arecord -L`)"),
    }
}

/// An opened ALSA capture device delivering interleaved s16 samples.
pub struct AlsaInput {
    pcm: PCM,
    device: String,
    rate: u32,
    channels: u16,
    frame_samples: usize,
    read: u64,
}

impl AlsaInput {
    /// Opens `device` (`default`, `hw:1,0`, `null`...) for `channels` at about
    /// `sample_rate` (the device may choose a near rate: see [`AlsaInput::sample_rate`]),
    /// reading frames of `frame_ms` milliseconds.
    pub fn open(device: &str, sample_rate: u32, channels: u16, frame_ms: u32) -> Result<Self> {
        let pcm = PCM::new(device, Direction::Capture, false).map_err(|e| alsa_error(device, "open", e))?;
        let (rate, channels) = {
            let hw = HwParams::any(&pcm).map_err(|e| alsa_error(device, "read parameters", e))?;
            hw.set_channels(u32::from(channels)).map_err(|e| alsa_error(device, "set channels", e))?;
            hw.set_rate(sample_rate, ValueOr::Nearest).map_err(|e| alsa_error(device, "set rate", e))?;
            hw.set_format(Format::s16()).map_err(|e| alsa_error(device, "set s16 format", e))?;
            hw.set_access(Access::RWInterleaved).map_err(|e| alsa_error(device, "set interleaved access", e))?;
            pcm.hw_params(&hw).map_err(|e| alsa_error(device, "apply parameters", e))?;
            let rate = hw.get_rate().map_err(|e| alsa_error(device, "read rate", e))?;
            let ch = hw.get_channels().map_err(|e| alsa_error(device, "read channels", e))?;
            (rate, ch as u16)
        };
        let frame_samples = (rate as usize * frame_ms.max(1) as usize / 1000).max(1);
        Ok(AlsaInput { pcm, device: device.into(), rate, channels, frame_samples, read: 0 })
    }

    /// The rate the device runs at.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Reads the next frame (blocking); an overrun is recovered and shows as
    /// a jump in `pts`.
    pub fn read_frame(&mut self) -> Result<AudioFrame> {
        let ch = usize::from(self.channels);
        let mut buf = vec![0i16; self.frame_samples * ch];
        let mut filled = 0;
        let io = self.pcm.io_i16().map_err(|e| alsa_error(&self.device, "open the sample stream", e))?;
        while filled < self.frame_samples {
            match io.readi(&mut buf[filled * ch..]) {
                Ok(n) => filled += n,
                Err(e) => {
                    self.pcm
                        .try_recover(e, true)
                        .map_err(|e| alsa_error(&self.device, "recover from an overrun", e))?;
                    // Samples were lost: the next frame starts later.
                    self.read += self.frame_samples as u64;
                }
            }
        }
        let frame = AudioFrame::from_i16(buf, self.rate, self.channels, self.read as i64)?;
        self.read += self.frame_samples as u64;
        Ok(frame)
    }

    /// Captures on a thread of its own into a live queue.
    pub fn start(mut self, limits: QueueLimits) -> Result<(FrameReceiver, Capture)> {
        let name = format!("oxrtc-media alsa {}", self.device);
        Capture::spawn(name, limits, move || self.read_frame().map(Frame::Audio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ALSA's `null` device captures silence: a real device path, run here.
    #[test]
    fn the_null_device_captures_silent_frames_at_their_times() {
        let mut input = AlsaInput::open("null", 48_000, 2, 20).unwrap();
        assert_eq!(input.sample_rate(), 48_000);
        let a = input.read_frame().unwrap();
        let b = input.read_frame().unwrap();
        assert_eq!((a.samples_per_channel(), a.channels(), a.pts, b.pts), (960, 2, 0, 960));
        assert!(a.to_i16().iter().all(|&s| s == 0));
    }

    #[test]
    fn a_missing_device_is_named_in_the_error() {
        let e = AlsaInput::open("hw:77,0", 48_000, 1, 20).err().unwrap().to_string();
        assert!(e.contains("hw:77,0") && e.contains("arecord -L"), "{e}");
    }

    fn capture_ended(rx: &mut FrameReceiver) -> bool {
        while rx.try_recv().is_some() {}
        rx.is_ended()
    }

    #[tokio::test]
    async fn a_started_capture_delivers_until_stopped() {
        // `null` delivers as fast as it is read: the live queue keeps the newest.
        let (mut rx, capture) = AlsaInput::open("null", 16_000, 1, 10).unwrap().start(QueueLimits::LIVE).unwrap();
        let mut last = -1;
        for _ in 0..5 {
            let Some(Frame::Audio(f)) = rx.recv().await else { panic!("capture ended: {:?}", capture.error()) };
            assert!(f.pts > last && f.pts % 160 == 0 && f.samples_per_channel() == 160, "pts {}", f.pts);
            last = f.pts;
        }
        assert!(rx.stats().queued <= QueueLimits::LIVE.frames);
        capture.stop().unwrap();
        assert!(capture_ended(&mut rx), "stopping ends the track");
    }
}
