#![no_main]
//! Fuzzes the RTP payload formats: the first byte picks a format, the rest
//! are packets for its depacketizer (bounded memory, no panic) and frames
//! for its packetizer (they must come back unchanged).
libfuzzer_sys::fuzz_target!(|data: &[u8]| rtp::fuzzing::rtp_depacketize(data));
