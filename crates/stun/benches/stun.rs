//! STUN codec speed: decode, verify, and encode with integrity + fingerprint.
//! Run with `cargo bench -p oxrtc-stun`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use stun::{Attribute, Class, IntegrityKey, Message, Method, TransactionId};

fn check() -> Message<'static> {
    Message::new(Class::Request, Method::BINDING, TransactionId([7; 12]))
        .with(Attribute::Username("abcdEFGH:ijklMNOP"))
        .with(Attribute::Priority(0x6e0001ff))
        .with(Attribute::IceControlling(0x1234_5678_9abc_def0))
        .with(Attribute::UseCandidate)
}

fn bench(c: &mut Criterion) {
    let key = IntegrityKey::short_term("0123456789abcdefghijkl");
    let wire = check().to_bytes(Some(&key), true);
    let mut g = c.benchmark_group("stun");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| b.iter(|| Message::decode(black_box(&wire)).unwrap().attributes.len()));
    g.bench_function("decode+verify", |b| {
        b.iter(|| {
            let m = Message::decode(black_box(&wire)).unwrap();
            m.verify_integrity(&wire, &key).unwrap();
        })
    });
    let msg = check();
    let mut out = Vec::with_capacity(256);
    g.bench_function("encode+integrity+fingerprint", |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&mut out, Some(&key), true);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
