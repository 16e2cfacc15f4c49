//! The examples' HTTP/1.1, on hyper: a signaling endpoint and a test page.
//! Shared by the `server` example and the Chromium interop tests.
//!
//! What a client can make the server hold is bounded ([`Limits`]): a
//! request's headers must arrive within the header timeout (which also ends
//! an idle keep-alive connection), a body larger than the limit gets `413`
//! (without being read when `Content-Length` says so), reading the body and
//! answering must end within the request timeout (else `408`), and at most
//! `max_connections` connections are open at once (the others wait in the
//! kernel's backlog). An `accept` that fails, as it does when the process is
//! out of file descriptors (EMFILE, ENFILE), is logged and retried after a
//! short pause: the server never stops serving.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A request.
pub struct Request {
    pub method: String,
    /// The path with its query, as sent (`/offer`, `/?autostart=1`).
    pub path: String,
    pub body: Vec<u8>,
}

/// A response.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn ok(content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response { status: 200, content_type, body: body.into() }
    }

    /// A plain-text response: `why` and a newline.
    pub fn text(status: u16, why: &str) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", body: format!("{why}\n").into_bytes() }
    }

    pub fn not_found() -> Self {
        Response::text(404, "not found")
    }

    pub fn bad_request(why: &str) -> Self {
        Response::text(400, why)
    }

    /// `503 Service Unavailable`: the server is at a limit; try again later.
    pub fn unavailable(why: &str) -> Self {
        Response::text(503, why)
    }
}

pub type Handler = Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

/// What one client may make the server hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (an SDP offer with candidates is a few KiB).
    pub max_body: usize,
    /// Time to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout: Duration,
    /// Time to send the body and get the answer, from the end of the
    /// headers.
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Pause after a failed `accept` (EMFILE and the like) before the next.
    pub accept_pause: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: 256,
            accept_pause: Duration::from_millis(100),
        }
    }
}

/// Largest request head (request line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// Binds `addr` and serves `handler` with the default [`Limits`] until the
/// task is dropped.
pub async fn serve(addr: SocketAddr, handler: Handler) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_with(addr, handler, Limits::default()).await
}

/// Binds `addr` and serves `handler` within `limits` until the task is
/// dropped.
pub async fn serve_with(
    addr: SocketAddr,
    handler: Handler,
    limits: Limits,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, handler, Arc::new(limits)));
    Ok((local, task))
}

async fn accept_loop(listener: TcpListener, handler: Handler, limits: Arc<Limits>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true).max_buf_size(MAX_HEAD);
    let mut errors = AcceptErrors::default();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // The client gave up before we took its connection: not ours.
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) => continue,
            // Out of file descriptors (EMFILE, ENFILE) or memory: say so,
            // let connections end and free some, and go on.
            Err(e) => {
                errors.log(&e, limits.accept_pause);
                drop(slot);
                tokio::time::sleep(limits.accept_pause).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let limits = limits.clone();
        let conn = http.serve_connection(
            TokioIo::new(stream),
            hyper::service::service_fn(move |req| respond(req, handler.clone(), limits.clone())),
        );
        tokio::spawn(async move {
            // Errors here are the client's (reset, timed out, malformed):
            // hyper answered what could be answered and closed.
            let _ = conn.await;
            drop(slot);
        });
    }
}

/// Logs failed `accept`s: the first at once, then at most one line a
/// second with the count of those not shown.
#[derive(Default)]
struct AcceptErrors {
    last: Option<Instant>,
    unshown: u64,
}

impl AcceptErrors {
    fn log(&mut self, e: &io::Error, pause: Duration) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(1)) {
            self.unshown += 1;
            return;
        }
        let more = match self.unshown {
            0 => String::new(),
            n => format!(" ({n} more since the last report)"),
        };
        eprintln!("http: accept failed: {e}{more}; still serving, next accept in {} ms", pause.as_millis());
        self.last = Some(now);
        self.unshown = 0;
    }
}

type Reply = hyper::Response<Full<Bytes>>;

async fn respond(req: hyper::Request<Incoming>, handler: Handler, limits: Arc<Limits>) -> Result<Reply, Infallible> {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Ok(closing(too_large(&limits)));
    }
    let work = async {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, limits.max_body).collect().await {
            Ok(b) => b.to_bytes().to_vec(),
            Err(e) if e.is::<LengthLimitError>() => return Err(too_large(&limits)),
            Err(e) => return Err(Response::bad_request(&format!("could not read the body: {e}"))),
        };
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        Ok(handler(Request { method: parts.method.as_str().to_string(), path, body }).await)
    };
    Ok(match tokio::time::timeout(limits.request_timeout, work).await {
        Ok(Ok(r)) => reply(r),
        Ok(Err(r)) => closing(r),
        Err(_) => closing(Response::text(
            408,
            &format!("request not read and answered within {} s", limits.request_timeout.as_secs_f32()),
        )),
    })
}

fn too_large(limits: &Limits) -> Response {
    Response::text(413, &format!("request body larger than {} bytes", limits.max_body))
}

fn reply(r: Response) -> Reply {
    let mut out = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = out.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}

/// A reply after which the connection closes (the rest of the request may
/// be unread).
fn closing(r: Response) -> Reply {
    let mut out = reply(r);
    out.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    out
}
