//! The data channels part of a peer connection: channel handles that exist
//! before negotiation and before the association (W3C
//! `createDataChannel` works at any time), mapped to SCTP streams once the
//! transport carries an association.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use datachannel::{
    ChannelEvent, ChannelInfo, ChannelInit, DataChannelError, DataChannelEvent, DataChannels, ReadyState,
};

use crate::config::{ChannelHandle, PeerEvent, PeerWarning};
use crate::PeerError;

enum Slot {
    /// Created before the association exists.
    Pending(ChannelInit),
    /// On this SCTP stream.
    Stream(u16),
}

/// Messages and bytes of one channel.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counters {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
}

/// Channels by handle. The association itself lives in the
/// [`Transport`](crate::Transport); every call here takes it.
#[derive(Default)]
pub(crate) struct DataPart {
    slots: BTreeMap<ChannelHandle, Slot>,
    by_stream: HashMap<u16, ChannelHandle>,
    next_handle: u64,
    counters: HashMap<ChannelHandle, Counters>,
    /// Channels that opened (ours) or were announced (the peer's).
    pub opened: u32,
    /// Channels that closed after opening.
    pub closed: u32,
    /// A channel was created: the session needs a data section.
    pub wanted: bool,
}

impl DataPart {
    fn new_handle(&mut self) -> ChannelHandle {
        self.next_handle += 1;
        ChannelHandle(self.next_handle)
    }

    /// `createDataChannel`: on the association when there is one, else
    /// pending until [`attach`](Self::attach).
    pub fn create(
        &mut self,
        now: Instant,
        dc: Option<&mut DataChannels>,
        init: ChannelInit,
    ) -> Result<ChannelHandle, PeerError> {
        // Refuse at once what DCEP cannot carry (label and protocol sizes).
        datachannel::dcep::Message::Open(datachannel::dcep::Open {
            unordered: !init.ordered,
            reliability: init.reliability,
            priority: init.priority,
            label: init.label.clone(),
            protocol: init.protocol.clone(),
        })
        .encode()
        .map_err(|e| PeerError::DataChannel(e.into()))?;
        let slot = match dc {
            Some(dc) => Slot::Stream(dc.create(now, init).map_err(PeerError::DataChannel)?),
            None => Slot::Pending(init),
        };
        let h = self.new_handle();
        if let Slot::Stream(id) = slot {
            self.by_stream.insert(id, h);
        }
        self.slots.insert(h, slot);
        self.wanted = true;
        Ok(h)
    }

    /// The association is there: pending channels get their streams.
    pub fn attach(&mut self, now: Instant, dc: &mut DataChannels, events: &mut Vec<PeerEvent>) {
        let pending: Vec<ChannelHandle> =
            self.slots.iter().filter(|(_, s)| matches!(s, Slot::Pending(_))).map(|(h, _)| *h).collect();
        for h in pending {
            let Some(Slot::Pending(init)) = self.slots.remove(&h) else { continue };
            match dc.create(now, init) {
                Ok(id) => {
                    self.slots.insert(h, Slot::Stream(id));
                    self.by_stream.insert(id, h);
                }
                Err(e) => {
                    events.push(PeerEvent::Warning(PeerWarning::ChannelNotCreated(e)));
                    events.push(PeerEvent::Channel(h, ChannelEvent::Closed));
                }
            }
        }
    }

    /// The peer rejected data channels, or the connection closed: every
    /// channel closes.
    pub fn close_all(&mut self, events: &mut Vec<PeerEvent>) {
        self.by_stream.clear();
        self.closed += self.counters.drain().count() as u32;
        for h in std::mem::take(&mut self.slots).into_keys() {
            events.push(PeerEvent::Channel(h, ChannelEvent::Closed));
        }
    }

    pub fn stream_of(&self, h: ChannelHandle) -> Result<u16, PeerError> {
        match self.slots.get(&h) {
            Some(Slot::Stream(id)) => Ok(*id),
            Some(Slot::Pending(_)) => Err(PeerError::ChannelNotOpen(ReadyState::Connecting)),
            None => Err(PeerError::NoSuchChannel(h)),
        }
    }

    /// `RTCDataChannel.close`; true when the association must act.
    pub fn close(&mut self, now: Instant, dc: Option<&mut DataChannels>, h: ChannelHandle) -> Option<PeerEvent> {
        match self.slots.get(&h)? {
            Slot::Pending(_) => {
                self.slots.remove(&h);
                Some(PeerEvent::Channel(h, ChannelEvent::Closed))
            }
            Slot::Stream(id) => {
                if let Some(dc) = dc {
                    dc.close(now, *id);
                }
                None
            }
        }
    }

    pub fn state(&self, dc: Option<&DataChannels>, h: ChannelHandle) -> Option<ReadyState> {
        match self.slots.get(&h)? {
            Slot::Pending(_) => Some(ReadyState::Connecting),
            Slot::Stream(id) => dc.and_then(|dc| dc.ready_state(*id)),
        }
    }

    pub fn info(&self, dc: Option<&DataChannels>, h: ChannelHandle) -> Option<ChannelInfo> {
        match self.slots.get(&h)? {
            Slot::Pending(init) => Some(ChannelInfo {
                id: None,
                label: init.label.clone(),
                protocol: init.protocol.clone(),
                ordered: init.ordered,
                reliability: init.reliability,
                priority: init.priority,
                negotiated: init.negotiated.is_some(),
            }),
            Slot::Stream(id) => dc.and_then(|dc| dc.info(*id).cloned()),
        }
    }

    /// The channels' handles, in creation order.
    pub fn handles(&self) -> impl Iterator<Item = ChannelHandle> + '_ {
        self.slots.keys().copied()
    }

    /// An event of the association's channels, for the application.
    /// `Err(len)`: a message nobody will read; give its room back.
    pub fn on_event(&mut self, e: DataChannelEvent) -> Result<Option<PeerEvent>, usize> {
        Ok(Some(match e {
            DataChannelEvent::Connected => return Ok(None),
            DataChannelEvent::Incoming(info) => {
                let h = self.new_handle();
                let Some(id) = info.id else { return Ok(None) };
                self.slots.insert(h, Slot::Stream(id));
                self.by_stream.insert(id, h);
                self.opened += 1;
                self.counters.insert(h, Counters::default());
                PeerEvent::DataChannel(h, info)
            }
            DataChannelEvent::Channel(id, event) => match self.on_channel(id, event)? {
                Some((h, e)) => PeerEvent::Channel(h, e),
                None => return Ok(None),
            },
            DataChannelEvent::AssociationClosed { reason } => PeerEvent::Warning(PeerWarning::AssociationEnded(reason)),
        }))
    }

    /// An event of channel `id`, by handle.
    fn on_channel(&mut self, id: u16, e: ChannelEvent) -> Result<Option<(ChannelHandle, ChannelEvent)>, usize> {
        let h = match &e {
            ChannelEvent::Closed => self.by_stream.remove(&id),
            _ => self.by_stream.get(&id).copied(),
        };
        let Some(h) = h else {
            // Nobody will read a message: give its room back at once.
            if let ChannelEvent::Message { data, .. } = &e {
                return Err(data.len().max(1));
            }
            return Ok(None);
        };
        match &e {
            ChannelEvent::Open => {
                self.opened += 1;
                self.counters.insert(h, Counters::default());
            }
            ChannelEvent::Message { data, .. } => {
                let c = self.counters.entry(h).or_default();
                c.messages_received += 1;
                c.bytes_received += data.len() as u64;
            }
            ChannelEvent::Closed => {
                self.slots.remove(&h);
                if self.counters.remove(&h).is_some() {
                    self.closed += 1;
                }
            }
            ChannelEvent::BufferedAmountLow | ChannelEvent::Closing | ChannelEvent::Error(_) => {}
        }
        Ok(Some((h, e)))
    }

    /// The counters of `h`.
    pub fn counters(&self, h: ChannelHandle) -> Counters {
        self.counters.get(&h).copied().unwrap_or_default()
    }

    /// Sends on `h`.
    pub fn send(
        &mut self,
        now: Instant,
        dc: Option<&mut DataChannels>,
        h: ChannelHandle,
        data: Bytes,
        binary: bool,
    ) -> Result<(), PeerError> {
        let id = self.stream_of(h)?;
        let dc = dc.ok_or(PeerError::NoSuchChannel(h))?;
        let len = data.len() as u64;
        dc.send(now, id, data, binary).map_err(|e| match e {
            DataChannelError::Send(sctp::SendError::BufferFull { .. }) => PeerError::SendBufferFull,
            DataChannelError::NotOpen { state, .. } => PeerError::ChannelNotOpen(state),
            e => PeerError::DataChannel(e),
        })?;
        let c = self.counters.entry(h).or_default();
        c.messages_sent += 1;
        c.bytes_sent += len;
        Ok(())
    }
}
