//! Media with aiortc's RTCPeerConnection (tests/peers/aiortc_media_peer.py)
//! on loopback, both ways: aiortc encodes a moving pattern with its VP8
//! encoder and a sine with its Opus encoder and offers, we answer and check
//! the frames we receive; we offer and forward a real Chromium capture's VP8
//! (and Opus), aiortc answers and decodes it. Run by scripts/test.sh, which
//! sets OXRTC_PYTHON.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::jsonpeer::JsonPeer;
use oxrtc::sdp::{Direction, MediaKind};
use oxrtc::{
    InterfaceFilter, RTCConfiguration, RTCPeerConnection, RTCPeerConnectionEvent, RTCPeerConnectionState,
    RTCSessionDescription,
};
use serde_json::{json, Value};
use tokio::time::{timeout_at, Instant};

/// Each whole test ends within this.
const LIMIT: Duration = Duration::from_secs(40);

fn config() -> RTCConfiguration {
    RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() }
}

/// The aiortc peer in `mode` (`send` or `receive`); it gives up after LIMIT.
fn aiortc(mode: &str) -> JsonPeer {
    let mut command = tokio::process::Command::new(common::env("OXRTC_PYTHON"));
    command.arg(common::repo_root().join("tests/peers/aiortc_media_peer.py")).args([
        mode,
        "--timeout",
        &LIMIT.as_secs().to_string(),
    ]);
    JsonPeer::start("aiortc", command)
}

/// The next event of `pc` before `deadline`.
async fn event(pc: &RTCPeerConnection, deadline: Instant, what: &str) -> RTCPeerConnectionEvent {
    timeout_at(deadline, pc.next_event())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .expect("peer connection events ended")
}

/// The width and height of a VP8 keyframe's header (RFC 6386 9.1: a 3-byte
/// frame tag, the start code 9d 01 2a, then 14-bit width and height, little-endian).
fn vp8_keyframe_size(frame: &[u8]) -> (u16, u16) {
    assert!(frame.len() >= 10, "a keyframe of {} bytes", frame.len());
    assert_eq!(frame[0] & 1, 0, "the frame tag says keyframe");
    assert_eq!(&frame[3..6], &[0x9d, 0x01, 0x2a], "VP8 keyframe start code");
    (u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff, u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff)
}

/// aiortc offers a 320x240 moving pattern (its VP8 encoder) and a sine (its
/// Opus encoder); we answer receive-only and get, through SRTP, routing and
/// depacketizing: a Track per section, VP8 frames starting with a keyframe
/// whose header says 320x240 and later delta frames, and Opus packets, each
/// with the payload type `codecs()` names.
#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn aiortc_sends_vp8_and_opus_oxrtc_receives() {
    let deadline = Instant::now() + LIMIT;
    let mut peer = aiortc("send");
    let pc = RTCPeerConnection::new(config()).await.unwrap();
    let offer = peer.expect("offer", deadline).await;
    pc.set_remote_description(RTCSessionDescription::offer(offer["sdp"].as_str().unwrap())).await.unwrap();
    pc.set_local_description(None).await.unwrap();

    let mut kinds = HashMap::new();
    // Per kind: (payload type, keyframe, RTP timestamp, data) of each frame.
    let mut frames: HashMap<MediaKind, Vec<(u8, bool, u32, bytes::Bytes)>> = HashMap::new();
    // Frames after which media was lost or dropped (loopback loses nothing).
    let mut gaps = 0;
    let count = |frames: &HashMap<MediaKind, Vec<_>>, k| frames.get(&k).map_or(0, Vec::len);
    while count(&frames, MediaKind::Video) < 30 || count(&frames, MediaKind::Audio) < 50 {
        let progress = (count(&frames, MediaKind::Video), count(&frames, MediaKind::Audio));
        let what = format!("frames (video, audio so far: {progress:?})");
        tokio::select! {
            e = event(&pc, deadline, &what) => match e {
                // aiortc does not trickle: the answer goes with all our candidates.
                RTCPeerConnectionEvent::IceCandidate(None) => {
                    let answer = pc.local_description().unwrap();
                    assert_eq!(answer.sdp.matches("a=recvonly").count(), 2, "{}", answer.sdp);
                    peer.send(&json!({"type": "answer", "sdp": answer.sdp})).await;
                }
                RTCPeerConnectionEvent::Track(t) => {
                    assert!(kinds.insert(t.transceiver, t.kind.clone()).is_none(), "a second Track for {t:?}");
                }
                RTCPeerConnectionEvent::Frame(t, f) => {
                    let kind = kinds.get(&t).expect("Track comes before the transceiver's frames").clone();
                    gaps += usize::from(f.lost_before);
                    frames.entry(kind).or_default().push((f.payload_type, f.keyframe, f.rtp_timestamp, f.data));
                }
                RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Failed) => panic!("connection failed"),
                _ => {}
            },
            line = peer.line() => { line.expect("the aiortc peer ended early"); }
        }
    }
    assert_eq!(kinds.len(), 2, "one Track per section: {kinds:?}");
    let mut codecs = HashMap::new();
    for (id, kind) in &kinds {
        codecs.insert(kind.clone(), pc.codecs(*id).await);
    }
    let codec = |kind: MediaKind, name: &str| {
        codecs[&kind].iter().find(|c| c.name.eq_ignore_ascii_case(name)).expect(name).payload_type
    };
    let (vp8, opus) = (codec(MediaKind::Video, "VP8"), codec(MediaKind::Audio, "opus"));

    let video = &frames[&MediaKind::Video];
    assert!(video.iter().all(|f| f.0 == vp8), "VP8 only (payload type {vp8})");
    assert!(video[0].1, "the first video frame is a keyframe");
    let (width, height) = vp8_keyframe_size(&video[0].3);
    assert_eq!((width, height), (320, 240), "the keyframe's size");
    for f in video.iter().filter(|f| f.1) {
        assert_eq!(vp8_keyframe_size(&f.3), (320, 240));
    }
    assert!(video.iter().any(|f| !f.1 && f.3[0] & 1 == 1), "delta frames follow");
    assert!(video.windows(2).all(|w| w[1].2.wrapping_sub(w[0].2) as i32 > 0), "video timestamps increase");
    let audio = &frames[&MediaKind::Audio];
    assert!(audio.iter().all(|f| f.0 == opus), "Opus only (payload type {opus})");
    // 20 ms packets of a 48 kHz clock, in order (a packet dropped as late
    // under load would skip one step; none is on an idle machine).
    let steps: Vec<u32> = audio.windows(2).map(|w| w[1].2.wrapping_sub(w[0].2)).collect();
    assert!(steps.iter().all(|s| *s > 0 && s % 960 == 0 && *s < 48_000), "Opus timestamps step by 960: {steps:?}");
    eprintln!(
        "aiortc: {} VP8 frames ({width}x{height}, keyframe {} B, {} keyframes), {} Opus packets ({}..{} B), {gaps} gaps",
        video.len(),
        video[0].3.len(),
        video.iter().filter(|f| f.1).count(),
        audio.len(),
        audio.iter().map(|f| f.3.len()).min().unwrap(),
        audio.iter().map(|f| f.3.len()).max().unwrap(),
    );
    peer.close(deadline).await;
    pc.close().await;
}

/// We offer one send-only transceiver of `kind` and forward the capture's
/// packets of `capture_pt` on it as `codec`; aiortc answers, decodes with
/// `track.recv()` and reports. Returns its last report once `done` says so.
async fn oxrtc_sends(kind: MediaKind, codec: &str, capture_pt: u8, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + LIMIT;
    let mut peer = aiortc("receive");
    let pc = Arc::new(RTCPeerConnection::new(config()).await.unwrap());
    let id = pc.add_transceiver(kind.clone(), Direction::SendOnly).await.unwrap();
    pc.set_local_description(None).await.unwrap();
    while !matches!(event(&pc, deadline, "gathering").await, RTCPeerConnectionEvent::IceCandidate(None)) {}
    let offer = pc.local_description().unwrap();
    peer.send(&json!({"type": "offer", "sdp": offer.sdp})).await;
    let answer = peer.expect("answer", deadline).await;
    let answer = answer["sdp"].as_str().unwrap();
    assert!(answer.contains("a=recvonly"), "{answer}");
    pc.set_remote_description(RTCSessionDescription::answer(answer)).await.unwrap();
    let pt = pc.codecs(id).await.into_iter().find(|c| c.name.eq_ignore_ascii_case(codec)).expect(codec).payload_type;
    let packets = common::capture::captured(capture_pt);
    assert!(packets.len() >= 100, "{} packets in the capture", packets.len());

    let mut sender = None;
    let mut keyframe_requests = 0;
    let last = loop {
        tokio::select! {
            e = event(&pc, deadline, "connection") => match e {
                RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Connected) => {
                    assert!(sender.is_none());
                    sender = Some(common::capture::forward(pc.clone(), id, pt, packets.clone()));
                }
                RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Failed) => panic!("connection failed"),
                RTCPeerConnectionEvent::KeyframeRequested(..) => keyframe_requests += 1,
                _ => {}
            },
            line = timeout_at(deadline, peer.line()) => {
                let line = line.expect("aiortc decoded in time").expect("the aiortc peer ended early");
                if line["type"] == "decoded" {
                    assert_eq!(line["kind"], kind.to_string(), "{line}");
                    if done(&line) {
                        break line;
                    }
                }
            }
        }
    };
    eprintln!("aiortc decoded: {last} ({keyframe_requests} keyframe requests)");
    sender.expect("connected").abort();
    peer.close(deadline).await;
    pc.close().await;
    last
}

/// We forward the VP8 of a Chromium capture (640x480) on a send-only video
/// transceiver; aiortc decodes at least 30 frames of 640x480.
#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_forwards_vp8_aiortc_decodes() {
    let last = oxrtc_sends(MediaKind::Video, "VP8", common::capture::VP8, |l| l["frames"].as_u64() >= Some(30)).await;
    assert_eq!((last["width"].as_u64(), last["height"].as_u64()), (Some(640), Some(480)), "{last}");
}

/// We forward the Opus of a Chromium capture (its fake microphone's beeps)
/// on a send-only audio transceiver; aiortc decodes at least 50 frames of
/// 20 ms at 48 kHz, some of them silent and some loud.
#[tokio::test]
#[ignore = "needs aiortc: run scripts/test.sh"]
async fn oxrtc_forwards_opus_aiortc_decodes() {
    let last = oxrtc_sends(MediaKind::Audio, "opus", common::capture::OPUS, |l| l["frames"].as_u64() >= Some(50)).await;
    assert_eq!((last["sample_rate"].as_u64(), last["samples"].as_u64()), (Some(48000), Some(960)), "{last}");
    // The capture beeps in silence: both show (Opus decoding garbage gives
    // noise throughout).
    assert!(last["loud"].as_u64() >= Some(1), "the beep decoded: {last}");
    assert!(last["silent"].as_u64() >= Some(10), "the silence decoded: {last}");
}
