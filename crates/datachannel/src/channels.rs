//! [`DataChannels`]: the data channels of one SCTP association.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use sctp::{Association, SctpEvent, SendError, SendParams};
use tracing::debug;

use crate::dcep::{self, Open, Reliability};

/// Payload protocol identifiers (RFC 8831 section 8).
pub mod ppid {
    /// DCEP (RFC 8832).
    pub const DCEP: u32 = 50;
    /// A UTF-8 string.
    pub const STRING: u32 = 51;
    /// Binary data.
    pub const BINARY: u32 = 53;
    /// An empty string (sent as one 0 byte).
    pub const STRING_EMPTY: u32 = 56;
    /// Empty binary data (sent as one 0 byte).
    pub const BINARY_EMPTY: u32 = 57;
    /// Deprecated partial string (old Chromium); accepted as a string.
    pub const STRING_PARTIAL: u32 = 54;
    /// Deprecated partial binary (old Chromium); accepted as binary.
    pub const BINARY_PARTIAL: u32 = 52;
}

/// How to create a data channel: the W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInit {
    /// The label (any UTF-8, may be empty or repeated).
    pub label: String,
    /// The subprotocol.
    pub protocol: String,
    /// Messages arrive in the order sent (default `true`).
    pub ordered: bool,
    /// Reliable, or give up after retransmissions or a lifetime.
    pub reliability: Reliability,
    /// RFC 8831 priority (256 normal).
    pub priority: u16,
    /// `Some(id)`: negotiated out of band (W3C `negotiated: true, id`), no
    /// DCEP; both sides create it with the same id. `None`: opened in band,
    /// the id picked by parity of the DTLS role.
    pub negotiated: Option<u16>,
}

impl ChannelInit {
    /// A reliable, ordered, in-band channel with this label.
    pub fn new(label: impl Into<String>) -> Self {
        ChannelInit {
            label: label.into(),
            protocol: String::new(),
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            negotiated: None,
        }
    }
}

/// The W3C `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Waiting for the association (or created before it).
    Connecting,
    /// Messages can be sent.
    Open,
    /// Being closed: stream resets in progress.
    Closing,
    /// Closed; the id may be reused.
    Closed,
}

/// What a channel is, as announced to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The SCTP stream id (W3C `id`); `None` until the channel has a
    /// stream (a peer connection's channel created before its association).
    pub id: Option<u16>,
    /// The label.
    pub label: String,
    /// The subprotocol.
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// Reliability.
    pub reliability: Reliability,
    /// Priority.
    pub priority: u16,
    /// Negotiated out of band.
    pub negotiated: bool,
}

/// What happens to one channel: the W3C `RTCDataChannel` events. The same
/// vocabulary at every layer: here by stream id in
/// [`DataChannelEvent::Channel`], in the peer connection by handle, and on
/// the tokio facade's channel handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEvent {
    /// Open (W3C `open`): messages can be sent.
    Open,
    /// A message (W3C `message`).
    Message {
        /// The payload (empty for an empty message).
        data: Bytes,
        /// Binary (`true`) or a UTF-8 string (`false`).
        binary: bool,
    },
    /// The buffered amount fell to or below its threshold (W3C
    /// `bufferedamountlow`).
    BufferedAmountLow,
    /// Closing started (W3C `closing`), by us or by the peer.
    Closing,
    /// The channel failed (W3C `error`, an `OperationError`): the
    /// association was aborted or the peer became unreachable. `Closed`
    /// follows.
    Error(String),
    /// Closed (W3C `close`); its id may be reused. Nothing follows.
    Closed,
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// The SCTP association is up.
    Connected,
    /// The peer opened a channel in band (W3C `datachannel` event); it is open.
    Incoming(ChannelInfo),
    /// Something happened to channel `id`.
    Channel(u16, ChannelEvent),
    /// The association ended; every channel is closed. `reason` is `None`
    /// after a graceful shutdown.
    AssociationClosed {
        /// Why, when it was aborted or the peer became unreachable.
        reason: Option<String>,
    },
}

/// Why a data channel call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataChannelError {
    /// No channel with this id (never created, or closed).
    #[error("no data channel with id {0}; it was never created or is closed")]
    NoSuchChannel(u16),
    /// Sending on a channel that is not open.
    #[error("data channel {id} is {state:?}, not open; wait for its open event")]
    NotOpen {
        /// The channel.
        id: u16,
        /// Its state.
        state: ReadyState,
    },
    /// The negotiated id is taken by an open channel.
    #[error("data channel id {0} is in use; pick another id or close that channel first")]
    IdInUse(u16),
    /// Every id of our parity below the stream limit is taken.
    #[error("no free data channel id: every stream of our parity is in use; close some channels")]
    NoFreeId,
    /// The label or protocol cannot be encoded.
    #[error(transparent)]
    Dcep(#[from] dcep::DcepError),
    /// SCTP refused the message (too large for the peer, buffer full...).
    #[error(transparent)]
    Send(#[from] SendError),
}

#[derive(Debug)]
struct Channel {
    info: ChannelInfo,
    state: ReadyState,
    /// In-band channels send ordered until the peer's ACK arrives, so that no
    /// message overtakes the OPEN (RFC 8832 section 6).
    acked: bool,
    /// An OPEN is owed once the association is up.
    open_pending: bool,
    /// Stream resets done, while closing.
    outgoing_reset: bool,
    incoming_reset: bool,
    /// The peer already reopened this id (it reset its side and sent a new
    /// OPEN) while our reset was still in flight: the OPEN and the messages
    /// that followed it, taken up once this channel is closed.
    reopen: Option<(Open, Vec<(u32, Bytes)>)>,
}

/// Messages kept for a channel the peer reopened before our side finished
/// closing the old one (about one round trip); more are dropped and counted.
const MAX_REOPEN_BACKLOG: usize = 256;
/// Bytes kept in all reopen backlogs together (they sit outside SCTP's
/// flow control, so the peer must not be able to grow them).
const MAX_REOPEN_BACKLOG_BYTES: usize = 1024 * 1024;

/// Counters of what was dropped, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataChannelStats {
    /// Messages on a stream with no channel.
    pub unknown_stream: u64,
    /// DCEP messages that did not parse, or OPENs for a taken or wrong-parity id.
    pub bad_dcep: u64,
    /// Messages with a PPID data channels do not use.
    pub unknown_ppid: u64,
    /// The peer's OPENs refused by resetting their stream: over
    /// [`ChannelLimits::max_channels`], or naming a label or protocol longer
    /// than the limits.
    pub refused_opens: u64,
}

/// What the peer may make us keep for its channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Channels open at once, ours and the peer's (default 1,024); the peer's
    /// OPENs beyond are refused by resetting their stream (RFC 8832 6).
    pub max_channels: usize,
    /// Longest label the peer may name, in bytes (default 4 KiB; DCEP allows
    /// 65,535). A longer one is refused like a channel over the cap.
    pub max_label_len: usize,
    /// Longest sub-protocol the peer may name, in bytes (default 4 KiB).
    pub max_protocol_len: usize,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        ChannelLimits { max_channels: 1024, max_label_len: 4096, max_protocol_len: 4096 }
    }
}

/// All data channels of one association, and the association itself.
///
/// Feed it the association's input ([`handle_receive`](Self::handle_receive),
/// [`handle_timeout`](Self::handle_timeout)) and drain
/// [`poll_transmit`](Self::poll_transmit) and [`poll_event`](Self::poll_event)
/// after every call, as with the other engines.
pub struct DataChannels {
    assoc: Association,
    dtls_client: bool,
    channels: BTreeMap<u16, Channel>,
    events: VecDeque<DataChannelEvent>,
    stats: DataChannelStats,
    limits: ChannelLimits,
    /// Bytes in all reopen backlogs.
    reopen_bytes: usize,
}

impl DataChannels {
    /// Data channels over `assoc`. `dtls_client` picks the id parity: the
    /// DTLS client uses even stream ids, the server odd ones (RFC 8832
    /// section 6).
    pub fn new(assoc: Association, dtls_client: bool) -> Self {
        DataChannels {
            assoc,
            dtls_client,
            channels: BTreeMap::new(),
            events: VecDeque::new(),
            stats: DataChannelStats::default(),
            limits: ChannelLimits::default(),
            reopen_bytes: 0,
        }
    }

    /// Sets what the peer may make us keep (see [`ChannelLimits`]); the
    /// limits apply to the OPENs that come after.
    pub fn set_limits(&mut self, limits: ChannelLimits) {
        self.limits = limits;
    }

    /// The association underneath (stats, state).
    pub fn association(&self) -> &Association {
        &self.assoc
    }

    /// The largest message the peer accepts (its SDP `a=max-message-size`;
    /// `usize::MAX` for no limit). Larger sends fail with a clear error.
    pub fn set_remote_max_message_size(&mut self, size: usize) {
        self.assoc.set_remote_max_message_size(size);
    }

    /// What was dropped.
    pub fn stats(&self) -> &DataChannelStats {
        &self.stats
    }

    /// Creates a channel. In-band channels get the lowest free id of our
    /// parity and are announced with DCEP; negotiated ones use their id. The
    /// channel opens ([`ChannelEvent::Open`]) once the association is up.
    pub fn create(&mut self, now: Instant, init: ChannelInit) -> Result<u16, DataChannelError> {
        // Check the OPEN encodes before taking an id.
        let open = Open {
            unordered: !init.ordered,
            reliability: init.reliability,
            priority: init.priority,
            label: init.label.clone(),
            protocol: init.protocol.clone(),
        };
        dcep::Message::Open(open).encode()?;
        let id = match init.negotiated {
            Some(id) => {
                if self.channels.contains_key(&id) {
                    return Err(DataChannelError::IdInUse(id));
                }
                id
            }
            None => self.free_id()?,
        };
        let info = ChannelInfo {
            id: Some(id),
            label: init.label,
            protocol: init.protocol,
            ordered: init.ordered,
            reliability: init.reliability,
            priority: init.priority,
            negotiated: init.negotiated.is_some(),
        };
        let negotiated = info.negotiated;
        self.channels.insert(
            id,
            Channel {
                info,
                state: ReadyState::Connecting,
                acked: negotiated,
                open_pending: !negotiated,
                outgoing_reset: false,
                incoming_reset: false,
                reopen: None,
            },
        );
        if self.assoc.is_established() {
            self.open_channel(now, id);
        }
        Ok(id)
    }

    fn free_id(&self) -> Result<u16, DataChannelError> {
        let limit = if self.assoc.is_established() { self.assoc.outbound_streams() } else { u16::MAX };
        let first = if self.dtls_client { 0 } else { 1 };
        (first..limit).step_by(2).find(|id| !self.channels.contains_key(id)).ok_or(DataChannelError::NoFreeId)
    }

    /// Sends the OPEN (in band) and marks the channel open.
    fn open_channel(&mut self, now: Instant, id: u16) {
        let Some(ch) = self.channels.get_mut(&id) else { return };
        if ch.state != ReadyState::Connecting {
            return;
        }
        if ch.open_pending {
            let open = dcep::Message::Open(Open {
                unordered: !ch.info.ordered,
                reliability: ch.info.reliability,
                priority: ch.info.priority,
                label: ch.info.label.clone(),
                protocol: ch.info.protocol.clone(),
            });
            let wire = match open.encode() {
                Ok(w) => w,
                Err(e) => {
                    debug!(id, error = %e, "DCEP OPEN not encodable");
                    return;
                }
            };
            if let Err(e) = self.assoc.send(now, id, ppid::DCEP, Bytes::from(wire), SendParams::default()) {
                debug!(id, error = %e, "DCEP OPEN not sent; channel closed");
                self.channels.remove(&id);
                self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closed));
                return;
            }
            ch.open_pending = false;
        }
        ch.state = ReadyState::Open;
        self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Open));
    }

    /// The channel's state; `None` once closed and forgotten.
    pub fn ready_state(&self, id: u16) -> Option<ReadyState> {
        self.channels.get(&id).map(|c| c.state)
    }

    /// The channel's description.
    pub fn info(&self, id: u16) -> Option<&ChannelInfo> {
        self.channels.get(&id).map(|c| &c.info)
    }

    /// Sends one message: a UTF-8 string (`binary == false`) or bytes.
    /// Fails when the channel is not open, the message exceeds the peer's
    /// max-message-size, or the send buffer is full (retry after
    /// [`ChannelEvent::BufferedAmountLow`]).
    pub fn send(&mut self, now: Instant, id: u16, data: Bytes, binary: bool) -> Result<(), DataChannelError> {
        let ch = self.channels.get(&id).ok_or(DataChannelError::NoSuchChannel(id))?;
        if ch.state != ReadyState::Open {
            return Err(DataChannelError::NotOpen { id, state: ch.state });
        }
        let (ppid, data) = match (data.is_empty(), binary) {
            (true, true) => (ppid::BINARY_EMPTY, Bytes::from_static(&[0])),
            (true, false) => (ppid::STRING_EMPTY, Bytes::from_static(&[0])),
            (false, true) => (ppid::BINARY, data),
            (false, false) => (ppid::STRING, data),
        };
        let (max_retransmits, max_lifetime) = match ch.info.reliability {
            Reliability::Reliable => (None, None),
            Reliability::MaxRetransmits(n) => (Some(u16::try_from(n).unwrap_or(u16::MAX)), None),
            Reliability::MaxLifetime(d) => (None, Some(d)),
        };
        let params = SendParams { ordered: ch.info.ordered || !ch.acked, max_retransmits, max_lifetime };
        self.assoc.send(now, id, ppid, data, params)?;
        Ok(())
    }

    /// Bytes queued on the channel and not yet handed to the network (the
    /// W3C `bufferedAmount`; in-flight data is bounded by the congestion
    /// window instead).
    pub fn buffered_amount(&self, id: u16) -> usize {
        self.assoc.buffered_amount(id)
    }

    /// [`ChannelEvent::BufferedAmountLow`] fires when the buffered
    /// amount falls to or below `threshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: u16, threshold: usize) {
        self.assoc.set_buffered_amount_low_threshold(id, threshold);
    }

    /// Closes the channel: its outgoing stream is reset (RFC 8831 section
    /// 6.7); it is [`Closed`](ChannelEvent::Closed) once the peer reset
    /// its side too.
    pub fn close(&mut self, now: Instant, id: u16) {
        let Some(ch) = self.channels.get_mut(&id) else { return };
        match ch.state {
            ReadyState::Closing | ReadyState::Closed => return,
            ReadyState::Connecting if !self.assoc.is_established() => {
                self.channels.remove(&id);
                self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closed));
                return;
            }
            _ => {}
        }
        ch.state = ReadyState::Closing;
        self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closing));
        self.reset(now, id);
    }

    fn reset(&mut self, now: Instant, id: u16) {
        if let Err(e) = self.assoc.reset_streams(now, &[id]) {
            debug!(id, error = %e, "stream reset not sent");
        }
    }

    /// One SCTP packet (a DTLS record) from the peer.
    pub fn handle_receive(&mut self, now: Instant, packet: &[u8]) {
        self.assoc.handle_receive(now, packet);
        self.pump(now);
    }

    /// Like [`handle_receive`](Self::handle_receive), without copying:
    /// received messages are slices of `packet`.
    pub fn handle_receive_bytes(&mut self, now: Instant, packet: Bytes) {
        self.assoc.handle_receive_bytes(now, packet);
        self.pump(now);
    }

    /// Call when [`poll_timeout`](Self::poll_timeout) is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.pump(now);
    }

    /// When to call [`handle_timeout`](Self::handle_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }

    /// The next SCTP packet to send (as one DTLS record).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.assoc.poll_transmit(now)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DataChannelEvent> {
        self.events.pop_front()
    }

    /// Starts the association (sends INIT). In WebRTC both sides may call it;
    /// the side that does not simply answers.
    pub fn connect(&mut self, now: Instant) {
        self.assoc.connect(now);
        self.pump(now);
    }

    /// Gracefully shuts the association down; every channel closes.
    pub fn shutdown(&mut self, now: Instant) {
        self.assoc.shutdown(now);
        self.pump(now);
    }

    /// Aborts the association at once (SCTP ABORT); every channel closes.
    pub fn abort(&mut self, now: Instant) {
        self.assoc.abort(now);
        self.pump(now);
    }

    /// Sends `data` on `stream` with the payload protocol identifier `ppid`
    /// as it is, bypassing DCEP and the channel's state: a tool for test
    /// programs that play a misbehaving peer (raw DCEP, unknown PPIDs,
    /// streams without a channel). Applications use [`send`](Self::send).
    pub fn send_raw(&mut self, now: Instant, stream: u16, ppid: u32, data: Bytes) -> Result<(), DataChannelError> {
        self.assoc.send(now, stream, ppid, data, SendParams::default())?;
        self.pump(now);
        Ok(())
    }

    /// Turns the association's events into channel events.
    fn pump(&mut self, now: Instant) {
        while let Some(e) = self.assoc.poll_event() {
            match e {
                SctpEvent::Connected => {
                    self.events.push_back(DataChannelEvent::Connected);
                    let ids: Vec<u16> = self.channels.keys().copied().collect();
                    for id in ids {
                        self.open_channel(now, id);
                    }
                }
                SctpEvent::Message { stream, ppid, data } => self.on_message(now, stream, ppid, data),
                SctpEvent::BufferedAmountLow { stream } => {
                    if self.channels.contains_key(&stream) {
                        self.events.push_back(DataChannelEvent::Channel(stream, ChannelEvent::BufferedAmountLow));
                    }
                }
                SctpEvent::OutgoingStreamsReset { streams } => {
                    for id in streams {
                        if let Some(ch) = self.channels.get_mut(&id) {
                            ch.outgoing_reset = true;
                        }
                        self.maybe_closed(now, id);
                    }
                }
                SctpEvent::IncomingStreamsReset { streams } => {
                    // An empty list resets every stream (RFC 6525 4.1).
                    let streams = if streams.is_empty() { self.channels.keys().copied().collect() } else { streams };
                    for id in streams {
                        let Some(ch) = self.channels.get_mut(&id) else { continue };
                        ch.incoming_reset = true;
                        if ch.state != ReadyState::Closing {
                            // The peer closed: close our side too.
                            ch.state = ReadyState::Closing;
                            self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closing));
                            self.reset(now, id);
                        }
                        self.maybe_closed(now, id);
                    }
                }
                SctpEvent::StreamResetFailed { streams, reason } => {
                    debug!(?streams, %reason, "stream reset refused; retrying");
                    for id in streams {
                        self.reset(now, id);
                    }
                }
                SctpEvent::Closed => self.all_closed(None),
                SctpEvent::Aborted { reason } => self.all_closed(Some(reason)),
            }
        }
    }

    fn maybe_closed(&mut self, now: Instant, id: u16) {
        let Some(ch) = self.channels.get(&id) else { return };
        if !(ch.outgoing_reset && ch.incoming_reset) {
            return;
        }
        let reopen = self.channels.remove(&id).and_then(|ch| ch.reopen);
        self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closed));
        if let Some((open, backlog)) = reopen {
            self.reopen_bytes -= backlog.iter().map(|(_, d)| d.len()).sum::<usize>();
            self.accept_open(now, id, open);
            for (ppid, data) in backlog {
                self.on_message(now, id, ppid, data);
            }
        }
    }

    fn all_closed(&mut self, reason: Option<String>) {
        self.reopen_bytes = 0;
        for id in std::mem::take(&mut self.channels).into_keys() {
            if let Some(r) = &reason {
                self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Error(r.clone())));
            }
            self.events.push_back(DataChannelEvent::Channel(id, ChannelEvent::Closed));
        }
        self.events.push_back(DataChannelEvent::AssociationClosed { reason });
    }

    fn on_message(&mut self, now: Instant, stream: u16, ppid: u32, data: Bytes) {
        let len = data.len();
        if !self.accept_message(now, stream, ppid, data) {
            // Nobody will read it: its room in the receive window comes back.
            self.assoc.consumed(len, 1);
        }
    }

    /// Delivers or keeps a message; false when it was used up or dropped here.
    fn accept_message(&mut self, now: Instant, stream: u16, ppid: u32, data: Bytes) -> bool {
        if ppid == ppid::DCEP {
            self.on_dcep(now, stream, &data);
            return false;
        }
        let Some(ch) = self.channels.get_mut(&stream) else {
            self.stats.unknown_stream += 1;
            return false;
        };
        if let Some((_, backlog)) = &mut ch.reopen {
            // For the peer's new channel on this id, not for the closing one.
            if backlog.len() < MAX_REOPEN_BACKLOG && self.reopen_bytes + data.len() <= MAX_REOPEN_BACKLOG_BYTES {
                self.reopen_bytes += data.len();
                backlog.push((ppid, data));
                return true;
            }
            self.stats.unknown_stream += 1;
            return false;
        }
        if ch.state == ReadyState::Closed {
            return false;
        }
        let (data, binary) = match ppid {
            ppid::STRING | ppid::STRING_PARTIAL => (data, false),
            ppid::BINARY | ppid::BINARY_PARTIAL => (data, true),
            ppid::STRING_EMPTY => (Bytes::new(), false),
            ppid::BINARY_EMPTY => (Bytes::new(), true),
            _ => {
                self.stats.unknown_ppid += 1;
                return false;
            }
        };
        self.events.push_back(DataChannelEvent::Channel(stream, ChannelEvent::Message { data, binary }));
        true
    }

    /// The application took `messages` [`ChannelEvent::Message`]s of
    /// `bytes` bytes together, an empty message counted as 1 (its one byte
    /// on the wire, RFC 8831 6.6): with
    /// [`sctp::SctpConfig::hold_until_consumed`] their room in the receive
    /// window comes back (pull-style delivery).
    pub fn consumed(&mut self, bytes: usize, messages: usize) {
        self.assoc.consumed(bytes, messages);
    }

    /// Opens the peer's channel: ACK, then the Incoming event.
    fn accept_open(&mut self, now: Instant, stream: u16, open: Open) {
        let ack = dcep::Message::Ack.encode().unwrap_or_default();
        if let Err(e) = self.assoc.send(now, stream, ppid::DCEP, Bytes::from(ack), SendParams::default()) {
            debug!(stream, error = %e, "DCEP ACK not sent");
        }
        let info = ChannelInfo {
            id: Some(stream),
            label: open.label,
            protocol: open.protocol,
            ordered: !open.unordered,
            reliability: open.reliability,
            priority: open.priority,
            negotiated: false,
        };
        self.channels.insert(
            stream,
            Channel {
                info: info.clone(),
                state: ReadyState::Open,
                acked: true,
                open_pending: false,
                outgoing_reset: false,
                incoming_reset: false,
                reopen: None,
            },
        );
        self.events.push_back(DataChannelEvent::Incoming(info));
    }

    fn on_dcep(&mut self, now: Instant, stream: u16, data: &[u8]) {
        match dcep::Message::parse(data) {
            Ok(dcep::Message::Ack) => match self.channels.get_mut(&stream) {
                Some(ch) => ch.acked = true,
                None => self.stats.bad_dcep += 1,
            },
            Ok(dcep::Message::Open(open)) => {
                // The peer's ids have the other parity.
                let theirs = stream.is_multiple_of(2) != self.dtls_client;
                if let Some(ch) = self.channels.get_mut(&stream) {
                    // The peer may reuse an id as soon as it has seen both
                    // resets, which can be before our reset's answer reached
                    // us: the old channel is gone on its side.
                    if theirs && ch.state == ReadyState::Closing && ch.incoming_reset && ch.reopen.is_none() {
                        ch.reopen = Some((open, Vec::new()));
                        return;
                    }
                }
                if !theirs || self.channels.contains_key(&stream) {
                    debug!(stream, "DCEP OPEN for an id that is ours or taken; dropped");
                    self.stats.bad_dcep += 1;
                    return;
                }
                let l = &self.limits;
                if self.channels.len() >= l.max_channels
                    || open.label.len() > l.max_label_len
                    || open.protocol.len() > l.max_protocol_len
                {
                    // Refused as RFC 8832 6 says: resetting the stream closes
                    // the peer's channel, which it sees as closed.
                    debug!(stream, channels = self.channels.len(), "DCEP OPEN over the limits; stream reset");
                    self.stats.refused_opens += 1;
                    self.reset(now, stream);
                    return;
                }
                self.accept_open(now, stream, open);
            }
            Err(e) => {
                debug!(stream, error = %e, "bad DCEP message dropped");
                self.stats.bad_dcep += 1;
            }
        }
    }
}
