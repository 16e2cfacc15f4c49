//! Two transports in one process, a datagram mover between them, a
//! virtual clock and a seeded RNG for loss.

mod common;

use common::EventLog;
use std::time::{Duration, Instant};

use dtls::{Algorithm, Certificate, DtlsConfig, DtlsError, DtlsEvent, DtlsTransport, DtlsVersion, Fingerprint, Role};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

struct Peer {
    t: DtlsTransport,
    events: Vec<DtlsEvent>,
}

impl EventLog for Peer {
    fn events(&self) -> &[DtlsEvent] {
        &self.events
    }
}

/// Client `a`, server `b`.
struct Pair {
    a: Peer,
    b: Peer,
    start: Instant,
    now: Instant,
    rng: SmallRng,
    loss: f64,
    /// When false, whatever `a` sends is lost and `b` never speaks.
    b_alive: bool,
    /// The server's certificate.
    cert_b: Certificate,
}

struct Setup {
    version_a: DtlsVersion,
    version_b: DtlsVersion,
    loss: f64,
    seed: u64,
    /// Fingerprints `a` expects of `b` (default: the right one).
    a_expects: Option<Vec<Fingerprint>>,
    /// Fingerprints `b` expects of `a`.
    b_expects: Option<Vec<Fingerprint>>,
    handshake_timeout: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            version_a: DtlsVersion::Dtls12,
            version_b: DtlsVersion::Dtls12,
            loss: 0.0,
            seed: 1,
            a_expects: None,
            b_expects: None,
            handshake_timeout: Duration::from_secs(30),
        }
    }
}

fn sha256(c: &Certificate) -> Fingerprint {
    Fingerprint::of_der(Algorithm::Sha256, c.der())
}

impl Pair {
    fn new(s: Setup) -> Pair {
        let start = Instant::now();
        let (ca, cb) = (Certificate::generate().unwrap(), Certificate::generate().unwrap());
        let mut cfg_a = DtlsConfig::new(Role::Client, ca.clone(), s.a_expects.unwrap_or_else(|| vec![sha256(&cb)]));
        cfg_a.version = s.version_a;
        cfg_a.handshake_timeout = s.handshake_timeout;
        let mut cfg_b = DtlsConfig::new(Role::Server, cb.clone(), s.b_expects.unwrap_or_else(|| vec![sha256(&ca)]));
        cfg_b.version = s.version_b;
        cfg_b.handshake_timeout = s.handshake_timeout;
        Pair {
            a: Peer { t: DtlsTransport::new(start, cfg_a).unwrap(), events: Vec::new() },
            b: Peer { t: DtlsTransport::new(start, cfg_b).unwrap(), events: Vec::new() },
            start,
            now: start,
            rng: SmallRng::seed_from_u64(s.seed),
            loss: s.loss,
            b_alive: true,
            cert_b: cb,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves every pending datagram (dropping some), collects events.
    /// Returns whether any datagram was delivered.
    fn shuffle(&mut self) -> bool {
        let mut moved = false;
        while let Some(d) = self.a.t.poll_transmit(self.now) {
            if self.b_alive && self.rng.gen::<f64>() >= self.loss {
                self.b.t.handle_receive(self.now, &d);
                moved = true;
            }
        }
        while let Some(d) = self.b.t.poll_transmit(self.now) {
            if self.rng.gen::<f64>() >= self.loss {
                self.a.t.handle_receive(self.now, &d);
                moved = true;
            }
        }
        for p in [&mut self.a, &mut self.b] {
            while let Some(e) = p.t.poll_event() {
                p.events.push(e);
            }
        }
        moved
    }

    /// Runs until `done` holds or nothing is left to happen or `limit`
    /// of virtual time passed. Time jumps to the earliest timeout.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        loop {
            while self.shuffle() {}
            if done(self) {
                return true;
            }
            let next = [self.a.t.poll_timeout(), self.b.t.poll_timeout()].into_iter().flatten().min();
            let Some(next) = next else { return false };
            if next - self.start > limit {
                return false;
            }
            self.now = self.now.max(next);
            self.a.t.handle_timeout(self.now);
            self.b.t.handle_timeout(self.now);
        }
    }

    fn handshake(&mut self) {
        assert!(
            self.run_until(Duration::from_secs(60), |p| p.a.connected() && p.b.connected()),
            "no handshake: a {:?}, b {:?}",
            self.a.events,
            self.b.events
        );
    }
}

fn handshake_completes(version: DtlsVersion) {
    let mut p = Pair::new(Setup { version_a: version, version_b: version, ..Setup::default() });
    p.handshake();
    assert!(p.a.t.is_connected() && p.b.t.is_connected());
    assert!(p.a.failed().is_none() && p.b.failed().is_none());
    // No loss: no retransmission timer fired.
    assert!(p.elapsed() < Duration::from_secs(1), "{:?}", p.elapsed());
}

#[test]
fn handshake_completes_dtls12() {
    handshake_completes(DtlsVersion::Dtls12);
}

#[test]
fn handshake_completes_dtls13() {
    handshake_completes(DtlsVersion::Dtls13);
}

#[test]
fn auto_server_accepts_either_version() {
    for client in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup { version_a: client, version_b: DtlsVersion::Auto, ..Setup::default() });
        p.handshake();
        // The version agreed shows on the wire: the server's application data goes out in
        // a DTLS 1.3 unified header (RFC 9147 4: 0b001xxxxx) or a DTLS 1.2 record
        // (content type 23, version 254.253).
        while p.b.t.poll_transmit(p.now).is_some() {}
        p.b.t.send(b"which version").unwrap();
        let record = p.b.t.poll_transmit(p.now).expect("the server sends a record");
        let version = match record[..] {
            [23, 0xfe, 0xfd, ..] => DtlsVersion::Dtls12,
            [b, ..] if b & 0xe0 == 0x20 => DtlsVersion::Dtls13,
            _ => panic!("not an application data record: {record:02x?}"),
        };
        assert_eq!(version, client, "the auto server speaks the client's version");
    }
}

#[test]
fn both_sides_export_mirrored_srtp_keys() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup { version_a: version, version_b: version, ..Setup::default() });
        p.handshake();
        let (a, b) = (p.a.srtp().unwrap(), p.b.srtp().unwrap());
        assert_eq!(a.profile, 0x0008, "AEAD_AES_256_GCM is preferred");
        assert_eq!((a.local_key.len(), a.local_salt.len()), (32, 12));
        assert_eq!(a.local_key, b.remote_key);
        assert_eq!(a.local_salt, b.remote_salt);
        assert_eq!(a.remote_key, b.local_key);
        assert_eq!(a.remote_salt, b.local_salt);
        assert_ne!(a.local_key, a.remote_key);
    }
}

#[test]
fn connected_reports_the_peer_certificate() {
    let mut p = Pair::new(Setup::default());
    p.handshake();
    let DtlsEvent::Connected { remote_certificate_der, .. } = &p.a.events[0] else { panic!("{:?}", p.a.events) };
    assert_eq!(remote_certificate_der, p.cert_b.der());
}

#[test]
fn application_data_flows_both_ways() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup { version_a: version, version_b: version, ..Setup::default() });
        p.handshake();
        p.a.t.send(b"ping").unwrap();
        p.b.t.send(b"pong").unwrap();
        let big = vec![0xa5; 1000];
        p.a.t.send(&big).unwrap();
        while p.shuffle() {}
        assert_eq!(p.b.data(), vec![b"ping".to_vec(), big]);
        assert_eq!(p.a.data(), vec![b"pong".to_vec()]);
    }
}

#[test]
fn send_before_connected_is_refused() {
    let mut p = Pair::new(Setup::default());
    assert_eq!(p.a.t.send(b"early"), Err(DtlsError::NotConnected));
}

fn wrong_fingerprint() -> Fingerprint {
    sha256(&Certificate::generate().unwrap())
}

#[test]
fn client_rejects_server_with_wrong_fingerprint() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup {
            version_a: version,
            version_b: version,
            a_expects: Some(vec![wrong_fingerprint()]),
            handshake_timeout: Duration::from_secs(10),
            ..Setup::default()
        });
        // The server may send data if it thinks it is connected (1.3).
        p.run_until(Duration::from_secs(60), |p| {
            if p.b.connected() {
                let _ = p.b.t.send(b"secret");
            }
            false
        });
        let err = p.a.failed().expect("client fails");
        assert!(matches!(err, DtlsError::FingerprintMismatch { algorithm: Algorithm::Sha256 }));
        assert!(err
            .to_string()
            .contains("remote DTLS certificate does not match the sha-256 fingerprint in the remote description"));
        assert!(!p.a.connected(), "{:?}", p.a.events);
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
    }
}

#[test]
fn server_rejects_client_with_wrong_fingerprint() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup {
            version_a: version,
            version_b: version,
            b_expects: Some(vec![wrong_fingerprint()]),
            handshake_timeout: Duration::from_secs(10),
            ..Setup::default()
        });
        p.run_until(Duration::from_secs(60), |p| {
            if p.a.connected() {
                let _ = p.a.t.send(b"secret");
            }
            false
        });
        assert!(matches!(p.b.failed(), Some(DtlsError::FingerprintMismatch { .. })), "{:?}", p.b.events);
        assert!(!p.b.connected());
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
    }
}

#[test]
fn any_matching_fingerprint_of_any_algorithm_is_accepted() {
    let mut p = Pair::new(Setup::default());
    // Rebuild with b's sha-1 and sha-512 fingerprints next to a wrong one.
    let cb = Certificate::generate().unwrap();
    let ca = Certificate::generate().unwrap();
    let mut cfg_a = DtlsConfig::new(
        Role::Client,
        ca.clone(),
        vec![
            wrong_fingerprint(),
            Fingerprint::of_der(Algorithm::Sha1, cb.der()),
            Fingerprint::of_der(Algorithm::Sha512, cb.der()),
        ],
    );
    cfg_a.mtu = 1200;
    let cfg_b = DtlsConfig::new(Role::Server, cb, vec![Fingerprint::of_der(Algorithm::Sha384, ca.der())]);
    p.a.t = DtlsTransport::new(p.now, cfg_a).unwrap();
    p.b.t = DtlsTransport::new(p.now, cfg_b).unwrap();
    p.handshake();
}

#[test]
fn close_is_seen_on_both_sides() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup { version_a: version, version_b: version, ..Setup::default() });
        p.handshake();
        let now = p.now;
        p.a.t.close(now);
        while p.shuffle() {}
        assert!(p.a.closed(), "{:?}", p.a.events);
        assert!(p.b.closed(), "{:?}", p.b.events);
        assert_eq!(p.a.t.poll_timeout(), None);
        assert_eq!(p.b.t.poll_timeout(), None);
        assert_eq!(p.a.t.send(b"late"), Err(DtlsError::Closed));
    }
}

#[test]
fn silent_peer_fails_after_handshake_timeout() {
    let timeout = Duration::from_secs(10);
    let mut p = Pair::new(Setup { handshake_timeout: timeout, ..Setup::default() });
    p.b_alive = false;
    p.run_until(Duration::from_secs(120), |p| p.a.failed().is_some());
    assert_eq!(p.a.failed(), Some(&DtlsError::HandshakeTimeout { after: timeout }));
    assert_eq!(p.elapsed(), timeout);
    assert_eq!(p.a.t.poll_timeout(), None);
    // The server never heard a ClientHello; its deadline counts too.
    assert_eq!(p.b.failed(), Some(&DtlsError::HandshakeTimeout { after: timeout }));
}

#[test]
fn handshake_survives_twenty_percent_loss() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        for seed in 0..10 {
            let mut p =
                Pair::new(Setup { version_a: version, version_b: version, loss: 0.2, seed, ..Setup::default() });
            p.handshake();
            p.a.t.send(b"after loss").unwrap();
            // Data is not retransmitted; resend until one arrives.
            while p.b.data().is_empty() {
                p.a.t.send(b"after loss").unwrap();
                p.shuffle();
            }
            assert_eq!(p.b.data()[0], b"after loss");
            assert!(p.srtp_pair_equal());
        }
    }
}

impl Pair {
    fn srtp_pair_equal(&self) -> bool {
        let (a, b) = (self.a.srtp().unwrap(), self.b.srtp().unwrap());
        a.local_key == b.remote_key && a.remote_key == b.local_key
    }
}

/// Random bytes, some dressed as DTLS records (a content type, version
/// 1.2 or a 1.3 unified header, a length field that may be right).
fn garbage(rng: &mut SmallRng) -> Vec<u8> {
    let len = rng.gen_range(0..1500);
    let mut d: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    if d.len() >= 13 && rng.gen_bool(0.5) {
        d[0] = [20, 21, 22, 23, 0x2f, 0x3f][rng.gen_range(0..6)];
        d[1..3].copy_from_slice(&[0xfe, 0xfd]);
        if rng.gen_bool(0.5) {
            let body = (d.len() - 13) as u16;
            d[11..13].copy_from_slice(&body.to_be_bytes());
        }
    }
    d
}

/// Where a datagram's encrypted records start: the first DTLS 1.2 record
/// of an epoch above 0, or the first DTLS 1.3 unified-header record
/// (RFC 9147 section 4). Plaintext handshake records before it have no
/// integrity protection until Finished, in any DTLS implementation, so a
/// corrupted copy of one can only be told apart from the real one by
/// which arrives first.
fn encrypted_from(datagram: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < datagram.len() {
        if datagram[i] & 0xe0 == 0x20 {
            return Some(i); // unified header: ciphertext to the end
        }
        let h = datagram.get(i..i + 13)?;
        if u16::from_be_bytes([h[3], h[4]]) != 0 {
            return Some(i);
        }
        i += 13 + u16::from_be_bytes([h[11], h[12]]) as usize;
    }
    None
}

/// `datagram` with one to three random bits flipped at or after `from`.
fn flipped(rng: &mut SmallRng, datagram: &[u8], from: usize) -> Vec<u8> {
    let mut d = datagram.to_vec();
    for _ in 0..rng.gen_range(1..=3) {
        let i = rng.gen_range(from..d.len());
        d[i] ^= 1 << rng.gen_range(0..8);
    }
    d
}

impl Pair {
    /// Like [`Pair::shuffle`], but after delivering each real datagram
    /// also delivers `per_record` random datagrams and, if it carries
    /// encrypted records, as many copies with bits flipped in them, to the
    /// same receiver. Returns whether any real datagram moved; counts the
    /// noise in `noise`.
    fn shuffle_with_noise(&mut self, per_record: usize, noise: &mut usize) -> bool {
        let mut moved = false;
        for to_b in [true, false] {
            loop {
                let (from, to) = if to_b { (&mut self.a, &mut self.b) } else { (&mut self.b, &mut self.a) };
                let Some(d) = from.t.poll_transmit(self.now) else { break };
                to.t.handle_receive(self.now, &d);
                let encrypted = encrypted_from(&d);
                for _ in 0..per_record {
                    if let Some(start) = encrypted {
                        let f = flipped(&mut self.rng, &d, start);
                        to.t.handle_receive(self.now, &f);
                        *noise += 1;
                    }
                    let g = garbage(&mut self.rng);
                    to.t.handle_receive(self.now, &g);
                    *noise += 1;
                }
                moved = true;
            }
        }
        for p in [&mut self.a, &mut self.b] {
            while let Some(e) = p.t.poll_event() {
                p.events.push(e);
            }
        }
        moved
    }
}

/// Network noise is dropped inside: over 10,000 random datagrams and
/// bit-flipped copies of real encrypted records, fed to both sides before,
/// during and after the handshake, neither panic nor fail a transport nor
/// deliver data; the handshake and data still work.
#[test]
fn garbage_and_corrupted_records_are_dropped() {
    for version in [DtlsVersion::Dtls12, DtlsVersion::Dtls13] {
        let mut p = Pair::new(Setup { version_a: version, version_b: version, seed: 7, ..Setup::default() });
        let mut noise = 0;
        // Before anything: garbage to the waiting server and the client.
        for _ in 0..1_000 {
            let g = garbage(&mut p.rng);
            p.b.t.handle_receive(p.now, &g);
            let g = garbage(&mut p.rng);
            p.a.t.handle_receive(p.now, &g);
            noise += 2;
        }
        // The handshake, with noise behind every datagram.
        for _ in 0..1_000 {
            if p.a.connected() && p.b.connected() {
                break;
            }
            while p.shuffle_with_noise(200, &mut noise) {}
            let next = [p.a.t.poll_timeout(), p.b.t.poll_timeout()].into_iter().flatten().min();
            let next = next.unwrap_or_else(|| panic!("{version:?}: a {:?}, b {:?}", p.a.events, p.b.events));
            p.now = p.now.max(next);
            p.a.t.handle_timeout(p.now);
            p.b.t.handle_timeout(p.now);
        }
        assert!(p.a.connected() && p.b.connected(), "{version:?}: a {:?}, b {:?}", p.a.events, p.b.events);
        assert!(p.a.data().is_empty() && p.b.data().is_empty());
        // Connected: noise behind every application record.
        for i in 0..20u8 {
            p.a.t.send(&[i; 100]).unwrap();
            p.b.t.send(&[i; 50]).unwrap();
            while p.shuffle_with_noise(250, &mut noise) {}
        }
        assert!(noise >= 10_000, "{noise}");
        assert!(p.a.failed().is_none() && p.b.failed().is_none(), "a {:?}, b {:?}", p.a.events, p.b.events);
        assert_eq!(p.b.data(), (0..20u8).map(|i| vec![i; 100]).collect::<Vec<_>>(), "{version:?}");
        assert_eq!(p.a.data(), (0..20u8).map(|i| vec![i; 50]).collect::<Vec<_>>(), "{version:?}");
        // And it still works.
        p.a.t.send(b"after the noise").unwrap();
        while p.shuffle() {}
        assert_eq!(p.b.data().last().unwrap(), b"after the noise");
    }
}
