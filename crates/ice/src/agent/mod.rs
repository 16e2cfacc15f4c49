//! The ICE agent state machine (RFC 8445, RFC 8838, RFC 7675).
//!
//! [`IceAgent`] and its public API live here; its work is split by concern:
//! - `receive`: datagrams and stream frames in, requests answered, check
//!   responses applied;
//! - `gathering`: host, server-reflexive and relayed candidates, STUN
//!   server queries, TURN allocations;
//! - `checklist`: pairs, pacing, connectivity checks, nomination, selection;
//! - `consent`: consent freshness (RFC 7675) and the transport state.

mod checklist;
mod consent;
mod gathering;
mod receive;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stun::{IntegrityKey, Message, RetransmitTimer, TransactionId};
use tracing::debug;

use crate::candidate::{Candidate, CandidateKind, Protocol};
use crate::config::{IceConfig, TransportPolicy, TurnTransport};
use crate::turn::{TurnClient, TurnConfig};
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

impl Pair {
    /// A pair not checked yet; one through a relay first needs a permission.
    fn new(local: usize, remote: usize, priority: u64, awaiting_permission: bool) -> Self {
        Pair {
            local,
            remote,
            priority,
            state: PairState::Waiting,
            nominated: false,
            peer_nominated: false,
            nominate_next: false,
            awaiting_permission,
        }
    }
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
        let Some(ri) = self.admit_remote(cand) else {
            return;
        };
        self.pair_remote(now, ri);
        self.update_state(now);
    }

    /// Stores a new remote candidate and returns its index. Below
    /// [`IceConfig::max_remote_candidates`] it is appended. At the cap it
    /// takes the place of a peer-reflexive candidate whose every pair has
    /// failed (RFC 8445 lets an agent drop those), so that a peer cannot fill
    /// the table for good with addresses that never answer; its pairs start
    /// over as new. `None` when nothing can make room (counted in
    /// `dropped_over_limit`). The cost is one pass over the pairs.
    fn admit_remote(&mut self, cand: Candidate) -> Option<usize> {
        if self.remotes.len() < self.config.max_remote_candidates {
            self.remotes.push(cand);
            return Some(self.remotes.len() - 1);
        }
        let mut live = vec![false; self.remotes.len()];
        for p in &self.pairs {
            if p.state != PairState::Failed {
                live[p.remote] = true;
            }
        }
        if let Some(p) = self.selected {
            live[self.pairs[p].remote] = true;
        }
        let Some(ri) =
            (0..self.remotes.len()).find(|&ri| !live[ri] && self.remotes[ri].kind == CandidateKind::PeerReflexive)
        else {
            self.stats.dropped_over_limit += 1;
            return None;
        };
        debug!(old = %self.remotes[ri].address, new = %cand.address, "pruned a failed peer-reflexive candidate");
        self.remotes[ri] = cand;
        self.stats.pruned_peer_reflexive += 1;
        for p in 0..self.pairs.len() {
            if self.pairs[p].remote != ri {
                continue;
            }
            let li = self.pairs[p].local;
            let priority = self.pair_priority_of(self.locals[li].cand.priority, self.remotes[ri].priority);
            let relay = self.locals[li].relay;
            self.pairs[p] = Pair::new(li, ri, priority, relay.is_some());
            if let Some(rl) = relay {
                let ip = self.remotes[ri].address.ip();
                self.request_permission(rl, ip);
            }
        }
        Some(ri)
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
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
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
}
