//! Two agents with the relay-only policy talk through a real coturn on
//! loopback. Run by scripts/test.sh, which starts coturn and sets OXRTC_TURN_*.

mod common;

use std::time::Duration;

use common::{env, is_up, next};
use oxrtc::ice::{CandidateKind, IceConfig, IceEvent, TransportPolicy, TurnServer};
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};

fn relay_config(password: &str) -> IceTransportConfig {
    let server = TurnServer {
        address: env("OXRTC_TURN_UDP").parse().unwrap(),
        username: env("OXRTC_TURN_USER"),
        password: password.to_string(),
    };
    IceTransportConfig {
        ice: IceConfig { turn_servers: vec![server], policy: TransportPolicy::Relay, ..Default::default() },
        interfaces: InterfaceFilter::loopback_only(),
        port_range: None,
    }
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn relay_only_agents_exchange_data_through_coturn() {
    let pass = env("OXRTC_TURN_PASS");
    let mut a = IceTransport::start(relay_config(&pass), true).await.unwrap();
    let mut b = IceTransport::start(relay_config(&pass), false).await.unwrap();
    let (ca, cb) = (a.local_credentials().clone(), b.local_credentials().clone());
    a.set_remote_credentials(&cb.ufrag, &cb.pwd).await;
    b.set_remote_credentials(&ca.ufrag, &ca.pwd).await;

    let mut up = [false, false];
    let mut selected = [None, None];
    let mut received = [false, false];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !(received[0] && received[1]) {
        assert!(tokio::time::Instant::now() < deadline, "relay-only connection did not carry data in 15 s");
        let (side, event) = tokio::select! {
            e = next(&mut a, Duration::from_secs(15), "A's events") => (0, e),
            e = next(&mut b, Duration::from_secs(15), "B's events") => (1, e),
        };
        let (me, peer) = if side == 0 { (&a, &b) } else { (&b, &a) };
        match event {
            IceTransportEvent::Ice(IceEvent::LocalCandidate(c)) => {
                assert_eq!(c.kind, CandidateKind::Relayed, "relay policy must signal relayed candidates only");
                peer.add_remote_candidate(c).await;
            }
            IceTransportEvent::Ice(IceEvent::GatheringComplete) => peer.end_of_remote_candidates().await,
            IceTransportEvent::Ice(IceEvent::SelectedPairChanged { local, remote }) => {
                selected[side] = Some((local, remote));
            }
            e if is_up(&e) && !up[side] => {
                up[side] = true;
                me.send(format!("through the relay from {side}").into_bytes()).await;
            }
            IceTransportEvent::Data(d) => {
                assert_eq!(d, format!("through the relay from {}", 1 - side).into_bytes());
                received[side] = true;
            }
            IceTransportEvent::Ice(IceEvent::ServerError { text, .. }) => panic!("TURN error: {text}"),
            _ => {}
        }
    }
    for (local, remote) in selected.iter().flatten() {
        assert_eq!(local.kind, CandidateKind::Relayed);
        assert_eq!(remote.kind, CandidateKind::Relayed);
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn wrong_turn_credentials_give_a_clear_error() {
    let mut a = IceTransport::start(relay_config("not-the-password"), true).await.unwrap();
    loop {
        if let IceTransportEvent::Ice(IceEvent::ServerError { code, text, .. }) =
            next(&mut a, Duration::from_secs(10), "a TURN error").await
        {
            assert_eq!(code, 401);
            assert!(text.contains("rejected the credentials"), "{text}");
            break;
        }
    }
}
