//! Replays the committed fuzz corpus (`fuzz/corpus/srtp_unprotect`) through
//! the fuzz target's body, so every input the fuzzer once found interesting
//! is checked by `cargo test`.

use srtp::fuzzing::{context, profile_of, srtp_unprotect};

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/srtp_unprotect")
}

#[test]
fn srtp_unprotect_corpus() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir()).expect("the fuzz corpus folder exists") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        srtp_unprotect(&data);
        n += 1;
    }
    assert!(n >= 8, "corpus has only {n} inputs");
}

/// Writes the seed corpus: per profile, valid SRTP and SRTCP packets under
/// the fuzz keys, each prefixed with its profile selector byte. Run once
/// with `cargo test -p oxrtc-srtp --test fuzz_corpus -- --ignored`.
#[test]
#[ignore = "writes the seed corpus"]
fn write_seed_corpus() {
    let dir = corpus_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for selector in 0u8..4 {
        let profile = profile_of(selector);
        let mut tx = context(profile);
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        let mut out = Vec::new();
        // RTP: plain, marker, CSRCs, a one-byte and a two-byte extension, empty and long payloads.
        let rtps: [Vec<u8>; 5] = [
            [&[0x80, 96, 0, 1, 0, 0, 0, 0x10, 0x11, 0x22, 0x33, 0x44][..], b"hello"].concat(),
            [&[0x80, 0xe0, 0xff, 0xff, 0, 0, 1, 0, 0x55, 0x66, 0x77, 0x88][..], &[0xaa; 100]].concat(),
            [&[0x82, 111, 0x12, 0x34, 0, 1, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 2][..], b"csrc"]
                .concat(),
            [&[0x90, 96, 0, 2, 0, 0, 0, 0x20, 0x11, 0x22, 0x33, 0x44, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0][..], b"ext"]
                .concat(),
            [&[0x90, 100, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0x10, 0x00, 0, 1, 1, 2, 0xab, 0xcd][..], &[][..]].concat(),
        ];
        for rtp in &rtps {
            tx.protect_rtp(rtp, &mut out).unwrap();
            seeds.push(out.clone());
        }
        // RTCP: a sender report, a receiver report with a block, a compound with SDES.
        let rtcps: [Vec<u8>; 3] = [
            vec![0x80, 200, 0, 6, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5],
            [&[0x81, 201, 0, 7, 0xde, 0xad, 0xbe, 0xef][..], &[0x5a; 24]].concat(),
            [
                &[0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44][..],
                &[0x81, 202, 0, 3, 0x11, 0x22, 0x33, 0x44, 1, 4, b'o', b'x', b'r', b't', 0, 0][..],
            ]
            .concat(),
        ];
        for rtcp in &rtcps {
            tx.protect_rtcp(rtcp, &mut out).unwrap();
            seeds.push(out.clone());
        }
        for (i, seed) in seeds.iter().enumerate() {
            let data = [&[selector][..], seed].concat();
            srtp_unprotect(&data);
            std::fs::write(dir.join(format!("seed-{}-{i}", profile.id())), data).unwrap();
        }
    }
}
