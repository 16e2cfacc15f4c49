//! Interop with aioice, the ICE library behind aiortc, over loopback: our
//! agent in both roles, data both ways. Run by scripts/test.sh, which
//! installs aioice in a virtual environment and sets OXRTC_PYTHON.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{env, is_up, next, repo_root};
use oxrtc::ice::{Candidate, IceEvent};
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

async fn run(we_control: bool) {
    let python = env("OXRTC_PYTHON");
    let script = repo_root().join("tests/peers/aioice_peer.py");
    let role = if we_control { "controlled" } else { "controlling" };
    let mut child = Command::new(python)
        .arg(script)
        .args(["--role", role, "--timeout", "30"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the aioice peer");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut line = async || -> Value {
        let l = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("aioice peer answered in time")
            .unwrap()
            .expect("aioice peer printed a line");
        serde_json::from_str(&l).unwrap()
    };

    let params = line().await;
    assert_eq!(params["type"], "params");
    let config = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let mut ours = IceTransport::start(config, we_control).await.unwrap();
    ours.set_remote_credentials(params["ufrag"].as_str().unwrap(), params["pwd"].as_str().unwrap()).await;
    for c in params["candidates"].as_array().unwrap() {
        ours.add_remote_candidate(Candidate::parse(c.as_str().unwrap()).unwrap()).await;
    }
    ours.end_of_remote_candidates().await;

    // Our candidates (gathering on loopback completes at once).
    let mut candidates = Vec::new();
    loop {
        match next(&mut ours, Duration::from_secs(5), "local candidates").await {
            IceTransportEvent::Ice(IceEvent::LocalCandidate(c)) => candidates.push(c.to_sdp()),
            IceTransportEvent::Ice(IceEvent::GatheringComplete) => break,
            _ => {}
        }
    }
    let creds = ours.local_credentials().clone();
    let mine = json!({"type": "params", "ufrag": creds.ufrag, "pwd": creds.pwd, "candidates": candidates});
    stdin.write_all(format!("{mine}\n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();

    // Connected on our side, then on aioice's.
    let mut up = false;
    let mut got_hello = false;
    while !up {
        match next(&mut ours, Duration::from_secs(15), "connected").await {
            e if is_up(&e) => up = true,
            IceTransportEvent::Data(d) => got_hello |= d == b"hello from aioice",
            _ => {}
        }
    }
    assert_eq!(line().await["type"], "connected");
    ours.send(b"ping 1".to_vec()).await;
    let mut got_echo = false;
    while !(got_echo && got_hello) {
        if let IceTransportEvent::Data(d) = next(&mut ours, Duration::from_secs(10), "data from aioice").await {
            got_hello |= d == b"hello from aioice";
            got_echo |= d == b"echo:ping 1";
        }
    }
    ours.send(b"bye".to_vec()).await;
    loop {
        let l = line().await;
        if l["type"] == "bye" {
            break;
        }
        assert_eq!(l["type"], "recv", "unexpected line {l}");
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "aioice peer exited with {status}");
    ours.close().await;
}

#[tokio::test]
#[ignore = "needs aioice: run scripts/test.sh"]
async fn oxrtc_controlling_aioice_controlled() {
    run(true).await;
}

#[tokio::test]
#[ignore = "needs aioice: run scripts/test.sh"]
async fn aioice_controlling_oxrtc_controlled() {
    run(false).await;
}
