//! The ICE agent state machine (RFC 8445, RFC 8838, RFC 7675).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stun::{
    Attribute, Class, IntegrityKey, Message, Method, RetransmitConfig, RetransmitTimer, TimerAction, TransactionId,
};
use tracing::{debug, trace};

use crate::candidate::{pair_priority, priority, Candidate, CandidateKind, Protocol};
use crate::config::{IceConfig, TransportPolicy, TurnTransport};
use crate::turn::{TurnClient, TurnConfig, TurnError, TurnEvent};
use crate::types::{GatheringState, IceError, IceEvent, IceStats, IceTransportState, Received};
use crate::Transmit;

/// ICE credentials: the username fragment and password of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `ice-ufrag`.
    pub ufrag: String,
    /// `ice-pwd`.
    pub pwd: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairState {
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Debug)]
struct Local {
    cand: Candidate,
    /// The socket this candidate sends from.
    base: SocketAddr,
    /// The TURN allocation behind a relayed candidate.
    relay: Option<usize>,
    /// Host and relayed candidates form pairs; reflexive ones share their
    /// base's pairs (RFC 8445 section 6.1.2.4).
    pairable: bool,
}

#[derive(Debug)]
struct Pair {
    local: usize,
    remote: usize,
    priority: u64,
    state: PairState,
    nominated: bool,
    peer_nominated: bool,
    nominate_next: bool,
    awaiting_permission: bool,
}

#[derive(Debug)]
struct Check {
    tid: TransactionId,
    pair: usize,
    timer: RetransmitTimer,
    wire: Vec<u8>,
    nominate: bool,
    consent: bool,
    sent_at: Instant,
}

#[derive(Debug)]
struct ServerQuery {
    tid: TransactionId,
    server: SocketAddr,
    base: SocketAddr,
    timer: RetransmitTimer,
    wire: Vec<u8>,
}

struct Relay {
    client: TurnClient,
    /// The host socket a UDP relay uses. A stream (TCP/TLS) relay is not
    /// tied to a socket: it is identified by (server, transport) and this is
    /// the host candidate's IP with port 0.
    host: SocketAddr,
    local: Option<usize>,
    done: bool,
}

/// Where application data goes: survives an ICE restart until a new pair
/// is selected.
#[derive(Debug, Clone)]
struct Route {
    base: SocketAddr,
    remote: SocketAddr,
    relay: Option<usize>,
}

/// A sans-IO ICE agent for one component (rtcp-mux, BUNDLE).
///
/// Feed it with [`IceAgent::handle_receive`] and [`IceAgent::handle_timeout`];
/// after every call drain [`IceAgent::poll_transmit`] and
/// [`IceAgent::poll_event`], then sleep until [`IceAgent::poll_timeout`].
pub struct IceAgent {
    config: IceConfig,
    rng: SmallRng,
    controlling: bool,
    tie_breaker: u64,
    local_creds: Credentials,
    local_key: IntegrityKey,
    previous_local: Option<(Credentials, IntegrityKey)>,
    remote_creds: Option<Credentials>,
    remote_key: Option<IntegrityKey>,
    remote_lite: bool,
    remote_end_of_candidates: bool,
    locals: Vec<Local>,
    remotes: Vec<Candidate>,
    pairs: Vec<Pair>,
    checks: Vec<Check>,
    triggered: VecDeque<usize>,
    next_pace: Option<Instant>,
    last_check_at: Option<Instant>,
    queries: Vec<ServerQuery>,
    relays: Vec<Relay>,
    gathering: GatheringState,
    state: IceTransportState,
    selected: Option<usize>,
    route: Option<Route>,
    first_valid_at: Option<Instant>,
    nominating: Option<usize>,
    last_received: Option<Instant>,
    last_consent: Option<Instant>,
    next_consent: Option<Instant>,
    pending_permissions: Vec<(usize, IpAddr)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    stats: IceStats,
}

const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_string(rng: &mut SmallRng, len: usize) -> String {
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

impl IceAgent {
    /// A new agent. `controlling` is the initial role (the offerer is
    /// controlling in JSEP); a lite agent is always controlled.
    pub fn new(config: IceConfig, controlling: bool) -> Self {
        let mut rng = SmallRng::seed_from_u64(config.seed.unwrap_or_else(rand::random));
        let local_creds = match &config.credentials {
            Some((u, p)) => Credentials { ufrag: u.clone(), pwd: p.clone() },
            None => Credentials { ufrag: random_string(&mut rng, 8), pwd: random_string(&mut rng, 24) },
        };
        let local_key = IntegrityKey::short_term(&local_creds.pwd);
        let tie_breaker = rng.gen();
        IceAgent {
            controlling: controlling && !config.lite,
            config,
            rng,
            tie_breaker,
            local_creds,
            local_key,
            previous_local: None,
            remote_creds: None,
            remote_key: None,
            remote_lite: false,
            remote_end_of_candidates: false,
            locals: Vec::new(),
            remotes: Vec::new(),
            pairs: Vec::new(),
            checks: Vec::new(),
            triggered: VecDeque::new(),
            next_pace: None,
            last_check_at: None,
            queries: Vec::new(),
            relays: Vec::new(),
            gathering: GatheringState::New,
            state: IceTransportState::New,
            selected: None,
            route: None,
            first_valid_at: None,
            nominating: None,
            last_received: None,
            last_consent: None,
            next_consent: None,
            pending_permissions: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: IceStats::default(),
        }
    }

    // ----- public API -------------------------------------------------------

    /// Our ufrag and password, to put in the local description.
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds
    }

    /// Whether this agent is controlling now (role conflicts may switch it).
    pub fn is_controlling(&self) -> bool {
        self.controlling
    }

    /// Whether this agent runs as ICE-lite.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// The transport state.
    pub fn state(&self) -> IceTransportState {
        self.state
    }

    /// The gathering state.
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// Counters.
    pub fn stats(&self) -> &IceStats {
        &self.stats
    }

    /// Local candidates gathered so far.
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.locals.iter().filter(|l| self.signalled(l)).map(|l| &l.cand)
    }

    /// Remote candidates known so far (signalled and peer-reflexive).
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remotes
    }

    /// The selected pair (local, remote), if any.
    pub fn selected_pair(&self) -> Option<(&Candidate, &Candidate)> {
        self.selected.map(|p| {
            let pair = &self.pairs[p];
            (&self.locals[pair.local].cand, &self.remotes[pair.remote])
        })
    }

    /// The peer's credentials from its description. A new ufrag from the
    /// peer means the peer restarted ICE: its old candidates and our pairs
    /// are dropped, data keeps flowing on the old pair until a new one is
    /// selected.
    pub fn set_remote_credentials(&mut self, now: Instant, ufrag: &str, pwd: &str) {
        if let Some(old) = &self.remote_creds {
            if old.ufrag == ufrag && old.pwd == pwd {
                return;
            }
            self.reset_checks();
        }
        self.remote_creds = Some(Credentials { ufrag: ufrag.to_string(), pwd: pwd.to_string() });
        self.remote_key = Some(IntegrityKey::short_term(pwd));
        self.schedule_pace(now);
    }

    /// Sets the role before checks start: JSEP knows it only when the first
    /// description is applied (the offerer controls). A lite agent stays
    /// controlled; a remote lite peer keeps us controlling.
    pub fn set_controlling(&mut self, controlling: bool) {
        if self.config.lite || (self.remote_lite && !controlling) {
            return;
        }
        self.set_role(controlling);
    }

    /// Tells the agent the peer is ICE-lite: we must be controlling.
    pub fn set_remote_lite(&mut self, lite: bool) {
        self.remote_lite = lite;
        if lite && !self.config.lite && !self.controlling {
            self.set_role(true);
        }
    }

    /// Starts gathering on the given local sockets (one host candidate
    /// each, already bound by the driver, already filtered by interface and
    /// port range). Host candidates are emitted at once; server-reflexive
    /// and relayed ones follow as servers answer, never delaying checks.
    pub fn start_gathering(&mut self, now: Instant, hosts: &[SocketAddr]) {
        if self.gathering != GatheringState::New {
            return;
        }
        self.gathering = GatheringState::Gathering;
        let mut hosts: Vec<SocketAddr> = hosts.to_vec();
        // IPv6 before IPv4 (RFC 8421), each keeping the caller's order.
        hosts.sort_by_key(|h| h.is_ipv4());
        for (i, &host) in hosts.iter().enumerate() {
            let pref = 65535u16.saturating_sub(i as u16 * 256);
            let cand = Candidate::host(host, pref);
            let pairable = self.config.policy == TransportPolicy::All;
            self.push_local(now, Local { cand, base: host, relay: None, pairable });
            if self.config.lite {
                continue;
            }
            if self.config.policy == TransportPolicy::All {
                for server in self.config.stun_servers.clone() {
                    if server.is_ipv4() == host.is_ipv4() {
                        self.start_query(now, host, server);
                    }
                }
            }
            for server in self.config.turn_servers.clone() {
                if server.address.is_ipv4() != host.is_ipv4() {
                    continue;
                }
                // One UDP allocation per host socket; one stream allocation
                // per (server, transport), on the first host of its family
                // (the driver opens a single connection per stream server).
                let stream = server.transport.is_stream();
                if stream
                    && self
                        .relays
                        .iter()
                        .any(|r| r.client.server() == server.address && r.client.transport() == server.transport)
                {
                    continue;
                }
                let local = if stream { SocketAddr::new(host.ip(), 0) } else { host };
                let turn = TurnConfig {
                    server: server.address,
                    local,
                    transport: server.transport,
                    username: server.username.clone(),
                    password: server.password.clone(),
                    lifetime: Duration::from_secs(600),
                    retransmit: self.config.server_retransmit,
                    software: self.config.software.clone(),
                };
                let client = TurnClient::new(now, turn, self.rng.gen());
                self.relays.push(Relay { client, host: local, local: None, done: false });
                let r = self.relays.len() - 1;
                self.drain_relay(now, r);
            }
        }
        self.check_gathering_complete();
    }

    /// Adds a remote candidate (trickled or from the description).
    /// Non-UDP candidates are kept out of pairing for now.
    pub fn add_remote_candidate(&mut self, now: Instant, cand: Candidate) {
        if cand.protocol != Protocol::Udp || cand.component != 1 || cand.address.ip().is_unspecified() {
            return;
        }
        if let Some(i) = self.remotes.iter().position(|r| r.address == cand.address) {
            // A signalled candidate replaces a peer-reflexive guess.
            if self.remotes[i].kind == CandidateKind::PeerReflexive {
                self.remotes[i] = cand;
            }
            return;
        }
        if self.remotes.len() >= self.config.max_remote_candidates {
            self.stats.dropped_over_limit += 1;
            return;
        }
        self.remotes.push(cand);
        let ri = self.remotes.len() - 1;
        self.pair_remote(now, ri);
        self.update_state(now);
    }

    /// The peer signalled end-of-candidates.
    pub fn end_of_remote_candidates(&mut self, now: Instant) {
        self.remote_end_of_candidates = true;
        self.update_state(now);
    }

    /// ICE restart (RFC 8445 section 9): new local credentials, checks
    /// start over, and data keeps using the old pair until a new one is
    /// selected. Local candidates are signalled again.
    pub fn restart(&mut self, now: Instant) {
        let creds = self.new_credentials();
        self.restart_with(now, creds);
    }

    /// Fresh random credentials, not applied: JSEP writes them into an
    /// offer and applies them with [`restart_with`](Self::restart_with)
    /// only when that offer is set (a rollback leaves the agent alone).
    pub fn new_credentials(&mut self) -> Credentials {
        Credentials { ufrag: random_string(&mut self.rng, 8), pwd: random_string(&mut self.rng, 24) }
    }

    /// ICE restart with the given local credentials (see [`restart`](Self::restart)).
    pub fn restart_with(&mut self, now: Instant, creds: Credentials) {
        let key = IntegrityKey::short_term(&creds.pwd);
        let old = std::mem::replace(&mut self.local_creds, creds);
        let old_key = std::mem::replace(&mut self.local_key, key);
        self.previous_local = Some((old, old_key));
        self.remote_creds = None;
        self.remote_key = None;
        self.reset_checks();
        for l in &self.locals {
            if self.signalled(l) {
                self.events.push_back(IceEvent::LocalCandidate(l.cand.clone()));
            }
        }
        if self.gathering == GatheringState::Complete {
            self.events.push_back(IceEvent::GatheringComplete);
        }
        self.update_state(now);
    }

    /// Closes the agent: TURN allocations are released, nothing else is sent.
    pub fn close(&mut self, now: Instant) {
        if self.state == IceTransportState::Closed {
            return;
        }
        for r in 0..self.relays.len() {
            self.relays[r].client.close(now);
            self.drain_relay(now, r);
        }
        self.checks.clear();
        self.queries.clear();
        self.triggered.clear();
        self.next_pace = None;
        self.next_consent = None;
        self.route = None;
        self.set_state(IceTransportState::Closed);
    }

    /// Sends application data to the peer on the selected pair.
    pub fn send(&mut self, data: &[u8]) -> Result<Transmit, IceError> {
        match self.state {
            IceTransportState::Closed => return Err(IceError::Closed),
            IceTransportState::Failed => return Err(IceError::NotConnected(self.state)),
            _ => {}
        }
        let route = self.route.clone().ok_or(IceError::NotConnected(self.state))?;
        let t = self.transmit_via(route.base, route.relay, route.remote, data).ok_or(IceError::RelayNotReady)?;
        self.stats.bytes_sent += data.len() as u64;
        Ok(t)
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// When [`IceAgent::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == IceTransportState::Closed {
            return self.relays.iter().filter_map(|r| r.client.poll_timeout()).min();
        }
        let mut t: Option<Instant> = None;
        let mut consider = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        consider(self.next_pace);
        for c in &self.checks {
            consider(Some(c.timer.deadline()));
        }
        for q in &self.queries {
            consider(Some(q.timer.deadline()));
        }
        for r in &self.relays {
            consider(r.client.poll_timeout());
        }
        if self.route.is_some() {
            consider(self.next_consent);
            if matches!(self.state, IceTransportState::Connected | IceTransportState::Completed) {
                consider(self.last_received.map(|l| l + self.config.disconnected_timeout));
            }
            if self.state != IceTransportState::Failed {
                consider(self.consent_deadline());
            }
        }
        if self.controlling
            && self.nominating.is_none()
            && !self.pairs.iter().any(|p| p.nominated)
            && self.pairs.iter().any(|p| p.state == PairState::Succeeded)
        {
            consider(self.first_valid_at.map(|f| f + self.config.nomination_wait));
        }
        t
    }

    /// Advances timers: retransmissions, pacing of new checks, consent,
    /// gathering time-outs and TURN refreshes.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == IceTransportState::Closed {
            for r in 0..self.relays.len() {
                self.relays[r].client.handle_timeout(now);
                self.drain_relay(now, r);
            }
            return;
        }
        for r in 0..self.relays.len() {
            self.relays[r].client.handle_timeout(now);
            self.drain_relay(now, r);
        }
        self.query_timers(now);
        self.check_timers(now);
        self.maybe_nominate(now);
        if self.next_pace.is_some_and(|t| t <= now) {
            self.next_pace = None;
            self.pace(now);
        }
        if self.next_consent.is_some_and(|t| t <= now) {
            self.send_consent(now);
        }
        self.update_state(now);
    }

    /// A datagram arrived on the local socket `local` from `source`. Returns
    /// the application data in it, if any (borrowed from `data`, unwrapped
    /// from TURN framing when it came through a relay).
    pub fn handle_receive<'a>(
        &mut self,
        now: Instant,
        local: SocketAddr,
        source: SocketAddr,
        data: &'a [u8],
    ) -> Received<'a> {
        let udp_relay = self
            .relays
            .iter()
            .position(|r| r.client.transport() == TurnTransport::Udp && r.host == local && r.client.server() == source);
        if let Some(r) = udp_relay {
            return self.receive_relayed(now, r, data);
        }
        if self.state == IceTransportState::Closed {
            return Received::Dropped;
        }
        let Some(li) = self.locals.iter().position(|l| l.base == local && l.relay.is_none()) else {
            self.stats.dropped_unknown_source += 1;
            return Received::Dropped;
        };
        if stun::is_stun(data) {
            if let Some(q) = self.queries.iter().position(|q| q.base == local && q.server == source) {
                if let Ok(msg) = Message::decode(data) {
                    if msg.transaction_id == self.queries[q].tid {
                        self.on_query_response(now, q, &msg);
                        return Received::Handled;
                    }
                }
            }
        }
        let out = self.receive_on(now, li, source, data);
        self.update_state(now);
        out
    }

    /// The TCP or TLS connections to TURN servers the driver must open, as
    /// (server, transport), one each. Known once
    /// [`start_gathering`](Self::start_gathering) ran; the first requests
    /// are already queued as [`Transmit`]s with that `to` and `transport`
    /// (hold them until the connection is up). Feed what the server sends
    /// with [`handle_stream_frame`](Self::handle_stream_frame); report a
    /// connection that could not be opened or broke with
    /// [`turn_stream_failed`](Self::turn_stream_failed).
    pub fn turn_streams(&self) -> Vec<(SocketAddr, TurnTransport)> {
        self.relays
            .iter()
            .filter(|r| r.client.transport().is_stream())
            .map(|r| (r.client.server(), r.client.transport()))
            .collect()
    }

    /// One complete frame (a STUN message or a ChannelData message with its
    /// padding, as cut by [`stun::frame_len`]) arrived on the driver's
    /// `transport` connection to the TURN server `server`. Returns the
    /// application data in it, if any, like
    /// [`handle_receive`](Self::handle_receive).
    pub fn handle_stream_frame<'a>(
        &mut self,
        now: Instant,
        server: SocketAddr,
        transport: TurnTransport,
        frame: &'a [u8],
    ) -> Received<'a> {
        let Some(r) = self.stream_relay(server, transport) else {
            self.stats.dropped_unknown_source += 1;
            return Received::Dropped;
        };
        self.receive_relayed(now, r, frame)
    }

    /// The driver's `transport` connection to the TURN server `server` could
    /// not be opened or broke: its allocation is lost. Emits
    /// [`IceEvent::ServerError`] with code 701 (unless closing) and stops
    /// waiting for that relay, so gathering can complete.
    pub fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, reason: &str) {
        let Some(r) = self.stream_relay(server, transport) else {
            return;
        };
        self.relays[r].client.connection_failed(reason);
        self.drain_relay(now, r);
        self.update_state(now);
    }

    // ----- receiving ----------------------------------------------------------

    fn stream_relay(&self, server: SocketAddr, transport: TurnTransport) -> Option<usize> {
        if !transport.is_stream() {
            return None;
        }
        self.relays.iter().position(|r| r.client.server() == server && r.client.transport() == transport)
    }

    /// A datagram or stream frame from relay `r`'s TURN server.
    fn receive_relayed<'a>(&mut self, now: Instant, r: usize, data: &'a [u8]) -> Received<'a> {
        let inner = self.relays[r].client.handle_receive(now, data);
        self.drain_relay(now, r);
        if self.state == IceTransportState::Closed {
            return Received::Handled;
        }
        let out = match (inner, self.relays[r].local) {
            (Some((peer, payload)), Some(li)) => self.receive_on(now, li, peer, payload),
            (Some(_), None) => {
                self.stats.dropped_unknown_source += 1;
                Received::Dropped
            }
            (None, _) => Received::Handled,
        };
        self.update_state(now);
        out
    }

    fn receive_on<'a>(&mut self, now: Instant, li: usize, source: SocketAddr, data: &'a [u8]) -> Received<'a> {
        if !stun::is_stun(data) {
            // A first byte of 0 to 3 is STUN (RFC 7983), never DTLS or SRTP,
            // and an empty datagram is nothing: neither is application data.
            if data.first().copied().unwrap_or(0) < 4 {
                self.stats.dropped_malformed += 1;
                return Received::Dropped;
            }
            if self.is_known_path(li, source) {
                self.last_received = Some(now);
                self.stats.bytes_received += data.len() as u64;
                return Received::Data(data);
            }
            self.stats.dropped_unknown_source += 1;
            return Received::Dropped;
        }
        let msg = match Message::decode(data) {
            Ok(m) => m,
            Err(e) => {
                trace!(%source, error = %e, "dropping malformed STUN");
                self.stats.dropped_malformed += 1;
                return Received::Dropped;
            }
        };
        match (msg.class, msg.method) {
            (Class::Request, Method::BINDING) => self.on_request(now, li, source, &msg, data),
            (Class::Success | Class::Error, Method::BINDING) => self.on_response(now, source, &msg, data),
            (Class::Indication, Method::BINDING) => {
                // A keepalive (RFC 8445 section 11).
                if self.is_known_path(li, source) {
                    self.last_received = Some(now);
                }
                Received::Handled
            }
            _ => {
                self.stats.dropped_malformed += 1;
                Received::Dropped
            }
        }
    }

    fn is_known_path(&self, li: usize, source: SocketAddr) -> bool {
        if let Some(route) = &self.route {
            let l = &self.locals[li];
            if route.remote == source && route.base == l.base && route.relay == l.relay {
                return true;
            }
        }
        self.remotes.iter().any(|r| r.address == source)
    }

    fn on_request(
        &mut self,
        now: Instant,
        li: usize,
        source: SocketAddr,
        msg: &Message<'_>,
        raw: &[u8],
    ) -> Received<'static> {
        let Some(username) = msg.find(|a| match a {
            Attribute::Username(u) => Some(*u),
            _ => None,
        }) else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        let ours = username.split(':').next().unwrap_or("");
        let (key, current) = if ours == self.local_creds.ufrag {
            (self.local_key.clone(), true)
        } else if let Some((old, old_key)) = self.previous_local.as_ref().filter(|(c, _)| c.ufrag == ours) {
            let _ = old;
            (old_key.clone(), false)
        } else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        if msg.verify_integrity(raw, &key).is_err() {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        }
        // Only after authentication (RFC 8489 section 6.3): a 420 to anyone
        // would let strangers reflect traffic off us to spoofed addresses.
        if !msg.unknown_required().is_empty() {
            let resp = msg.error_response(420, "Unknown Attribute").to_bytes(Some(&key), true);
            self.send_on(li, source, &resp);
            return Received::Handled;
        }
        self.stats.checks_received += 1;
        self.last_received = Some(now);

        // Role conflict (RFC 8445 section 7.3.1.1).
        let theirs_controlling = msg.find(|a| match a {
            Attribute::IceControlling(t) => Some(*t),
            _ => None,
        });
        let theirs_controlled = msg.find(|a| match a {
            Attribute::IceControlled(t) => Some(*t),
            _ => None,
        });
        if current && !self.config.lite {
            if let (true, Some(t)) = (self.controlling, theirs_controlling) {
                if self.tie_breaker >= t {
                    let resp = msg.error_response(487, "Role Conflict").to_bytes(Some(&key), true);
                    self.send_on(li, source, &resp);
                    return Received::Handled;
                }
                self.set_role(false);
            } else if let (false, Some(t)) = (self.controlling, theirs_controlled) {
                if self.tie_breaker >= t {
                    self.set_role(true);
                } else {
                    let resp = msg.error_response(487, "Role Conflict").to_bytes(Some(&key), true);
                    self.send_on(li, source, &resp);
                    return Received::Handled;
                }
            }
        }

        let resp = msg.success_response().with(Attribute::XorMappedAddress(source)).to_bytes(Some(&key), true);
        self.send_on(li, source, &resp);
        if !current {
            return Received::Handled;
        }

        // Remote candidate: known, or peer-reflexive (RFC 8445 section 7.3.1.3).
        let ri = match self.remotes.iter().position(|r| r.address == source) {
            Some(ri) => ri,
            None => {
                if self.remotes.len() >= self.config.max_remote_candidates {
                    self.stats.dropped_over_limit += 1;
                    return Received::Handled;
                }
                let prio = msg
                    .find(|a| match a {
                        Attribute::Priority(p) => Some(*p),
                        _ => None,
                    })
                    .unwrap_or(0);
                debug!(%source, "learned a peer-reflexive remote candidate");
                self.remotes.push(Candidate::peer_reflexive(source, prio, source));
                self.remotes.len() - 1
            }
        };
        let li = self.pair_local(li);
        let Some(p) = self.find_or_add_pair(li, ri) else {
            return Received::Handled;
        };
        let use_candidate = msg.attributes.contains(&Attribute::UseCandidate);
        if use_candidate && !self.controlling {
            self.pairs[p].peer_nominated = true;
        }
        if self.config.lite {
            // A lite agent never checks: a check it answered makes the pair valid.
            self.pairs[p].state = PairState::Succeeded;
            if self.pairs[p].peer_nominated {
                self.select(now, p);
            }
            return Received::Handled;
        }
        match self.pairs[p].state {
            PairState::Succeeded => {
                if self.pairs[p].peer_nominated {
                    self.select(now, p);
                }
            }
            PairState::InProgress => {}
            PairState::Waiting | PairState::Failed => {
                self.pairs[p].state = PairState::Waiting;
                if !self.triggered.contains(&p) {
                    self.triggered.push_back(p);
                }
                self.schedule_pace(now);
            }
        }
        Received::Handled
    }

    fn on_response(&mut self, now: Instant, source: SocketAddr, msg: &Message<'_>, raw: &[u8]) -> Received<'static> {
        let Some(ci) = self.checks.iter().position(|c| c.tid == msg.transaction_id) else {
            self.stats.dropped_unknown_transaction += 1;
            return Received::Dropped;
        };
        let Some(key) = &self.remote_key else {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        };
        if msg.verify_integrity(raw, key).is_err() {
            self.stats.dropped_unauthenticated += 1;
            return Received::Dropped;
        }
        let check = self.checks.swap_remove(ci);
        let p = check.pair;
        self.last_received = Some(now);
        if msg.class == Class::Error {
            let code = msg.error_code().map(|(c, _)| c).unwrap_or(0);
            if code == 487 && !check.consent {
                self.set_role(!self.controlling);
                self.pairs[p].state = PairState::Waiting;
                self.pairs[p].nominate_next = check.nominate && self.controlling;
                self.triggered.push_back(p);
                self.schedule_pace(now);
            } else if !check.consent {
                debug!(code, "connectivity check answered with an error");
                self.fail_pair(p);
            }
            return Received::Handled;
        }
        let remote = self.remotes[self.pairs[p].remote].address;
        if source != remote {
            // Not symmetric (RFC 8445 section 7.2.5.2.1).
            if !check.consent {
                self.fail_pair(p);
            }
            return Received::Handled;
        }
        self.stats.responses_received += 1;
        let rtt = now.saturating_duration_since(check.sent_at);
        if check.consent || Some(p) == self.selected {
            self.last_consent = Some(now);
            self.stats.rtt = Some(rtt);
        }
        if check.consent {
            return Received::Handled;
        }
        if let Some(mapped) = msg.find(|a| match a {
            Attribute::XorMappedAddress(m) => Some(*m),
            _ => None,
        }) {
            self.learn_local_reflexive(p, mapped);
        }
        self.pairs[p].state = PairState::Succeeded;
        self.first_valid_at.get_or_insert(now);
        if check.nominate {
            self.pairs[p].nominated = true;
            if self.nominating == Some(p) {
                self.nominating = None;
            }
            self.select(now, p);
        } else if !self.controlling && self.pairs[p].peer_nominated {
            self.select(now, p);
        }
        if self.selected == Some(p) {
            self.stats.rtt = Some(rtt);
        }
        self.maybe_nominate(now);
        Received::Handled
    }

    fn learn_local_reflexive(&mut self, p: usize, mapped: SocketAddr) {
        let li = self.pairs[p].local;
        if self.locals[li].relay.is_some() || self.locals.iter().any(|l| l.cand.address == mapped) {
            return;
        }
        let base = self.locals[li].base;
        let prio = priority(CandidateKind::PeerReflexive, (self.locals[li].cand.priority >> 8) as u16, 1);
        self.locals.push(Local {
            cand: Candidate::peer_reflexive(mapped, prio, base),
            base,
            relay: None,
            pairable: false,
        });
    }

    fn on_query_response(&mut self, now: Instant, q: usize, msg: &Message<'_>) {
        let query = self.queries.swap_remove(q);
        if msg.class == Class::Success {
            let mapped = msg.find(|a| match a {
                Attribute::XorMappedAddress(m) | Attribute::MappedAddress(m) => Some(*m),
                _ => None,
            });
            if let Some(mapped) = mapped {
                self.add_server_reflexive(now, mapped, query.base, query.server);
            }
        } else {
            let (code, reason) = msg.error_code().unwrap_or((0, ""));
            self.events.push_back(IceEvent::ServerError {
                server: query.server,
                code,
                text: format!("STUN server {} answered the binding request with error {code} {reason}", query.server),
            });
        }
        self.check_gathering_complete();
    }

    fn add_server_reflexive(&mut self, now: Instant, mapped: SocketAddr, base: SocketAddr, server: SocketAddr) {
        if self.config.policy != TransportPolicy::All {
            return;
        }
        let existing = self.locals.iter().position(|l| l.cand.address == mapped);
        if existing.is_some_and(|i| self.locals[i].cand.kind != CandidateKind::PeerReflexive) {
            return;
        }
        let Some(host) = self.locals.iter().find(|l| l.base == base && l.cand.kind == CandidateKind::Host) else {
            return;
        };
        let pref = (host.cand.priority >> 8) as u16;
        let cand = Candidate::from_server(CandidateKind::ServerReflexive, mapped, base, server, pref);
        match existing {
            // A check taught us this address first; the server confirms it,
            // and now it is worth signalling.
            Some(i) => {
                self.locals[i].cand = cand.clone();
                self.events.push_back(IceEvent::LocalCandidate(cand));
            }
            None => self.push_local(now, Local { cand, base, relay: None, pairable: false }),
        }
    }

    // ----- gathering -----------------------------------------------------------

    fn signalled(&self, l: &Local) -> bool {
        match l.cand.kind {
            CandidateKind::PeerReflexive => false,
            CandidateKind::Relayed => true,
            _ => self.config.policy == TransportPolicy::All,
        }
    }

    fn push_local(&mut self, now: Instant, local: Local) {
        let signalled = self.signalled(&local);
        let cand = local.cand.clone();
        let pairable = local.pairable;
        self.locals.push(local);
        if signalled {
            self.events.push_back(IceEvent::LocalCandidate(cand));
        }
        if pairable {
            let li = self.locals.len() - 1;
            for ri in 0..self.remotes.len() {
                self.find_or_add_pair(li, ri);
            }
            self.schedule_pace(now);
        }
    }

    fn start_query(&mut self, now: Instant, base: SocketAddr, server: SocketAddr) {
        let tid = TransactionId(self.rng.gen());
        let mut msg = Message::new(Class::Request, Method::BINDING, tid);
        if let Some(s) = &self.config.software {
            msg = msg.with(Attribute::Software(s));
        }
        let wire = msg.to_bytes(None, true);
        self.transmits.push_back(Transmit {
            from: base,
            to: server,
            data: wire.clone(),
            transport: TurnTransport::Udp,
        });
        let timer = RetransmitTimer::start(now, self.config.server_retransmit);
        self.queries.push(ServerQuery { tid, server, base, timer, wire });
    }

    fn query_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.queries.len() {
            match self.queries[i].timer.on_timeout(now) {
                TimerAction::Wait => i += 1,
                TimerAction::Retransmit => {
                    let q = &self.queries[i];
                    self.transmits.push_back(Transmit {
                        from: q.base,
                        to: q.server,
                        data: q.wire.clone(),
                        transport: TurnTransport::Udp,
                    });
                    i += 1;
                }
                TimerAction::TimedOut => {
                    let q = self.queries.swap_remove(i);
                    self.events.push_back(IceEvent::ServerError {
                        server: q.server,
                        code: 701,
                        text: format!("STUN server {} did not answer; check the address or remove it", q.server),
                    });
                    self.check_gathering_complete();
                }
            }
        }
    }

    fn drain_relay(&mut self, now: Instant, r: usize) {
        while let Some(t) = self.relays[r].client.poll_transmit() {
            self.transmits.push_back(t);
        }
        while let Some(ev) = self.relays[r].client.poll_event() {
            match ev {
                TurnEvent::Allocated { relayed, mapped } => {
                    let host = self.relays[r].host;
                    let server = self.relays[r].client.server();
                    let stream = self.relays[r].client.transport().is_stream();
                    let pref = self
                        .locals
                        .iter()
                        .find(|l| {
                            l.cand.kind == CandidateKind::Host
                                && if stream { l.base.ip() == host.ip() } else { l.base == host }
                        })
                        .map(|l| (l.cand.priority >> 8) as u16)
                        .unwrap_or(65535);
                    self.relays[r].done = true;
                    if self.state != IceTransportState::Closed {
                        let related = mapped.unwrap_or(host);
                        let cand = Candidate::from_server(CandidateKind::Relayed, relayed, related, server, pref);
                        self.relays[r].local = Some(self.locals.len());
                        self.push_local(now, Local { cand, base: relayed, relay: Some(r), pairable: true });
                        // A TCP mapping says nothing about the UDP socket.
                        if let (Some(m), false) = (mapped, stream) {
                            self.add_server_reflexive(now, m, host, server);
                        }
                    }
                    self.check_gathering_complete();
                }
                TurnEvent::Failed(e) => {
                    let server = self.relays[r].client.server();
                    if !self.relays[r].done {
                        self.relays[r].done = true;
                        self.check_gathering_complete();
                    }
                    self.events.push_back(IceEvent::ServerError {
                        server,
                        code: turn_error_code(&e),
                        text: e.to_string(),
                    });
                }
                TurnEvent::PermissionCreated(ip) => {
                    let li = self.relays[r].local;
                    let mut any = false;
                    for p in &mut self.pairs {
                        if Some(p.local) == li && self.remotes[p.remote].address.ip() == ip {
                            p.awaiting_permission = false;
                            any = true;
                        }
                    }
                    if any {
                        self.schedule_pace(now);
                    }
                }
                TurnEvent::PermissionFailed { peer, .. } => {
                    // The server refuses this peer: its relayed pairs can never work.
                    let li = self.relays[r].local;
                    for i in 0..self.pairs.len() {
                        let p = &self.pairs[i];
                        if Some(p.local) == li && self.remotes[p.remote].address.ip() == peer {
                            self.fail_pair(i);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn check_gathering_complete(&mut self) {
        if self.gathering == GatheringState::Gathering && self.queries.is_empty() && self.relays.iter().all(|r| r.done)
        {
            self.gathering = GatheringState::Complete;
            self.events.push_back(IceEvent::GatheringComplete);
        }
    }

    // ----- pairs and checks -----------------------------------------------------

    /// Reflexive locals share the pairs of their base's host candidate.
    fn pair_local(&self, li: usize) -> usize {
        if self.locals[li].pairable || self.locals[li].relay.is_some() {
            return li;
        }
        let base = self.locals[li].base;
        self.locals.iter().position(|l| l.base == base && l.cand.kind == CandidateKind::Host).unwrap_or(li)
    }

    fn pair_remote(&mut self, now: Instant, ri: usize) {
        for li in 0..self.locals.len() {
            if self.locals[li].pairable {
                self.find_or_add_pair(li, ri);
            }
        }
        self.schedule_pace(now);
    }

    fn find_or_add_pair(&mut self, li: usize, ri: usize) -> Option<usize> {
        if let Some(p) = self.pairs.iter().position(|p| p.local == li && p.remote == ri) {
            return Some(p);
        }
        let (l, r) = (&self.locals[li], &self.remotes[ri]);
        if l.cand.address.is_ipv4() != r.address.is_ipv4() {
            return None;
        }
        if self.pairs.len() >= self.config.max_pairs {
            self.stats.dropped_over_limit += 1;
            return None;
        }
        let priority = self.pair_priority_of(l.cand.priority, r.priority);
        let awaiting_permission = l.relay.is_some();
        self.pairs.push(Pair {
            local: li,
            remote: ri,
            priority,
            state: PairState::Waiting,
            nominated: false,
            peer_nominated: false,
            nominate_next: false,
            awaiting_permission,
        });
        if let Some(rl) = l.relay {
            let ip = r.address.ip();
            self.request_permission(rl, ip);
        }
        Some(self.pairs.len() - 1)
    }

    fn request_permission(&mut self, r: usize, ip: IpAddr) {
        // Time only matters to the client for its own timers; the agent
        // passes the latest instant it knows through `drain_relay` calls.
        if self.relays[r].client.has_permission(ip) {
            for p in &mut self.pairs {
                if self.locals[p.local].relay == Some(r) && self.remotes[p.remote].address.ip() == ip {
                    p.awaiting_permission = false;
                }
            }
        } else {
            self.pending_permissions.push((r, ip));
        }
    }

    fn pair_priority_of(&self, local: u32, remote: u32) -> u64 {
        if self.controlling {
            pair_priority(local, remote)
        } else {
            pair_priority(remote, local)
        }
    }

    fn set_role(&mut self, controlling: bool) {
        if self.controlling == controlling {
            return;
        }
        debug!(controlling, "ICE role switched");
        self.controlling = controlling;
        for i in 0..self.pairs.len() {
            let (l, r) = (self.pairs[i].local, self.pairs[i].remote);
            self.pairs[i].priority = self.pair_priority_of(self.locals[l].cand.priority, self.remotes[r].priority);
        }
        self.events.push_back(IceEvent::RoleChanged(controlling));
    }

    fn fail_pair(&mut self, p: usize) {
        self.pairs[p].state = PairState::Failed;
        if self.nominating == Some(p) {
            self.nominating = None;
        }
    }

    fn schedule_pace(&mut self, now: Instant) {
        if self.next_pace.is_none() && self.remote_key.is_some() && !self.config.lite {
            let at = self.last_check_at.map_or(now, |t| (t + self.config.ta).max(now));
            self.next_pace = Some(at);
        }
    }

    /// Sends one check: a triggered one first, else the best waiting pair.
    fn pace(&mut self, now: Instant) {
        if self.remote_key.is_none() || self.config.lite {
            return;
        }
        self.flush_permissions(now);
        let next = loop {
            match self.triggered.pop_front() {
                Some(p) if self.pairs[p].awaiting_permission => continue,
                Some(p) if self.pairs[p].state == PairState::Waiting || self.pairs[p].nominate_next => break Some(p),
                Some(_) => continue,
                None => {
                    break self
                        .pairs
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.state == PairState::Waiting && !p.awaiting_permission)
                        .max_by_key(|(_, p)| p.priority)
                        .map(|(i, _)| i)
                }
            }
        };
        let Some(p) = next else {
            return;
        };
        let nominate = std::mem::take(&mut self.pairs[p].nominate_next);
        self.send_check(now, p, nominate, false);
        self.last_check_at = Some(now);
        if !self.triggered.is_empty()
            || self.pairs.iter().any(|p| p.state == PairState::Waiting && !p.awaiting_permission)
        {
            self.next_pace = Some(now + self.config.ta);
        }
    }

    fn send_check(&mut self, now: Instant, p: usize, nominate: bool, consent: bool) {
        let (Some(remote), Some(key)) = (&self.remote_creds, &self.remote_key) else {
            return;
        };
        let pair = &self.pairs[p];
        let local = &self.locals[pair.local];
        let remote_addr = self.remotes[pair.remote].address;
        let username = format!("{}:{}", remote.ufrag, self.local_creds.ufrag);
        let prflx_priority = priority(CandidateKind::PeerReflexive, (local.cand.priority >> 8) as u16, 1);
        let tid = TransactionId(self.rng.gen());
        let mut msg = Message::new(Class::Request, Method::BINDING, tid)
            .with(Attribute::Username(&username))
            .with(Attribute::Priority(prflx_priority));
        msg = msg.with(if self.controlling {
            Attribute::IceControlling(self.tie_breaker)
        } else {
            Attribute::IceControlled(self.tie_breaker)
        });
        if nominate {
            msg = msg.with(Attribute::UseCandidate);
        }
        let wire = msg.to_bytes(Some(key), true);
        let (base, relay) = (local.base, local.relay);
        let config = if consent {
            RetransmitConfig {
                initial_rto: self.config.disconnected_timeout,
                max_sends: 1,
                last_wait_factor: 1,
                max_interval: None,
            }
        } else {
            self.config.check_retransmit
        };
        let timer = RetransmitTimer::start(now, config);
        if let Some(t) = self.transmit_via(base, relay, remote_addr, &wire) {
            self.transmits.push_back(t);
        }
        if !consent {
            self.pairs[p].state = PairState::InProgress;
            self.stats.checks_sent += 1;
        }
        trace!(pair = p, nominate, consent, to = %remote_addr, "check sent");
        self.checks.push(Check { tid, pair: p, timer, wire, nominate, consent, sent_at: now });
    }

    fn check_timers(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.checks.len() {
            match self.checks[i].timer.on_timeout(now) {
                TimerAction::Wait => i += 1,
                TimerAction::Retransmit => {
                    let c = &self.checks[i];
                    let pair = &self.pairs[c.pair];
                    let local = &self.locals[pair.local];
                    let to = self.remotes[pair.remote].address;
                    let (base, relay, wire) = (local.base, local.relay, c.wire.clone());
                    if let Some(t) = self.transmit_via(base, relay, to, &wire) {
                        self.transmits.push_back(t);
                    }
                    self.stats.check_retransmits += 1;
                    i += 1;
                }
                TimerAction::TimedOut => {
                    let c = self.checks.swap_remove(i);
                    if !c.consent && self.pairs[c.pair].state == PairState::InProgress {
                        self.fail_pair(c.pair);
                    }
                }
            }
        }
    }

    /// Regular nomination by the controlling agent (RFC 8445 section 8.1.1):
    /// the best valid pair once no better pair can still succeed, or after
    /// `nomination_wait`.
    fn maybe_nominate(&mut self, now: Instant) {
        if !self.controlling || self.config.lite || self.nominating.is_some() || self.pairs.iter().any(|p| p.nominated)
        {
            return;
        }
        let Some(best) = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i)
        else {
            return;
        };
        let best_prio = self.pairs[best].priority;
        let better_pending = self
            .pairs
            .iter()
            .any(|p| p.priority > best_prio && matches!(p.state, PairState::Waiting | PairState::InProgress));
        let waited = self.first_valid_at.is_some_and(|f| now >= f + self.config.nomination_wait);
        if better_pending && !waited {
            return;
        }
        debug!(pair = best, "nominating");
        self.nominating = Some(best);
        self.pairs[best].nominate_next = true;
        self.triggered.push_front(best);
        // The nominating check goes out at once rather than a pacing
        // interval later: it is one request, and set-up time waits on it.
        if !self.config.lite && self.remote_key.is_some() {
            self.next_pace = Some(self.next_pace.map_or(now, |t| t.min(now)));
        }
    }

    fn select(&mut self, now: Instant, p: usize) {
        if self.selected == Some(p) {
            return;
        }
        if let Some(cur) = self.selected {
            if self.pairs[cur].priority > self.pairs[p].priority {
                return;
            }
        }
        self.selected = Some(p);
        let pair = &self.pairs[p];
        let local = &self.locals[pair.local];
        let remote = &self.remotes[pair.remote];
        self.route = Some(Route { base: local.base, remote: remote.address, relay: local.relay });
        debug!(local = %local.cand.address, remote = %remote.address, "selected pair");
        self.events.push_back(IceEvent::SelectedPairChanged { local: local.cand.clone(), remote: remote.clone() });
        if let Some(r) = local.relay {
            let peer = remote.address;
            self.relays[r].client.bind_channel(now, peer);
            self.drain_relay(now, r);
        }
        self.previous_local = None;
        self.last_consent = Some(now);
        self.last_received = Some(now);
        if !self.config.lite {
            self.next_consent = Some(now + self.consent_jitter());
        }
        self.update_state(now);
    }

    fn consent_jitter(&mut self) -> Duration {
        self.config.consent_interval.mul_f64(self.rng.gen_range(0.8..1.2))
    }

    fn send_consent(&mut self, now: Instant) {
        self.next_consent = Some(now + self.consent_jitter());
        if let Some(p) = self.selected {
            if self.consent_deadline().is_some_and(|d| d > now) {
                self.send_check(now, p, false, true);
            }
        }
    }

    fn consent_deadline(&self) -> Option<Instant> {
        let last = if self.config.lite { self.last_received } else { self.last_consent };
        last.map(|l| l + self.config.consent_timeout)
    }

    fn reset_checks(&mut self) {
        self.remotes.clear();
        self.pairs.clear();
        self.checks.clear();
        self.triggered.clear();
        self.selected = None;
        self.nominating = None;
        self.first_valid_at = None;
        self.next_pace = None;
        self.remote_end_of_candidates = false;
        self.pending_permissions.clear();
    }

    // ----- sending ----------------------------------------------------------------

    fn transmit_via(
        &mut self,
        base: SocketAddr,
        relay: Option<usize>,
        to: SocketAddr,
        data: &[u8],
    ) -> Option<Transmit> {
        match relay {
            Some(r) => self.relays[r].client.send_to(to, data),
            None => Some(Transmit { from: base, to, data: data.to_vec(), transport: TurnTransport::Udp }),
        }
    }

    fn send_on(&mut self, li: usize, to: SocketAddr, data: &[u8]) {
        let (base, relay) = (self.locals[li].base, self.locals[li].relay);
        if let Some(t) = self.transmit_via(base, relay, to, data) {
            self.transmits.push_back(t);
        }
    }

    fn flush_permissions(&mut self, now: Instant) {
        for (r, ip) in std::mem::take(&mut self.pending_permissions) {
            self.relays[r].client.create_permission(now, ip);
            self.drain_relay(now, r);
        }
    }

    // ----- state ----------------------------------------------------------------------

    fn set_state(&mut self, state: IceTransportState) {
        if self.state != state {
            debug!(?state, "ICE state");
            self.state = state;
            self.events.push_back(IceEvent::StateChanged(state));
        }
    }

    fn update_state(&mut self, now: Instant) {
        use IceTransportState as S;
        if matches!(self.state, S::Closed) {
            return;
        }
        if !self.pending_permissions.is_empty() {
            self.flush_permissions(now);
        }
        let state = if self.route.is_some() {
            if self.consent_deadline().is_some_and(|d| now >= d) {
                // RFC 7675: consent expired, stop sending.
                self.route = None;
                self.selected = None;
                self.next_consent = None;
                S::Failed
            } else if self.last_received.is_some_and(|l| now >= l + self.config.disconnected_timeout) {
                S::Disconnected
            } else if self.selected.is_some()
                && self.remote_end_of_candidates
                && self.gathering == GatheringState::Complete
                && !self.pairs.iter().any(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
            {
                S::Completed
            } else {
                S::Connected
            }
        } else if self.state == S::Failed {
            S::Failed
        } else if self.pairs.is_empty() {
            if self.remote_end_of_candidates && self.remote_key.is_some() && self.gathering == GatheringState::Complete
            {
                S::Failed
            } else if self.state == S::New {
                S::New
            } else {
                S::Checking
            }
        } else if self.pairs.iter().all(|p| p.state == PairState::Failed)
            && self.remote_end_of_candidates
            && self.gathering == GatheringState::Complete
        {
            S::Failed
        } else {
            S::Checking
        };
        self.set_state(state);
    }
}

/// The W3C `icecandidateerror` code of a TURN failure: the STUN error code,
/// or 701 when the server could not be reached.
fn turn_error_code(e: &TurnError) -> u16 {
    match e {
        TurnError::Unauthorized { .. } => 401,
        TurnError::ServerError { code, .. } => *code,
        TurnError::AllocationMismatch { .. } => 437,
        _ => 701,
    }
}
