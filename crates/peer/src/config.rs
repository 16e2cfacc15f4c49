//! Configuration, descriptions, states and events of a [`PeerConnection`](crate::PeerConnection).

use std::time::Duration;

use datachannel::ChannelInfo;
use ice::{GatheringState, IceConfig, IceTransportState};

/// The SCTP port of our data channel sections (`a=sctp-port`), and the
/// peer's when it names none.
pub const SCTP_PORT: u16 = 5000;

/// How to build a [`PeerConnection`](crate::PeerConnection).
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// ICE servers, transport policy, lite mode and timers.
    pub ice: IceConfig,
    /// Our DTLS certificate (its fingerprint goes into every description);
    /// a new ECDSA P-256 one when `None`.
    pub certificate: Option<dtls::Certificate>,
    /// DTLS version: 1.2 (what every browser answers) by default.
    pub dtls_version: dtls::DtlsVersion,
    /// The DTLS engine ([`dtls::Engine::Auto`] by default: dimpl, or
    /// OpenSSL for a local RSA certificate). [`dtls::Engine::OpenSsl`]
    /// (feature `openssl` of `oxrtc-dtls`) also accepts peers with RSA
    /// certificates.
    pub dtls_engine: dtls::Engine,
    /// Largest message we accept on data channels, advertised as
    /// `a=max-message-size` (default 256 KiB).
    pub max_message_size: usize,
    /// Bytes all data channels together may queue before sends fail with
    /// back-pressure (default 4 MiB).
    pub send_buffer_limit: usize,
    /// The SCTP and data channel engine's settings; ports, message sizes and
    /// the buffer limit above override the matching fields. By default
    /// zero checksum (RFC 9653) and I-DATA (RFC 8260) are offered; each is
    /// used only when the peer offers it too.
    pub sctp: sctp::SctpConfig,
    /// What the peer may make us keep for its data channels: how many, how
    /// long their labels and protocols (over the limits, its OPEN is refused).
    pub channel_limits: datachannel::ChannelLimits,
    /// The DTLS handshake must finish this long after it starts (default 30 s).
    pub dtls_handshake_timeout: Duration,
    /// The codecs and RTP header extensions offered and accepted in audio
    /// and video sections.
    pub media: crate::media::MediaCapabilities,
    /// Received frames wait in the adaptive jitter buffers and leave at
    /// their playout time (`true`), or leave as soon as they are complete
    /// and in order (`false`, the default: for recording, relaying and
    /// computer vision, where latency matters more than smooth playout).
    pub jitter_buffer: bool,
    /// The wall clock at one instant: (that instant, time since the Unix
    /// epoch then). Sender reports carry NTP times from it, for the peer's
    /// lip sync across connections; without it they count from the start
    /// of the connection's media. The core reads no clock: the driver gives it.
    pub wall_clock: Option<(std::time::Instant, Duration)>,
    /// Seed for session ids and SCTP; random when `None`.
    pub seed: Option<u64>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            ice: IceConfig::default(),
            certificate: None,
            dtls_version: dtls::DtlsVersion::Dtls12,
            dtls_engine: dtls::Engine::Auto,
            // One place for these defaults: the SCTP engine's.
            max_message_size: sctp::SctpConfig::default().max_message_size,
            send_buffer_limit: sctp::SctpConfig::default().send_buffer_limit,
            // Both negotiated in INIT: used only when the peer offers them too.
            sctp: sctp::SctpConfig { zero_checksum: true, interleaving: true, ..sctp::SctpConfig::default() },
            channel_limits: datachannel::ChannelLimits::default(),
            dtls_handshake_timeout: Duration::from_secs(30),
            media: crate::media::MediaCapabilities::default(),
            jitter_buffer: false,
            wall_clock: None,
            seed: None,
        }
    }
}

/// The W3C `RTCSdpType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Undo the pending offer (only in `set_*_description`).
    Rollback,
}

impl SdpType {
    /// `offer`, `pranswer`, `answer` or `rollback`, as in the W3C JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }

    /// Parses the W3C JSON `type`.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "offer" => SdpType::Offer,
            "pranswer" => SdpType::Pranswer,
            "answer" => SdpType::Answer,
            "rollback" => SdpType::Rollback,
            _ => return None,
        })
    }
}

/// The W3C `RTCSessionDescriptionInit`: a type and SDP text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// Offer, answer...
    pub kind: SdpType,
    /// The SDP text (empty for a rollback).
    pub sdp: String,
}

impl SessionDescription {
    /// An offer with this SDP.
    pub fn offer(sdp: impl Into<String>) -> Self {
        SessionDescription { kind: SdpType::Offer, sdp: sdp.into() }
    }

    /// An answer with this SDP.
    pub fn answer(sdp: impl Into<String>) -> Self {
        SessionDescription { kind: SdpType::Answer, sdp: sdp.into() }
    }

    /// A rollback.
    pub fn rollback() -> Self {
        SessionDescription { kind: SdpType::Rollback, sdp: String::new() }
    }
}

/// The W3C `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No exchange in progress.
    Stable,
    /// We set an offer and wait for the answer.
    HaveLocalOffer,
    /// We set the peer's offer and owe an answer.
    HaveRemoteOffer,
    /// We set a provisional answer.
    HaveLocalPranswer,
    /// The peer sent a provisional answer.
    HaveRemotePranswer,
    /// Closed.
    Closed,
}

/// The W3C `RTCPeerConnectionState`: ICE and DTLS together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerConnectionState {
    /// Nothing started.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// ICE and DTLS are up.
    Connected,
    /// ICE lost the peer for now.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// [`close`](crate::PeerConnection::close) was called.
    Closed,
}

/// The W3C `RTCDtlsTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsTransportState {
    /// Not started (no data section negotiated yet).
    New,
    /// Handshaking.
    Connecting,
    /// The peer is authenticated.
    Connected,
    /// close_notify sent or received.
    Closed,
    /// Handshake or fingerprint failure.
    Failed,
}

impl DtlsTransportState {
    /// The W3C string.
    pub fn as_str(self) -> &'static str {
        match self {
            DtlsTransportState::New => "new",
            DtlsTransportState::Connecting => "connecting",
            DtlsTransportState::Connected => "connected",
            DtlsTransportState::Closed => "closed",
            DtlsTransportState::Failed => "failed",
        }
    }
}

/// The W3C `RTCSctpTransportState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SctpTransportState {
    /// The association is being set up.
    Connecting,
    /// The association is up.
    Connected,
    /// The association ended: shut down or aborted by either side, or its
    /// DTLS transport closed.
    Closed,
}

/// A local ICE candidate to signal (the W3C `icecandidate` event's candidate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// `candidate:...` (no `a=`).
    pub candidate: String,
    /// The section it belongs to.
    pub sdp_mid: String,
    /// The index of that section.
    pub sdp_m_line_index: u16,
}

/// Our handle of a data channel; unlike the SCTP stream id it never gets
/// reused within a connection, and it exists before the id is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelHandle(pub u64);

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    /// A local candidate to signal; `None` once gathering is complete
    /// (end-of-candidates).
    IceCandidate(Option<IceCandidate>),
    /// `icegatheringstatechange`.
    IceGatheringStateChange(GatheringState),
    /// `iceconnectionstatechange`.
    IceConnectionStateChange(IceTransportState),
    /// `connectionstatechange`.
    ConnectionStateChange(PeerConnectionState),
    /// `signalingstatechange`.
    SignalingStateChange(SignalingState),
    /// The DTLS transport's `statechange` (`RTCDtlsTransport.state`): a peer
    /// that says goodbye with close_notify shows here as `Closed` at once,
    /// while the connection state stays `Connected` until ICE notices (W3C).
    DtlsStateChange(DtlsTransportState),
    /// The SCTP transport's `statechange` (`RTCSctpTransport.state`): a peer
    /// that aborts or shuts the association down shows here as `Closed`.
    SctpStateChange(SctpTransportState),
    /// `negotiationneeded`: create and send an offer.
    NegotiationNeeded,
    /// `track`: a transceiver starts receiving (its section negotiated with
    /// the peer sending).
    Track {
        /// The transceiver.
        transceiver: crate::transceivers::TransceiverId,
        /// Its m-section.
        mid: String,
        /// Audio or video.
        kind: sdp::MediaKind,
    },
    /// `datachannel`: the peer opened a channel; it is open.
    DataChannel(ChannelHandle, ChannelInfo),
    /// Something happened to a channel: the same vocabulary as the
    /// engine's and the facade's channel events.
    Channel(ChannelHandle, datachannel::ChannelEvent),
    /// A frame received on a transceiver.
    Frame(crate::transceivers::TransceiverId, crate::transceivers::MediaFrame),
    /// The peer asks for a keyframe on what a transceiver sends: encode one
    /// (for the simulcast encoding of the RID given, when it sends simulcast).
    KeyframeRequested(crate::transceivers::TransceiverId, rtp::session::send::KeyframeRequestKind, Option<String>),
    /// The send-side bandwidth estimate changed: what all encoders together
    /// may produce, in bits per second.
    BandwidthEstimate(u64),
    /// A non-fatal problem worth logging.
    Warning(PeerWarning),
}

/// A non-fatal problem: the connection goes on; log it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerWarning {
    /// Candidates of a remote description did not parse and were skipped.
    #[error("{count} remote candidate(s) ignored, the first: {first}")]
    BadRemoteCandidates {
        /// How many.
        count: usize,
        /// Why the first failed.
        first: ice::CandidateParseError,
    },
    /// A remote description had more candidates than the agent keeps.
    #[error("remote description has {count} candidates; the ones past the first {kept} were ignored")]
    TooManyRemoteCandidates {
        /// Candidates in the description.
        count: usize,
        /// Candidates read.
        kept: usize,
    },
    /// A STUN or TURN server answered with an error (or was unreachable:
    /// code 701).
    #[error("ICE server {server}: {code} {text}")]
    IceServer {
        /// The server.
        server: std::net::SocketAddr,
        /// The STUN error code.
        code: u16,
        /// Its reason phrase.
        text: String,
    },
    /// DTLS or SCTP could not start (a configuration the engine refuses).
    #[error("DTLS not started: {0}")]
    DtlsNotStarted(dtls::DtlsError),
    /// DTLS failed; the connection state is failed.
    #[error("DTLS failed: {0}")]
    DtlsFailed(dtls::DtlsError),
    /// A data channel created before negotiation could not get a stream.
    #[error("data channel not created: {0}")]
    ChannelNotCreated(datachannel::DataChannelError),
    /// The SCTP association ended (the peer aborted, or gave up).
    #[error("SCTP association ended: {}", .0.as_deref().unwrap_or("shut down"))]
    AssociationEnded(Option<String>),
}
