//! Replays the committed fuzz corpus (`fuzz/corpus/dcep_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn dcep_parse_corpus() {
    testkit::replay_corpus("dcep_parse", 12, datachannel::fuzzing::dcep_parse);
}
