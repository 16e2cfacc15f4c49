#![no_main]
//! Fuzzes the mDNS answer parser (and the query builder) with whatever a
//! host on the link could send.
libfuzzer_sys::fuzz_target!(|data: &[u8]| ice::fuzzing::mdns_parse(data));
