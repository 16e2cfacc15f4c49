//! `DtlsTransport`: DTLS (and DTLS-SRTP) over an [`IceTransport`], the ORTC
//! `RTCDtlsTransport`.
//!
//! There is no second task: attaching DTLS hands a sans-IO
//! [`dtls::DtlsTransport`] and, once keyed, the two SRTP contexts to the
//! ICE transport's driver task, which runs them inline on every datagram
//! (demultiplexed by first byte, RFC 7983). The application reads one
//! event stream with [`DtlsTransport::next_event`].

use std::collections::VecDeque;
use std::time::Instant;

use dtls::{DtlsConfig, DtlsError, DtlsEvent};
use ice::IceEvent;
use srtp::{Profile, SrtpContext};
use tokio::sync::oneshot;
use tracing::debug;

use crate::ice_transport::{Command, IceTransport, Notice, Packet};

/// What a [`DtlsTransport`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // events are rare; the data variants are small
pub enum DtlsTransportEvent {
    /// An event of the ICE agent underneath (candidates, states...).
    Ice(IceEvent),
    /// The handshake completed and the peer's certificate matched one of
    /// the remote fingerprints.
    Connected {
        /// The negotiated SRTP profile; RTP can be sent from now on. `None`
        /// when DTLS-SRTP was not negotiated.
        srtp_profile: Option<Profile>,
        /// The peer's certificate, DER.
        remote_certificate_der: Vec<u8>,
    },
    /// Application data (one DTLS record).
    Data(Vec<u8>),
    /// An RTP packet, authenticated and decrypted.
    Rtp(Vec<u8>),
    /// An RTCP compound packet, authenticated and decrypted.
    Rtcp(Vec<u8>),
    /// close_notify was sent or received. Final.
    Closed,
    /// The transport failed (wrong fingerprint, handshake timeout, protocol
    /// error). Final.
    Failed(DtlsError),
}

/// DTLS state changes, from the driver to the handle.
#[derive(Debug)]
pub(crate) enum DtlsNotice {
    Connected { srtp_profile: Option<Profile>, remote_certificate_der: Vec<u8> },
    Closed,
    Failed(DtlsError),
}

/// What a handle asks of the attached DTLS transport.
pub(crate) enum SecureCommand {
    Send(Vec<u8>),
    SendRtp(Vec<u8>),
    SendRtcp(Vec<u8>),
}

/// A DTLS transport over an ICE transport. Dropping it (or
/// [`close`](Self::close)) sends close_notify, releases the ICE transport's
/// sockets and stops its task.
pub struct DtlsTransport {
    ice: IceTransport,
}

impl DtlsTransport {
    /// Starts DTLS on `ice` with `config` (role from `a=setup`, our
    /// certificate, the remote fingerprints). A client sends its first
    /// flight as soon as ICE has a pair; DTLS datagrams the peer sent before
    /// this call are kept and processed.
    ///
    /// Fails on a configuration error (see [`dtls::DtlsTransport::new`]) or
    /// when the ICE transport is closed.
    pub async fn start(ice: IceTransport, config: DtlsConfig) -> Result<Self, DtlsError> {
        let (tx, rx) = oneshot::channel();
        ice.command(Command::AttachDtls(Box::new(config), tx)).await;
        rx.await.map_err(|_| DtlsError::Closed)??;
        Ok(DtlsTransport { ice })
    }

    /// The ICE transport underneath (credentials, remote candidates).
    pub fn ice(&self) -> &IceTransport {
        &self.ice
    }

    /// The ICE transport underneath, mutably (ICE restart).
    pub fn ice_mut(&mut self) -> &mut IceTransport {
        &mut self.ice
    }

    /// Sends `data` as one DTLS record. Dropped (and logged) before
    /// [`DtlsTransportEvent::Connected`] and after close.
    pub async fn send(&self, data: Vec<u8>) {
        self.ice.command(Command::Secure(SecureCommand::Send(data))).await
    }

    /// Protects an RTP packet with SRTP and sends it. Dropped (and logged)
    /// before the transport is connected with an SRTP profile, and when the
    /// packet does not parse as RTP.
    pub async fn send_rtp(&self, packet: Vec<u8>) {
        self.ice.command(Command::Secure(SecureCommand::SendRtp(packet))).await
    }

    /// Protects an RTCP compound packet with SRTCP and sends it; dropped like
    /// [`send_rtp`](Self::send_rtp).
    pub async fn send_rtcp(&self, packet: Vec<u8>) {
        self.ice.command(Command::Secure(SecureCommand::SendRtcp(packet))).await
    }

    /// The next event: ICE and DTLS state first, then packets. `None` once
    /// the transport is closed.
    pub async fn next_event(&mut self) -> Option<DtlsTransportEvent> {
        let ice = &mut self.ice;
        let e = tokio::select! {
            biased;
            Some(e) = ice.control.recv() => match e {
                Notice::Ice(e) => DtlsTransportEvent::Ice(e),
                Notice::Dtls(DtlsNotice::Connected { srtp_profile, remote_certificate_der }) => {
                    DtlsTransportEvent::Connected { srtp_profile, remote_certificate_der }
                }
                Notice::Dtls(DtlsNotice::Closed) => DtlsTransportEvent::Closed,
                Notice::Dtls(DtlsNotice::Failed(e)) => DtlsTransportEvent::Failed(e),
            },
            Some(p) = ice.data.recv() => match p {
                Packet::Datagram(d) | Packet::Dtls(d) => DtlsTransportEvent::Data(d),
                Packet::Rtp(p) => DtlsTransportEvent::Rtp(p),
                Packet::Rtcp(p) => DtlsTransportEvent::Rtcp(p),
            },
            else => return None,
        };
        Some(e)
    }

    /// Sends close_notify, then closes the ICE transport.
    pub async fn close(self) {
        self.ice.close().await
    }
}

/// One output of [`Secure`].
pub(crate) enum SecureOutput {
    Notice(DtlsNotice),
    Packet(Packet),
}

/// The DTLS engine and, once keyed, the SRTP contexts, run by the driver.
pub(crate) struct Secure {
    dtls: dtls::DtlsTransport,
    /// (protect, unprotect).
    srtp: Option<(SrtpContext, SrtpContext)>,
    out: VecDeque<SecureOutput>,
    transmits: VecDeque<Vec<u8>>,
    /// Datagrams dropped: SRTP before keys, failed authentication, replays,
    /// unknown first bytes.
    pub(crate) dropped: u64,
}

impl Secure {
    pub(crate) fn new(now: Instant, config: DtlsConfig) -> Result<Self, DtlsError> {
        let mut s = Secure {
            dtls: dtls::DtlsTransport::new(now, config)?,
            srtp: None,
            out: VecDeque::new(),
            transmits: VecDeque::new(),
            dropped: 0,
        };
        s.pump();
        Ok(s)
    }

    /// One datagram from the selected pair; RTP and RTCP come back at once,
    /// everything else through [`poll_output`](Self::poll_output).
    pub(crate) fn handle_datagram(&mut self, now: Instant, d: &[u8]) -> Option<Packet> {
        let r = match stun::classify(d) {
            stun::PacketKind::Dtls => {
                self.dtls.handle_receive(now, d);
                self.pump();
                return None;
            }
            stun::PacketKind::Rtp => self.srtp.as_mut().map(|(_, rx)| {
                let mut out = Vec::with_capacity(d.len());
                rx.unprotect_rtp(d, &mut out).map(|()| Packet::Rtp(out))
            }),
            stun::PacketKind::Rtcp => self.srtp.as_mut().map(|(_, rx)| {
                let mut out = Vec::with_capacity(d.len());
                rx.unprotect_rtcp(d, &mut out).map(|()| Packet::Rtcp(out))
            }),
            _ => None,
        };
        match r {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                self.drop_one(&e.to_string());
                None
            }
            None => {
                self.drop_one("not DTLS, or SRTP before keys");
                None
            }
        }
    }

    fn drop_one(&mut self, why: &str) {
        self.dropped += 1;
        if self.dropped.is_power_of_two() {
            debug!(dropped = self.dropped, why, "datagram dropped");
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.dtls.handle_timeout(now);
        self.pump();
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.dtls.poll_timeout()
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub(crate) fn poll_output(&mut self) -> Option<SecureOutput> {
        self.out.pop_front()
    }

    pub(crate) fn close(&mut self, now: Instant) {
        self.dtls.close(now);
        self.pump();
    }

    pub(crate) fn command(&mut self, c: SecureCommand) {
        match c {
            SecureCommand::Send(d) => {
                if let Err(e) = self.dtls.send(&d) {
                    debug!(error = %e, "DTLS data dropped");
                }
            }
            SecureCommand::SendRtp(p) => self.protect(&p, false),
            SecureCommand::SendRtcp(p) => self.protect(&p, true),
        }
        self.pump();
    }

    fn protect(&mut self, p: &[u8], rtcp: bool) {
        let Some((tx, _)) = self.srtp.as_mut() else {
            debug!("no SRTP keys (not connected, or no profile negotiated); RTP dropped");
            return;
        };
        let mut out = Vec::with_capacity(p.len() + 16 + 4);
        let r = if rtcp { tx.protect_rtcp(p, &mut out) } else { tx.protect_rtp(p, &mut out) };
        match r {
            Ok(()) => self.transmits.push_back(out),
            Err(e) => debug!(error = %e, "RTP/RTCP packet not protected; dropped"),
        }
    }

    fn pump(&mut self) {
        while let Some(t) = self.dtls.poll_transmit() {
            self.transmits.push_back(t);
        }
        while let Some(e) = self.dtls.poll_event() {
            let o = match e {
                DtlsEvent::Connected { srtp, remote_certificate_der } => {
                    let profile = srtp.as_ref().and_then(|k| Profile::from_id(k.profile));
                    if let (Some(keys), Some(profile)) = (srtp, profile) {
                        let config = srtp::Config::default();
                        let tx = SrtpContext::new(profile, &keys.local_key, &keys.local_salt, config.clone());
                        let rx = SrtpContext::new(profile, &keys.remote_key, &keys.remote_salt, config);
                        match (tx, rx) {
                            (Ok(tx), Ok(rx)) => self.srtp = Some((tx, rx)),
                            (Err(e), _) | (_, Err(e)) => debug!(error = %e, "SRTP contexts not created"),
                        }
                    }
                    SecureOutput::Notice(DtlsNotice::Connected { srtp_profile: profile, remote_certificate_der })
                }
                DtlsEvent::Data(d) => SecureOutput::Packet(Packet::Dtls(d)),
                DtlsEvent::Closed => SecureOutput::Notice(DtlsNotice::Closed),
                DtlsEvent::Failed(e) => SecureOutput::Notice(DtlsNotice::Failed(e)),
            };
            self.out.push_back(o);
        }
    }
}
