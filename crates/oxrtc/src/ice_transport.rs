//! `IceTransport`: the ICE agent on real UDP sockets, driven by one tokio
//! task (the ORTC `RTCIceGatherer` + `RTCIceTransport` pair). TURN servers
//! reached over TCP or TLS get one connection task each (see
//! `turn_stream`), which feeds frames to the driver through a bounded queue.

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::task::Poll;
use std::time::{Duration, Instant};

use ice::{Candidate, Credentials, IceAgent, IceConfig, IceEvent, Received, TurnTransport};
use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn, Instrument};

use crate::dtls_transport::{Secure, SecureOutput};
use crate::net::{bind_udp, InterfaceFilter};
use crate::turn_stream::{self, dispatch, StreamMsg};

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
    /// A data channel event of the attached SCTP transport.
    Channel(datachannel::DataChannelEvent),
}

pub(crate) enum Command {
    RemoteCredentials(String, String),
    RemoteCandidate(Candidate),
    EndOfCandidates,
    RemoteLite(bool),
    Restart(oneshot::Sender<Credentials>),
    Send(Vec<u8>),
    Close(oneshot::Sender<()>),
    /// Attach a DTLS transport: from now on DTLS, SRTP and SRTCP datagrams go to it.
    AttachDtls(Box<dtls::DtlsConfig>, oneshot::Sender<Result<(), dtls::DtlsError>>),
    /// Through the attached DTLS transport.
    Secure(crate::dtls_transport::SecureCommand),
}

/// An ICE transport on UDP sockets. Dropping it (or [`IceTransport::close`])
/// stops its task and releases its sockets.
pub struct IceTransport {
    commands: mpsc::Sender<Command>,
    pub(crate) control: mpsc::Receiver<Notice>,
    pub(crate) data: mpsc::Receiver<Packet>,
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
        let mut sockets = Vec::new();
        for ip in config.interfaces.addresses()? {
            let std_socket = bind_udp(ip, config.port_range)?;
            std_socket.set_nonblocking(true)?;
            sockets.push(UdpSocket::from_std(std_socket)?);
        }
        if sockets.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no local interface passed the ICE interface filter; allow one (or loopback) to get host candidates",
            ));
        }
        let addrs: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr()).collect::<io::Result<_>>()?;
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
        let mut agent = IceAgent::new(config.ice, controlling);
        let credentials = agent.local_credentials().clone();
        agent.start_gathering(Instant::now(), &addrs);
        let span = tracing::info_span!("ice", ufrag = %credentials.ufrag);
        let (streams, frames_rx) = turn_stream::spawn_all(agent.turn_streams(), tls, &span);
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (control_tx, control_rx) = mpsc::channel(EVENT_QUEUE);
        let (data_tx, data_rx) = mpsc::channel(DATA_QUEUE);
        tokio::spawn(drive(agent, sockets, streams, frames_rx, cmd_rx, control_tx, data_tx).instrument(span));
        Ok(IceTransport { commands: cmd_tx, control: control_rx, data: data_rx, credentials, sockets: addrs, mdns })
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

/// Datagrams that look like DTLS and arrive before a DTLS transport is
/// attached (the peer's ClientHello can beat our own set-up) are kept, up to
/// this many, and handed to it when it comes.
const EARLY_DTLS: usize = 16;

/// The driver's state besides the agent.
struct Driver {
    sockets: Vec<UdpSocket>,
    addrs: Vec<SocketAddr>,
    streams: Vec<turn_stream::Conn>,
    control: mpsc::Sender<Notice>,
    data: mpsc::Sender<Packet>,
    secure: Option<Secure>,
    early_dtls: Vec<Vec<u8>>,
    /// Outgoing DTLS datagrams waiting for a selected pair.
    held: std::collections::VecDeque<Vec<u8>>,
    dropped: u64,
}

impl Driver {
    fn deliver(&mut self, p: Packet) {
        if self.data.try_send(p).is_err() {
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                warn!(dropped = self.dropped, "application is not reading its data; packets dropped");
            }
        }
    }

    /// A datagram the agent let through (on the selected pair or a valid one).
    fn received(&mut self, now: Instant, d: &[u8]) {
        match &mut self.secure {
            Some(secure) => {
                if let Some(p) = secure.handle_datagram(now, d) {
                    self.deliver(p);
                }
            }
            None => {
                if stun::classify(d) == stun::PacketKind::Dtls && self.early_dtls.len() < EARLY_DTLS {
                    self.early_dtls.push(d.to_vec());
                }
                self.deliver(Packet::Datagram(d.to_vec()));
            }
        }
    }

    fn send(&self, agent: &mut IceAgent, d: &[u8]) {
        match agent.send(d) {
            Ok(t) => dispatch(t, &self.sockets, &self.addrs, &self.streams),
            Err(e) => debug!(error = %e, "datagram dropped"),
        }
    }

    /// Drains every engine's output.
    fn flush(&mut self, agent: &mut IceAgent) {
        if let Some(secure) = &mut self.secure {
            // DTLS output before ICE has a pair (a client's first flight)
            // waits for the pair instead of a retransmission timeout.
            let paired = agent.selected_pair().is_some();
            while let Some(d) = secure.poll_transmit() {
                if paired || self.held.len() < EARLY_DTLS {
                    self.held.push_back(d);
                }
            }
            if paired {
                while let Some(d) = self.held.pop_front() {
                    match agent.send(&d) {
                        Ok(t) => dispatch(t, &self.sockets, &self.addrs, &self.streams),
                        Err(e) => debug!(error = %e, "DTLS datagram dropped"),
                    }
                }
            }
            while let Some(out) = secure.poll_output() {
                match out {
                    SecureOutput::Notice(notice) => emit(&self.control, Notice::Dtls(notice)),
                    SecureOutput::Packet(p) => {
                        if self.data.try_send(p).is_err() {
                            self.dropped += 1;
                        }
                    }
                }
            }
        }
        while let Some(t) = agent.poll_transmit() {
            dispatch(t, &self.sockets, &self.addrs, &self.streams);
        }
        while let Some(e) = agent.poll_event() {
            emit(&self.control, Notice::Ice(e));
        }
    }

    fn poll_timeout(&self, agent: &IceAgent) -> Option<Instant> {
        let secure = self.secure.as_ref().and_then(|s| s.poll_timeout());
        match (agent.poll_timeout(), secure) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

async fn drive(
    mut agent: IceAgent,
    sockets: Vec<UdpSocket>,
    streams: Vec<turn_stream::Conn>,
    mut frames: mpsc::Receiver<(usize, StreamMsg)>,
    mut commands: mpsc::Receiver<Command>,
    control: mpsc::Sender<Notice>,
    data: mpsc::Sender<Packet>,
) {
    let addrs: Vec<SocketAddr> = sockets.iter().filter_map(|s| s.local_addr().ok()).collect();
    let mut d = Driver {
        sockets,
        addrs,
        streams,
        control,
        data,
        secure: None,
        early_dtls: Vec::new(),
        held: Default::default(),
        dropped: 0,
    };
    let mut buf = vec![0u8; 65536];
    let mut closing: Option<(oneshot::Sender<()>, Instant)> = None;
    loop {
        // Output first: transmits and events.
        d.flush(&mut agent);
        if let Some((_, deadline)) = &closing {
            if agent.poll_timeout().is_none() || Instant::now() >= *deadline {
                break;
            }
        }
        let timeout = d.poll_timeout(&agent);
        let sleep = async {
            match timeout {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        let sockets = &d.sockets;
        let recv = poll_fn(|cx| {
            for (i, s) in sockets.iter().enumerate() {
                let mut rb = ReadBuf::new(&mut buf);
                if let Poll::Ready(r) = s.poll_recv_from(cx, &mut rb) {
                    let n = rb.filled().len();
                    return Poll::Ready((i, r.map(|from| (from, n))));
                }
            }
            Poll::Pending
        });
        tokio::select! {
            (i, r) = recv => {
                let Ok((from, n)) = r else { continue };
                let now = Instant::now();
                if let Received::Data(data) = agent.handle_receive(now, d.addrs[i], from, &buf[..n]) {
                    d.received(now, data);
                }
                // Take what else waits on this socket before flushing.
                for _ in 0..crate::peer_connection::RECV_BATCH {
                    let Ok((n, from)) = d.sockets[i].try_recv_from(&mut buf) else { break };
                    if let Received::Data(data) = agent.handle_receive(now, d.addrs[i], from, &buf[..n]) {
                        d.received(now, data);
                    }
                }
            }
            Some((i, msg)) = frames.recv() => {
                let now = Instant::now();
                let (server, transport) = (d.streams[i].server, d.streams[i].transport);
                match msg {
                    StreamMsg::Frame(frame) => {
                        if let Received::Data(data) = agent.handle_stream_frame(now, server, transport, &frame) {
                            d.received(now, data);
                        }
                    }
                    StreamMsg::Failed(reason) => {
                        d.streams[i].writes = None;
                        agent.turn_stream_failed(now, server, transport, &reason);
                    }
                }
            }
            _ = sleep => {
                let now = Instant::now();
                agent.handle_timeout(now);
                if let Some(s) = &mut d.secure {
                    s.handle_timeout(now);
                }
            }
            cmd = commands.recv(), if closing.is_none() => {
                let now = Instant::now();
                match cmd {
                    None => {
                        if let Some(s) = &mut d.secure {
                            s.close(now);
                            d.flush(&mut agent);
                        }
                        agent.close(now);
                        closing = Some((oneshot::channel().0, now + std::time::Duration::from_secs(2)));
                    }
                    Some(Command::Close(done)) => {
                        if let Some(s) = &mut d.secure {
                            s.close(now);
                            d.flush(&mut agent);
                        }
                        agent.close(now);
                        closing = Some((done, now + std::time::Duration::from_secs(2)));
                    }
                    Some(Command::RemoteCredentials(u, p)) => agent.set_remote_credentials(now, &u, &p),
                    Some(Command::RemoteCandidate(c)) => agent.add_remote_candidate(now, c),
                    Some(Command::EndOfCandidates) => agent.end_of_remote_candidates(now),
                    Some(Command::RemoteLite(l)) => agent.set_remote_lite(l),
                    Some(Command::Restart(tx)) => {
                        agent.restart(now);
                        let _ = tx.send(agent.local_credentials().clone());
                    }
                    Some(Command::Send(data)) => d.send(&mut agent, &data),
                    Some(Command::AttachDtls(config, done)) => {
                        let r = if d.secure.is_some() {
                            Err(dtls::DtlsError::InvalidConfig(
                                "a DTLS transport is already attached to this ICE transport".into(),
                            ))
                        } else {
                            Secure::new(now, *config).map(|mut s| {
                                for early in d.early_dtls.drain(..) {
                                    s.handle_datagram(now, &early);
                                }
                                d.secure = Some(s);
                            })
                        };
                        let _ = done.send(r);
                    }
                    Some(Command::Secure(c)) => match &mut d.secure {
                        Some(s) => s.command(now, c),
                        None => debug!("no DTLS transport attached; command dropped"),
                    },
                }
                agent.handle_timeout(now);
            }
        }
    }
    while let Some(e) = agent.poll_event() {
        emit(&d.control, Notice::Ice(e));
    }
    if let Some((done, _)) = closing {
        let _ = done.send(());
    }
}
