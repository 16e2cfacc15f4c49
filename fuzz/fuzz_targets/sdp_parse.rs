#![no_main]
//! Fuzzes the SDP parser and writer with whatever a peer could signal.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sdp::fuzzing::sdp_parse(data));
