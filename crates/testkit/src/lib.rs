//! Test helpers shared by the oxrtc crates; a dev-dependency only, never published.
//!
//! The simulated network and the one drive loop of scenario tests live in `oxrtc-netsim`
//! ([`netsim::Simulation`](https://docs.rs/oxrtc-netsim)); this crate holds what is not a
//! network: replaying the committed fuzz corpora, a seeded generator ([`Rng`]) and the
//! byte mutations robustness tests apply with it ([`mutate`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

pub mod mutate;
mod rng;

pub use rng::Rng;

/// The folder of a fuzz target's committed corpus: `fuzz/corpus/<target>`.
pub fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target)
}

/// Runs every input of `fuzz/corpus/<target>` (in file-name order) through `body`, the fuzz
/// target's body, and returns how many there were.
///
/// Fails when the folder holds fewer than `committed` inputs: pass the number of files
/// committed, so that a corpus that lost files (a bad merge, a minimization gone wrong)
/// fails the test instead of being replayed in part. After minimizing a corpus on purpose,
/// lower the number with it.
pub fn replay_corpus(target: &str, committed: usize, mut body: impl FnMut(&[u8])) -> usize {
    let dir = corpus_dir(target);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("a corpus entry").path()).collect();
    paths.sort();
    for path in &paths {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        body(&data);
    }
    assert!(
        paths.len() >= committed,
        "fuzz/corpus/{target} has {} inputs, fewer than the {committed} committed",
        paths.len()
    );
    paths.len()
}

/// Whether the seed-corpus writers should write (`OXRTC_WRITE_SEED_CORPUS=1`). They always
/// build and check their seeds; only this opt-in lets them rewrite committed files, so a test
/// run (even with `--include-ignored`) never does.
pub fn write_seed_corpus() -> bool {
    std::env::var_os("OXRTC_WRITE_SEED_CORPUS").is_some_and(|v| v == "1")
}
