//! `RTCDataChannel`: a handle on one data channel of an
//! [`RTCPeerConnection`](crate::RTCPeerConnection).

use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use datachannel::{ChannelInfo, ReadyState, Reliability};
use peer::{ChannelHandle, PeerError};
use tokio::sync::{mpsc, oneshot, Mutex, Notify};

use crate::peer_connection::Command;

/// What an [`RTCDataChannel`] reports: the W3C channel events, the same
/// vocabulary as the engine's and the peer core's
/// ([`datachannel::ChannelEvent`]).
pub use datachannel::ChannelEvent as DataChannelEvent;

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
    /// The peer's max-message-size; `usize::MAX` while unknown or unlimited.
    pub remote_max: AtomicUsize,
}

/// Received messages the application took, for the connection's task to
/// give their room in SCTP's receive window back (pull-style delivery).
#[derive(Debug, Default)]
pub(crate) struct Consumed {
    /// Bytes as SCTP carried them (an empty message is one byte).
    pub bytes: AtomicUsize,
    /// Messages.
    pub messages: AtomicUsize,
    /// Wakes the task.
    pub wake: std::sync::Arc<Notify>,
}

/// Bytes taken before the task is woken to reopen the window.
const WAKE_AFTER: usize = 32 * 1024;

impl Consumed {
    /// The application took a message of `len` bytes.
    pub(crate) fn add(&self, len: usize) {
        let len = len.max(1);
        self.messages.fetch_add(1, Ordering::AcqRel);
        let before = self.bytes.fetch_add(len, Ordering::AcqRel);
        if before < WAKE_AFTER && before + len >= WAKE_AFTER {
            self.wake.notify_one();
        }
    }

    /// What was taken since the last call: (bytes, messages).
    pub(crate) fn take(&self) -> (usize, usize) {
        (self.bytes.swap(0, Ordering::AcqRel), self.messages.swap(0, Ordering::AcqRel))
    }
}

/// No id yet, in [`Shared::id`].
const NO_ID: u32 = u32::MAX;

/// State shared between the task and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    info: ChannelInfo,
    id: AtomicU32,
    state: AtomicU8,
}

impl Shared {
    pub(crate) fn new(info: ChannelInfo, state: ReadyState) -> Self {
        let id = AtomicU32::new(info.id.map_or(NO_ID, u32::from));
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

    pub(crate) fn id(&self) -> Option<u16> {
        u16::try_from(self.id.load(Ordering::Acquire)).ok()
    }

    pub(crate) fn set_id(&self, id: u16) {
        self.id.store(id.into(), Ordering::Release);
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
    /// Unbounded by count: what waits here is bounded by SCTP's receive
    /// window, which it keeps occupied until read (pull-style delivery).
    events: Mutex<mpsc::UnboundedReceiver<DataChannelEvent>>,
    shared: Arc<Shared>,
    consumed: Arc<Consumed>,
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
        events: mpsc::UnboundedReceiver<DataChannelEvent>,
        shared: Arc<Shared>,
        consumed: Arc<Consumed>,
    ) -> Self {
        RTCDataChannel { handle, budget, commands, events: Mutex::new(events), shared, consumed }
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
        self.shared.id()
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
            return Err(PeerError::ChannelNotOpen(state));
        }
        let b = &self.budget;
        let limit = b.remote_max.load(Ordering::Acquire);
        if data.len() > limit {
            let e = sctp::SendError::TooLarge { size: data.len(), limit };
            return Err(PeerError::DataChannel(e.into()));
        }
        let buffered = b.queued.load(Ordering::Acquire) + b.buffered.load(Ordering::Acquire);
        if buffered + data.len() > b.limit {
            return Err(PeerError::SendBufferFull);
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

    /// The next event; `None` after [`DataChannelEvent::Closed`] or once
    /// the connection is gone.
    pub async fn next_event(&self) -> Option<DataChannelEvent> {
        let e = self.events.lock().await.recv().await;
        if let Some(DataChannelEvent::Message { data, .. }) = &e {
            self.consumed.add(data.len());
        }
        e
    }
}

impl Drop for RTCDataChannel {
    /// Messages nobody will read give their room in the window back.
    fn drop(&mut self) {
        let rx = self.events.get_mut();
        rx.close();
        let mut any = false;
        while let Ok(e) = rx.try_recv() {
            if let DataChannelEvent::Message { data, .. } = e {
                self.consumed.add(data.len());
                any = true;
            }
        }
        if any {
            self.consumed.wake.notify_one();
        }
    }
}
