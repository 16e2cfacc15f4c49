//! Interop with Pion v3 (Debian's golang-github-pion-webrtc.v3-dev, 3.1.56): a
//! data channel each way, text and 50 kB binary echoed, with Pion offering and
//! with Pion answering. Pion's SCTP of that version rejects an INIT or INIT-ACK
//! carrying the zero checksum parameter (RFC 9653), so this also proves that we
//! only send it where it cannot hurt. Pion also receives our simulcast. The peer
//! is tests/peers/pion_peer, built
//! here in GOPATH mode; scripts/test.sh installs Go and Pion and sets OXRTC_GO.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use common::jsonpeer::{exchange, JsonPeer};
use common::{env, repo_root};

/// Builds the peer once per test binary (GOPATH mode, against /usr/share/gocode).
fn pion_peer() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pion_peer");
            // Minimal module compatibility (import paths ending in /v3 found without the
            // suffix) only applies to a package inside a GOPATH with a go.mod.
            let src = tmp.join("gopath/src/pion_peer");
            std::fs::create_dir_all(&src).unwrap();
            for f in ["main.go", "go.mod"] {
                std::fs::copy(repo_root().join("tests/peers/pion_peer").join(f), src.join(f)).unwrap();
            }
            let gopath = std::env::var("OXRTC_PION_GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
            let bin = tmp.join("pion_peer");
            let out = std::process::Command::new(env("OXRTC_GO"))
                .args(["build", "-o"])
                .arg(&bin)
                .arg(".")
                .current_dir(&src)
                .env("GOPATH", format!("{}:{gopath}", tmp.join("gopath").display()))
                .env("GO111MODULE", "off")
                .env("GOFLAGS", "")
                .env("GOCACHE", tmp.join("cache"))
                .output()
                .expect("run go build");
            assert!(out.status.success(), "go build failed:\n{}", String::from_utf8_lossy(&out.stderr));
            bin
        })
        .clone()
}

/// Pion's SCTP rejects a chunk carrying the zero checksum parameter: it may drop our first
/// INIT (which carries it, for peers that know it; Pion then connects with its own INIT).
/// Anything more, such as an INIT-ACK with the parameter, fails the test.
const MAX_REJECTED: usize = 1;

fn start(role: &str) -> JsonPeer {
    let mut command = tokio::process::Command::new(pion_peer());
    command.args(["-role", role, "-timeout", "40"]);
    JsonPeer::start("pion", command)
}

#[tokio::test]
#[ignore = "needs Go and Pion: run scripts/test.sh"]
async fn pion_offers_and_we_answer() {
    exchange(start("offer"), true, MAX_REJECTED).await;
}

#[tokio::test]
#[ignore = "needs Go and Pion: run scripts/test.sh"]
async fn we_offer_and_pion_answers() {
    exchange(start("answer"), false, MAX_REJECTED).await;
}

/// We offer video as simulcast (RIDs h and l); Pion answers `a=simulcast:recv` and
/// receives each encoding as a track of its own, told apart by the RID extension.
#[tokio::test]
#[ignore = "needs Go and Pion: run scripts/test.sh"]
async fn pion_receives_our_simulcast_as_one_track_per_rid() {
    use oxrtc::peer::TransceiverInit;
    use oxrtc::sdp::{Direction, MediaKind};
    use oxrtc::{InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent, RTCPeerConnectionState};
    use serde_json::json;
    use tokio::time::{timeout_at, Instant};

    let deadline = Instant::now() + std::time::Duration::from_secs(40);
    let mut command = tokio::process::Command::new(pion_peer());
    command.args(["-role", "answer", "-timeout", "40", "-simulcast"]);
    let mut peer = JsonPeer::start("pion", command);
    let config = RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let pc = RTCPeerConnection::new(config).await.unwrap();
    let video = pc
        .add_transceiver_with(MediaKind::Video, TransceiverInit::simulcast(Direction::SendOnly, &["h", "l"]))
        .await
        .unwrap();
    let offer = pc.set_local_description(None).await.unwrap();
    peer.send(&json!({"type": "offer", "sdp": offer.sdp})).await;
    let answer = peer.expect("answer", deadline).await;
    let answer = answer["sdp"].as_str().unwrap().to_string();
    assert!(answer.contains("a=simulcast:recv "), "{answer}");
    pc.set_remote_description(oxrtc::RTCSessionDescription::answer(&answer)).await.unwrap();
    let t = pc.transceivers().await.into_iter().find(|t| t.id == video).unwrap();
    assert_eq!(t.send_rids, ["h", "l"], "Pion takes both encodings");
    let vp8 = pc.codecs(video).await.into_iter().find(|c| c.name == "VP8").expect("VP8 negotiated");

    let (mut connected, mut tracks, mut counted) = (false, Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(33));
    let mut n = 0u32;
    while counted.len() < 2 {
        tokio::select! {
            e = timeout_at(deadline, pc.next_event()) => match e.expect("pion: timed out").expect("events") {
                RTCPeerConnectionEvent::IceCandidate(Some(c)) => {
                    let c = json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_m_line_index});
                    peer.send(&c).await;
                }
                RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Connected) => connected = true,
                RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Failed) => panic!("pion: connection failed"),
                _ => {}
            },
            v = timeout_at(deadline, peer.line()) => {
                let v = v.unwrap_or_else(|_| panic!("pion: timed out; tracks {tracks:?}, counted {counted:?}")).expect("pion output");
                match v["type"].as_str() {
                    Some("track") => tracks.push((v["rid"].as_str().unwrap().to_string(), v["ssrc"].as_u64().unwrap())),
                    Some("packets") => counted.push(v["rid"].as_str().unwrap().to_string()),
                    Some("error") | Some("timeout") => panic!("pion: {v}"),
                    _ => {}
                }
            },
            _ = tick.tick(), if connected => {
                // A VP8-shaped frame per encoding, a keyframe every 30.
                for (rid, size) in [("h", 3_000), ("l", 700)] {
                    let mut f = vec![u8::from(!n.is_multiple_of(30)); size];
                    f[1..].iter_mut().enumerate().for_each(|(i, b)| *b = (i as u32 + n) as u8);
                    pc.write_frame_rid(video, rid, vp8.payload_type, n * 3000, f.into()).await.unwrap();
                }
                n += 1;
            }
        }
    }
    tracks.sort();
    counted.sort();
    assert_eq!(tracks.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), ["h", "l"], "one track per RID");
    assert_ne!(tracks[0].1, tracks[1].1, "two SSRCs");
    assert_eq!(counted, ["h", "l"], "50 packets on each");
    pc.close().await;
    peer.close(deadline).await;
}
