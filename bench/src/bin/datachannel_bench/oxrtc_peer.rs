//! Two oxrtc `RTCPeerConnection`s on loopback.

use std::time::{Duration, Instant};

use bytes::Bytes;
use oxrtc::{
    DataChannelEvent, InterfaceFilter, PeerError, RTCConfiguration, RTCDataChannel, RTCPeerConnection,
    RTCPeerConnectionEvent,
};

use crate::{check_loopback, LOW_WATER};

fn config() -> RTCConfiguration {
    // No ICE servers; host candidates on loopback only. The default send buffer (4 MiB,
    // HIGH_WATER) is the high-water mark: `send` fails with BufferFull above it.
    RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Waits for the end of gathering and returns the complete local description.
async fn gathered(pc: &RTCPeerConnection) -> Result<oxrtc::RTCSessionDescription, String> {
    loop {
        match pc.next_event().await {
            Some(RTCPeerConnectionEvent::IceCandidate(None)) => break,
            Some(_) => {}
            None => return Err("connection ended while gathering".into()),
        }
    }
    // Before 5d2e353 the driver emitted events before it refreshed the snapshot that
    // `local_description` reads; a short bounded retry keeps older trees measurable.
    for _ in 0..1000 {
        if let Some(d) = pc.local_description().filter(|d| d.sdp.contains("a=candidate:")) {
            check_loopback(&d.sdp)?;
            return Ok(d);
        }
        tokio::time::sleep(Duration::from_micros(100)).await;
    }
    Err("no local description with candidates after the end of gathering".into())
}

struct Pair {
    a: RTCPeerConnection,
    b: RTCPeerConnection,
    tx: RTCDataChannel,
    rx: RTCDataChannel,
    took: Duration,
}

async fn connect() -> Result<Pair, String> {
    let a = RTCPeerConnection::new(config()).await.map_err(err)?;
    let b = RTCPeerConnection::new(config()).await.map_err(err)?;
    let tx = a.create_data_channel("bench", None).await.map_err(err)?;
    // BENCH_PHASES=1 prints where the set-up time goes.
    let phases = std::env::var_os("BENCH_PHASES").is_some();
    let t0 = Instant::now();
    a.set_local_description(None).await.map_err(err)?;
    let offer = gathered(&a).await?;
    if phases {
        eprintln!("  {:>6.1} ms offer gathered", t0.elapsed().as_secs_f64() * 1e3);
    }
    let phase = |what: &str| {
        if phases {
            eprintln!("  {:>6.1} ms {what}", t0.elapsed().as_secs_f64() * 1e3);
        }
    };
    b.set_remote_description(offer).await.map_err(err)?;
    phase("offer applied");
    b.set_local_description(None).await.map_err(err)?;
    phase("answer set");
    let answer = gathered(&b).await?;
    phase("answer gathered");
    a.set_remote_description(answer).await.map_err(err)?;
    if phases {
        eprintln!("  {:>6.1} ms answer applied", t0.elapsed().as_secs_f64() * 1e3);
    }
    let open = async {
        loop {
            match tx.next_event().await {
                Some(DataChannelEvent::Open) => {
                    if phases {
                        eprintln!("  {:>6.1} ms channel open at the offerer", t0.elapsed().as_secs_f64() * 1e3);
                    }
                    return Ok(());
                }
                Some(_) => {}
                None => return Err("channel ended before open".to_string()),
            }
        }
    };
    let remote = async {
        loop {
            match b.next_event().await {
                Some(RTCPeerConnectionEvent::DataChannel(ch)) => return Ok(ch),
                Some(e) if phases => eprintln!("  {:>6.1} ms answerer: {e:?}", t0.elapsed().as_secs_f64() * 1e3),
                Some(_) => {}
                None => return Err("connection ended before the channel".to_string()),
            }
        }
    };
    let (opened, rx) = tokio::join!(open, remote);
    opened?;
    let rx = rx?;
    Ok(Pair { a, b, tx, rx, took: t0.elapsed() })
}

/// One set-up: create_offer to both channels open.
pub async fn setup() -> Result<Duration, String> {
    let p = connect().await?;
    p.a.close().await;
    p.b.close().await;
    Ok(p.took)
}

/// Sends `count` messages of `size` bytes; returns the seconds from the first send to the
/// last byte received.
pub async fn transfer(size: usize, count: usize) -> Result<f64, String> {
    let p = connect().await?;
    p.tx.set_buffered_amount_low_threshold(LOW_WATER).await;
    let data = Bytes::from(vec![0x5a; size]);
    let t0 = Instant::now();
    let sender = async {
        let mut waits = 0u64;
        for _ in 0..count {
            loop {
                match p.tx.send(data.clone()).await {
                    Ok(()) => break,
                    Err(PeerError::SendBufferFull) => {
                        waits += 1;
                        // Back-pressure: wait for bufferedamountlow (or any event), then retry.
                        if p.tx.next_event().await.is_none() {
                            return Err("sender channel ended".to_string());
                        }
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        Ok(waits)
    };
    let receiver = async {
        let (mut bytes, mut msgs) = (0usize, 0usize);
        while msgs < count {
            match p.rx.next_event().await {
                Some(DataChannelEvent::Message { data, .. }) => {
                    bytes += data.len();
                    msgs += 1;
                }
                Some(_) => {}
                None => return Err(format!("receiver channel ended after {msgs} messages")),
            }
        }
        Ok(bytes)
    };
    let (waits, bytes) = tokio::join!(sender, receiver);
    let secs = t0.elapsed().as_secs_f64();
    let (waits, bytes) = (waits?, bytes?);
    eprintln!("  oxrtc: {bytes} bytes, {waits} back-pressure waits");
    p.a.close().await;
    p.b.close().await;
    Ok(secs)
}
