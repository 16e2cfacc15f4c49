//! Interop with aiortc's ORTC objects (RTCIceGatherer, RTCIceTransport,
//! RTCDtlsTransport, from PyPI) over loopback: ICE + DTLS in both roles,
//! DTLS application data both ways, and SRTP/SRTCP packets protected by one
//! side and unprotected by the other (aiortc uses libsrtp), which proves the
//! exported keys agree. Run by scripts/test.sh, which sets OXRTC_PYTHON.

mod common;

use common::ortc::{connect, next, AiortcPeer};
use oxrtc::srtp::Profile;
use oxrtc::DtlsTransportEvent;

fn rtp(ssrc: u32, seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(1000u32 + seq as u32).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn rtp_ssrc_payload(p: &[u8]) -> (u32, &[u8]) {
    (u32::from_be_bytes(p[8..12].try_into().unwrap()), &p[12..])
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
        Profile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
        Profile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
        Profile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
    }
}

/// `aiortc_controlling`: aiortc is the ICE controlling agent and therefore
/// (ORTC rule) the DTLS server; we are then the DTLS client.
/// `only_profile`: aiortc offers (or accepts) just this SRTP profile.
async fn run(aiortc_controlling: bool, aiortc_closes: bool, only_profile: Option<Profile>) {
    let role = if aiortc_controlling { "controlling" } else { "controlled" };
    let mut args = vec!["--ice-role".to_string(), role.into(), "--timeout".into(), "40".into()];
    args.extend(only_profile.map(|p| format!("--srtp-profile={}", profile_name(p))));
    let mut peer = AiortcPeer::start(&args);
    let (mut dtls, remote_fingerprints) = connect(&mut peer, aiortc_controlling).await;

    // Connected, with the certificate aiortc announced.
    let profile = loop {
        match next(&mut dtls, "DTLS connected").await {
            DtlsTransportEvent::Connected { srtp_profile, remote_certificate_der } => {
                assert!(
                    remote_fingerprints.iter().any(|f| f.matches(&remote_certificate_der)),
                    "the remote certificate is aiortc's"
                );
                break srtp_profile.expect("an SRTP profile was negotiated");
            }
            DtlsTransportEvent::Failed(e) => panic!("DTLS failed: {e}"),
            _ => {}
        }
    };
    let connected = peer.line().await;
    assert_eq!(connected["type"], "connected", "{connected}");
    assert_eq!(connected["srtp_profile"], profile_name(profile), "both sides agree on the SRTP profile");
    if let Some(only) = only_profile {
        assert_eq!(profile, only);
    }

    // aiortc's greeting (DTLS record) and its RTP packet (SRTP by libsrtp).
    let (mut hello, mut rtp_in) = (false, false);
    while !(hello && rtp_in) {
        match next(&mut dtls, "aiortc's data and RTP").await {
            DtlsTransportEvent::Data(d) => {
                assert_eq!(d, b"hello from aiortc");
                hello = true;
            }
            DtlsTransportEvent::Rtp(p) => {
                assert_eq!(rtp_ssrc_payload(&p), (0x01020304, &b"rtp from aiortc"[..]));
                assert_eq!(u16::from_be_bytes([p[2], p[3]]), 4660);
                rtp_in = true;
            }
            DtlsTransportEvent::Ice(_) => {}
            e => panic!("unexpected {e:?}"),
        }
    }

    // Ours: a DTLS record, three SRTP packets and one SRTCP packet.
    dtls.send(b"ping dtls".to_vec()).await;
    for seq in [1u16, 2, 3] {
        dtls.send_rtp(rtp(0x11223344, seq, format!("rtp from oxrtc {seq}").as_bytes())).await;
    }
    // A receiver report with no report blocks (RFC 3550 6.4.2).
    let rtcp = vec![0x80, 201, 0, 1, 0x11, 0x22, 0x33, 0x44];
    dtls.send_rtcp(rtcp.clone()).await;

    let (mut rtp_seen, mut rtcp_seen, mut data_seen) = (0, false, false);
    while !(rtp_seen == 3 && rtcp_seen && data_seen) {
        let l = peer.line().await;
        match l["type"].as_str().unwrap() {
            "rtp" => {
                rtp_seen += 1;
                let seq = l["seq"].as_u64().unwrap();
                assert_eq!(l["ssrc"], 0x11223344);
                assert_eq!(l["payload_hex"], hex(format!("rtp from oxrtc {seq}").as_bytes()), "libsrtp decrypted it");
            }
            "rtcp" => {
                assert_eq!(l["hex"], hex(&rtcp), "libsrtp decrypted our SRTCP");
                rtcp_seen = true;
            }
            "data" => {
                assert_eq!(l["hex"], hex(b"ping dtls"));
                data_seen = true;
            }
            _ => panic!("unexpected line {l}"),
        }
    }
    // Their echoes: protected by libsrtp, unprotected by us.
    let (mut echoes, mut echo_data) = (0, false);
    while !(echoes == 3 && echo_data) {
        match next(&mut dtls, "echoes").await {
            DtlsTransportEvent::Rtp(p) => {
                let seq = u16::from_be_bytes([p[2], p[3]]);
                let (ssrc, payload) = rtp_ssrc_payload(&p);
                assert_eq!(ssrc, 0x0a0b0c0d);
                assert_eq!(payload, format!("echo:rtp from oxrtc {seq}").as_bytes());
                echoes += 1;
            }
            DtlsTransportEvent::Data(d) => {
                assert_eq!(d, b"echo:ping dtls");
                echo_data = true;
            }
            DtlsTransportEvent::Ice(_) => {}
            e => panic!("unexpected {e:?}"),
        }
    }

    if aiortc_closes {
        peer.send(&serde_json::json!({"type": "close"})).await;
        loop {
            match next(&mut dtls, "close_notify from aiortc").await {
                DtlsTransportEvent::Closed => break,
                DtlsTransportEvent::Ice(_) => {}
                e => panic!("unexpected {e:?}"),
            }
        }
        dtls.close().await;
    } else {
        dtls.close().await;
    }
    assert_eq!(peer.line().await["type"], "closed");
    peer.exits_cleanly().await;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_dtls_client_aiortc_server() {
    run(true, false, None).await;
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_dtls_client_aiortc_server_aes128_cm_sha1_80() {
    run(true, false, Some(Profile::Aes128CmHmacSha1_80)).await;
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_dtls_server_aiortc_client_aes128_gcm() {
    run(false, false, Some(Profile::AeadAes128Gcm)).await;
}

#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_dtls_server_aiortc_client() {
    run(false, true, None).await;
}
