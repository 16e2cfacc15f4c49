#![no_main]
//! Fuzzes the raw H.264 demuxer (start codes, NAL units, access unit boundaries):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::h264(data));
