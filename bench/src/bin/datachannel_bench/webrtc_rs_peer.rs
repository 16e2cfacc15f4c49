//! Two webrtc-rs (`webrtc` crate) peer connections on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCSessionDescription, SettingEngineBuilder,
};

use crate::{check_loopback, HIGH_WATER};

fn err(e: impl std::fmt::Debug) -> String {
    format!("{e:?}")
}

/// Forwards the events the bench waits for.
struct Handler {
    gathered: mpsc::UnboundedSender<()>,
    channels: mpsc::UnboundedSender<Arc<dyn DataChannel>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(());
        }
    }

    async fn on_data_channel(&self, data_channel: Arc<dyn DataChannel>) {
        let _ = self.channels.send(data_channel);
    }
}

struct Peer {
    pc: Box<dyn PeerConnection>,
    gathered: mpsc::UnboundedReceiver<()>,
    channels: mpsc::UnboundedReceiver<Arc<dyn DataChannel>>,
}

async fn peer() -> Result<Peer, String> {
    let (gtx, gathered) = mpsc::unbounded_channel();
    let (ctx, channels) = mpsc::unbounded_channel();
    // No ICE servers; one socket on 127.0.0.1 (the only host candidate); no mDNS.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_include_loopback_candidate(true)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler { gathered: gtx, channels: ctx }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        // Back-pressure as webrtc-rs offers it: `send` waits while this much is unacknowledged.
        .with_data_channel_send_buffer_limit(HIGH_WATER)
        .build()
        .await
        .map_err(err)?;
    Ok(Peer { pc: Box::new(pc), gathered, channels })
}

async fn gathered(p: &mut Peer) -> Result<RTCSessionDescription, String> {
    p.gathered.recv().await.ok_or("no gathering complete")?;
    let d = p.pc.local_description().await.ok_or("no local description")?;
    check_loopback(&d.sdp)?;
    Ok(d)
}

struct Pair {
    a: Peer,
    b: Peer,
    tx: Arc<dyn DataChannel>,
    rx: Arc<dyn DataChannel>,
    took: Duration,
}

async fn connect() -> Result<Pair, String> {
    let mut a = peer().await?;
    let mut b = peer().await?;
    let tx = a.pc.create_data_channel("bench", None).await.map_err(err)?;
    let t0 = Instant::now();
    let offer = a.pc.create_offer(None).await.map_err(err)?;
    a.pc.set_local_description(offer).await.map_err(err)?;
    let offer = gathered(&mut a).await?;
    b.pc.set_remote_description(offer).await.map_err(err)?;
    let answer = b.pc.create_answer(None).await.map_err(err)?;
    b.pc.set_local_description(answer).await.map_err(err)?;
    let answer = gathered(&mut b).await?;
    a.pc.set_remote_description(answer).await.map_err(err)?;
    let open = async {
        loop {
            match tx.poll().await {
                Some(DataChannelEvent::OnOpen) => return Ok(()),
                Some(_) => {}
                None => return Err("channel ended before open".to_string()),
            }
        }
    };
    let (opened, rx) = tokio::join!(open, b.channels.recv());
    opened?;
    let rx = rx.ok_or("no remote channel")?;
    Ok(Pair { a, b, tx, rx, took: t0.elapsed() })
}

/// One set-up: create_offer to both channels open.
pub async fn setup() -> Result<Duration, String> {
    let p = connect().await?;
    let _ = p.a.pc.close().await;
    let _ = p.b.pc.close().await;
    Ok(p.took)
}

/// Sends `count` messages of `size` bytes; returns the seconds from the first send to the
/// last byte received.
pub async fn transfer(size: usize, count: usize) -> Result<f64, String> {
    let p = connect().await?;
    let data = BytesMut::from(&vec![0x5a; size][..]);
    // The sender's own events (buffered amount low/high) are drained so that they never
    // hold back its driver.
    let tx_events = p.tx.clone();
    let drain = tokio::spawn(async move { while tx_events.poll().await.is_some() {} });
    let t0 = Instant::now();
    let sender = async {
        for _ in 0..count {
            // Blocks while HIGH_WATER bytes are unacknowledged.
            p.tx.send(data.clone()).await.map_err(err)?;
        }
        Ok::<_, String>(())
    };
    let receiver = async {
        let (mut bytes, mut msgs) = (0usize, 0usize);
        while msgs < count {
            match p.rx.poll().await {
                Some(DataChannelEvent::OnMessage(m)) => {
                    bytes += m.data.len();
                    msgs += 1;
                }
                Some(_) => {}
                None => return Err(format!("receiver channel ended after {msgs} messages")),
            }
        }
        Ok(bytes)
    };
    let (sent, bytes) = tokio::join!(sender, receiver);
    let secs = t0.elapsed().as_secs_f64();
    sent?;
    let bytes = bytes?;
    eprintln!("  webrtc-rs: {bytes} bytes");
    drain.abort();
    let _ = p.a.pc.close().await;
    let _ = p.b.pc.close().await;
    Ok(secs)
}
