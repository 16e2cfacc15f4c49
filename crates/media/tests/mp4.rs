//! MP4: ffmpeg's H.264 + Opus read by us, ours read by ffprobe, the player
//! and the recorder passing frames through.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use media::container::{self, TrackSpec};
use media::{Codec, Frame, MediaKind};

/// 2 s of baseline H.264 (a keyframe a second, no B-frames) and Opus.
fn ffmpeg_mp4(path: &Path) {
    let args = "-f lavfi -i testsrc=size=160x120:rate=30:duration=2 -f lavfi -i sine=frequency=1000:duration=2 -c:v libx264 -pix_fmt yuv420p -profile:v baseline -g 30 -x264-params scenecut=0 -c:a libopus";
    let mut args: Vec<&str> = args.split(' ').collect();
    args.push(path.to_str().unwrap());
    ffmpeg(&args);
}

#[test]
fn reads_ffmpeg_mp4_and_ffprobe_reads_ours() {
    let dir = temp_dir("mp4-read");
    let path = dir.join("in.mp4");
    ffmpeg_mp4(&path);
    let theirs = ffprobe_packets(&path);
    let (tracks, frames) = demux_all(&path);
    assert_eq!((tracks[0].codec, tracks[0].size), (Some(Codec::H264), Some((160, 120))));
    assert_eq!((tracks[1].codec, tracks[1].audio), (Some(Codec::Opus), Some((48_000, 1))));
    let probed: Vec<bool> = theirs.iter().filter(|p| p.stream == 0).map(|p| p.key).collect();
    assert_eq!(keys(&frames, 0), probed);
    assert_eq!(keys(&frames, 0).iter().filter(|k| **k).count(), 2);
    let audio = theirs.iter().filter(|p| p.stream == 1).count();
    assert_eq!(keys(&frames, 1).len(), audio);
    for (_, f) in frames.iter().filter(|(i, _)| *i == 0) {
        let Frame::Encoded(e) = f else { panic!() };
        assert!(e.data.starts_with(&[0, 0, 0, 1]));
        assert_eq!(e.keyframe, e.data[4] & 0x1F == 7, "keyframes carry the SPS");
    }

    let out = dir.join("ours.mp4");
    let mut m = container::create(&out).unwrap();
    for t in &tracks {
        m.add_track(TrackSpec { kind: t.kind, codec: t.codec, size: None, audio: None }).unwrap();
    }
    for (i, f) in &frames {
        m.write(*i, f).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let streams = ffprobe_streams(&out);
    let v = &streams[0];
    assert_eq!((v.get("codec_name"), v.get("width"), v.get("height")), ("h264", "160", "120"));
    assert_eq!(v.get("nb_read_packets"), "60");
    assert!(close(v.num("duration"), 2.0, 1.0 / 30.0), "{v:?}");
    let a = &streams[1];
    assert_eq!((a.get("codec_name"), a.get("channels")), ("opus", "1"));
    assert_eq!(a.num("nb_read_packets") as usize, audio);
    let ours: Vec<bool> = ffprobe_packets(&out).iter().filter(|p| p.stream == 0).map(|p| p.key).collect();
    assert_eq!(ours, probed);
    let (_, again) = demux_all(&out);
    assert_eq!(again.len(), frames.len());
    assert_eq!(keys(&again, 0), keys(&frames, 0));
}

#[tokio::test]
async fn player_passes_ffmpeg_mp4_through() {
    let dir = temp_dir("mp4-player");
    let path = dir.join("in.mp4");
    ffmpeg_mp4(&path);
    let (n, end) = play(&path, MediaKind::Video, Duration::ZERO).await;
    assert_eq!(n, 60);
    assert!(close(end.as_secs_f64(), 2.0, 1.0 / 30.0), "{end:?}");
}

#[tokio::test]
async fn recorder_passes_h264_and_opus_into_an_mp4_ffprobe_accepts() {
    let dir = temp_dir("mp4-recorder");
    let src = dir.join("in.mp4");
    ffmpeg_mp4(&src);
    let (_, frames) = demux_all(&src);
    let path = dir.join("rec.mp4");
    let audio = keys(&frames, 1).len() as u64;
    let written = record_tracks(frames, &[MediaKind::Video, MediaKind::Audio], &path).await;
    assert_eq!(written, vec![60, audio]);
    let streams = ffprobe_streams(&path);
    assert_eq!((streams[0].get("codec_name"), streams[0].get("nb_read_packets")), ("h264", "60"));
    assert_eq!(streams[1].get("codec_name"), "opus");
    assert!(close(streams[0].num("format_duration"), 2.0, 0.05), "{:?}", streams[0]);
}

/// H.264 with B-frames: presentation times from `ctts` (ffprobe shifts them
/// by the edit list, which we do not apply: the differences agree).
#[test]
fn reads_b_frames_in_presentation_time() {
    let dir = temp_dir("mp4-b-frames");
    let path = dir.join("b.mp4");
    ffmpeg_encode(&path, "libx264", &["-pix_fmt", "yuv420p", "-x264-params", "bframes=2:b-adapt=0"], "160x120", 30, 30);
    let theirs = ffprobe_packets(&path);
    let (_, frames) = demux_all(&path);
    assert_eq!(frames.len(), theirs.len());
    let ours: Vec<f64> = frames.iter().map(|(_, f)| f.time().as_secs_f64()).collect();
    let probed: Vec<f64> = theirs.iter().map(|p| p.pts.unwrap()).collect();
    assert!(ours.windows(2).any(|w| w[1] < w[0]), "B-frames come before the frames they follow");
    for (a, b) in ours.iter().zip(&probed) {
        assert!(close(a - ours[0], b - probed[0], 0.001), "{ours:?}\n{probed:?}");
    }
}

/// Video only, starting half a second in: the empty edit keeps the start.
#[test]
fn video_only_with_a_late_start() {
    let dir = temp_dir("mp4-late");
    let src = dir.join("in.h264");
    ffmpeg_encode(&src, "libx264", &["-pix_fmt", "yuv420p", "-profile:v", "baseline"], "160x120", 30, 30);
    let (_, frames) = demux_all(&src);
    let out = dir.join("late.mp4");
    let mut m = container::create(&out).unwrap();
    m.add_track(TrackSpec { kind: MediaKind::Video, codec: Some(Codec::H264), size: None, audio: None }).unwrap();
    for (i, f) in &frames {
        let mut f = f.clone();
        f.set_time(f.time() + Duration::from_millis(500));
        m.write(*i, &f).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let s = &ffprobe_streams(&out)[0];
    assert_eq!((s.get("width"), s.get("nb_read_packets")), ("160", "30"));
    assert!(close(s.num("format_duration"), 1.5, 1.0 / 30.0), "{s:?}");
    let first = ffprobe_packets(&out)[0].pts.unwrap();
    assert!(close(first, 0.5, 0.001), "first frame at {first}");
}
