//! Ogg Opus files: ffmpeg's read by us, ours read by ffprobe, the player and
//! the recorder passing packets through.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use media::container::{self, TrackSpec};
use media::{Codec, Frame, MediaKind};

fn ffmpeg_opus(path: &Path, seconds: u32) {
    let src = format!("sine=frequency=1000:duration={seconds}");
    ffmpeg(&["-f", "lavfi", "-i", &src, "-c:a", "libopus", path.to_str().unwrap()]);
}

#[test]
fn reads_ffmpeg_ogg_opus_and_ffprobe_reads_ours() {
    let dir = temp_dir("ogg-read");
    let path = dir.join("in.ogg");
    ffmpeg_opus(&path, 2);
    let theirs = ffprobe_packets(&path);
    let (tracks, frames) = demux_all(&path);
    assert_eq!((tracks[0].codec, tracks[0].audio), (Some(Codec::Opus), Some((48_000, 1))));
    assert_eq!(tracks[0].duration, Some(96_000), "2 s at 48 kHz");
    assert_eq!(frames.len(), theirs.len());
    let mut end = 0;
    for ((_, f), p) in frames.iter().zip(&theirs) {
        let Frame::Encoded(e) = f else { panic!() };
        assert_eq!(e.data.len(), p.size);
        assert!(close(e.pts as f64 / 48_000.0, p.pts.unwrap(), 1e-4), "{} vs {:?}", e.pts, p.pts);
        end = e.pts + e.duration.unwrap();
    }
    assert_eq!(end, 96_000, "the last page's granule cuts the last packet");

    let out = dir.join("ours.opus");
    let mut m = container::create(&out).unwrap();
    m.add_track(TrackSpec { kind: MediaKind::Audio, codec: Some(Codec::Opus), size: None, audio: None }).unwrap();
    for (i, f) in &frames {
        m.write(*i, f).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let s = &ffprobe_streams(&out)[0];
    assert_eq!((s.get("codec_name"), s.get("channels")), ("opus", "1"));
    assert!(close(s.num("format_duration"), 2.0, 0.02), "{s:?}");
    let ours = ffprobe_packets(&out);
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a.size, b.size);
    }
    let (_, again) = demux_all(&out);
    assert_eq!(again, frames, "ours reads back packet for packet, timestamps included");
}

#[tokio::test]
async fn player_passes_ffmpeg_ogg_through() {
    let dir = temp_dir("ogg-player");
    let path = dir.join("in.ogg");
    ffmpeg_opus(&path, 2);
    let count = ffprobe_packets(&path).len();
    let (n, end) = play(&path, MediaKind::Audio, Duration::from_millis(20)).await;
    assert_eq!(n, count);
    assert!(close(end.as_secs_f64(), 2.0, 0.001), "{end:?}");
}

#[tokio::test]
async fn recorder_passes_packets_into_an_ogg_ffprobe_accepts() {
    let dir = temp_dir("ogg-recorder");
    let src = dir.join("in.ogg");
    ffmpeg_opus(&src, 1);
    let (_, frames) = demux_all(&src);
    let path = dir.join("rec.ogg");
    let n = frames.len() as u64;
    assert_eq!(record_tracks(frames, &[MediaKind::Audio], &path).await, vec![n]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!(s.get("codec_name"), "opus");
    assert_eq!(s.get("nb_read_packets"), n.to_string());
    assert!(close(s.num("format_duration"), 1.0, 0.03), "{s:?}");
}
