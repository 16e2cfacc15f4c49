//! Replays the committed fuzz corpus (`fuzz/corpus/sdp_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn sdp_parse_corpus() {
    testkit::replay_corpus("sdp_parse", 9, sdp::fuzzing::sdp_parse);
}
