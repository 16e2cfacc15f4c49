//! `RTCDataChannel`: a handle on one data channel of an
//! [`RTCPeerConnection`](crate::RTCPeerConnection).

use std::sync::atomic::{AtomicU16, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use datachannel::{ChannelInfo, ReadyState, Reliability};
use peer::{ChannelHandle, PeerError};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::peer_connection::Command;

/// What an [`RTCDataChannel`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataChannelEvent {
    /// `open`: messages can be sent.
    Open,
    /// `message`.
    Message {
        /// The payload.
        data: Bytes,
        /// Sent as a string (UTF-8) rather than binary.
        is_string: bool,
    },
    /// `bufferedamountlow`.
    BufferedAmountLow,
    /// `closing`.
    Closing,
    /// `error`: the channel failed (the association was aborted or the peer
    /// became unreachable); [`Close`](Self::Close) follows.
    Error(String),
    /// `close`. Nothing follows.
    Close,
}

/// The send budget of one connection, shared by its channels' handles so
/// that `send` can refuse at once (W3C `send` throws synchronously) without
/// a round trip to the task.
#[derive(Debug)]
pub(crate) struct SendBudget {
    /// Bytes handed to the task by `send` and not yet taken into SCTP.
    pub queued: AtomicUsize,
    /// Bytes in SCTP's send buffer, published by the task after each flush.
    pub buffered: AtomicUsize,
    /// The connection's send buffer limit.
    pub limit: usize,
    /// The peer's max-message-size; 0 until known.
    pub remote_max: AtomicUsize,
}

/// State shared between the task and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    info: ChannelInfo,
    id: AtomicU16,
    state: AtomicU8,
}

impl Shared {
    pub(crate) fn new(info: ChannelInfo, state: ReadyState) -> Self {
        let id = AtomicU16::new(info.id);
        let s = Shared { info, id, state: AtomicU8::new(0) };
        s.set_state(state);
        s
    }

    pub(crate) fn set_state(&self, state: ReadyState) {
        let v = match state {
            ReadyState::Connecting => 0,
            ReadyState::Open => 1,
            ReadyState::Closing => 2,
            ReadyState::Closed => 3,
        };
        self.state.store(v, Ordering::Release);
    }

    fn state(&self) -> ReadyState {
        match self.state.load(Ordering::Acquire) {
            0 => ReadyState::Connecting,
            1 => ReadyState::Open,
            2 => ReadyState::Closing,
            _ => ReadyState::Closed,
        }
    }

    pub(crate) fn id(&self) -> u16 {
        self.id.load(Ordering::Acquire)
    }

    pub(crate) fn set_id(&self, id: u16) {
        self.id.store(id, Ordering::Release);
    }
}

/// A data channel. It holds no strong reference to its connection: once
/// the [`RTCPeerConnection`](crate::RTCPeerConnection) is dropped or closed,
/// sends fail with [`PeerError::Closed`] and [`next_event`](Self::next_event)
/// ends.
pub struct RTCDataChannel {
    handle: ChannelHandle,
    budget: Arc<SendBudget>,
    commands: mpsc::WeakSender<Command>,
    events: Mutex<mpsc::Receiver<DataChannelEvent>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RTCDataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RTCDataChannel")
            .field("label", &self.shared.info.label)
            .field("id", &self.id())
            .field("state", &self.ready_state())
            .finish()
    }
}

impl RTCDataChannel {
    pub(crate) fn new(
        handle: ChannelHandle,
        budget: Arc<SendBudget>,
        commands: mpsc::WeakSender<Command>,
        events: mpsc::Receiver<DataChannelEvent>,
        shared: Arc<Shared>,
    ) -> Self {
        RTCDataChannel { handle, budget, commands, events: Mutex::new(events), shared }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// `label`.
    pub fn label(&self) -> &str {
        &self.shared.info.label
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.shared.info.protocol
    }

    /// `id`: the SCTP stream id, `None` until the DTLS role is known.
    pub fn id(&self) -> Option<u16> {
        Some(self.shared.id()).filter(|id| *id != u16::MAX)
    }

    /// `ordered`.
    pub fn ordered(&self) -> bool {
        self.shared.info.ordered
    }

    /// `maxRetransmits`.
    pub fn max_retransmits(&self) -> Option<u32> {
        match self.shared.info.reliability {
            Reliability::MaxRetransmits(n) => Some(n),
            _ => None,
        }
    }

    /// `maxPacketLifeTime`, in milliseconds.
    pub fn max_packet_life_time(&self) -> Option<u64> {
        match self.shared.info.reliability {
            Reliability::MaxLifetime(d) => Some(d.as_millis() as u64),
            _ => None,
        }
    }

    /// `negotiated`.
    pub fn negotiated(&self) -> bool {
        self.shared.info.negotiated
    }

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.shared.state()
    }

    /// `send(ArrayBuffer)`: one binary message. Fails at once when the
    /// channel is not open, the message is larger than the peer's
    /// max-message-size, or the connection's send buffer is full (wait for
    /// [`DataChannelEvent::BufferedAmountLow`] and retry). It does not wait
    /// for the connection's task: back-to-back sends are cheap.
    pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), PeerError> {
        self.send_message(data.into(), true).await
    }

    /// `send(string)`: one text message.
    pub async fn send_text(&self, text: impl Into<String>) -> Result<(), PeerError> {
        self.send_message(Bytes::from(text.into().into_bytes()), false).await
    }

    async fn send_message(&self, data: Bytes, binary: bool) -> Result<(), PeerError> {
        let state = self.ready_state();
        if state != ReadyState::Open {
            let id = self.id().unwrap_or(u16::MAX);
            return Err(PeerError::DataChannel(datachannel::DataChannelError::NotOpen { id, state }));
        }
        let b = &self.budget;
        let limit = b.remote_max.load(Ordering::Acquire);
        if limit > 0 && data.len() > limit {
            let e = sctp::SendError::TooLarge { size: data.len(), limit };
            return Err(PeerError::DataChannel(e.into()));
        }
        let buffered = b.queued.load(Ordering::Acquire) + b.buffered.load(Ordering::Acquire);
        if buffered + data.len() > b.limit {
            let e = sctp::SendError::BufferFull { buffered, limit: b.limit };
            return Err(PeerError::DataChannel(e.into()));
        }
        let commands = self.commands.upgrade().ok_or(PeerError::Closed)?;
        b.queued.fetch_add(data.len(), Ordering::AcqRel);
        let len = data.len();
        if commands.send(Command::SendNoReply(self.handle, data, binary)).await.is_err() {
            b.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(PeerError::Closed);
        }
        Ok(())
    }

    /// `bufferedAmount`: bytes queued and not yet acknowledged.
    pub async fn buffered_amount(&self) -> usize {
        let Some(commands) = self.commands.upgrade() else { return 0 };
        let (tx, rx) = oneshot::channel();
        if commands.send(Command::BufferedAmount(self.handle, tx)).await.is_err() {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    /// `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(&self, threshold: usize) {
        if let Some(commands) = self.commands.upgrade() {
            let _ = commands.send(Command::SetThreshold(self.handle, threshold)).await;
        }
    }

    /// `close`.
    pub async fn close(&self) {
        if let Some(commands) = self.commands.upgrade() {
            let _ = commands.send(Command::CloseChannel(self.handle)).await;
        }
    }

    /// The next event; `None` after [`DataChannelEvent::Close`] or once
    /// the connection is gone.
    pub async fn next_event(&self) -> Option<DataChannelEvent> {
        self.events.lock().await.recv().await
    }
}
