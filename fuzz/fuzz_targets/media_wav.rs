#![no_main]
//! Fuzzes the WAV demuxer (RIFF chunks, fmt, PCM sample formats):
//! reading any input to the end, twice with a rewind, gives frames or an error, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| media::fuzzing::wav(data));
