//! Configuration, events, send parameters and statistics.

use std::time::Duration;

use bytes::Bytes;

/// Settings of one association. [`Default`] suits WebRTC data channels.
#[derive(Clone, Debug)]
pub struct SctpConfig {
    /// Our SCTP port (WebRTC: 5000, or `a=sctp-port`).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// Largest SCTP packet we send, in bytes (the DTLS record payload limit). At least 256.
    pub mtu: usize,
    /// Largest SCTP packet we take in, in bytes; larger ones are dropped and
    /// counted in [`Stats::dropped_packets`]. WebRTC stacks send packets of
    /// about 1,200 B, so the default, 8,192, leaves room for a peer with a
    /// larger path MTU. Raised to at least `mtu`.
    pub max_receive_packet: usize,
    /// Largest message we accept (we advertise it in SDP as `a=max-message-size`). A peer
    /// sending more is aborted. The receive window is raised to at least this.
    pub max_message_size: usize,
    /// The peer's `a=max-message-size` (`usize::MAX` for none); larger
    /// sends fail with [`SendError::TooLarge`](crate::SendError::TooLarge).
    pub remote_max_message_size: usize,
    /// Bytes that may wait in the send queues, all streams together, before
    /// [`send`](crate::Association::send) returns [`SendError::BufferFull`](crate::SendError::BufferFull).
    pub send_buffer_limit: usize,
    /// Our receive window (a_rwnd), in bytes: the most we hold for reassembly and reordering.
    pub receive_window: u32,
    /// Streams we accept from the peer.
    pub max_inbound_streams: u16,
    /// Streams we want to send on.
    pub max_outbound_streams: u16,
    /// Initial retransmission timeout (RFC 9260 default 1 s).
    pub rto_initial: Duration,
    /// Lower bound of the RTO (RFC 9260 says 1 s; WebRTC stacks use far less).
    pub rto_min: Duration,
    /// Upper bound of the RTO.
    pub rto_max: Duration,
    /// INIT and COOKIE-ECHO attempts after the first before giving up.
    pub max_init_retransmits: u32,
    /// Consecutive timeouts (retransmissions, heartbeats, shutdown) before the peer is
    /// declared unreachable (Association.Max.Retrans).
    pub max_retransmits: u32,
    /// Idle time between heartbeats; `Duration::ZERO` disables them.
    pub heartbeat_interval: Duration,
    /// Delay of a SACK when nothing asks for an immediate one (at most 500 ms).
    pub delayed_ack: Duration,
    /// Initial congestion window in packets (RFC 9260: about 4; WebRTC stacks use 10).
    pub initial_cwnd_packets: usize,
    /// How long a state cookie stays valid.
    pub cookie_lifetime: Duration,
    /// Offer RFC 9653 zero checksum with DTLS as the alternate error detection method:
    /// declared in our first INIT (not in its retransmissions) and in an INIT-ACK only when
    /// the INIT it answers declared it too, because some stacks (Pion's SCTP v1.8.x) drop a
    /// chunk carrying the parameter instead of skipping it. Zero checksums are sent only to
    /// a peer that declared it.
    pub zero_checksum: bool,
    /// Offer I-DATA (RFC 8260) so that large messages do not block other streams.
    pub interleaving: bool,
    /// Pull-style delivery: a delivered message keeps counting against the
    /// receive window until [`Association::consumed`](crate::Association::consumed)
    /// gives its bytes back, so a slow reader slows the peer down instead of
    /// growing a queue. Off by default (the window reopens on delivery).
    pub hold_until_consumed: bool,
    /// Key of the cookie HMAC; derived from `seed` when `None`.
    pub cookie_secret: Option<[u8; 32]>,
    /// Seed of the association's random numbers (tags, initial TSN, nonces). Use a random
    /// value in production; a fixed one makes tests reproducible.
    pub seed: u64,
}

impl Default for SctpConfig {
    fn default() -> Self {
        SctpConfig {
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            max_receive_packet: 8192,
            max_message_size: 256 * 1024,
            remote_max_message_size: 65536,
            send_buffer_limit: 4 * 1024 * 1024,
            receive_window: 1024 * 1024,
            max_inbound_streams: 65535,
            max_outbound_streams: 65535,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            max_init_retransmits: 8,
            max_retransmits: 10,
            heartbeat_interval: Duration::from_secs(30),
            delayed_ack: Duration::from_millis(200),
            initial_cwnd_packets: 10,
            cookie_lifetime: Duration::from_secs(60),
            zero_checksum: false,
            interleaving: false,
            hold_until_consumed: false,
            cookie_secret: None,
            seed: 0,
        }
    }
}

/// How one message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendParams {
    /// Deliver in order relative to the stream's other ordered messages.
    pub ordered: bool,
    /// Partial reliability: give up after this many retransmissions (0: send once).
    pub max_retransmits: Option<u16>,
    /// Partial reliability: give up when not delivered within this time of `send`.
    pub max_lifetime: Option<Duration>,
}

impl Default for SendParams {
    fn default() -> Self {
        SendParams { ordered: true, max_retransmits: None, max_lifetime: None }
    }
}

/// What the association tells its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association is established; queued messages now flow.
    Connected,
    /// A complete message from the peer.
    Message {
        /// Stream it arrived on.
        stream: u16,
        /// Payload protocol identifier (WebRTC: 50 DCEP, 51 string, 53 binary, 56/57 empty).
        ppid: u32,
        /// The message.
        data: Bytes,
    },
    /// The stream's buffered amount fell to or below its threshold.
    BufferedAmountLow {
        /// The stream.
        stream: u16,
    },
    /// Our reset of these outgoing streams completed; their ids can be sent on again
    /// (starting from sequence number 0).
    OutgoingStreamsReset {
        /// The streams.
        streams: Vec<u16>,
    },
    /// The peer reset these streams (closed its side of the data channels).
    IncomingStreamsReset {
        /// The streams.
        streams: Vec<u16>,
    },
    /// The peer refused to reset these outgoing streams; they are usable again.
    StreamResetFailed {
        /// The streams.
        streams: Vec<u16>,
        /// Why.
        reason: String,
    },
    /// The association ended: a graceful shutdown completed, or the local side aborted.
    Closed,
    /// The association ended abnormally: the peer aborted, or it became unreachable.
    Aborted {
        /// What happened.
        reason: String,
    },
}

/// Counters and congestion state, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets handed out by `poll_transmit`.
    pub packets_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Packets passed to `handle_receive`.
    pub packets_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Packets dropped whole: bad checksum, malformed, wrong verification tag, wrong port,
    /// larger than [`SctpConfig::max_receive_packet`], unexpected in this state.
    pub dropped_packets: u64,
    /// DATA chunks dropped: TSN far outside the window, receive window full.
    pub dropped_chunks: u64,
    /// Duplicate DATA chunks received.
    pub duplicate_tsns: u64,
    /// DATA chunks sent for the first time.
    pub data_chunks_sent: u64,
    /// DATA chunks retransmitted (after a timeout or fast retransmit).
    pub retransmissions: u64,
    /// Chunks marked by fast retransmit.
    pub fast_retransmits: u64,
    /// T3-rtx expirations.
    pub t3_expirations: u64,
    /// Messages delivered to the caller.
    pub messages_received: u64,
    /// Messages accepted by `send`.
    pub messages_sent: u64,
    /// Messages given up under partial reliability.
    pub messages_abandoned: u64,
    /// INITs answered statelessly with a cookie.
    pub inits_answered: u64,
    /// Stateless answers dropped because the caller did not drain `poll_transmit`.
    pub answers_dropped: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Heartbeat acks received.
    pub heartbeat_acks_received: u64,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow start threshold, bytes.
    pub ssthresh: usize,
    /// Bytes in flight.
    pub flight_size: usize,
    /// The peer's receive window as we track it.
    pub peer_rwnd: usize,
    /// Retransmission timeout.
    pub rto: std::time::Duration,
    /// Smoothed round-trip time (zero until measured).
    pub srtt: std::time::Duration,
    /// Bytes held for reassembly and reordering on our side.
    pub receive_buffered: usize,
    /// Bytes delivered and not yet consumed by the application, message
    /// overhead included (with `hold_until_consumed`).
    pub receive_unconsumed: usize,
    /// Chunks sent and not yet cumulatively acked (bounded by the windows).
    pub outstanding_chunks: usize,
}
