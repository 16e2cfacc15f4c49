//! Interop with werift (npm): a data channel each way, text and 50 kB binary
//! echoed, with werift offering and with werift answering. werift starts SCTP
//! only when it is ICE-controlling: when we offer it waits for our INIT although
//! we are the DTLS server, which is why both our ends send INIT. The peer is
//! tests/peers/werift_peer; scripts/test.sh installs it and sets OXRTC_NODE.

mod common;

use common::jsonpeer::{exchange, JsonPeer};
use common::{env, repo_root};

fn start(role: &str) -> JsonPeer {
    let mut command = tokio::process::Command::new(env("OXRTC_NODE"));
    command.arg(repo_root().join("tests/peers/werift_peer/peer.js")).args(["--role", role, "--timeout", "40"]);
    JsonPeer::start("werift", command)
}

#[tokio::test]
#[ignore = "needs werift: run scripts/test.sh"]
async fn werift_offers_and_we_answer() {
    exchange(start("offer"), true, 0).await;
}

#[tokio::test]
#[ignore = "needs werift: run scripts/test.sh"]
async fn we_offer_and_werift_answers() {
    exchange(start("answer"), false, 0).await;
}
