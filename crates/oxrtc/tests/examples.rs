//! Smoke tests of the examples, run as the programs they are: the
//! datachannel-cli against itself and against aiortc's datachannel-cli
//! (same signaling wire format), the server example with an oxrtc peer
//! playing the browser and with hostile clients (out of file descriptors,
//! slow and oversized requests, offers over its caps, peers that never
//! connect), and datachannel-filexfer. `cargo test` builds the examples next
//! to the test binaries.

mod common;
#[path = "../examples/common/shown.rs"]
mod shown;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{env, repo_root};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCSdpType, RTCSessionDescription,
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

/// What the server and the datachannel-cli print of a peer's text.
#[test]
fn peer_text_is_printed_escaped_and_cut() {
    assert_eq!(shown::shown("ping 1"), "ping 1");
    assert_eq!(shown::shown("a\x1b[2Jb\n"), "a\\u{1b}[2Jb\\n");
    let long = format!("é{}", "x".repeat(199));
    let out = shown::shown(&long);
    assert!(out.starts_with(&long[..shown::SHOWN + 1]), "{out}");
    assert!(out.ends_with("… (200 characters, 201 bytes)"), "{out}");
    assert_eq!(out.chars().count(), shown::SHOWN + "… (200 characters, 201 bytes)".chars().count());
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

/// One request on a connection of its own (`Connection: close`): the
/// status and the body of the response.
async fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let resp = tokio::time::timeout(Duration::from_secs(20), async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(req.as_bytes()).await?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await?;
        std::io::Result::Ok(resp)
    })
    .await
    .unwrap_or_else(|_| panic!("{method} {path}: no response within 20 s"))
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    parse_response(&resp).unwrap_or_else(|| panic!("{method} {path}: not HTTP: {:?}", String::from_utf8_lossy(&resp)))
}

/// The status and body of one HTTP/1.1 response, whole in `resp`.
fn parse_response(resp: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(resp);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// POSTs `body` to `http://addr/path` and returns the response body of a 200.
async fn post(addr: &str, path: &str, body: &str) -> String {
    let (status, body) = request(addr, "POST", path, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `server` example, its output lines gathered as they come.
struct Server {
    child: Child,
    addr: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the example on a free loopback port with `args`, under
    /// `prlimit --nofile=SOFT:HARD` when `nofile` is given, and waits for its first line.
    async fn start(args: &[&str], nofile: Option<(u32, u32)>) -> Server {
        let port = free_port().to_string();
        let mut cmd = match nofile {
            Some((soft, hard)) => {
                // prlimit execs the server: the child's pid is the server's.
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={soft}:{hard}")).arg("--").arg(example("server"));
                c
            }
            None => Command::new(example("server")),
        };
        cmd.args(["--host", "127.0.0.1", "--port", port.as_str()]).args(args);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdout = gather(child.stdout.take().unwrap(), false);
        let stderr = gather(child.stderr.take().unwrap(), true);
        let mut server = Server { child, addr: format!("127.0.0.1:{port}"), stdout, stderr };
        let first = server.wait_line(false, "the server's first line", |l| l.contains("http://")).await;
        assert!(first.contains(&format!("http://127.0.0.1:{port}/")), "{first}");
        server
    }

    /// The first line (of stderr or stdout) that `pred` accepts, within 20 s.
    async fn wait_line(&mut self, stderr: bool, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let lines = if stderr { self.stderr.clone() } else { self.stdout.clone() };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(l) = lines.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            assert!(self.alive(), "the server exited while waiting for {what}");
            assert!(tokio::time::Instant::now() < deadline, "{what} not printed within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Open file descriptors of the server.
    fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).unwrap().count()
    }

    /// `GET /stats`: pending and total connections.
    async fn stats(&self) -> (u64, u64) {
        let (status, body) = request(&self.addr, "GET", "/stats", "").await;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        (v["pending"].as_u64().unwrap(), v["total"].as_u64().unwrap())
    }

    /// Waits (at most `secs`) until `GET /stats` says `want`.
    async fn wait_stats(&self, want: (u64, u64), secs: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let now = self.stats().await;
            if now == want {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "stats {now:?}, not {want:?}, after {secs} s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Reads lines from `from` into a list (echoing stderr to ours).
fn gather(from: impl tokio::io::AsyncRead + Unpin + Send + 'static, echo: bool) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let into = lines.clone();
    tokio::spawn(async move {
        let mut from = BufReader::new(from).lines();
        while let Ok(Some(l)) = from.next_line().await {
            if echo {
                eprintln!("server: {l}");
            }
            into.lock().unwrap().push(l);
        }
    });
    lines
}

/// A non-trickle offer from an oxrtc peer playing the browser, with a
/// channel labelled `label`: the peer, the channel and the JSON to POST.
async fn offer(label: &str) -> (Arc<RTCPeerConnection>, RTCDataChannel, String) {
    let pc = Arc::new(
        RTCPeerConnection::new(RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() })
            .await
            .unwrap(),
    );
    let ch = pc.create_data_channel(label, None).await.unwrap();
    pc.set_local_description(None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !matches!(pc.next_event().await, Some(RTCPeerConnectionEvent::IceCandidate(None))) {}
    })
    .await
    .expect("gathering completes");
    let offer = pc.local_description().unwrap();
    let body = serde_json::json!({"sdp": offer.sdp, "type": "offer"}).to_string();
    (pc, ch, body)
}

/// An offer whose peer will never connect: it is closed before the offer is
/// sent, so the server's checks go unanswered.
async fn dead_offer() -> String {
    let (pc, _, body) = offer("chat").await;
    pc.close().await;
    body
}

async fn next_channel_event(ch: &RTCDataChannel) -> DataChannelEvent {
    tokio::time::timeout(Duration::from_secs(10), ch.next_event())
        .await
        .expect("a channel event within 10 s")
        .expect("the channel ended")
}

#[tokio::test]
async fn server_example_answers_an_offer_and_pongs() {
    let mut server = Server::start(&[], None).await;
    let addr = server.addr.clone();

    // The page is served.
    let (status, page) = request(&addr, "GET", "/", "").await;
    assert_eq!(status, 200);
    assert!(page.contains("client.js"), "{page}");

    // An oxrtc peer plays the browser: offer, non-trickle. Its label and
    // messages are long and hold control characters: the server prints them
    // cut and escaped.
    let label = format!("chat\x1b[2J{}", "l".repeat(1000));
    let (pc, chat, body) = offer(&label).await;
    let answer: serde_json::Value = serde_json::from_str(&post(&addr, "/offer", &body).await).unwrap();
    assert_eq!(answer["type"], "answer");
    pc.set_remote_description(RTCSessionDescription {
        kind: RTCSdpType::Answer,
        sdp: answer["sdp"].as_str().unwrap().into(),
    })
    .await
    .unwrap();
    while !matches!(next_channel_event(&chat).await, DataChannelEvent::Open) {}
    let ping = format!("ping 42\x07{}", "x".repeat(5000));
    chat.send_text(ping.clone()).await.unwrap();
    loop {
        if let DataChannelEvent::Message { data, .. } = next_channel_event(&chat).await {
            assert_eq!(&data[..], pong(&ping).as_bytes());
            break;
        }
    }
    // Connected: held, no longer pending.
    server.wait_stats((0, 1), 10).await;
    let opened = server.wait_line(false, "the channel's label", |l| l.starts_with("channel \"")).await;
    assert!(opened.starts_with("channel \"chat\\u{1b}[2Jlll"), "{opened}");
    assert!(opened.contains("(1008 characters, 1008 bytes)"), "{opened}");
    let got = server.wait_line(false, "the ping", |l| l.contains(") < ping")).await;
    assert!(got.len() < 300, "{got}");
    assert!(got.contains("ping 42\\u{7}xxx") && got.contains("(5008 characters"), "{got}");
    assert!(!server.stdout.lock().unwrap().iter().any(|l| l.chars().any(|c| c.is_control())));
    // Released at once when the peer says goodbye (SCTP ABORT, then DTLS
    // close_notify), not when ICE consent fails about 30 s later.
    pc.close().await;
    server.wait_stats((0, 0), 2).await;
    server.wait_line(false, "the release", |l| l.starts_with("connection released: 0 pending, 0 in all")).await;
    server.child.kill().await.unwrap();
}

fn pong(ping: &str) -> String {
    format!("pong{}", ping.strip_prefix("ping").unwrap())
}

/// Raises this process's soft limit on open files to at least `want`.
fn ensure_nofile(want: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let f: Vec<&str> = limits.lines().find(|l| l.starts_with("Max open files")).unwrap().split_whitespace().collect();
    let parse = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
    let (soft, hard) = (parse(f[3]), parse(f[4]));
    if soft >= want {
        return;
    }
    let spec = if hard >= want { format!("--nofile={want}:") } else { format!("--nofile={want}:{want}") };
    let st = std::process::Command::new("prlimit").arg(format!("--pid={}", std::process::id())).arg(spec).status();
    assert!(st.is_ok_and(|s| s.success()), "could not raise the open-file limit to {want}");
}

/// A server started with a soft open-file limit below what its caps need
/// raises it itself, up to the hard limit, and says so.
#[tokio::test]
async fn server_example_raises_its_open_file_limit() {
    ensure_nofile(4096);
    let mut server = Server::start(&[], Some((256, 4096))).await;
    let line = server.wait_line(true, "the raise", |l| l.contains("open-file limit")).await;
    // 1,000 connections + 256 HTTP clients + 32 spare.
    assert!(line.contains("raised the open-file limit from 256 to 1288"), "{line}");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let soft: Vec<&str> =
        limits.lines().find(|l| l.starts_with("Max open files")).unwrap().split_whitespace().collect();
    assert_eq!((soft[3], soft[4]), ("1288", "4096"));
    // With the hard limit short too, it raises what it can and warns.
    let mut short = Server::start(&[], Some((256, 512))).await;
    let line = short.wait_line(true, "the raise", |l| l.contains("open-file limit")).await;
    assert!(line.contains("from 256 to 512"), "{line}");
    let warn = short.wait_line(true, "the warning", |l| l.contains("the caps allow about 1288")).await;
    assert!(warn.contains("hard limit 512"), "{warn}");
    server.child.kill().await.unwrap();
    short.child.kill().await.unwrap();
}

/// 1,100 idle TCP connections to a server allowed 256 open files: its
/// `accept` fails with EMFILE, which it logs and survives; the header
/// timeout closes the idle connections in turn and an offer is answered.
#[tokio::test]
async fn server_example_survives_running_out_of_file_descriptors() {
    ensure_nofile(4096);
    // More HTTP connections allowed than file descriptors, so that accept fails.
    let mut server =
        Server::start(&["--header-timeout", "1", "--max-http-connections", "2000"], Some((256, 256))).await;
    let body = dead_offer().await;
    let start = tokio::time::Instant::now();
    let mut connects = tokio::task::JoinSet::new();
    for _ in 0..1100 {
        let addr = server.addr.clone();
        connects.spawn(async move {
            tokio::time::timeout(Duration::from_secs(20), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()
        });
    }
    let idle: Vec<_> = connects.join_all().await.into_iter().flatten().collect();
    assert_eq!(idle.len(), 1100, "every idle connection was made");
    let connected = tokio::time::Instant::now();
    let line = server.wait_line(true, "an accept error", |l| l.contains("accept failed")).await;
    assert!(line.contains("Too many open files") || line.contains("os error 24"), "{line}");

    // Still serving: the offer is answered (503 while the descriptors are
    // all taken, then 200), all 1,100 still open on our side.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let mut refused = 0;
    loop {
        let (status, answer) = request(&server.addr, "POST", "/offer", &body).await;
        if status == 200 {
            assert!(answer.contains("\"answer\""), "{answer}");
            break;
        }
        assert_eq!(status, 503, "{answer}");
        refused += 1;
        assert!(tokio::time::Instant::now() < deadline, "no answer within 40 s ({refused} refused)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "1,100 connections made in {:?}; offer answered {:?} later, {refused} refused before",
        connected - start,
        connected.elapsed()
    );
    assert!(server.alive());
    drop(idle);
    let (status, _) = request(&server.addr, "POST", "/offer", &body).await;
    assert_eq!(status, 200);
    assert!(server.alive());
}

/// Slow clients are cut off: a header dripped a byte at a time and an idle
/// connection by the header timeout, a dripped body by the request timeout;
/// a body over the limit gets 413; keep-alive serves two requests on one
/// connection.
#[tokio::test]
async fn server_example_bounds_slow_and_large_requests() {
    let server = Server::start(&["--header-timeout", "1", "--request-timeout", "1", "--max-body", "65536"], None).await;
    let addr = server.addr.clone();

    // A header a byte every 100 ms: closed after about 1 s.
    let start = tokio::time::Instant::now();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut closed = false;
    for b in head.iter() {
        if s.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), s.read(&mut buf)).await {
            Ok(Ok(n)) => {
                // EOF, or a 408 before it.
                assert!(n == 0 || buf.starts_with(b"HTTP/1.1 408"), "{:?}", String::from_utf8_lossy(&buf[..n]));
                closed = true;
                break;
            }
            Ok(Err(_)) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    let took = start.elapsed();
    assert!(closed, "a header dripped over {took:?} was read to its end");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "closed after {took:?}");

    // An idle connection: closed after about 1 s.
    let start = tokio::time::Instant::now();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await.expect("idle closed");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "closed after {took:?}");

    // Too large, said by Content-Length: 413 before the body is sent.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /offer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n").await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut resp)).await.unwrap().unwrap();
    assert_eq!(parse_response(&resp).unwrap().0, 413, "{:?}", String::from_utf8_lossy(&resp));

    // Too large, found while reading a chunked body: 413.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /offer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").await.unwrap();
    let chunk = format!("8000\r\n{}\r\n", "a".repeat(0x8000));
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        for _ in 0..3 {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        let _ = s.read_to_end(&mut resp).await;
    })
    .await
    .unwrap();
    assert_eq!(parse_response(&resp).map(|r| r.0), Some(413), "{:?}", String::from_utf8_lossy(&resp));

    // A body that never ends: 408 after the request timeout.
    let start = tokio::time::Instant::now();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /offer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"sdp\"").await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut resp)).await.unwrap().unwrap();
    assert_eq!(parse_response(&resp).unwrap().0, 408, "{:?}", String::from_utf8_lossy(&resp));
    assert!(start.elapsed() < Duration::from_secs(4));

    // Keep-alive: two requests, one connection.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\nGET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut resp)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&resp);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
}

/// Offers over the pending cap get 503 until the pending ones expire; over
/// the total cap too.
#[tokio::test]
async fn server_example_caps_pending_connections() {
    let server = Server::start(&["--max-pending", "2", "--pending-timeout", "1"], None).await;
    let body = dead_offer().await;
    for _ in 0..2 {
        assert_eq!(request(&server.addr, "POST", "/offer", &body).await.0, 200);
    }
    let start = tokio::time::Instant::now();
    let (status, why) = request(&server.addr, "POST", "/offer", &body).await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("waiting to connect"), "{why}");
    // Answered again once the two expire, about 1 s after they were answered.
    loop {
        let (status, why) = request(&server.addr, "POST", "/offer", &body).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{why}");
        assert!(start.elapsed() < Duration::from_secs(5), "still refused after {:?}", start.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let server = Server::start(&["--max-connections", "1", "--pending-timeout", "1"], None).await;
    assert_eq!(request(&server.addr, "POST", "/offer", &body).await.0, 200);
    let (status, why) = request(&server.addr, "POST", "/offer", &body).await;
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("server full"), "{why}");
}

/// A pending connection whose peer never connects is closed after the
/// pending timeout, its sockets with it.
#[tokio::test]
async fn server_example_releases_a_pending_connection_that_never_connects() {
    let mut server = Server::start(&["--pending-timeout", "1"], None).await;
    server.wait_stats((0, 0), 5).await;
    // Once the connection that asked for the stats is closed.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.fds();
    let body = dead_offer().await;
    let start = tokio::time::Instant::now();
    assert_eq!(request(&server.addr, "POST", "/offer", &body).await.0, 200);
    assert_eq!(server.stats().await, (1, 1));
    let during = server.fds();
    eprintln!("descriptors: {before} before, {during} while pending");
    assert!(during > before, "the pending connection holds sockets");
    server.wait_stats((0, 0), 5).await;
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900), "released after {took:?}");
    server.wait_line(false, "the release", |l| l.contains("not connected within 1 s: closed")).await;
    // Its sockets are closed (the count may lag the stats a little).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.fds() > before {
        assert!(tokio::time::Instant::now() < deadline, "{} descriptors, {before} before", server.fds());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
