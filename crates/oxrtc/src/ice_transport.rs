//! `IceTransport`: the ORTC `RTCIceGatherer` + `RTCIceTransport` pair, the
//! first face of the composed [`peer::Transport`] run by the one driver
//! (`driver`) that also runs `RTCPeerConnection`. [`DtlsTransport`](crate::DtlsTransport)
//! and [`SctpTransport`](crate::SctpTransport) start the other parts of the
//! same transport in the same task.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::{ChannelInit, DataChannelError};
use ice::{Candidate, Credentials, IceAgent, IceConfig, IceEvent, TurnTransport};
use peer::{Transport, TransportEvent};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::data_channel::Consumed;
use crate::driver::{self, Endpoint, Sockets};
use crate::dtls_transport::DtlsNotice;
use crate::net::InterfaceFilter;
use crate::turn_stream;

/// How to gather and run ICE.
#[derive(Debug, Clone, Default)]
pub struct IceTransportConfig {
    /// The agent's configuration (servers, policy, lite, timers).
    pub ice: IceConfig,
    /// Which interfaces give host candidates.
    pub interfaces: InterfaceFilter,
    /// Local UDP port range, inclusive; any port when `None`.
    pub port_range: Option<(u16, u16)>,
    /// Certificates (DER, or PEM with one or more CERTIFICATE blocks) to
    /// trust for TURN servers over TLS, instead of the system's roots. A
    /// self-signed server certificate (CA:FALSE, name in subjectAltName) can
    /// be given directly.
    pub turn_tls_ca: Vec<Vec<u8>>,
    /// The name to verify in TLS servers' certificates (and to send as SNI);
    /// by default the server's IP address, which must then be in the
    /// certificate's subjectAltName.
    pub turn_tls_server_name: Option<String>,
    /// Where `.local` (mDNS) names of remote candidates are asked; the mDNS
    /// group 224.0.0.251:5353 when `None`.
    pub mdns_server: Option<SocketAddr>,
    /// How long to wait for an mDNS answer before dropping the candidate.
    pub mdns_timeout: Option<Duration>,
}

/// What an [`IceTransport`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // events are rare; data is the hot variant and is small
pub enum IceTransportEvent {
    /// An event of the agent (candidate, state, selected pair...).
    Ice(IceEvent),
    /// A datagram of application data from the peer.
    Data(Vec<u8>),
}

/// What the driver tells the handles, apart from packets.
pub(crate) enum Notice {
    Ice(IceEvent),
    Dtls(crate::dtls_transport::DtlsNotice),
}

/// A packet for the application, by the layer that produced it.
pub(crate) enum Packet {
    /// A datagram on the selected pair, before any DTLS transport is attached.
    Datagram(Vec<u8>),
    /// Application data of the DTLS transport (one record).
    Dtls(Vec<u8>),
    /// An unprotected RTP packet.
    Rtp(Vec<u8>),
    /// An unprotected RTCP compound packet.
    Rtcp(Vec<u8>),
}

type Reply<T> = oneshot::Sender<T>;

/// What the ORTC handles ask of their transport.
pub(crate) enum Command {
    RemoteCredentials(String, String),
    RemoteCandidate(Candidate),
    EndOfCandidates,
    RemoteLite(bool),
    Restart(Reply<Credentials>),
    Send(Vec<u8>),
    Close(Reply<()>),
    /// Start DTLS: from now on DTLS, SRTP and SRTCP datagrams go to it.
    StartDtls(Box<dtls::DtlsConfig>, Reply<Result<(), dtls::DtlsError>>),
    SendDtls(Vec<u8>),
    SendSrtp(Vec<u8>, bool),
    AttachSctp(Box<sctp::SctpConfig>, Reply<Result<(), dtls::DtlsError>>),
    CreateChannel(ChannelInit, Reply<Result<u16, DataChannelError>>),
    ChannelSend(u16, Bytes, bool, Reply<Result<(), DataChannelError>>),
    CloseChannel(u16),
}

/// An ICE transport on UDP sockets. Dropping it (or [`IceTransport::close`])
/// stops its task and releases its sockets.
pub struct IceTransport {
    commands: mpsc::Sender<Command>,
    pub(crate) control: mpsc::Receiver<Notice>,
    pub(crate) data: mpsc::Receiver<Packet>,
    /// Events of an attached SCTP transport: unbounded by count, bounded by
    /// SCTP's receive window, which a message holds until it is read
    /// (pull-style delivery).
    pub(crate) channel_events: mpsc::UnboundedReceiver<datachannel::DataChannelEvent>,
    /// Messages read, for the task to reopen the window.
    pub(crate) consumed: Arc<Consumed>,
    credentials: Credentials,
    sockets: Vec<SocketAddr>,
    mdns: crate::mdns::Resolver,
}

/// Datagrams queued for the application before new ones are dropped.
const DATA_QUEUE: usize = 1024;
/// Agent events queued for the application. Events are few (bounded by the
/// candidate caps and by timers); an application that reads none loses the
/// ones past this bound instead of growing memory.
const EVENT_QUEUE: usize = 4096;

fn emit(control: &mpsc::Sender<Notice>, e: Notice) {
    if let Err(mpsc::error::TrySendError::Full(e)) = control.try_send(e) {
        match e {
            Notice::Ice(e) => warn!(event = ?e, "application is not reading ICE events; event dropped"),
            Notice::Dtls(e) => warn!(event = ?e, "application is not reading DTLS events; event dropped"),
        }
    }
}

impl IceTransport {
    /// Binds one UDP socket per accepted interface address, starts the
    /// agent and gathering. Host candidates are available at once through
    /// [`IceTransport::next_event`].
    ///
    /// TURN servers over TCP or TLS get a connection each; their failures
    /// come later as [`IceEvent::ServerError`] with code 701. Fails at once
    /// when a TLS server is configured and [`IceTransportConfig::turn_tls_ca`]
    /// or [`IceTransportConfig::turn_tls_server_name`] is unusable.
    pub async fn start(config: IceTransportConfig, controlling: bool) -> io::Result<Self> {
        let Sockets { udp, addrs } = Sockets::bind(&config.interfaces, config.port_range)?;
        let needs_tls = config.ice.turn_servers.iter().any(|s| s.transport == TurnTransport::Tls);
        let tls = if needs_tls {
            Some(turn_stream::tls_settings(&config.turn_tls_ca, config.turn_tls_server_name.as_deref())?)
        } else {
            None
        };
        let local_ip =
            addrs.iter().map(|a| a.ip()).find(|ip| ip.is_ipv4()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mdns = crate::mdns::Resolver::new(
            config.mdns_server,
            local_ip,
            config.mdns_timeout.unwrap_or(Duration::from_secs(3)),
        );
        let mut transport = Transport::new(IceAgent::new(config.ice, controlling));
        transport.deliver_datagrams(true);
        let credentials = transport.ice().local_credentials().clone();
        transport.start_gathering(Instant::now(), &addrs);
        let span = tracing::info_span!("ice", ufrag = %credentials.ufrag);
        let turn = transport.turn_streams();
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (control_tx, control_rx) = mpsc::channel(EVENT_QUEUE);
        let (data_tx, data_rx) = mpsc::channel(DATA_QUEUE);
        let (channel_tx, channel_rx) = mpsc::unbounded_channel();
        let consumed = Arc::new(Consumed::default());
        let endpoint = Ortc {
            transport,
            control: control_tx,
            data: data_tx,
            channels: channel_tx,
            consumed: consumed.clone(),
            dropped: 0,
        };
        driver::spawn(endpoint, udp, turn, tls, cmd_rx, consumed.wake.clone(), span);
        Ok(IceTransport {
            commands: cmd_tx,
            control: control_rx,
            data: data_rx,
            channel_events: channel_rx,
            consumed,
            credentials,
            sockets: addrs,
            mdns,
        })
    }

    /// Our ufrag and password.
    pub fn local_credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The local socket addresses (host candidates).
    pub fn local_addresses(&self) -> &[SocketAddr] {
        &self.sockets
    }

    pub(crate) async fn command(&self, c: Command) {
        // A closed transport ignores commands.
        let _ = self.commands.send(c).await;
    }

    /// The peer's ufrag and password.
    pub async fn set_remote_credentials(&self, ufrag: &str, pwd: &str) {
        self.command(Command::RemoteCredentials(ufrag.into(), pwd.into())).await
    }

    /// A remote candidate from signaling.
    pub async fn add_remote_candidate(&self, candidate: Candidate) {
        self.command(Command::RemoteCandidate(candidate)).await
    }

    /// A remote candidate as signaled (`candidate:...`, with or without
    /// `a=`). A candidate whose address is an mDNS `.local` name (as Chrome
    /// and Firefox send) is resolved in the background and added once its
    /// address is known; one that cannot be resolved in time is dropped with
    /// a warning, as browsers do.
    pub fn add_remote_candidate_sdp(&self, line: &str) -> Result<(), ice::CandidateParseError> {
        let (candidate, hostname) = Candidate::parse_unresolved(line)?;
        let commands = self.commands.clone();
        let Some(name) = hostname else {
            if commands.try_send(Command::RemoteCandidate(candidate.clone())).is_err() {
                tokio::spawn(async move { commands.send(Command::RemoteCandidate(candidate)).await });
            }
            return Ok(());
        };
        self.mdns.spawn(name, candidate, move |c| async move {
            let _ = commands.send(Command::RemoteCandidate(c)).await;
        });
        Ok(())
    }

    /// The peer's end-of-candidates.
    pub async fn end_of_remote_candidates(&self) {
        self.command(Command::EndOfCandidates).await
    }

    /// Tells the agent the peer is ICE-lite.
    pub async fn set_remote_lite(&self, lite: bool) {
        self.command(Command::RemoteLite(lite)).await
    }

    /// ICE restart: returns the new local credentials to signal.
    pub async fn restart(&mut self) -> Option<Credentials> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Restart(tx)).await;
        let creds = rx.await.ok()?;
        self.credentials = creds.clone();
        Some(creds)
    }

    /// Sends a datagram to the peer on the selected pair. Dropped (and
    /// logged) when no pair is selected, like any datagram.
    pub async fn send(&self, data: Vec<u8>) {
        self.command(Command::Send(data)).await
    }

    /// The next event: agent events first, then data. `None` once the
    /// transport is closed.
    pub async fn next_event(&mut self) -> Option<IceTransportEvent> {
        loop {
            // Without a DTLS transport attached (it takes this handle), only
            // ICE events and plain datagrams come.
            let e = tokio::select! {
                biased;
                Some(e) = self.control.recv() => match e {
                    Notice::Ice(e) => IceTransportEvent::Ice(e),
                    Notice::Dtls(_) => continue,
                },
                Some(d) = self.data.recv() => match d {
                    Packet::Datagram(d) => IceTransportEvent::Data(d),
                    _ => continue,
                },
                else => return None,
            };
            return Some(e);
        }
    }

    /// Closes the transport: TURN allocations are released, the task ends.
    pub async fn close(self) {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Close(tx)).await;
        let _ = rx.await;
    }
}

/// The ORTC objects' endpoint: the composed [`Transport`] and the queues
/// to their handles.
struct Ortc {
    transport: Transport,
    control: mpsc::Sender<Notice>,
    data: mpsc::Sender<Packet>,
    channels: mpsc::UnboundedSender<datachannel::DataChannelEvent>,
    consumed: Arc<Consumed>,
    dropped: u64,
}

impl Ortc {
    fn deliver_packet(&mut self, p: Packet) {
        if self.data.try_send(p).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                warn!(dropped = self.dropped, "application is not reading its data; packets dropped");
            }
        }
    }
}

impl Endpoint for Ortc {
    type Command = Command;
    type Core = Transport;

    fn core(&mut self) -> &mut Transport {
        &mut self.transport
    }

    fn core_ref(&self) -> &Transport {
        &self.transport
    }

    fn command(&mut self, now: Instant, c: Command) -> Result<(), Option<oneshot::Sender<()>>> {
        let t = &mut self.transport;
        match c {
            Command::Close(done) => return Err(Some(done)),
            Command::RemoteCredentials(u, p) => t.ice_mut().set_remote_credentials(now, &u, &p),
            Command::RemoteCandidate(c) => t.ice_mut().add_remote_candidate(now, c),
            Command::EndOfCandidates => t.ice_mut().end_of_remote_candidates(now),
            Command::RemoteLite(l) => t.ice_mut().set_remote_lite(l),
            Command::Restart(tx) => {
                t.ice_mut().restart(now);
                let _ = tx.send(t.ice().local_credentials().clone());
            }
            Command::Send(data) => {
                if let Err(e) = t.send_datagram(&data) {
                    debug!(error = %e, "datagram dropped");
                }
            }
            Command::StartDtls(config, done) => {
                let _ = done.send(t.start_dtls(now, *config));
            }
            Command::SendDtls(d) => {
                if let Err(e) = t.send_dtls(now, &d) {
                    debug!(error = %e, "DTLS data dropped");
                }
            }
            Command::SendSrtp(p, rtcp) => {
                if let Err(e) = t.send_srtp(&p, rtcp) {
                    debug!(error = %e, "RTP/RTCP packet dropped");
                }
            }
            Command::AttachSctp(config, done) => {
                let _ = done.send(t.attach_sctp(now, *config, datachannel::ChannelLimits::default()));
            }
            Command::CreateChannel(init, done) => {
                let r = match t.channels_mut(now) {
                    Some(dc) => dc.create(now, init),
                    None => Err(DataChannelError::NoFreeId),
                };
                let _ = done.send(r);
            }
            Command::ChannelSend(id, data, binary, done) => {
                let r = match t.channels_mut(now) {
                    Some(dc) => dc.send(now, id, data, binary),
                    None => Err(DataChannelError::NoSuchChannel(id)),
                };
                let _ = done.send(r);
            }
            Command::CloseChannel(id) => {
                if let Some(dc) = t.channels_mut(now) {
                    dc.close(now, id);
                }
            }
        }
        Ok(())
    }

    fn close(&mut self, now: Instant) {
        self.transport.close(now);
    }

    fn deliver(&mut self, now: Instant) {
        let (bytes, messages) = self.consumed.take();
        if messages > 0 {
            if let Some(dc) = self.transport.channels_mut(now) {
                dc.consumed(bytes, messages);
            }
        }
        while let Some(e) = self.transport.poll_event() {
            match e {
                TransportEvent::Ice(e) => emit(&self.control, Notice::Ice(e)),
                TransportEvent::DtlsConnected { srtp_profile, remote_certificate_der } => {
                    emit(&self.control, Notice::Dtls(DtlsNotice::Connected { srtp_profile, remote_certificate_der }))
                }
                TransportEvent::DtlsClosed => emit(&self.control, Notice::Dtls(DtlsNotice::Closed)),
                TransportEvent::DtlsFailed(e) => emit(&self.control, Notice::Dtls(DtlsNotice::Failed(e))),
                TransportEvent::Datagram(d) => self.deliver_packet(Packet::Datagram(d)),
                TransportEvent::DtlsData(d) => self.deliver_packet(Packet::Dtls(d)),
                TransportEvent::Rtp(p) => self.deliver_packet(Packet::Rtp(p)),
                TransportEvent::Rtcp(p) => self.deliver_packet(Packet::Rtcp(p)),
                TransportEvent::Channel(e) => {
                    use datachannel::{ChannelEvent, DataChannelEvent};
                    if let Err(mpsc::error::SendError(DataChannelEvent::Channel(
                        _,
                        ChannelEvent::Message { data, .. },
                    ))) = self.channels.send(e)
                    {
                        // Nobody will read it: its room in the window comes back.
                        if let Some(dc) = self.transport.channels_mut(now) {
                            dc.consumed(data.len().max(1), 1);
                        }
                    }
                }
            }
        }
    }
}
