//! Two ICE agents connect over real loopback sockets: prints the gathered
//! candidates, the selected pair, the time it took, and a datagram each way.
//!
//! `cargo run -p oxrtc --example ice-demo`

use std::time::{Duration, Instant};

use oxrtc::ice::IceEvent;
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let config = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let started = Instant::now();
    let mut a = IceTransport::start(config.clone(), true).await?;
    let mut b = IceTransport::start(config, false).await?;
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;

    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    let mut connected = [false, false];
    let mut got = [false, false];
    while !(got[0] && got[1]) {
        let (side, event) = tokio::select! {
            e = a.next_event() => (0, e),
            e = b.next_event() => (1, e),
            _ = &mut deadline => {
                eprintln!("ICE did not connect within 10 s");
                std::process::exit(1);
            }
        };
        let name = ["A", "B"][side];
        let (me, peer) = if side == 0 { (&a, &b) } else { (&b, &a) };
        match event {
            None => break,
            Some(IceTransportEvent::Ice(IceEvent::LocalCandidate(c))) => {
                println!("{name}: gathered a={c}");
                peer.add_remote_candidate(c).await;
            }
            Some(IceTransportEvent::Ice(IceEvent::GatheringComplete)) => {
                println!("{name}: gathering complete");
                peer.end_of_remote_candidates().await;
            }
            Some(IceTransportEvent::Ice(IceEvent::SelectedPairChanged { local, remote })) => {
                println!("{name}: selected pair {} -> {} after {:?}", local.address, remote.address, started.elapsed());
            }
            Some(IceTransportEvent::Ice(IceEvent::StateChanged(s))) => {
                println!("{name}: state {s:?} at {:?}", started.elapsed());
                if matches!(s, oxrtc::ice::IceTransportState::Connected | oxrtc::ice::IceTransportState::Completed)
                    && !connected[side]
                {
                    connected[side] = true;
                    me.send(format!("hello from {name}").into_bytes()).await;
                }
            }
            Some(IceTransportEvent::Ice(other)) => println!("{name}: {other:?}"),
            Some(IceTransportEvent::Data(d)) => {
                println!("{name}: received {:?}", String::from_utf8_lossy(&d));
                got[side] = true;
            }
        }
    }
    println!("done in {:?}", started.elapsed());
    a.close().await;
    b.close().await;
    Ok(())
}
