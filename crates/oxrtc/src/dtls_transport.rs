//! `DtlsTransport`: DTLS (and DTLS-SRTP) over an [`IceTransport`], the ORTC
//! `RTCDtlsTransport`.
//!
//! There is no second task: starting DTLS starts the DTLS part of the ICE
//! transport's composed [`peer::Transport`], in the same task. The
//! application reads one event stream with [`DtlsTransport::next_event`].

use dtls::{DtlsConfig, DtlsError};
use ice::IceEvent;
use srtp::Profile;
use tokio::sync::oneshot;

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
        ice.command(Command::StartDtls(Box::new(config), tx)).await;
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
        self.ice.command(Command::SendDtls(data)).await
    }

    /// Protects an RTP packet with SRTP and sends it. Dropped (and logged)
    /// before the transport is connected with an SRTP profile, and when the
    /// packet does not parse as RTP.
    pub async fn send_rtp(&self, packet: Vec<u8>) {
        self.ice.command(Command::SendSrtp(packet, false)).await
    }

    /// Protects an RTCP compound packet with SRTCP and sends it; dropped like
    /// [`send_rtp`](Self::send_rtp).
    pub async fn send_rtcp(&self, packet: Vec<u8>) {
        self.ice.command(Command::SendSrtp(packet, true)).await
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
