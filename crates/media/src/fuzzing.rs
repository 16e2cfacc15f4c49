//! Entry points shared by the cargo-fuzz targets (`fuzz/fuzz_targets/media_*.rs`)
//! and the tests that replay their corpora: each reads `data` as one format
//! from memory, every frame to the end, then rewinds and reads again. Not
//! part of the stable API.

use std::io::Cursor;

use crate::container::{h264, ivf, mp4, ogg, wav, webm, y4m, Demuxer};

/// Frames read at most per input (a fuzz input is small; this bounds a loop
/// a bug could make endless).
const MAX_FRAMES: usize = 100_000;

/// Reads every frame until the end or an error, twice (with a rewind).
fn drain(d: &mut dyn Demuxer) {
    for _ in 0..2 {
        for _ in 0..MAX_FRAMES {
            match d.read() {
                Ok(Some((index, _))) => {
                    assert!(index < d.tracks().len(), "a frame of track {index} that is not listed")
                }
                Ok(None) | Err(_) => break,
            }
        }
        if d.rewind().is_err() {
            return;
        }
    }
}

/// Reads `data` as a WAV file.
pub fn wav(data: &[u8]) {
    if let Ok(mut d) = wav::WavDemuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as a Y4M file.
pub fn y4m(data: &[u8]) {
    if let Ok(mut d) = y4m::Y4mDemuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as an IVF file.
pub fn ivf(data: &[u8]) {
    if let Ok(mut d) = ivf::IvfDemuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as an Ogg Opus file.
pub fn ogg(data: &[u8]) {
    if let Ok(mut d) = ogg::OggDemuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as a raw H.264 stream.
pub fn h264(data: &[u8]) {
    if let Ok(mut d) = h264::H264Demuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as a WebM or Matroska file.
pub fn webm(data: &[u8]) {
    if let Ok(mut d) = webm::WebmDemuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}

/// Reads `data` as an MP4 file.
pub fn mp4(data: &[u8]) {
    if let Ok(mut d) = mp4::Mp4Demuxer::new(Cursor::new(data)) {
        drain(&mut d);
    }
}
