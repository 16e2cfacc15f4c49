//! DtlsTransport over IceTransport on real loopback sockets: two oxrtc
//! peers, DTLS 1.2 and 1.3, SRTP and data both ways, close_notify, and a
//! wrong fingerprint that fails the transport with nothing delivered.

use std::time::Duration;

mod common;

use oxrtc::dtls::{Algorithm, Certificate, DtlsError, DtlsVersion, Fingerprint};
use oxrtc::ice::IceEvent;
use oxrtc::{DtlsTransport, DtlsTransportEvent};

fn rtp(ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 111];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Two DTLS transports over ICE; `b_expects` is the fingerprint B
/// expects of A (A's own unless a test lies).
async fn pair(version: DtlsVersion, b_expects: Option<Fingerprint>, timeout: Duration) -> [DtlsTransport; 2] {
    common::loopback_dtls_pair(b_expects, |c| {
        c.version = version;
        c.handshake_timeout = timeout;
    })
    .await
}

/// Runs both transports, trickling candidates, until `done` says stop;
/// every non-ICE event is handed to `seen` with the side it came from.
async fn run(t: &mut [DtlsTransport; 2], mut seen: impl FnMut(usize, DtlsTransportEvent) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let [a, b] = t;
        let (side, e) = tokio::select! {
            e = a.next_event() => (0, e.expect("A closed")),
            e = b.next_event() => (1, e.expect("B closed")),
            _ = tokio::time::sleep_until(deadline) => panic!("scenario did not finish in 15 s"),
        };
        let peer = t[1 - side].ice();
        match e {
            DtlsTransportEvent::Ice(IceEvent::LocalCandidate(c)) => peer.add_remote_candidate(c).await,
            DtlsTransportEvent::Ice(IceEvent::GatheringComplete) => peer.end_of_remote_candidates().await,
            DtlsTransportEvent::Ice(_) => {}
            e => {
                if seen(side, e) {
                    return;
                }
            }
        }
    }
}

async fn srtp_and_data_both_ways(version: DtlsVersion) {
    let mut t = pair(version, None, Duration::from_secs(10)).await;
    let mut connected = [false; 2];
    let mut profiles = Vec::new();
    run(&mut t, |side, e| match e {
        DtlsTransportEvent::Connected { srtp_profile, .. } => {
            connected[side] = true;
            profiles.push(srtp_profile.expect("SRTP negotiated"));
            connected == [true, true]
        }
        e => panic!("unexpected {e:?}"),
    })
    .await;
    assert_eq!(profiles[0], profiles[1]);

    for (i, s) in t.iter().enumerate() {
        s.send(format!("data from {i}").into_bytes()).await;
        for seq in 0..10u16 {
            s.send_rtp(rtp(100 + i as u32, 65530u16.wrapping_add(seq), &[i as u8; 160])).await;
        }
        s.send_rtcp(vec![0x80, 201, 0, 1, 0, 0, 0, 100 + i as u8]).await;
    }
    let mut got = [(0, 0, 0); 2];
    run(&mut t, |side, e| {
        let from = 1 - side;
        match e {
            DtlsTransportEvent::Data(d) => {
                assert_eq!(d, format!("data from {from}").into_bytes());
                got[side].0 += 1;
            }
            DtlsTransportEvent::Rtp(p) => {
                assert_eq!(p[8..12], (100 + from as u32).to_be_bytes());
                assert_eq!(p[12..], [from as u8; 160]);
                got[side].1 += 1;
            }
            DtlsTransportEvent::Rtcp(p) => {
                assert_eq!(p, [0x80, 201, 0, 1, 0, 0, 0, 100 + from as u8]);
                got[side].2 += 1;
            }
            e => panic!("unexpected {e:?}"),
        }
        got == [(1, 10, 1); 2]
    })
    .await;

    // close_notify: A closes, B sees Closed.
    let [a, mut b] = t;
    a.close().await;
    let e = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match b.next_event().await {
                Some(DtlsTransportEvent::Ice(_)) => continue,
                e => return e,
            }
        }
    })
    .await
    .expect("B heard of the close in time");
    assert_eq!(e, Some(DtlsTransportEvent::Closed));
    b.close().await;
}

#[tokio::test]
async fn dtls12_srtp_and_data_both_ways_then_close() {
    srtp_and_data_both_ways(DtlsVersion::Dtls12).await;
}

#[tokio::test]
async fn dtls13_srtp_and_data_both_ways_then_close() {
    srtp_and_data_both_ways(DtlsVersion::Dtls13).await;
}

#[tokio::test]
async fn wrong_fingerprint_fails_and_delivers_nothing() {
    let liar = Certificate::generate().unwrap();
    let wrong = Fingerprint::of_der(Algorithm::Sha256, liar.der());
    let mut t = pair(DtlsVersion::Dtls12, Some(wrong), Duration::from_secs(3)).await;
    let mut failed = [None, None];
    run(&mut t, |side, e| match e {
        DtlsTransportEvent::Failed(e) => {
            failed[side] = Some(e);
            failed[0].is_some() && failed[1].is_some()
        }
        // A (client) may complete its side in some orders; it must never
        // get data, and B never connects.
        DtlsTransportEvent::Connected { .. } if side == 0 => false,
        e => panic!("side {side}: unexpected {e:?}"),
    })
    .await;
    assert!(matches!(failed[1], Some(DtlsError::FingerprintMismatch { algorithm: Algorithm::Sha256 })), "{failed:?}");
    assert!(matches!(failed[0], Some(DtlsError::HandshakeTimeout { .. })), "{failed:?}");
}
