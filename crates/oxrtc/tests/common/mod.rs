//! Helpers shared by the interop tests.
#![allow(dead_code)]

pub mod jsonpeer;
pub mod ortc;

use std::time::Duration;

use oxrtc::ice::{IceEvent, IceTransportState};
use oxrtc::{IceTransport, IceTransportEvent};

/// The next event within `limit`, or a panic naming what was awaited.
pub async fn next(t: &mut IceTransport, limit: Duration, what: &str) -> IceTransportEvent {
    match tokio::time::timeout(limit, t.next_event()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("transport closed while waiting for {what}"),
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

pub fn is_up(e: &IceTransportEvent) -> bool {
    matches!(
        e,
        IceTransportEvent::Ice(IceEvent::StateChanged(IceTransportState::Connected | IceTransportState::Completed))
    )
}

/// The repository root (for scripts and peers).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// An environment variable the test command sets, or a panic saying so.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run this test through scripts/test.sh"))
}
