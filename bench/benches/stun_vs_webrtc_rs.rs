//! oxrtc's STUN codec next to webrtc-rs's (`stun` crate) on the same ICE
//! connectivity check: decode + verify integrity, and build with integrity
//! and fingerprint. Run: `cargo bench -p oxrtc-bench --bench stun_vs_webrtc_rs`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const PWD: &str = "0123456789abcdefghijkl";
const USER: &str = "abcdEFGH:ijklMNOP";

fn oxrtc_check() -> Vec<u8> {
    use stun::{Attribute, Class, IntegrityKey, Message, Method, TransactionId};
    Message::new(Class::Request, Method::BINDING, TransactionId([7; 12]))
        .with(Attribute::Username(USER))
        .with(Attribute::Priority(0x6e0001ff))
        .with(Attribute::IceControlling(0x1234_5678_9abc_def0))
        .to_bytes(Some(&IntegrityKey::short_term(PWD)), true)
}

fn bench(c: &mut Criterion) {
    let wire = oxrtc_check();
    let mut g = c.benchmark_group("stun check decode+verify");
    let key = stun::IntegrityKey::short_term(PWD);
    g.bench_function("oxrtc", |b| {
        b.iter(|| {
            let m = stun::Message::decode(black_box(&wire)).unwrap();
            m.verify_integrity(&wire, &key).unwrap();
        })
    });
    let integrity = webrtc_stun::integrity::MessageIntegrity::new_short_term_integrity(PWD.to_owned());
    g.bench_function("webrtc-rs", |b| {
        b.iter(|| {
            let mut m = webrtc_stun::message::Message::new();
            m.unmarshal_binary(black_box(&wire)).unwrap();
            integrity.check(&mut m).unwrap();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("stun check encode+integrity+fingerprint");
    let mut out = Vec::with_capacity(256);
    g.bench_function("oxrtc", |b| {
        use stun::{Attribute, Class, Message, Method, TransactionId};
        b.iter(|| {
            out.clear();
            Message::new(Class::Request, Method::BINDING, TransactionId([7; 12]))
                .with(Attribute::Username(USER))
                .with(Attribute::Priority(0x6e0001ff))
                .with(Attribute::IceControlling(0x1234_5678_9abc_def0))
                .encode(&mut out, Some(&key), true);
            black_box(out.len())
        })
    });
    g.bench_function("webrtc-rs", |b| {
        use webrtc_stun::agent::TransactionId;
        use webrtc_stun::attributes::ATTR_USERNAME;
        use webrtc_stun::message::{Message, BINDING_REQUEST};
        use webrtc_stun::textattrs::Username;
        b.iter(|| {
            let mut m = Message::new();
            m.build(&[
                Box::new(BINDING_REQUEST),
                Box::new(TransactionId([7; 12])),
                Box::new(Username::new(ATTR_USERNAME, USER.to_owned())),
                Box::new(PriorityAttr(0x6e0001ff)),
                Box::new(ControllingAttr(0x1234_5678_9abc_def0)),
                Box::new(integrity.clone()),
                Box::new(webrtc_stun::fingerprint::FINGERPRINT),
            ])
            .unwrap();
            black_box(m.raw.len())
        })
    });
    g.finish();
}

/// PRIORITY for webrtc-rs's builder (its ICE crate defines the same).
struct PriorityAttr(u32);
impl webrtc_stun::message::Setter for PriorityAttr {
    fn add_to(&self, m: &mut webrtc_stun::message::Message) -> Result<(), webrtc_stun::Error> {
        m.add(webrtc_stun::attributes::ATTR_PRIORITY, &self.0.to_be_bytes());
        Ok(())
    }
}

/// ICE-CONTROLLING for webrtc-rs's builder.
struct ControllingAttr(u64);
impl webrtc_stun::message::Setter for ControllingAttr {
    fn add_to(&self, m: &mut webrtc_stun::message::Message) -> Result<(), webrtc_stun::Error> {
        m.add(webrtc_stun::attributes::AttrType(0x802A), &self.0.to_be_bytes());
        Ok(())
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
