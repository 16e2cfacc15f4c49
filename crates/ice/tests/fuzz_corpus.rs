//! Replays the committed fuzz corpus (`fuzz/corpus/mdns_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn mdns_parse_corpus() {
    testkit::replay_corpus("mdns_parse", 216, ice::fuzzing::mdns_parse);
}
