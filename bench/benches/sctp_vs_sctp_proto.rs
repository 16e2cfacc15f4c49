//! SCTP alone, oxrtc's `sctp::Association` next to `sctp-proto` (the SCTP engine behind str0m),
//! one stream, 1 KiB and 64 KiB messages, both ends included:
//!
//! - `sctp in memory`: two associations connected in memory (no crypto, no sockets, no loss),
//!   on a virtual clock;
//! - `sctp over dtls+udp`: the same, each packet inside an oxrtc-dtls record (the same DTLS for
//!   both engines, so only SCTP differs) sent over a real UDP socket pair on 127.0.0.1, on the
//!   real clock. One thread drives both ends: a burst of at most 32 datagrams is read by the
//!   peer before the next, so the socket buffers never overflow.
//!
//! Each engine keeps at most 4 MiB buffered (oxrtc refuses with `BufferFull`; for sctp-proto the
//! loop checks `buffered_amount`). Both compute and check the CRC32c (oxrtc's zero checksum is
//! off, its default).
//!
//! `cargo bench -p oxrtc-bench --bench sctp_vs_sctp_proto`

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Bytes moved per iteration.
const TOTAL: usize = 8 << 20;
/// Most bytes either engine may hold unacknowledged.
const BUFFER: usize = 4 << 20;

/// What the transfer loops need from an SCTP engine.
trait Engine: Sized {
    /// Two associations, established in memory.
    fn pair(now: Instant) -> (Self, Self);
    /// Queues one message on stream 1; false when the buffer is full.
    fn send(&mut self, now: Instant, msg: &Bytes) -> bool;
    /// Appends the packets to send.
    fn transmit(&mut self, now: Instant, out: &mut Vec<Bytes>);
    /// One packet from the peer.
    fn receive(&mut self, now: Instant, pkt: Bytes);
    /// Bytes of the messages delivered since the last call.
    fn drain(&mut self) -> usize;
    fn timeout(&mut self, now: Instant);
}

mod ox {
    use super::*;
    use sctp::{Association, SctpConfig, SctpEvent, SendParams};

    pub struct Ox(Association);

    impl Engine for Ox {
        fn pair(now: Instant) -> (Self, Self) {
            let cfg = |seed| SctpConfig { seed, send_buffer_limit: BUFFER, ..SctpConfig::default() };
            let mut a = Association::new(now, cfg(1));
            let mut b = Association::new(now, cfg(2));
            a.connect(now);
            for _ in 0..100 {
                if a.is_established() && b.is_established() {
                    break;
                }
                while let Some(p) = a.poll_transmit(now) {
                    b.handle_receive(now, &p);
                }
                while let Some(p) = b.poll_transmit(now) {
                    a.handle_receive(now, &p);
                }
            }
            assert!(a.is_established() && b.is_established(), "oxrtc associations connect");
            while a.poll_event().is_some() {}
            while b.poll_event().is_some() {}
            (Ox(a), Ox(b))
        }

        fn send(&mut self, now: Instant, msg: &Bytes) -> bool {
            self.0.send(now, 1, 53, msg.clone(), SendParams::default()).is_ok()
        }

        fn transmit(&mut self, now: Instant, out: &mut Vec<Bytes>) {
            while let Some(p) = self.0.poll_transmit(now) {
                out.push(Bytes::from(p));
            }
        }

        fn receive(&mut self, now: Instant, pkt: Bytes) {
            self.0.handle_receive_bytes(now, pkt);
        }

        fn drain(&mut self) -> usize {
            let mut got = 0;
            while let Some(e) = self.0.poll_event() {
                if let SctpEvent::Message { data, .. } = e {
                    got += data.len();
                }
            }
            got
        }

        fn timeout(&mut self, now: Instant) {
            self.0.handle_timeout(now);
        }
    }
}

mod proto {
    use super::*;
    use sctp_proto::{
        Association, AssociationHandle, ClientConfig, DatagramEvent, Endpoint, EndpointConfig, Payload,
        PayloadProtocolIdentifier, ServerConfig,
    };

    /// An endpoint with its one association, as str0m holds them.
    pub struct Proto {
        endpoint: Endpoint,
        handle: Option<AssociationHandle>,
        assoc: Option<Association>,
        /// The peer's address (only a key for the endpoint; packets travel however the loop says).
        peer: SocketAddr,
        stream: Option<u16>,
    }

    impl Proto {
        fn assoc(&mut self) -> &mut Association {
            self.assoc.as_mut().expect("association")
        }
    }

    impl Engine for Proto {
        fn pair(now: Instant) -> (Self, Self) {
            let config = Arc::new(EndpointConfig::default());
            let a_addr: SocketAddr = "127.0.0.1:5000".parse().expect("address");
            let b_addr: SocketAddr = "127.0.0.1:5001".parse().expect("address");
            let side = |endpoint, peer| Proto { endpoint, handle: None, assoc: None, peer, stream: None };
            let mut a = side(Endpoint::new(config.clone(), None), b_addr);
            let mut b = side(Endpoint::new(config, Some(Arc::new(ServerConfig::new()))), a_addr);
            let (h, assoc) = a.endpoint.connect(ClientConfig::new(), b_addr).expect("connect");
            a.handle = Some(h);
            a.assoc = Some(assoc);
            let mut buf = Vec::new();
            for _ in 0..100 {
                a.transmit(now, &mut buf);
                let a_sent = !buf.is_empty();
                for p in buf.drain(..) {
                    b.receive(now, p);
                }
                b.transmit(now, &mut buf);
                let b_sent = !buf.is_empty();
                for p in buf.drain(..) {
                    a.receive(now, p);
                }
                if !(a_sent || b_sent) {
                    break;
                }
            }
            let connected = |s: &mut Proto| {
                let mut ok = false;
                if let Some(a) = &mut s.assoc {
                    while let Some(e) = a.poll() {
                        ok |= matches!(e, sctp_proto::Event::Connected);
                    }
                }
                ok
            };
            assert!(connected(&mut a) && connected(&mut b), "sctp-proto associations connect");
            a.assoc().open_stream(1, PayloadProtocolIdentifier::Binary).expect("stream");
            a.stream = Some(1);
            (a, b)
        }

        fn send(&mut self, _now: Instant, msg: &Bytes) -> bool {
            let Ok(mut s) = self.assoc().stream(1) else { return false };
            if s.buffered_amount().unwrap_or(usize::MAX) + msg.len() > BUFFER {
                return false;
            }
            s.write_sctp(msg, PayloadProtocolIdentifier::Binary).is_ok()
        }

        fn transmit(&mut self, now: Instant, out: &mut Vec<Bytes>) {
            let Some(a) = &mut self.assoc else { return };
            while let Some(ev) = a.poll_endpoint_event() {
                if let Some(h) = self.handle {
                    if let Some(back) = self.endpoint.handle_event(h, ev) {
                        a.handle_event(back);
                    }
                }
            }
            while let Some(t) = a.poll_transmit(now) {
                if let Payload::RawEncode(pkts) = t.payload {
                    out.extend(pkts);
                }
            }
        }

        fn receive(&mut self, now: Instant, pkt: Bytes) {
            match self.endpoint.handle(now, self.peer, None, None, pkt) {
                Some((h, DatagramEvent::NewAssociation(a))) => {
                    self.handle = Some(h);
                    self.assoc = Some(a);
                }
                Some((_, DatagramEvent::AssociationEvent(e))) => {
                    if let Some(a) = &mut self.assoc {
                        a.handle_event(e);
                    }
                }
                None => {}
            }
        }

        fn drain(&mut self) -> usize {
            let Some(a) = &mut self.assoc else { return 0 };
            while a.poll().is_some() {}
            if self.stream.is_none() {
                self.stream = a.accept_stream().map(|s| s.stream_identifier());
            }
            let mut got = 0;
            if let Some(Ok(mut s)) = self.stream.map(|id| a.stream(id)) {
                while let Ok(Some(chunks)) = s.read_sctp() {
                    got += chunks.len();
                }
            }
            got
        }

        fn timeout(&mut self, now: Instant) {
            if let Some(a) = &mut self.assoc {
                a.handle_timeout(now);
            }
        }
    }
}

/// Moves TOTAL bytes in `msg`-sized messages from a to b in memory; returns bytes received.
fn in_memory<E: Engine>(a: &mut E, b: &mut E, now: &mut Instant, msg: &Bytes) -> usize {
    let (mut sent, mut got) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = Vec::new();
    while got < TOTAL && Instant::now() < deadline {
        while sent < TOTAL && a.send(*now, msg) {
            sent += msg.len();
        }
        a.transmit(*now, &mut buf);
        let mut moved = !buf.is_empty();
        for p in buf.drain(..) {
            b.receive(*now, p);
        }
        b.transmit(*now, &mut buf);
        moved |= !buf.is_empty();
        for p in buf.drain(..) {
            a.receive(*now, p);
        }
        got += b.drain();
        a.drain();
        if !moved {
            *now += Duration::from_millis(5);
            a.timeout(*now);
            b.timeout(*now);
        }
    }
    got
}

/// One end of the DTLS + UDP path.
struct Wire {
    dtls: dtls::DtlsTransport,
    sock: UdpSocket,
    peer: SocketAddr,
}

impl Wire {
    /// Sends every datagram DTLS has.
    fn flush(&mut self) -> usize {
        let mut n = 0;
        while let Some(d) = self.dtls.poll_transmit(Instant::now()) {
            let _ = self.sock.send_to(&d, self.peer);
            n += 1;
        }
        n
    }

    /// Reads what arrived; returns the application data (SCTP packets).
    fn read(&mut self, buf: &mut [u8], out: &mut Vec<Bytes>) {
        let now = Instant::now();
        while let Ok(n) = self.sock.recv(buf) {
            self.dtls.handle_receive(now, &buf[..n]);
        }
        while let Some(e) = self.dtls.poll_event() {
            if let dtls::DtlsEvent::Data(d) = e {
                out.push(Bytes::from(d));
            }
        }
    }
}

fn wires() -> (Wire, Wire) {
    use dtls::{Algorithm, Certificate, DtlsConfig, DtlsEvent, DtlsTransport, Fingerprint, Role};
    let (ca, cb) = (Certificate::generate().expect("cert"), Certificate::generate().expect("cert"));
    let fp = |c: &Certificate| Fingerprint::of_der(Algorithm::Sha256, c.der());
    let now = Instant::now();
    let sa = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let sb = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sa.set_nonblocking(true).expect("nonblocking");
    sb.set_nonblocking(true).expect("nonblocking");
    let (pa, pb) = (sa.local_addr().expect("addr"), sb.local_addr().expect("addr"));
    let dtls_a = DtlsTransport::new(now, DtlsConfig::new(Role::Client, ca.clone(), vec![fp(&cb)])).expect("dtls");
    let dtls_b = DtlsTransport::new(now, DtlsConfig::new(Role::Server, cb, vec![fp(&ca)])).expect("dtls");
    let mut a = Wire { dtls: dtls_a, sock: sa, peer: pb };
    let mut b = Wire { dtls: dtls_b, sock: sb, peer: pa };
    let (mut up_a, mut up_b) = (false, false);
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(up_a && up_b) && Instant::now() < deadline {
        for (w, up) in [(&mut a, &mut up_a), (&mut b, &mut up_b)] {
            w.flush();
            let now = Instant::now();
            while let Ok(n) = w.sock.recv(&mut buf) {
                w.dtls.handle_receive(now, &buf[..n]);
            }
            w.dtls.handle_timeout(now);
            while let Some(e) = w.dtls.poll_event() {
                *up |= matches!(e, DtlsEvent::Connected { .. });
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!(up_a && up_b, "DTLS handshake over loopback");
    (a, b)
}

/// Datagrams one side sends before the other reads its socket.
const BURST: usize = 32;

/// Moves `pkts` through `from`'s DTLS and socket into `to`'s engine, in bursts.
fn carry<E: Engine>(pkts: &mut Vec<Bytes>, from: &mut Wire, to: &mut Wire, engine: &mut E, buf: &mut [u8]) -> bool {
    let moved = !pkts.is_empty();
    let mut got = Vec::new();
    for chunk in pkts.chunks(BURST) {
        for p in chunk {
            let _ = from.dtls.send(p);
        }
        from.flush();
        to.read(buf, &mut got);
        let now = Instant::now();
        for p in got.drain(..) {
            engine.receive(now, p);
        }
    }
    pkts.clear();
    moved
}

/// Moves TOTAL bytes from a to b, SCTP inside DTLS over UDP on loopback; returns bytes received.
fn over_udp<E: Engine>(a: &mut E, b: &mut E, wa: &mut Wire, wb: &mut Wire, msg: &Bytes) -> usize {
    let (mut sent, mut got) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut pkts = Vec::new();
    let mut buf = vec![0u8; 65536];
    while got < TOTAL && Instant::now() < deadline {
        let now = Instant::now();
        while sent < TOTAL && a.send(now, msg) {
            sent += msg.len();
        }
        a.transmit(now, &mut pkts);
        let mut moved = carry(&mut pkts, wa, wb, b, &mut buf);
        b.transmit(Instant::now(), &mut pkts);
        moved |= carry(&mut pkts, wb, wa, a, &mut buf);
        got += b.drain();
        a.drain();
        if !moved {
            let now = Instant::now();
            a.timeout(now);
            b.timeout(now);
            std::thread::sleep(Duration::from_micros(50));
        }
    }
    got
}

fn sctp(c: &mut Criterion) {
    let mut g = c.benchmark_group("sctp in memory");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    for size in [1024usize, 65536] {
        let msg = Bytes::from(vec![0x5a; size]);
        fn run<E: Engine>(bench: &mut criterion::Bencher<'_>, msg: &Bytes) {
            let mut now = Instant::now();
            let (mut a, mut b) = E::pair(now);
            bench.iter(|| assert_eq!(in_memory(&mut a, &mut b, &mut now, msg), TOTAL, "moved everything"));
        }
        g.bench_with_input(BenchmarkId::new("oxrtc-sctp", size), &size, |bench, _| run::<ox::Ox>(bench, &msg));
        g.bench_with_input(BenchmarkId::new("sctp-proto", size), &size, |bench, _| run::<proto::Proto>(bench, &msg));
    }
    g.finish();

    let mut g = c.benchmark_group("sctp over dtls+udp");
    g.throughput(Throughput::Bytes(TOTAL as u64));
    g.sample_size(10);
    for size in [1024usize, 65536] {
        let msg = Bytes::from(vec![0x5a; size]);
        fn run<E: Engine>(bench: &mut criterion::Bencher<'_>, msg: &Bytes) {
            let (mut a, mut b) = E::pair(Instant::now());
            let (mut wa, mut wb) = wires();
            bench.iter(|| assert_eq!(over_udp(&mut a, &mut b, &mut wa, &mut wb, msg), TOTAL, "moved everything"));
        }
        g.bench_with_input(BenchmarkId::new("oxrtc-sctp", size), &size, |bench, _| run::<ox::Ox>(bench, &msg));
        g.bench_with_input(BenchmarkId::new("sctp-proto", size), &size, |bench, _| run::<proto::Proto>(bench, &msg));
    }
    g.finish();
}

criterion_group!(benches, sctp);
criterion_main!(benches);
