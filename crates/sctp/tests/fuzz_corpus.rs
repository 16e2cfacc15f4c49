//! Replays the committed fuzz corpus (`fuzz/corpus/sctp_packet`) through the fuzz target's
//! body, so every input the fuzzer once found interesting is checked by `cargo test`.
//! `OXRTC_WRITE_SEED_CORPUS=1 cargo test -p oxrtc-sctp --test fuzz_corpus seed_corpus`
//! rewrites the seed inputs from a recorded session (a plain test run never writes).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{config, lossy, Sim, Simulation};
use sctp::{SctpConfig, SendParams};

#[test]
fn sctp_packet_corpus() {
    let now = Instant::now();
    testkit::replay_corpus("sctp_packet", 301, |data| sctp::fuzzing::sctp_packet(now, data));
}

/// Records a session (handshake, PR and reliable data, a stream reset, a shutdown on a
/// lossy link) and keeps a varied set of its packets as seeds; each must go through the
/// fuzz target's body. Written to the corpus only when opted in.
#[test]
fn seed_corpus() {
    let mut packets: Vec<Vec<u8>> = Vec::new();
    for (idata, zero) in [(false, false), (true, true)] {
        let ca = SctpConfig { interleaving: idata, zero_checksum: zero, ..config(1) };
        let cb = SctpConfig { interleaving: idata, zero_checksum: zero, ..config(2) };
        let mut sim = Sim::new(3, lossy(5, 0.1), lossy(5, 0.1), ca, cb);
        let now = sim.now();
        sim.a.connect(now);
        sim.tap = Some(Vec::new());
        for i in 0..200u32 {
            sim.step();
            if sim.a.is_established() && i % 10 == 0 {
                let now = sim.now();
                let pr = SendParams { ordered: i % 20 == 0, max_retransmits: Some(0), max_lifetime: None };
                let _ = sim.a.send(now, 1, 53, Bytes::from(vec![i as u8; 3000]), pr);
                let _ = sim.a.send(now, 2, 51, Bytes::from(vec![1; 10]), SendParams::default());
                if i == 100 {
                    let _ = sim.a.reset_streams(now, &[2]);
                }
            }
        }
        let now = sim.now();
        sim.a.shutdown(now);
        sim.run_until(Duration::from_secs(5), |s| s.a.is_closed());
        packets.extend(sim.tap.take().unwrap_or_default());
    }
    packets.sort();
    packets.dedup();
    // Keep a small, varied set: one of each leading chunk type, plus a few bundles.
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for p in packets {
        let key = (p.get(12).copied(), p.len() > 600);
        if kept.iter().filter(|k| (k.get(12).copied(), k.len() > 600) == key).count() < 3 {
            kept.push(p);
        }
    }
    assert!(kept.len() >= 8, "only {} distinct seeds", kept.len());
    let now = Instant::now();
    for p in &kept {
        sctp::fuzzing::sctp_packet(now, p);
    }
    if !testkit::write_seed_corpus() {
        return;
    }
    let d = testkit::corpus_dir("sctp_packet");
    std::fs::create_dir_all(&d).unwrap();
    for (i, p) in kept.iter().enumerate() {
        std::fs::write(d.join(format!("seed-{i:03}")), p).unwrap();
    }
    std::fs::write(d.join("garbage-short"), [0x13, 0x88, 0x13]).unwrap();
    std::fs::write(d.join("garbage-bad-chunk-len"), [0x13, 0x88, 0x13, 0x88, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
        .unwrap();
}
