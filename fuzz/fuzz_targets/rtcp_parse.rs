#![no_main]
//! Fuzzes the RTCP compound parser, writer and TWCC expansion with whatever a peer could send.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rtp::fuzzing::rtcp_parse(data));
