//! Replays the committed fuzz corpus (`fuzz/corpus/stun_decode`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn stun_decode_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/stun_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus folder exists") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        stun::fuzzing::stun_decode(&data);
        n += 1;
    }
    assert!(n >= 4, "corpus has only {n} inputs");
}

#[test]
fn demux_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/demux");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus folder exists") {
        stun::fuzzing::demux(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 4, "corpus has only {n} inputs");
}
