#![no_main]
//! Fuzzes the IVF demuxer (file and frame headers, VP8/VP9/AV1 keyframe and size probing):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::ivf(data));
