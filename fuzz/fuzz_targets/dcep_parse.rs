#![no_main]
//! Fuzzes the DCEP (RFC 8832) parser: nothing panics, and whatever parses
//! re-encodes to the same message.
libfuzzer_sys::fuzz_target!(|data: &[u8]| datachannel::fuzzing::dcep_parse(data));
