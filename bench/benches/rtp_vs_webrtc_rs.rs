//! oxrtc's RTP and RTCP codecs next to webrtc-rs's (`rtc-rtp`, `rtc-rtcp`
//! 0.21) and str0m's (0.25) on real packets: the VP8 and Opus RTP and the RTCP a
//! Chromium sent (`crates/rtp/tests/fixtures/chromium/vp8`), parsed and written
//! back, parsed with the offer's extensions and the VP8 depacketized; and VP8
//! packetization of a 20 KB frame. str0m's RTP header writer is not public, so
//! it has no "write" figure; its header parser is reached through its
//! `_internal_test_exports` feature (`RtpHeader::_parse`), its VP8 packetizer and
//! depacketizer through `unversioned`. Run:
//! `cargo bench -p oxrtc-bench --bench rtp_vs_webrtc_rs`.

use std::hint::black_box;
use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtc_shared::marshal::{Marshal, MarshalSize, Unmarshal};

const VP8_PT: u8 = 96;

/// The extension ids of the capture's offer (`a=extmap`), each once.
fn offer_extmap() -> Vec<(u8, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/rtp/tests/fixtures/chromium/vp8/offer.sdp");
    let sdp = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: Vec<(u8, String)> = Vec::new();
    for line in sdp.lines() {
        let Some(rest) = line.strip_prefix("a=extmap:") else { continue };
        let mut words = rest.split_whitespace();
        let id: u8 = words.next().unwrap().split('/').next().unwrap().parse().unwrap();
        if !out.iter().any(|(i, _)| *i == id) {
            out.push((id, words.next().unwrap().to_string()));
        }
    }
    out
}

/// str0m's extension for a URI of the offer (those str0m knows).
fn str0m_extension(uri: &str) -> Option<str0m::rtp::Extension> {
    use str0m::rtp::Extension::*;
    Some(match uri {
        "urn:ietf:params:rtp-hdrext:ssrc-audio-level" => AudioLevel,
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" => AbsoluteSendTime,
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01" => TransportSequenceNumber,
        "urn:ietf:params:rtp-hdrext:sdes:mid" => RtpMid,
        "urn:ietf:params:rtp-hdrext:toffset" => TransmissionTimeOffset,
        "urn:3gpp:video-orientation" => VideoOrientation,
        "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay" => PlayoutDelay,
        "http://www.webrtc.org/experiments/rtp-hdrext/video-content-type" => VideoContentType,
        "http://www.webrtc.org/experiments/rtp-hdrext/video-timing" => VideoTiming,
        "http://www.webrtc.org/experiments/rtp-hdrext/color-space" => ColorSpace,
        "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" => RtpStreamId,
        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id" => RepairedRtpStreamId,
        _ => return None,
    })
}

/// The records of a capture file: u32 µs, u16 length, bytes.
fn records(name: &str) -> Vec<Bytes> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/rtp/tests/fixtures/chromium/vp8").join(name);
    let file = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let mut at = 0;
    while at + 6 <= file.len() {
        let len = u16::from_be_bytes([file[at + 4], file[at + 5]]) as usize;
        out.push(Bytes::copy_from_slice(&file[at + 6..at + 6 + len]));
        at += 6 + len;
    }
    out
}

fn bench(c: &mut Criterion) {
    let rtp = records("rtp.bin");
    let rtcp = records("rtcp.bin");
    let rtp_bytes: u64 = rtp.iter().map(|p| p.len() as u64).sum();

    let mut g = c.benchmark_group(format!("parse {} Chromium RTP packets", rtp.len()));
    g.throughput(Throughput::Bytes(rtp_bytes));
    g.bench_function("oxrtc", |b| {
        b.iter(|| {
            for p in &rtp {
                let packet = rtp::packet::RtpPacket::parse(p.clone()).unwrap();
                black_box(packet.header.sequence_number);
            }
        })
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            for p in &rtp {
                let packet = rtc_rtp::Packet::unmarshal(&mut p.clone()).unwrap();
                black_box(packet.header.sequence_number);
            }
        })
    });
    // str0m's parser always reads the typed values of the extensions in its map: an empty
    // map here, as the other two only split the extensions out.
    let empty = str0m::rtp::ExtensionMap::empty();
    g.bench_function("str0m", |b| {
        b.iter(|| {
            for p in &rtp {
                let header = str0m::rtp::RtpHeader::_parse(p, &empty).unwrap();
                black_box((header.sequence_number, &p[header.header_len..]));
            }
        })
    });
    g.finish();

    // Parse with the offer's extension map (the values routing and feedback use read as
    // typed values), depacketize the VP8 packets, frames joined at the marker bit.
    let extmap = offer_extmap();
    let mut ours_map = rtp::extension::ExtensionMap::new();
    let mut str0m_map = str0m::rtp::ExtensionMap::empty();
    for (id, uri) in &extmap {
        ours_map.insert(*id, uri).unwrap();
        if let Some(ext) = str0m_extension(uri) {
            str0m_map.set(*id, ext);
        }
    }
    let id_of = |uri: &str| extmap.iter().find(|(_, u)| u == uri).unwrap().0;
    let mid_id = id_of("urn:ietf:params:rtp-hdrext:sdes:mid");
    let abs_id = id_of("http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time");
    let twcc_id = id_of("http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
    let vp8_count = rtp.iter().filter(|p| p[1] & 0x7f == VP8_PT).count();
    let mut g = c.benchmark_group(format!(
        "parse {} Chromium RTP packets with the offer's extensions, depacketize the {vp8_count} VP8",
        rtp.len()
    ));
    g.throughput(Throughput::Bytes(rtp_bytes));
    g.bench_function("oxrtc", |b| {
        use rtp::extension::{AbsSendTime, Mid, TransportCc};
        use rtp::payload::Depacketized;
        let mut vp8 = rtp::payload::vp8::Vp8Depacketizer::default();
        b.iter(|| {
            let mut frames = 0usize;
            for p in &rtp {
                let packet = rtp::packet::RtpPacket::parse(p.clone()).unwrap();
                let h = &packet.header;
                black_box(ours_map.read::<Mid>(&h.extensions).unwrap().map(|m| m.as_str().len()));
                black_box(ours_map.read::<AbsSendTime>(&h.extensions).unwrap());
                black_box(ours_map.read::<TransportCc>(&h.extensions).unwrap());
                if h.payload_type == VP8_PT {
                    vp8.push(&packet.payload, h.marker, h.sequence_number, h.timestamp).unwrap();
                    while let Some(out) = vp8.poll() {
                        frames += matches!(out, Depacketized::Frame(_)) as usize;
                        black_box(out);
                    }
                }
            }
            assert!(frames > 0);
        })
    });
    g.bench_function("webrtc-rs", |b| {
        use rtc_rtp::packetizer::Depacketizer;
        let mut vp8 = rtc_rtp::codec::vp8::Vp8Packet::default();
        let mut frame: Vec<u8> = Vec::new();
        b.iter(|| {
            let mut frames = 0usize;
            for p in &rtp {
                let packet = rtc_rtp::Packet::unmarshal(&mut p.clone()).unwrap();
                let h = &packet.header;
                // Its header keeps the extensions raw: the bytes of each are what it gives.
                black_box(h.get_extension(mid_id).map(|m| m.len()));
                black_box(h.get_extension(abs_id));
                black_box(h.get_extension(twcc_id));
                if h.payload_type == VP8_PT {
                    frame.extend_from_slice(&vp8.depacketize(&packet.payload).unwrap());
                    if h.marker {
                        frames += 1;
                        black_box(std::mem::take(&mut frame));
                    }
                }
            }
            assert!(frames > 0);
        })
    });
    g.bench_function("str0m", |b| {
        use str0m::unversioned::Depacketizer;
        let mut vp8 = str0m::unversioned::Vp8Depacketizer::default();
        let mut extra = str0m::format::CodecExtra::None;
        let mut frame: Vec<u8> = Vec::new();
        b.iter(|| {
            let mut frames = 0usize;
            for p in &rtp {
                let h = str0m::rtp::RtpHeader::_parse(p, &str0m_map).unwrap();
                black_box(h.ext_vals.mid.map(|m| m.len()));
                black_box(h.ext_vals.abs_send_time);
                black_box(h.ext_vals.transport_cc);
                if *h.payload_type == VP8_PT {
                    vp8.depacketize(&p[h.header_len..], &mut frame, &mut extra).unwrap();
                    if h.marker {
                        frames += 1;
                        black_box(std::mem::take(&mut frame));
                    }
                }
            }
            assert!(frames > 0);
        })
    });
    g.finish();

    let ours: Vec<_> = rtp.iter().map(|p| rtp::packet::RtpPacket::parse(p.clone()).unwrap()).collect();
    let theirs: Vec<_> = rtp.iter().map(|p| rtc_rtp::Packet::unmarshal(&mut p.clone()).unwrap()).collect();
    let mut g = c.benchmark_group(format!("write {} Chromium RTP packets", rtp.len()));
    g.throughput(Throughput::Bytes(rtp_bytes));
    let mut out = Vec::with_capacity(2048);
    g.bench_function("oxrtc", |b| {
        b.iter(|| {
            for p in &ours {
                out.clear();
                p.write(&mut out).unwrap();
                black_box(out.len());
            }
        })
    });
    let mut buf = vec![0u8; 2048];
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            for p in &theirs {
                let n = p.marshal_size();
                black_box(p.marshal_to(&mut buf[..n]).unwrap());
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("parse {} Chromium RTCP datagrams", rtcp.len()));
    g.bench_function("oxrtc", |b| {
        b.iter(|| {
            for d in &rtcp {
                black_box(rtp::rtcp::parse_compound(d).unwrap().len());
            }
        })
    });
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            for d in &rtcp {
                black_box(rtc_rtcp::packet::unmarshal(&mut d.clone()).unwrap().len());
            }
        })
    });
    // Its RTCP parser is reachable only through a fuzz target, which also turns what it
    // parsed into its feedback values: more work than a parse.
    g.bench_function("str0m (parse + its feedback conversion)", |b| {
        b.iter(|| {
            for d in &rtcp {
                black_box(str0m::_internal_test_exports::fuzz::rtcp(d));
            }
        })
    });
    g.finish();

    let frame: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
    let frame_bytes = Bytes::from(frame.clone());
    let mut g = c.benchmark_group("VP8 packetize a 20 KB frame, 1,100-byte payloads");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let mut ours = rtp::payload::vp8::Vp8Packetizer::new();
    g.bench_function("oxrtc", |b| {
        use rtp::payload::Packetizer;
        b.iter(|| black_box(ours.packetize(&frame, 1100).unwrap().len()))
    });
    let mut theirs = rtc_rtp::codec::vp8::Vp8Payloader::default();
    theirs.enable_picture_id = true;
    g.bench_function("webrtc-rs", |b| {
        use rtc_rtp::packetizer::Payloader;
        b.iter(|| black_box(theirs.payload(1100, &frame_bytes).unwrap().len()))
    });
    // Without picture ids: its packetizer has no public switch for them.
    let mut str0m_vp8 = str0m::unversioned::Vp8Packetizer::default();
    g.bench_function("str0m (no picture id)", |b| {
        use str0m::unversioned::Packetizer;
        b.iter(|| black_box(str0m_vp8.packetize(1100, &frame).unwrap().len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
