//! IVF files (VP8, VP9, AV1): ffmpeg's read by us with its keyframes, ours
//! read by ffprobe, the player and the recorder passing frames through.

mod common;

use std::time::Duration;

use common::*;
use media::container::{self, TrackSpec};
use media::{Frame, MediaKind};

/// ffmpeg's file read by us agrees with ffprobe frame by frame; written back
/// by our muxer, ffprobe reads the same packets.
#[test]
fn reads_and_rewrites_ffmpeg_ivf() {
    let dir = temp_dir("ivf-read");
    for &(codec, encoder, args) in VIDEO_ENCODERS {
        let path = dir.join(format!("{encoder}.ivf"));
        ffmpeg_encode(&path, encoder, args, "96x64", 25, 10);
        let theirs = ffprobe_packets(&path);
        let (tracks, frames) = demux_all(&path);
        assert_eq!((tracks[0].codec, tracks[0].size), (Some(codec), Some((96, 64))), "{encoder}");
        assert_eq!(frames.len(), theirs.len(), "{encoder}");
        for ((_, f), p) in frames.iter().zip(&theirs) {
            let Frame::Encoded(e) = f else { panic!() };
            assert_eq!((e.data.len(), e.keyframe), (p.size, p.key), "{encoder} at {:?}", p.pts);
            assert!(close(e.time().as_secs_f64(), p.pts.unwrap(), 0.001), "{encoder}");
        }
        assert_eq!(theirs.iter().filter(|p| p.key).count(), 3, "{encoder}: keyframes at 0, 10, 20");

        // Ours, with the size left for the muxer to find.
        let out = dir.join(format!("{encoder}-ours.ivf"));
        let mut m = container::create(&out).unwrap();
        m.add_track(TrackSpec { kind: MediaKind::Video, codec: Some(codec), size: None, audio: None }).unwrap();
        for (i, f) in &frames {
            m.write(*i, f).unwrap();
        }
        m.finish().unwrap();
        drop(m);
        let ours = ffprobe_packets(&out);
        assert_eq!(ours.len(), theirs.len(), "{encoder}");
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!((a.size, a.key), (b.size, b.key), "{encoder}");
            assert!(close(a.pts.unwrap(), b.pts.unwrap(), 0.001), "{encoder}");
        }
        let s = &ffprobe_streams(&out)[0];
        assert_eq!((s.get("width"), s.get("height")), ("96", "64"), "{encoder}");
        let (tracks, _) = demux_all(&out);
        assert_eq!(tracks[0].size, Some((96, 64)), "{encoder}: the size found in the keyframe");
    }
}

#[tokio::test]
async fn player_passes_ffmpeg_ivf_through() {
    let dir = temp_dir("ivf-player");
    let path = dir.join("in.ivf");
    ffmpeg_encode(&path, "libvpx", &["-deadline", "realtime"], "64x64", 30, 30);
    let (n, end) = play(&path, MediaKind::Video, Duration::from_secs_f64(1.0 / 30.0)).await;
    assert_eq!(n, 30);
    assert!(close(end.as_secs_f64(), 1.0, 0.001), "{end:?}");
}

#[tokio::test]
async fn recorder_passes_frames_into_an_ivf_ffprobe_accepts() {
    let dir = temp_dir("ivf-recorder");
    let src = dir.join("in.ivf");
    ffmpeg_encode(&src, "libvpx-vp9", &["-deadline", "realtime", "-cpu-used", "8"], "64x64", 30, 15);
    let (_, frames) = demux_all(&src);
    let path = dir.join("rec.ivf");
    assert_eq!(record_tracks(frames, &[MediaKind::Video], &path).await, vec![30]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("codec_name"), s.get("width"), s.get("nb_read_packets")), ("vp9", "64", "30"));
    assert_eq!(ffprobe_packets(&path).iter().filter(|p| p.key).count(), 2);
}
