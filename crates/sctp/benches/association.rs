//! Throughput of two associations connected in memory (no crypto, no loss): how many bytes
//! of user messages per second the engine moves, both ends included.
//!
//! `cargo bench -p oxrtc-sctp --bench association`

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sctp::{Association, SctpConfig, SctpEvent, SendParams};

const TOTAL: usize = 8 << 20;

fn pair(now: Instant, idata: bool, zero_checksum: bool) -> (Association, Association) {
    let cfg = |seed| SctpConfig { seed, interleaving: idata, zero_checksum, ..SctpConfig::default() };
    let mut a = Association::new(now, cfg(1));
    let mut b = Association::new(now, cfg(2));
    a.connect(now);
    while !(a.is_established() && b.is_established()) {
        while let Some(p) = a.poll_transmit(now) {
            b.handle_receive(now, &p);
        }
        while let Some(p) = b.poll_transmit(now) {
            a.handle_receive(now, &p);
        }
    }
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b)
}

/// Moves TOTAL bytes in `size`-byte messages from a to b; returns bytes received.
fn transfer(a: &mut Association, b: &mut Association, now: &mut Instant, msg: &Bytes) -> usize {
    let (mut sent, mut got) = (0, 0);
    while got < TOTAL {
        while sent < TOTAL && a.send(*now, 1, 53, msg.clone(), SendParams::default()).is_ok() {
            sent += msg.len();
        }
        let mut moved = false;
        while let Some(p) = a.poll_transmit(*now) {
            b.handle_receive_bytes(*now, Bytes::from(p));
            moved = true;
        }
        while let Some(p) = b.poll_transmit(*now) {
            a.handle_receive_bytes(*now, Bytes::from(p));
            moved = true;
        }
        while let Some(e) = b.poll_event() {
            if let SctpEvent::Message { data, .. } = e {
                got += data.len();
            }
        }
        while a.poll_event().is_some() {}
        if !moved {
            *now += Duration::from_millis(5);
            a.handle_timeout(*now);
            b.handle_timeout(*now);
        }
    }
    got
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("association");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    for (name, idata, zero) in [("data", false, false), ("i-data", true, false), ("data-zero-checksum", false, true)] {
        for size in [1024usize, 65536] {
            g.bench_with_input(BenchmarkId::new(name, size), &size, |bench, &size| {
                let mut now = Instant::now();
                let (mut a, mut b) = pair(now, idata, zero);
                let msg = Bytes::from(vec![0x5a; size]);
                bench.iter(|| transfer(&mut a, &mut b, &mut now, &msg));
            });
        }
    }
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
