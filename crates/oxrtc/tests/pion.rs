//! Interop with Pion v3 (Debian's golang-github-pion-webrtc.v3-dev, 3.1.56): a
//! data channel each way, text and 50 kB binary echoed, with Pion offering and
//! with Pion answering. Pion's SCTP of that version rejects an INIT or INIT-ACK
//! carrying the zero checksum parameter (RFC 9653), so this also proves that we
//! only send it where it cannot hurt. The peer is tests/peers/pion_peer, built
//! here in GOPATH mode; scripts/test.sh installs Go and Pion and sets OXRTC_GO.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::jsonpeer::{exchange, JsonPeer};
use common::{env, repo_root};

/// Builds the peer once per test binary (GOPATH mode, against /usr/share/gocode).
fn pion_peer() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pion_peer");
            // Minimal module compatibility (import paths ending in /v3 found without the
            // suffix) only applies to a package inside a GOPATH with a go.mod.
            let src = tmp.join("gopath/src/pion_peer");
            std::fs::create_dir_all(&src).unwrap();
            for f in ["main.go", "go.mod"] {
                std::fs::copy(repo_root().join("tests/peers/pion_peer").join(f), src.join(f)).unwrap();
            }
            let gopath = std::env::var("OXRTC_PION_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
            let bin = tmp.join("pion_peer");
            let out = std::process::Command::new(env("OXRTC_GO"))
                .args(["build", "-o"])
                .arg(&bin)
                .arg(".")
                .current_dir(&src)
                .env("GOPATH", format!("{}:{gopath}", tmp.join("gopath").display()))
                .env("GO111MODULE", "off")
                .env("GOFLAGS", "")
                .env("GOCACHE", tmp.join("cache"))
                .output()
                .expect("run go build");
            assert!(out.status.success(), "go build failed:\n{}", String::from_utf8_lossy(&out.stderr));
            bin
        })
        .clone()
}

/// Pion's SCTP rejects a chunk carrying the zero checksum parameter: it may drop our first
/// INIT (which carries it, for peers that know it; Pion then connects with its own INIT).
/// Anything more, such as an INIT-ACK with the parameter, fails the test.
const MAX_REJECTED: usize = 1;

fn start(role: &str) -> JsonPeer {
    let mut command = tokio::process::Command::new(pion_peer());
    command.args(["-role", role, "-timeout", "40"]);
    JsonPeer::start("pion", command)
}

#[tokio::test]
#[ignore = "needs Go and Pion: run scripts/test.sh"]
async fn pion_offers_and_we_answer() {
    exchange(start("offer"), true, MAX_REJECTED).await;
}

#[tokio::test]
#[ignore = "needs Go and Pion: run scripts/test.sh"]
async fn we_offer_and_pion_answers() {
    exchange(start("answer"), false, MAX_REJECTED).await;
}
