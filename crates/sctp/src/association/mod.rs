//! The association: handshake, dispatch of received chunks, timers, shutdown and abort.
//! Sending lives in `send.rs`, receiving in `recv.rs`, stream reset in `reconfig.rs`.

mod config;
mod reconfig;
mod recv;
mod send;
mod streamset;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use config::{SctpConfig, SctpEvent, SendParams, Stats};

use crate::chunk::{self, cause, describe_causes, kind, Chunk, ErrorCause, Heartbeat, Init, UnknownAction, EDMID_DTLS};
use crate::cookie::{feature, CookieData, CookieSigner};

use crate::packet::{self, CommonHeader, PacketWriter};

use reconfig::ReconfigState;
use recv::RecvState;
use send::SendState;

/// At most this many stateless answers (INIT-ACK) wait for `poll_transmit`; more are dropped,
/// so an INIT flood cannot grow memory.
const MAX_QUEUED_ANSWERS: usize = 16;

/// TSNs are kept as u64 "extended" numbers starting at this offset, so that `initial - 1`
/// never underflows and wrap-around needs no special cases.
pub(crate) const TSN_BASE: u64 = 1 << 32;

/// Maps a 32-bit serial number to the extended value nearest `reference`.
pub(crate) fn unwrap_tsn(wire: u32, reference: u64) -> u64 {
    let d = wire.wrapping_sub(reference as u32) as i32 as i64;
    (reference as i64).saturating_add(d).max(0) as u64
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Listening: answers INITs statelessly, accepts valid cookies.
    Closed,
    CookieWait,
    CookieEchoed,
    Established,
    ShutdownPending,
    ShutdownSent,
    ShutdownReceived,
    ShutdownAckSent,
    /// Final: closed or aborted.
    Done,
}

/// Timer deadlines (None: not running).
#[derive(Default)]
struct Timers {
    t1: Option<Instant>,
    t1_count: u32,
    t1_rto: Duration,
    /// When the first INIT or COOKIE-ECHO went out (an RTT sample if answered at once).
    t1_start: Option<Instant>,
    t2: Option<Instant>,
    t3: Option<Instant>,
    delayed_ack: Option<Instant>,
    heartbeat: Option<Instant>,
    reconfig: Option<Instant>,
    /// While reassembly and reordering hold half the receive window or
    /// more: when the association gives up on the peer.
    stalled: Option<Instant>,
}

/// How long reassembly and reordering may hold half the receive window or
/// more without falling below it: a peer that sends fragments which never
/// complete (or never fills a gap) is aborted after this, as a path that
/// loses one chunk for this long is dead anyway (ICE consent fails at 30 s).
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// RTT estimator (RFC 6298).
struct Rto {
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    min: Duration,
    max: Duration,
}

impl Rto {
    fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(s) => {
                let diff = s.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(s * 7 / 8 + r / 8);
            }
        }
        let s = self.srtt.unwrap_or(r);
        self.rto = (s + (self.rttvar * 4).max(Duration::from_millis(1))).clamp(self.min, self.max);
    }

    fn back_off(&mut self) {
        self.rto = (self.rto * 2).min(self.max);
    }

    /// Forgets the back-off once the peer acknowledges new data: the path
    /// works again, so the next timer runs on the measured RTO (as Linux TCP
    /// and dcsctp do), not on a doubled one that may have reached a minute
    /// while every chunk was retransmitted or abandoned (no RTT sample, per
    /// Karn) and that would make each lost FORWARD-TSN cost that minute.
    fn progress(&mut self) {
        if let Some(s) = self.srtt {
            self.rto = (s + (self.rttvar * 4).max(Duration::from_millis(1))).clamp(self.min, self.max);
        }
    }
}

/// One SCTP association, sans-IO. See the [crate documentation](crate) for the loop.
pub struct Association {
    config: SctpConfig,
    signer: CookieSigner,
    rng: StdRng,
    epoch: Instant,
    pub(crate) state: State,
    local_tag: u32,
    peer_tag: u32,
    local_initial_tsn: u32,
    /// The INIT we sent (kept for retransmission).
    init: Option<Init>,
    cookie_echo: Option<Bytes>,
    /// Negotiated: peer supports FORWARD-TSN.
    pr: bool,
    /// Negotiated: I-DATA in use.
    pub(crate) idata: bool,
    /// Negotiated: peer supports RE-CONFIG.
    reconfig_ok: bool,
    /// Negotiated: we may send zero checksums.
    zero_checksum_send: bool,
    num_outbound: u16,
    num_inbound: u16,
    timers: Timers,
    rto: Rto,
    /// Consecutive unanswered timeouts (association error counter).
    error_count: u32,
    heartbeat_nonce: Option<u64>,
    snd: SendState,
    rcv: RecvState,
    rcf: ReconfigState,
    /// Control chunks waiting for the next packet.
    ctrl: VecDeque<Chunk>,
    /// Finished packets waiting for `poll_transmit` (INIT, stateless answers, ABORT).
    raw: VecDeque<Vec<u8>>,
    events: VecDeque<SctpEvent>,
    stats: Stats,
    /// Every log line of this association is inside this span.
    span: tracing::Span,
}

impl Association {
    /// A new association in the listening state: it answers INITs and becomes established
    /// when a valid COOKIE-ECHO arrives. Call [`connect`](Self::connect) to initiate instead
    /// (in WebRTC both sides may; collisions are resolved per RFC 9260 5.2).
    pub fn new(now: Instant, mut config: SctpConfig) -> Association {
        config.mtu = config.mtu.clamp(256, 65535);
        config.max_receive_packet = config.max_receive_packet.max(config.mtu);
        config.max_message_size = config.max_message_size.max(1);
        config.receive_window = config.receive_window.max(config.max_message_size.min(u32::MAX as usize) as u32);
        config.receive_window = config.receive_window.max(16 * config.mtu as u32);
        config.max_inbound_streams = config.max_inbound_streams.max(1);
        config.max_outbound_streams = config.max_outbound_streams.max(1);
        config.rto_min = config.rto_min.max(Duration::from_millis(1));
        config.rto_max = config.rto_max.max(config.rto_min);
        config.delayed_ack = config.delayed_ack.min(Duration::from_millis(500));
        let mut rng = StdRng::seed_from_u64(config.seed);
        let secret = config.cookie_secret.unwrap_or_else(|| rng.gen());
        let rto = Rto {
            srtt: None,
            rttvar: Duration::ZERO,
            rto: config.rto_initial,
            min: config.rto_min,
            max: config.rto_max,
        };
        let snd = SendState::new(&config);
        Association {
            signer: CookieSigner::new(&secret),
            rng,
            epoch: now,
            state: State::Closed,
            local_tag: 0,
            peer_tag: 0,
            local_initial_tsn: 0,
            init: None,
            cookie_echo: None,
            pr: false,
            idata: false,
            reconfig_ok: false,
            zero_checksum_send: false,
            num_outbound: config.max_outbound_streams,
            num_inbound: config.max_inbound_streams,
            timers: Timers::default(),
            rto,
            error_count: 0,
            heartbeat_nonce: None,
            snd,
            rcv: RecvState::new(TSN_BASE),
            rcf: ReconfigState::default(),
            ctrl: VecDeque::new(),
            raw: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            span: tracing::debug_span!("sctp", port = config.local_port, seed = config.seed),
            config,
        }
    }

    /// Starts the handshake: sends INIT. Does nothing unless the association is still
    /// listening.
    pub fn connect(&mut self, now: Instant) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.state != State::Closed {
            return;
        }
        self.local_tag = self.nonzero_tag();
        self.local_initial_tsn = self.rng.gen();
        let init = self.our_init(self.local_tag, self.local_initial_tsn, None, Vec::new(), self.config.zero_checksum);
        self.send_raw(0, &Chunk::Init(init.clone()), false);
        self.init = Some(init);
        self.state = State::CookieWait;
        self.timers.t1_rto = self.config.rto_initial;
        self.timers.t1 = Some(now + self.timers.t1_rto);
        self.timers.t1_count = 0;
        self.timers.t1_start = Some(now);
    }

    /// An RTT sample from the handshake, when no retransmission makes it ambiguous.
    fn handshake_rtt(&mut self, now: Instant) {
        if self.timers.t1_count == 0 {
            if let Some(d) = self.timers.t1_start.and_then(|t| now.checked_duration_since(t)) {
                self.rto.sample(d);
            }
        }
    }

    /// True once established (and until shutdown starts).
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// True when the association has ended (closed or aborted).
    pub fn is_closed(&self) -> bool {
        self.state == State::Done
    }

    /// Negotiated: I-DATA (RFC 8260) is in use.
    pub fn is_interleaving(&self) -> bool {
        self.idata
    }

    /// Negotiated: we send packets with a zero checksum (RFC 9653).
    pub fn is_zero_checksum(&self) -> bool {
        self.zero_checksum_send
    }

    /// Outbound streams available (after negotiation: the smaller of ours and the peer's).
    pub fn outbound_streams(&self) -> u16 {
        self.num_outbound
    }

    /// The application took `messages` delivered messages of `bytes` bytes
    /// together (with [`SctpConfig::hold_until_consumed`]; a no-op
    /// otherwise): their room in the receive window comes back, and a window
    /// update goes out when the window grew by a packet's worth.
    pub fn consumed(&mut self, bytes: usize, messages: usize) {
        if !self.config.hold_until_consumed {
            return;
        }
        let messages = messages.min(self.rcv.unconsumed_messages);
        let charge = bytes.saturating_add(messages * recv::MESSAGE_OVERHEAD);
        self.rcv.unconsumed_messages -= messages;
        // Never below the charge of the messages still out (a caller that
        // over-reports bytes cannot free another message's room).
        self.rcv.unconsumed =
            self.rcv.unconsumed.saturating_sub(charge).max(self.rcv.unconsumed_messages * recv::MESSAGE_OVERHEAD);
        let window = self.config.receive_window as usize;
        let now_open = window.saturating_sub(self.rcv.held + self.rcv.unconsumed);
        // Tell the peer as soon as a packet more fits than it was told
        // (the callers batch their calls, so this is not one SACK per
        // message); waiting for a larger step could wait forever when the
        // unconsumed messages of a slow reader keep most of the window.
        if now_open >= self.rcv.advertised.saturating_add(self.config.mtu) {
            self.rcv.sack_now = true;
        }
    }

    /// Bytes delivered and not yet [`consumed`](Self::consumed), message
    /// overhead included.
    pub fn unconsumed(&self) -> usize {
        self.rcv.unconsumed
    }

    /// Sets the peer's maximum message size (from its SDP `a=max-message-size`);
    /// `usize::MAX` for no limit (SDP's 0).
    pub fn set_remote_max_message_size(&mut self, size: usize) {
        self.config.remote_max_message_size = size;
    }

    /// Our verification tag, for the fuzzer (it aims packets past the tag check).
    #[doc(hidden)]
    pub fn local_tag_for_fuzzing(&self) -> Option<u32> {
        (self.local_tag != 0).then_some(self.local_tag)
    }

    /// Counters and congestion state.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.cwnd = self.snd.cwnd;
        s.ssthresh = self.snd.ssthresh;
        s.flight_size = self.snd.flight;
        s.peer_rwnd = self.snd.peer_rwnd;
        s.rto = self.rto.rto;
        s.srtt = self.rto.srtt.unwrap_or_default();
        s.receive_buffered = self.rcv.held;
        s.receive_unconsumed = self.rcv.unconsumed;
        s.outstanding_chunks = self.snd.outstanding.len();
        s
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Done {
            return None;
        }
        let t = &self.timers;
        [t.t1, t.t2, t.t3, t.delayed_ack, t.heartbeat, t.reconfig, t.stalled].into_iter().flatten().min()
    }

    /// Starts a graceful shutdown: queued and outstanding data is delivered first, then
    /// SHUTDOWN is exchanged and [`SctpEvent::Closed`] follows. Before establishment this
    /// aborts.
    pub fn shutdown(&mut self, now: Instant) {
        let span = self.span.clone();
        let _entered = span.enter();
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.check_shutdown(now);
            }
            State::Closed | State::CookieWait | State::CookieEchoed => self.abort(now),
            _ => {}
        }
    }

    /// Aborts at once: sends ABORT (if the peer is known), drops all queues and emits
    /// [`SctpEvent::Closed`].
    pub fn abort(&mut self, _now: Instant) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.state == State::Done {
            return;
        }
        if self.peer_tag != 0 {
            let causes = ErrorCause::encode(&[ErrorCause { code: cause::USER_ABORT, info: Vec::new() }]);
            self.send_raw(
                self.peer_tag,
                &Chunk::Abort { t_bit: false, causes: causes.into() },
                self.zero_checksum_send,
            );
        }
        self.finish(SctpEvent::Closed);
    }

    fn finish(&mut self, event: SctpEvent) {
        tracing::debug!(?event, "sctp association ended");
        self.state = State::Done;
        self.timers = Timers::default();
        self.snd.clear();
        self.rcv = RecvState::new(TSN_BASE);
        self.ctrl.clear();
        self.events.push_back(event);
    }

    fn fail(&mut self, reason: String) {
        self.finish(SctpEvent::Aborted { reason });
    }

    fn nonzero_tag(&mut self) -> u32 {
        loop {
            let t: u32 = self.rng.gen();
            if t != 0 {
                return t;
            }
        }
    }

    /// Our INIT or INIT-ACK. `zero_checksum`: whether it declares that we accept packets
    /// with a zero checksum (RFC 9653 5.1 lets either chunk carry the declaration).
    ///
    /// Where the declaration goes, and why (peers that do not know the parameter must skip
    /// it, RFC 9260 3.2.1, but Pion's SCTP before v1.8.x rejects the whole chunk with
    /// "unhandled ParamType 32769", and so does anything derived from it):
    /// - An INIT-ACK carries it only when the INIT it answers carried it. The peer's own
    ///   INIT is the only thing we know about it, and a peer that declares zero checksum
    ///   knows the parameter.
    /// - The first INIT carries it (with `SctpConfig::zero_checksum`): nothing can be learnt
    ///   before it. No SDP attribute announces zero checksum (browsers decide it in the SCTP
    ///   handshake alone: dcsctp declares it in its INIT and INIT-ACK when configured to), so
    ///   the INIT is where it must be offered for two stacks that both support it to agree.
    ///   A peer that rejects the INIT for it is harmless when it sends its own INIT (Pion
    ///   always does, whatever the roles, as libwebrtc does and as we do): the association
    ///   forms from its INIT and our INIT-ACK, which then does not carry the parameter.
    /// - A retransmitted INIT leaves it out, so that a peer that rejects it and waits for
    ///   our INIT instead still connects, one RTO later. Under plain loss this only costs
    ///   the peer's zero checksums towards us; our zero checksums to a peer that declared
    ///   them (its INIT or INIT-ACK) are unaffected.
    fn our_init(
        &self,
        tag: u32,
        tsn: u32,
        cookie: Option<Bytes>,
        unrecognized: Vec<Bytes>,
        zero_checksum: bool,
    ) -> Init {
        let mut ext = vec![kind::RE_CONFIG, kind::FORWARD_TSN];
        if self.config.interleaving {
            ext.extend([kind::I_DATA, kind::I_FORWARD_TSN]);
        }
        Init {
            initiate_tag: tag,
            a_rwnd: self.config.receive_window,
            outbound_streams: self.config.max_outbound_streams,
            inbound_streams: self.config.max_inbound_streams,
            initial_tsn: tsn,
            cookie,
            supported_extensions: ext,
            forward_tsn_supported: true,
            zero_checksum_edmid: (self.config.zero_checksum && zero_checksum).then_some(EDMID_DTLS),
            unrecognized,
        }
    }

    /// Queues a finished one-chunk packet.
    fn send_raw(&mut self, vtag: u32, c: &Chunk, zero_checksum: bool) -> bool {
        if self.raw.len() >= MAX_QUEUED_ANSWERS {
            self.stats.answers_dropped += 1;
            return false;
        }
        let mut w = PacketWriter::new(self.config.local_port, self.config.remote_port, vtag, self.config.mtu);
        w.push(c);
        self.raw.push_back(w.finish(zero_checksum));
        true
    }

    fn features_of(init: &Init) -> u8 {
        let mut f = 0;
        if init.forward_tsn_supported || init.supports(kind::FORWARD_TSN) {
            f |= feature::FORWARD_TSN;
        }
        if init.supports(kind::I_DATA) {
            f |= feature::I_DATA;
        }
        if init.supports(kind::RE_CONFIG) {
            f |= feature::RE_CONFIG;
        }
        if init.zero_checksum_edmid == Some(EDMID_DTLS) {
            f |= feature::ZERO_CHECKSUM;
        }
        f
    }

    /// Sets up everything that depends on the peer's INIT or INIT-ACK.
    fn negotiate(&mut self, peer_tsn: u32, peer_a_rwnd: u32, peer_out: u16, peer_in: u16, features: u8) {
        self.pr = features & feature::FORWARD_TSN != 0;
        self.idata = self.config.interleaving && features & feature::I_DATA != 0;
        self.reconfig_ok = features & feature::RE_CONFIG != 0;
        self.zero_checksum_send = self.config.zero_checksum && features & feature::ZERO_CHECKSUM != 0;
        self.num_outbound = self.config.max_outbound_streams.min(peer_in);
        self.num_inbound = self.config.max_inbound_streams.min(peer_out);
        self.snd.start(self.local_initial_tsn, peer_a_rwnd, self.config.mtu, self.config.initial_cwnd_packets);
        self.rcv = RecvState::new(TSN_BASE + peer_tsn as u64 - 1);
        self.rcf = ReconfigState::new(self.local_initial_tsn, peer_tsn);
    }

    fn established(&mut self, now: Instant) {
        self.state = State::Established;
        self.timers.t1 = None;
        self.error_count = 0;
        if !self.config.heartbeat_interval.is_zero() {
            self.timers.heartbeat = Some(now + self.config.heartbeat_interval + self.rto.rto);
        }
        tracing::debug!(local_tag = self.local_tag, peer_tag = self.peer_tag, "sctp association established");
        self.events.push_back(SctpEvent::Connected);
    }

    // ---- receiving ------------------------------------------------------------------------

    /// Feeds one received SCTP packet (one DTLS record). Malformed or unexpected packets are
    /// dropped and counted in [`Stats::dropped_packets`]; they never surface as errors.
    pub fn handle_receive(&mut self, now: Instant, data: &[u8]) {
        self.handle_receive_bytes(now, Bytes::copy_from_slice(data));
    }

    /// Like [`handle_receive`](Self::handle_receive), without copying: received messages are
    /// slices of `packet`.
    pub fn handle_receive_bytes(&mut self, now: Instant, packet: Bytes) {
        let span = self.span.clone();
        let _entered = span.enter();
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.len() as u64;
        if !self.receive(now, packet) {
            self.stats.dropped_packets += 1;
        }
        self.after_input(now);
    }

    fn receive(&mut self, now: Instant, pkt: Bytes) -> bool {
        if pkt.len() > self.config.max_receive_packet {
            return false;
        }
        self.rcv.packet_len = pkt.len();
        let data = &pkt[..];
        let Ok(h) = CommonHeader::parse(data) else { return false };
        if h.dst_port != self.config.local_port || h.src_port != self.config.remote_port {
            return false;
        }
        let first_kind = data.get(packet::HEADER_LEN).copied();
        let zero_ok = self.config.zero_checksum && h.checksum == 0 && first_kind != Some(kind::INIT);
        if !zero_ok && packet::checksum(data) != h.checksum {
            return false;
        }
        if self.state == State::Done {
            // Out of the blue (RFC 9260 8.4): a peer that missed our SHUTDOWN-COMPLETE
            // repeats SHUTDOWN-ACK; answer so that it can close too.
            // Anything else that could come from a live peer gets an ABORT so that it stops
            // retransmitting into the void (our own ABORT may have been lost).
            match first_kind {
                Some(kind::SHUTDOWN_ACK) => {
                    self.send_raw(h.vtag, &Chunk::ShutdownComplete { t_bit: true }, false);
                }
                Some(kind::DATA | kind::I_DATA | kind::SACK | kind::HEARTBEAT | kind::SHUTDOWN | kind::RE_CONFIG)
                    if h.vtag != 0 =>
                {
                    let causes = ErrorCause::encode(&[ErrorCause {
                        code: cause::PROTOCOL_VIOLATION,
                        info: b"association closed".to_vec(),
                    }]);
                    self.send_raw(h.vtag, &Chunk::Abort { t_bit: true, causes: causes.into() }, false);
                }
                _ => {}
            }
            return false;
        }
        let mut got_data = false;
        let mut ok = true;
        let mut index = 0;
        for c in packet::chunks(&pkt) {
            let Ok((t, flags, value)) = c else {
                ok = false;
                break;
            };
            index += 1;
            // INIT must be alone (RFC 9260 6.10).
            if t == kind::INIT && (index > 1 || h.vtag != 0) {
                return false;
            }
            let chunk = match Chunk::parse(t, flags, value.clone()) {
                Ok(c) => c,
                Err(e) => {
                    tracing::trace!(%e, "dropping malformed chunk");
                    ok = false;
                    break;
                }
            };
            if !self.vtag_ok(&h, &chunk) {
                return false;
            }
            match chunk {
                Chunk::Unknown { kind, flags, value } => {
                    let action = UnknownAction::of(kind);
                    if matches!(action, UnknownAction::StopAndReport | UnknownAction::SkipAndReport)
                        && self.peer_tag != 0
                    {
                        let mut info = vec![kind, flags];
                        info.extend_from_slice(&((value.len() + 4) as u16).to_be_bytes());
                        info.extend_from_slice(&value[..value.len().min(256)]);
                        let causes = ErrorCause::encode(&[ErrorCause { code: cause::UNRECOGNIZED_CHUNK, info }]);
                        if self.ctrl.len() < 8 {
                            self.ctrl.push_back(Chunk::Error { causes: causes.into() });
                        }
                    }
                    if matches!(action, UnknownAction::Stop | UnknownAction::StopAndReport) {
                        break;
                    }
                }
                Chunk::Data(d) => {
                    if !self.can_receive_data() {
                        continue;
                    }
                    got_data = true;
                    if self.on_data(now, d).is_err() {
                        return true;
                    }
                }
                c => {
                    if !self.on_control(now, &h, c) {
                        ok = false;
                    }
                    if self.state == State::Done {
                        return true;
                    }
                }
            }
        }
        if got_data {
            self.after_data_packet(now);
        }
        ok
    }

    fn can_receive_data(&self) -> bool {
        matches!(self.state, State::Established | State::ShutdownPending | State::ShutdownSent)
    }

    /// Verification tag rules of RFC 9260 8.5 / 8.5.1.
    fn vtag_ok(&self, h: &CommonHeader, c: &Chunk) -> bool {
        match c {
            Chunk::Init(_) => h.vtag == 0,
            Chunk::Abort { t_bit: true, .. } | Chunk::ShutdownComplete { t_bit: true } => {
                self.peer_tag != 0 && h.vtag == self.peer_tag
            }
            Chunk::CookieEcho { .. } => true, // checked against the cookie's own tag
            _ => self.local_tag != 0 && h.vtag == self.local_tag,
        }
    }

    /// Handles a non-DATA chunk; false when it was malformed or unexpected.
    fn on_control(&mut self, now: Instant, h: &CommonHeader, c: Chunk) -> bool {
        match c {
            Chunk::Init(init) => self.on_init(now, &init),
            Chunk::InitAck(ack) => self.on_init_ack(now, ack),
            Chunk::CookieEcho { cookie } => self.on_cookie_echo(now, h, &cookie),
            Chunk::CookieAck => {
                if self.state == State::CookieEchoed {
                    self.handshake_rtt(now);
                    self.established(now);
                }
                true
            }
            Chunk::Sack(s) => {
                if self.is_up() {
                    self.on_sack(now, &s);
                }
                true
            }
            Chunk::Heartbeat(hb) => {
                if self.peer_tag != 0 && self.ctrl.len() < 64 {
                    self.ctrl.push_back(Chunk::HeartbeatAck(hb));
                }
                true
            }
            Chunk::HeartbeatAck(hb) => {
                self.on_heartbeat_ack(now, &hb);
                true
            }
            Chunk::Abort { causes, .. } => {
                let reason = format!("peer aborted: {}", describe_causes(&causes));
                self.fail(reason);
                true
            }
            Chunk::Error { causes } => {
                tracing::debug!(causes = %describe_causes(&causes), "peer reported an error");
                true
            }
            Chunk::Shutdown { cum_tsn_ack } => self.on_shutdown(now, cum_tsn_ack),
            Chunk::ShutdownAck => {
                if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
                    self.send_raw(self.peer_tag, &Chunk::ShutdownComplete { t_bit: false }, self.zero_checksum_send);
                    self.finish(SctpEvent::Closed);
                }
                true
            }
            Chunk::ShutdownComplete { .. } => {
                if self.state == State::ShutdownAckSent {
                    self.finish(SctpEvent::Closed);
                }
                true
            }
            Chunk::ForwardTsn(f) => {
                if self.can_receive_data() || self.state == State::ShutdownReceived {
                    self.on_forward_tsn(now, &f);
                }
                true
            }
            Chunk::ReConfig(r) => {
                if self.is_up() {
                    self.on_reconfig(now, r);
                }
                true
            }
            Chunk::Data(_) | Chunk::Unknown { .. } => true,
        }
    }

    fn is_up(&self) -> bool {
        matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        )
    }

    fn on_init(&mut self, now: Instant, init: &Init) -> bool {
        let (tag, tsn) = match self.state {
            State::Closed => (self.nonzero_tag(), self.rng.gen()),
            // RFC 9260 5.2.1: answer with the parameters of our own INIT.
            State::CookieWait | State::CookieEchoed => (self.local_tag, self.local_initial_tsn),
            // A restart (5.2.2) is not supported: WebRTC never restarts an association.
            _ => return false,
        };
        let cookie = self.signer.sign(&CookieData {
            created: now.saturating_duration_since(self.epoch),
            local_tag: tag,
            local_tsn: tsn,
            peer_tag: init.initiate_tag,
            peer_tsn: init.initial_tsn,
            peer_a_rwnd: init.a_rwnd,
            peer_outbound: init.outbound_streams,
            peer_inbound: init.inbound_streams,
            peer_features: Self::features_of(init),
        });
        let zero_checksum = init.zero_checksum_edmid == Some(EDMID_DTLS);
        let ack = self.our_init(tag, tsn, Some(cookie), init.unrecognized.clone(), zero_checksum);
        if self.send_raw(init.initiate_tag, &Chunk::InitAck(ack), false) {
            self.stats.inits_answered += 1;
        }
        true
    }

    fn on_init_ack(&mut self, now: Instant, ack: Init) -> bool {
        if self.state != State::CookieWait {
            return true; // late or duplicate: ignore
        }
        let Some(cookie) = ack.cookie.clone() else { return false };
        self.handshake_rtt(now);
        self.peer_tag = ack.initiate_tag;
        self.negotiate(ack.initial_tsn, ack.a_rwnd, ack.outbound_streams, ack.inbound_streams, Self::features_of(&ack));
        self.ctrl.push_back(Chunk::CookieEcho { cookie: cookie.clone() });
        self.cookie_echo = Some(cookie);
        self.state = State::CookieEchoed;
        self.timers.t1_count = 0;
        self.timers.t1_rto = self.rto.rto;
        self.timers.t1 = Some(now + self.timers.t1_rto);
        self.timers.t1_start = Some(now);
        true
    }

    fn on_cookie_echo(&mut self, now: Instant, h: &CommonHeader, cookie: &[u8]) -> bool {
        let Some(c) = self.signer.verify(cookie) else { return false };
        if h.vtag != c.local_tag {
            return false;
        }
        // The lifetime bounds cookies that would create an association. One that names this
        // association's own tag (cases B and D of RFC 9260 5.2.4) is a repeat from a peer
        // whose COOKIE-ACKs were lost: refusing it for age would leave that peer echoing
        // until it gives up while we think we are connected (Linux skips the check there too).
        let ours = c.local_tag == self.local_tag && matches!(self.state, State::CookieEchoed | State::Established);
        let age = now.saturating_duration_since(self.epoch).saturating_sub(c.created);
        if age > self.config.cookie_lifetime && !ours {
            return false; // stale cookie
        }
        match self.state {
            State::Closed | State::CookieWait => self.establish_from_cookie(now, &c),
            State::CookieEchoed | State::Established => {
                if c.local_tag == self.local_tag && c.peer_tag == self.peer_tag {
                    // Case D: both tags match.
                    if self.state == State::CookieEchoed {
                        self.established(now);
                    }
                    self.ctrl.push_back(Chunk::CookieAck);
                } else if c.local_tag == self.local_tag && self.state == State::CookieEchoed {
                    // Case B: an INIT collision; the peer's tag from the cookie wins.
                    self.establish_from_cookie(now, &c);
                } else {
                    return false; // case C, or a restart (case A), which we do not support
                }
            }
            _ => return false,
        }
        true
    }

    fn establish_from_cookie(&mut self, now: Instant, c: &CookieData) {
        self.local_tag = c.local_tag;
        self.local_initial_tsn = c.local_tsn;
        self.peer_tag = c.peer_tag;
        self.negotiate(c.peer_tsn, c.peer_a_rwnd, c.peer_outbound, c.peer_inbound, c.peer_features);
        self.ctrl.push_back(Chunk::CookieAck);
        self.established(now);
    }

    fn on_heartbeat_ack(&mut self, now: Instant, hb: &Heartbeat) {
        let Some(nonce) = self.heartbeat_nonce else { return };
        let (Some(sent), Some(n)) = (chunk::be32(&hb.info, 0), hb.info.get(4..12)) else { return };
        let mut b = [0u8; 8];
        b.copy_from_slice(n);
        if u64::from_be_bytes(b) != nonce {
            return;
        }
        self.heartbeat_nonce = None;
        self.stats.heartbeat_acks_received += 1;
        self.error_count = 0;
        let sent_at = self.epoch + Duration::from_millis(sent as u64);
        if let Some(rtt) = now.checked_duration_since(sent_at) {
            self.rto.sample(rtt);
        }
    }

    fn on_shutdown(&mut self, now: Instant, cum_tsn_ack: u32) -> bool {
        if !self.is_up() {
            return true;
        }
        self.on_cum_ack(now, cum_tsn_ack);
        match self.state {
            State::Established | State::ShutdownPending => {
                self.state = State::ShutdownReceived;
                self.check_shutdown(now);
            }
            State::ShutdownSent => {
                // Both sides shut down at once.
                self.ctrl.push_back(Chunk::ShutdownAck);
                self.state = State::ShutdownAckSent;
                self.timers.t2 = Some(now + self.rto.rto);
            }
            _ => {}
        }
        true
    }

    /// Moves the shutdown along once everything we sent is acknowledged.
    pub(crate) fn check_shutdown(&mut self, now: Instant) {
        if !self.snd.all_done() {
            return;
        }
        match self.state {
            State::ShutdownPending => {
                self.ctrl.push_back(Chunk::Shutdown { cum_tsn_ack: self.rcv.cum as u32 });
                self.state = State::ShutdownSent;
                self.timers.t2 = Some(now + self.rto.rto);
                self.timers.t3 = None;
            }
            State::ShutdownReceived => {
                self.ctrl.push_back(Chunk::ShutdownAck);
                self.state = State::ShutdownAckSent;
                self.timers.t2 = Some(now + self.rto.rto);
                self.timers.t3 = None;
            }
            _ => {}
        }
    }

    // ---- timers ---------------------------------------------------------------------------

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.state == State::Done {
            return;
        }
        if self.timers.t1.is_some_and(|t| t <= now) {
            self.on_t1(now);
        }
        if self.timers.t2.is_some_and(|t| t <= now) {
            self.on_t2(now);
        }
        if self.timers.t3.is_some_and(|t| t <= now) {
            self.on_t3(now);
        }
        if self.timers.delayed_ack.is_some_and(|t| t <= now) {
            self.timers.delayed_ack = None;
            self.rcv.sack_now = true;
        }
        if self.timers.heartbeat.is_some_and(|t| t <= now) {
            self.on_heartbeat_timer(now);
        }
        if self.timers.reconfig.is_some_and(|t| t <= now) {
            self.on_reconfig_timer(now);
        }
        if self.timers.stalled.is_some_and(|t| t <= now) {
            let what = format!(
                "the peer kept {} bytes of the receive window in fragments and gaps for {} s",
                self.rcv.held,
                STALL_LIMIT.as_secs()
            );
            let causes = ErrorCause::encode(&[ErrorCause { code: cause::OUT_OF_RESOURCE, info: Vec::new() }]);
            self.send_raw(
                self.peer_tag,
                &Chunk::Abort { t_bit: false, causes: causes.into() },
                self.zero_checksum_send,
            );
            self.fail(what);
            return;
        }
        self.after_input(now);
    }

    fn on_t1(&mut self, now: Instant) {
        self.timers.t1_count += 1;
        if self.timers.t1_count > self.config.max_init_retransmits {
            let what = if self.state == State::CookieWait { "INIT" } else { "COOKIE-ECHO" };
            self.fail(format!("no answer to {what} after {} attempts", self.timers.t1_count));
            return;
        }
        self.timers.t1_rto = (self.timers.t1_rto * 2).min(self.config.rto_max);
        self.timers.t1 = Some(now + self.timers.t1_rto);
        match self.state {
            State::CookieWait => {
                if let Some(init) = self.init.as_mut() {
                    // See `our_init`: a peer may have dropped the first INIT for it.
                    init.zero_checksum_edmid = None;
                }
                if let Some(init) = self.init.clone() {
                    self.send_raw(0, &Chunk::Init(init), false);
                }
            }
            State::CookieEchoed => {
                if let Some(c) = self.cookie_echo.clone() {
                    self.ctrl.push_back(Chunk::CookieEcho { cookie: c });
                }
            }
            _ => self.timers.t1 = None,
        }
    }

    fn on_t2(&mut self, now: Instant) {
        if !self.count_error() {
            return;
        }
        self.rto.back_off();
        self.timers.t2 = Some(now + self.rto.rto);
        match self.state {
            State::ShutdownSent => self.ctrl.push_back(Chunk::Shutdown { cum_tsn_ack: self.rcv.cum as u32 }),
            State::ShutdownAckSent => self.ctrl.push_back(Chunk::ShutdownAck),
            _ => self.timers.t2 = None,
        }
    }

    /// Counts one unanswered timeout; false (and the association failed) past the limit.
    pub(crate) fn count_error(&mut self) -> bool {
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.fail(format!("peer unreachable: {} consecutive timeouts without an answer", self.error_count));
            return false;
        }
        true
    }

    fn on_heartbeat_timer(&mut self, now: Instant) {
        if self.timers.t3.is_some() {
            // Data is outstanding: T3 watches the path; heartbeats are for idle times.
            self.heartbeat_nonce = None;
            self.timers.heartbeat = Some(now + self.config.heartbeat_interval + self.rto.rto);
            return;
        }
        if self.heartbeat_nonce.is_some() {
            if !self.count_error() {
                return;
            }
            self.rto.back_off();
        }
        let nonce: u64 = self.rng.gen();
        let mut info = Vec::with_capacity(12);
        info.extend_from_slice(&(now.saturating_duration_since(self.epoch).as_millis() as u32).to_be_bytes());
        info.extend_from_slice(&nonce.to_be_bytes());
        self.heartbeat_nonce = Some(nonce);
        self.ctrl.push_back(Chunk::Heartbeat(Heartbeat { info: info.into() }));
        self.stats.heartbeats_sent += 1;
        self.timers.heartbeat = Some(now + self.config.heartbeat_interval + self.rto.rto);
    }

    /// Work common to every input: shutdown progress, stream resets waiting for data.
    fn after_input(&mut self, now: Instant) {
        if self.state == State::Done {
            return;
        }
        self.check_shutdown(now);
        self.maybe_send_reconfig(now);
        if self.rcv.held * 2 < self.config.receive_window as usize {
            self.timers.stalled = None;
        } else if self.timers.stalled.is_none() {
            self.timers.stalled = Some(now + STALL_LIMIT);
        }
    }

    // ---- output ---------------------------------------------------------------------------

    /// The next packet to send (at most [`SctpConfig::mtu`] bytes), if any. Call until `None`
    /// after every input.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let p = if let Some(p) = self.raw.pop_front() { Some(p) } else { self.build_packet(now) };
        if let Some(p) = &p {
            self.stats.packets_sent += 1;
            self.stats.bytes_sent += p.len() as u64;
        }
        p
    }

    fn build_packet(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.state == State::Done || self.peer_tag == 0 {
            return None;
        }
        let mtu = self.config.mtu;
        let mut w = PacketWriter::new(self.config.local_port, self.config.remote_port, self.peer_tag, mtu);
        // COOKIE-ECHO always carries a CRC32c: the listener may not yet know zero checksum
        // was negotiated (packets with INIT, and out-of-the-blue answers, do too).
        let mut needs_crc = false;
        while let Some(c) = self.ctrl.front() {
            if w.len() + c.encoded_len() > mtu && !w.is_empty() {
                break;
            }
            let c = self.ctrl.pop_front()?;
            if w.len() + c.encoded_len() > mtu {
                continue; // cannot fit any packet: drop it
            }
            needs_crc |= matches!(c, Chunk::CookieEcho { .. });
            w.push(&c);
        }
        let data_allowed = matches!(self.state, State::Established | State::ShutdownPending | State::ShutdownReceived);
        let want_data = data_allowed && self.snd.has_sendable();
        if self.rcv.sack_now || (self.rcv.sack_owed() && (want_data || !w.is_empty())) {
            // Gap blocks and duplicate TSNs take 4 bytes each after a 16-byte SACK header.
            // A SACK that does not fit behind the control chunks waits, untouched, for the
            // next packet (built right after this one when it is due now); in an empty
            // packet it reports what fits.
            let room = mtu.saturating_sub(w.len() + 16) / 4;
            if self.rcv.sack_entries(recv::MAX_SACK_GAPS) <= room || w.is_empty() {
                let sack = self.rcv.make_sack(self.config.receive_window, room.min(recv::MAX_SACK_GAPS), room);
                w.push(&Chunk::Sack(sack));
                self.timers.delayed_ack = None;
            }
        }
        if self.snd.fwd_tsn_needed && self.pr {
            if let Some(f) = self.snd.make_forward_tsn(self.idata) {
                let c = Chunk::ForwardTsn(f);
                if w.len() + c.encoded_len() <= mtu {
                    w.push(&c);
                    self.snd.fwd_tsn_needed = false;
                }
            } else {
                self.snd.fwd_tsn_needed = false;
            }
        }
        if data_allowed {
            self.fill_data(now, &mut w);
        }
        if w.is_empty() {
            return None;
        }
        Some(w.finish(self.zero_checksum_send && !needs_crc))
    }
}
