//! [`DtlsTransport`]: the sans-IO state machine callers drive.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::backend::{self, Backend, BackendConfig, Output};
use crate::fingerprint::Fingerprint;
use crate::{Certificate, DtlsError};

/// Which side of the handshake this transport plays. In WebRTC the SDP
/// `a=setup` attribute decides: `active` is the client, `passive` the
/// server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Waits for the ClientHello (`a=setup:passive`).
    Server,
}

/// Which DTLS version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtlsVersion {
    /// DTLS 1.2 (RFC 6347), what every browser speaks. The default.
    #[default]
    Dtls12,
    /// DTLS 1.3 (RFC 9147) only.
    Dtls13,
    /// A server takes whichever version the ClientHello asks for; a
    /// client offers both.
    Auto,
}

/// Which DTLS engine runs the handshake. Every engine gives the same
/// events; they differ in what they can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Engine {
    /// [`Dimpl`](Engine::Dimpl), unless the local certificate is RSA, then
    /// [`OpenSsl`](Engine::OpenSsl) (which needs the `openssl` feature;
    /// without it [`DtlsTransport::new`] says so). The default.
    ///
    /// The peer's key type is unknown before the handshake: to accept
    /// peers with RSA certificates, choose `OpenSsl` explicitly.
    #[default]
    Auto,
    /// [dimpl](https://docs.rs/dimpl), pure Rust: DTLS 1.2 and 1.3, ECDSA
    /// certificates only (ours and the peer's), SRTP profiles 0x0008,
    /// 0x0007 and 0x0001 (always offered; [`DtlsConfig::srtp_profiles`]
    /// is checked after negotiation). Retransmits on the caller's clock,
    /// so it runs on a virtual clock (netsim) exactly as in real time.
    Dimpl,
    /// The system OpenSSL (feature `openssl`): DTLS 1.2 only, ECDSA and RSA
    /// certificates (ours and the peer's), every SRTP profile incl.
    /// AES128_CM_HMAC_SHA1_32 (0x0002), offering exactly
    /// [`DtlsConfig::srtp_profiles`] in that order.
    ///
    /// OpenSSL times its DTLS retransmissions on its own wall clock: the
    /// handshake deadline follows the caller's clock, but a lost flight is
    /// resent only when real time has passed. On a simulated clock that
    /// runs faster than real time, use `Dimpl` for tests with loss.
    OpenSsl,
}

/// The SRTP protection profile ids (RFC 5764 section 4.1.2, RFC 7714
/// section 14.2) in the order WebRTC stacks prefer them.
pub const DEFAULT_SRTP_PROFILES: [u16; 4] = [0x0008, 0x0007, 0x0001, 0x0002];

/// How to build a [`DtlsTransport`].
#[derive(Debug, Clone)]
pub struct DtlsConfig {
    /// Client or server (from `a=setup`).
    pub role: Role,
    /// DTLS 1.2 by default. [`Engine::OpenSsl`] speaks DTLS 1.2 only:
    /// [`DtlsVersion::Dtls13`] is refused there and
    /// [`DtlsVersion::Auto`] means 1.2.
    pub version: DtlsVersion,
    /// Which DTLS implementation runs the handshake (default
    /// [`Engine::Auto`]: dimpl, or OpenSSL for an RSA certificate).
    pub engine: Engine,
    /// Our certificate; its fingerprint goes into the local description.
    /// An RSA certificate needs [`Engine::OpenSsl`] (what [`Engine::Auto`]
    /// picks for it).
    pub certificate: Certificate,
    /// The `a=fingerprint` values of the remote description. The peer's
    /// certificate must match at least one of them.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// The largest datagram to produce (default 1200).
    pub mtu: usize,
    /// SRTP profile ids we accept, by preference (default
    /// [`DEFAULT_SRTP_PROFILES`]). Empty: no DTLS-SRTP keys are reported.
    /// [`Engine::OpenSsl`] offers exactly these, in this order (empty: no
    /// `use_srtp` extension); [`Engine::Dimpl`] always offers 0x0008,
    /// 0x0007 and 0x0001 and fails the transport if the peer picks one
    /// not listed here.
    pub srtp_profiles: Vec<u16>,
    /// The handshake fails if it has not completed this long after
    /// [`DtlsTransport::new`] (default 30 s).
    pub handshake_timeout: Duration,
}

impl DtlsConfig {
    /// A configuration with the defaults above.
    pub fn new(role: Role, certificate: Certificate, remote_fingerprints: Vec<Fingerprint>) -> Self {
        DtlsConfig {
            role,
            version: DtlsVersion::default(),
            engine: Engine::default(),
            certificate,
            remote_fingerprints,
            mtu: 1200,
            srtp_profiles: DEFAULT_SRTP_PROFILES.to_vec(),
            handshake_timeout: Duration::from_secs(30),
        }
    }
}

/// SRTP master keys and salts from the handshake (RFC 5764 section 4.2),
/// already split by role: protect with `local_*`, unprotect with
/// `remote_*`.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeys {
    /// The negotiated protection profile id (`0x0001`, `0x0002`, `0x0007`,
    /// `0x0008`).
    pub profile: u16,
    /// Our master key.
    pub local_key: Vec<u8>,
    /// Our master salt.
    pub local_salt: Vec<u8>,
    /// The peer's master key.
    pub remote_key: Vec<u8>,
    /// The peer's master salt.
    pub remote_salt: Vec<u8>,
}

impl fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpKeys").field("profile", &format_args!("{:#06x}", self.profile)).finish_non_exhaustive()
    }
}

/// Master key and salt lengths of a profile id, in bytes.
pub(crate) fn key_salt_len(profile: u16) -> Option<(usize, usize)> {
    match profile {
        0x0001 | 0x0002 => Some((16, 14)),
        0x0007 => Some((16, 12)),
        0x0008 => Some((32, 12)),
        _ => None,
    }
}

impl SrtpKeys {
    /// Splits exported keying material (`client_key | server_key |
    /// client_salt | server_salt`, RFC 5764 section 4.2).
    fn split(profile: u16, material: &[u8], role: Role) -> Option<Self> {
        let (k, s) = key_salt_len(profile)?;
        if material.len() != 2 * (k + s) {
            return None;
        }
        let (client_key, rest) = material.split_at(k);
        let (server_key, rest) = rest.split_at(k);
        let (client_salt, server_salt) = rest.split_at(s);
        let (lk, ls, rk, rs) = match role {
            Role::Client => (client_key, client_salt, server_key, server_salt),
            Role::Server => (server_key, server_salt, client_key, client_salt),
        };
        Some(SrtpKeys {
            profile,
            local_key: lk.to_vec(),
            local_salt: ls.to_vec(),
            remote_key: rk.to_vec(),
            remote_salt: rs.to_vec(),
        })
    }
}

/// What happened, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtlsEvent {
    /// The handshake completed and the peer's certificate matched a
    /// remote fingerprint.
    Connected {
        /// The DTLS-SRTP keys, if a profile was negotiated.
        srtp: Option<SrtpKeys>,
        /// The peer's leaf certificate, DER.
        remote_certificate_der: Vec<u8>,
    },
    /// Application data from the peer (one DTLS record).
    Data(Vec<u8>),
    /// Closed: we called [`close`](DtlsTransport::close) or the peer sent
    /// close_notify. Nothing more will happen.
    Closed,
    /// Fatal: drop the transport. Nothing more will happen.
    Failed(DtlsError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshaking,
    Connected,
    Closed,
    Failed,
}

/// A sans-IO DTLS endpoint. See the [crate docs](crate) for the loop
/// that drives it.
pub struct DtlsTransport {
    backend: Box<dyn Backend>,
    role: Role,
    remote_fingerprints: Vec<Fingerprint>,
    srtp_profiles: Vec<u16>,
    handshake_timeout: Duration,
    deadline: Instant,
    state: State,
    remote_cert: Option<Vec<u8>>,
    srtp: Option<SrtpKeys>,
    engine_timeout: Option<Instant>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
}

impl fmt::Debug for DtlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtlsTransport").field("role", &self.role).field("state", &self.state).finish_non_exhaustive()
    }
}

impl DtlsTransport {
    /// A transport starting its handshake at `now`. A client's first
    /// flight is ready in [`poll_transmit`](Self::poll_transmit) at once.
    ///
    /// Fails only on configuration errors: no remote fingerprint, an MTU
    /// below 256, a zero handshake timeout, an engine that cannot serve
    /// the configuration (an RSA certificate with [`Engine::Dimpl`], DTLS
    /// 1.3 with [`Engine::OpenSsl`], [`Engine::OpenSsl`] without the
    /// `openssl` feature).
    pub fn new(now: Instant, config: DtlsConfig) -> Result<Self, DtlsError> {
        if config.remote_fingerprints.is_empty() {
            return Err(DtlsError::NoRemoteFingerprint);
        }
        if config.mtu < 256 {
            return Err(DtlsError::InvalidConfig(format!(
                "mtu {} is too small; use at least 256 (1200 is typical)",
                config.mtu
            )));
        }
        if config.handshake_timeout.is_zero() {
            return Err(DtlsError::InvalidConfig("handshake_timeout must be greater than zero".into()));
        }
        let backend = backend::new(
            now,
            config.engine,
            BackendConfig {
                role: config.role,
                version: config.version,
                certificate: &config.certificate,
                mtu: config.mtu,
                handshake_timeout: config.handshake_timeout,
                srtp_profiles: &config.srtp_profiles,
            },
        )
        .map_err(DtlsError::InvalidConfig)?;
        let mut t = DtlsTransport {
            backend,
            role: config.role,
            remote_fingerprints: config.remote_fingerprints,
            srtp_profiles: config.srtp_profiles,
            handshake_timeout: config.handshake_timeout,
            deadline: now + config.handshake_timeout,
            state: State::Handshaking,
            remote_cert: None,
            srtp: None,
            engine_timeout: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        };
        let r = t.backend.handle_timeout(now);
        t.after(r);
        Ok(t)
    }

    /// The role this transport plays.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the handshake completed and the transport is not closed.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Feed one received datagram. Garbage, replays and duplicates are
    /// dropped silently.
    pub fn handle_receive(&mut self, now: Instant, datagram: &[u8]) {
        if self.check_terminal(now) {
            return;
        }
        let r = self.backend.handle_timeout(now).and_then(|()| self.backend.handle_packet(datagram));
        self.after(r);
    }

    /// Call when [`poll_timeout`](Self::poll_timeout) is due (early or
    /// repeated calls are harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.check_terminal(now) {
            return;
        }
        let r = self.backend.handle_timeout(now);
        self.after(r);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None`
    /// once closed or failed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed | State::Failed => None,
            State::Handshaking => Some(match self.engine_timeout {
                Some(t) => t.min(self.deadline),
                None => self.deadline,
            }),
            State::Connected => self.engine_timeout,
        }
    }

    /// The next datagram to send to the peer.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    /// Encrypt `data` as one record. Errors with
    /// [`DtlsError::NotConnected`] before [`DtlsEvent::Connected`] and
    /// [`DtlsError::Closed`] after close or failure; any other error is
    /// also reported as [`DtlsEvent::Failed`].
    pub fn send(&mut self, data: &[u8]) -> Result<(), DtlsError> {
        match self.state {
            State::Handshaking => return Err(DtlsError::NotConnected),
            State::Closed | State::Failed => return Err(DtlsError::Closed),
            State::Connected => {}
        }
        if let Err(e) = self.backend.send(data) {
            let err = DtlsError::Protocol(e);
            self.fail(err.clone());
            return Err(err);
        }
        self.pump();
        Ok(())
    }

    /// Send close_notify and close. [`DtlsEvent::Closed`] follows; drain
    /// [`poll_transmit`](Self::poll_transmit) once more to send the alert.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Closed | State::Failed => return,
            State::Handshaking => {}
            State::Connected => {
                let r = self.backend.handle_timeout(now).and_then(|()| self.backend.close());
                self.after(r);
            }
        }
        if matches!(self.state, State::Handshaking | State::Connected) {
            self.state = State::Closed;
            self.events.push_back(DtlsEvent::Closed);
        }
    }

    /// True (and nothing to do) once closed or failed; fails the
    /// handshake when its deadline passed.
    fn check_terminal(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed | State::Failed => true,
            State::Handshaking if now >= self.deadline => {
                self.fail(DtlsError::HandshakeTimeout { after: self.handshake_timeout });
                true
            }
            _ => false,
        }
    }

    fn after(&mut self, r: Result<(), String>) {
        match r {
            Ok(()) => self.pump(),
            Err(e) => {
                // Send what the engine queued (a fatal alert), then fail.
                self.pump();
                self.fail(DtlsError::Protocol(e));
            }
        }
    }

    fn fail(&mut self, err: DtlsError) {
        if matches!(self.state, State::Closed | State::Failed) {
            return;
        }
        self.state = State::Failed;
        self.events.push_back(DtlsEvent::Failed(err));
    }

    /// Drain the engine. `Connected` is reported after the keying
    /// material that dimpl emits right behind it, and before any data.
    fn pump(&mut self) {
        let mut connected = false;
        let mut data = Vec::new();
        loop {
            if self.state == State::Failed {
                // Nothing of a peer we rejected goes out or comes in.
                self.transmits.clear();
                return;
            }
            match self.backend.poll() {
                Output::Timeout(t) => {
                    self.engine_timeout = Some(t);
                    break;
                }
                Output::Transmit(d) => self.transmits.push_back(d),
                Output::PeerCert(der) => {
                    if self.remote_fingerprints.iter().any(|f| f.matches(&der)) {
                        self.remote_cert = Some(der);
                    } else {
                        self.fail(DtlsError::FingerprintMismatch { algorithm: self.remote_fingerprints[0].algorithm });
                    }
                }
                Output::Keying { profile, material } => {
                    if self.srtp_profiles.is_empty() {
                        continue;
                    }
                    if !self.srtp_profiles.contains(&profile) {
                        self.fail(DtlsError::SrtpProfileNotAllowed { profile });
                        continue;
                    }
                    match SrtpKeys::split(profile, &material, self.role) {
                        Some(k) => self.srtp = Some(k),
                        None => self.fail(DtlsError::Protocol(format!(
                            "keying material of {} bytes does not fit SRTP profile {profile:#06x}",
                            material.len()
                        ))),
                    }
                }
                Output::Connected => {
                    if self.remote_cert.is_none() {
                        self.fail(DtlsError::Protocol("handshake completed without a peer certificate".into()));
                    } else if self.state == State::Handshaking {
                        connected = true;
                    }
                }
                Output::Data(d) => {
                    if self.remote_cert.is_some() && (connected || self.state == State::Connected) {
                        data.push(d);
                    }
                }
                Output::CloseNotify => {
                    if self.state != State::Closed {
                        self.flush_data(connected, &mut data);
                        connected = false;
                        self.state = State::Closed;
                        self.events.push_back(DtlsEvent::Closed);
                    }
                }
            }
        }
        self.flush_data(connected, &mut data);
    }

    fn flush_data(&mut self, connected: bool, data: &mut Vec<Vec<u8>>) {
        if connected && self.state == State::Handshaking {
            self.state = State::Connected;
            self.events.push_back(DtlsEvent::Connected {
                srtp: self.srtp.clone(),
                remote_certificate_der: self.remote_cert.clone().unwrap_or_default(),
            });
        }
        if matches!(self.state, State::Connected | State::Closed) {
            self.events.extend(data.drain(..).map(DtlsEvent::Data));
        }
        data.clear();
    }
}
