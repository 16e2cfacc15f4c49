//! Two rustrtc peer connections on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustrtc::transports::datachannel::DataChannel;
use rustrtc::{DataChannelEvent, PeerConnection, PeerConnectionEvent, RtcConfigurationBuilder, SessionDescription};

use crate::{check_loopback, HIGH_WATER, LOW_WATER};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

fn peer() -> PeerConnection {
    // No ICE servers (the default), one socket bound on 127.0.0.1 (host candidates on that
    // address only), no UPnP and no mDNS (both off by default, set anyway).
    let config = RtcConfigurationBuilder::new()
        .bind_ip("127.0.0.1".to_string())
        .enable_mdns(false)
        .ice_include_loopback_candidates(true)
        .build();
    PeerConnection::new(config)
}

async fn gathered(pc: &PeerConnection) -> Result<SessionDescription, String> {
    pc.wait_for_gathering_complete().await;
    let d = pc.local_description().ok_or("no local description")?;
    check_loopback(&d.to_sdp_string())?;
    Ok(d)
}

struct Pair {
    a: PeerConnection,
    b: PeerConnection,
    tx: Arc<DataChannel>,
    rx: Arc<DataChannel>,
    took: Duration,
}

async fn connect() -> Result<Pair, String> {
    let a = peer();
    let b = peer();
    let tx = a.create_data_channel("bench", None).map_err(err)?;
    let t0 = Instant::now();
    let offer = a.create_offer().await.map_err(err)?;
    a.set_local_description(offer).map_err(err)?;
    let offer = gathered(&a).await?;
    b.set_remote_description(offer).await.map_err(err)?;
    let answer = b.create_answer().await.map_err(err)?;
    b.set_local_description(answer).map_err(err)?;
    let answer = gathered(&b).await?;
    a.set_remote_description(answer).await.map_err(err)?;
    let open = async {
        loop {
            match tx.recv().await {
                Some(DataChannelEvent::Open) => return Ok(()),
                Some(_) => {}
                None => return Err("channel ended before open".to_string()),
            }
        }
    };
    let remote = async {
        loop {
            match b.recv().await {
                Some(PeerConnectionEvent::DataChannel(ch)) => return Ok(ch),
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
    p.a.close();
    p.b.close();
    Ok(p.took)
}

/// Sends `count` messages of `size` bytes; returns the seconds from the first send to the
/// last byte received.
pub async fn transfer(size: usize, count: usize) -> Result<f64, String> {
    let p = connect().await?;
    p.tx.set_buffered_amount_low_threshold(LOW_WATER);
    let data = vec![0x5a; size];
    let id = p.tx.id;
    let t0 = Instant::now();
    let sender = async {
        let mut waits = 0u64;
        for _ in 0..count {
            // W3C back-pressure: above the high-water mark, wait for bufferedamountlow.
            while p.tx.buffered_amount() > HIGH_WATER {
                waits += 1;
                let ev = tokio::time::timeout(Duration::from_millis(100), p.tx.recv()).await;
                if let Ok(None) = ev {
                    return Err("sender channel ended".to_string());
                }
            }
            p.a.send_data(id, &data).await.map_err(err)?;
        }
        Ok(waits)
    };
    let receiver = async {
        let (mut bytes, mut msgs) = (0usize, 0usize);
        while msgs < count {
            match p.rx.recv().await {
                Some(DataChannelEvent::Message(m)) => {
                    bytes += m.len();
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
    eprintln!("  rustrtc: {bytes} bytes, {waits} back-pressure waits");
    p.a.close();
    p.b.close();
    Ok(secs)
}
