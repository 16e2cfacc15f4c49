//! The media demuxers' fuzz corpora (`fuzz/corpus/media_<format>`): seeds
//! made here by our muxers and by hand, replayed through the fuzz targets'
//! bodies by `cargo test`; and every prefix of a valid file of each format
//! (ours and ffmpeg's) read without a panic.
//!
//! `OXRTC_WRITE_SEED_CORPUS=1 cargo test -p oxrtc-media --test fuzz_corpus seed_corpus`
//! rewrites the seed inputs (a plain test run only checks them).

mod common;

use std::path::Path;

use bytes::Bytes;
use common::*;
use media::container::{self, TrackSpec};
use media::{AudioFrame, Codec, EncodedFrame, Frame, MediaKind, PixelFormat, TimeBase, VideoFrame};

type Body = fn(&[u8]);

/// Each target: its name, its format's extension and its body.
const TARGETS: &[(&str, &str, Body)] = &[
    ("media_wav", "wav", media::fuzzing::wav),
    ("media_y4m", "y4m", media::fuzzing::y4m),
    ("media_ivf", "ivf", media::fuzzing::ivf),
    ("media_ogg", "ogg", media::fuzzing::ogg),
    ("media_h264", "h264", media::fuzzing::h264),
    ("media_webm", "webm", media::fuzzing::webm),
    ("media_mp4", "mp4", media::fuzzing::mp4),
];

fn encoded(codec: Codec, data: &[u8], pts: i64, time_base: TimeBase, keyframe: bool) -> Frame {
    Frame::Encoded(EncodedFrame { codec, data: Bytes::copy_from_slice(data), pts, time_base, duration: None, keyframe })
}

/// Writes `frames` of tracks `specs` with our muxer for `ext`; the file's bytes.
fn mux(ext: &str, specs: &[TrackSpec], frames: &[(usize, Frame)]) -> Vec<u8> {
    // Tests run in parallel, each making the seeds: a folder per file made.
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = temp_dir(&format!("seed-{n}"));
    let path = dir.join(format!("seed.{ext}"));
    let mut m = container::create(&path).unwrap();
    for s in specs {
        m.add_track(s.clone()).unwrap();
    }
    for (i, f) in frames {
        m.write(*i, f).unwrap();
    }
    m.finish().unwrap();
    drop(m);
    std::fs::read(&path).unwrap()
}

fn spec(kind: MediaKind, codec: Option<Codec>) -> TrackSpec {
    TrackSpec { kind, codec, size: None, audio: None }
}

/// A RIFF WAVE file of these chunks.
fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A 16-byte fmt chunk.
fn fmt(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    f.extend_from_slice(&block.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}

const VP8_KEY: &[u8] = &[0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x00, 0x20, 0x00, 1, 2, 3]; // 64x32
const VP8_INTER: &[u8] = &[0x51, 0x00, 0x00, 4, 5];
/// A temporal delimiter, a reduced still-picture sequence header of 64x32 and a frame OBU.
const AV1_KEY: &[u8] = &[0x12, 0x00, 0x0A, 0x05, 0x18, 0x1D, 0xCF, 0xC7, 0xC0, 0x32, 0x02, 0xAA, 0xBB];
const AV1_INTER: &[u8] = &[0x12, 0x00, 0x32, 0x01, 0xCC];
const H264_KEY: &[u8] = &[
    0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x1E, 0xAB, 0, 0, 0, 1, 0x68, 0xCE, 0x3C, 0x80, 0, 0, 0, 1, 0x65, 0x88, 0x84, 1, 2, 3,
];
const H264_INTER: &[u8] = &[0, 0, 0, 1, 0x41, 0x9A, 5, 6];

fn opus(toc_and_data: &[u8], pts: i64) -> Frame {
    encoded(Codec::Opus, toc_and_data, pts, TimeBase::hz(48_000), true)
}

/// The seeds: (target, name, bytes).
fn seeds() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let audio = |s: Vec<i16>, rate, ch| Frame::Audio(AudioFrame::from_i16(s, rate, ch, 0).unwrap());
    let wav_spec = TrackSpec { audio: Some((8000, 2)), ..spec(MediaKind::Audio, None) };
    let pcm: Vec<i16> = (0..80).map(|i: i16| i.wrapping_mul(811)).collect();
    let mut extensible = fmt(0xFFFE, 2, 8000, 24);
    extensible.extend_from_slice(&22u16.to_le_bytes());
    extensible.extend_from_slice(&24u16.to_le_bytes());
    extensible.extend_from_slice(&3u32.to_le_bytes());
    extensible.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    let floats: Vec<u8> = [0.0f32, 0.5, -0.5, 1.0].iter().flat_map(|f| f.to_le_bytes()).collect();

    let tiny = |pts| {
        let data: Vec<u8> = (0..12u8).collect();
        Frame::Video(VideoFrame::from_packed(PixelFormat::I420, 4, 2, data.into(), pts, TimeBase::VIDEO).unwrap())
    };
    let mut odd_y4m = b"YUV4MPEG2 W5 H3 F30000:1001 It A0:0 C420mpeg2 XYSCSS=420MPEG2\nFRAME Ixyz\n".to_vec();
    odd_y4m.extend((0..27u8).map(|b| b.wrapping_mul(9)));

    let vp8 = |data, pts, key| encoded(Codec::Vp8, data, pts, TimeBase::VIDEO, key);
    let av1 = |data, pts, key| encoded(Codec::Av1, data, pts, TimeBase::VIDEO, key);
    let h264 = |data, pts, key| encoded(Codec::H264, data, pts, TimeBase::VIDEO, key);

    let mut trimmed = opus(&[0xF8, 9, 9], 5760);
    if let Frame::Encoded(e) = &mut trimmed {
        e.duration = Some(500);
    }
    let mut h264_stream = Vec::new();
    for part in [&[0, 0, 0, 1, 0x09, 0xF0][..], H264_KEY, &[0, 0, 1, 0x09, 0x30], H264_INTER, &[0, 0, 1, 0x41, 0x9A, 7]]
    {
        h264_stream.extend_from_slice(part);
    }
    let two_slices: Vec<u8> =
        [H264_KEY, &[0, 0, 1, 0x65, 0x40, 9][..], &[0, 0, 1, 0x06, 5, 1, 0x80], H264_INTER].concat();

    vec![
        ("media_wav", "s16-stereo", mux("wav", &[wav_spec], &[(0, audio(pcm, 8000, 2))])),
        ("media_wav", "f32-mono", riff(&[(b"fmt ", fmt(3, 1, 8000, 32)), (b"data", floats)])),
        (
            "media_wav",
            "u8-list-chunk",
            riff(&[
                (b"LIST", vec![1, 2, 3]),
                (b"fmt ", fmt(1, 1, 8000, 8)),
                (b"data", vec![0x80, 0xFF, 0, 0x7F, 0x81]),
            ]),
        ),
        ("media_wav", "extensible-s24", riff(&[(b"fmt ", extensible), (b"data", (0..12).collect())])),
        ("media_y4m", "4x2-two-frames", mux("y4m", &[spec(MediaKind::Video, None)], &[(0, tiny(0)), (0, tiny(3000))])),
        ("media_y4m", "5x3-mpeg2", odd_y4m),
        (
            "media_ivf",
            "vp8",
            mux(
                "ivf",
                &[spec(MediaKind::Video, Some(Codec::Vp8))],
                &[(0, vp8(VP8_KEY, 0, true)), (0, vp8(VP8_INTER, 3000, false)), (0, vp8(VP8_INTER, 6000, false))],
            ),
        ),
        (
            "media_ivf",
            "av1",
            mux(
                "ivf",
                &[spec(MediaKind::Video, Some(Codec::Av1))],
                &[(0, av1(AV1_KEY, 0, true)), (0, av1(AV1_INTER, 3000, false))],
            ),
        ),
        (
            "media_ogg",
            "mono-gap-trimmed",
            mux(
                "ogg",
                &[spec(MediaKind::Audio, Some(Codec::Opus))],
                &[
                    (0, opus(&[0xF8, 1], 0)),
                    (0, opus(&[0xF8, 2, 2], 960)),
                    (0, opus(&[0xF8, 3], 1920)),
                    (0, opus(&[0xF8, 4], 4800)),
                    (0, trimmed),
                ],
            ),
        ),
        (
            "media_ogg",
            "stereo-code3",
            mux(
                "ogg",
                &[spec(MediaKind::Audio, Some(Codec::Opus))],
                &[(0, opus(&[0xFF, 0x02, 1, 2, 3], -312)), (0, opus(&[0xFD, 4, 5, 6], 1608))],
            ),
        ),
        ("media_h264", "aud-sps-pps-idr-p", h264_stream),
        ("media_h264", "two-slices-sei", two_slices),
        (
            "media_webm",
            "vp8-opus",
            mux(
                "webm",
                &[spec(MediaKind::Video, Some(Codec::Vp8)), spec(MediaKind::Audio, Some(Codec::Opus))],
                &[
                    (0, vp8(VP8_KEY, 0, true)),
                    (1, opus(&[0xF8, 1], 0)),
                    (1, opus(&[0xF8, 2], 960)),
                    (0, vp8(VP8_INTER, 3000, false)),
                    (1, opus(&[0xF8, 3], 1920)),
                    (0, vp8(VP8_KEY, 6000, true)),
                    (1, opus(&[0xF8, 4], 2880)),
                ],
            ),
        ),
        (
            "media_mp4",
            "h264-opus",
            mux(
                "mp4",
                &[spec(MediaKind::Video, Some(Codec::H264)), spec(MediaKind::Audio, Some(Codec::Opus))],
                &[
                    (0, h264(H264_KEY, 0, true)),
                    (1, opus(&[0xF8, 1], -312)),
                    (0, h264(H264_INTER, 3000, false)),
                    (1, opus(&[0xF8, 2], 648)),
                ],
            ),
        ),
        (
            "media_mp4",
            "h264-late-start",
            mux(
                "mp4",
                &[spec(MediaKind::Video, Some(Codec::H264))],
                &[(0, h264(H264_KEY, 45_000, true)), (0, h264(H264_INTER, 48_000, false))],
            ),
        ),
    ]
}

/// The committed seeds must be exactly these, each a valid file our reader
/// reads to the end with frames; written only when opted in.
#[test]
fn seed_corpus() {
    let write = testkit::write_seed_corpus();
    let dir = temp_dir("seeds-valid");
    let mut counts = std::collections::HashMap::new();
    for (target, name, data) in seeds() {
        let i = counts.entry(target).or_insert(0usize);
        let path = testkit::corpus_dir(target).join(format!("seed-{i:02}-{name}"));
        *i += 1;
        let (_, ext, body) = TARGETS.iter().find(|t| t.0 == target).unwrap();
        body(&data);
        let file = dir.join(format!("{name}.{ext}"));
        std::fs::write(&file, &data).unwrap();
        let (_, frames) = demux_all(&file);
        assert!(!frames.is_empty(), "{target}/{name} reads no frames");
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &data).unwrap();
        } else {
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(committed == data, "{} is not the seed the writer makes", path.display());
        }
    }
}

#[test]
fn media_corpora() {
    for (target, _, body) in TARGETS {
        let committed = seeds().iter().filter(|s| s.0 == *target).count();
        testkit::replay_corpus(target, committed, body);
    }
}

/// Every prefix of each seed and of a small ffmpeg file of each format
/// reads without a panic (frames, then the end or an error).
#[test]
fn every_truncation_is_an_error_or_a_shorter_file() {
    let dir = temp_dir("truncation");
    let mut files: Vec<(&str, Vec<u8>)> = seeds().into_iter().map(|(t, _, d)| (t, d)).collect();
    let make = |name: &str, args: &str| -> Vec<u8> {
        let path = dir.join(name);
        let mut args: Vec<&str> = args.split(' ').collect();
        args.push(path.to_str().unwrap());
        ffmpeg(&args);
        std::fs::read(&path).unwrap()
    };
    let video = "-f lavfi -i testsrc=size=64x64:rate=30:duration=0.1";
    let audio = "-f lavfi -i sine=duration=0.06";
    files.push(("media_wav", make("t.wav", &format!("{audio} -c:a pcm_s16le"))));
    files.push(("media_y4m", make("t.y4m", "-f lavfi -i testsrc=size=16x16:rate=30 -frames:v 2 -pix_fmt yuv420p")));
    files.push(("media_ivf", make("t.ivf", &format!("{video} -c:v libvpx-vp9 -deadline realtime"))));
    files.push(("media_ogg", make("t.ogg", &format!("{audio} -c:a libopus"))));
    files.push(("media_h264", make("t.h264", &format!("{video} -c:v libx264 -pix_fmt yuv420p"))));
    files.push(("media_webm", make("t.webm", &format!("{video} {audio} -c:v libvpx -c:a libopus"))));
    files.push(("media_webm", make("t.mkv", &format!("{video} -c:v libx264 -pix_fmt yuv420p"))));
    files.push(("media_mp4", make("t.mp4", &format!("{video} {audio} -c:v libx264 -pix_fmt yuv420p -c:a libopus"))));
    for (target, data) in &files {
        let body = TARGETS.iter().find(|t| t.0 == *target).unwrap().2;
        for len in 0..=data.len() {
            body(&data[..len]);
        }
    }
}

#[test]
fn the_av1_seed_announces_its_size() {
    let dir = temp_dir("av1-seed");
    let path = dir.join("a.ivf");
    let data = seeds().into_iter().find(|s| s.1 == "av1").unwrap().2;
    std::fs::write(&path, data).unwrap();
    let (tracks, frames) = demux_all(Path::new(&path));
    assert_eq!(tracks[0].size, Some((64, 32)));
    assert_eq!(frames.iter().map(|(_, f)| f.is_keyframe()).collect::<Vec<_>>(), vec![true, false]);
}

/// Seeded damage to the seeds (bits flipped, bytes set, values of 0xFF and
/// 0x00 where lengths and timestamps are, tails cut or added): no panic, no
/// endless loop, no allocation a length field asked for.
#[test]
fn damaged_seeds_are_read_without_a_panic() {
    use testkit::{mutate, Rng};
    let mut rng = Rng::new(0x006D_6564_6961);
    for (target, _, seed) in seeds() {
        let body = TARGETS.iter().find(|t| t.0 == target).unwrap().2;
        for _ in 0..1500 {
            let mut d = seed.clone();
            for _ in 0..1 + rng.below(4) {
                match rng.below(5) {
                    0 => mutate::flip_bit(&mut rng, &mut d),
                    1 => mutate::set_byte(&mut rng, &mut d),
                    2 => {
                        // A run of 0xFF or 0x00: huge or zero lengths and times.
                        let at = rng.below(d.len().max(1));
                        let fill = if rng.bool() { 0xFF } else { 0 };
                        let end = (at + 1 + rng.below(8)).min(d.len());
                        d[at.min(end)..end].fill(fill);
                    }
                    3 => mutate::truncate(&mut rng, &mut d),
                    _ => mutate::extend(&mut rng, &mut d, 64),
                }
            }
            body(&d);
        }
    }
}

/// A file cut in its header fails to open with its name and the offset; one
/// cut in a frame reads up to there, then fails naming the offset.
#[test]
fn errors_name_the_file_and_the_offset() {
    let dir = temp_dir("errors");
    for (target, name, data) in seeds() {
        let ext = TARGETS.iter().find(|t| t.0 == target).unwrap().1;
        if ext == "h264" {
            continue; // no header, and a cut NAL unit is just a shorter one
        }
        let path = dir.join(format!("{name}-cut.{ext}"));
        // The header cut: 20 bytes (Y4M: in its first line).
        std::fs::write(&path, &data[..20.min(data.len() - 1)]).unwrap();
        match container::open(&path) {
            Ok(mut d) => {
                let e = loop {
                    match d.read() {
                        Ok(Some(_)) => {}
                        Ok(None) => panic!("{name}: a cut file reads to an end"),
                        Err(e) => break e,
                    }
                };
                assert!(e.to_string().contains("offset"), "{name}: {e}");
            }
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(&format!("{name}-cut.{ext}")) && e.contains("offset"), "{name}: {e}");
            }
        }
        // A frame cut: the last byte gone (WAV: a partial sample is dropped, no error).
        std::fs::write(&path, &data[..data.len() - 1]).unwrap();
        if ext != "wav" && ext != "mp4" {
            let mut d = container::open(&path).unwrap();
            let e = loop {
                match d.read() {
                    Ok(Some(_)) => {}
                    Ok(None) => panic!("{name}: a cut file reads to an end"),
                    Err(e) => break e,
                }
            };
            assert!(
                e.to_string().contains("truncated at offset") || e.to_string().contains("is truncated"),
                "{name}: {e}"
            );
        }
    }
}

/// Rewinding (what looping playback does) reads the same frames again.
#[test]
fn rewind_reads_the_same_frames_again() {
    let dir = temp_dir("rewind");
    for (target, name, data) in seeds() {
        let ext = TARGETS.iter().find(|t| t.0 == target).unwrap().1;
        let path = dir.join(format!("{name}.{ext}"));
        std::fs::write(&path, &data).unwrap();
        let mut d = container::open(&path).unwrap();
        let mut passes = Vec::new();
        for _ in 0..2 {
            let mut frames = Vec::new();
            while let Some(f) = d.read().unwrap() {
                frames.push(f);
            }
            passes.push(frames);
            d.rewind().unwrap();
        }
        assert!(!passes[0].is_empty() && passes[0] == passes[1], "{name}");
    }
}
