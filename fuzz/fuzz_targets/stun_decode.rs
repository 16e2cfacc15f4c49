#![no_main]
//! Fuzzes the STUN/TURN decoder with whatever a peer could send.
libfuzzer_sys::fuzz_target!(|data: &[u8]| stun::fuzzing::stun_decode(data));
