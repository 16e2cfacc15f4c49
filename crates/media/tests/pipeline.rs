//! Whole pipelines, checked with ffmpeg's tools: a file ffmpeg wrote is
//! played (demuxed and decoded), transcoded by the recorder into another
//! codec and container, and ffprobe reads the result with the expected
//! codec, frame count and duration; what we wrote decodes back to what went
//! in (the tone's pitch, the test pattern's frame counters in order).

#![cfg(all(feature = "vpx", feature = "opus", feature = "h264"))]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{close, ffmpeg, ffprobe_streams, record_tracks, temp_dir};
use media::player::{MediaPlayer, MediaReader, Pace, PlayerOptions};
use media::recorder::{MediaRecorder, RecorderOptions};
use media::synthetic::{dominant_frequency, TestPattern};
use media::{Frame, MediaKind};

/// Plays `src` decoded, as fast as the recorder takes it, into `dst`.
async fn transcode(src: &Path, dst: &Path) -> Vec<u64> {
    let mut player = MediaPlayer::open(src, PlayerOptions { pace: Pace::AsFastAsRead, ..PlayerOptions::default() })
        .unwrap_or_else(|e| panic!("{e}"));
    let mut recorder = MediaRecorder::create(dst, RecorderOptions::default()).unwrap();
    if let Some(v) = player.video() {
        recorder.add_track(MediaKind::Video, v).unwrap();
    }
    if let Some(a) = player.audio() {
        recorder.add_track(MediaKind::Audio, a).unwrap();
    }
    recorder.start().unwrap();
    let stats = tokio::time::timeout(Duration::from_secs(120), recorder.finish())
        .await
        .expect("the transcode ends within 120 s")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(player.error(), None);
    assert!(stats.problems.is_empty(), "{:?}", stats.problems);
    stats.written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_44k_stereo_wav_is_recorded_as_ogg_opus_ffprobe_reads_and_we_decode_back_to_its_tone() {
    let dir = temp_dir("pipeline-wav-ogg");
    let wav = dir.join("tone.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=1000:duration=2:sample_rate=44100",
        "-ac",
        "2",
        wav.to_str().unwrap(),
    ]);
    let ogg = dir.join("tone.ogg");
    let written = transcode(&wav, &ogg).await;
    // 2 s of 20 ms packets, the last partial one flushed or not.
    assert!((99..=101).contains(&written[0]), "{written:?}");
    let s = &ffprobe_streams(&ogg)[0];
    assert_eq!(s.get("codec_name"), "opus");
    assert_eq!(s.num("channels"), 2.0);
    assert!(close(s.num("format_duration"), 2.0, 0.05), "{s:?}");

    let mut reader = MediaReader::open(&ogg, true, false).unwrap();
    let mut left = Vec::new();
    while let Some((_, f)) = reader.next_frame().unwrap() {
        let Frame::Audio(a) = f else { panic!("audio only") };
        assert_eq!((a.sample_rate(), a.channels()), (48_000, 2));
        left.extend(a.to_f32().iter().step_by(2));
    }
    assert!(close(left.len() as f64 / 48_000.0, 2.0, 0.05), "{} samples", left.len());
    let hz = dominant_frequency(&left[4800..], 48_000).expect("a tone");
    assert!((hz - 1000.0).abs() < 10.0, "{hz} Hz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ffmpeg_vp8_opus_webm_is_transcoded_to_an_h264_opus_mp4_ffprobe_reads() {
    let dir = temp_dir("pipeline-webm-mp4");
    let webm = dir.join("in.webm");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x240:rate=30:duration=2",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2:sample_rate=48000",
        "-c:v",
        "libvpx",
        "-b:v",
        "500k",
        "-c:a",
        "libopus",
        webm.to_str().unwrap(),
    ]);
    let mp4 = dir.join("out.mp4");
    let written = transcode(&webm, &mp4).await;
    assert_eq!(written[0], 60, "every video frame: {written:?}");
    let streams = ffprobe_streams(&mp4);
    let video = streams.iter().find(|s| s.get("codec_type") == "video").expect("a video stream");
    let audio = streams.iter().find(|s| s.get("codec_type") == "audio").expect("an audio stream");
    assert_eq!(video.get("codec_name"), "h264");
    assert_eq!((video.num("width"), video.num("height")), (320.0, 240.0));
    assert_eq!(video.num("nb_read_packets"), 60.0);
    assert!(close(video.num("duration"), 2.0, 1.0 / 30.0 + 1e-6), "{video:?}");
    assert_eq!(audio.get("codec_name"), "opus");
    assert!(close(audio.num("duration"), 2.0, 0.05), "{audio:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_pattern_recorded_to_webm_decodes_back_with_every_counter_in_order() {
    let dir = temp_dir("pipeline-pattern-webm");
    let path = dir.join("pattern.webm");
    let pattern = TestPattern::new(640, 480, 30);
    let frames = (0..90).map(|n| (0, Frame::Video(pattern.frame_at(n)))).collect();
    assert_eq!(record_tracks(frames, &[MediaKind::Video], &path).await, vec![90]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!(s.get("codec_name"), "vp8");
    assert_eq!(s.num("nb_read_packets"), 90.0);
    assert!(close(s.num("format_duration"), 3.0, 1.0 / 30.0 + 1e-6), "{s:?}");

    let mut reader = MediaReader::open(&path, true, false).unwrap();
    let mut counters = Vec::new();
    while let Some((_, f)) = reader.next_frame().unwrap() {
        let Frame::Video(v) = f else { panic!("video only") };
        counters.push(pattern.read_counter(&v));
    }
    let expected: Vec<_> = (0..90).map(Some).collect();
    assert_eq!(counters, expected);
}

/// The `record` example without a camera or a microphone (none here):
/// it falls back to the test pattern and a tone, and writes a WebM of
/// about the asked length that ffprobe reads as VP8 and Opus.
#[test]
fn the_record_example_falls_back_to_the_test_pattern_and_a_tone() {
    let dir = temp_dir("pipeline-record-example");
    let out = dir.join("fallback.webm");
    let exe = std::env::current_exe().unwrap();
    let example = exe.parent().unwrap().parent().unwrap().join("examples").join("record");
    let run = std::process::Command::new(&example)
        .args([out.to_str().unwrap(), "--seconds", "2", "--camera", "/dev/video-none", "--mic", "none"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} ({e}): build the examples first (cargo test -p oxrtc-media --all-features builds them)",
                example.display()
            )
        });
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("test pattern") && stdout.contains("440 Hz"), "{stdout}");
    let streams = ffprobe_streams(&out);
    let codecs: Vec<&str> = streams.iter().map(|s| s.get("codec_name")).collect();
    assert_eq!(codecs, ["vp8", "opus"]);
    let video = streams[0].num("nb_read_packets");
    // 2 s at 30 fps, give or take the start-up of a loaded machine.
    assert!((40.0..=62.0).contains(&video), "{video} frames");
    assert!(close(streams[0].num("format_duration"), 2.0, 0.5), "{:?}", streams[0]);
}
