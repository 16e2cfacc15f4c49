//! SRTP speed per packet: `protect` and `unprotect` for each profile at 100
//! and 1200 bytes of payload, next to `bare`, the cost of the cryptography
//! alone with the same backend (AES-128-CTR + HMAC-SHA1 from RustCrypto, or
//! ring AES-GCM seal in place), keyed once.
//! Run with `cargo bench -p oxrtc-srtp --bench srtp`.

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hmac::{Hmac, Mac};
use ring::aead;
use sha1::Sha1;
use srtp::{Config, Profile, SrtpContext};
use std::hint::black_box;

const KEY: [u8; 32] = [0x42; 32];
const SALT: [u8; 14] = [0x17; 14];

fn name(p: Profile) -> &'static str {
    match p {
        Profile::Aes128CmHmacSha1_80 => "aes128cm_sha1_80",
        Profile::Aes128CmHmacSha1_32 => "aes128cm_sha1_32",
        Profile::AeadAes128Gcm => "aead_aes128gcm",
        Profile::AeadAes256Gcm => "aead_aes256gcm",
    }
}

fn context(p: Profile) -> SrtpContext {
    SrtpContext::new(p, &KEY[..p.master_key_len()], &SALT[..p.master_salt_len()], Config::default()).unwrap()
}

/// An RTP packet: 12-byte header (seq 0) and `payload` bytes.
fn rtp(payload: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96, 0, 0, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44];
    p.resize(12 + payload, 0xab);
    p
}

fn set_seq(p: &mut [u8], seq: u16) {
    p[2..4].copy_from_slice(&seq.to_be_bytes());
}

/// The bare cryptography of protecting `packet` in place (header of 12
/// bytes left in clear), keyed once, returning something to keep.
// Mirrors the crate's own transform, which is not boxed either.
#[allow(clippy::large_enum_variant)]
enum Bare {
    CmHmac { aes: aes::Aes128, mac: Hmac<Sha1>, tag_len: usize },
    Gcm(aead::LessSafeKey),
}

impl Bare {
    fn new(p: Profile) -> Self {
        match p {
            Profile::Aes128CmHmacSha1_80 | Profile::Aes128CmHmacSha1_32 => Bare::CmHmac {
                aes: aes::Aes128::new(KEY[..16].into()),
                mac: <Hmac<Sha1> as Mac>::new_from_slice(&KEY[..20]).unwrap(),
                tag_len: p.rtp_tag_len(),
            },
            _ => {
                let alg = if p.master_key_len() == 16 { &aead::AES_128_GCM } else { &aead::AES_256_GCM };
                Bare::Gcm(aead::LessSafeKey::new(aead::UnboundKey::new(alg, &KEY[..p.master_key_len()]).unwrap()))
            }
        }
    }

    fn run(&self, packet: &mut [u8], counter: u64) -> u8 {
        match self {
            Bare::CmHmac { aes, mac, tag_len } => {
                let mut iv = [0u8; 16];
                iv[..14].copy_from_slice(&SALT);
                iv[6..14].iter_mut().zip(counter.to_be_bytes()).for_each(|(b, c)| *b ^= c);
                let core = ctr::CtrCore::<aes::Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(aes.clone(), &iv.into());
                ctr::Ctr128BE::<aes::Aes128>::from_core(core).apply_keystream(&mut packet[12..]);
                let mut mac = mac.clone();
                mac.update(packet);
                mac.update(&[0; 4]);
                mac.finalize().into_bytes()[*tag_len - 1]
            }
            Bare::Gcm(key) => {
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&counter.to_be_bytes());
                let (aad, body) = packet.split_at_mut(12);
                let tag = key
                    .seal_in_place_separate_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(&*aad), body)
                    .unwrap();
                tag.as_ref()[0]
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    for profile in
        [Profile::Aes128CmHmacSha1_80, Profile::Aes128CmHmacSha1_32, Profile::AeadAes128Gcm, Profile::AeadAes256Gcm]
    {
        for payload in [100, 1200] {
            let mut g = c.benchmark_group(format!("srtp/{}/{payload}", name(profile)));
            g.throughput(Throughput::Elements(1));

            let mut tx = context(profile);
            let mut packet = rtp(payload);
            let mut out = Vec::with_capacity(packet.len() + 16);
            let mut seq = 0u16;
            g.bench_function("protect", |b| {
                b.iter(|| {
                    seq = seq.wrapping_add(1);
                    set_seq(&mut packet, seq);
                    tx.protect_rtp(black_box(&packet), &mut out).unwrap();
                    out.len()
                })
            });

            // Each packet is unprotected once, in order: a fresh sender
            // makes them outside the timed part.
            let mut tx = context(profile);
            let mut rx = context(profile);
            let mut packet = rtp(payload);
            let mut seq = 0u16;
            let mut back = Vec::with_capacity(packet.len() + 16);
            g.bench_function("unprotect", |b| {
                b.iter_batched_ref(
                    || {
                        seq = seq.wrapping_add(1);
                        set_seq(&mut packet, seq);
                        let mut srtp = Vec::with_capacity(packet.len() + 16);
                        tx.protect_rtp(&packet, &mut srtp).unwrap();
                        srtp
                    },
                    |srtp| {
                        rx.unprotect_rtp(black_box(srtp), &mut back).unwrap();
                        back.len()
                    },
                    BatchSize::SmallInput,
                )
            });

            let bare = Bare::new(profile);
            let mut packet = rtp(payload);
            let mut counter = 0u64;
            g.bench_function("bare", |b| {
                b.iter(|| {
                    counter += 1;
                    bare.run(black_box(&mut packet), counter)
                })
            });
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
