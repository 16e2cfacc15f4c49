//! aiortc's contrib signaling, byte for byte: newline-separated JSON
//! objects, `{"sdp","type"}` for descriptions, `{"candidate","id","label",
//! "type":"candidate"}` for candidates, `{"type":"bye"}` at the end; over
//! stdin/stdout (copy-and-paste), TCP or a Unix socket. For the sockets,
//! the side that sends first listens and the side that receives first
//! connects, as in aiortc, so oxrtc and aiortc examples can face each other.
#![allow(dead_code)]

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use oxrtc::{RTCIceCandidateInit, RTCSdpType, RTCSessionDescription};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// What goes over the wire.
#[derive(Debug)]
pub enum Message {
    Description(RTCSessionDescription),
    Candidate(RTCIceCandidateInit),
    Bye,
}

/// Where the messages go.
#[derive(Debug, Clone)]
pub enum Method {
    CopyAndPaste,
    Tcp(String, u16),
    Unix(PathBuf),
}

impl Method {
    /// From the aiortc options: `--signaling`, `--signaling-host`,
    /// `--signaling-port`, `--signaling-path`. Unknown options are returned.
    pub fn from_args(args: &mut Vec<String>) -> Result<Method, String> {
        let mut take = |name: &str| -> Option<String> {
            let i = args.iter().position(|a| a == name)?;
            args.remove(i);
            (i < args.len()).then(|| args.remove(i))
        };
        let kind = take("--signaling").or_else(|| take("-s")).unwrap_or_else(|| "copy-and-paste".into());
        let host = take("--signaling-host").unwrap_or_else(|| "127.0.0.1".into());
        let port = take("--signaling-port").unwrap_or_else(|| "1234".into());
        let path = take("--signaling-path").unwrap_or_else(|| "aiortc.socket".into());
        match kind.as_str() {
            "copy-and-paste" => Ok(Method::CopyAndPaste),
            "tcp-socket" => Ok(Method::Tcp(host, port.parse().map_err(|_| format!("bad --signaling-port {port}"))?)),
            "unix-socket" => Ok(Method::Unix(path.into())),
            other => Err(format!("unknown --signaling {other}; use copy-and-paste, tcp-socket or unix-socket")),
        }
    }
}

type Reader = Box<dyn tokio::io::AsyncBufRead + Unpin + Send>;
type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// One signaling channel.
pub struct Signaling {
    method: Method,
    conn: Option<(Reader, Writer)>,
    unix_listener_path: Option<PathBuf>,
}

fn boxed<R: AsyncRead + Unpin + Send + 'static, W: AsyncWrite + Unpin + Send + 'static>(
    r: R,
    w: W,
) -> (Reader, Writer) {
    (Box::new(BufReader::new(r)), Box::new(w))
}

impl Signaling {
    pub fn new(method: Method) -> Self {
        Signaling { method, conn: None, unix_listener_path: None }
    }

    async fn connect(&mut self, listen: bool) -> io::Result<()> {
        if self.conn.is_some() {
            return Ok(());
        }
        self.conn = Some(match (&self.method, listen) {
            (Method::CopyAndPaste, _) => boxed(tokio::io::stdin(), tokio::io::stdout()),
            (Method::Tcp(host, port), true) => {
                let listener = TcpListener::bind((host.as_str(), *port)).await?;
                let (s, _) = listener.accept().await?;
                let (r, w) = s.into_split();
                boxed(r, w)
            }
            (Method::Tcp(host, port), false) => {
                let s = retry(|| TcpStream::connect((host.as_str(), *port))).await?;
                let (r, w) = s.into_split();
                boxed(r, w)
            }
            (Method::Unix(path), true) => {
                let _ = std::fs::remove_file(path);
                let listener = UnixListener::bind(path)?;
                self.unix_listener_path = Some(path.clone());
                let (s, _) = listener.accept().await?;
                let (r, w) = s.into_split();
                boxed(r, w)
            }
            (Method::Unix(path), false) => {
                let s = retry(|| UnixStream::connect(path)).await?;
                let (r, w) = s.into_split();
                boxed(r, w)
            }
        });
        Ok(())
    }

    pub async fn send(&mut self, m: &Message) -> io::Result<()> {
        self.connect(true).await?;
        let v = match m {
            Message::Description(d) => json!({"sdp": d.sdp, "type": d.kind.as_str()}),
            Message::Candidate(c) => json!({
                "candidate": c.candidate, "id": c.sdp_mid, "label": c.sdp_m_line_index, "type": "candidate",
            }),
            Message::Bye => json!({"type": "bye"}),
        };
        if matches!(self.method, Method::CopyAndPaste) {
            eprintln!("-- Please send this message to the remote party --");
        }
        let (_, w) = self.conn.as_mut().expect("connected");
        w.write_all(format!("{v}\n").as_bytes()).await?;
        w.flush().await
    }

    /// The next message; `None` when the other side hung up.
    pub async fn receive(&mut self) -> io::Result<Option<Message>> {
        self.connect(false).await?;
        if matches!(self.method, Method::CopyAndPaste) {
            eprintln!("-- Please enter a message from remote party --");
        }
        let (r, _) = self.conn.as_mut().expect("connected");
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await? == 0 {
                return Ok(None);
            }
            if !line.trim().is_empty() {
                break;
            }
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let bad =
            |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("signaling message lacks {what}: {v}"));
        Ok(Some(match v["type"].as_str() {
            Some(t @ ("offer" | "answer")) => Message::Description(RTCSessionDescription {
                kind: RTCSdpType::from_name(t).expect("offer or answer"),
                sdp: v["sdp"].as_str().ok_or_else(|| bad("sdp"))?.to_string(),
            }),
            Some("candidate") => Message::Candidate(RTCIceCandidateInit {
                candidate: v["candidate"].as_str().unwrap_or_default().to_string(),
                sdp_mid: v["id"].as_str().map(str::to_string),
                sdp_m_line_index: v["label"].as_u64().map(|l| l as u16),
            }),
            Some("bye") => Message::Bye,
            _ => return Err(bad("a known type")),
        }))
    }

    /// Says bye and closes.
    pub async fn close(&mut self) {
        if self.conn.is_some() {
            let _ = self.send(&Message::Bye).await;
        }
        self.conn = None;
        if let Some(p) = self.unix_listener_path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Waits for the end of gathering and returns the complete local
/// description (aiortc does not trickle, so neither do these examples).
pub async fn gathered(
    pc: &oxrtc::RTCPeerConnection,
    events: &mut tokio::sync::mpsc::UnboundedReceiver<oxrtc::RTCPeerConnectionEvent>,
) -> RTCSessionDescription {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(e)) = tokio::time::timeout_at(deadline, events.recv()).await {
        if matches!(e, oxrtc::RTCPeerConnectionEvent::IceCandidate(None)) {
            break;
        }
    }
    pc.local_description().expect("a local description")
}

/// Connects, retrying for 10 s while the listening side is not up yet.
async fn retry<T, F: std::future::Future<Output = io::Result<T>>>(mut f: impl FnMut() -> F) -> io::Result<T> {
    let mut last = None;
    for _ in 0..100 {
        match f().await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.expect("at least one attempt"))
}
