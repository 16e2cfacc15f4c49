//! Two oxrtc ORTC stacks on loopback: IceTransport, DtlsTransport and
//! SctpTransport used directly (the same transport and driver as
//! RTCPeerConnection, without JSEP).

use std::time::{Duration, Instant};

use bytes::Bytes;
use oxrtc::datachannel::{ChannelEvent, ChannelInit, DataChannelError, DataChannelEvent};
use oxrtc::dtls::{Algorithm, Certificate, DtlsConfig, Fingerprint, Role};
use oxrtc::ice::IceEvent;
use oxrtc::sctp::SendError;
use oxrtc::{DtlsTransport, IceTransport, IceTransportConfig, InterfaceFilter, SctpTransport, SctpTransportEvent};

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Both ends connected, with a channel open; the set-up time (certificates excluded).
async fn connect() -> Result<([SctpTransport; 2], u16, Duration), String> {
    let (cert_a, cert_b) = (Certificate::generate().map_err(err)?, Certificate::generate().map_err(err)?);
    let t0 = Instant::now();
    let config = || IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let ice_a = IceTransport::start(config(), true).await.map_err(err)?;
    let ice_b = IceTransport::start(config(), false).await.map_err(err)?;
    let (ca, cb) = (ice_a.local_credentials().clone(), ice_b.local_credentials().clone());
    ice_a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    ice_b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;
    let fp = |c: &Certificate| Fingerprint::of_der(Algorithm::Sha256, c.der());
    let a = DtlsTransport::start(ice_a, DtlsConfig::new(Role::Client, cert_a.clone(), vec![fp(&cert_b)])).await;
    let b = DtlsTransport::start(ice_b, DtlsConfig::new(Role::Server, cert_b, vec![fp(&cert_a)])).await;
    let sctp = oxrtc::sctp::SctpConfig::default;
    let a = SctpTransport::start(a.map_err(err)?, sctp()).await.map_err(err)?;
    let b = SctpTransport::start(b.map_err(err)?, sctp()).await.map_err(err)?;
    let mut t = [a, b];
    let id = t[0].create_data_channel(ChannelInit::new("bench")).await.map_err(err)?;
    let mut open = [false, false];
    while open != [true, true] {
        let [a, b] = &mut t;
        let (side, e) = tokio::select! {
            e = a.next_event() => (0, e),
            e = b.next_event() => (1, e),
        };
        let e = e.ok_or("transport ended during set-up")?;
        let peer = t[1 - side].dtls().ice();
        match e {
            SctpTransportEvent::Ice(IceEvent::LocalCandidate(c)) => {
                crate::check_loopback(&format!("a={}", c.to_sdp()))?;
                peer.add_remote_candidate(c).await
            }
            SctpTransportEvent::Ice(IceEvent::GatheringComplete) => peer.end_of_remote_candidates().await,
            SctpTransportEvent::Channel(DataChannelEvent::Channel(_, ChannelEvent::Open)) if side == 0 => {
                open[0] = true
            }
            SctpTransportEvent::Channel(DataChannelEvent::Incoming(_)) if side == 1 => open[1] = true,
            _ => {}
        }
    }
    Ok((t, id, t0.elapsed()))
}

/// One set-up: transports started to the channel open on both ends.
pub async fn setup() -> Result<Duration, String> {
    let ([a, b], _, took) = connect().await?;
    a.close().await;
    b.close().await;
    Ok(took)
}

/// Sends `count` messages of `size` bytes; the seconds from the first send to the last
/// byte received.
pub async fn transfer(size: usize, count: usize) -> Result<f64, String> {
    let ([a, mut b], id, _) = connect().await?;
    let data = Bytes::from(vec![0x5a; size]);
    let t0 = Instant::now();
    let sender = async {
        for _ in 0..count {
            loop {
                match a.send(id, data.clone(), true).await {
                    Ok(()) => break,
                    // Back-pressure: the ORTC API has no bufferedamountlow wait here; retry shortly.
                    Err(DataChannelError::Send(SendError::BufferFull { .. })) => {
                        tokio::time::sleep(Duration::from_micros(500)).await
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        Ok(())
    };
    let receiver = async {
        let mut got = 0usize;
        while got < size * count {
            match b.next_event().await {
                Some(SctpTransportEvent::Channel(DataChannelEvent::Channel(_, ChannelEvent::Message { data, .. }))) => {
                    got += data.len()
                }
                Some(_) => {}
                None => return Err("receiver ended".to_string()),
            }
        }
        Ok(t0.elapsed().as_secs_f64())
    };
    let (sent, secs) = tokio::join!(sender, receiver);
    sent?;
    let secs = secs?;
    a.close().await;
    b.close().await;
    Ok(secs)
}
