//! TCP and TLS connections to TURN servers (RFC 8656 section 3.1): one task
//! per connection that connects, writes the frames the agent hands out and
//! cuts what the server sends into frames with [`stun::frame_len`].

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ice::TurnTransport;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tracing::debug;

/// The largest frame accepted from a server: a STUN message (20-byte header
/// and a 16-bit length) or a padded ChannelData message. Anything claiming
/// more drops the connection.
pub(crate) const MAX_FRAME: usize = 64 * 1024 + 20;
/// Frames the driver has not written yet, per connection, before new ones
/// are dropped (the agent's timers recover, as from datagram loss).
pub(crate) const WRITE_QUEUE: usize = 256;
/// Frames read from all connections that the driver has not taken yet
/// (the readers wait: TCP flow control pushes back on the server).
pub(crate) const READ_QUEUE: usize = 256;
/// How long TCP connect plus TLS handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection task tells the driver.
#[derive(Debug)]
pub(crate) enum StreamMsg {
    /// One complete frame from the server.
    Frame(Vec<u8>),
    /// The connection could not be opened or broke; the task has ended.
    Failed(String),
}

/// TLS settings of the connections to `turns:` servers.
#[derive(Clone)]
pub(crate) struct TlsSettings {
    pub connector: TlsConnector,
    pub server_name: Option<ServerName<'static>>,
}

/// A TLS client configuration (rustls with the ring provider) trusting the
/// certificates in `cas` (DER or PEM, several per PEM blob allowed), or the
/// system's roots when `cas` is empty.
pub(crate) fn tls_settings(cas: &[Vec<u8>], server_name: Option<&str>) -> io::Result<TlsSettings> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
    let mut roots = RootCertStore::empty();
    if cas.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            debug!(error = %e, "loading a system root certificate failed");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        debug!(added, ignored, "system root certificates for TURN over TLS");
    } else {
        for (i, blob) in cas.iter().enumerate() {
            let certs: Vec<CertificateDer<'static>> = if blob.trim_ascii_start().starts_with(b"-----BEGIN") {
                CertificateDer::pem_slice_iter(blob)
                    .collect::<Result<_, _>>()
                    .map_err(|e| invalid(format!("turn_tls_ca[{i}]: bad PEM: {e}")))?
            } else {
                vec![CertificateDer::from(blob.clone())]
            };
            if certs.is_empty() {
                return Err(invalid(format!("turn_tls_ca[{i}]: no CERTIFICATE in the PEM")));
            }
            for c in certs {
                roots.add(c).map_err(|e| invalid(format!("turn_tls_ca[{i}]: unusable certificate: {e}")))?;
            }
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = server_name
        .map(|n| ServerName::try_from(n.to_string()).map_err(|e| invalid(format!("turn_tls_server_name {n:?}: {e}"))))
        .transpose()?;
    Ok(TlsSettings { connector: TlsConnector::from(Arc::new(config)), server_name })
}

/// Runs one connection to `server` until it fails or `writes` closes;
/// reports frames and failure as `(index, msg)` on `out`.
pub(crate) async fn run(
    index: usize,
    server: SocketAddr,
    transport: TurnTransport,
    tls: Option<TlsSettings>,
    mut writes: mpsc::Receiver<Vec<u8>>,
    out: mpsc::Sender<(usize, StreamMsg)>,
) {
    let result = async {
        let connect = async {
            let tcp = TcpStream::connect(server).await?;
            tcp.set_nodelay(true)?;
            Ok::<_, io::Error>(tcp)
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| format!("connecting to {server} timed out"))?
            .map_err(|e| format!("TCP connect to {server}: {e}"))?;
        match (transport, tls) {
            (TurnTransport::Tls, Some(tls)) => {
                let name = tls.server_name.unwrap_or_else(|| ServerName::IpAddress(server.ip().into()));
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, tls.connector.connect(name, tcp))
                    .await
                    .map_err(|_| format!("TLS handshake with {server} timed out"))?
                    .map_err(|e| format!("TLS handshake with {server}: {e}"))?;
                debug!(%server, "TURN over TLS connected");
                pump(index, stream, &mut writes, &out).await
            }
            (TurnTransport::Tls, None) => Err("no TLS configuration".to_string()),
            _ => {
                debug!(%server, "TURN over TCP connected");
                pump(index, tcp, &mut writes, &out).await
            }
        }
    }
    .await;
    if let Err(reason) = result {
        debug!(%server, ?transport, %reason, "TURN connection failed");
        let _ = out.send((index, StreamMsg::Failed(reason))).await;
    }
}

/// Writes queued frames and reads framed input until the driver closes
/// `writes` (Ok) or the connection fails (Err with the reason).
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    index: usize,
    mut stream: S,
    writes: &mut mpsc::Receiver<Vec<u8>>,
    out: &mpsc::Sender<(usize, StreamMsg)>,
) -> Result<(), String> {
    let mut buf = vec![0u8; MAX_FRAME];
    let mut filled = 0usize;
    loop {
        tokio::select! {
            w = writes.recv() => {
                let Some(frame) = w else {
                    let _ = stream.shutdown().await;
                    return Ok(());
                };
                stream.write_all(&frame).await.map_err(|e| format!("write: {e}"))?;
                // Write what else is queued before flushing (TLS records).
                while let Ok(frame) = writes.try_recv() {
                    stream.write_all(&frame).await.map_err(|e| format!("write: {e}"))?;
                }
                stream.flush().await.map_err(|e| format!("write: {e}"))?;
            }
            n = stream.read(&mut buf[filled..]) => {
                let n = n.map_err(|e| format!("read: {e}"))?;
                if n == 0 {
                    return Err("the server closed the connection".to_string());
                }
                filled += n;
                let mut start = 0;
                while let Some(len) = stun::frame_len(&buf[start..filled]) {
                    let len = len.map_err(|e| format!("unframeable input: {e}"))?;
                    if len > MAX_FRAME {
                        return Err(format!("frame of {len} bytes exceeds {MAX_FRAME}"));
                    }
                    if filled - start < len {
                        break;
                    }
                    let frame = buf[start..start + len].to_vec();
                    start += len;
                    if out.send((index, StreamMsg::Frame(frame))).await.is_err() {
                        return Ok(());
                    }
                }
                buf.copy_within(start..filled, 0);
                filled -= start;
            }
        }
    }
}

/// The driver's end of a TCP/TLS connection to a TURN server.
pub(crate) struct Conn {
    pub server: SocketAddr,
    pub transport: TurnTransport,
    /// Frames for the connection task; `None` once the connection failed.
    pub writes: Option<mpsc::Sender<Vec<u8>>>,
}

/// Starts one connection task per TURN server the agent reaches over TCP or
/// TLS; their frames arrive, tagged with the connection's index, on the
/// returned receiver.
pub(crate) fn spawn_all(
    servers: Vec<(SocketAddr, TurnTransport)>,
    tls: Option<TlsSettings>,
    span: &tracing::Span,
) -> (Vec<Conn>, mpsc::Receiver<(usize, StreamMsg)>) {
    use tracing::Instrument;
    let (frames_tx, frames_rx) = mpsc::channel(READ_QUEUE);
    let conns = servers
        .into_iter()
        .enumerate()
        .map(|(i, (server, transport))| {
            let (tx, rx) = mpsc::channel(WRITE_QUEUE);
            let tls = tls.clone().filter(|_| transport == TurnTransport::Tls);
            tokio::spawn(run(i, server, transport, tls, rx, frames_tx.clone()).instrument(span.clone()));
            Conn { server, transport, writes: Some(tx) }
        })
        .collect();
    (conns, frames_rx)
}

/// Sends a transmit on its UDP socket or queues it for its TURN connection.
pub(crate) fn dispatch(t: ice::Transmit, sockets: &[tokio::net::UdpSocket], addrs: &[SocketAddr], conns: &[Conn]) {
    if t.transport.is_stream() {
        let conn = conns.iter().find(|s| s.server == t.to && s.transport == t.transport);
        match conn.and_then(|s| s.writes.as_ref()) {
            Some(w) => {
                if let Err(e) = w.try_send(t.data) {
                    tracing::debug!(to = %t.to, error = %e, "TURN connection write queue full or closed; frame dropped");
                }
            }
            None => tracing::debug!(to = %t.to, transport = ?t.transport, "no TURN connection; frame dropped"),
        }
        return;
    }
    if let Some(i) = addrs.iter().position(|a| *a == t.from) {
        if let Err(e) = sockets[i].try_send_to(&t.data, t.to) {
            tracing::debug!(to = %t.to, error = %e, "send failed");
        }
    }
}
