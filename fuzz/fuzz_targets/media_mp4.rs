#![no_main]
//! Fuzzes the MP4 demuxer (boxes, sample tables, avcC and dOps):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::mp4(data));
