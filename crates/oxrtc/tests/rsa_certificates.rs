//! RTCPeerConnection with an RSA certificate on one side (feature
//! `openssl`: the OpenSSL DTLS engine), as some SIP gateways and media
//! servers have: the peer with an ECDSA certificate accepts it when it runs
//! the OpenSSL engine too. Run by scripts/test.sh with `--features openssl`.
#![cfg(feature = "openssl")]

use std::time::Duration;

use oxrtc::dtls::{Certificate, CertificateOptions, Engine, KeyType};
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCSessionDescription,
};

async fn gathered(pc: &RTCPeerConnection, desc: Option<RTCSessionDescription>) -> RTCSessionDescription {
    pc.set_local_description(desc).await.unwrap();
    let wait =
        async { while !matches!(pc.next_event().await, Some(RTCPeerConnectionEvent::IceCandidate(None)) | None) {} };
    tokio::time::timeout(Duration::from_secs(10), wait).await.expect("gathering completes");
    pc.local_description().unwrap()
}

#[tokio::test]
async fn rsa_and_ecdsa_peers_connect_with_the_openssl_engine() {
    let rsa = Certificate::generate_with(&CertificateOptions { key: KeyType::RSA_2048, ..Default::default() }).unwrap();
    let config = |certificates: Vec<Certificate>| RTCConfiguration {
        interfaces: InterfaceFilter::loopback_only(),
        certificates,
        dtls_engine: Engine::OpenSsl,
        ..Default::default()
    };
    let a = RTCPeerConnection::new(config(vec![rsa.clone()])).await.unwrap();
    let b = RTCPeerConnection::new(config(vec![])).await.unwrap();
    let ch = a.create_data_channel("rsa", None).await.unwrap();
    let offer = gathered(&a, None).await;
    b.set_remote_description(offer).await.unwrap();
    let answer = gathered(&b, None).await;
    a.set_remote_description(answer).await.unwrap();
    let theirs = loop {
        match tokio::time::timeout(Duration::from_secs(10), b.next_event()).await.expect("datachannel in time") {
            Some(RTCPeerConnectionEvent::DataChannel(c)) => break c,
            Some(_) => {}
            None => panic!("closed"),
        }
    };
    loop {
        if tokio::time::timeout(Duration::from_secs(10), ch.next_event()).await.unwrap() == Some(DataChannelEvent::Open)
        {
            break;
        }
    }
    ch.send_text("over RSA").await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), theirs.next_event()).await.unwrap() {
            Some(DataChannelEvent::Message { data, .. }) => {
                assert_eq!(&data[..], b"over RSA");
                break;
            }
            Some(_) => {}
            None => panic!("channel ended"),
        }
    }
    // b saw a's RSA certificate.
    let report = b.get_stats().await;
    let remote = report.certificates().find(|c| c.id == "CF-remote").expect("the peer's certificate");
    assert_eq!(remote.fingerprint, rsa.fingerprint(oxrtc::dtls::Algorithm::Sha256));
    a.close().await;
    b.close().await;
}
