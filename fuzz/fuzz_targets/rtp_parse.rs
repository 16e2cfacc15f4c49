#![no_main]
//! Fuzzes the RTP packet and header extension parsers (and the writers, by round trip)
//! with whatever a peer could send once SRTP has decrypted it.
libfuzzer_sys::fuzz_target!(|data: &[u8]| rtp::fuzzing::rtp_parse(data));
