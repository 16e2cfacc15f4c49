//! The one driver: a tokio task that owns a connection's UDP sockets
//! (batched with GSO/GRO), its TCP/TLS connections to TURN servers and its
//! timer, and runs a sans-IO endpoint on them. Both faces use it: the W3C
//! [`RTCPeerConnection`](crate::RTCPeerConnection) (over
//! [`peer::PeerConnection`]) and the ORTC transports (over
//! [`peer::Transport`]); they differ only in their commands and in how
//! they hand events to the application.
//!
//! Nothing an application does can stop the socket: events go out through
//! queues that are bounded by the protocols (SCTP's receive window with
//! pull-style delivery) or that drop when full, never by waiting.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ice::{Transmit, TurnTransport};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::net::{bind_udp, InterfaceFilter};
use crate::turn_stream::{self, StreamMsg};
use crate::udp::Udp;

/// Datagrams read from a socket in one go before output is flushed.
const RECV_BATCH: usize = 64;
/// Due timers handled one after another before the task sleeps (and so
/// reads the socket and the commands) anyway.
const MAX_DUE_IN_A_ROW: u32 = 16;
/// Commands taken in one go before output is flushed.
const COMMAND_BATCH: usize = 256;
/// How long a closing endpoint may take to say goodbye (close_notify,
/// TURN deallocation) before the task ends anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The sans-IO surface the driver feeds: time, datagrams and TURN stream
/// frames in; datagrams and the next timeout out. The peer connection and
/// the bare transport have it under the same names.
pub(crate) trait Core {
    fn handle_receive(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, data: &[u8]);
    fn handle_stream_frame(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, frame: &[u8]);
    fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, transport: TurnTransport, reason: &str);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_timeout(&self) -> Option<Instant>;
    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit>;
}

macro_rules! core_for {
    ($($t:ty),*) => {$(
        impl Core for $t {
            fn handle_receive(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, data: &[u8]) {
                <$t>::handle_receive(self, now, local, from, data)
            }
            fn handle_stream_frame(&mut self, now: Instant, server: SocketAddr, t: TurnTransport, frame: &[u8]) {
                <$t>::handle_stream_frame(self, now, server, t, frame)
            }
            fn turn_stream_failed(&mut self, now: Instant, server: SocketAddr, t: TurnTransport, reason: &str) {
                <$t>::turn_stream_failed(self, now, server, t, reason)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$t>::handle_timeout(self, now)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                <$t>::poll_timeout(self)
            }
            fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
                <$t>::poll_transmit(self, now)
            }
        }
    )*};
}
core_for!(peer::PeerConnection, peer::Transport);

/// What the driver runs: a [`Core`] and the face that talks to the
/// application (commands in, events out).
pub(crate) trait Endpoint: Send + 'static {
    /// What the handles ask of it.
    type Command: Send + 'static;
    /// Its sans-IO core.
    type Core: Core;
    fn core(&mut self) -> &mut Self::Core;
    fn core_ref(&self) -> &Self::Core;
    /// A command; `Err(done)` asks to close (answer `done` once closed).
    fn command(&mut self, now: Instant, c: Self::Command) -> Result<(), Option<oneshot::Sender<()>>>;
    /// Close: say goodbye to the peer.
    fn close(&mut self, now: Instant);
    /// Hands what happened to the application; called after every input.
    fn deliver(&mut self, now: Instant);
    /// The task is ending.
    fn finished(&mut self) {}
}

/// Bound UDP sockets for a new connection.
pub(crate) struct Sockets {
    pub udp: Udp,
    pub addrs: Vec<SocketAddr>,
}

impl Sockets {
    /// One UDP socket per address the filter allows, in the port range.
    pub(crate) fn bind(interfaces: &InterfaceFilter, port_range: Option<(u16, u16)>) -> io::Result<Self> {
        let mut sockets = Vec::new();
        for ip in interfaces.addresses()? {
            let s = bind_udp(ip, port_range)?;
            s.set_nonblocking(true)?;
            sockets.push(UdpSocket::from_std(s)?);
        }
        if sockets.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no local interface passed the interface filter; allow one (or loopback) to get host candidates",
            ));
        }
        let udp = Udp::new(sockets)?;
        let addrs = udp.addrs().to_vec();
        Ok(Sockets { udp, addrs })
    }
}

/// Starts the task running `endpoint` on `udp`, with TCP/TLS connections to
/// `turn` servers. `wake` lets handles make the task deliver again (when
/// the application consumed data).
pub(crate) fn spawn<E: Endpoint>(
    endpoint: E,
    udp: Udp,
    turn: Vec<(SocketAddr, TurnTransport)>,
    tls: Option<turn_stream::TlsSettings>,
    commands: mpsc::Receiver<E::Command>,
    wake: Arc<Notify>,
    span: tracing::Span,
) {
    use tracing::Instrument;
    let (streams, frames) = turn_stream::spawn_all(turn, tls, &span);
    let task = Task { endpoint, udp, streams, out: Vec::new() };
    tokio::spawn(task.run(commands, frames, wake).instrument(span));
}

struct Task<E> {
    endpoint: E,
    udp: Udp,
    streams: Vec<turn_stream::Conn>,
    out: Vec<Transmit>,
}

impl<E: Endpoint> Task<E> {
    fn flush(&mut self, now: Instant) {
        self.endpoint.deliver(now);
        while let Some(t) = self.endpoint.core().poll_transmit(now) {
            self.out.push(t);
        }
        self.udp.send_all(&mut self.out, &self.streams);
    }

    async fn run(
        mut self,
        mut commands: mpsc::Receiver<E::Command>,
        mut frames: mpsc::Receiver<(usize, StreamMsg)>,
        wake: Arc<Notify>,
    ) {
        let mut buf = vec![0u8; 65536];
        let mut closing: Option<(Option<oneshot::Sender<()>>, Instant)> = None;
        let mut due_in_a_row = 0;
        loop {
            self.flush(Instant::now());
            if let Some((_, deadline)) = &closing {
                if self.endpoint.core_ref().poll_timeout().is_none() || Instant::now() >= *deadline {
                    break;
                }
            }
            let timeout = self.endpoint.core_ref().poll_timeout();
            // A timer already due runs now: tokio's timer wheel rounds a
            // sleep up to its next millisecond tick, which cost set-up a
            // millisecond per timer-driven step (a first check, a flight).
            // Bounded, so that a core that stays due cannot starve the socket.
            if timeout.is_some_and(|t| t <= Instant::now()) && due_in_a_row < MAX_DUE_IN_A_ROW {
                due_in_a_row += 1;
                self.endpoint.core().handle_timeout(Instant::now());
                continue;
            }
            due_in_a_row = 0;
            let sleep = async {
                match timeout {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            let udp = &self.udp;
            let recv = poll_fn(|cx| udp.poll_readable(cx));
            tokio::select! {
                i = recv => {
                    // Take what waits on this socket (GRO runs included)
                    // before flushing: one flush, and fewer acknowledgements,
                    // per burst.
                    let now = Instant::now();
                    let local = self.udp.addrs()[i];
                    for _ in 0..RECV_BATCH {
                        let Some(r) = self.udp.recv(i, &mut buf) else { break };
                        for datagram in buf[..r.len].chunks(r.stride) {
                            self.endpoint.core().handle_receive(now, local, r.from, datagram);
                        }
                    }
                }
                Some((i, msg)) = frames.recv() => {
                    let now = Instant::now();
                    let (server, transport) = (self.streams[i].server, self.streams[i].transport);
                    match msg {
                        StreamMsg::Frame(f) => self.endpoint.core().handle_stream_frame(now, server, transport, &f),
                        StreamMsg::Failed(reason) => {
                            self.streams[i].writes = None;
                            self.endpoint.core().turn_stream_failed(now, server, transport, &reason);
                        }
                    }
                }
                _ = wake.notified() => {}
                _ = sleep => self.endpoint.core().handle_timeout(Instant::now()),
                cmd = commands.recv(), if closing.is_none() => {
                    let now = Instant::now();
                    // Take what else is queued (up to a batch) before
                    // flushing, so that back-to-back sends share packets.
                    let mut next = cmd;
                    let mut taken = 0;
                    loop {
                        let r = match next.take() {
                            None => Err(None),
                            Some(c) => self.endpoint.command(now, c),
                        };
                        if let Err(done) = r {
                            self.endpoint.close(now);
                            closing = Some((done, now + CLOSE_GRACE));
                            break;
                        }
                        taken += 1;
                        if taken == COMMAND_BATCH {
                            break;
                        }
                        match commands.try_recv() {
                            Ok(c) => next = Some(c),
                            Err(_) => break,
                        }
                    }
                }
            }
        }
        self.flush(Instant::now());
        self.endpoint.finished();
        if let Some((Some(done), _)) = closing {
            let _ = done.send(());
        }
    }
}
