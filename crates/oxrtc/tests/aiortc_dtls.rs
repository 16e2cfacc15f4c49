//! Interop with aiortc's ORTC objects (RTCIceGatherer, RTCIceTransport,
//! RTCDtlsTransport, from PyPI) over loopback: ICE + DTLS in both roles,
//! DTLS application data both ways, and SRTP/SRTCP packets protected by one
//! side and unprotected by the other (aiortc uses libsrtp), which proves the
//! exported keys agree. Run by scripts/test.sh, which sets OXRTC_PYTHON.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{env, repo_root};
use oxrtc::dtls::{Algorithm, Certificate, DtlsConfig, Fingerprint, Role};
use oxrtc::ice::IceEvent;
use oxrtc::srtp::Profile;
use oxrtc::{DtlsTransport, DtlsTransportEvent, IceTransport, IceTransportConfig, InterfaceFilter};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

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

async fn line(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let l = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("aiortc peer answered in time")
        .unwrap()
        .expect("aiortc peer printed a line");
    serde_json::from_str(&l).unwrap()
}

async fn next(t: &mut DtlsTransport, what: &str) -> DtlsTransportEvent {
    match tokio::time::timeout(Duration::from_secs(15), t.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("transport closed while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
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
    let python = env("OXRTC_PYTHON");
    let script = repo_root().join("tests/peers/aiortc_ortc_peer.py");
    let role = if aiortc_controlling { "controlling" } else { "controlled" };
    let mut child = Command::new(python)
        .arg(script)
        .args(["--ice-role", role, "--timeout", "40"])
        .args(only_profile.map(|p| format!("--srtp-profile={}", profile_name(p))))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the aiortc peer");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let params = line(&mut lines).await;
    assert_eq!(params["type"], "params", "{params}");
    let remote_fingerprints: Vec<Fingerprint> = params["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["algorithm"].as_str().unwrap(), f["value"].as_str().unwrap()).parse().unwrap())
        .collect();

    let config = IceTransportConfig { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let ice = IceTransport::start(config, !aiortc_controlling).await.unwrap();
    ice.set_remote_credentials(params["ufrag"].as_str().unwrap(), params["pwd"].as_str().unwrap()).await;
    for c in params["candidates"].as_array().unwrap() {
        ice.add_remote_candidate_sdp(c.as_str().unwrap()).unwrap();
    }
    ice.end_of_remote_candidates().await;
    let certificate = Certificate::generate().unwrap();
    let dtls_role = if aiortc_controlling { Role::Client } else { Role::Server };
    let mut dtls =
        DtlsTransport::start(ice, DtlsConfig::new(dtls_role, certificate.clone(), remote_fingerprints.clone()))
            .await
            .unwrap();

    let mut candidates = Vec::new();
    loop {
        match next(&mut dtls, "local candidates").await {
            DtlsTransportEvent::Ice(IceEvent::LocalCandidate(c)) => candidates.push(c.to_sdp()),
            DtlsTransportEvent::Ice(IceEvent::GatheringComplete) => break,
            _ => {}
        }
    }
    let creds = dtls.ice().local_credentials().clone();
    let mine = json!({
        "type": "params", "ufrag": creds.ufrag, "pwd": creds.pwd, "candidates": candidates,
        "fingerprints": [{"algorithm": "sha-256", "value": certificate.fingerprint(Algorithm::Sha256)}],
    });
    stdin.write_all(format!("{mine}\n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();

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
    let connected = line(&mut lines).await;
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
        let l = line(&mut lines).await;
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
        stdin.write_all(b"{\"type\":\"close\"}\n").await.unwrap();
        stdin.flush().await.unwrap();
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
    assert_eq!(line(&mut lines).await["type"], "closed");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "aiortc peer exited with {status}");
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
