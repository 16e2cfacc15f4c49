//! oxrtc's RTP and RTCP codecs next to webrtc-rs's (`rtc-rtp`, `rtc-rtcp`
//! 0.21) on real packets: the VP8 and Opus RTP and the RTCP a Chromium sent
//! (`crates/rtp/tests/fixtures/chromium/vp8`), parsed and written back; and
//! VP8 packetization of a 20 KB frame. Run:
//! `cargo bench -p oxrtc-bench --bench rtp_vs_webrtc_rs`.

use std::hint::black_box;
use std::path::Path;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rtc_shared::marshal::{Marshal, MarshalSize, Unmarshal};

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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
