//! A peer connection against another stack's test peer (tests/peers/pion_peer,
//! tests/peers/werift_peer) over JSON-lines signaling: the peer offers or
//! answers, each side opens a channel, the peer greets on both and echoes what
//! we send; we check every byte. Shared by the Pion and werift tests;
//! [`JsonPeer`] alone also drives the aiortc media peer.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use oxrtc::{
    DataChannelEvent, InterfaceFilter, RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCPeerConnectionEvent,
    RTCPeerConnectionState, RTCSessionDescription as SessionDescription,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

/// The whole exchange must end within this.
const LIMIT: Duration = Duration::from_secs(40);

/// A running test peer speaking JSON lines on stdin/stdout.
pub struct JsonPeer {
    name: String,
    child: Child,
    stdin: ChildStdin,
    /// Its stdout, one parsed line at a time (`None`: it closed stdout).
    rx: mpsc::UnboundedReceiver<Value>,
    /// What it reported as `{"type":"sctp-rejected"}`: SCTP packets of ours it could not parse.
    rejected: Vec<Value>,
}

impl JsonPeer {
    /// Starts `command` (stderr is inherited, so its log shows with the test's).
    pub fn start(name: &str, mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start the {name} peer: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(l)) = lines.next_line().await {
                let v =
                    serde_json::from_str(&l).unwrap_or_else(|e| json!({"type": "error", "error": format!("{e}: {l}")}));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        JsonPeer { name: name.into(), child, stdin, rx, rejected: Vec::new() }
    }

    /// Checks a line: errors and timeouts fail the test, rejections are kept.
    fn note(name: &str, rejected: &mut Vec<Value>, v: &Value) {
        assert!(v["type"] != "error" && v["type"] != "timeout", "{name} peer: {v}");
        if v["type"] == "sctp-rejected" {
            rejected.push(v.clone());
        }
    }

    /// The next line of any type (errors and timeouts fail the test), or
    /// `None` once the peer closed its stdout. Cancel-safe.
    pub async fn line(&mut self) -> Option<Value> {
        let v = self.rx.recv().await?;
        Self::note(&self.name, &mut self.rejected, &v);
        Some(v)
    }

    /// Writes one line to the peer.
    pub async fn send(&mut self, v: &Value) {
        send(&mut self.stdin, v).await;
    }

    /// The next line of type `kind`, before `deadline`.
    pub async fn expect(&mut self, kind: &str, deadline: Instant) -> Value {
        loop {
            let name = &self.name;
            let v = timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("{name} peer: no {kind} in time"))
                .unwrap_or_else(|| panic!("{name} peer closed its stdout"));
            Self::note(name, &mut self.rejected, &v);
            if v["type"] == kind {
                return v;
            }
        }
    }

    /// Asks the peer to close, reads the rest of its output and waits for its clean exit.
    pub async fn close(mut self, deadline: Instant) -> Vec<Value> {
        send(&mut self.stdin, &json!({"type": "close"})).await;
        let name = self.name.clone();
        let mut closed = false;
        while let Some(v) = timeout_at(deadline, self.rx.recv()).await.expect("peer output ends after close") {
            Self::note(&name, &mut self.rejected, &v);
            closed |= v["type"] == "closed";
        }
        assert!(closed, "{name} peer did not confirm the close");
        let status = timeout_at(deadline, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name} peer did not exit after close"))
            .unwrap();
        assert!(status.success(), "{name} peer exited with {status}");
        self.rejected
    }
}

async fn send(stdin: &mut ChildStdin, v: &Value) {
    stdin.write_all(format!("{v}\n").as_bytes()).await.unwrap();
    stdin.flush().await.unwrap();
}

/// What one channel must see: the peer's greeting, then our messages echoed.
struct Expect {
    label: String,
    channel: Arc<RTCDataChannel>,
    greeting_text: bool,
    greeting_binary: bool,
    echo_text: bool,
    echo_binary: bool,
    sent: bool,
}

impl Expect {
    fn done(&self) -> bool {
        self.greeting_text && self.greeting_binary && self.echo_text && self.echo_binary
    }
}

/// 50,000 bytes, several SCTP packets, that differ per label.
fn blob(label: &str) -> Vec<u8> {
    let salt = label.bytes().fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(salt) >> 13) as u8).collect()
}

fn forward(channel: Arc<RTCDataChannel>, label: String, tx: mpsc::UnboundedSender<(String, DataChannelEvent)>) {
    tokio::spawn(async move {
        while let Some(e) = channel.next_event().await {
            if tx.send((label.clone(), e)).is_err() {
                break;
            }
        }
    });
}

/// Runs the exchange with `peer`; `peer_offers` picks who offers. The peer may
/// report at most `max_rejected` of our SCTP packets as unparsable.
pub async fn exchange(mut peer: JsonPeer, peer_offers: bool, max_rejected: usize) {
    let deadline = Instant::now() + LIMIT;
    let name = peer.name.clone();
    let config = RTCConfiguration { interfaces: InterfaceFilter::loopback_only(), ..Default::default() };
    let pc = RTCPeerConnection::new(config).await.unwrap();
    let (tx, mut channel_events) = mpsc::unbounded_channel();
    let mut expects: Vec<Expect> = Vec::new();
    let watch = |channel: RTCDataChannel, expects: &mut Vec<Expect>| {
        let channel = Arc::new(channel);
        let label = channel.label().to_string();
        forward(channel.clone(), label.clone(), tx.clone());
        expects.push(Expect {
            label,
            channel,
            greeting_text: false,
            greeting_binary: false,
            echo_text: false,
            echo_binary: false,
            sent: false,
        });
    };

    // Offer/answer; the peer's description carries all its candidates.
    let we_are_dtls_client = if peer_offers {
        let offer = peer.expect("offer", deadline).await;
        pc.set_remote_description(SessionDescription::offer(offer["sdp"].as_str().unwrap())).await.unwrap();
        watch(pc.create_data_channel("from-oxrtc", None).await.unwrap(), &mut expects);
        let answer = pc.set_local_description(None).await.unwrap();
        send(&mut peer.stdin, &json!({"type": "answer", "sdp": answer.sdp})).await;
        answer.sdp.contains("a=setup:active")
    } else {
        watch(pc.create_data_channel("from-oxrtc", None).await.unwrap(), &mut expects);
        let offer = pc.set_local_description(None).await.unwrap();
        send(&mut peer.stdin, &json!({"type": "offer", "sdp": offer.sdp})).await;
        let answer = peer.expect("answer", deadline).await;
        let sdp = answer["sdp"].as_str().unwrap();
        pc.set_remote_description(SessionDescription::answer(sdp)).await.unwrap();
        sdp.contains("a=setup:passive")
    };

    let mut connected = false;
    while !(connected && expects.len() == 2 && expects.iter().all(Expect::done)) {
        tokio::select! {
            e = timeout_at(deadline, pc.next_event()) => {
                let e = e.unwrap_or_else(|_| {
                    let state: Vec<_> = expects.iter().map(|x| (x.label.clone(), x.greeting_text, x.greeting_binary, x.echo_text, x.echo_binary)).collect();
                    panic!("{name}: timed out; connected {connected}, channels {state:?}")
                });
                match e.expect("peer connection events ended") {
                    RTCPeerConnectionEvent::IceCandidate(Some(c)) => {
                        let c = json!({"type": "candidate", "candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_m_line_index});
                        send(&mut peer.stdin, &c).await;
                    }
                    RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Connected) => connected = true,
                    RTCPeerConnectionEvent::ConnectionStateChange(RTCPeerConnectionState::Failed) => panic!("{name}: connection failed"),
                    RTCPeerConnectionEvent::DataChannel(channel) => {
                        assert_eq!(channel.label(), "chat", "{name}: the peer's channel");
                        watch(channel, &mut expects);
                    }
                    _ => {}
                }
            }
            Some(v) = peer.rx.recv() => JsonPeer::note(&name, &mut peer.rejected, &v),
            Some((label, e)) = channel_events.recv() => {
                let x = expects.iter_mut().find(|x| x.label == label).unwrap();
                match e {
                    DataChannelEvent::Open => {}
                    DataChannelEvent::Message { data, binary: false } => {
                        if data == format!("hello {label}").as_bytes() {
                            assert!(!x.greeting_text, "{name}: greeting twice on {label}");
                            x.greeting_text = true;
                        } else {
                            assert_eq!(data, format!("echo:ping {label}").as_bytes(), "{name}: text on {label}");
                            assert!(!x.echo_text, "{name}: echo twice on {label}");
                            x.echo_text = true;
                        }
                    }
                    DataChannelEvent::Message { data, binary: true } => {
                        if data[..] == [0, 1, 2, 0xff] {
                            x.greeting_binary = true;
                        } else {
                            assert!(data[..] == blob(&label)[..], "{name}: binary echo on {label} differs ({} bytes)", data.len());
                            x.echo_binary = true;
                        }
                    }
                    DataChannelEvent::BufferedAmountLow => {}
                    e => panic!("{name}: {label}: {e:?}"),
                }
                // Our messages go once the channel carried something from the peer.
                if !x.sent && x.greeting_text {
                    x.sent = true;
                    x.channel.send_text(format!("ping {label}")).await.unwrap();
                    x.channel.send(Bytes::from(blob(&label))).await.unwrap();
                }
            }
        }
    }

    // Stream ids follow the DTLS roles (RFC 8832): the client's are even.
    for x in &expects {
        let id = x.channel.id().expect("an open channel has an id");
        let ours = x.label == "from-oxrtc";
        assert_eq!(
            id % 2 == 0,
            ours == we_are_dtls_client,
            "{name}: id {id} of {} (we are DTLS client: {we_are_dtls_client})",
            x.label
        );
    }
    let rejected = peer.close(deadline).await;
    assert!(
        rejected.len() <= max_rejected,
        "{name} could not parse {} of our SCTP packets: {rejected:?}",
        rejected.len()
    );
    pc.close().await;
}
