//! The real Chromium RTP capture of `crates/rtp/tests/fixtures/chromium/vp8`
//! (14 s of its fake camera and microphone) and forwarding it, paced as it
//! arrived: shared by the Chromium and aiortc media tests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxrtc::RTCPeerConnection;

/// The VP8 payload type in the capture.
pub const VP8: u8 = 96;
/// The Opus payload type in the capture.
pub const OPUS: u8 = 111;

/// The RTP payloads of payload type `payload_type` in the capture: (µs
/// since the first packet, RTP timestamp, marker, payload).
pub fn captured(payload_type: u8) -> Vec<(u32, u32, bool, Bytes)> {
    let file = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rtp/tests/fixtures/chromium/vp8/rtp.bin"),
    )
    .unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 6 <= file.len() {
        let micros = u32::from_be_bytes(file[at..at + 4].try_into().unwrap());
        let len = u16::from_be_bytes(file[at + 4..at + 6].try_into().unwrap()) as usize;
        let p = &file[at + 6..at + 6 + len];
        at += 6 + len;
        if p[1] & 0x7f != payload_type {
            continue;
        }
        let packet = oxrtc::rtp::packet::RtpPacket::parse(Bytes::copy_from_slice(p)).unwrap();
        out.push((micros, packet.header.timestamp, packet.header.marker, packet.payload.clone()));
    }
    out
}

/// Forwards `packets` (from [`captured`]) on transceiver `id` with
/// `write_rtp` and our `payload_type`, each at its capture time after now
/// (RTP payloads as they were, new SSRC and sequence numbers: what an SFU
/// does). Ends after the last packet or when the connection refuses one.
pub fn forward(
    pc: Arc<RTCPeerConnection>,
    id: oxrtc::peer::TransceiverId,
    payload_type: u8,
    packets: Vec<(u32, u32, bool, Bytes)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        for (micros, ts, marker, payload) in packets {
            tokio::time::sleep_until(start + Duration::from_micros(micros.into())).await;
            if pc.write_rtp(id, payload_type, ts, marker, payload).await.is_err() {
                break;
            }
        }
    })
}
