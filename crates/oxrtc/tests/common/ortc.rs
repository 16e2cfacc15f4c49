//! The aiortc ORTC peer (tests/peers/aiortc_ortc_peer.py) and the ICE+DTLS
//! set-up facing it, shared by the DTLS and SCTP interop tests.

use std::process::Stdio;
use std::time::Duration;

use oxrtc::dtls::{Algorithm, Certificate, DtlsConfig, Fingerprint, Role};
use oxrtc::ice::IceEvent;
use oxrtc::{DtlsTransport, DtlsTransportEvent, IceTransport, IceTransportConfig, InterfaceFilter};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{env, repo_root};

/// A running aiortc ORTC peer.
pub struct AiortcPeer {
    pub child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl AiortcPeer {
    /// Starts the peer with `args` (e.g. `--ice-role controlling`).
    pub fn start(args: &[String]) -> Self {
        let mut child = Command::new(env("OXRTC_PYTHON"))
            .arg(repo_root().join("tests/peers/aiortc_ortc_peer.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the aiortc peer");
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        AiortcPeer { child, stdin, lines }
    }

    /// The next JSON line.
    pub async fn line(&mut self) -> Value {
        let l = tokio::time::timeout(Duration::from_secs(20), self.lines.next_line())
            .await
            .expect("aiortc peer answered in time")
            .unwrap()
            .expect("aiortc peer printed a line");
        serde_json::from_str(&l).unwrap()
    }

    /// Writes one JSON line.
    pub async fn send(&mut self, v: &Value) {
        self.stdin.write_all(format!("{v}\n").as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Waits for a clean exit.
    pub async fn exits_cleanly(mut self) {
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "aiortc peer exited with {status}");
    }
}

/// The next DTLS transport event within 15 s.
pub async fn next(t: &mut DtlsTransport, what: &str) -> DtlsTransportEvent {
    match tokio::time::timeout(Duration::from_secs(15), t.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("transport closed while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// Reads the peer's parameters, starts our ICE and DTLS against them
/// (`aiortc_controlling`: aiortc is ICE controlling, hence the DTLS server,
/// and we are the DTLS client), gathers and sends our parameters. Returns
/// our transport and the peer's fingerprints.
pub async fn connect(peer: &mut AiortcPeer, aiortc_controlling: bool) -> (DtlsTransport, Vec<Fingerprint>) {
    let params = peer.line().await;
    assert_eq!(params["type"], "params", "{params}");
    let remote_fingerprints: Vec<Fingerprint> = params["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["algorithm"].as_str().unwrap(), f["value"].as_str().unwrap()).parse().unwrap())
        .collect();
    let config = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let ice = IceTransport::start(config, !aiortc_controlling).await.unwrap();
    ice.set_remote_credentials(params["ufrag"].as_str().unwrap(), params["pwd"].as_str().unwrap()).await;
    for c in params["candidates"].as_array().unwrap() {
        ice.add_remote_candidate_sdp(c.as_str().unwrap()).unwrap();
    }
    ice.end_of_remote_candidates().await;
    let certificate = Certificate::generate().unwrap();
    let role = if aiortc_controlling { Role::Client } else { Role::Server };
    let config = DtlsConfig::new(role, certificate.clone(), remote_fingerprints.clone());
    let mut dtls = DtlsTransport::start(ice, config).await.unwrap();
    let mut candidates = Vec::new();
    loop {
        match next(&mut dtls, "local candidates").await {
            DtlsTransportEvent::Ice(IceEvent::LocalCandidate(c)) => candidates.push(c.to_sdp()),
            DtlsTransportEvent::Ice(IceEvent::GatheringComplete) => break,
            _ => {}
        }
    }
    let creds = dtls.ice().local_credentials().clone();
    peer.send(&json!({
        "type": "params", "ufrag": creds.ufrag, "pwd": creds.pwd, "candidates": candidates,
        "fingerprints": [{"algorithm": "sha-256", "value": certificate.fingerprint(Algorithm::Sha256)}],
    }))
    .await;
    (dtls, remote_fingerprints)
}
