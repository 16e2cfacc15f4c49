#![no_main]
//! Fuzzes the Ogg Opus demuxer (pages, checksums, packets across pages, OpusHead, granule positions):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::ogg(data));
