//! The OpenSSL engine (feature `openssl`): DTLS 1.2 with the system
//! OpenSSL, through the `openssl` crate.
//!
//! It exists for what dimpl cannot do: RSA certificates (ours or the
//! peer's) and the SRTP profile AES128_CM_HMAC_SHA1_32 (0x0002); it also
//! offers exactly the configured SRTP profiles, in the configured order.
//!
//! OpenSSL runs over an in-memory stream ([`Io`]): received datagrams wait
//! in a queue that OpenSSL reads one at a time, and every write OpenSSL
//! makes is one datagram (that is how DTLS uses its BIO). Nothing touches
//! a socket.
//!
//! **Time.** OpenSSL's DTLS retransmission timer reads OpenSSL's own wall
//! clock; it cannot be given the caller's time. `handle_timeout` calls
//! `DTLSv1_handle_timeout`, which retransmits only once that real timer has
//! expired, and the reported timeout is the caller's `now` plus what
//! `DTLSv1_get_timeout` says is left. On a virtual clock that runs faster
//! than real time, lost flights are therefore retransmitted late (in real
//! time), so loss tests on a simulated clock use dimpl. The handshake
//! deadline and everything else in the transport do follow the caller's
//! clock.
//!
//! **Noise.** OpenSSL 3.0 ends a DTLS session on some network noise that
//! RFC 6347 section 4.1.2.7 says to discard, so datagrams are screened
//! before OpenSSL sees them ([`well_formed`], [`records_before_ccs`]):
//! empty datagrams (an EOF to OpenSSL), malformed plaintext handshake
//! fragments ("bad length", fatal), encrypted records shorter than the
//! cipher's overhead (a fatal internal_error alert), epochs above 1, and
//! encrypted records before the peer's ChangeCipherSpec (bogus ones in
//! OpenSSL's next-epoch buffer leave the session broken). The tests feed
//! thousands of such datagrams.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use ::openssl::pkey::PKey;
use ::openssl::ssl::{
    ErrorCode, ShutdownResult, Ssl, SslContext, SslMethod, SslOptions, SslStream, SslVerifyMode, SslVersion,
};
use ::openssl::x509::X509;

use super::{Backend, BackendConfig, Output};
use crate::{DtlsVersion, Role};

/// ECDHE with ECDSA or RSA, AES-GCM or ChaCha20-Poly1305: what browsers
/// and other WebRTC stacks negotiate in DTLS 1.2.
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// How long to wait when OpenSSL runs no retransmission timer (the
/// transport's handshake deadline still applies).
const IDLE: Duration = Duration::from_secs(3600);

/// `DTLS_CTRL_GET_TIMEOUT` and `DTLS_CTRL_HANDLE_TIMEOUT` from
/// `openssl/ssl.h` (the macros `DTLSv1_get_timeout`, `DTLSv1_handle_timeout`).
const DTLS_CTRL_GET_TIMEOUT: libc::c_int = 73;
const DTLS_CTRL_HANDLE_TIMEOUT: libc::c_int = 74;

/// The largest datagram we read into (a DTLS record is at most 2^14 plus
/// expansion; anything longer is not DTLS).
const READ_BUF: usize = 18 * 1024;

/// The in-memory "socket" OpenSSL reads from and writes to.
#[derive(Default)]
struct Io {
    incoming: VecDeque<Vec<u8>>,
    outgoing: Vec<Vec<u8>>,
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.incoming.pop_front() {
            Some(d) => {
                // A datagram longer than OpenSSL's buffer is truncated,
                // like a UDP socket would; DTLS then drops it.
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Ok(n)
            }
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.push(buf.to_vec());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) struct OpenSsl {
    stream: SslStream<Io>,
    now: Instant,
    connected: bool,
    peer_cert_reported: bool,
    close_notify_seen: bool,
    /// Whether a (well-formed) ChangeCipherSpec from the peer arrived.
    peer_ccs_seen: bool,
    outputs: VecDeque<Output>,
    timeout: Instant,
    read_buf: Vec<u8>,
}

impl OpenSsl {
    pub(crate) fn new(now: Instant, c: BackendConfig<'_>) -> Result<Self, String> {
        if c.version == DtlsVersion::Dtls13 {
            return Err("the OpenSSL engine speaks DTLS 1.2 only (OpenSSL 3 has no DTLS 1.3); use \
                        DtlsVersion::Dtls12, or Engine::Dimpl for DTLS 1.3 with ECDSA certificates"
                .into());
        }
        let err = |what: &'static str| move |e: ::openssl::error::ErrorStack| format!("OpenSSL {what}: {e}");
        let mut ctx = SslContext::builder(SslMethod::dtls()).map_err(err("context"))?;
        ctx.set_min_proto_version(Some(SslVersion::DTLS1_2)).map_err(err("min version"))?;
        ctx.set_max_proto_version(Some(SslVersion::DTLS1_2)).map_err(err("max version"))?;
        ctx.set_cipher_list(CIPHERS).map_err(err("cipher list"))?;
        let cert = X509::from_der(c.certificate.der()).map_err(err("certificate"))?;
        let key = PKey::private_key_from_pkcs8(c.certificate.key_pkcs8()).map_err(err("private key"))?;
        ctx.set_certificate(&cert).map_err(err("certificate"))?;
        ctx.set_private_key(&key).map_err(err("private key"))?;
        ctx.check_private_key().map_err(|e| format!("the private key does not belong to the certificate: {e}"))?;
        // Ask for (and require) the peer's certificate, but accept any:
        // the transport checks it against the SDP fingerprints.
        ctx.set_verify_callback(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT, |_, _| true);
        if !c.srtp_profiles.is_empty() {
            let names = c
                .srtp_profiles
                .iter()
                .map(|&p| {
                    profile_name(p).ok_or_else(|| {
                        format!("SRTP profile {p:#06x} is unknown to the OpenSSL engine; use 0x0001, 0x0002, 0x0007 or 0x0008")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            ctx.set_tlsext_use_srtp(&names.join(":")).map_err(err("SRTP profiles"))?;
        }
        ctx.set_options(SslOptions::NO_QUERY_MTU | SslOptions::NO_TICKET | SslOptions::NO_RENEGOTIATION);
        let ctx = ctx.build();

        let mut ssl = Ssl::new(&ctx).map_err(err("session"))?;
        let mtu = u32::try_from(c.mtu).map_err(|_| format!("mtu {} is too large", c.mtu))?;
        ssl.set_mtu(mtu).map_err(err("mtu"))?;
        match c.role {
            Role::Client => ssl.set_connect_state(),
            Role::Server => ssl.set_accept_state(),
        }
        let stream = SslStream::new(ssl, Io::default()).map_err(err("stream"))?;
        let mut me = OpenSsl {
            stream,
            now,
            connected: false,
            peer_cert_reported: false,
            close_notify_seen: false,
            peer_ccs_seen: false,
            outputs: VecDeque::new(),
            timeout: now + IDLE,
            read_buf: vec![0; READ_BUF],
        };
        // A client sends its ClientHello now.
        me.drive()?;
        Ok(me)
    }

    /// Runs OpenSSL on whatever is queued: the handshake, then reads.
    /// Queues outputs in order: the peer's certificate ahead of any
    /// datagram written after it arrived.
    fn drive(&mut self) -> Result<(), String> {
        let mut result = Ok(());
        if !self.connected {
            match self.stream.do_handshake() {
                Ok(()) => self.connected = true,
                Err(e) if e.code() == ErrorCode::WANT_READ => {}
                Err(e) => result = Err(format!("handshake failed: {e}")),
            }
            self.report_peer_cert();
            self.flush_transmits();
            if result.is_ok() && self.connected {
                self.report_connected();
            }
        }
        if result.is_ok() && self.connected {
            result = self.read_all();
            self.flush_transmits();
        }
        self.update_timeout();
        result
    }

    fn report_peer_cert(&mut self) {
        if self.peer_cert_reported {
            return;
        }
        if let Some(der) = self.stream.ssl().peer_certificate().and_then(|c| c.to_der().ok()) {
            self.peer_cert_reported = true;
            self.outputs.push_back(Output::PeerCert(der));
        }
    }

    fn report_connected(&mut self) {
        let ssl = self.stream.ssl();
        if let Some(profile) = ssl.selected_srtp_profile() {
            let id = u16::try_from(profile.id().as_raw()).unwrap_or(0xffff);
            // Unknown lengths: empty material, which the transport rejects.
            let len = key_salt_len(id).map_or(0, |(k, s)| 2 * (k + s));
            let mut material = vec![0; len];
            if len > 0 && ssl.export_keying_material(&mut material, "EXTRACTOR-dtls_srtp", None).is_err() {
                material.clear();
            }
            self.outputs.push_back(Output::Keying { profile: id, material });
        }
        self.outputs.push_back(Output::Connected);
    }

    /// Reads every record OpenSSL can decrypt from the queue.
    fn read_all(&mut self) -> Result<(), String> {
        loop {
            match self.stream.ssl_read(&mut self.read_buf) {
                Ok(n) => self.outputs.push_back(Output::Data(self.read_buf[..n].to_vec())),
                Err(e) if e.code() == ErrorCode::WANT_READ => return Ok(()),
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                    if !self.close_notify_seen {
                        self.close_notify_seen = true;
                        self.outputs.push_back(Output::CloseNotify);
                    }
                    // Drop whatever else is queued: the peer is gone.
                    self.stream.get_mut().incoming.clear();
                    return Ok(());
                }
                Err(e) => return Err(format!("read failed: {e}")),
            }
        }
    }

    fn flush_transmits(&mut self) {
        let io = self.stream.get_mut();
        self.outputs.extend(io.outgoing.drain(..).map(Output::Transmit));
    }

    /// The shortest possible encrypted record body of the negotiated
    /// cipher: explicit nonce (8) + tag (16) for AES-GCM, the tag alone for
    /// ChaCha20-Poly1305 (and before a cipher is known).
    fn min_encrypted_len(&self) -> usize {
        match self.stream.ssl().current_cipher() {
            Some(c) if c.name().contains("GCM") => 24,
            _ => 16,
        }
    }

    /// `now` plus what is left of OpenSSL's retransmission timer.
    fn update_timeout(&mut self) {
        let mut tv = libc::timeval { tv_sec: 0, tv_usec: 0 };
        let running = unsafe {
            // SAFETY: DTLSv1_get_timeout(ssl, &timeval) on a live SSL; it
            // only writes the timeval.
            openssl_sys::SSL_ctrl(
                as_ptr(self.stream.ssl()),
                DTLS_CTRL_GET_TIMEOUT,
                0,
                (&mut tv as *mut libc::timeval).cast(),
            )
        };
        self.timeout = if running == 1 {
            let left = Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64);
            self.now + left
        } else {
            self.now + IDLE
        };
    }
}

impl Backend for OpenSsl {
    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), String> {
        // OpenSSL fails the handshake on a malformed plaintext handshake
        // message; noise must not do that (and an empty read would look
        // like EOF), so such datagrams never reach it.
        if self.close_notify_seen || !well_formed(packet, self.min_encrypted_len()) {
            return Ok(());
        }
        // Encrypted records that come before the peer's ChangeCipherSpec
        // would wait in OpenSSL's next-epoch buffer; bogus ones there leave
        // the session unable to write once connected (OpenSSL 3.0). A real
        // Finished follows the CCS (usually in the same datagram); if it
        // was reordered ahead, the peer retransmits it.
        match records_before_ccs(packet) {
            Ccs::Encrypted if !self.peer_ccs_seen => return Ok(()),
            Ccs::Seen => self.peer_ccs_seen = true,
            _ => {}
        }
        self.stream.get_mut().incoming.push_back(packet.to_vec());
        self.drive()
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
        self.now = self.now.max(now);
        // Retransmits only if OpenSSL's own (real-time) timer expired.
        let r = unsafe {
            // SAFETY: DTLSv1_handle_timeout(ssl) on a live SSL whose BIO is
            // our in-memory stream.
            openssl_sys::SSL_ctrl(as_ptr(self.stream.ssl()), DTLS_CTRL_HANDLE_TIMEOUT, 0, std::ptr::null_mut())
        };
        self.flush_transmits();
        self.update_timeout();
        if r < 0 {
            return Err("retransmissions exhausted: the peer stopped answering the handshake".into());
        }
        Ok(())
    }

    fn send(&mut self, data: &[u8]) -> Result<(), String> {
        let r = self.stream.ssl_write(data).map(|_| ()).map_err(|e| format!("write failed: {e}"));
        self.flush_transmits();
        r
    }

    fn close(&mut self) -> Result<(), String> {
        let r = match self.stream.shutdown() {
            Ok(ShutdownResult::Sent | ShutdownResult::Received) => Ok(()),
            Err(e) => Err(format!("close_notify failed: {e}")),
        };
        self.flush_transmits();
        r
    }

    fn poll(&mut self) -> Output {
        self.outputs.pop_front().unwrap_or(Output::Timeout(self.timeout))
    }
}

/// Whether every record in `datagram` has a sane DTLS 1.2 header (RFC 6347
/// section 4.1) and every plaintext (epoch 0) record a sane body: handshake
/// fragments that fit their message (section 4.2.2), a one-byte
/// ChangeCipherSpec, a two-byte alert. Epoch 0 carries no application data.
/// Epochs above 1 cannot occur (renegotiation is off). Encrypted records
/// shorter than the cipher's overhead are dropped here: OpenSSL 3.0 answers
/// one with a fatal internal_error alert instead of discarding it, so a
/// single spoofed 14-byte datagram would end the connection. Other
/// encrypted records are left to OpenSSL, which drops those that fail
/// authentication.
fn well_formed(datagram: &[u8], min_encrypted: usize) -> bool {
    let mut rest = datagram;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(h) = rest.get(..13) else { return false };
        let (ctype, epoch, len) = (h[0], u16::from_be_bytes([h[3], h[4]]), u16::from_be_bytes([h[11], h[12]]) as usize);
        let Some(body) = rest.get(13..13 + len) else { return false };
        // No renegotiation: epoch 1 is the last one.
        if h[1] != 0xfe || !(20..=23).contains(&ctype) || epoch > 1 {
            return false;
        }
        if epoch != 0 && body.len() < min_encrypted {
            return false;
        }
        if epoch == 0 {
            let ok = match ctype {
                20 => body == [1],
                21 => body.len() == 2,
                22 => handshake_fragments_fit(body),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
        rest = &rest[13 + len..];
    }
    true
}

/// What a well-formed datagram says about the peer's ChangeCipherSpec.
enum Ccs {
    /// It carries a CCS (epoch 0), perhaps followed by encrypted records.
    Seen,
    /// It carries an encrypted record (epoch above 0) before any CCS.
    Encrypted,
    /// Plaintext only, no CCS.
    Neither,
}

fn records_before_ccs(mut datagram: &[u8]) -> Ccs {
    while let Some(h) = datagram.get(..13) {
        if u16::from_be_bytes([h[3], h[4]]) != 0 {
            return Ccs::Encrypted;
        }
        if h[0] == 20 {
            return Ccs::Seen;
        }
        let len = u16::from_be_bytes([h[11], h[12]]) as usize;
        datagram = datagram.get(13 + len..).unwrap_or_default();
    }
    Ccs::Neither
}

/// Each handshake fragment: msg_type(1) length(3) message_seq(2)
/// fragment_offset(3) fragment_length(3), then fragment_length bytes that
/// lie within length.
fn handshake_fragments_fit(mut body: &[u8]) -> bool {
    let u24 = |b: &[u8]| (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize;
    if body.is_empty() {
        return false;
    }
    while !body.is_empty() {
        let Some(h) = body.get(..12) else { return false };
        let (length, offset, frag) = (u24(&h[1..4]), u24(&h[6..9]), u24(&h[9..12]));
        if offset + frag > length || body.len() < 12 + frag {
            return false;
        }
        body = &body[12 + frag..];
    }
    true
}

/// OpenSSL's name of an SRTP profile id (RFC 5764, RFC 7714).
fn profile_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x0001 => "SRTP_AES128_CM_SHA1_80",
        0x0002 => "SRTP_AES128_CM_SHA1_32",
        0x0007 => "SRTP_AEAD_AES_128_GCM",
        0x0008 => "SRTP_AEAD_AES_256_GCM",
        _ => return None,
    })
}

fn key_salt_len(profile: u16) -> Option<(usize, usize)> {
    crate::transport::key_salt_len(profile)
}

/// The raw `SSL*` of a session, for the two DTLS ctrl calls the `openssl`
/// crate does not wrap. `SslRef` is a foreign-types reference: the
/// reference is the pointer (what `ForeignTypeRef::as_ptr` returns), and
/// its opaque contents may be mutated through a shared reference.
fn as_ptr(ssl: &::openssl::ssl::SslRef) -> *mut openssl_sys::SSL {
    ssl as *const ::openssl::ssl::SslRef as *mut openssl_sys::SSL
}
