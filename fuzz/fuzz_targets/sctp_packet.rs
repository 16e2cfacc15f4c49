#![no_main]
//! Fuzzes the SCTP packet decoder and an established association with whatever a peer
//! (behind DTLS) could send.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sctp::fuzzing::sctp_packet(std::time::Instant::now(), data));
