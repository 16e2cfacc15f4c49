#![no_main]
//! Fuzzes SRTP/SRTCP unprotection (and a protect → unprotect round trip)
//! with whatever a peer could send; the first byte picks the profile.
libfuzzer_sys::fuzz_target!(|data: &[u8]| srtp::fuzzing::srtp_unprotect(data));
