//! `datachannel-filexfer`: send a file over a data channel with
//! back-pressure, a progress bar and the achieved throughput; receive it and
//! verify its size and SHA-256. The sender offers (as in aiortc's filexfer
//! example); signaling is aiortc's contrib format.
//!
//! ```text
//! cargo run --release -p oxrtc --example datachannel-filexfer -- receive OUT --signaling unix-socket &
//! cargo run --release -p oxrtc --example datachannel-filexfer -- send FILE --signaling unix-socket
//! ```

#[path = "../datachannel-cli/signaling.rs"]
mod signaling;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxrtc::{
    DataChannelEvent, InterfaceFilter, PeerError, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent,
};
use sha2::{Digest, Sha256};
use signaling::{gathered, Message, Method, Signaling};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Bytes per message.
const CHUNK: usize = 64 * 1024;

fn progress(done: u64, total: u64, start: Instant) {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / start.elapsed().as_secs_f64().max(1e-6) / 1e6;
    let bar: String = (0..40).map(|i| if i * 100 / 40 < pct { '#' } else { ' ' }).collect();
    eprint!("\r[{bar}] {pct:3}% {:.1}/{:.1} MB {rate:.1} MB/s", done as f64 / 1e6, total as f64 / 1e6);
    let _ = std::io::stderr().flush();
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let method = Method::from_args(&mut args).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let (send, path) = match args.as_slice() {
        [role, path] if role == "send" => (true, path.clone()),
        [role, path] if role == "receive" => (false, path.clone()),
        _ => {
            eprintln!("usage: datachannel-filexfer send FILE | receive FILE [--signaling ...]");
            std::process::exit(2)
        }
    };
    let pc = Arc::new(
        RTCPeerConnection::new(RTCConfiguration {
            interfaces: InterfaceFilter::loopback_only(),
            // Room for a good window of 64 KiB messages in flight.
            send_buffer_limit: Some(8 * 1024 * 1024),
            ..Default::default()
        })
        .await
        .expect("peer connection"),
    );
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
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
    let mut sig = Signaling::new(method);
    let ok = if send {
        sender(&pc, &mut sig, &mut events, &path).await
    } else {
        receiver(&pc, &mut sig, &mut events, &path).await
    };
    sig.close().await;
    pc.close().await;
    if let Err(e) = ok {
        eprintln!("\nfailed: {e}");
        std::process::exit(1);
    }
}

async fn sender(
    pc: &RTCPeerConnection,
    sig: &mut Signaling,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<RTCPeerConnectionEvent>,
    path: &str,
) -> Result<(), String> {
    let mut file = tokio::fs::File::open(path).await.map_err(|e| format!("{path}: {e}"))?;
    let total = file.metadata().await.map_err(|e| e.to_string())?.len();
    let ch = pc.create_data_channel("filexfer", None).await.map_err(|e| e.to_string())?;
    ch.set_buffered_amount_low_threshold(2 * 1024 * 1024).await;
    pc.set_local_description(None).await.map_err(|e| e.to_string())?;
    let offer = gathered(pc, events).await;
    sig.send(&Message::Description(offer)).await.map_err(|e| e.to_string())?;
    match sig.receive().await.map_err(|e| e.to_string())? {
        Some(Message::Description(answer)) => pc.set_remote_description(answer).await.map_err(|e| e.to_string())?,
        other => return Err(format!("expected an answer, got {other:?}")),
    }
    while ch.next_event().await.ok_or("channel closed before opening")? != DataChannelEvent::Open {}
    ch.send_text(format!("size:{total}")).await.map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    let mut last_print = Instant::now();
    loop {
        let n = file.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        let data = Bytes::copy_from_slice(&buf[..n]);
        // Back-pressure: a full send buffer means wait for bufferedamountlow.
        loop {
            match ch.send(data.clone()).await {
                Ok(()) => break,
                Err(PeerError::SendBufferFull) => loop {
                    match ch.next_event().await {
                        Some(DataChannelEvent::BufferedAmountLow) => break,
                        Some(_) => {}
                        None => return Err("channel closed while sending".into()),
                    }
                },
                Err(e) => return Err(e.to_string()),
            }
        }
        done += n as u64;
        if last_print.elapsed() > Duration::from_millis(200) {
            progress(done, total, start);
            last_print = Instant::now();
        }
    }
    let digest: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    ch.send_text(format!("done:{digest}")).await.map_err(|e| e.to_string())?;
    // The receiver confirms once everything arrived and matched.
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ch.next_event()).await {
            Ok(Some(DataChannelEvent::Message { data, binary: false })) => {
                let text = String::from_utf8_lossy(&data).to_string();
                progress(total, total, start);
                let secs = start.elapsed().as_secs_f64();
                eprintln!();
                println!(
                    "sent {total} bytes in {secs:.2} s: {:.1} MB/s, receiver says {text}",
                    total as f64 / secs / 1e6
                );
                if std::env::var_os("FILEXFER_STATS").is_some() {
                    eprintln!("{:#?}", pc.get_stats().await.sctp_transport());
                }
                return if text == "ok" { Ok(()) } else { Err(format!("receiver: {text}")) };
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return Err("no confirmation from the receiver".into()),
        }
    }
}

async fn receiver(
    pc: &RTCPeerConnection,
    sig: &mut Signaling,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<RTCPeerConnectionEvent>,
    path: &str,
) -> Result<(), String> {
    match sig.receive().await.map_err(|e| e.to_string())? {
        Some(Message::Description(offer)) => pc.set_remote_description(offer).await.map_err(|e| e.to_string())?,
        other => return Err(format!("expected an offer, got {other:?}")),
    }
    pc.set_local_description(None).await.map_err(|e| e.to_string())?;
    let answer = gathered(pc, events).await;
    sig.send(&Message::Description(answer)).await.map_err(|e| e.to_string())?;
    let ch = loop {
        match tokio::time::timeout(Duration::from_secs(20), events.recv()).await {
            Ok(Some(RTCPeerConnectionEvent::DataChannel(ch))) => break ch,
            Ok(Some(_)) => {}
            _ => return Err("no data channel from the sender".into()),
        }
    };
    let mut out = tokio::fs::File::create(path).await.map_err(|e| format!("{path}: {e}"))?;
    let mut hash = Sha256::new();
    let (mut total, mut done) = (0u64, 0u64);
    let mut start = Instant::now();
    let mut last_print = Instant::now();
    while let Some(e) = ch.next_event().await {
        let DataChannelEvent::Message { data, binary } = e else { continue };
        if binary {
            hash.update(&data);
            out.write_all(&data).await.map_err(|e| e.to_string())?;
            done += data.len() as u64;
            if last_print.elapsed() > Duration::from_millis(200) {
                progress(done, total, start);
                last_print = Instant::now();
            }
            continue;
        }
        let text = String::from_utf8_lossy(&data).to_string();
        if let Some(size) = text.strip_prefix("size:") {
            total = size.parse().map_err(|_| format!("bad size {size}"))?;
            start = Instant::now();
        } else if let Some(want) = text.strip_prefix("done:") {
            out.flush().await.map_err(|e| e.to_string())?;
            let got: String = std::mem::take(&mut hash).finalize().iter().map(|b| format!("{b:02x}")).collect();
            let verdict = if done == total && got == want {
                "ok".to_string()
            } else {
                format!("mismatch: {done} of {total} bytes, sha256 {got}")
            };
            ch.send_text(verdict.clone()).await.map_err(|e| e.to_string())?;
            progress(done, total, start);
            let secs = start.elapsed().as_secs_f64();
            eprintln!();
            println!(
                "received {done} bytes in {secs:.2} s: {:.1} MB/s, sha256 {got}: {verdict}",
                done as f64 / secs / 1e6
            );
            // Let the verdict leave before closing.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return if verdict == "ok" { Ok(()) } else { Err(verdict) };
        }
    }
    Err("channel closed before the transfer completed".into())
}
