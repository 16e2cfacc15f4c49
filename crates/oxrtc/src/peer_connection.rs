//! `RTCPeerConnection`: the W3C API over the sans-IO [`peer::PeerConnection`],
//! run by the one driver (`driver`) that owns the sockets and the timer.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use datachannel::{ChannelInfo, ChannelInit, ReadyState, Reliability};
use ice::{Candidate, GatheringState, IceConfig, IceTransportState, TransportPolicy, TurnTransport};
use peer::{
    ChannelHandle, PeerConfig, PeerConnection, PeerConnectionState, PeerError, PeerEvent, SessionDescription,
    SignalingState,
};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use crate::data_channel::{Consumed, DataChannelEvent, RTCDataChannel, SendBudget, Shared as ChannelShared};
use crate::driver::{self, Endpoint, Sockets};
use crate::ice_server::{self, RTCIceServer};
use crate::net::InterfaceFilter;
use crate::stats::{self, RTCStatsReport};
use crate::turn_stream;

/// The W3C `RTCConfiguration`, with oxrtc's extras.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RTCConfiguration {
    /// STUN and TURN servers.
    pub ice_servers: Vec<RTCIceServer>,
    /// `all` or `relay`.
    pub ice_transport_policy: TransportPolicy,
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
    /// What a peer may make us keep for its data channels (extra): at most
    /// 1,024 channels, labels and protocols of 4 KiB by default; an OPEN
    /// over these is refused by resetting its stream.
    pub channel_limits: datachannel::ChannelLimits,
    /// Bytes of received frames that may wait for the application to read
    /// them (extra; 8 MiB when `None`). Past it, frames are dropped, and a
    /// video transceiver then skips to its next keyframe, which it asks the
    /// peer for: a slow reader loses frames, never the connection's memory
    /// or its socket.
    pub frame_queue_bytes: Option<usize>,
}

/// The default of [`RTCConfiguration::frame_queue_bytes`].
pub const FRAME_QUEUE_BYTES: usize = 8 << 20;

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
    /// `pc.sctp.transport.onstatechange`: the DTLS transport's state. A
    /// peer's close_notify shows here as `Closed` at once (the connection
    /// state stays `connected` until ICE notices, as W3C says): a server
    /// releases the connection on it.
    DtlsStateChange(peer::DtlsTransportState),
    /// `pc.sctp.onstatechange`: the SCTP transport's state; `Closed` when the
    /// peer aborts or shuts the association down.
    SctpStateChange(peer::SctpTransportState),
    /// `track`: a transceiver starts receiving from the peer.
    Track(RTCTrackEvent),
    /// A frame received on a transceiver (complete encoded video frame or
    /// audio packet, in order).
    Frame(peer::TransceiverId, peer::MediaFrame),
    /// The peer asks for a keyframe on what a transceiver sends (on the
    /// simulcast encoding of the RID given, when it sends simulcast).
    KeyframeRequested(peer::TransceiverId, peer::KeyframeRequestKind, Option<String>),
    /// The send-side bandwidth estimate changed (bits per second, for all
    /// encoders together).
    BandwidthEstimate(u64),
}

/// What `track` carries: the transceiver that receives, its m-section and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RTCTrackEvent {
    /// The transceiver.
    pub transceiver: peer::TransceiverId,
    /// Its m-section's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: sdp::MediaKind,
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
    /// The payload types negotiated on each transceiver that has a
    /// negotiated section: what `write_frame` and `write_rtp` check before
    /// queueing without waiting for an answer.
    senders: HashMap<peer::TransceiverId, Vec<u8>>,
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
    /// A call on the core that answers through its own reply.
    Core(CoreCall),
    /// A frame or an RTP payload the handle already checked against the
    /// negotiated payload types; refused ones are counted, not answered.
    Media(MediaWrite),
}

/// One `write_frame` (`marker: None`) or `write_rtp` on its way to the core,
/// on a simulcast encoding when `rid` is given.
pub(crate) struct MediaWrite {
    id: peer::TransceiverId,
    rid: Option<RidBuf>,
    payload_type: u8,
    rtp_timestamp: u32,
    marker: Option<bool>,
    data: Bytes,
}

/// A RID carried without an allocation (RFC 8852 RIDs fit the extension's 16
/// bytes; a longer one is no RID of ours and takes the answered path).
#[derive(Clone, Copy)]
pub(crate) struct RidBuf {
    len: u8,
    bytes: [u8; 16],
}

impl RidBuf {
    fn new(rid: &str) -> Option<Self> {
        let mut bytes = [0u8; 16];
        bytes.get_mut(..rid.len())?.copy_from_slice(rid.as_bytes());
        Some(RidBuf { len: rid.len() as u8, bytes })
    }

    fn as_str(&self) -> &str {
        // Built from a &str of this length.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// A closure run on the task's core, with the time.
pub(crate) type CoreCall = Box<dyn FnOnce(Instant, &mut peer::PeerConnection) + Send>;

/// Events queued for the application before new ones are dropped.
const EVENT_QUEUE: usize = 4096;

/// A WebRTC peer connection. Dropping it (or [`close`](Self::close)) stops
/// its task and releases its sockets; [`RTCDataChannel`]s it made keep no
/// connection alive.
pub struct RTCPeerConnection {
    commands: mpsc::Sender<Command>,
    events: tokio::sync::Mutex<mpsc::Receiver<RTCPeerConnectionEvent>>,
    snapshot: Arc<Mutex<Snapshot>>,
    config: Mutex<RTCConfiguration>,
    mdns: crate::mdns::Resolver,
    /// Bytes of frames queued in `events`.
    frame_bytes: Arc<AtomicUsize>,
    /// Media writes dropped: the command queue was full, or the core refused them.
    media_dropped: Arc<AtomicU64>,
}

impl RTCPeerConnection {
    /// Binds one UDP socket per allowed interface, resolves the ICE servers
    /// and starts the connection's task. Gathering starts with the first
    /// `set_local_description`.
    pub async fn new(config: RTCConfiguration) -> io::Result<Self> {
        let Sockets { udp, addrs } = Sockets::bind(&config.interfaces, config.port_range)?;
        let mut ice_config =
            IceConfig { policy: config.ice_transport_policy, lite: config.ice_lite, ..Default::default() };
        let tls_name = ice_server::apply(&config.ice_servers, &mut ice_config).await?;
        let needs_tls = ice_config.turn_servers.iter().any(|s| s.transport == TurnTransport::Tls);
        let tls =
            if needs_tls { Some(turn_stream::tls_settings(&config.turn_tls_ca, tls_name.as_deref())?) } else { None };
        let defaults = PeerConfig::default();
        let send_buffer_limit = config.send_buffer_limit.unwrap_or(defaults.send_buffer_limit);
        let peer_config = PeerConfig {
            ice: ice_config,
            certificate: config.certificates.first().cloned(),
            dtls_engine: config.dtls_engine,
            max_message_size: config.max_message_size.unwrap_or(defaults.max_message_size),
            send_buffer_limit,
            channel_limits: config.channel_limits.clone(),
            // Pull-style delivery: a channel whose reader is slow keeps its
            // messages in SCTP's receive window, so the peer slows down
            // instead of the task holding an ever longer queue.
            sctp: sctp::SctpConfig { hold_until_consumed: true, ..defaults.sctp.clone() },
            // Sender reports carry real NTP times.
            wall_clock: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|unix| (Instant::now(), unix)),
            ..defaults
        };
        let core = PeerConnection::new(peer_config, addrs.clone())
            .map_err(|e| io::Error::other(format!("peer connection: {e}")))?;
        let span =
            tracing::info_span!("pc", fingerprint = %&core.certificate().fingerprint(dtls::Algorithm::Sha256)[..11]);
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
            senders: HashMap::new(),
        }));
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
        let local_ip =
            addrs.iter().map(|a| a.ip()).find(|ip| ip.is_ipv4()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mdns = crate::mdns::Resolver::new(config.mdns_server, local_ip, Duration::from_secs(3));
        let consumed = Arc::new(Consumed::default());
        let frame_bytes = Arc::new(AtomicUsize::new(0));
        let media_dropped = Arc::new(AtomicU64::new(0));
        let turn = core.turn_streams();
        let endpoint = Pc {
            core,
            mdns: mdns.clone(),
            events: event_tx,
            snapshot: snapshot.clone(),
            commands: cmd_tx.downgrade(),
            channels: HashMap::new(),
            snapshot_dirty: true,
            budget: Arc::new(SendBudget {
                queued: Default::default(),
                buffered: Default::default(),
                limit: send_buffer_limit,
                remote_max: AtomicUsize::new(usize::MAX),
            }),
            consumed: consumed.clone(),
            retry: VecDeque::new(),
            frame_bytes: frame_bytes.clone(),
            frame_budget: config.frame_queue_bytes.unwrap_or(FRAME_QUEUE_BYTES),
            skipping: HashSet::new(),
            frames_dropped: 0,
            media_dropped: media_dropped.clone(),
        };
        driver::spawn(endpoint, udp, turn, tls, cmd_rx, consumed.wake.clone(), span);
        Ok(RTCPeerConnection {
            commands: cmd_tx,
            events: tokio::sync::Mutex::new(event_rx),
            snapshot,
            mdns,
            config: Mutex::new(config),
            frame_bytes,
            media_dropped,
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

    /// Runs `f` on the connection's core and returns its answer.
    async fn with_core<T: Send + 'static>(
        &self,
        f: impl FnOnce(Instant, &mut peer::PeerConnection) -> Result<T, PeerError> + Send + 'static,
    ) -> Result<T, PeerError> {
        self.ask(|r| {
            Command::Core(Box::new(move |now, core| {
                let _ = r.send(f(now, core));
            }))
        })
        .await
    }

    /// `addTransceiver(kind, {direction})`: an audio or video transceiver;
    /// fires `negotiationneeded`. Frames it receives come as
    /// [`RTCPeerConnectionEvent::Frame`]; send with [`write_frame`](Self::write_frame).
    pub async fn add_transceiver(
        &self,
        kind: sdp::MediaKind,
        direction: sdp::Direction,
    ) -> Result<peer::TransceiverId, PeerError> {
        self.with_core(move |_, core| core.add_transceiver(kind, direction)).await
    }

    /// `addTransceiver(kind, {direction, sendEncodings})`: with RIDs in
    /// `init.send_encodings`, a video transceiver that sends simulcast; write
    /// each encoding with [`write_frame_rid`](Self::write_frame_rid). A peer
    /// that declines simulcast gets the first encoding only
    /// ([`peer::TransceiverInfo::send_rids`] says what was negotiated).
    pub async fn add_transceiver_with(
        &self,
        kind: sdp::MediaKind,
        init: peer::TransceiverInit,
    ) -> Result<peer::TransceiverId, PeerError> {
        self.with_core(move |_, core| core.add_transceiver_with(kind, init)).await
    }

    /// `RTCRtpTransceiver.direction = direction` (applied by the next negotiation).
    pub async fn set_transceiver_direction(
        &self,
        id: peer::TransceiverId,
        direction: sdp::Direction,
    ) -> Result<(), PeerError> {
        self.with_core(move |_, core| core.set_transceiver_direction(id, direction)).await
    }

    /// `getTransceivers()`.
    pub async fn transceivers(&self) -> Vec<peer::TransceiverInfo> {
        self.with_core(|_, core| Ok(core.transceivers())).await.unwrap_or_default()
    }

    /// The codecs negotiated on a transceiver, in preference order
    /// (`RTCRtpSender.getParameters().codecs`); empty before negotiation.
    pub async fn codecs(&self, id: peer::TransceiverId) -> Vec<peer::CodecConfig> {
        self.with_core(move |_, core| Ok(core.codecs(id))).await.unwrap_or_default()
    }

    /// Sends one encoded frame on a transceiver with the codec of
    /// `payload_type`; `rtp_timestamp` in the codec's clock (90 kHz video,
    /// 48 kHz Opus). It is packetized and paced out.
    ///
    /// Once the transceiver is negotiated this does not wait for the
    /// connection's task: a payload type not negotiated on it is refused at
    /// once, anything else is queued. When the queue is full the frame is
    /// dropped and counted ([`media_writes_dropped`](Self::media_writes_dropped))
    /// and the error is the pacer's `QueueFull`: send less. What the task
    /// itself refuses later (the pacer is full, the section does not send)
    /// is counted there too and logged at debug level.
    pub async fn write_frame(
        &self,
        id: peer::TransceiverId,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), PeerError> {
        self.write_frame_to(id, None, payload_type, rtp_timestamp, data).await
    }

    /// [`write_frame`](Self::write_frame) on the simulcast encoding `rid` of
    /// a transceiver (one of [`peer::TransceiverInfo::send_rids`]); queued
    /// the same way.
    pub async fn write_frame_rid(
        &self,
        id: peer::TransceiverId,
        rid: &str,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), PeerError> {
        self.write_frame_to(id, Some(rid), payload_type, rtp_timestamp, data).await
    }

    /// A frame on the transceiver's first encoding, or on encoding `rid`:
    /// queued when [`check_media`](Self::check_media) allows, else answered.
    async fn write_frame_to(
        &self,
        id: peer::TransceiverId,
        rid: Option<&str>,
        payload_type: u8,
        rtp_timestamp: u32,
        data: Bytes,
    ) -> Result<(), PeerError> {
        let queued_rid = rid.map(RidBuf::new);
        if self.check_media(id, payload_type)? && queued_rid.is_none_or(|r| r.is_some()) {
            let rid = queued_rid.flatten();
            return self.queue_media(MediaWrite { id, rid, payload_type, rtp_timestamp, marker: None, data });
        }
        let rid = rid.map(str::to_owned);
        self.with_core(move |now, core| match rid {
            None => core.write_frame(now, id, payload_type, rtp_timestamp, data),
            Some(rid) => core.write_frame_rid(now, id, &rid, payload_type, rtp_timestamp, data),
        })
        .await
    }

    /// Sends one RTP payload as it is (no packetizing: forwarding what
    /// another peer sent, or media packetized elsewhere); the SSRC, sequence
    /// number and header extensions are ours. Queued without waiting, as
    /// [`write_frame`](Self::write_frame) says.
    pub async fn write_rtp(
        &self,
        id: peer::TransceiverId,
        payload_type: u8,
        rtp_timestamp: u32,
        marker: bool,
        payload: Bytes,
    ) -> Result<(), PeerError> {
        match self.check_media(id, payload_type)? {
            true => self.queue_media(MediaWrite {
                id,
                rid: None,
                payload_type,
                rtp_timestamp,
                marker: Some(marker),
                data: payload,
            }),
            false => {
                self.with_core(move |now, core| core.write_rtp(now, id, payload_type, rtp_timestamp, marker, payload))
                    .await
            }
        }
    }

    /// Media writes dropped so far: the connection's command queue was full,
    /// or its task refused them (pacer queue full, section not sending).
    pub fn media_writes_dropped(&self) -> u64 {
        self.media_dropped.load(Ordering::Relaxed)
    }

    /// Whether a write on `id` with `payload_type` can be queued without an
    /// answer: `Ok(true)` when the transceiver is negotiated with that
    /// payload type, an error when it is negotiated without it, `Ok(false)`
    /// when the snapshot does not know the transceiver as negotiated (the
    /// task then answers with the exact error).
    fn check_media(&self, id: peer::TransceiverId, payload_type: u8) -> Result<bool, PeerError> {
        let snapshot = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        match snapshot.senders.get(&id) {
            Some(types) if types.contains(&payload_type) => Ok(true),
            Some(_) => Err(PeerError::Media(rtp::session::rtc::SessionError::UnknownPayloadType(payload_type))),
            None => Ok(false),
        }
    }

    /// Queues a checked write without waiting; a full queue drops it.
    fn queue_media(&self, write: MediaWrite) -> Result<(), PeerError> {
        match self.commands.try_send(Command::Media(write)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.media_dropped.fetch_add(1, Ordering::Relaxed);
                Err(PeerError::Media(rtp::session::rtc::SessionError::QueueFull))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(PeerError::Closed),
        }
    }

    /// Lip sync: the NTP/RTP clock pair of the last sender report of the
    /// received stream `ssrc` (each [`peer::MediaFrame`] names its SSRC).
    pub async fn sender_clock(&self, ssrc: u32) -> Option<peer::SenderClock> {
        self.with_core(move |_, core| Ok(core.sender_clock(ssrc))).await.ok().flatten()
    }

    /// Asks the peer for a keyframe on what a transceiver receives.
    pub async fn request_keyframe(
        &self,
        id: peer::TransceiverId,
        kind: peer::KeyframeRequestKind,
    ) -> Result<(), PeerError> {
        self.with_core(move |now, core| core.request_keyframe(now, id, kind)).await
    }

    /// Asks the peer for a keyframe of one simulcast stream a transceiver
    /// receives (the `rid` its frames carry).
    pub async fn request_keyframe_rid(
        &self,
        id: peer::TransceiverId,
        rid: &str,
        kind: peer::KeyframeRequestKind,
    ) -> Result<(), PeerError> {
        let rid = rid.to_owned();
        self.with_core(move |now, core| core.request_keyframe_rid(now, id, &rid, kind)).await
    }

    /// `restartIce`.
    pub async fn restart_ice(&self) {
        let _ = self.commands.send(Command::RestartIce).await;
    }

    /// The next event; `None` once the connection is closed and every event
    /// was read.
    pub async fn next_event(&self) -> Option<RTCPeerConnectionEvent> {
        let e = self.events.lock().await.recv().await;
        if let Some(RTCPeerConnectionEvent::Frame(_, f)) = &e {
            self.frame_bytes.fetch_sub(f.data.len(), Ordering::AcqRel);
        }
        e
    }

    /// Bytes of received frames waiting for [`next_event`](Self::next_event)
    /// (at most [`RTCConfiguration::frame_queue_bytes`]).
    pub fn queued_frame_bytes(&self) -> usize {
        self.frame_bytes.load(Ordering::Acquire)
    }

    /// `getConfiguration`.
    pub fn get_configuration(&self) -> RTCConfiguration {
        self.config.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `setConfiguration`. As in W3C, the certificates cannot change (`InvalidModification`). oxrtc also cannot yet
    /// change the ICE servers, transport policy, interfaces or ports of a
    /// live connection (they were used to bind and gather): such a change is
    /// refused with `InvalidState`; create a new connection instead.
    pub fn set_configuration(&self, new: RTCConfiguration) -> Result<(), PeerError> {
        let mut config = self.config.lock().unwrap_or_else(|p| p.into_inner());
        if new.certificates != config.certificates {
            return Err(PeerError::InvalidModification("certificates cannot change after construction".into()));
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

/// Adds a candidate whose `.local` name was resolved (if the connection
/// still exists).
async fn add_resolved(commands: mpsc::WeakSender<Command>, c: Candidate) {
    if let Some(commands) = commands.upgrade() {
        let (tx, _rx) = oneshot::channel();
        let _ = commands.send(Command::AddCandidate(Some(c), tx)).await;
    }
}

/// The W3C face's endpoint: the sans-IO peer connection and the queues to
/// the handles.
struct Pc {
    core: PeerConnection,
    /// Resolves `.local` candidates of remote descriptions.
    mdns: crate::mdns::Resolver,
    events: mpsc::Sender<RTCPeerConnectionEvent>,
    snapshot: Arc<Mutex<Snapshot>>,
    commands: mpsc::WeakSender<Command>,
    channels: HashMap<ChannelHandle, (mpsc::UnboundedSender<DataChannelEvent>, Arc<ChannelShared>)>,
    /// States or descriptions changed since the snapshot was taken.
    snapshot_dirty: bool,
    /// The send budget the channel handles check.
    budget: Arc<SendBudget>,
    /// What the handles read, to reopen SCTP's receive window.
    consumed: Arc<Consumed>,
    /// Checked messages waiting for room in SCTP's buffer.
    retry: VecDeque<(ChannelHandle, Bytes, bool)>,
    /// Bytes of frames queued for the application, and the most allowed.
    frame_bytes: Arc<AtomicUsize>,
    frame_budget: usize,
    /// Video transceivers that dropped a frame: their deltas are dropped
    /// until the next keyframe.
    skipping: HashSet<peer::TransceiverId>,
    frames_dropped: u64,
    /// Media writes dropped (shared with the handle).
    media_dropped: Arc<AtomicU64>,
}

impl Endpoint for Pc {
    type Command = Command;

    type Core = PeerConnection;

    fn core(&mut self) -> &mut PeerConnection {
        &mut self.core
    }

    fn core_ref(&self) -> &PeerConnection {
        &self.core
    }

    fn close(&mut self, now: Instant) {
        self.core.close(now);
    }

    fn finished(&mut self) {
        for (_, shared) in self.channels.values() {
            shared.set_state(ReadyState::Closed);
        }
    }

    fn command(&mut self, now: Instant, c: Command) -> Result<(), Option<oneshot::Sender<()>>> {
        match c {
            Command::Close(done) => return Err(Some(done)),
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
            Command::Core(call) => {
                call(now, &mut self.core);
                self.snapshot_dirty = true;
            }
            Command::Media(MediaWrite { id, rid, payload_type, rtp_timestamp, marker, data }) => {
                let core = &mut self.core;
                let result = match (marker, rid) {
                    (None, None) => core.write_frame(now, id, payload_type, rtp_timestamp, data),
                    (None, Some(rid)) => core.write_frame_rid(now, id, rid.as_str(), payload_type, rtp_timestamp, data),
                    (Some(marker), _) => core.write_rtp(now, id, payload_type, rtp_timestamp, marker, data),
                };
                if let Err(e) = result {
                    let dropped = self.media_dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    tracing::debug!(error = %e, dropped, "media write dropped");
                }
            }
            Command::SendNoReply(h, data, binary) => {
                self.budget.queued.fetch_sub(data.len(), Ordering::AcqRel);
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
            Command::SetThreshold(h, n) => self.core.set_buffered_amount_low_threshold(now, h, n),
            Command::Stats(r) => {
                let _ = r.send(stats::report(&self.core.stats(now)));
            }
        }
        Ok(())
    }

    /// Events to the application, snapshot updated.
    fn deliver(&mut self, now: Instant) {
        let (bytes, messages) = self.consumed.take();
        if messages > 0 {
            self.core.message_consumed(now, bytes, messages);
        }
        if !self.retry.is_empty() {
            self.retry_sends(now);
        }
        let mut events = Vec::new();
        while let Some(e) = self.core.poll_event() {
            // The application must see the new states and descriptions as
            // soon as it sees the event that announces them.
            self.snapshot_dirty |= !matches!(
                e,
                PeerEvent::Channel(_, DataChannelEvent::Message { .. } | DataChannelEvent::BufferedAmountLow)
                    | PeerEvent::Warning(_)
                    | PeerEvent::Frame(..)
                    | PeerEvent::BandwidthEstimate(_)
            );
            events.push(e);
        }
        if self.snapshot_dirty {
            self.update_snapshot();
        }
        // What the handles check `send` against.
        let retrying: usize = self.retry.iter().map(|(_, d, _)| d.len()).sum();
        self.budget.buffered.store(self.core.buffered_amount_total() + retrying, Ordering::Release);
        let max = self.core.remote_max_message_size().unwrap_or(usize::MAX);
        self.budget.remote_max.store(max, Ordering::Release);
        for e in events {
            self.event(now, e);
        }
    }
}

impl Pc {
    /// Hands a checked message to SCTP. Another channel's sends can fill the
    /// buffer between the handle's check and here: such a message waits in
    /// `retry` (bounded by the handles' budget) for room.
    fn send_now(&mut self, now: Instant, h: ChannelHandle, data: Bytes, binary: bool) {
        match self.core.send(now, h, data.clone(), binary) {
            Ok(()) => {}
            Err(PeerError::SendBufferFull) => self.retry.push_back((h, data, binary)),
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

    /// A handle for a channel the core knows.
    fn channel_handle(&mut self, h: ChannelHandle) -> RTCDataChannel {
        let info = self.core.channel_info(h).unwrap_or(ChannelInfo {
            id: None,
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            negotiated: false,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(ChannelShared::new(info, self.core.channel_state(h).unwrap_or(ReadyState::Connecting)));
        self.channels.insert(h, (tx, shared.clone()));
        RTCDataChannel::new(h, self.budget.clone(), self.commands.clone(), rx, shared, self.consumed.clone())
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
        s.senders.clear();
        for t in self.core.transceivers() {
            if t.mid.is_some() && t.current_direction.is_some() {
                s.senders.insert(t.id, self.core.codecs(t.id).iter().map(|c| c.payload_type).collect());
            }
        }
    }

    /// Queues a frame for the application within the byte budget; past it
    /// the frame is dropped, and a video transceiver skips to a keyframe it
    /// asks the peer for (deltas without their reference are useless).
    fn deliver_frame(&mut self, now: Instant, t: peer::TransceiverId, f: peer::MediaFrame) {
        if self.skipping.contains(&t) {
            if !f.keyframe {
                self.frames_dropped += 1;
                return;
            }
            self.skipping.remove(&t);
        }
        let len = f.data.len();
        if self.frame_bytes.load(Ordering::Acquire) + len <= self.frame_budget {
            self.frame_bytes.fetch_add(len, Ordering::AcqRel);
            if self.events.try_send(RTCPeerConnectionEvent::Frame(t, f)).is_ok() {
                return;
            }
            self.frame_bytes.fetch_sub(len, Ordering::AcqRel);
        }
        self.drop_frame(now, t);
    }

    /// A frame that found no room: counted; a video transceiver then skips
    /// to a keyframe it asks for (deltas without their reference are useless).
    fn drop_frame(&mut self, now: Instant, t: peer::TransceiverId) {
        self.frames_dropped += 1;
        if self.frames_dropped.is_power_of_two() {
            warn!(dropped = self.frames_dropped, "application is not reading frames; dropping them");
        }
        if self.core.transceiver(t).is_some_and(|i| i.kind == sdp::MediaKind::Video) {
            self.skipping.insert(t);
            let _ = self.core.request_keyframe(now, t, peer::KeyframeRequestKind::Pli);
        }
    }

    fn emit(&self, e: RTCPeerConnectionEvent) {
        if let Err(mpsc::error::TrySendError::Full(e)) = self.events.try_send(e) {
            // Frames are many and large: name the event, never print it.
            let what = match &e {
                RTCPeerConnectionEvent::Frame(..) => "a media frame",
                RTCPeerConnectionEvent::DataChannel(_) => "a datachannel event",
                _ => "an event",
            };
            warn!("application is not reading peer connection events; {what} dropped");
        }
    }

    /// Queues `e` for the channel's handle; never waits. A message whose
    /// handle is gone gives its room in the window back at once.
    fn deliver_to_channel(&mut self, now: Instant, h: ChannelHandle, e: DataChannelEvent) {
        let Some((tx, shared)) = self.channels.get(&h) else {
            if let DataChannelEvent::Message { data, .. } = &e {
                self.core.message_consumed(now, data.len().max(1), 1);
            }
            return;
        };
        match &e {
            DataChannelEvent::Open => shared.set_state(ReadyState::Open),
            DataChannelEvent::Closing => shared.set_state(ReadyState::Closing),
            DataChannelEvent::Closed => shared.set_state(ReadyState::Closed),
            _ => {}
        }
        if shared.id().is_none() {
            if let Some(id) = self.core.channel_info(h).and_then(|i| i.id) {
                shared.set_id(id);
            }
        }
        let closed = matches!(e, DataChannelEvent::Closed);
        if let Err(mpsc::error::SendError(DataChannelEvent::Message { data, .. })) = tx.send(e) {
            // The application dropped the handle.
            self.core.message_consumed(now, data.len().max(1), 1);
        }
        if closed {
            self.channels.remove(&h);
        }
    }

    fn event(&mut self, now: Instant, e: PeerEvent) {
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
            PeerEvent::DtlsStateChange(s) => self.emit(RTCPeerConnectionEvent::DtlsStateChange(s)),
            PeerEvent::SctpStateChange(s) => self.emit(RTCPeerConnectionEvent::SctpStateChange(s)),
            PeerEvent::DataChannel(h, _) => {
                let ch = self.channel_handle(h);
                ch.shared().set_state(ReadyState::Open);
                self.emit(RTCPeerConnectionEvent::DataChannel(ch));
            }
            PeerEvent::Channel(h, e) => self.deliver_to_channel(now, h, e),
            PeerEvent::Track { transceiver, mid, kind } => {
                self.emit(RTCPeerConnectionEvent::Track(RTCTrackEvent { transceiver, mid, kind }))
            }
            PeerEvent::Frame(t, f) => self.deliver_frame(now, t, f),
            PeerEvent::KeyframeRequested(t, k, rid) => self.emit(RTCPeerConnectionEvent::KeyframeRequested(t, k, rid)),
            PeerEvent::BandwidthEstimate(b) => self.emit(RTCPeerConnectionEvent::BandwidthEstimate(b)),
            PeerEvent::Warning(w) => warn!("{w}"),
        }
    }
}
