//! Replays the committed fuzz corpus (`fuzz/corpus/mdns_parse`) through the
//! fuzz target's body, so every input the fuzzer once found interesting is
//! checked by `cargo test`.

#[test]
fn mdns_parse_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/mdns_parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus folder exists") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        ice::fuzzing::mdns_parse(&data);
        n += 1;
    }
    assert!(n >= 216, "corpus has only {n} of its 216 committed inputs");
}
