//! IceTransport on real loopback sockets: IPv4 and IPv6 host candidates,
//! the port range, and sockets released on close.

mod common;

use std::time::Duration;

use common::{is_up, next};
use oxrtc::ice::IceEvent;
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};

fn config(ipv6: bool, port_range: Option<(u16, u16)>) -> IceTransportConfig {
    IceTransportConfig {
        interfaces: InterfaceFilter { ipv6, ..InterfaceFilter::loopback_only() },
        port_range,
        ..Default::default()
    }
}

/// Connects two transports with trickle and returns them once both are up
/// and a datagram went each way.
async fn connect(mut a: IceTransport, mut b: IceTransport) -> (IceTransport, IceTransport) {
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;
    let mut up = [false, false];
    let mut got = [false, false];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(got[0] && got[1]) {
        assert!(tokio::time::Instant::now() < deadline, "no connection in 10 s");
        let (side, e) = tokio::select! {
            e = next(&mut a, Duration::from_secs(10), "A's events") => (0, e),
            e = next(&mut b, Duration::from_secs(10), "B's events") => (1, e),
        };
        let (me, peer) = if side == 0 { (&a, &b) } else { (&b, &a) };
        match e {
            IceTransportEvent::Ice(IceEvent::LocalCandidate(c)) => peer.add_remote_candidate(c).await,
            IceTransportEvent::Ice(IceEvent::GatheringComplete) => peer.end_of_remote_candidates().await,
            e if is_up(&e) && !up[side] => {
                up[side] = true;
                me.send(b"ping".to_vec()).await;
            }
            IceTransportEvent::Data(d) => {
                assert_eq!(d, b"ping");
                got[side] = true;
            }
            _ => {}
        }
    }
    (a, b)
}

#[tokio::test]
async fn ipv4_and_ipv6_host_candidates_connect() {
    let a = IceTransport::start(config(true, None), true).await.unwrap();
    let b = IceTransport::start(config(true, None), false).await.unwrap();
    assert!(a.local_addresses().iter().any(|s| s.is_ipv6()), "no ::1 socket: {:?}", a.local_addresses());
    assert!(a.local_addresses().iter().any(|s| s.is_ipv4()));
    connect(a, b).await;
}

#[tokio::test]
async fn port_range_and_release_on_close() {
    let range = Some((47400, 47409));
    let a = IceTransport::start(config(false, range), true).await.unwrap();
    let b = IceTransport::start(config(false, range), false).await.unwrap();
    let ports: Vec<u16> = a.local_addresses().iter().chain(b.local_addresses()).map(|s| s.port()).collect();
    assert!(ports.iter().all(|p| (47400..=47409).contains(p)), "{ports:?}");
    let taken = a.local_addresses()[0];
    let (a, b) = connect(a, b).await;
    a.close().await;
    b.close().await;
    // The socket is released: its port can be bound again.
    std::net::UdpSocket::bind(taken).expect("the closed transport released its socket");
}
