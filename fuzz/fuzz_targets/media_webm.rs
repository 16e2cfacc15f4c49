#![no_main]
//! Fuzzes the WebM/Matroska demuxer (EBML elements of known and unknown size, tracks, blocks, lacing):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::webm(data));
