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

use bytes::Bytes;
use datachannel::{ChannelInit, DataChannelError, DataChannels};
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
    AttachSctp(Box<sctp::SctpConfig>, oneshot::Sender<Result<(), DtlsError>>),
    CreateChannel(ChannelInit, oneshot::Sender<Result<u16, DataChannelError>>),
    ChannelSend(u16, Bytes, bool, oneshot::Sender<Result<(), DataChannelError>>),
    CloseChannel(u16),
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
                // Only with an SCTP transport attached, which takes this handle.
                Packet::Channel(_) => return None,
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
    /// Data channels over SCTP, once an SCTP transport is attached.
    sctp: Option<DataChannels>,
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
            sctp: None,
            dropped: 0,
        };
        s.pump(now);
        Ok(s)
    }

    /// One datagram from the selected pair; RTP and RTCP come back at once,
    /// everything else through [`poll_output`](Self::poll_output).
    pub(crate) fn handle_datagram(&mut self, now: Instant, d: &[u8]) -> Option<Packet> {
        let r = match stun::classify(d) {
            stun::PacketKind::Dtls => {
                self.dtls.handle_receive(now, d);
                self.pump(now);
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
        if let Some(dc) = &mut self.sctp {
            dc.handle_timeout(now);
        }
        self.pump(now);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let sctp = self.sctp.as_ref().and_then(|dc| dc.poll_timeout());
        match (self.dtls.poll_timeout(), sctp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub(crate) fn poll_output(&mut self) -> Option<SecureOutput> {
        self.out.pop_front()
    }

    pub(crate) fn close(&mut self, now: Instant) {
        if let Some(dc) = &mut self.sctp {
            dc.association_mut().abort(now);
        }
        self.pump(now);
        self.dtls.close(now);
        self.pump(now);
    }

    pub(crate) fn command(&mut self, now: Instant, c: SecureCommand) {
        match c {
            SecureCommand::AttachSctp(config, done) => {
                let r = if self.sctp.is_some() {
                    Err(DtlsError::InvalidConfig("an SCTP transport is already attached".into()))
                } else {
                    let client = self.dtls.role() == dtls::Role::Client;
                    let mut dc = DataChannels::new(sctp::Association::new(now, *config), client);
                    if self.dtls.is_connected() {
                        dc.connect(now); // both ends send INIT (see peer::PeerConnection)
                    }
                    self.sctp = Some(dc);
                    Ok(())
                };
                let _ = done.send(r);
            }
            SecureCommand::CreateChannel(init, done) => {
                let r = match &mut self.sctp {
                    Some(dc) => dc.create(now, init),
                    None => Err(DataChannelError::NoFreeId),
                };
                let _ = done.send(r);
            }
            SecureCommand::ChannelSend(id, data, binary, done) => {
                let r = match &mut self.sctp {
                    Some(dc) => dc.send(now, id, data, binary),
                    None => Err(DataChannelError::NoSuchChannel(id)),
                };
                let _ = done.send(r);
            }
            SecureCommand::CloseChannel(id) => {
                if let Some(dc) = &mut self.sctp {
                    dc.close(now, id);
                }
            }
            SecureCommand::Send(d) => {
                if let Err(e) = self.dtls.send(&d) {
                    debug!(error = %e, "DTLS data dropped");
                }
            }
            SecureCommand::SendRtp(p) => self.protect(&p, false),
            SecureCommand::SendRtcp(p) => self.protect(&p, true),
        }
        self.pump(now);
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

    fn pump(&mut self, now: Instant) {
        for _ in 0..8 {
            self.pump_dtls(now);
            let Some(dc) = &mut self.sctp else { return };
            let mut busy = false;
            while let Some(p) = dc.poll_transmit(now) {
                busy = true;
                if let Err(e) = self.dtls.send(&p) {
                    debug!(error = %e, "SCTP packet dropped");
                }
            }
            while let Some(e) = dc.poll_event() {
                self.out.push_back(SecureOutput::Packet(Packet::Channel(e)));
            }
            if !busy {
                break;
            }
        }
        self.pump_dtls(now);
    }

    fn pump_dtls(&mut self, now: Instant) {
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
                    if let Some(dc) = &mut self.sctp {
                        dc.connect(now); // both ends send INIT, whatever the roles
                    }
                    SecureOutput::Notice(DtlsNotice::Connected { srtp_profile: profile, remote_certificate_der })
                }
                DtlsEvent::Data(d) => match &mut self.sctp {
                    Some(dc) => {
                        dc.handle_receive(now, &d);
                        continue;
                    }
                    None => SecureOutput::Packet(Packet::Dtls(d)),
                },
                DtlsEvent::Closed => SecureOutput::Notice(DtlsNotice::Closed),
                DtlsEvent::Failed(e) => SecureOutput::Notice(DtlsNotice::Failed(e)),
            };
            self.out.push_back(o);
        }
    }
}
