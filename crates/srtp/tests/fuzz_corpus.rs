//! Replays the committed fuzz corpus (`fuzz/corpus/srtp_unprotect`) through
//! the fuzz target's body, so every input the fuzzer once found interesting
//! is checked by `cargo test`.

use srtp::fuzzing::{context, profile_of, srtp_unprotect};

#[test]
fn srtp_unprotect_corpus() {
    testkit::replay_corpus("srtp_unprotect", 141, srtp_unprotect);
}

/// The seed corpus: per profile, valid SRTP and SRTCP packets under the fuzz
/// keys, each prefixed with its profile selector byte. The committed seeds
/// must be exactly these; `OXRTC_WRITE_SEED_CORPUS=1 cargo test -p oxrtc-srtp
/// --test fuzz_corpus seed_corpus` rewrites them (never a plain test run).
#[test]
fn seed_corpus() {
    let dir = testkit::corpus_dir("srtp_unprotect");
    let write = testkit::write_seed_corpus();
    let mut count = 0;
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
            let path = dir.join(format!("seed-{}-{i}", profile.id()));
            if write {
                std::fs::write(&path, data).unwrap();
            } else {
                let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(committed, data, "{} is not the seed the writer makes", path.display());
            }
            count += 1;
        }
    }
    assert_eq!(count, 32);
}
