#![no_main]
//! Fuzzes RFC 7983 demultiplexing and the decoders it routes to.
libfuzzer_sys::fuzz_target!(|data: &[u8]| stun::fuzzing::demux(data));
