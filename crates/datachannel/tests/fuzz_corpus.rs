//! Replays the committed fuzz corpus (`fuzz/corpus/dcep_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn dcep_parse_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/dcep_parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus folder exists") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        datachannel::fuzzing::dcep_parse(&data);
        n += 1;
    }
    assert!(n >= 4, "corpus has only {n} inputs");
}
