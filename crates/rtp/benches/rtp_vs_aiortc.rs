//! oxrtc's RTP per packet next to aiortc's (1.16), on the RTP a Chromium sent
//! (`tests/fixtures/chromium/vp8`: 882 packets, VP8, Opus and RTX):
//!
//! - receive, codec layer: parse with the offer's extension map (the typed values read)
//!   and depacketize VP8 and Opus, next to aiortc's `RtpPacket.parse` with its
//!   `HeaderExtensionsMap` and `depayload`;
//! - receive, per connection: our receiving `Session` (route, statistics, NACK and
//!   transport-wide feedback bookkeeping, REMB estimate, depacketizer, jitter buffer,
//!   the frames and the feedback polled out), next to what aiortc's
//!   `RTCDtlsTransport._handle_rtp_data` and `RTCRtpReceiver._handle_rtp_packet` do per
//!   packet (parse, `RtpRouter`, `RemoteBitrateEstimator`, `StreamStatistics`, RTX unwrap,
//!   `NackGenerator`, `depayload`, `JitterBuffer.add`), run synchronously;
//! - send: packetize a 20 KB VP8 frame into 1,100-byte payloads and serialize each RTP
//!   packet with MID, abs-send-time and transport-cc, next to aiortc's
//!   `Vp8Encoder._packetize` and `RtpPacket.serialize`.
//!
//! Each workload runs [`support::RUNS`] times, each run long enough for 0.5 s of CPU; the
//! medians are printed in CPU time of the thread (what other load on a shared machine
//! does not inflate) and in wall time. aiortc runs in a child process after ours
//! (`bench/peers/aiortc_rtp_bench.py`), with the Python of `OXRTC_PYTHON` or
//! `<repo>/.venv/bin/python`; without one only our numbers are printed. Run:
//! `OXRTC_PYTHON=.venv/bin/python cargo bench -p oxrtc-rtp --bench rtp_vs_aiortc`.

mod support;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtp::extension::{AbsSendTime, AudioLevel, ExtensionMap, Mid, RepairedRtpStreamId, RtpStreamId, TransportCc};
use rtp::packet::{RtpHeader, RtpPacket};
use rtp::payload::opus::OpusDepacketizer;
use rtp::payload::vp8::{Vp8Depacketizer, Vp8Packetizer};
use rtp::payload::{Depacketized, Packetizer};
use rtp::session::rtc::{CodecConfig, MediaConfig, Outgoing, Session, SessionConfig, SessionEvent};
use rtp::session::send::MediaKind;
use support::{measure, Timer};

const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;
const RTX_PT: u8 = 97;

/// Parse with the extension map, read what aiortc's map reads, depacketize VP8 and Opus.
fn rx_parse_depacketize(records: &[(u32, Bytes)], map: &ExtensionMap) -> (f64, f64) {
    let mut frames = 0usize;
    let result = measure(records.len(), || {
        let mut vp8 = Vp8Depacketizer::default();
        let mut opus = OpusDepacketizer::default();
        let timer = Timer::start();
        for (_, data) in records {
            let packet = RtpPacket::parse(data.clone()).unwrap();
            let h = &packet.header;
            let exts = &h.extensions;
            black_box(map.read::<Mid>(exts).unwrap().map(|m| m.as_str().len()));
            black_box(map.read::<RtpStreamId>(exts).unwrap().map(|m| m.as_str().len()));
            black_box(map.read::<RepairedRtpStreamId>(exts).unwrap().map(|m| m.as_str().len()));
            black_box(map.read::<AbsSendTime>(exts).unwrap());
            black_box(map.read::<TransportCc>(exts).unwrap());
            black_box(map.read::<AudioLevel>(exts).unwrap());
            let (seq, ts, marker) = (h.sequence_number, h.timestamp, h.marker);
            match h.payload_type {
                VP8_PT => {
                    vp8.push(&packet.payload, marker, seq, ts).unwrap();
                    while let Some(out) = vp8.poll() {
                        frames += matches!(out, Depacketized::Frame(_)) as usize;
                        black_box(out);
                    }
                }
                OPUS_PT => {
                    opus.push(&packet.payload, marker, seq, ts).unwrap();
                    while let Some(out) = opus.poll() {
                        frames += matches!(out, Depacketized::Frame(_)) as usize;
                        black_box(out);
                    }
                }
                _ => {}
            }
        }
        timer.stop()
    });
    assert!(frames > 0);
    result
}

/// The receiving side of the capture's connection: Chromium's offer as we answered it.
fn receiver_media(map: &ExtensionMap) -> Vec<MediaConfig> {
    let ssrcs = support::offer_ssrcs();
    let opus = CodecConfig { channels: Some(2), transport_cc: true, ..CodecConfig::new(OPUS_PT, "opus", 48_000) };
    let vp8 = CodecConfig {
        rtx_payload_type: Some(RTX_PT),
        nack: true,
        pli: true,
        fir: true,
        transport_cc: true,
        remb: true,
        ..CodecConfig::new(VP8_PT, "VP8", 90_000)
    };
    let section = |mid: &str, kind, codec, remote_ssrcs| MediaConfig {
        mid: mid.into(),
        kind,
        codecs: vec![codec],
        extensions: map.clone(),
        send: Vec::new(),
        receive: true,
        remote_ssrcs,
        jitter_buffer: true,
        xr_rtt: false,
    };
    vec![section("0", MediaKind::Audio, opus, ssrcs[0].clone()), section("1", MediaKind::Video, vp8, ssrcs[1].clone())]
}

/// Our receiving session per packet: handle_rtp at the capture's arrival times, timers
/// when due, events and feedback polled out; at the end the jitter buffers drained.
fn rx_session(records: &[(u32, Bytes)], map: &ExtensionMap) -> (f64, f64) {
    let media = receiver_media(map);
    let (mut video, mut audio, mut rtcp) = (0usize, 0usize, 0usize);
    let result = measure(records.len(), || {
        let t0 = Instant::now();
        let mut session = Session::new(t0, SessionConfig::new("receiver", 7));
        session.set_media(t0, media.clone());
        let mut drain = |session: &mut Session, now: Instant| {
            // (The pacer's timer is poll_transmit's, so this is no loop.)
            if session.poll_timeout().is_some_and(|t| t <= now) {
                session.handle_timeout(now);
            }
            while let Some(e) = session.poll_event() {
                if let SessionEvent::Frame { payload_type, data, .. } = e {
                    if payload_type == VP8_PT {
                        video += 1;
                    } else {
                        audio += 1;
                    }
                    black_box(data);
                }
            }
            while let Some(out) = session.poll_transmit(now) {
                rtcp += matches!(out, Outgoing::Rtcp(_)) as usize;
                black_box(out);
            }
        };
        let timer = Timer::start();
        let mut now = t0;
        for (micros, data) in records {
            now = t0 + Duration::from_micros(*micros as u64);
            session.handle_rtp(now, data.clone());
            drain(&mut session, now);
        }
        drain(&mut session, now + Duration::from_secs(1));
        timer.stop()
    });
    assert!(video > 50 && audio > 100, "{video} video and {audio} audio frames");
    assert!(rtcp > 0);
    result
}

/// The extensions the send side writes: MID, abs-send-time, transport-cc (Chromium's ids).
fn send_extensions() -> ExtensionMap {
    let mut map = ExtensionMap::new();
    map.insert(4, "urn:ietf:params:rtp-hdrext:sdes:mid").unwrap();
    map.insert(2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time").unwrap();
    map.insert(3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01").unwrap();
    map
}

/// A 20 KB frame: packetized into 1,100-byte payloads, each an RTP packet with MID,
/// abs-send-time and transport-cc, serialized into a datagram of its own.
fn tx_packetize_serialize(frame: &[u8]) -> (f64, f64, usize) {
    let map = send_extensions();
    let mid = Mid::new("1").unwrap();
    let mut packetizer = Vp8Packetizer::new();
    let per_frame = packetizer.packetize(frame, 1100).unwrap().len();
    let mut seq = 0u16;
    let (cpu, wall) = measure(per_frame, || {
        let timer = Timer::start();
        let payloads = packetizer.packetize(frame, 1100).unwrap();
        for payload in payloads {
            let mut header = RtpHeader {
                marker: payload.marker,
                payload_type: VP8_PT,
                sequence_number: seq,
                timestamp: 3000,
                ssrc: 0x1122_3344,
                ..RtpHeader::default()
            };
            map.write(&mut header.extensions, &mid).unwrap();
            map.write(&mut header.extensions, &AbsSendTime(seq as u32)).unwrap();
            map.write(&mut header.extensions, &TransportCc(seq)).unwrap();
            let packet = RtpPacket::new(header, payload.data);
            let mut out = Vec::with_capacity(packet.encoded_len());
            packet.write(&mut out).unwrap();
            black_box(out);
            seq = seq.wrapping_add(1);
        }
        timer.stop()
    });
    (cpu, wall, per_frame)
}

fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("OXRTC_PYTHON").map(PathBuf::from).unwrap_or_else(|| root.join(".venv/bin/python"));
    python.exists().then_some(python)
}

/// aiortc's results: name → (CPU ns, wall ns) per packet.
fn aiortc() -> Result<HashMap<String, (f64, f64)>, String> {
    let python = python().ok_or("no Python (set OXRTC_PYTHON or make <repo>/.venv)")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/peers/aiortc_rtp_bench.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(support::fixture_dir())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let mut results = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["RESULT", name, cpu, wall] = words[..] {
            results.insert(name.to_string(), (cpu.parse().unwrap(), wall.parse().unwrap()));
        }
    }
    Ok(results)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let records = support::records();
    let map = support::offer_extensions();
    let frame: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();

    println!(
        "{} Chromium RTP packets; CPU ns per packet (wall in brackets), median of {} runs",
        records.len(),
        support::RUNS
    );
    let ours = [
        (
            "rx_parse_depayload",
            "receive: parse + extensions + depacketize VP8/Opus",
            rx_parse_depacketize(&records, &map),
        ),
        (
            "rx_receiver",
            "receive: the whole receiver per packet (session / RTCRtpReceiver)",
            rx_session(&records, &map),
        ),
        ("tx_packetize_serialize", "send: packetize 20 KB VP8 + serialize with 3 extensions", {
            let (cpu, wall, n) = tx_packetize_serialize(&frame);
            println!("send: {n} packets per 20 KB frame");
            (cpu, wall)
        }),
    ];
    for (_, what, (cpu, wall)) in &ours {
        println!("oxrtc  {what}: {cpu:.1} ns ({wall:.1})");
    }
    let theirs = match aiortc() {
        Ok(r) => r,
        Err(e) => {
            println!("aiortc not measured: {e}");
            HashMap::new()
        }
    };
    println!();
    println!("| workload | oxrtc ns/packet | aiortc ns/packet | aiortc / oxrtc |");
    println!("|---|---|---|---|");
    for (name, what, (cpu, wall)) in &ours {
        match theirs.get(*name) {
            Some((their_cpu, their_wall)) => println!(
                "| {what} | {cpu:.0} ({wall:.0} wall) | {their_cpu:.0} ({their_wall:.0} wall) | {:.1}x ({:.1}x wall) |",
                their_cpu / cpu,
                their_wall / wall
            ),
            None => println!("| {what} | {cpu:.0} ({wall:.0} wall) | - | - |"),
        }
    }
}
