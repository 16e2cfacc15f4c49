//! `RTCPeerConnection`: the W3C API over the sans-IO [`peer::PeerConnection`],
//! driven by one tokio task that owns the sockets and the timer.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::{ChannelInfo, ChannelInit, ReadyState, Reliability};
use ice::{Candidate, GatheringState, IceConfig, IceTransportState, TransportPolicy, TurnTransport};
use peer::{
    BundlePolicy, ChannelHandle, PeerConfig, PeerConnection, PeerConnectionState, PeerError, PeerEvent,
    SessionDescription, SignalingState,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{warn, Instrument};

use crate::data_channel::{DataChannelEvent, RTCDataChannel, SendBudget, Shared as ChannelShared};
use crate::ice_server::{self, RTCIceServer};
use crate::net::{bind_udp, InterfaceFilter};
use crate::stats::{
    self, RTCCertificateStats, RTCDataChannelStats, RTCIceCandidatePairStats, RTCIceCandidateStats,
    RTCPeerConnectionStats, RTCStats, RTCStatsReport, RTCTransportStats,
};
use crate::turn_stream::{self, StreamMsg};
use crate::udp::Udp;

/// The W3C `RTCConfiguration`, with oxrtc's extras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RTCConfiguration {
    /// STUN and TURN servers.
    pub ice_servers: Vec<RTCIceServer>,
    /// `all` or `relay`.
    pub ice_transport_policy: TransportPolicy,
    /// BUNDLE policy of our offers.
    pub bundle_policy: BundlePolicy,
    /// Our certificate (keep one to keep a stable fingerprint); a new
    /// ECDSA P-256 one when empty.
    pub certificates: Vec<dtls::Certificate>,
    /// Which interfaces give host candidates (extra).
    pub interfaces: InterfaceFilter,
    /// Local UDP port range, inclusive (extra).
    pub port_range: Option<(u16, u16)>,
    /// Be an ICE-lite agent (extra; servers with a public address).
    pub ice_lite: bool,
    /// Largest data channel message we accept (extra; default 256 KiB).
    pub max_message_size: Option<usize>,
    /// Bytes all data channels may queue before `send` fails (extra;
    /// default 4 MiB).
    pub send_buffer_limit: Option<usize>,
    /// Where `.local` names of remote candidates are asked (extra); the mDNS
    /// group when `None`.
    pub mdns_server: Option<SocketAddr>,
    /// CAs to trust for `turns:` servers instead of the system roots (extra).
    pub turn_tls_ca: Vec<Vec<u8>>,
    /// The DTLS engine (extra): dimpl by default; `dtls::Engine::OpenSsl`
    /// (feature `openssl`) to accept peers with RSA certificates.
    pub dtls_engine: dtls::Engine,
}

/// The W3C `RTCIceCandidateInit`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RTCIceCandidateInit {
    /// `candidate:...`; empty for end-of-candidates.
    pub candidate: String,
    /// The section's mid.
    pub sdp_mid: Option<String>,
    /// The section's index.
    pub sdp_m_line_index: Option<u16>,
}

/// What an [`RTCPeerConnection`] reports.
#[derive(Debug)]
pub enum RTCPeerConnectionEvent {
    /// `icecandidate`: a candidate to signal, `None` at the end of gathering.
    IceCandidate(Option<RTCIceCandidateInit>),
    /// `datachannel`: the peer opened a channel.
    DataChannel(RTCDataChannel),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceTransportState),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(GatheringState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
}

/// What handles see without asking the task.
#[derive(Debug)]
pub(crate) struct Snapshot {
    signaling: SignalingState,
    ice: IceTransportState,
    gathering: GatheringState,
    connection: PeerConnectionState,
    local: Option<SessionDescription>,
    remote: Option<SessionDescription>,
    current_local: Option<SessionDescription>,
    current_remote: Option<SessionDescription>,
    pending_local: Option<SessionDescription>,
    pending_remote: Option<SessionDescription>,
}

type Reply<T> = oneshot::Sender<Result<T, PeerError>>;

pub(crate) enum Command {
    CreateOffer(bool, Reply<SessionDescription>),
    CreateAnswer(Reply<SessionDescription>),
    SetLocal(Option<SessionDescription>, Reply<SessionDescription>),
    SetRemote(SessionDescription, Reply<()>),
    AddCandidate(Option<Candidate>, Reply<()>),
    CreateChannel(ChannelInit, Reply<RTCDataChannel>),
    RestartIce,
    Close(oneshot::Sender<()>),
    /// A message the handle already checked (see `RTCDataChannel::send`).
    SendNoReply(ChannelHandle, Bytes, bool),
    CloseChannel(ChannelHandle),
    BufferedAmount(ChannelHandle, oneshot::Sender<usize>),
    SetThreshold(ChannelHandle, usize),
    Stats(oneshot::Sender<RTCStatsReport>),
}

/// Events queued for the application before new ones are dropped.
const EVENT_QUEUE: usize = 4096;
/// Datagrams read from a socket in one go before output is flushed.
pub(crate) const RECV_BATCH: usize = 64;
/// Messages queued per data channel; when full, the task stops reading the
/// network until the application catches up (SCTP then slows the peer).
pub(crate) const CHANNEL_QUEUE: usize = 1024;

/// A WebRTC peer connection. Dropping it (or [`close`](Self::close)) stops
/// its task and releases its sockets; [`RTCDataChannel`]s it made keep no
/// connection alive.
pub struct RTCPeerConnection {
    commands: mpsc::Sender<Command>,
    events: tokio::sync::Mutex<mpsc::Receiver<RTCPeerConnectionEvent>>,
    snapshot: Arc<Mutex<Snapshot>>,
    config: Mutex<RTCConfiguration>,
    mdns: crate::mdns::Resolver,
}

impl RTCPeerConnection {
    /// Binds one UDP socket per allowed interface, resolves the ICE servers
    /// and starts the connection's task. Gathering starts with the first
    /// `set_local_description`.
    pub async fn new(config: RTCConfiguration) -> io::Result<Self> {
        let mut sockets = Vec::new();
        for ip in config.interfaces.addresses()? {
            let s = bind_udp(ip, config.port_range)?;
            s.set_nonblocking(true)?;
            sockets.push(UdpSocket::from_std(s)?);
        }
        if sockets.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no local interface passed the interface filter; allow one (or loopback)",
            ));
        }
        let addrs: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr()).collect::<io::Result<_>>()?;
        let mut ice_config =
            IceConfig { policy: config.ice_transport_policy, lite: config.ice_lite, ..Default::default() };
        let tls_name = ice_server::apply(&config.ice_servers, &mut ice_config).await?;
        let needs_tls = ice_config.turn_servers.iter().any(|s| s.transport == TurnTransport::Tls);
        let tls =
            if needs_tls { Some(turn_stream::tls_settings(&config.turn_tls_ca, tls_name.as_deref())?) } else { None };
        let send_buffer_limit = config.send_buffer_limit.unwrap_or(4 * 1024 * 1024);
        let peer_config = PeerConfig {
            ice: ice_config,
            bundle_policy: config.bundle_policy,
            certificate: config.certificates.first().cloned(),
            dtls_engine: config.dtls_engine,
            max_message_size: config.max_message_size.unwrap_or(256 * 1024),
            send_buffer_limit,
            ..PeerConfig::default()
        };
        let core = PeerConnection::new(peer_config, addrs.clone())
            .map_err(|e| io::Error::other(format!("peer connection: {e}")))?;
        let span =
            tracing::info_span!("pc", fingerprint = %&core.certificate().fingerprint(dtls::Algorithm::Sha256)[..11]);
        let (streams, frames_rx) = turn_stream::spawn_all(core.turn_streams(), tls, &span);
        let snapshot = Arc::new(Mutex::new(Snapshot {
            signaling: SignalingState::Stable,
            ice: IceTransportState::New,
            gathering: GatheringState::New,
            connection: PeerConnectionState::New,
            local: None,
            remote: None,
            current_local: None,
            current_remote: None,
            pending_local: None,
            pending_remote: None,
        }));
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
        let local_ip =
            addrs.iter().map(|a| a.ip()).find(|ip| ip.is_ipv4()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mdns = crate::mdns::Resolver::new(config.mdns_server, local_ip, Duration::from_secs(3));
        let driver = Driver {
            core,
            mdns: mdns.clone(),
            udp: Udp::new(sockets)?,
            out: Vec::new(),
            streams,
            events: event_tx,
            snapshot: snapshot.clone(),
            commands: cmd_tx.downgrade(),
            channels: HashMap::new(),
            snapshot_dirty: true,
            budget: Arc::new(SendBudget {
                queued: Default::default(),
                buffered: Default::default(),
                limit: send_buffer_limit,
                remote_max: Default::default(),
            }),
            retry: VecDeque::new(),
            counters: HashMap::new(),
            opened: 0,
            closed: 0,
            backlog: VecDeque::new(),
        };
        tokio::spawn(driver.run(cmd_rx, frames_rx).instrument(span));
        Ok(RTCPeerConnection {
            commands: cmd_tx,
            events: tokio::sync::Mutex::new(event_rx),
            snapshot,
            mdns,
            config: Mutex::new(config),
        })
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, PeerError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).await.map_err(|_| PeerError::Closed)?;
        rx.await.map_err(|_| PeerError::Closed)?
    }

    /// `createOffer`.
    pub async fn create_offer(&self) -> Result<SessionDescription, PeerError> {
        self.ask(|r| Command::CreateOffer(false, r)).await
    }

    /// `createOffer({iceRestart: true})`.
    pub async fn create_offer_with_ice_restart(&self) -> Result<SessionDescription, PeerError> {
        self.ask(|r| Command::CreateOffer(true, r)).await
    }

    /// `createAnswer`.
    pub async fn create_answer(&self) -> Result<SessionDescription, PeerError> {
        self.ask(Command::CreateAnswer).await
    }

    /// `setLocalDescription`; with `None` the offer or answer the state
    /// calls for is created and set. Returns what was set.
    pub async fn set_local_description(
        &self,
        desc: Option<SessionDescription>,
    ) -> Result<SessionDescription, PeerError> {
        self.ask(|r| Command::SetLocal(desc, r)).await
    }

    /// `setRemoteDescription`. Candidates in it with mDNS `.local` names
    /// are resolved in the background.
    pub async fn set_remote_description(&self, desc: SessionDescription) -> Result<(), PeerError> {
        self.ask(|r| Command::SetRemote(desc, r)).await
    }

    /// `addIceCandidate`; `None` or an empty candidate is end-of-candidates.
    /// A `.local` (mDNS) candidate is resolved first, in the background; one
    /// that does not resolve within 3 s is dropped, as browsers do.
    pub async fn add_ice_candidate(&self, candidate: Option<RTCIceCandidateInit>) -> Result<(), PeerError> {
        let line = candidate.map(|c| c.candidate).filter(|c| !c.trim().is_empty());
        let Some(line) = line else {
            return self.ask(|r| Command::AddCandidate(None, r)).await;
        };
        let (c, name) = Candidate::parse_unresolved(&line)
            .map_err(|e| PeerError::InvalidDescription(format!("bad candidate: {e}")))?;
        let Some(name) = name else {
            return self.ask(|r| Command::AddCandidate(Some(c), r)).await;
        };
        let commands = self.commands.downgrade();
        self.mdns.spawn(name, c, move |c| add_resolved(commands, c));
        Ok(())
    }

    /// `createDataChannel(label, init)`; `init.label` is ignored in favour of `label`.
    pub async fn create_data_channel(
        &self,
        label: &str,
        init: Option<RTCDataChannelInit>,
    ) -> Result<RTCDataChannel, PeerError> {
        let init = init.unwrap_or_default();
        let reliability = match (init.max_retransmits, init.max_packet_life_time) {
            (Some(_), Some(_)) => {
                return Err(PeerError::InvalidState(
                    "maxRetransmits and maxPacketLifeTime cannot both be set (W3C TypeError)".into(),
                ))
            }
            (Some(n), None) => Reliability::MaxRetransmits(n.into()),
            (None, Some(ms)) => Reliability::MaxLifetime(Duration::from_millis(ms.into())),
            (None, None) => Reliability::Reliable,
        };
        let init = ChannelInit {
            label: label.to_string(),
            protocol: init.protocol,
            ordered: init.ordered,
            reliability,
            priority: init.priority.value(),
            negotiated: if init.negotiated { init.id.or(Some(0)) } else { None },
        };
        self.ask(|r| Command::CreateChannel(init, r)).await
    }

    /// `restartIce`.
    pub async fn restart_ice(&self) {
        let _ = self.commands.send(Command::RestartIce).await;
    }

    /// The next event; `None` once the connection is closed and every event
    /// was read.
    pub async fn next_event(&self) -> Option<RTCPeerConnectionEvent> {
        self.events.lock().await.recv().await
    }

    /// `getConfiguration`.
    pub fn get_configuration(&self) -> RTCConfiguration {
        self.config.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `setConfiguration`. As in W3C, the certificates and the bundle
    /// policy cannot change (`InvalidModification`). oxrtc also cannot yet
    /// change the ICE servers, transport policy, interfaces or ports of a
    /// live connection (they were used to bind and gather): such a change is
    /// refused with `InvalidState`; create a new connection instead.
    pub fn set_configuration(&self, new: RTCConfiguration) -> Result<(), PeerError> {
        let mut config = self.config.lock().unwrap_or_else(|p| p.into_inner());
        if new.certificates != config.certificates || new.bundle_policy != config.bundle_policy {
            return Err(PeerError::InvalidModification(
                "certificates and bundle_policy cannot change after construction".into(),
            ));
        }
        if new.ice_servers != config.ice_servers
            || new.ice_transport_policy != config.ice_transport_policy
            || new.interfaces != config.interfaces
            || new.port_range != config.port_range
            || new.ice_lite != config.ice_lite
        {
            return Err(PeerError::InvalidState(
                "changing ICE servers, policy, interfaces, ports or lite mode of a live connection is not \
                 supported yet; create a new RTCPeerConnection"
                    .into(),
            ));
        }
        *config = new;
        Ok(())
    }

    /// `getStats`: the peer connection, its transport, the selected
    /// candidate pair and its candidates, both certificates, every data
    /// channel. Empty once closed.
    pub async fn get_stats(&self) -> RTCStatsReport {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Stats(tx)).await.is_err() {
            return RTCStatsReport::default();
        }
        rx.await.unwrap_or_default()
    }

    fn snap<T>(&self, f: impl FnOnce(&Snapshot) -> T) -> T {
        f(&self.snapshot.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `signalingState`.
    pub fn signaling_state(&self) -> SignalingState {
        self.snap(|s| s.signaling)
    }

    /// `iceConnectionState`.
    pub fn ice_connection_state(&self) -> IceTransportState {
        self.snap(|s| s.ice)
    }

    /// `iceGatheringState`.
    pub fn ice_gathering_state(&self) -> GatheringState {
        self.snap(|s| s.gathering)
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> PeerConnectionState {
        self.snap(|s| s.connection)
    }

    /// `localDescription` (with the candidates gathered so far).
    pub fn local_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.local.clone())
    }

    /// `remoteDescription`.
    pub fn remote_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.remote.clone())
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.current_local.clone())
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.current_remote.clone())
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.pending_local.clone())
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<SessionDescription> {
        self.snap(|s| s.pending_remote.clone())
    }

    /// `close`: channels close, DTLS says close_notify, the task ends and
    /// the sockets are released.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Close(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCDataChannelInit {
    /// In-order delivery (default `true`).
    pub ordered: bool,
    /// Give up a message this many milliseconds after it was sent.
    pub max_packet_life_time: Option<u16>,
    /// Give up a message after this many retransmissions.
    pub max_retransmits: Option<u16>,
    /// Subprotocol.
    pub protocol: String,
    /// Negotiated out of band, with `id`.
    pub negotiated: bool,
    /// The stream id of a negotiated channel.
    pub id: Option<u16>,
    /// `priority` (sent in DCEP; oxrtc's scheduler is round robin).
    pub priority: RTCPriorityType,
}

/// The W3C `RTCPriorityType`, as RFC 8831 priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RTCPriorityType {
    /// 128.
    VeryLow,
    /// 256, the default.
    #[default]
    Low,
    /// 512.
    Medium,
    /// 1024.
    High,
}

impl RTCPriorityType {
    /// The RFC 8831 priority value.
    pub fn value(self) -> u16 {
        match self {
            RTCPriorityType::VeryLow => 128,
            RTCPriorityType::Low => 256,
            RTCPriorityType::Medium => 512,
            RTCPriorityType::High => 1024,
        }
    }
}

impl Default for RTCDataChannelInit {
    fn default() -> Self {
        RTCDataChannelInit {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: false,
            id: None,
            priority: RTCPriorityType::Low,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    messages_sent: u64,
    bytes_sent: u64,
    messages_received: u64,
    bytes_received: u64,
}

/// Adds a candidate whose `.local` name was resolved (if the connection
/// still exists).
async fn add_resolved(commands: mpsc::WeakSender<Command>, c: Candidate) {
    if let Some(commands) = commands.upgrade() {
        let (tx, _rx) = oneshot::channel();
        let _ = commands.send(Command::AddCandidate(Some(c), tx)).await;
    }
}

struct Driver {
    core: PeerConnection,
    /// Resolves `.local` candidates of remote descriptions.
    mdns: crate::mdns::Resolver,
    udp: Udp,
    /// Transmits collected for one batched send.
    out: Vec<ice::Transmit>,
    streams: Vec<turn_stream::Conn>,
    events: mpsc::Sender<RTCPeerConnectionEvent>,
    snapshot: Arc<Mutex<Snapshot>>,
    commands: mpsc::WeakSender<Command>,
    channels: HashMap<ChannelHandle, (mpsc::Sender<DataChannelEvent>, Arc<ChannelShared>)>,
    /// States or descriptions changed since the snapshot was taken.
    snapshot_dirty: bool,
    /// The send budget the channel handles check.
    budget: Arc<SendBudget>,
    /// Checked messages waiting for room in SCTP's buffer.
    retry: VecDeque<(ChannelHandle, Bytes, bool)>,
    /// Message counts per live channel, for `getStats`.
    counters: HashMap<ChannelHandle, Counters>,
    /// Channels opened and closed, for `getStats`.
    opened: u32,
    closed: u32,
    /// Channel events waiting for room in their channel's queue; while any
    /// wait, the network is not read.
    backlog: VecDeque<(ChannelHandle, DataChannelEvent)>,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, mut frames: mpsc::Receiver<(usize, StreamMsg)>) {
        let mut buf = vec![0u8; 65536];
        let mut closing: Option<(Option<oneshot::Sender<()>>, Instant)> = None;
        loop {
            self.flush();
            if let Some((_, deadline)) = &closing {
                if self.core.poll_timeout().is_none() || Instant::now() >= *deadline {
                    break;
                }
            }
            let timeout = self.core.poll_timeout();
            let sleep = async {
                match timeout {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let blocked = !self.backlog.is_empty();
            let backlog_sender = self.backlog.front().and_then(|(h, _)| self.channels.get(h)).map(|(tx, _)| tx.clone());
            let room = async {
                match &backlog_sender {
                    Some(tx) => tx.reserve().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let udp = &self.udp;
            let recv = poll_fn(|cx| udp.poll_readable(cx));
            tokio::select! {
                i = recv, if !blocked => {
                    // Take what waits on this socket (GRO runs included)
                    // before flushing: one flush, and fewer acknowledgements,
                    // per burst.
                    let now = Instant::now();
                    let local = self.udp.addrs()[i];
                    for _ in 0..RECV_BATCH {
                        let Some(r) = self.udp.recv(i, &mut buf) else { break };
                        for datagram in buf[..r.len].chunks(r.stride) {
                            self.core.handle_receive(now, local, r.from, datagram);
                        }
                    }
                }
                Some((i, msg)) = frames.recv(), if !blocked => {
                    let now = Instant::now();
                    let (server, transport) = (self.streams[i].server, self.streams[i].transport);
                    match msg {
                        StreamMsg::Frame(f) => self.core.handle_stream_frame(now, server, transport, &f),
                        StreamMsg::Failed(reason) => {
                            self.streams[i].writes = None;
                            self.core.turn_stream_failed(now, server, transport, &reason);
                        }
                    }
                }
                ok = room => {
                    if !ok {
                        // The application dropped the channel's handle.
                        if let Some((h, _)) = self.backlog.pop_front() {
                            self.backlog.retain(|(x, _)| *x != h);
                        }
                    }
                }
                _ = sleep => self.core.handle_timeout(Instant::now()),
                cmd = commands.recv(), if closing.is_none() => {
                    let now = Instant::now();
                    match cmd {
                        None => {
                            self.core.close(now);
                            closing = Some((None, now + Duration::from_secs(1)));
                        }
                        Some(Command::Close(done)) => {
                            self.core.close(now);
                            closing = Some((Some(done), now + Duration::from_secs(1)));
                        }
                        Some(c) => {
                            self.command(now, c);
                            // Take what else is queued before flushing, so
                            // that back-to-back sends share packets.
                            for _ in 0..256 {
                                match commands.try_recv() {
                                    Ok(Command::Close(done)) => {
                                        self.core.close(now);
                                        closing = Some((Some(done), now + Duration::from_secs(1)));
                                        break;
                                    }
                                    Ok(c) => self.command(now, c),
                                    Err(_) => break,
                                }
                            }
                        }
                    }
                }
            }
        }
        self.flush();
        for (_, shared) in self.channels.values() {
            shared.set_state(ReadyState::Closed);
        }
        if let Some((Some(done), _)) = closing {
            let _ = done.send(());
        }
    }

    fn command(&mut self, now: Instant, c: Command) {
        match c {
            Command::CreateOffer(restart, r) => {
                let _ = r.send(self.core.create_offer(now, restart));
            }
            Command::CreateAnswer(r) => {
                let _ = r.send(self.core.create_answer());
            }
            Command::SetLocal(d, r) => {
                let result = self.core.set_local_description(now, d);
                // The getters must agree with the reply.
                self.update_snapshot();
                let _ = r.send(result);
            }
            Command::SetRemote(d, r) => {
                let result = self.core.set_remote_description(now, d).map(|unresolved| {
                    for (c, name) in unresolved {
                        self.mdns.spawn(name, c, {
                            let commands = self.commands.clone();
                            move |c| add_resolved(commands, c)
                        });
                    }
                });
                self.update_snapshot();
                let _ = r.send(result);
            }
            Command::AddCandidate(c, r) => {
                let result = self.core.add_ice_candidate(now, c);
                self.snapshot_dirty = true;
                let _ = r.send(result);
            }
            Command::CreateChannel(init, r) => {
                let result = self.core.create_data_channel(now, init).map(|h| self.channel_handle(h));
                let _ = r.send(result);
            }
            Command::RestartIce => self.core.restart_ice(),
            Command::Close(_) => {}
            Command::SendNoReply(h, data, binary) => {
                self.budget.queued.fetch_sub(data.len(), std::sync::atomic::Ordering::AcqRel);
                if !self.retry.is_empty() {
                    // Keep the order behind messages waiting for room.
                    self.retry.push_back((h, data, binary));
                } else {
                    self.send_now(now, h, data, binary);
                }
            }
            Command::CloseChannel(h) => self.core.close_channel(now, h),
            Command::BufferedAmount(h, r) => {
                let _ = r.send(self.core.buffered_amount(h));
            }
            Command::SetThreshold(h, n) => self.core.set_buffered_amount_low_threshold(h, n),
            Command::Stats(r) => {
                let _ = r.send(self.stats());
            }
        }
    }

    fn stats(&self) -> RTCStatsReport {
        let mut entries = vec![RTCStats::PeerConnection(RTCPeerConnectionStats {
            id: "P".into(),
            data_channels_opened: self.opened,
            data_channels_closed: self.closed,
        })];
        let agent = self.core.ice_agent();
        let ice = agent.stats();
        let fp = |der: &[u8]| dtls::Fingerprint::of_der(dtls::Algorithm::Sha256, der).value;
        let local_der = self.core.certificate().der();
        entries.push(RTCStats::Certificate(RTCCertificateStats {
            id: "CF-local".into(),
            fingerprint: fp(local_der),
            fingerprint_algorithm: "sha-256",
            base64_certificate: stats::base64(local_der),
        }));
        if let Some(der) = self.core.remote_certificate() {
            entries.push(RTCStats::Certificate(RTCCertificateStats {
                id: "CF-remote".into(),
                fingerprint: fp(der),
                fingerprint_algorithm: "sha-256",
                base64_certificate: stats::base64(der),
            }));
        }
        let candidate = |id: &str, c: &Candidate| RTCIceCandidateStats {
            id: id.into(),
            transport_id: "T".into(),
            address: c.address,
            protocol: if c.protocol == ice::Protocol::Udp { "udp" } else { "tcp" },
            candidate_type: stats::candidate_type(c.kind),
            priority: c.priority,
        };
        let pair = agent.selected_pair();
        if let Some((l, r)) = pair {
            entries.push(RTCStats::LocalCandidate(candidate("I-local", l)));
            entries.push(RTCStats::RemoteCandidate(candidate("I-remote", r)));
            entries.push(RTCStats::CandidatePair(RTCIceCandidatePairStats {
                id: "CP".into(),
                transport_id: "T".into(),
                local_candidate_id: "I-local".into(),
                remote_candidate_id: "I-remote".into(),
                state: "succeeded",
                nominated: true,
                current_round_trip_time: ice.rtt,
                bytes_sent: ice.bytes_sent,
                bytes_received: ice.bytes_received,
                requests_sent: ice.checks_sent + ice.check_retransmits,
                requests_received: ice.checks_received,
                responses_sent: ice.checks_received,
                responses_received: ice.responses_received,
            }));
        }
        entries.push(RTCStats::Transport(RTCTransportStats {
            id: "T".into(),
            bytes_sent: ice.bytes_sent,
            bytes_received: ice.bytes_received,
            ice_state: self.core.ice_connection_state(),
            ice_role: if agent.is_controlling() { "controlling" } else { "controlled" },
            dtls_state: self.core.dtls_state().as_str(),
            selected_candidate_pair_id: pair.map(|_| "CP".into()),
            local_certificate_id: "CF-local".into(),
            remote_certificate_id: self.core.remote_certificate().map(|_| "CF-remote".into()),
        }));
        if let Some(dc) = self.core.data_channels() {
            let st = dc.association().stats();
            entries.push(RTCStats::SctpTransport(stats::RTCSctpTransportStats {
                id: "S".into(),
                transport_id: "T".into(),
                smoothed_round_trip_time: st.srtt,
                congestion_window: st.cwnd,
                receiver_window: st.peer_rwnd,
                mtu: 1200,
                unack_data: st.outstanding_chunks,
                association: st,
            }));
        }
        let mut handles: Vec<&ChannelHandle> = self.counters.keys().collect();
        handles.sort();
        for h in handles {
            let c = &self.counters[h];
            let info = self.core.channel_info(*h);
            entries.push(RTCStats::DataChannel(RTCDataChannelStats {
                id: format!("D{}", h.0),
                label: info.as_ref().map(|i| i.label.clone()).unwrap_or_default(),
                protocol: info.as_ref().map(|i| i.protocol.clone()).unwrap_or_default(),
                data_channel_identifier: info.as_ref().map(|i| i.id).filter(|id| *id != u16::MAX),
                state: self.core.channel_state(*h).unwrap_or(ReadyState::Closed),
                messages_sent: c.messages_sent,
                bytes_sent: c.bytes_sent,
                messages_received: c.messages_received,
                bytes_received: c.bytes_received,
            }));
        }
        RTCStatsReport { entries }
    }

    /// A handle for a channel the core knows.
    /// Hands a checked message to SCTP. Another channel's sends can fill the
    /// buffer between the handle's check and here: such a message waits in
    /// `retry` (bounded by the handles' budget) for room.
    fn send_now(&mut self, now: Instant, h: ChannelHandle, data: Bytes, binary: bool) {
        let len = data.len() as u64;
        match self.core.send(now, h, data.clone(), binary) {
            Ok(()) => {
                let c = self.counters.entry(h).or_default();
                c.messages_sent += 1;
                c.bytes_sent += len;
            }
            Err(PeerError::DataChannel(datachannel::DataChannelError::Send(sctp::SendError::BufferFull {
                ..
            }))) => {
                self.retry.push_back((h, data, binary));
            }
            Err(e) => tracing::debug!(error = %e, "data channel message dropped"),
        }
    }

    /// Retries messages that found the buffer full, in order.
    fn retry_sends(&mut self, now: Instant) {
        while let Some((h, data, binary)) = self.retry.pop_front() {
            let before = self.retry.len();
            self.send_now(now, h, data, binary);
            if self.retry.len() > before {
                // Still full: it went back to the end; restore the order.
                if let Some(last) = self.retry.pop_back() {
                    self.retry.push_front(last);
                }
                break;
            }
        }
    }

    fn channel_handle(&mut self, h: ChannelHandle) -> RTCDataChannel {
        let info = self.core.channel_info(h).unwrap_or(ChannelInfo {
            id: u16::MAX,
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            negotiated: false,
        });
        let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
        let shared = Arc::new(ChannelShared::new(info, self.core.channel_state(h).unwrap_or(ReadyState::Connecting)));
        self.channels.insert(h, (tx, shared.clone()));
        RTCDataChannel::new(h, self.budget.clone(), self.commands.clone(), rx, shared)
    }

    /// Sends and events out, snapshot updated.
    fn flush(&mut self) {
        if !self.retry.is_empty() {
            self.retry_sends(Instant::now());
        }
        while let Some(t) = self.core.poll_transmit() {
            self.out.push(t);
        }
        self.udp.send_all(&mut self.out, &self.streams);
        let mut events = Vec::new();
        while let Some(e) = self.core.poll_event() {
            // The application must see the new states and descriptions as
            // soon as it sees the event that announces them.
            self.snapshot_dirty |= !matches!(
                e,
                PeerEvent::ChannelMessage { .. } | PeerEvent::ChannelBufferedAmountLow(_) | PeerEvent::Warning(_)
            );
            events.push(e);
        }
        if self.snapshot_dirty {
            self.update_snapshot();
        }
        // What the handles check `send` against.
        if let Some(dc) = self.core.data_channels() {
            let retrying: usize = self.retry.iter().map(|(_, d, _)| d.len()).sum();
            let buffered = dc.association().buffered_amount_total() + retrying;
            self.budget.buffered.store(buffered, std::sync::atomic::Ordering::Release);
        }
        if let Some(max) = self.core.remote_max_message_size() {
            self.budget.remote_max.store(max, std::sync::atomic::Ordering::Release);
        }
        for e in events {
            self.event(e);
        }
        // Events may have produced transmits (a channel handle created...).
        while let Some(t) = self.core.poll_transmit() {
            self.out.push(t);
        }
        self.udp.send_all(&mut self.out, &self.streams);
        // Channel events that now fit.
        while let Some(&(h, _)) = self.backlog.front() {
            let Some(tx) = self.channels.get(&h).map(|(tx, _)| tx.clone()) else {
                self.backlog.pop_front();
                continue;
            };
            let reserved = match tx.try_reserve() {
                Ok(permit) => {
                    let (_, e) = self.backlog.pop_front().expect("front exists");
                    let closed = matches!(e, DataChannelEvent::Close);
                    permit.send(e);
                    Ok(closed)
                }
                Err(e) => Err(matches!(e, mpsc::error::TrySendError::Full(()))),
            };
            match reserved {
                Ok(true) => {
                    self.channels.remove(&h);
                }
                Ok(false) => {}
                Err(true) => break,
                Err(false) => self.backlog.retain(|(x, _)| *x != h),
            }
        }
    }

    /// Copies states and descriptions for the handles' getters (descriptions
    /// are rendered as text, so only when something changed).
    fn update_snapshot(&mut self) {
        self.snapshot_dirty = false;
        let mut s = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        s.signaling = self.core.signaling_state();
        s.ice = self.core.ice_connection_state();
        s.gathering = self.core.ice_gathering_state();
        s.connection = self.core.connection_state();
        s.local = self.core.local_description();
        s.remote = self.core.remote_description();
        s.current_local = self.core.current_local_description();
        s.current_remote = self.core.current_remote_description();
        s.pending_local = self.core.pending_local_description();
        s.pending_remote = self.core.pending_remote_description();
    }

    fn emit(&self, e: RTCPeerConnectionEvent) {
        if let Err(mpsc::error::TrySendError::Full(e)) = self.events.try_send(e) {
            warn!(event = ?e, "application is not reading peer connection events; event dropped");
        }
    }

    fn deliver_to_channel(&mut self, h: ChannelHandle, e: DataChannelEvent) {
        let Some((tx, shared)) = self.channels.get(&h) else { return };
        match &e {
            DataChannelEvent::Open => shared.set_state(ReadyState::Open),
            DataChannelEvent::Closing => shared.set_state(ReadyState::Closing),
            DataChannelEvent::Close => shared.set_state(ReadyState::Closed),
            _ => {}
        }
        if shared.id() == u16::MAX {
            if let Some(info) = self.core.channel_info(h) {
                shared.set_id(info.id);
            }
        }
        if !self.backlog.is_empty() {
            self.backlog.push_back((h, e));
            return;
        }
        match tx.try_send(e) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(e)) => self.backlog.push_back((h, e)),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn event(&mut self, e: PeerEvent) {
        match e {
            PeerEvent::IceCandidate(c) => {
                self.emit(RTCPeerConnectionEvent::IceCandidate(c.map(|c| RTCIceCandidateInit {
                    candidate: c.candidate,
                    sdp_mid: Some(c.sdp_mid),
                    sdp_m_line_index: Some(c.sdp_m_line_index),
                })))
            }
            PeerEvent::IceGatheringStateChange(s) => self.emit(RTCPeerConnectionEvent::IceGatheringStateChange(s)),
            PeerEvent::IceConnectionStateChange(s) => self.emit(RTCPeerConnectionEvent::IceConnectionStateChange(s)),
            PeerEvent::ConnectionStateChange(s) => self.emit(RTCPeerConnectionEvent::ConnectionStateChange(s)),
            PeerEvent::SignalingStateChange(s) => self.emit(RTCPeerConnectionEvent::SignalingStateChange(s)),
            PeerEvent::NegotiationNeeded => self.emit(RTCPeerConnectionEvent::NegotiationNeeded),
            PeerEvent::DataChannel(h, _) => {
                self.opened += 1;
                self.counters.entry(h).or_default();
                let ch = self.channel_handle(h);
                ch.shared().set_state(ReadyState::Open);
                self.emit(RTCPeerConnectionEvent::DataChannel(ch));
            }
            PeerEvent::ChannelOpen(h) => {
                self.opened += 1;
                self.counters.entry(h).or_default();
                self.deliver_to_channel(h, DataChannelEvent::Open)
            }
            PeerEvent::ChannelMessage { channel, data, binary } => {
                let c = self.counters.entry(channel).or_default();
                c.messages_received += 1;
                c.bytes_received += data.len() as u64;
                self.deliver_to_channel(channel, DataChannelEvent::Message { data, is_string: !binary })
            }
            PeerEvent::ChannelBufferedAmountLow(h) => self.deliver_to_channel(h, DataChannelEvent::BufferedAmountLow),
            PeerEvent::ChannelClosing(h) => self.deliver_to_channel(h, DataChannelEvent::Closing),
            PeerEvent::ChannelError(h, reason) => self.deliver_to_channel(h, DataChannelEvent::Error(reason)),
            PeerEvent::ChannelClosed(h) => {
                if self.counters.remove(&h).is_some() {
                    self.closed += 1;
                }
                self.deliver_to_channel(h, DataChannelEvent::Close);
                if self.backlog.iter().all(|(x, _)| *x != h) {
                    self.channels.remove(&h);
                }
            }
            PeerEvent::Warning(w) => warn!("{w}"),
        }
    }
}
