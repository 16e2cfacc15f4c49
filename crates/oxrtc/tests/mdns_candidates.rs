//! Remote candidates that hide their address behind an mDNS `.local` name,
//! as Chrome and Firefox send them, are resolved and connect. A responder on
//! loopback stands in for the multicast group, so traffic stays on 127.0.0.1
//! (the browser interop tests exercise a browser's own responder).

mod common;

use std::time::Duration;

use common::{is_up, next};
use oxrtc::ice::IceEvent;
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};
use tokio::net::UdpSocket;

const NAME: &str = "0c8f5a34-8e1b-4d2a-9f4e-6b7a1c2d3e4f.local";

/// Answers A queries for NAME with 127.0.0.1, like a browser's responder.
async fn responder() -> std::net::SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        for _ in 0..20 {
            let Ok(Ok((n, from))) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buf)).await
            else {
                return;
            };
            let q = &buf[..n];
            let mut r = q[..12].to_vec();
            r[2] = 0x84;
            r[4..6].copy_from_slice(&[0, 0]); // no questions echoed
            r[6..8].copy_from_slice(&[0, 1]);
            for label in NAME.split('.') {
                r.push(label.len() as u8);
                r.extend_from_slice(label.as_bytes());
            }
            r.push(0);
            r.extend_from_slice(&[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 127, 0, 0, 1]);
            let _ = socket.send_to(&r, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn dot_local_candidates_are_resolved_and_connect() {
    let base = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let a_config = IceTransportConfig { mdns_server: Some(responder().await), ..base.clone() };
    let mut a = IceTransport::start(a_config, true).await.unwrap();
    let mut b = IceTransport::start(base, false).await.unwrap();
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;

    // B's candidates reach A with their IP replaced by an mDNS name.
    let mut hidden = 0;
    loop {
        match next(&mut b, Duration::from_secs(5), "B's candidates").await {
            IceTransportEvent::Ice(IceEvent::LocalCandidate(c)) => {
                let line = c.to_sdp().replace("127.0.0.1", NAME);
                assert!(line.contains(".local"));
                a.add_remote_candidate_sdp(&line).unwrap();
                hidden += 1;
            }
            IceTransportEvent::Ice(IceEvent::GatheringComplete) => break,
            _ => {}
        }
    }
    assert!(hidden > 0);
    // A's candidates never reach B: the only way to connect is A checking B
    // at the address it resolved (B then learns A as peer-reflexive).
    let mut up = [false, false];
    let mut got = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(up[0] && up[1] && got) {
        assert!(tokio::time::Instant::now() < deadline, "no connection through the resolved candidate");
        tokio::select! {
            e = next(&mut a, Duration::from_secs(10), "A's events") => match e {
                IceTransportEvent::Ice(IceEvent::SelectedPairChanged { remote, .. }) => {
                    assert_eq!(remote.address.ip().to_string(), "127.0.0.1");
                    assert_eq!(remote.kind, oxrtc::ice::CandidateKind::Host, "the resolved host candidate");
                }
                e if is_up(&e) && !up[0] => { up[0] = true; a.send(b"via mdns".to_vec()).await; }
                _ => {}
            },
            e = next(&mut b, Duration::from_secs(10), "B's events") => match e {
                e if is_up(&e) => up[1] = true,
                IceTransportEvent::Data(d) => { assert_eq!(d, b"via mdns"); got = true; }
                _ => {}
            },
        }
    }
}
