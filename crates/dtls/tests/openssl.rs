//! The OpenSSL engine (feature `openssl`): RSA certificates, every SRTP
//! profile, and handshakes with dimpl in both roles.
//!
//! OpenSSL retransmits on its own wall clock, so these tests run without
//! loss: every flight arrives, and no retransmission is ever needed. The
//! caller's clock (an `Instant` we advance) only drives the transports'
//! deadlines. Run with `cargo test -p oxrtc-dtls --features openssl`.
#![cfg(feature = "openssl")]

mod common;

use common::EventLog;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use dtls::{
    Algorithm, Certificate, CertificateOptions, DtlsConfig, DtlsError, DtlsEvent, DtlsTransport, DtlsVersion, Engine,
    Fingerprint, KeyType, Role,
};

fn sha256(c: &Certificate) -> Fingerprint {
    Fingerprint::of_der(Algorithm::Sha256, c.der())
}

fn rsa() -> Certificate {
    Certificate::generate_with(&CertificateOptions { key: KeyType::RSA_2048, ..Default::default() }).unwrap()
}

fn ecdsa() -> Certificate {
    Certificate::generate().unwrap()
}

/// One side of a pair, before it is built.
#[derive(Clone)]
struct Side {
    engine: Engine,
    cert: Certificate,
    srtp_profiles: Option<Vec<u16>>,
}

fn side(engine: Engine, cert: Certificate) -> Side {
    Side { engine, cert, srtp_profiles: None }
}

struct Peer {
    t: DtlsTransport,
    events: Vec<DtlsEvent>,
}

impl EventLog for Peer {
    fn events(&self) -> &[DtlsEvent] {
        &self.events
    }
}

/// Client `a`, server `b`, no loss.
struct Pair {
    a: Peer,
    b: Peer,
    now: Instant,
}

impl Pair {
    fn new(a: Side, b: Side) -> Pair {
        let (fa, fb) = (sha256(&b.cert), sha256(&a.cert));
        Self::with_fingerprints(a, b, fa, fb)
    }

    /// `a_expects` is what the client expects of the server, and so on.
    fn with_fingerprints(a: Side, b: Side, a_expects: Fingerprint, b_expects: Fingerprint) -> Pair {
        let now = Instant::now();
        let build = |s: Side, role, expects| {
            let mut cfg = DtlsConfig::new(role, s.cert, vec![expects]);
            cfg.engine = s.engine;
            cfg.handshake_timeout = Duration::from_secs(5);
            if let Some(p) = s.srtp_profiles {
                cfg.srtp_profiles = p;
            }
            Peer { t: DtlsTransport::new(now, cfg).unwrap(), events: Vec::new() }
        };
        Pair { a: build(a, Role::Client, a_expects), b: build(b, Role::Server, b_expects), now }
    }

    /// Moves every pending datagram, collects events. Whether anything moved.
    fn shuffle(&mut self) -> bool {
        let mut moved = false;
        while let Some(d) = self.a.t.poll_transmit(self.now) {
            self.b.t.handle_receive(self.now, &d);
            moved = true;
        }
        while let Some(d) = self.b.t.poll_transmit(self.now) {
            self.a.t.handle_receive(self.now, &d);
            moved = true;
        }
        for p in [&mut self.a, &mut self.b] {
            while let Some(e) = p.t.poll_event() {
                p.events.push(e);
            }
        }
        moved
    }

    /// Runs (10 ms steps on our clock, bounded) until `done` or both
    /// transports are finished.
    fn run_until(&mut self, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        for _ in 0..2_000 {
            while self.shuffle() {}
            if done(self) {
                return true;
            }
            if self.a.t.poll_timeout().is_none() && self.b.t.poll_timeout().is_none() {
                return false;
            }
            self.now += Duration::from_millis(10);
            self.a.t.handle_timeout(self.now);
            self.b.t.handle_timeout(self.now);
        }
        false
    }

    fn handshake(&mut self) {
        assert!(
            self.run_until(|p| p.a.connected() && p.b.connected()),
            "no handshake: a {:?}, b {:?}",
            self.a.events,
            self.b.events
        );
        // Lossless: connected at once, without any timer.
        assert!(
            self.a.failed().is_none() && self.b.failed().is_none(),
            "a {:?}, b {:?}",
            self.a.failed(),
            self.b.failed()
        );
    }

    fn assert_mirrored_srtp(&self, profile: u16) {
        let (a, b) = (self.a.srtp().expect("client keys"), self.b.srtp().expect("server keys"));
        assert_eq!((a.profile, b.profile), (profile, profile));
        assert_eq!(a.local_key, b.remote_key);
        assert_eq!(a.local_salt, b.remote_salt);
        assert_eq!(a.remote_key, b.local_key);
        assert_eq!(a.remote_salt, b.local_salt);
        assert_ne!(a.local_key, a.remote_key);
    }

    fn data_both_ways(&mut self) {
        self.a.t.send(b"ping").unwrap();
        self.b.t.send(b"pong").unwrap();
        let big = vec![0x5a; 1000];
        self.a.t.send(&big).unwrap();
        while self.shuffle() {}
        assert_eq!(self.b.data(), vec![b"ping".to_vec(), big]);
        assert_eq!(self.a.data(), vec![b"pong".to_vec()]);
    }
}

#[test]
fn rsa_on_both_sides_connects_with_keys_and_data() {
    let (c1, c2) = (rsa(), rsa());
    assert_eq!(c1.key_type(), KeyType::Rsa { bits: 2048 });
    // Both roles for each certificate.
    for (a, b) in [(c1.clone(), c2.clone()), (c2, c1)] {
        let mut p = Pair::new(side(Engine::OpenSsl, a), side(Engine::OpenSsl, b.clone()));
        p.handshake();
        let DtlsEvent::Connected { remote_certificate_der, .. } = &p.a.events[0] else { panic!("{:?}", p.a.events) };
        assert_eq!(remote_certificate_der, b.der());
        p.assert_mirrored_srtp(0x0008);
        p.data_both_ways();
    }
}

#[test]
fn auto_engine_picks_openssl_for_an_rsa_certificate() {
    let mut p = Pair::new(side(Engine::Auto, rsa()), side(Engine::Auto, rsa()));
    p.handshake();
    p.data_both_ways();
}

#[test]
fn rsa_and_ecdsa_mixed() {
    for (a, b) in [(rsa(), ecdsa()), (ecdsa(), rsa())] {
        let mut p = Pair::new(side(Engine::OpenSsl, a), side(Engine::OpenSsl, b));
        p.handshake();
        p.assert_mirrored_srtp(0x0008);
        p.data_both_ways();
    }
}

/// dimpl and OpenSSL agree on the handshake, the exported keys and the
/// records, in both roles, for every profile dimpl supports: the OpenSSL
/// side offers (or accepts) only that one.
#[test]
fn dimpl_and_openssl_interoperate_in_both_roles_for_every_profile() {
    for profile in [0x0008, 0x0007, 0x0001] {
        let only = Side { srtp_profiles: Some(vec![profile]), ..side(Engine::OpenSsl, ecdsa()) };
        let dimpl = side(Engine::Dimpl, ecdsa());
        for openssl_is_client in [true, false] {
            let mut p = if openssl_is_client {
                Pair::new(only.clone(), dimpl.clone())
            } else {
                Pair::new(dimpl.clone(), only.clone())
            };
            p.handshake();
            p.assert_mirrored_srtp(profile);
            p.data_both_ways();
        }
    }
}

#[test]
fn openssl_can_restrict_to_aes128_cm_sha1_32() {
    let client = Side { srtp_profiles: Some(vec![0x0002]), ..side(Engine::OpenSsl, ecdsa()) };
    let mut p = Pair::new(client, side(Engine::OpenSsl, rsa()));
    p.handshake();
    p.assert_mirrored_srtp(0x0002);
    let keys = p.a.srtp().unwrap();
    assert_eq!((keys.local_key.len(), keys.local_salt.len()), (16, 14));
}

#[test]
fn openssl_server_follows_its_own_profile_list() {
    // The client offers everything; the server only 0x0001 and 0x0002.
    let server = Side { srtp_profiles: Some(vec![0x0001, 0x0002]), ..side(Engine::OpenSsl, ecdsa()) };
    let mut p = Pair::new(side(Engine::OpenSsl, ecdsa()), server);
    p.handshake();
    let profile = p.a.srtp().unwrap().profile;
    assert!(profile == 0x0001 || profile == 0x0002, "{profile:#06x}");
    p.assert_mirrored_srtp(profile);
}

#[test]
fn no_srtp_profiles_means_no_keys() {
    let a = Side { srtp_profiles: Some(vec![]), ..side(Engine::OpenSsl, ecdsa()) };
    let b = Side { srtp_profiles: Some(vec![]), ..side(Engine::OpenSsl, ecdsa()) };
    let mut p = Pair::new(a, b);
    p.handshake();
    assert!(p.a.srtp().is_none() && p.b.srtp().is_none());
    p.data_both_ways();
}

fn wrong() -> Fingerprint {
    sha256(&ecdsa())
}

#[test]
fn openssl_client_rejects_a_wrong_server_fingerprint() {
    for server_engine in [Engine::OpenSsl, Engine::Dimpl] {
        let (ca, cb) = (rsa(), ecdsa());
        let fb = sha256(&ca);
        let mut p = Pair::with_fingerprints(side(Engine::OpenSsl, ca), side(server_engine, cb), wrong(), fb);
        p.run_until(|p| {
            if p.b.connected() {
                let _ = p.b.t.send(b"secret");
            }
            p.a.failed().is_some() && p.b.failed().is_some()
        });
        assert!(matches!(p.a.failed(), Some(DtlsError::FingerprintMismatch { .. })), "{:?}", p.a.events);
        assert!(!p.a.connected() && !p.b.connected(), "the server never sees our Finished");
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
    }
}

#[test]
fn openssl_server_rejects_a_wrong_client_fingerprint() {
    for client_engine in [Engine::OpenSsl, Engine::Dimpl] {
        let (ca, cb) = (ecdsa(), ecdsa());
        let fa = sha256(&cb);
        let mut p = Pair::with_fingerprints(side(client_engine, ca), side(Engine::OpenSsl, cb), fa, wrong());
        p.run_until(|p| {
            if p.a.connected() {
                let _ = p.a.t.send(b"secret");
            }
            p.a.failed().is_some() && p.b.failed().is_some()
        });
        assert!(matches!(p.b.failed(), Some(DtlsError::FingerprintMismatch { .. })), "{:?}", p.b.events);
        assert!(!p.b.connected() && !p.a.connected(), "the client never sees our Finished");
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
    }
}

#[test]
fn close_notify_is_seen_both_ways() {
    for closer_is_client in [true, false] {
        let mut p = Pair::new(side(Engine::OpenSsl, rsa()), side(Engine::OpenSsl, ecdsa()));
        p.handshake();
        let now = p.now;
        if closer_is_client {
            p.a.t.close(now);
        } else {
            p.b.t.close(now);
        }
        while p.shuffle() {}
        assert!(p.a.closed() && p.b.closed(), "a {:?}, b {:?}", p.a.events, p.b.events);
        assert_eq!((p.a.t.poll_timeout(), p.b.t.poll_timeout()), (None, None));
        assert_eq!(p.a.t.send(b"late"), Err(DtlsError::Closed));
        assert_eq!(p.b.t.send(b"late"), Err(DtlsError::Closed));
    }
}

#[test]
fn close_notify_between_dimpl_and_openssl() {
    for openssl_closes in [true, false] {
        let mut p = Pair::new(side(Engine::OpenSsl, ecdsa()), side(Engine::Dimpl, ecdsa()));
        p.handshake();
        let now = p.now;
        if openssl_closes {
            p.a.t.close(now);
        } else {
            p.b.t.close(now);
        }
        while p.shuffle() {}
        assert!(p.a.closed() && p.b.closed(), "a {:?}, b {:?}", p.a.events, p.b.events);
    }
}

#[test]
fn garbage_into_a_connected_openssl_transport_is_dropped() {
    let mut p = Pair::new(side(Engine::OpenSsl, rsa()), side(Engine::OpenSsl, ecdsa()));
    p.handshake();
    p.a.t.send(b"real").unwrap();
    let record = p.a.t.poll_transmit(p.now).unwrap();
    let mut noise: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0x17; 13],
        vec![0xff; 1500],
        vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0],
        record.clone(), // a replay, after the real one below
    ];
    for i in 0..record.len() {
        let mut flipped = record.clone();
        flipped[i] ^= 0x40;
        noise.push(flipped);
    }
    // Encrypted records too short for any cipher, of every type.
    for len in 0..40usize {
        for ctype in 20..=23u8 {
            let mut short = record[..13].to_vec();
            short[0] = ctype;
            short[11..13].copy_from_slice(&(len as u16).to_be_bytes());
            short.extend((0..len).map(|i| i as u8));
            noise.push(short);
        }
    }
    p.b.t.handle_receive(p.now, &record);
    for n in &noise {
        p.b.t.handle_receive(p.now, n);
    }
    while p.shuffle() {}
    assert!(p.b.failed().is_none(), "{:?}", p.b.events);
    assert_eq!(p.b.data(), vec![b"real".to_vec()], "one copy, nothing else");
    p.a.events.clear();
    p.b.events.clear();
    p.data_both_ways();
}

/// Random datagrams, most dressed as DTLS 1.2 records of epoch 0, 1 or 2
/// with a right or wrong length.
fn noise(rng: &mut SmallRng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(0..400);
            let mut d: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if d.len() >= 13 && rng.gen_bool(0.8) {
                d[0] = rng.gen_range(20..=23);
                d[1..3].copy_from_slice(&[0xfe, 0xfd]);
                d[3..5].copy_from_slice(&[0, rng.gen_range(0..=2)]);
                if rng.gen_bool(0.7) {
                    let body = (d.len() - 13) as u16;
                    d[11..13].copy_from_slice(&body.to_be_bytes());
                }
            }
            d
        })
        .collect()
}

#[test]
fn garbage_before_and_during_the_openssl_handshake_is_dropped() {
    for seed in 0..4 {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut p = Pair::new(side(Engine::OpenSsl, rsa()), side(Engine::OpenSsl, ecdsa()));
        // Before the ClientHello, to both.
        for n in noise(&mut rng, 1_000) {
            p.b.t.handle_receive(p.now, &n);
            p.a.t.handle_receive(p.now, &n);
        }
        // Behind every handshake datagram.
        for _ in 0..10 {
            while let Some(d) = p.a.t.poll_transmit(p.now) {
                p.b.t.handle_receive(p.now, &d);
                for n in noise(&mut rng, 50) {
                    p.b.t.handle_receive(p.now, &n);
                }
            }
            while let Some(d) = p.b.t.poll_transmit(p.now) {
                p.a.t.handle_receive(p.now, &d);
                for n in noise(&mut rng, 50) {
                    p.a.t.handle_receive(p.now, &n);
                }
            }
        }
        p.handshake();
        // And behind every application record.
        for i in 0..10u8 {
            p.a.t.send(&[i; 100]).unwrap();
            while let Some(d) = p.a.t.poll_transmit(p.now) {
                p.b.t.handle_receive(p.now, &d);
                for n in noise(&mut rng, 100) {
                    p.b.t.handle_receive(p.now, &n);
                }
            }
            while p.shuffle() {}
        }
        assert!(p.a.failed().is_none() && p.b.failed().is_none(), "{:?} {:?}", p.a.failed(), p.b.failed());
        assert_eq!(p.b.data(), (0..10u8).map(|i| vec![i; 100]).collect::<Vec<_>>());
        p.b.events.clear();
        p.data_both_ways();
    }
}

/// Late copies of every handshake datagram, in both directions, after
/// both sides are connected: the old flight is answered or dropped, never
/// fatal, and nothing is delivered as data.
#[test]
fn late_handshake_duplicates_are_harmless() {
    for (a, b) in
        [(Engine::OpenSsl, Engine::OpenSsl), (Engine::OpenSsl, Engine::Dimpl), (Engine::Dimpl, Engine::OpenSsl)]
    {
        let cert_a = if (a, b) == (Engine::OpenSsl, Engine::OpenSsl) { rsa() } else { ecdsa() };
        let mut p = Pair::new(side(a, cert_a), side(b, ecdsa()));
        let (mut to_a, mut to_b) = (Vec::new(), Vec::new());
        for _ in 0..20 {
            while let Some(d) = p.a.t.poll_transmit(p.now) {
                to_b.push(d.clone());
                p.b.t.handle_receive(p.now, &d);
            }
            while let Some(d) = p.b.t.poll_transmit(p.now) {
                to_a.push(d.clone());
                p.a.t.handle_receive(p.now, &d);
            }
        }
        p.handshake();
        for _ in 0..3 {
            for d in &to_b {
                p.b.t.handle_receive(p.now, d);
            }
            for d in &to_a {
                p.a.t.handle_receive(p.now, d);
            }
            while p.shuffle() {}
        }
        assert!(
            p.a.failed().is_none() && p.b.failed().is_none(),
            "{a:?}/{b:?}: a {:?}, b {:?}",
            p.a.failed(),
            p.b.failed()
        );
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
        p.data_both_ways();
    }
}

#[test]
fn openssl_timers_follow_the_callers_clock() {
    let mut p = Pair::new(side(Engine::OpenSsl, ecdsa()), side(Engine::OpenSsl, ecdsa()));
    // The client's ClientHello is out; OpenSSL's first retransmission is
    // due about a second later (reported on our clock).
    let t = p.a.t.poll_timeout().unwrap();
    assert!(t > p.now && t <= p.now + Duration::from_secs(2), "{:?}", t - p.now);
    // The waiting server has no timer; only its handshake deadline.
    assert_eq!(p.b.t.poll_timeout(), Some(p.now + Duration::from_secs(5)));
    p.handshake();
    // Connected: no busy timer.
    for t in [p.a.t.poll_timeout(), p.b.t.poll_timeout()] {
        assert!(t.unwrap() >= p.now + Duration::from_secs(1), "{:?}", t.unwrap() - p.now);
    }
}

#[test]
fn openssl_handshake_deadline_follows_the_callers_clock() {
    let mut p = Pair::new(side(Engine::OpenSsl, ecdsa()), side(Engine::OpenSsl, ecdsa()));
    // Nobody answers the client: after 5 s of our clock it fails.
    while p.a.t.poll_transmit(p.now).is_some() {}
    let start = p.now;
    p.now += Duration::from_secs(5);
    p.a.t.handle_timeout(p.now);
    while let Some(e) = p.a.t.poll_event() {
        p.a.events.push(e);
    }
    assert_eq!(p.a.failed(), Some(&DtlsError::HandshakeTimeout { after: p.now - start }));
}

#[test]
fn openssl_refuses_dtls13() {
    let mut cfg = DtlsConfig::new(Role::Client, ecdsa(), vec![wrong()]);
    cfg.engine = Engine::OpenSsl;
    cfg.version = DtlsVersion::Dtls13;
    let err = DtlsTransport::new(Instant::now(), cfg).unwrap_err();
    assert!(matches!(&err, DtlsError::InvalidConfig(m) if m.contains("DTLS 1.2 only")), "{err}");
}

#[test]
fn dimpl_refuses_an_rsa_certificate() {
    let mut cfg = DtlsConfig::new(Role::Client, rsa(), vec![wrong()]);
    cfg.engine = Engine::Dimpl;
    let err = DtlsTransport::new(Instant::now(), cfg).unwrap_err();
    assert!(matches!(&err, DtlsError::InvalidConfig(m) if m.contains("Engine::OpenSsl")), "{err}");
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn validity_round_trips_through_der() {
    // 2024-01-01T00:00:00Z to 2024-01-31T12:34:56Z (UTCTime) and one past
    // 2050 (GeneralizedTime).
    for (from, to) in [(1_704_067_200, 1_706_704_496), (1_704_067_200, 2_556_143_999)] {
        for key in [KeyType::EcdsaP256, KeyType::RSA_2048] {
            let opts = CertificateOptions { key, validity: Some((at(from), at(to))), common_name: "peer-1".into() };
            let c = Certificate::generate_with(&opts).unwrap();
            assert_eq!(c.key_type(), key);
            assert_eq!((c.not_before(), c.not_after()), (Some(at(from)), Some(at(to))));
            // An independent parser agrees.
            let x = openssl::x509::X509::from_der(c.der()).unwrap();
            let asn1 = |t: u64| openssl::asn1::Asn1Time::from_unix(t as i64).unwrap();
            assert_eq!(x.not_before().compare(&asn1(from)).unwrap(), std::cmp::Ordering::Equal);
            assert_eq!(x.not_after().compare(&asn1(to)).unwrap(), std::cmp::Ordering::Equal);
            let cn = x.subject_name().entries().next().unwrap().data().as_slice();
            assert_eq!(cn, b"peer-1");
        }
    }
}

#[test]
fn default_validity_never_expires() {
    let c = Certificate::generate().unwrap();
    // rcgen's defaults: 1975-01-01 to 4096-01-01.
    assert_eq!(c.not_before(), Some(at(157_766_400)));
    assert!(c.not_after().unwrap() > at(4_000_000_000));
}

#[test]
fn inverted_validity_is_refused() {
    let opts = CertificateOptions { validity: Some((at(2_000_000), at(1_000_000))), ..Default::default() };
    let err = Certificate::generate_with(&opts).unwrap_err();
    assert!(err.to_string().contains("not_after must be later than not_before"), "{err}");
}

#[test]
fn rsa_pem_round_trip() {
    let c = rsa();
    let (cert_pem, key_pem) = c.to_pem();
    assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let back = Certificate::from_pem(&cert_pem, &key_pem).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.key_type(), KeyType::Rsa { bits: 2048 });
    // A key OpenSSL made and exported by itself loads as well.
    let rsa = openssl::rsa::Rsa::generate(3072).unwrap();
    let pkcs8 = openssl::pkey::PKey::from_rsa(rsa).unwrap().private_key_to_pem_pkcs8().unwrap();
    let loaded = Certificate::from_pem(&cert_pem, std::str::from_utf8(&pkcs8).unwrap()).unwrap();
    assert_eq!(loaded.key_type(), KeyType::Rsa { bits: 3072 });
}

#[test]
fn rsa_keys_out_of_range_are_refused() {
    let opts = CertificateOptions { key: KeyType::Rsa { bits: 1024 }, ..Default::default() };
    let err = Certificate::generate_with(&opts).unwrap_err();
    assert!(err.to_string().contains("use 2048 to 4096 bits"), "{err}");
}
