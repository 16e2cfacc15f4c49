//! `datachannel-cli`: aiortc's data channel example, in Rust. The offerer
//! opens a channel labelled `chat` and sends `ping <n>` every second; the
//! answerer replies to every text message starting with `ping` with `pong`
//! and the rest of it; the offerer prints the round-trip time. Signaling is
//! aiortc's contrib format, so aiortc's own example can be the other side.
//!
//! ```text
//! cargo run -p oxrtc --example datachannel-cli -- answer --signaling unix-socket &
//! cargo run -p oxrtc --example datachannel-cli -- offer --signaling unix-socket
//! ```
//! Options: `--signaling copy-and-paste|tcp-socket|unix-socket`,
//! `--signaling-host`, `--signaling-port`, `--signaling-path`; extra:
//! `--count N` (the offerer stops after N pongs), `--interval-ms MS`,
//! `--all-interfaces` (candidates on every interface, not just loopback).

#[path = "../common/shown.rs"]
mod shown;
mod signaling;

use std::sync::Arc;
use std::time::{Duration, Instant};

use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCPeerConnectionState,
};
use shown::shown;
use signaling::{gathered, Message, Method, Signaling};
use tokio::sync::mpsc;

struct Options {
    offer: bool,
    method: Method,
    count: Option<u64>,
    interval: Duration,
    all_interfaces: bool,
}

fn options() -> Result<Options, String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let method = Method::from_args(&mut args)?;
    let mut take = |name: &str| -> Option<String> {
        let i = args.iter().position(|a| a == name)?;
        args.remove(i);
        (i < args.len()).then(|| args.remove(i))
    };
    let count = take("--count").map(|c| c.parse().map_err(|_| "--count takes a number")).transpose()?;
    let interval = take("--interval-ms").map(|c| c.parse().map_err(|_| "--interval-ms takes a number")).transpose()?;
    let all_interfaces = match args.iter().position(|a| a == "--all-interfaces") {
        Some(i) => {
            args.remove(i);
            true
        }
        None => false,
    };
    let offer = match args.as_slice() {
        [role] if role == "offer" => true,
        [role] if role == "answer" => false,
        _ => return Err(format!("usage: datachannel-cli offer|answer [--signaling ...]; unexpected {args:?}")),
    };
    Ok(Options { offer, method, count, interval: Duration::from_millis(interval.unwrap_or(1000)), all_interfaces })
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let interfaces = if o.all_interfaces { InterfaceFilter::default() } else { InterfaceFilter::loopback_only() };
    let pc = Arc::new(RTCPeerConnection::new(RTCConfiguration { interfaces, ..Default::default() }).await.unwrap());
    let mut signaling = Signaling::new(o.method.clone());
    // Peer connection events go to a queue the main loop reads.
    let (tx, mut events) = mpsc::unbounded_channel();
    let (done_tx, mut done) = mpsc::unbounded_channel::<()>();
    {
        let pc = pc.clone();
        tokio::spawn(async move {
            while let Some(e) = pc.next_event().await {
                if tx.send(e).is_err() {
                    break;
                }
            }
        });
    }
    let start = Instant::now();
    if o.offer {
        let chat = pc.create_data_channel("chat", None).await.unwrap();
        let (count, interval, done_tx) = (o.count, o.interval, done_tx.clone());
        tokio::spawn(async move {
            let chat = Arc::new(chat);
            let mut pongs = 0;
            let mut ticker: Option<tokio::time::Interval> = None;
            loop {
                let tick = async {
                    match &mut ticker {
                        Some(t) => t.tick().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    e = chat.next_event() => match e {
                        Some(DataChannelEvent::Open) => {
                            println!("channel(chat) open");
                            ticker = Some(tokio::time::interval(interval));
                        }
                        Some(DataChannelEvent::Message { data, binary: false }) => {
                            let text = String::from_utf8_lossy(&data);
                            println!("channel(chat) < {}", shown(&text));
                            if let Some(Ok(sent)) = text.strip_prefix("pong ").map(|t| t.trim().parse::<u64>()) {
                                let rtt = start.elapsed().as_micros() as u64 - sent;
                                println!(" RTT {:.3} ms", rtt as f64 / 1000.0);
                                pongs += 1;
                                if count.is_some_and(|c| pongs >= c) {
                                    let _ = done_tx.send(());
                                }
                            }
                        }
                        Some(DataChannelEvent::Closed) | None => break,
                        Some(_) => {}
                    },
                    _ = tick => {
                        let msg = format!("ping {}", start.elapsed().as_micros());
                        println!("channel(chat) > {msg}");
                        if let Err(e) = chat.send_text(msg).await {
                            eprintln!("send failed: {e}");
                        }
                    }
                }
            }
        });
        pc.set_local_description(None).await.unwrap();
        let offer = gathered(&pc, &mut events).await;
        signaling.send(&Message::Description(offer)).await.expect("signaling send");
    }
    loop {
        tokio::select! {
            m = signaling.receive() => match m {
                Ok(Some(Message::Description(d))) => {
                    let is_offer = d.kind == oxrtc::RTCSdpType::Offer;
                    if let Err(e) = pc.set_remote_description(d).await {
                        eprintln!("remote description refused: {e}");
                        break;
                    }
                    if is_offer {
                        pc.set_local_description(None).await.unwrap();
                        let answer = gathered(&pc, &mut events).await;
                        signaling.send(&Message::Description(answer)).await.expect("signaling send");
                    }
                }
                Ok(Some(Message::Candidate(c))) => {
                    if let Err(e) = pc.add_ice_candidate(Some(c)).await {
                        eprintln!("candidate refused: {e}");
                    }
                }
                Ok(Some(Message::Bye)) | Ok(None) => {
                    println!("Exiting");
                    break;
                }
                Err(e) => {
                    eprintln!("signaling: {e}");
                    break;
                }
            },
            Some(e) = events.recv() => match e {
                RTCPeerConnectionEvent::DataChannel(ch) => {
                    let label = shown(ch.label());
                    println!("channel({label}) opened by the remote side");
                    tokio::spawn(async move {
                        while let Some(e) = ch.next_event().await {
                            if let DataChannelEvent::Message { data, binary: false } = e {
                                let text = String::from_utf8_lossy(&data).to_string();
                                println!("channel({label}) < {}", shown(&text));
                                if let Some(rest) = text.strip_prefix("ping") {
                                    let reply = format!("pong{rest}");
                                    println!("channel({label}) > {}", shown(&reply));
                                    let _ = ch.send_text(reply).await;
                                }
                            }
                        }
                    });
                }
                RTCPeerConnectionEvent::ConnectionStateChange(s) => {
                    println!("Connection state is {s:?}");
                    if s == RTCPeerConnectionState::Failed {
                        break;
                    }
                }
                _ => {}
            },
            Some(()) = done.recv() => break,
        }
    }
    signaling.close().await;
    pc.close().await;
}
