//! The UDP sockets of a peer connection, with batched I/O: runs of
//! same-size datagrams to one destination leave in one `sendmsg` with UDP
//! GSO, and received runs arrive coalesced by GRO (quinn-udp does the
//! platform work and falls back to one datagram per call where the kernel
//! cannot).

use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use quinn_udp::{RecvMeta, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tracing::debug;

use crate::turn_stream;

/// Largest GSO batch, bytes (the kernel's limit is 64 KiB).
const MAX_BATCH_BYTES: usize = 60_000;

/// One datagram (or a GRO run of them) read from a socket.
pub(crate) struct Received {
    /// The sender.
    pub from: SocketAddr,
    /// Bytes in the buffer.
    pub len: usize,
    /// Size of each datagram in the buffer (the last may be shorter).
    pub stride: usize,
}

pub(crate) struct Udp {
    sockets: Vec<UdpSocket>,
    states: Vec<UdpSocketState>,
    addrs: Vec<SocketAddr>,
    /// Runs being assembled for GSO.
    scratch: Vec<u8>,
}

impl Udp {
    pub(crate) fn new(sockets: Vec<UdpSocket>) -> io::Result<Self> {
        let states = sockets.iter().map(|s| UdpSocketState::new(UdpSockRef::from(s))).collect::<io::Result<_>>()?;
        let addrs = sockets.iter().map(|s| s.local_addr()).collect::<io::Result<_>>()?;
        Ok(Udp { sockets, states, addrs, scratch: Vec::new() })
    }

    pub(crate) fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Ready when some socket may have data; its index.
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<usize> {
        for (i, s) in self.sockets.iter().enumerate() {
            if s.poll_recv_ready(cx).is_ready() {
                return Poll::Ready(i);
            }
        }
        Poll::Pending
    }

    /// One read from socket `i` into `buf` (big enough for a GRO run, 64 KiB);
    /// `None` when nothing is waiting.
    pub(crate) fn recv(&self, i: usize, buf: &mut [u8]) -> Option<Received> {
        let (socket, state) = (&self.sockets[i], &self.states[i]);
        let mut meta = [RecvMeta::default()];
        let r = socket.try_io(Interest::READABLE, || {
            state.recv(UdpSockRef::from(socket), &mut [IoSliceMut::new(buf)], &mut meta)
        });
        match r {
            Ok(n) if n > 0 => {
                let m = meta[0];
                Some(Received { from: m.addr, len: m.len, stride: m.stride.max(1) })
            }
            Ok(_) => None,
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    debug!(error = %e, "receive failed");
                }
                None
            }
        }
    }

    /// Sends every transmit: UDP ones in GSO runs, TURN-over-TCP/TLS ones to
    /// their connection. Datagrams the kernel cannot take now are dropped,
    /// as the network would; the protocols recover.
    pub(crate) fn send_all(&mut self, transmits: &mut Vec<ice::Transmit>, conns: &[turn_stream::Conn]) {
        let mut i = 0;
        while i < transmits.len() {
            if transmits[i].transport.is_stream() {
                let t = &mut transmits[i];
                let t =
                    ice::Transmit { from: t.from, to: t.to, data: std::mem::take(&mut t.data), transport: t.transport };
                turn_stream::dispatch(t, &self.sockets, &self.addrs, conns);
                i += 1;
                continue;
            }
            let t = &transmits[i];
            let Some(s) = self.addrs.iter().position(|a| *a == t.from) else {
                i += 1;
                continue;
            };
            // The run: same route, same size, the last one may be shorter.
            let segment = t.data.len();
            let max_segments = self.states[s].max_gso_segments().max(1);
            let mut end = i + 1;
            let mut bytes = segment;
            while end < transmits.len() && end - i < max_segments {
                let n = &transmits[end];
                if n.transport.is_stream() || n.from != t.from || n.to != t.to || n.data.len() > segment {
                    break;
                }
                if bytes + n.data.len() > MAX_BATCH_BYTES {
                    break;
                }
                bytes += n.data.len();
                end += 1;
                if n.data.len() < segment {
                    break;
                }
            }
            let contents: &[u8] = if end - i == 1 {
                &transmits[i].data
            } else {
                self.scratch.clear();
                for t in &transmits[i..end] {
                    self.scratch.extend_from_slice(&t.data);
                }
                &self.scratch
            };
            let q = quinn_udp::Transmit {
                destination: t.to,
                ecn: None,
                contents,
                segment_size: (end - i > 1).then_some(segment),
                src_ip: None,
            };
            let (socket, state) = (&self.sockets[s], &self.states[s]);
            if let Err(e) = socket.try_io(Interest::WRITABLE, || state.try_send(UdpSockRef::from(socket), &q)) {
                debug!(to = %q.destination, error = %e, datagrams = end - i, "send failed; dropped");
            }
            i = end;
        }
        transmits.clear();
    }
}
