//! Smoke tests of the examples, run as the programs they are: the
//! datachannel-cli against itself and against aiortc's datachannel-cli
//! (same signaling wire format), the server example with an oxrtc peer
//! playing the browser, and datachannel-filexfer. `cargo test` builds the
//! examples next to the test binaries.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{env, repo_root};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent, RTCSdpType,
    RTCSessionDescription,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// target/<profile>/examples/<name>, next to this test's deps directory.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join("examples").join(name);
    assert!(path.exists(), "{} is not built; run `cargo test -p oxrtc` (it builds the examples)", path.display());
    path
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true).spawn().unwrap()
}

/// Waits for the process and returns its stdout.
async fn finish(mut child: Child, what: &str) -> String {
    let mut out = String::new();
    let mut stdout = child.stdout.take().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        stdout.read_to_string(&mut out).await.unwrap();
        child.wait().await.unwrap()
    })
    .await
    .unwrap_or_else(|_| panic!("{what} did not finish in 30 s"));
    assert!(status.success(), "{what} exited with {status}:\n{out}");
    out
}

/// Waits until `ready` holds, checking every 20 ms, for at most 20 s.
async fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "{what} not ready within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a socket listens on 127.0.0.1:`port` (read from /proc/net/tcp, so that looking
/// neither connects to nor competes with the listener).
fn tcp_listening(port: u16) -> bool {
    let local = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp").unwrap_or_default().lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1] == local && f[3] == "0A"
    })
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("oxrtc-{name}-{}", std::process::id()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn assert_rtts(out: &str, n: usize) {
    let rtts = out.lines().filter(|l| l.trim_start().starts_with("RTT ")).count();
    assert!(rtts >= n, "expected {n} round-trip times:\n{out}");
}

#[tokio::test]
async fn datachannel_cli_against_itself_over_a_unix_socket() {
    let sock = temp_path("cli.sock");
    let _ = std::fs::remove_file(&sock);
    let cli = example("datachannel-cli");
    let sig = ["--signaling", "unix-socket", "--signaling-path", sock.to_str().unwrap()];
    let offer = spawn(Command::new(&cli).arg("offer").args(sig).args(["--count", "3", "--interval-ms", "100"]));
    wait_for("the offerer's signaling socket", || sock.exists()).await;
    let answer = spawn(Command::new(&cli).arg("answer").args(sig));
    let offer_out = finish(offer, "offerer").await;
    let answer_out = finish(answer, "answerer").await;
    assert_rtts(&offer_out, 3);
    assert!(answer_out.contains("channel(chat) > pong "), "{answer_out}");
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn datachannel_cli_offers_to_aiortc_over_tcp() {
    let port = free_port().to_string();
    let sig = ["--signaling", "tcp-socket", "--signaling-host", "127.0.0.1", "--signaling-port", port.as_str()];
    // The offerer sends first, so it listens: start it first (as with aiortc).
    let offer = spawn(Command::new(example("datachannel-cli")).arg("offer").args(sig).args([
        "--count",
        "3",
        "--interval-ms",
        "100",
    ]));
    wait_for("the offerer's signaling port", || tcp_listening(port.parse().unwrap())).await;
    let aiortc = spawn(
        Command::new(env("OXRTC_PYTHON"))
            .arg(repo_root().join("tests/peers/aiortc_datachannel_cli.py"))
            .arg("answer")
            .args(sig),
    );
    assert_rtts(&finish(offer, "oxrtc offerer").await, 3);
    let out = finish(aiortc, "aiortc answerer").await;
    assert!(out.contains("channel(chat) > pong "), "{out}");
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn aiortc_offers_to_datachannel_cli_over_a_unix_socket() {
    let sock = temp_path("aiortc.sock");
    let _ = std::fs::remove_file(&sock);
    let sig = ["--signaling", "unix-socket", "--signaling-path", sock.to_str().unwrap()];
    let aiortc = spawn(
        Command::new(env("OXRTC_PYTHON"))
            .arg(repo_root().join("tests/peers/aiortc_datachannel_cli.py"))
            .arg("offer")
            .args(sig)
            .args(["--count", "3"]),
    );
    wait_for("aiortc's signaling socket", || sock.exists()).await;
    let answer = spawn(Command::new(example("datachannel-cli")).arg("answer").args(sig));
    assert_rtts(&finish(aiortc, "aiortc offerer").await, 3);
    let out = finish(answer, "oxrtc answerer").await;
    assert!(out.contains("channel(chat) > pong "), "{out}");
}

/// POSTs `body` to `http://addr/path` and returns the response body.
async fn post(addr: &str, path: &str, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    resp.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[tokio::test]
async fn server_example_answers_an_offer_and_pongs() {
    let port = free_port().to_string();
    let mut server = spawn(Command::new(example("server")).args(["--host", "127.0.0.1", "--port", port.as_str()]));
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await.unwrap().unwrap().unwrap();
    assert!(first.contains(&format!("http://127.0.0.1:{port}/")), "{first}");
    let addr = format!("127.0.0.1:{port}");

    // The page is served.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).await.unwrap();
    assert!(page.contains("client.js"), "{page}");

    // An oxrtc peer plays the browser: offer, non-trickle.
    let pc = Arc::new(
        RTCPeerConnection::new(RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() })
            .await
            .unwrap(),
    );
    let chat = pc.create_data_channel("chat", None).await.unwrap();
    pc.set_local_description(None).await.unwrap();
    while !matches!(pc.next_event().await, Some(RTCPeerConnectionEvent::IceCandidate(None))) {}
    let offer = pc.local_description().unwrap();
    let body = serde_json::json!({"sdp": offer.sdp, "type": "offer"}).to_string();
    let answer: serde_json::Value = serde_json::from_str(&post(&addr, "/offer", &body).await).unwrap();
    assert_eq!(answer["type"], "answer");
    pc.set_remote_description(RTCSessionDescription {
        kind: RTCSdpType::Answer,
        sdp: answer["sdp"].as_str().unwrap().into(),
    })
    .await
    .unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), chat.next_event()).await.unwrap() {
            Some(DataChannelEvent::Open) => break,
            Some(_) => {}
            None => panic!("channel ended"),
        }
    }
    chat.send_text("ping 42").await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), chat.next_event()).await.unwrap() {
            Some(DataChannelEvent::Message { data, .. }) => {
                assert_eq!(&data[..], b"pong 42");
                break;
            }
            Some(_) => {}
            None => panic!("channel ended"),
        }
    }
    pc.close().await;
    server.kill().await.unwrap();
}

#[tokio::test]
async fn datachannel_filexfer_sends_a_file_intact() {
    let input = temp_path("filexfer-in");
    let output = temp_path("filexfer-out");
    // Larger than the 4 MiB send buffer: the sender must wait for bufferedamountlow.
    let data: Vec<u8> = (0..12_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let sock = temp_path("filexfer.sock");
    let _ = std::fs::remove_file(&sock);
    let sig = ["--signaling", "unix-socket", "--signaling-path", sock.to_str().unwrap()];
    let fx = example("datachannel-filexfer");
    // The sender speaks first, so it listens: start it, then the receiver once it does.
    let send = spawn(Command::new(&fx).arg("send").arg(&input).args(sig));
    wait_for("the sender's signaling socket", || sock.exists()).await;
    let receive = spawn(Command::new(&fx).arg("receive").arg(&output).args(sig));
    let sent = finish(send, "sender").await;
    let received = finish(receive, "receiver").await;
    assert!(sent.contains("receiver says ok"), "{sent}");
    assert!(received.contains("bytes in") && received.contains(": ok"), "{received}");
    assert!(std::fs::read(&output).unwrap() == data, "the file arrived intact");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
}
