//! Interop with a real headless Chromium: the browser as offerer (with and
//! without a fake camera, so its offer carries audio and video sections we
//! reject) and as answerer; text, binary and empty messages, messages of
//! the negotiated max-message-size (Chromium caps it at 256 KiB, so 1 MiB is
//! refused by both sides, never cut; Chromium 148 does not refuse its own
//! 1 MiB send, which then arrives whole or not at all), 10 channels at once.
//!
//! Chromium gathers candidates on every interface, and tests may only talk
//! to loopback, so these tests run inside a network namespace that has only
//! `lo` (scripts/test.sh creates it and sets OXRTC_NETNS=1); the mDNS test
//! puts the browser in a second namespace joined to that one by a veth. The page is in
//! tests/chromium/; results come back as a POST to /result.

mod common;
#[path = "../examples/server/http.rs"]
mod http;

use std::net::{IpAddr, SocketAddr};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCSdpType, RTCSessionDescription,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const PAGE: &str = include_str!("chromium/test.html");
const SCRIPT: &str = include_str!("chromium/test.js");

fn require_netns() {
    assert_eq!(
        std::env::var("OXRTC_NETNS").as_deref(),
        Ok("1"),
        "run the Chromium tests inside a network namespace with only lo (scripts/test.sh does this)"
    );
    // Only lo, and the veth a test may have made to its own browser namespace.
    let other: Vec<_> = if_addrs_list()
        .into_iter()
        .filter(|ip| {
            !ip.is_loopback() && *ip != OUR_VETH && !matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local())
        })
        .collect();
    assert!(other.is_empty(), "this namespace has non-loopback addresses {other:?}");
}

/// Our end of the veth to the browser's namespace, and the browser's end.
const OUR_VETH: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 2));
const BROWSER_VETH: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 77, 0, 1));

/// A network namespace for the browser, created by the test inside the
/// test's own namespace: a veth pair (browser 10.77.0.1, us 10.77.0.2) and
/// nothing else. The browser's default route points at us, so whatever it
/// sends elsewhere ends in our namespace, which has no route out. Removed
/// (with the veth) on drop.
struct BrowserNamespace(String);

impl BrowserNamespace {
    fn create() -> Self {
        let name = format!("oxrtc-browser-{}", std::process::id());
        let run = |args: &[&str]| {
            let st = std::process::Command::new("ip").args(args).status().expect("run ip");
            assert!(st.success(), "ip {args:?} failed");
        };
        run(&["netns", "add", &name]);
        let ns = BrowserNamespace(name.clone());
        run(&["link", "add", "oxrtc-vb", "type", "veth", "peer", "name", "oxrtc-va"]);
        run(&["link", "set", "oxrtc-va", "netns", &name]);
        run(&["addr", "add", "10.77.0.2/24", "dev", "oxrtc-vb"]);
        run(&["link", "set", "oxrtc-vb", "up"]);
        run(&["-n", &name, "addr", "add", "10.77.0.1/24", "dev", "oxrtc-va"]);
        run(&["-n", &name, "link", "set", "oxrtc-va", "up"]);
        run(&["-n", &name, "link", "set", "lo", "up"]);
        run(&["-n", &name, "route", "add", "default", "via", "10.77.0.2"]);
        // mDNS queries and answers cross the veth.
        run(&["route", "replace", "224.0.0.0/4", "dev", "oxrtc-vb"]);
        ns
    }
}

impl Drop for BrowserNamespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::process::Command::new("ip").args(["route", "replace", "224.0.0.0/4", "dev", "lo"]).status();
    }
}

fn if_addrs_list() -> Vec<std::net::IpAddr> {
    let out = std::process::Command::new("ip").args(["-o", "addr"]).output().expect("run ip addr");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .filter_map(|a| a.split('/').next()?.parse().ok())
        .collect()
}

fn config() -> RTCConfiguration {
    RTCConfiguration {
        interfaces: InterfaceFilter::loopback_only(),
        max_message_size: Some(2 * 1024 * 1024),
        ..Default::default()
    }
}

/// Echoes on every channel the browser opens: text `t` → `echo:t`, binary up
/// to 64 KiB → the same bytes, larger binary → `len:<n>:sum:<byte sum>`.
async fn echo_channel(ch: RTCDataChannel) {
    while let Some(e) = ch.next_event().await {
        let DataChannelEvent::Message { data, binary } = e else { continue };
        let r = if !binary {
            ch.send_text(format!("echo:{}", String::from_utf8_lossy(&data))).await
        } else if data.len() <= 65536 {
            ch.send(data).await
        } else {
            let sum = data.iter().fold(0u32, |s, b| s.wrapping_add(*b as u32));
            ch.send_text(format!("len:{}:sum:{sum}", data.len())).await
        };
        if let Err(e) = r {
            eprintln!("echo failed: {e}");
        }
    }
}

async fn gathered_description(pc: &RTCPeerConnection) -> RTCSessionDescription {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, pc.next_event()).await {
            Ok(Some(RTCPeerConnectionEvent::IceCandidate(None))) => break,
            Ok(Some(_)) => {}
            _ => panic!("gathering did not complete"),
        }
    }
    pc.local_description().expect("a local description")
}

/// State of one test: the peer connection and where the page's result goes.
struct Session {
    /// How our answering peer connections are configured.
    config: RTCConfiguration,
    pc: Mutex<Option<Arc<RTCPeerConnection>>>,
    /// The browser's offer, as received.
    offer: Mutex<Option<String>>,
    results: mpsc::UnboundedSender<Value>,
    /// What our answering connection received: per mid (`mid/rid` for a
    /// simulcast encoding), the frames' (payload type, keyframe, first
    /// bytes, size), the first 200 of each.
    media: Mutex<Media>,
    /// Every frame received goes here too, when set (forwarding tests).
    forward: Mutex<Option<mpsc::UnboundedSender<oxrtc::peer::MediaFrame>>>,
}

#[derive(Default)]
struct Media {
    frames: std::collections::HashMap<String, Vec<SeenFrame>>,
}

/// A received frame: (payload type, keyframe, first bytes, size).
type SeenFrame = (u8, bool, Vec<u8>, usize);

impl Session {
    fn new(
        config: RTCConfiguration,
        pc: Option<Arc<RTCPeerConnection>>,
        results: mpsc::UnboundedSender<Value>,
    ) -> Arc<Self> {
        Arc::new(Session {
            config,
            pc: Mutex::new(pc),
            offer: Mutex::new(None),
            results,
            media: Default::default(),
            forward: Mutex::new(None),
        })
    }
}

async fn handle(s: Arc<Session>, r: Request) -> Response {
    match (r.method.as_str(), r.path.split('?').next().unwrap_or("")) {
        ("GET", "/test.html") => Response::ok("text/html", PAGE),
        ("GET", "/test.js") => Response::ok("application/javascript", SCRIPT),
        ("POST", "/result") => {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or(json!({"ok": false, "log": ["bad result"]}));
            let _ = s.results.send(v);
            Response::ok("text/plain", "ok")
        }
        // The browser offers: we answer and echo.
        ("POST", "/offer") => {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            let sdp = v["sdp"].as_str().unwrap().to_string();
            *s.offer.lock().unwrap() = Some(sdp.clone());
            let pc = Arc::new(RTCPeerConnection::new(s.config.clone()).await.unwrap());
            let offer = RTCSessionDescription { kind: RTCSdpType::Offer, sdp };
            pc.set_remote_description(offer).await.unwrap();
            pc.set_local_description(None).await.unwrap();
            let answer = gathered_description(&pc).await;
            *s.pc.lock().unwrap() = Some(pc.clone());
            let session = s.clone();
            tokio::spawn(async move {
                while let Some(e) = pc.next_event().await {
                    match e {
                        RTCPeerConnectionEvent::DataChannel(ch) => {
                            tokio::spawn(echo_channel(ch));
                        }
                        RTCPeerConnectionEvent::Frame(_, f) => {
                            if let Some(tx) = session.forward.lock().unwrap().as_ref() {
                                let _ = tx.send(f.clone());
                            }
                            let mut media = session.media.lock().unwrap();
                            // Simulcast encodings apart: "mid/rid".
                            let key = match &f.rid {
                                Some(rid) => format!("{}/{rid}", f.mid),
                                None => f.mid.clone(),
                            };
                            let frames = media.frames.entry(key).or_default();
                            if frames.len() < 200 {
                                frames.push((
                                    f.payload_type,
                                    f.keyframe,
                                    f.data[..f.data.len().min(10)].to_vec(),
                                    f.data.len(),
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            });
            Response::ok("application/json", json!({"sdp": answer.sdp, "type": "answer"}).to_string())
        }
        // The browser answers: we offer (the channels exist already).
        ("GET", "/offer") => {
            let pc = s.pc.lock().unwrap().clone().expect("the test made the offering peer connection");
            pc.set_local_description(None).await.unwrap();
            let offer = gathered_description(&pc).await;
            Response::ok("application/json", json!({"sdp": offer.sdp, "type": "offer"}).to_string())
        }
        ("POST", "/answer") => {
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            let pc = s.pc.lock().unwrap().clone().unwrap();
            let answer = RTCSessionDescription { kind: RTCSdpType::Answer, sdp: v["sdp"].as_str().unwrap().into() };
            match pc.set_remote_description(answer).await {
                Ok(()) => Response::ok("text/plain", "ok"),
                Err(e) => Response::bad_request(&e.to_string()),
            }
        }
        _ => Response::not_found(),
    }
}

struct Browser {
    _child: tokio::process::Child,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn launch(url: &str) -> Browser {
    launch_in(url, None)
}

/// Starts Chromium on `url`; inside `namespace` with its default mDNS
/// hiding of host addresses, else here with real addresses.
fn launch_in(url: &str, namespace: Option<&BrowserNamespace>) -> Browser {
    let profile = std::env::temp_dir().join(format!("oxrtc-chromium-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&profile).unwrap();
    let mut cmd = match namespace {
        Some(ns) => {
            let mut c = tokio::process::Command::new("ip");
            c.args(["netns", "exec", &ns.0, "chromium"]);
            c
        }
        None => tokio::process::Command::new("chromium"),
    };
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]);
    if namespace.is_none() {
        // Real loopback addresses, and a fake camera (media permission also
        // turns mDNS hiding off).
        cmd.args([
            "--allow-loopback-in-peer-connection",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            // Three simulcast encodings of the 640x480 fake camera (libwebrtc
            // would allow two at that size).
            "--force-fieldtrials=WebRTC-LegacySimulcastLayerLimit/Disabled/",
        ]);
    }
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    Browser { _child: cmd.spawn().expect("start chromium (apt-get install chromium)"), _profile: tempdir::Dir(profile) }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

async fn serve(session: Arc<Session>) -> SocketAddr {
    serve_on(session, "127.0.0.1".parse().unwrap()).await
}

async fn serve_on(session: Arc<Session>, ip: IpAddr) -> SocketAddr {
    let handler: http::Handler = Arc::new(move |r| {
        let s = session.clone();
        Box::pin(handle(s, r))
    });
    let (addr, _task) = http::serve(SocketAddr::new(ip, 0), handler).await.unwrap();
    addr
}

async fn result(rx: &mut mpsc::UnboundedReceiver<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(40), rx.recv())
        .await
        .expect("the page reported within 40 s")
        .expect("a result")
}

fn assert_passed(v: &Value) {
    let log: Vec<&str> = v["log"].as_array().map(|a| a.iter().filter_map(|l| l.as_str()).collect()).unwrap_or_default();
    assert_eq!(v["ok"], true, "the page failed:\n{}", log.join("\n"));
}

async fn browser_offers(media: bool) {
    require_netns();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session = Session::new(config(), None, tx);
    let addr = serve(session.clone()).await;
    let _browser = launch(&format!("http://{addr}/test.html?mode=offerer&media={}", media as u8));
    let v = result(&mut rx).await;
    assert_passed(&v);
    let pc = session.pc.lock().unwrap().clone().unwrap();
    let answer = pc.current_local_description().unwrap().sdp;
    let offer = session.offer.lock().unwrap().clone().unwrap();
    let candidates: Vec<&str> = offer.lines().filter(|l| l.starts_with("a=candidate:")).collect();
    assert!(!candidates.is_empty(), "the offer has candidates:\n{offer}");
    assert!(candidates.iter().any(|c| c.contains(" 127.0.0.1 ")), "loopback candidates: {candidates:?}");
    if media {
        // The camera's audio and video are accepted, received only (we have
        // no tracks), and bundled with the data channels.
        assert!(answer.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 "), "audio accepted:\n{answer}");
        assert!(answer.contains("m=video 9 UDP/TLS/RTP/SAVPF 96 97 "), "video accepted:\n{answer}");
        assert_eq!(answer.matches("a=recvonly").count(), 2, "{answer}");
        assert!(answer.contains("a=group:BUNDLE 0 1 2"), "{answer}");
        // The camera's frames arrived through SRTP, routing and depacketizing:
        // Opus packets on mid 0, VP8 frames on mid 1 starting with a keyframe
        // whose header (RFC 6386 9.1: start code 9d 01 2a, then width and
        // height) is whole.
        let transceivers: Vec<_> = pc
            .transceivers()
            .await
            .into_iter()
            .map(|t| (t.mid.unwrap_or_default(), t.kind, t.current_direction))
            .collect();
        let recv = Some(oxrtc::sdp::Direction::RecvOnly);
        assert_eq!(
            transceivers,
            vec![
                ("0".to_string(), oxrtc::sdp::MediaKind::Audio, recv),
                ("1".to_string(), oxrtc::sdp::MediaKind::Video, recv)
            ]
        );
        let media = session.media.lock().unwrap();
        let audio = media.frames.get("0").map(Vec::as_slice).unwrap_or_default();
        let video = media.frames.get("1").map(Vec::as_slice).unwrap_or_default();
        assert!(audio.len() >= 20, "{} audio packets", audio.len());
        assert!(audio.iter().all(|f| f.0 == 111), "Opus only: {:?}", audio.iter().map(|f| f.0).collect::<Vec<_>>());
        assert!(video.len() >= 10, "{} video frames", video.len());
        let (pt, key, head, size) = &video[0];
        assert_eq!((*pt, *key), (96, true), "the first video frame is a VP8 keyframe");
        let (width, height) = vp8_keyframe_size(head).expect("VP8 keyframe start code");
        assert!(width >= 160 && height >= 120, "{width}x{height}");
        assert!(video[1..].iter().any(|f| !f.1), "delta frames follow");
        eprintln!(
            "Chromium camera: {} VP8 frames ({width}x{height}, keyframe {size} B), {} Opus packets",
            video.len(),
            audio.len()
        );
    }
    pc.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_offers_data_channels() {
    browser_offers(false).await;
}

#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_offers_camera_and_data_channels_media_accepted() {
    browser_offers(true).await;
}

/// Chromium as browsers ship it: host addresses hidden behind mDNS `.local`
/// names. It runs in a namespace of its own joined to ours by a veth; we
/// resolve its names by asking the mDNS group (Chromium's responder
/// answers) and connect to the address behind them.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_offers_mdns_candidates_resolved() {
    require_netns();
    let ns = BrowserNamespace::create();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let config = RTCConfiguration {
        interfaces: InterfaceFilter { allow: vec![OUR_VETH.to_string()], deny: vec![], loopback: false, ipv6: false },
        ..config()
    };
    let session = Session::new(config, None, tx);
    let addr = serve_on(session.clone(), OUR_VETH).await;
    let browser = launch_in(&format!("http://{addr}/test.html?mode=offerer&media=0"), Some(&ns));
    let v = result(&mut rx).await;
    assert_passed(&v);
    let offer = session.offer.lock().unwrap().clone().unwrap();
    let candidates: Vec<&str> = offer.lines().filter(|l| l.starts_with("a=candidate:")).collect();
    assert!(candidates.iter().any(|c| c.contains(".local ")), "mDNS names in the offer: {candidates:?}");
    assert!(!offer.contains(&BROWSER_VETH.to_string()), "no raw address in the offer:\n{offer}");
    let pc = session.pc.lock().unwrap().clone().unwrap();
    let report = pc.get_stats().await;
    let remote = report.candidates().find(|(k, _)| *k == "remote-candidate").expect("a selected remote candidate").1;
    assert_eq!(remote.address.ip(), BROWSER_VETH, "connected to the address behind the .local name");
    pc.close().await;
    drop(browser);
}

#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_answers_oxrtc_offers() {
    require_netns();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pc = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let mut channels = Vec::new();
    for i in 0..10 {
        channels.push(pc.create_data_channel(&format!("c{i}"), None).await.unwrap());
    }
    let session = Session::new(config(), Some(pc.clone()), tx);
    let addr = serve(session).await;
    let _browser = launch(&format!("http://{addr}/test.html?mode=answerer"));
    // Every channel opens and echoes text and binary.
    for (i, ch) in channels.iter().enumerate() {
        loop {
            match tokio::time::timeout(Duration::from_secs(30), ch.next_event()).await.expect("channel opens") {
                Some(DataChannelEvent::Open) => break,
                Some(_) => {}
                None => panic!("channel {i} ended"),
            }
        }
        ch.send_text(format!("text {i}")).await.unwrap();
        ch.send(vec![i as u8; 1000 + i]).await.unwrap();
    }
    for (i, ch) in channels.iter().enumerate() {
        let mut got = Vec::new();
        while got.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(10), ch.next_event()).await.expect("echo in time") {
                Some(DataChannelEvent::Message { data, binary }) => got.push((data, !binary)),
                Some(_) => {}
                None => panic!("channel {i} ended"),
            }
        }
        assert_eq!(got[0], (format!("echo:text {i}").into_bytes().into(), true));
        assert_eq!(got[1], (vec![i as u8; 1000 + i].into(), false));
    }
    // Chromium's a=max-message-size (256 KiB): a message of exactly that
    // size goes through; 1 MiB is refused here, never cut.
    let big: Vec<u8> = (0..262144u32).map(|i| (i % 253) as u8).collect();
    channels[1].send(big.clone()).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), channels[1].next_event()).await.expect("big echo") {
            Some(DataChannelEvent::Message { data, .. }) => {
                assert!(data[..] == big[..], "256 KiB echo intact");
                break;
            }
            Some(_) => {}
            None => panic!("channel ended"),
        }
    }
    let err = channels[1].send(vec![0u8; 1024 * 1024]).await.unwrap_err();
    assert!(err.to_string().contains("max-message-size of 262144"), "{err}");
    channels[0].send_text("done").await.unwrap();
    assert_passed(&result(&mut rx).await);
    pc.close().await;
}

/// The README's demo: the `server` example's own page in Chromium pings,
/// the server pongs.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_runs_the_server_example_page() {
    server_example_page(false).await;
}

/// The demo with the camera: the server sends the browser's camera back
/// and the page decodes that mirror (it reports `decoded N` on its channel).
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_sees_its_camera_mirrored_by_the_server_example() {
    server_example_page(true).await;
}

/// The server example started on a free port with `args`: the process and
/// its output lines, its first line (the address) read.
async fn start_server_example(
    args: &[&str],
) -> (tokio::process::Child, tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>, u16) {
    use tokio::io::AsyncBufReadExt;
    require_netns();
    let exe = std::env::current_exe().unwrap();
    let server_bin = exe.parent().unwrap().parent().unwrap().join("examples/server");
    assert!(server_bin.exists(), "build the examples first (cargo test -p oxrtc builds them)");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = tokio::process::Command::new(server_bin)
        .args(["--port", &port.to_string()])
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.contains("http://127.0.0.1:"), "{first}");
    (server, lines, port)
}

async fn server_example_page(camera: bool) {
    let (_server, mut lines, port) = start_server_example(&[]).await;
    let _browser = launch(&format!("http://127.0.0.1:{port}/?autostart=1&camera={}", camera as u8));
    let (mut pongs, mut decoded) = (0, 0);
    while pongs < 3 || (camera && decoded < 30) {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the page pings (and decodes the mirror) within 30 s")
            .unwrap()
            .expect("the server runs");
        pongs += line.starts_with("channel(chat) > pong ") as usize;
        if let Some(n) = line.strip_prefix("channel(chat) < decoded ") {
            decoded = n.trim().parse().unwrap_or(0);
        }
    }
}

/// `server --record DIR`: the browser's camera and microphone, as it encoded
/// them, land in a WebM that ffprobe reads as VP8 and Opus of about the
/// length the page sent (it closes the connection after 6 s).
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace, and ffprobe: run scripts/test.sh"]
async fn chromium_camera_is_recorded_by_the_server_example() {
    let dir = std::env::temp_dir().join(format!("oxrtc-record-{}", std::process::id()));
    let (_server, mut lines, port) = start_server_example(&["--record", dir.to_str().unwrap()]).await;
    let _browser = launch(&format!("http://127.0.0.1:{port}/?autostart=1&camera=1&stopafter=6"));
    let recorded = loop {
        let line = tokio::time::timeout(Duration::from_secs(40), lines.next_line())
            .await
            .expect("the recording ends within 40 s")
            .unwrap()
            .expect("the server runs");
        if let Some(rest) = line.strip_prefix("recorded ") {
            break rest.split(':').next().unwrap().to_string();
        }
        assert!(!line.starts_with("recording ") || !line.contains("failed"), "{line}");
    };
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "csv=p=0",
            &recorded,
        ])
        .output()
        .expect("ffprobe (Debian package ffmpeg)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let streams: Vec<(&str, u64)> = text
        .lines()
        .filter_map(|l| l.split_once(','))
        .map(|(codec, n)| (codec, n.trim().parse().unwrap_or(0)))
        .collect();
    eprintln!("recorded: {streams:?}");
    let frames = |codec: &str| streams.iter().find(|s| s.0 == codec).map_or(0, |s| s.1);
    // Chromium's fake camera runs at about 30 fps and its Opus at 50 packets a
    // second: 6 s minus set-up leaves several seconds of each.
    assert!(frames("vp8") >= 60, "{streams:?}");
    assert!(frames("opus") >= 100, "{streams:?}");
}

/// The width and height of a VP8 keyframe (RFC 6386 9.1: after the 3-byte
/// frame tag, start code 9d 01 2a, then 14-bit width and height).
fn vp8_keyframe_size(head: &[u8]) -> Option<(u16, u16)> {
    if head.len() < 10 || head[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([head[6], head[7]]) & 0x3fff;
    let height = u16::from_le_bytes([head[8], head[9]]) & 0x3fff;
    Some((width, height))
}

/// Chromium sends its camera as three simulcast encodings (RIDs l, m, h at
/// 1/4, 1/2 and full size); our answer takes all three (`a=rid` recv and
/// `a=simulcast:recv`), and each arrives as its own stream, told apart by
/// RID, starting with a keyframe of its own size.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_sends_simulcast_that_oxrtc_receives_by_rid() {
    require_netns();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session = Session::new(config(), None, tx);
    let addr = serve(session.clone()).await;
    let _browser = launch(&format!("http://{addr}/test.html?mode=simulcast"));
    let v = result(&mut rx).await;
    assert_passed(&v);
    let offer = session.offer.lock().unwrap().clone().unwrap();
    assert!(offer.contains("a=simulcast:send l;m;h"), "{offer}");
    let pc = session.pc.lock().unwrap().clone().unwrap();
    let answer = pc.current_local_description().unwrap().sdp;
    for rid in ["l", "m", "h"] {
        assert!(answer.contains(&format!("a=rid:{rid} recv")), "{answer}");
    }
    assert!(answer.contains("a=simulcast:recv l;m;h"), "{answer}");
    let mut sizes = Vec::new();
    {
        let media = session.media.lock().unwrap();
        for rid in ["l", "m", "h"] {
            let frames = media.frames.get(&format!("0/{rid}")).map(Vec::as_slice).unwrap_or_default();
            assert!(frames.len() >= 30, "encoding {rid}: {} frames", frames.len());
            let (pt, key, head, _) = &frames[0];
            assert!(*key, "encoding {rid} starts with a keyframe");
            let size =
                vp8_keyframe_size(head).unwrap_or_else(|| panic!("encoding {rid}: payload type {pt} is not VP8"));
            sizes.push(size);
        }
        eprintln!("Chromium simulcast: l {:?}, m {:?}, h {:?}", sizes[0], sizes[1], sizes[2]);
        assert_eq!(sizes, [(160, 120), (320, 240), (640, 480)]);
        assert!(!media.frames.contains_key("0"), "no frames without RID");
    }
    let stats = pc.get_stats().await;
    let rids: Vec<Option<String>> = stats.inbound_rtp().map(|s| s.rid.clone()).collect();
    assert_eq!(rids.len(), 3, "one inbound-rtp per encoding: {rids:?}");
    pc.close().await;
}

/// Chromium answers `pc`'s offer (page mode `receiver`); once connected
/// with `video` negotiated send-only, the VP8 of a Chromium capture is
/// forwarded on it (RTP payloads as they were, new SSRC and sequence
/// numbers: what an SFU does) until the page reports that it decoded 30
/// frames. Returns the transceiver as negotiated.
async fn chromium_decodes_forwarded_vp8(
    pc: Arc<RTCPeerConnection>,
    video: oxrtc::peer::TransceiverId,
) -> oxrtc::peer::TransceiverInfo {
    require_netns();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session = Session::new(config(), Some(pc.clone()), tx);
    let addr = serve(session).await;
    let _browser = launch(&format!("http://{addr}/test.html?mode=receiver"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let t = loop {
        let t = pc.transceivers().await.into_iter().find(|t| t.id == video).unwrap();
        if t.current_direction == Some(oxrtc::sdp::Direction::SendOnly)
            && pc.connection_state() == oxrtc::RTCPeerConnectionState::Connected
        {
            break t;
        }
        assert!(tokio::time::Instant::now() < deadline, "not connected with video negotiated: {t:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let vp8 = pc.codecs(video).await.into_iter().find(|c| c.name == "VP8").expect("VP8 negotiated");
    let packets = common::capture::captured(common::capture::VP8);
    let frames = packets.iter().filter(|p| p.2).count();
    assert!(frames >= 60, "{frames} VP8 frames in the capture");
    let sender = common::capture::forward(pc.clone(), video, vp8.payload_type, packets);
    let v = result(&mut rx).await;
    assert_passed(&v);
    eprintln!("{}", v["log"].as_array().unwrap().last().unwrap());
    sender.abort();
    t
}

/// oxrtc offers a send-only video transceiver and forwards VP8; the browser
/// decodes it.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_decodes_vp8_that_oxrtc_sends() {
    let pc = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let video = pc.add_transceiver(oxrtc::sdp::MediaKind::Video, oxrtc::sdp::Direction::SendOnly).await.unwrap();
    chromium_decodes_forwarded_vp8(pc.clone(), video).await;
    pc.close().await;
}

/// oxrtc offers simulcast (RIDs h and l) to Chromium, which does not
/// receive simulcast: whatever its answer says of it, the encodings we send
/// are the ones it takes, and it decodes what we send.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_answers_an_oxrtc_simulcast_offer_and_decodes_what_it_takes() {
    let pc = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let init = oxrtc::peer::TransceiverInit::simulcast(oxrtc::sdp::Direction::SendOnly, &["h", "l"]);
    let video = pc.add_transceiver_with(oxrtc::sdp::MediaKind::Video, init).await.unwrap();
    let t = chromium_decodes_forwarded_vp8(pc.clone(), video).await;
    let answer = pc.current_remote_description().unwrap().sdp;
    let simulcast: Vec<&str> =
        answer.lines().filter(|l| l.starts_with("a=simulcast") || l.starts_with("a=rid")).collect();
    eprintln!("Chromium's answer: {simulcast:?}; we send {:?}", t.send_rids);
    // Chromium 148 answers without a=simulcast: one stream, no RID.
    let taken: Vec<String> = simulcast
        .iter()
        .filter_map(|l| l.strip_prefix("a=simulcast:recv "))
        .flat_map(|list| list.split(';').map(|r| r.trim_start_matches('~').to_string()))
        .collect();
    assert_eq!(t.send_rids, taken, "we send the encodings the answer takes");
    pc.close().await;
}

/// A selective forwarding unit in a few lines: Chromium A sends its camera
/// as simulcast (l, m, h); oxrtc forwards one encoding, re-packetized, to
/// Chromium B, starting with l and then switching to h: it asks A for a
/// keyframe of h alone (`request_keyframe_rid`) and switches at that
/// keyframe, keeping B's timestamps continuous. B decodes 160x120 first,
/// then 640x480.
#[tokio::test]
#[ignore = "needs Chromium in a loopback-only network namespace: run scripts/test.sh"]
async fn chromium_simulcast_forwarded_by_oxrtc_to_another_chromium_switching_encodings() {
    require_netns();
    // B subscribes: our offer, its answer.
    let pc_b = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let video_b = pc_b.add_transceiver(oxrtc::sdp::MediaKind::Video, oxrtc::sdp::Direction::SendOnly).await.unwrap();
    let (tx_b, mut rx_b) = mpsc::unbounded_channel();
    let addr_b = serve(Session::new(config(), Some(pc_b.clone()), tx_b)).await;
    let _browser_b = launch(&format!("http://{addr_b}/test.html?mode=receiver&widths=160,640"));
    // A publishes: its offer, our answer; its frames come to us.
    let (tx_a, mut rx_a) = mpsc::unbounded_channel();
    let session_a = Session::new(config(), None, tx_a);
    let (frames_tx, mut frames) = mpsc::unbounded_channel();
    *session_a.forward.lock().unwrap() = Some(frames_tx);
    let addr_a = serve(session_a.clone()).await;
    let _browser_a = launch(&format!("http://{addr_a}/test.html?mode=simulcast&hold=1"));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let vp8 = loop {
        let negotiated = pc_b.codecs(video_b).await.into_iter().find(|c| c.name == "VP8");
        if let (Some(vp8), oxrtc::RTCPeerConnectionState::Connected) = (negotiated, pc_b.connection_state()) {
            break vp8;
        }
        assert!(tokio::time::Instant::now() < deadline, "B did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Forward l, switch to h after 60 frames of l; B reports once it decoded both sizes.
    let (mut layer, mut forwarded, mut switching) = ("l", 0u32, false);
    let (mut last_in, mut out_ts) = (None::<u32>, 0u32);
    let page_b = loop {
        let f = tokio::select! {
            v = rx_b.recv() => break v.expect("B's result"),
            f = frames.recv() => f.expect("A's frames"),
            _ = tokio::time::sleep_until(deadline) => panic!("B did not report in time ({forwarded} frames forwarded, layer {layer})"),
        };
        if switching && f.rid.as_deref() == Some("h") && f.keyframe {
            layer = "h";
            switching = false;
            last_in = None;
        }
        if f.rid.as_deref() != Some(layer) {
            continue;
        }
        // Continuous timestamps for B: the encodings' RTP clocks have offsets of their own.
        out_ts = match last_in {
            Some(prev) => out_ts.wrapping_add(f.rtp_timestamp.wrapping_sub(prev)),
            None => out_ts.wrapping_add(3000),
        };
        last_in = Some(f.rtp_timestamp);
        pc_b.write_frame(video_b, vp8.payload_type, out_ts, f.data).await.unwrap();
        forwarded += 1;
        if layer == "l" && forwarded == 60 {
            let pc_a = session_a.pc.lock().unwrap().clone().expect("A's connection");
            let video_a = pc_a.transceivers().await[0].id;
            pc_a.request_keyframe_rid(video_a, "h", oxrtc::peer::KeyframeRequestKind::Pli).await.unwrap();
            switching = true;
        }
    };
    assert_passed(&page_b);
    eprintln!("{}", page_b["log"].as_array().unwrap().last().unwrap());
    assert_eq!(layer, "h", "switched to h");
    assert_passed(&result(&mut rx_a).await);
    pc_b.close().await;
}
