//! Two agents with the relay-only policy talk through a real coturn on
//! loopback, reaching it over UDP, TCP or TLS. Run by scripts/test.sh, which
//! starts coturn and sets OXRTC_TURN_*.

mod common;

use std::time::Duration;

use common::{env, is_up, next};
use oxrtc::ice::{CandidateKind, IceConfig, IceEvent, TransportPolicy, TurnServer, TurnTransport};
use oxrtc::{IceTransport, IceTransportConfig, IceTransportEvent, InterfaceFilter};

fn relay_config(password: &str) -> IceTransportConfig {
    relay_config_over(TurnTransport::Udp, password)
}

/// Relay-only through coturn reached over `transport`; TLS trusts coturn's
/// self-signed certificate (OXRTC_TURN_CA) and verifies the name "localhost".
fn relay_config_over(transport: TurnTransport, password: &str) -> IceTransportConfig {
    let var = match transport {
        TurnTransport::Udp => "OXRTC_TURN_UDP",
        TurnTransport::Tcp => "OXRTC_TURN_TCP",
        TurnTransport::Tls => "OXRTC_TURN_TLS",
    };
    let server = TurnServer {
        address: env(var).parse().unwrap(),
        username: env("OXRTC_TURN_USER"),
        password: password.to_string(),
        transport,
    };
    let turn_tls_ca = if transport == TurnTransport::Tls {
        vec![std::fs::read(env("OXRTC_TURN_CA")).expect("read OXRTC_TURN_CA")]
    } else {
        Vec::new()
    };
    IceTransportConfig {
        ice: IceConfig { turn_servers: vec![server], policy: TransportPolicy::Relay, ..Default::default() },
        interfaces: InterfaceFilter::loopback_only(),
        port_range: None,
        turn_tls_ca,
        turn_tls_server_name: Some("localhost".into()),
        ..Default::default()
    }
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn relay_only_agents_exchange_data_through_coturn() {
    let pass = env("OXRTC_TURN_PASS");
    exchange_through_relays(relay_config(&pass), relay_config(&pass)).await;
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn relay_only_agents_exchange_data_through_coturn_over_tcp() {
    let pass = env("OXRTC_TURN_PASS");
    exchange_through_relays(relay_config_over(TurnTransport::Tcp, &pass), relay_config_over(TurnTransport::Tcp, &pass))
        .await;
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn relay_only_agents_exchange_data_through_coturn_over_tls_and_tcp() {
    let pass = env("OXRTC_TURN_PASS");
    exchange_through_relays(relay_config_over(TurnTransport::Tls, &pass), relay_config_over(TurnTransport::Tcp, &pass))
        .await;
}

#[tokio::test]
#[ignore = "needs coturn: run scripts/test.sh"]
async fn tls_with_the_wrong_server_name_is_a_701_error() {
    let mut config = relay_config_over(TurnTransport::Tls, &env("OXRTC_TURN_PASS"));
    config.turn_tls_server_name = Some("not-localhost.test".into());
    expect_connection_error(config).await;
}

/// Needs no coturn: nothing listens on the port, so the TCP connection is
/// refused and gathering still completes.
#[tokio::test]
async fn unreachable_tcp_turn_server_is_a_701_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = TurnServer {
        address: format!("127.0.0.1:{port}").parse().unwrap(),
        username: "nobody".into(),
        password: "nothing".into(),
        transport: TurnTransport::Tcp,
    };
    let config = IceTransportConfig {
        ice: IceConfig { turn_servers: vec![server], policy: TransportPolicy::Relay, ..Default::default() },
        interfaces: InterfaceFilter::loopback_only(),
        ..Default::default()
    };
    expect_connection_error(config).await;
}

/// Waits for a 701 ServerError about the connection and GatheringComplete.
async fn expect_connection_error(config: IceTransportConfig) {
    let mut a = IceTransport::start(config, true).await.unwrap();
    let (mut error, mut complete) = (false, false);
    while !(error && complete) {
        match next(&mut a, Duration::from_secs(15), "a TURN connection error and end of gathering").await {
            IceTransportEvent::Ice(IceEvent::ServerError { code, text, .. }) => {
                assert_eq!(code, 701, "{text}");
                assert!(text.contains("connection failed"), "{text}");
                error = true;
            }
            IceTransportEvent::Ice(IceEvent::GatheringComplete) => complete = true,
            IceTransportEvent::Ice(IceEvent::LocalCandidate(c)) => panic!("unexpected candidate {c:?}"),
            _ => {}
        }
    }
    a.close().await;
}

/// Two relay-only agents connect and exchange one datagram each way.
async fn exchange_through_relays(config_a: IceTransportConfig, config_b: IceTransportConfig) {
    let mut a = IceTransport::start(config_a, true).await.unwrap();
    let mut b = IceTransport::start(config_b, false).await.unwrap();
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
    // Both sides reported the pair they carried the data on, and it is relayed at both ends.
    for (side, pair) in selected.iter().enumerate() {
        let (local, remote) = pair.as_ref().unwrap_or_else(|| panic!("side {side} never reported a selected pair"));
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
