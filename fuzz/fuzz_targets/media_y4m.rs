#![no_main]
//! Fuzzes the Y4M demuxer (stream and frame header lines, frame sizes):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::y4m(data));
