//! `SctpTransport`: SCTP and data channels over a [`DtlsTransport`], the
//! ORTC `RTCSctpTransport`, run inside the ICE transport's task like DTLS.

use bytes::Bytes;
use datachannel::{ChannelInit, DataChannelError, DataChannelEvent};
use dtls::DtlsError;
use ice::IceEvent;
use tokio::sync::oneshot;

use crate::dtls_transport::DtlsNotice;
use crate::ice_transport::{Command, Notice, Packet};
use crate::{DtlsTransport, DtlsTransportEvent};

/// What an [`SctpTransport`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SctpTransportEvent {
    /// An event of the ICE agent underneath.
    Ice(IceEvent),
    /// A DTLS state change (connected, closed, failed). Application data of
    /// DTLS is SCTP now, so [`DtlsTransportEvent::Data`] never appears here.
    Dtls(DtlsTransportEvent),
    /// A data channel event: opened by the peer, open, message, closed...
    Channel(DataChannelEvent),
}

/// SCTP over DTLS with data channels, identified by stream id. The DTLS
/// client starts the association once DTLS is up.
pub struct SctpTransport {
    dtls: DtlsTransport,
}

impl SctpTransport {
    /// Attaches an SCTP association configured by `config` (ports from
    /// `a=sctp-port`, `max_message_size` we accept, `remote_max_message_size`
    /// of the peer) to `dtls`. Delivery is pull-style whatever
    /// `config.hold_until_consumed` says: a message holds its room in SCTP's
    /// receive window until [`next_event`](Self::next_event) hands it out.
    pub async fn start(dtls: DtlsTransport, mut config: sctp::SctpConfig) -> Result<Self, DtlsError> {
        // Pull-style delivery: a message holds its room in the receive
        // window until `next_event` hands it out, so a slow reader slows the
        // peer down and nothing is dropped.
        config.hold_until_consumed = true;
        let (tx, rx) = oneshot::channel();
        dtls.ice().command(Command::AttachSctp(Box::new(config), tx)).await;
        rx.await.map_err(|_| DtlsError::Closed)??;
        Ok(SctpTransport { dtls })
    }

    /// The DTLS transport underneath.
    pub fn dtls(&self) -> &DtlsTransport {
        &self.dtls
    }

    /// Opens a channel (in band with DCEP unless `init.negotiated`); its id.
    pub async fn create_data_channel(&self, init: ChannelInit) -> Result<u16, DataChannelError> {
        let (tx, rx) = oneshot::channel();
        self.dtls.ice().command(Command::CreateChannel(init, tx)).await;
        rx.await.unwrap_or(Err(DataChannelError::NoFreeId))
    }

    /// Sends one message on channel `id`: text (`binary == false`) or bytes.
    pub async fn send(&self, id: u16, data: Bytes, binary: bool) -> Result<(), DataChannelError> {
        let (tx, rx) = oneshot::channel();
        self.dtls.ice().command(Command::ChannelSend(id, data, binary, tx)).await;
        rx.await.unwrap_or(Err(DataChannelError::NoSuchChannel(id)))
    }

    /// Closes channel `id` (stream reset).
    pub async fn close_channel(&self, id: u16) {
        self.dtls.ice().command(Command::CloseChannel(id)).await
    }

    /// The next event; `None` once the transport is closed.
    pub async fn next_event(&mut self) -> Option<SctpTransportEvent> {
        let ice = self.dtls.ice_mut();
        let e = tokio::select! {
            biased;
            Some(e) = ice.control.recv() => match e {
                Notice::Ice(e) => SctpTransportEvent::Ice(e),
                Notice::Dtls(DtlsNotice::Connected { srtp_profile, remote_certificate_der }) => {
                    SctpTransportEvent::Dtls(DtlsTransportEvent::Connected { srtp_profile, remote_certificate_der })
                }
                Notice::Dtls(DtlsNotice::Closed) => SctpTransportEvent::Dtls(DtlsTransportEvent::Closed),
                Notice::Dtls(DtlsNotice::Failed(e)) => SctpTransportEvent::Dtls(DtlsTransportEvent::Failed(e)),
            },
            Some(e) = ice.channel_events.recv() => {
                if let DataChannelEvent::Channel(_, datachannel::ChannelEvent::Message { data, .. }) = &e {
                    ice.consumed.add(data.len());
                }
                SctpTransportEvent::Channel(e)
            }
            Some(p) = ice.data.recv() => match p {
                Packet::Datagram(d) | Packet::Dtls(d) => SctpTransportEvent::Dtls(DtlsTransportEvent::Data(d)),
                Packet::Rtp(p) => SctpTransportEvent::Dtls(DtlsTransportEvent::Rtp(p)),
                Packet::Rtcp(p) => SctpTransportEvent::Dtls(DtlsTransportEvent::Rtcp(p)),
            },
            else => return None,
        };
        Some(e)
    }

    /// Aborts the association, sends close_notify, closes ICE.
    pub async fn close(self) {
        self.dtls.close().await
    }
}
