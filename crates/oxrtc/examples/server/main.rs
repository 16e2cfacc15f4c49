//! `server`: an HTTP server whose page opens a data channel to this Rust
//! process, which answers every text message starting with `ping` with
//! `pong` and the rest of the message. Signaling is aiortc's server
//! contract: `POST /offer` with `{"sdp","type"}`, answered with the answer
//! (non-trickle: the answer carries our candidates).
//!
//! ```text
//! cargo run -p oxrtc --example server -- [--host 127.0.0.1] [--port 8080]
//! ```
//! then open http://127.0.0.1:8080 in a browser on the same machine.
//!
//! What strangers can make it hold is bounded: at most `--max-pending`
//! connections answered but not yet connected, each closed (its sockets
//! with it) if it is not connected within `--pending-timeout` seconds, and
//! at most `--max-connections` in all; an offer over either cap gets
//! `503 Service Unavailable`. A connection that fails or closes is released
//! at once. `GET /stats` reports the counts as JSON. The HTTP side has its
//! own limits (see `http.rs`), and what a peer sends is printed cut short
//! and escaped.
//!
//! With `--record DIR`, what each browser sends (camera and microphone, as
//! it encoded them) is also written to a WebM file in DIR, finalized when
//! the connection ends.

mod http;
mod record;
#[path = "../common/shown.rs"]
mod shown;

/// With `--features mimalloc`: mimalloc instead of the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use oxrtc::peer::KeyframeRequestKind;
use oxrtc::sdp::{Direction, MediaKind};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCDtlsTransportState, RTCPeerConnection,
    RTCPeerConnectionEvent, RTCPeerConnectionState, RTCSctpTransportState, RTCSdpType, RTCSessionDescription,
};
use serde_json::{json, Value};
use shown::shown;

const INDEX: &str = include_str!("index.html");
const CLIENT: &str = include_str!("client.js");

/// The reply to a text message, if any: `ping X` gets `pong X`.
pub fn pong(text: &str) -> Option<String> {
    text.strip_prefix("ping").map(|rest| format!("pong{rest}"))
}

/// The server's caps on WebRTC connections.
#[derive(Debug, Clone)]
struct Caps {
    max_pending: usize,
    max_total: usize,
    pending_timeout: Duration,
}

/// Connections held now: the counts behind the caps.
struct Peers {
    caps: Caps,
    counts: Mutex<Counts>,
    /// `--record DIR`.
    record: Option<PathBuf>,
    /// Connections served so far (names the recordings).
    served: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Answered (or being answered) and not connected yet.
    pending: usize,
    /// Every connection held, pending or not.
    total: usize,
}

impl Peers {
    fn counts(&self) -> Counts {
        *self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more pending connection, or why there is none.
    fn reserve(self: &Arc<Self>) -> Result<Slot, String> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.total >= self.caps.max_total {
            return Err(format!(
                "server full: {} connections (the most it holds); try again later",
                self.caps.max_total
            ));
        }
        if c.pending >= self.caps.max_pending {
            return Err(format!(
                "server busy: {} connections waiting to connect (the most it holds); try again later",
                self.caps.max_pending
            ));
        }
        c.pending += 1;
        c.total += 1;
        Ok(Slot { peers: self.clone(), pending: true })
    }
}

/// One connection's place in the counts, given back on drop.
struct Slot {
    peers: Arc<Peers>,
    pending: bool,
}

impl Slot {
    fn connected(&mut self) {
        if std::mem::take(&mut self.pending) {
            self.peers.counts.lock().unwrap_or_else(|p| p.into_inner()).pending -= 1;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.peers.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.pending -= self.pending as usize;
        c.total -= 1;
    }
}

/// The answer to a `POST /offer`.
async fn offer(body: &[u8], interfaces: InterfaceFilter, peers: Arc<Peers>) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Response::bad_request("body is not JSON");
    };
    let (Some(sdp), Some("offer")) = (v["sdp"].as_str(), v["type"].as_str()) else {
        return Response::bad_request("expected {\"sdp\": ..., \"type\": \"offer\"}");
    };
    let slot = match peers.reserve() {
        Ok(slot) => slot,
        Err(why) => return Response::unavailable(&why),
    };
    let pc = match RTCPeerConnection::new(RTCConfiguration { interfaces, ..Default::default() }).await {
        Ok(pc) => Arc::new(pc),
        // Out of sockets or file descriptors, most likely.
        Err(e) => return Response::unavailable(&format!("cannot open a connection now: {e}")),
    };
    // On an error below, dropping `pc` closes it.
    // The mirror: a send-and-receive transceiver for each camera or
    // microphone the browser offers, so that our answer sends it back. The
    // parser bounds the sections (`sdp::MAX_MEDIA`) and rejects a broken offer here.
    let parsed = match oxrtc::sdp::SessionDescription::parse(sdp) {
        Ok(p) => p,
        Err(e) => return Response::bad_request(&e.to_string()),
    };
    let media = parsed.media.iter().filter(|m| m.is_rtp() && !m.is_rejected());
    for kind in media.map(|m| m.kind.clone()).filter(|k| matches!(k, MediaKind::Audio | MediaKind::Video)) {
        if let Err(e) = pc.add_transceiver(kind, Direction::SendRecv).await {
            return Response::bad_request(&e.to_string());
        }
    }
    let offer = RTCSessionDescription { kind: RTCSdpType::Offer, sdp: sdp.into() };
    if let Err(e) = pc.set_remote_description(offer).await {
        return Response::bad_request(&e.to_string());
    }
    if let Err(e) = pc.set_local_description(None).await {
        return Response::bad_request(&e.to_string());
    }
    // Non-trickle: wait until gathering is complete (host candidates are
    // immediate; STUN/TURN would take longer).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, pc.next_event()).await {
            Ok(Some(RTCPeerConnectionEvent::IceCandidate(None))) | Err(_) => break,
            Ok(Some(_)) => {}
            Ok(None) => return Response::unavailable("the connection closed while gathering"),
        }
    }
    let Some(answer) = pc.local_description() else { return Response::unavailable("no local description") };
    tokio::spawn(run(pc, slot));
    Response::ok("application/json", json!({"sdp": answer.sdp, "type": answer.kind.as_str()}).to_string())
}

/// Serves one browser: pong every ping on every channel and send its
/// camera and microphone back (each frame as it came, re-packetized; its
/// keyframe requests passed on) until the connection ends, or closes it if
/// it is not connected in time.
async fn run(pc: Arc<RTCPeerConnection>, mut slot: Slot) {
    let mut mirrored = 0u64;
    let mut recording: Option<record::Recording> = None;
    // A browser that sends simulcast sends each encoding as a stream of its own
    // (its frames name their RID); one of them is mirrored and recorded: the first seen.
    let mut encoding: std::collections::HashMap<oxrtc::peer::TransceiverId, Option<String>> = Default::default();
    let pending_timeout = slot.peers.caps.pending_timeout;
    let deadline = tokio::time::Instant::now() + pending_timeout;
    if pc.connection_state() == RTCPeerConnectionState::Connected {
        slot.connected();
    }
    loop {
        let e = if slot.pending {
            match tokio::time::timeout_at(deadline, pc.next_event()).await {
                Ok(e) => e,
                Err(_) => {
                    println!("connection not connected within {} s: closed", pending_timeout.as_secs_f32());
                    break;
                }
            }
        } else {
            pc.next_event().await
        };
        let Some(e) = e else { break };
        match e {
            RTCPeerConnectionEvent::DataChannel(ch) => {
                let label = shown(ch.label());
                println!("channel \"{label}\" opened by the browser");
                tokio::spawn(async move {
                    while let Some(e) = ch.next_event().await {
                        if let DataChannelEvent::Message { data, binary: false } = e {
                            let text = String::from_utf8_lossy(&data);
                            println!("channel({label}) < {}", shown(&text));
                            if let Some(reply) = pong(&text) {
                                println!("channel({label}) > {}", shown(&reply));
                                let _ = ch.send_text(reply).await;
                            }
                        }
                    }
                });
            }
            RTCPeerConnectionEvent::Frame(t, f) => {
                if *encoding.entry(t).or_insert_with(|| f.rid.clone()) != f.rid {
                    continue;
                }
                if let Some(r) = recording.as_mut() {
                    r.frame(t, &f);
                }
                let sent = pc.write_frame(t, f.payload_type, f.rtp_timestamp, f.data).await.is_ok();
                mirrored += u64::from(sent);
                if sent && (mirrored.is_power_of_two() || mirrored.is_multiple_of(1000)) {
                    println!("mirrored {mirrored} frames");
                }
            }
            RTCPeerConnectionEvent::KeyframeRequested(t, ..) => {
                // The browser wants a keyframe of what we send it: ask it for one of what it sends.
                let _ = pc.request_keyframe(t, KeyframeRequestKind::Pli).await;
            }
            RTCPeerConnectionEvent::ConnectionStateChange(s) => {
                println!("connection {s:?}");
                match s {
                    RTCPeerConnectionState::Connected => {
                        slot.connected();
                        if let (Some(dir), None) = (&slot.peers.record, &recording) {
                            let n = slot.peers.served.fetch_add(1, Ordering::Relaxed);
                            let path = dir.join(format!("connection-{n}.webm"));
                            match record::Recording::start(&pc, &path).await {
                                Ok(r) => {
                                    println!("recording to {}", path.display());
                                    recording = Some(r);
                                }
                                Err(e) => println!("not recording: {e}"),
                            }
                        }
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => break,
                    _ => {}
                }
            }
            // A goodbye (SCTP ABORT or SHUTDOWN, DTLS close_notify) ends the
            // connection's use at once; the connection state would stay
            // `connected` until ICE consent fails, about 30 s later.
            RTCPeerConnectionEvent::SctpStateChange(RTCSctpTransportState::Closed)
            | RTCPeerConnectionEvent::DtlsStateChange(RTCDtlsTransportState::Closed) => {
                println!("the browser said goodbye");
                break;
            }
            _ => {}
        }
    }
    pc.close().await;
    if let Some(r) = recording {
        match r.finish().await {
            (path, Ok(stats)) => println!("recorded {}: frames written per track {:?}", path.display(), stats.written),
            (path, Err(e)) => println!("recording {} failed: {e}", path.display()),
        }
    }
    let peers = slot.peers.clone();
    drop(slot);
    let c = peers.counts();
    println!("connection released: {} pending, {} in all", c.pending, c.total);
}

/// Seconds, whole or not, as a duration.
fn seconds(flag: &str, v: Option<String>) -> Duration {
    v.and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or_else(|| usage(&format!("{flag} takes a number of seconds")))
}

fn count(flag: &str, v: Option<String>) -> usize {
    v.and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| usage(&format!("{flag} takes a positive number")))
}

fn usage(why: &str) -> ! {
    eprintln!("server: {why}");
    eprintln!(
        "usage: server [--host IP] [--port PORT] [--max-pending N] [--max-connections N] [--pending-timeout SECS]\n\
         \x20             [--max-http-connections N] [--header-timeout SECS] [--request-timeout SECS] [--max-body BYTES]\n\
         \x20             [--record DIR]"
    );
    std::process::exit(2);
}

/// Raises the soft open-file limit (`ulimit -n`) as far as the hard limit
/// allows toward what the caps may need: each connection holds a UDP socket
/// per local address, each HTTP client a TCP one. Says so when that is still
/// short. Nothing breaks then: an offer that finds no descriptor gets 503 and
/// a failed `accept` is retried, but the caps are not what limits.
fn fit_descriptor_limit(caps: &Caps, limits: &http::Limits) {
    let wanted = (caps.max_total + limits.max_connections + 32) as libc::rlim_t;
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return;
    }
    let soft = lim.rlim_cur;
    if soft < wanted {
        let raised = libc::rlimit { rlim_cur: wanted.min(lim.rlim_max), rlim_max: lim.rlim_max };
        // SAFETY: as above.
        if raised.rlim_cur > soft && unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            eprintln!("server: raised the open-file limit from {soft} to {}", raised.rlim_cur);
            lim = raised;
        }
    }
    if lim.rlim_cur < wanted {
        eprintln!(
            "server: the caps allow about {wanted} open files (--max-connections {} and --max-http-connections {}), \
             the limit is {} (hard limit {}): past it offers get 503 and accepts are retried",
            caps.max_total, limits.max_connections, lim.rlim_cur, lim.rlim_max
        );
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut host: IpAddr = "127.0.0.1".parse().unwrap();
    let mut port = 8080u16;
    let mut caps = Caps { max_pending: 100, max_total: 1000, pending_timeout: Duration::from_secs(10) };
    let mut limits = http::Limits::default();
    let mut record = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host" => {
                host = args.next().and_then(|h| h.parse().ok()).unwrap_or_else(|| usage("--host takes an IP address"))
            }
            "--port" => {
                port = args.next().and_then(|p| p.parse().ok()).unwrap_or_else(|| usage("--port takes a number"))
            }
            "--max-pending" => caps.max_pending = count(&a, args.next()),
            "--max-connections" => caps.max_total = count(&a, args.next()),
            "--pending-timeout" => caps.pending_timeout = seconds(&a, args.next()),
            "--max-http-connections" => limits.max_connections = count(&a, args.next()),
            "--header-timeout" => limits.header_timeout = seconds(&a, args.next()),
            "--request-timeout" => limits.request_timeout = seconds(&a, args.next()),
            "--max-body" => limits.max_body = count(&a, args.next()),
            "--record" => {
                let dir = PathBuf::from(args.next().unwrap_or_else(|| usage("--record takes a folder")));
                if let Err(e) = std::fs::create_dir_all(&dir) {
                    usage(&format!("--record {}: {e}", dir.display()));
                }
                record = Some(dir);
            }
            "-h" | "--help" => usage("an HTTP server with a WebRTC ping/pong page"),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    // ICE candidates from the interface the server listens on: loopback by
    // default, every interface when listening on all of them.
    let interfaces = if host.is_loopback() { InterfaceFilter::loopback_only() } else { InterfaceFilter::default() };
    fit_descriptor_limit(&caps, &limits);
    let peers = Arc::new(Peers { caps, counts: Mutex::default(), record, served: AtomicU64::new(0) });
    let handler: http::Handler = Arc::new(move |r: Request| {
        let interfaces = interfaces.clone();
        let peers = peers.clone();
        Box::pin(async move {
            let path = r.path.split('?').next().unwrap_or_default();
            match (r.method.as_str(), path) {
                ("GET", "/") | ("GET", "/index.html") => Response::ok("text/html; charset=utf-8", INDEX),
                ("GET", "/client.js") => Response::ok("application/javascript", CLIENT),
                ("GET", "/stats") => {
                    let c = peers.counts();
                    let caps = &peers.caps;
                    let stats = json!({
                        "pending": c.pending,
                        "total": c.total,
                        "max_pending": caps.max_pending,
                        "max_connections": caps.max_total,
                        "pending_timeout_s": caps.pending_timeout.as_secs_f64(),
                    });
                    Response::ok("application/json", stats.to_string())
                }
                ("POST", "/offer") => offer(&r.body, interfaces, peers).await,
                _ => Response::not_found(),
            }
        })
    });
    let (addr, task) = http::serve_with(SocketAddr::new(host, port), handler, limits).await?;
    println!("oxrtc server: open http://{addr}/ in a browser");
    let _ = task.await;
    Ok(())
}
