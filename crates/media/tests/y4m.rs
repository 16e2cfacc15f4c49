//! Y4M files: ours read by ffprobe, ffmpeg's read by us, the player and the recorder.

mod common;

use std::time::Duration;

use common::*;
use media::container::{self, TrackSpec};
use media::synthetic::TestPattern;
use media::{Frame, MediaKind, PixelFormat};

fn ffmpeg_y4m(path: &std::path::Path, frames: u32) {
    let src = format!("testsrc=size=96x64:rate=25:duration={}", f64::from(frames) / 25.0);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &src,
        "-pix_fmt",
        "yuv420p",
        "-frames:v",
        &frames.to_string(),
        path.to_str().unwrap(),
    ]);
}

#[test]
fn reads_ffmpeg_y4m() {
    let dir = temp_dir("y4m-read");
    let path = dir.join("in.y4m");
    ffmpeg_y4m(&path, 10);
    let (tracks, frames) = demux_all(&path);
    assert_eq!((tracks[0].size, tracks[0].framerate), (Some((96, 64)), Some(25.0)));
    assert_eq!(frames.len(), 10);
    for (n, (_, f)) in frames.iter().enumerate() {
        let Frame::Video(v) = f else { panic!("not raw video") };
        assert_eq!((v.format(), v.time()), (PixelFormat::I420, Duration::from_millis(40 * n as u64)));
    }
}

#[test]
fn ffprobe_reads_ours() {
    let dir = temp_dir("y4m-write");
    let path = dir.join("out.y4m");
    let pattern = TestPattern::new(64, 48, 30);
    let mut m = container::create(&path).unwrap();
    m.add_track(TrackSpec { kind: MediaKind::Video, codec: None, size: Some((64, 48)), audio: None }).unwrap();
    for n in 0..15 {
        m.write(0, &Frame::Video(pattern.frame_at(n))).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("codec_name"), s.get("width"), s.get("height")), ("rawvideo", "64", "48"));
    assert_eq!((s.get("r_frame_rate"), s.get("nb_read_packets")), ("30/1", "15"));
    // Our reader gets the same frames back.
    let (_, frames) = demux_all(&path);
    for (n, (_, f)) in frames.iter().enumerate() {
        let Frame::Video(v) = f else { panic!() };
        assert_eq!(pattern.read_counter(v), Some(n as u64));
    }
}

#[tokio::test]
async fn player_plays_ffmpeg_y4m() {
    let dir = temp_dir("y4m-player");
    let path = dir.join("in.y4m");
    ffmpeg_y4m(&path, 20);
    let (n, end) = play(&path, MediaKind::Video, Duration::from_millis(40)).await;
    assert_eq!((n, end), (20, Duration::from_millis(800)));
}

#[tokio::test]
async fn recorder_writes_a_y4m_ffprobe_accepts() {
    let dir = temp_dir("y4m-recorder");
    let path = dir.join("rec.y4m");
    let pattern = TestPattern::new(64, 32, 30);
    let frames = (0..30).map(|n| (0, Frame::Video(pattern.frame_at(n)))).collect();
    assert_eq!(record_tracks(frames, &[MediaKind::Video], &path).await, vec![30]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("width"), s.get("r_frame_rate"), s.get("nb_read_packets")), ("64", "30/1", "30"));
}
