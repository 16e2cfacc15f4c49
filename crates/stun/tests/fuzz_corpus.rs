//! Replays the committed fuzz corpora (`fuzz/corpus/stun_decode`, `fuzz/corpus/demux`)
//! through the fuzz targets' bodies, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn stun_decode_corpus() {
    testkit::replay_corpus("stun_decode", 217, stun::fuzzing::stun_decode);
}

#[test]
fn demux_corpus() {
    testkit::replay_corpus("demux", 193, stun::fuzzing::demux);
}
