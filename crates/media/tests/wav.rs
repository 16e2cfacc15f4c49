//! WAV files: ours read by ffprobe, ffmpeg's read by us, the player and the recorder.

mod common;

use std::time::Duration;

use common::*;
use media::container::{self, TrackSpec};
use media::synthetic::SineTone;
use media::{Frame, MediaKind, Samples};

#[test]
fn reads_ffmpeg_s16_f32_and_u8() {
    let dir = temp_dir("wav-read");
    for (codec, s16) in [("pcm_s16le", true), ("pcm_f32le", false), ("pcm_u8", true), ("pcm_s24le", false)] {
        let path = dir.join(format!("{codec}.wav"));
        let p = path.to_str().unwrap();
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=1.5:sample_rate=16000",
            "-ac",
            "2",
            "-c:a",
            codec,
            p,
        ]);
        let (tracks, frames) = demux_all(&path);
        assert_eq!(tracks[0].audio, Some((16_000, 2)), "{codec}");
        assert_eq!(tracks[0].duration, Some(24_000), "{codec}");
        let mut samples = 0;
        for (i, f) in &frames {
            let Frame::Audio(a) = f else { panic!("{codec}: not raw audio") };
            assert_eq!((*i, a.pts), (0, samples as i64), "{codec}");
            assert_eq!(matches!(a.samples(), Samples::S16(_)), s16, "{codec}");
            samples += a.samples_per_channel();
        }
        assert_eq!(samples, 24_000, "{codec}");
        // ffmpeg's tone is at 1/8 of full scale, upmixed to stereo at 1/sqrt(2) of that.
        let peak = frames
            .iter()
            .map(|(_, f)| match f {
                Frame::Audio(a) => a.to_f32().iter().fold(0f32, |m, v| m.max(v.abs())),
                _ => 0.0,
            })
            .fold(0f32, f32::max);
        assert!((0.08..0.1).contains(&peak), "{codec} (8-bit: steps of 1/128): peak {peak}");
    }
}

#[test]
fn ffprobe_reads_ours_with_sizes_fixed_up() {
    let dir = temp_dir("wav-write");
    let path = dir.join("tone.wav");
    let mut m = container::create(&path).unwrap();
    m.add_track(TrackSpec { kind: MediaKind::Audio, codec: None, size: None, audio: Some((48_000, 2)) }).unwrap();
    let mut tone = SineTone::new(1000.0, 0.5, 48_000, 2, 20);
    for _ in 0..100 {
        m.write(0, &Frame::Audio(tone.next_frame().unwrap())).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("codec_name"), s.get("sample_rate"), s.get("channels")), ("pcm_s16le", "48000", "2"));
    assert!(close(s.num("duration"), 2.0, 0.001), "{s:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 44 + 2 * 48_000 * 4);
}

#[tokio::test]
async fn player_plays_ffmpeg_wav() {
    let dir = temp_dir("wav-player");
    let path = dir.join("in.wav");
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=1000:duration=2", "-c:a", "pcm_s16le", path.to_str().unwrap()]);
    let (n, end) = play(&path, MediaKind::Audio, Duration::ZERO).await;
    assert_eq!(n, 100, "20 ms frames");
    assert_eq!(end, Duration::from_secs(2));
}

#[tokio::test]
async fn recorder_writes_a_wav_ffprobe_accepts() {
    let dir = temp_dir("wav-recorder");
    let path = dir.join("rec.wav");
    let mut tone = SineTone::new(440.0, 0.3, 16_000, 1, 20);
    let frames = (0..50).map(|_| (0, Frame::Audio(tone.next_frame().unwrap()))).collect();
    assert_eq!(record_tracks(frames, &[MediaKind::Audio], &path).await, vec![50]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("codec_name"), s.get("sample_rate"), s.get("channels")), ("pcm_s16le", "16000", "1"));
    assert!(close(s.num("duration"), 1.0, 0.001), "{s:?}");
}
