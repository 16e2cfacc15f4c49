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

mod http;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCPeerConnectionState, RTCSdpType, RTCSessionDescription,
};
use serde_json::{json, Value};

const INDEX: &str = include_str!("index.html");
const CLIENT: &str = include_str!("client.js");

/// The reply to a text message, if any: `ping X` gets `pong X`.
pub fn pong(text: &str) -> Option<String> {
    text.strip_prefix("ping").map(|rest| format!("pong{rest}"))
}

async fn offer(body: &[u8], interfaces: InterfaceFilter) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let (Some(sdp), Some("offer")) = (v["sdp"].as_str(), v["type"].as_str()) else {
        return Err("expected {\"sdp\": ..., \"type\": \"offer\"}".into());
    };
    let pc = Arc::new(
        RTCPeerConnection::new(RTCConfiguration { interfaces, ..Default::default() })
            .await
            .map_err(|e| e.to_string())?,
    );
    pc.set_remote_description(RTCSessionDescription { kind: RTCSdpType::Offer, sdp: sdp.into() })
        .await
        .map_err(|e| e.to_string())?;
    pc.set_local_description(None).await.map_err(|e| e.to_string())?;
    // Non-trickle: wait until gathering is complete (host candidates are
    // immediate; STUN/TURN would take longer).
    let mut answer = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while answer.is_none() {
        match tokio::time::timeout_at(deadline, pc.next_event()).await {
            Ok(Some(RTCPeerConnectionEvent::IceCandidate(None))) | Err(_) => answer = pc.local_description(),
            Ok(Some(_)) => {}
            Ok(None) => return Err("peer connection closed".into()),
        }
    }
    let answer = answer.ok_or("no local description")?;
    tokio::spawn(run(pc));
    Ok(json!({"sdp": answer.sdp, "type": answer.kind.as_str()}))
}

/// Serves one browser: pong every ping on every channel until the
/// connection ends.
async fn run(pc: Arc<RTCPeerConnection>) {
    while let Some(e) = pc.next_event().await {
        match e {
            RTCPeerConnectionEvent::DataChannel(ch) => {
                println!("channel {:?} opened by the browser", ch.label());
                tokio::spawn(async move {
                    while let Some(e) = ch.next_event().await {
                        if let DataChannelEvent::Message { data, binary: false } = e {
                            let text = String::from_utf8_lossy(&data);
                            println!("channel({}) < {text}", ch.label());
                            if let Some(reply) = pong(&text) {
                                println!("channel({}) > {reply}", ch.label());
                                let _ = ch.send_text(reply).await;
                            }
                        }
                    }
                });
            }
            RTCPeerConnectionEvent::ConnectionStateChange(s) => {
                println!("connection {s:?}");
                if matches!(s, RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) {
                    break;
                }
            }
            _ => {}
        }
    }
    pc.close().await;
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut host: IpAddr = "127.0.0.1".parse().unwrap();
    let mut port = 8080u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--host" => host = args.next().and_then(|h| h.parse().ok()).expect("--host takes an IP address"),
            "--port" => port = args.next().and_then(|p| p.parse().ok()).expect("--port takes a number"),
            _ => {
                eprintln!("usage: server [--host IP] [--port PORT]");
                std::process::exit(2);
            }
        }
    }
    // ICE candidates from the interface the server listens on: loopback by
    // default, every interface when listening on all of them.
    let interfaces = if host.is_loopback() { InterfaceFilter::loopback_only() } else { InterfaceFilter::default() };
    let handler: http::Handler = Arc::new(move |r: Request| {
        let interfaces = interfaces.clone();
        Box::pin(async move {
            let path = r.path.split('?').next().unwrap_or_default();
            match (r.method.as_str(), path) {
                ("GET", "/") | ("GET", "/index.html") => Response::ok("text/html; charset=utf-8", INDEX),
                ("GET", "/client.js") => Response::ok("application/javascript", CLIENT),
                ("POST", "/offer") => match offer(&r.body, interfaces).await {
                    Ok(answer) => Response::ok("application/json", answer.to_string()),
                    Err(e) => Response::bad_request(&e),
                },
                _ => Response::not_found(),
            }
        })
    });
    let (addr, task) = http::serve(SocketAddr::new(host, port), handler).await?;
    println!("oxrtc server: open http://{addr}/ in a browser");
    let _ = task.await;
    Ok(())
}
