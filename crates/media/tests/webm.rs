//! WebM and Matroska: ffmpeg's files read by us (VP8 + Opus, VP9, AV1,
//! H.264 in .mkv), ours read by ffprobe, the player and the recorder
//! passing frames through.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use media::container::{self, TrackInfo, TrackSpec};
use media::{Codec, Frame, MediaKind};

/// 2 s of VP8 (a keyframe a second) and Opus.
fn ffmpeg_vp8_opus(path: &Path) {
    let args = "-f lavfi -i testsrc=size=160x120:rate=30:duration=2 -f lavfi -i sine=frequency=1000:duration=2 -c:v libvpx -deadline realtime -g 30 -c:a libopus";
    let mut args: Vec<&str> = args.split(' ').collect();
    args.push(path.to_str().unwrap());
    ffmpeg(&args);
}

fn remux(frames: &[(usize, Frame)], tracks: &[TrackInfo], out: &Path) {
    let mut m = container::create(out).unwrap();
    for t in tracks {
        // What the recorder gives for pass-through: no size, no channel count.
        assert_eq!(m.add_track(TrackSpec { kind: t.kind, codec: t.codec, size: None, audio: None }).unwrap(), t.index);
    }
    for (i, f) in frames {
        m.write(*i, f).unwrap();
    }
    m.finish().unwrap();
}

#[test]
fn reads_ffmpeg_vp8_opus_and_ffprobe_reads_ours() {
    let dir = temp_dir("webm-vp8-opus");
    let path = dir.join("in.webm");
    ffmpeg_vp8_opus(&path);
    let theirs = ffprobe_packets(&path);
    let (tracks, frames) = demux_all(&path);
    assert_eq!(tracks.len(), 2);
    assert_eq!((tracks[0].codec, tracks[0].size), (Some(Codec::Vp8), Some((160, 120))));
    assert_eq!((tracks[1].codec, tracks[1].audio), (Some(Codec::Opus), Some((48_000, 1))));
    for t in 0..2 {
        let probed: Vec<bool> = theirs.iter().filter(|p| p.stream == t).map(|p| p.key || t == 1).collect();
        assert_eq!(keys(&frames, t), probed, "track {t}");
    }
    assert_eq!(keys(&frames, 0).iter().filter(|k| **k).count(), 2);
    assert_eq!(keys(&frames, 0).len(), 60);

    let out = dir.join("ours.webm");
    remux(&frames, &tracks, &out);
    let streams = ffprobe_streams(&out);
    assert_eq!(
        (streams[0].get("codec_name"), streams[0].get("width"), streams[0].get("height")),
        ("vp8", "160", "120")
    );
    assert_eq!((streams[1].get("codec_name"), streams[1].get("channels")), ("opus", "1"));
    assert_eq!(streams[0].get("nb_read_packets"), "60");
    assert_eq!(streams[1].num("nb_read_packets") as usize, keys(&frames, 1).len());
    assert!(close(streams[0].num("format_duration"), 2.0, 1.0 / 30.0 + 0.001), "{:?}", streams[0]);
    let ours = ffprobe_packets(&out);
    let probed: Vec<bool> = ours.iter().filter(|p| p.stream == 0).map(|p| p.key).collect();
    assert_eq!(probed, keys(&frames, 0));
    let (again_tracks, again) = demux_all(&out);
    assert_eq!(again_tracks[0].size, Some((160, 120)));
    assert_eq!((keys(&again, 0), keys(&again, 1).len()), (keys(&frames, 0), keys(&frames, 1).len()));
}

#[test]
fn reads_and_rewrites_vp9_and_av1() {
    let dir = temp_dir("webm-vp9-av1");
    for &(codec, encoder, args) in &VIDEO_ENCODERS[1..] {
        let path = dir.join(format!("{encoder}.webm"));
        ffmpeg_encode(&path, encoder, args, "96x64", 20, 10);
        let theirs = ffprobe_packets(&path);
        let (tracks, frames) = demux_all(&path);
        assert_eq!((tracks[0].codec, tracks[0].size), (Some(codec), Some((96, 64))), "{encoder}");
        assert_eq!(keys(&frames, 0), theirs.iter().map(|p| p.key).collect::<Vec<_>>(), "{encoder}");
        let out = dir.join(format!("{encoder}-ours.webm"));
        remux(&frames, &tracks, &out);
        let s = &ffprobe_streams(&out)[0];
        assert_eq!((s.get("width"), s.get("height"), s.get("nb_read_packets")), ("96", "64", "20"), "{encoder}");
        let probed: Vec<bool> = ffprobe_packets(&out).iter().map(|p| p.key).collect();
        assert_eq!(probed, keys(&frames, 0), "{encoder}");
    }
}

#[test]
fn reads_h264_in_matroska_as_annex_b() {
    let dir = temp_dir("mkv-h264");
    let path = dir.join("in.mkv");
    ffmpeg_encode(&path, "libx264", &["-x264-params", "scenecut=0"], "160x120", 60, 30);
    let (tracks, frames) = demux_all(&path);
    assert_eq!((tracks[0].codec, tracks[0].size), (Some(Codec::H264), Some((160, 120))));
    assert_eq!(frames.len(), 60);
    let key_at: Vec<usize> = keys(&frames, 0).iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
    assert_eq!(key_at, vec![0, 30]);
    for (n, (_, f)) in frames.iter().enumerate() {
        let Frame::Encoded(e) = f else { panic!() };
        assert!(e.data.starts_with(&[0, 0, 0, 1]), "frame {n} is Annex B");
        if e.keyframe {
            assert_eq!(e.data[4] & 0x1F, 7, "a keyframe starts with its SPS");
        }
    }
}

#[tokio::test]
async fn player_passes_ffmpeg_webm_through() {
    let dir = temp_dir("webm-player");
    let path = dir.join("in.webm");
    ffmpeg_vp8_opus(&path);
    let audio_packets = ffprobe_packets(&path).iter().filter(|p| p.stream == 1).count();
    let (n, end) = play(&path, MediaKind::Video, Duration::from_secs_f64(1.0 / 30.0)).await;
    assert_eq!(n, 60);
    // Within a frame: ffmpeg starts the video at the Opus CodecDelay (7 ms).
    assert!(close(end.as_secs_f64(), 2.0, 1.0 / 30.0), "{end:?}");
    let (n, end) = play(&path, MediaKind::Audio, Duration::from_millis(20)).await;
    assert_eq!(n, audio_packets);
    assert!(close(end.as_secs_f64(), 2.0, 0.021), "{end:?}");
}

#[tokio::test]
async fn recorder_passes_vp8_and_opus_into_a_webm_ffprobe_accepts() {
    let dir = temp_dir("webm-recorder");
    let src = dir.join("in.webm");
    ffmpeg_vp8_opus(&src);
    let (_, frames) = demux_all(&src);
    let path = dir.join("rec.webm");
    let audio = keys(&frames, 1).len() as u64;
    let written = record_tracks(frames, &[MediaKind::Video, MediaKind::Audio], &path).await;
    assert_eq!(written, vec![60, audio]);
    let streams = ffprobe_streams(&path);
    assert_eq!((streams[0].get("codec_name"), streams[0].get("width")), ("vp8", "160"));
    assert_eq!((streams[1].get("codec_name"), streams[1].get("nb_read_packets")), ("opus", &*audio.to_string()));
    assert!(close(streams[0].num("format_duration"), 2.0, 0.05), "{:?}", streams[0]);
}

/// A live recording: the Segment and every Cluster of unknown size. We
/// read the same frames; so does ffprobe.
#[test]
fn reads_segments_and_clusters_of_unknown_size() {
    let dir = temp_dir("webm-live");
    let path = dir.join("in.webm");
    ffmpeg_vp8_opus(&path);
    let (tracks, frames) = demux_all(&path);
    let sized = dir.join("sized.webm");
    remux(&frames, &tracks, &sized);
    let mut data = std::fs::read(&sized).unwrap();
    // Walk the top-level elements, going into the Segment, and mark the
    // sizes of the Segment and of each Cluster unknown (every value bit set).
    let (mut at, mut clusters) = (0, 0);
    while at < data.len() {
        let id_len = data[at].leading_zeros() as usize + 1;
        let id = data[at..at + id_len].to_vec();
        let size_at = at + id_len;
        let len = data[size_at].leading_zeros() as usize + 1;
        let marker_free = (0xFFu16 >> len) as u8;
        let mut size = u64::from(data[size_at] & marker_free);
        for &b in &data[size_at + 1..size_at + len] {
            size = (size << 8) | u64::from(b);
        }
        let segment = id == [0x18, 0x53, 0x80, 0x67];
        if segment || id == [0x1F, 0x43, 0xB6, 0x75] {
            data[size_at] |= marker_free;
            data[size_at + 1..size_at + len].fill(0xFF);
            clusters += usize::from(!segment);
        }
        at = size_at + len + if segment { 0 } else { size as usize };
    }
    assert!(clusters >= 2, "a cluster per keyframe");
    let live = dir.join("live.webm");
    std::fs::write(&live, &data).unwrap();
    let (_, again) = demux_all(&live);
    assert_eq!(again, demux_all(&sized).1);
    assert_eq!(ffprobe_streams(&live)[0].get("nb_read_packets"), "60");
}
