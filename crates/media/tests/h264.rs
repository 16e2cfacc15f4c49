//! Raw H.264 (Annex B): access units from ffmpeg's stream, NAL units across
//! read boundaries, the player and the recorder passing frames through.

mod common;

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use common::*;
use media::container::h264::H264Demuxer;
use media::container::{self, Demuxer as _, TrackSpec};
use media::{Codec, Frame, MediaKind};

fn ffmpeg_h264(path: &Path, frames: u32) {
    let args = ["-bsf:v", "h264_mp4toannexb", "-x264-params", "scenecut=0"];
    ffmpeg_encode(path, "libx264", &args, "320x240", frames, 30);
}

#[test]
fn reads_ffmpeg_access_units_and_rewrites_them() {
    let dir = temp_dir("h264-read");
    let path = dir.join("in.h264");
    ffmpeg_h264(&path, 60);
    let (tracks, frames) = demux_all(&path);
    assert_eq!((tracks[0].codec, tracks[0].framerate), (Some(Codec::H264), Some(30.0)));
    assert_eq!(tracks[0].size, Some((320, 240)), "from the SPS");
    assert_eq!(frames.len(), 60);
    let keys: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, (_, f))| matches!(f, Frame::Encoded(e) if e.keyframe))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keys, vec![0, 30]);
    let Frame::Encoded(first) = &frames[0].1 else { panic!() };
    let types: Vec<u8> = first.data.windows(5).filter(|w| w[..4] == [0, 0, 0, 1]).map(|w| w[4] & 0x1F).collect();
    assert!(types.starts_with(&[7, 8]) && types.contains(&5), "SPS and PPS travel with the IDR: {types:?}");
    assert_eq!(frames[30].1.time(), Duration::from_secs(1));

    let out = dir.join("ours.264");
    let mut m = container::create(&out).unwrap();
    m.add_track(TrackSpec { kind: MediaKind::Video, codec: Some(Codec::H264), size: None, audio: None }).unwrap();
    for (i, f) in &frames {
        m.write(*i, f).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    let packets = ffprobe_packets(&out);
    assert_eq!(packets.len(), 60);
    assert_eq!(packets.iter().filter(|p| p.key).count(), 2);
    let s = &ffprobe_streams(&out)[0];
    assert_eq!((s.get("codec_name"), s.get("width"), s.get("height")), ("h264", "320", "240"));
}

/// Gives at most `max` bytes per read, to put every boundary everywhere.
struct Trickle {
    inner: Cursor<Vec<u8>>,
    max: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.max);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Trickle {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// NAL units larger than the 64 KiB read size, start codes of 3 and 4 bytes
/// at every alignment: the same access units whatever the reads return.
#[test]
fn nal_units_span_read_boundaries() {
    let nal = |header: u8, first: u8, len: usize| {
        let mut n = vec![header, first];
        n.extend((0..len).map(|i| 0x10 + (i % 200) as u8)); // no zero bytes
        n
    };
    let units: Vec<Vec<Vec<u8>>> = vec![
        vec![nal(0x67, 0x42, 10), nal(0x68, 0xCE, 3), nal(0x65, 0x88, 150_000)],
        vec![nal(0x41, 0x9A, 70_000)],
        vec![nal(0x41, 0x9A, 65_533), nal(0x41, 0x40, 5)], // a second slice of the same picture
        vec![nal(0x09, 0xF0, 0), nal(0x41, 0x9A, 1)],
        vec![nal(0x67, 0x42, 10), nal(0x68, 0xCE, 3), nal(0x65, 0x88, 131_072)],
    ];
    let mut stream = Vec::new();
    for (i, u) in units.iter().enumerate() {
        for (j, n) in u.iter().enumerate() {
            stream.extend_from_slice(if (i + j) % 2 == 0 { &[0, 0, 0, 1] } else { &[0, 0, 1] });
            stream.extend_from_slice(n);
        }
    }
    for max in [usize::MAX, 65_535, 7, 1] {
        let mut d = H264Demuxer::new(Trickle { inner: Cursor::new(stream.clone()), max }).unwrap();
        for pass in 0..2 {
            for (k, u) in units.iter().enumerate() {
                let Some((0, Frame::Encoded(e))) = d.read().unwrap() else { panic!("unit {k}") };
                let expect: Vec<u8> = u.iter().flat_map(|n| [&[0, 0, 0, 1][..], n].concat()).collect();
                assert!(e.data == expect, "reads of {max}, pass {pass}: unit {k} differs");
                assert_eq!(e.keyframe, k == 0 || k == 4);
                assert_eq!(e.pts, k as i64 * 3000);
            }
            assert!(d.read().unwrap().is_none());
            d.rewind().unwrap();
        }
    }
}

#[tokio::test]
async fn player_passes_ffmpeg_h264_through() {
    let dir = temp_dir("h264-player");
    let path = dir.join("in.h264");
    ffmpeg_h264(&path, 60);
    let (n, end) = play(&path, MediaKind::Video, Duration::ZERO).await;
    assert_eq!(n, 60);
    assert!(close(end.as_secs_f64(), 2.0, 1e-6), "{end:?}");
}

#[tokio::test]
async fn recorder_passes_frames_into_an_h264_file_ffprobe_accepts() {
    let dir = temp_dir("h264-recorder");
    let src = dir.join("in.h264");
    ffmpeg_h264(&src, 45);
    let (_, frames) = demux_all(&src);
    let path = dir.join("rec.h264");
    assert_eq!(record_tracks(frames, &[MediaKind::Video], &path).await, vec![45]);
    let s = &ffprobe_streams(&path)[0];
    assert_eq!((s.get("codec_name"), s.get("nb_read_packets")), ("h264", "45"));
}

/// The size comes from the SPS, cropping included (4:2:0 and 4:4:4).
#[test]
fn the_size_comes_from_the_sps() {
    let dir = temp_dir("h264-size");
    for (pix, name) in [("yuv420p", "a.h264"), ("yuv444p", "b.h264")] {
        let path = dir.join(name);
        ffmpeg_encode(&path, "libx264", &["-pix_fmt", pix], "98x54", 2, 30);
        let d = container::open(&path).unwrap();
        assert_eq!(d.tracks()[0].size, Some((98, 54)), "{pix}");
    }
}
