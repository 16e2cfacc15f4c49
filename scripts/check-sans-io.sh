#!/usr/bin/env bash
# Fails when a sans-IO engine crate reads the clock, sleeps, or spawns a
# task or thread. Engines take time as an argument; only the facade
# (crates/oxrtc) may do these things. Comments, doc examples and unit-test
# code (a `tests.rs` file, or anything after `#[cfg(test)]`) are exempt.
set -euo pipefail
cd "$(dirname "$0")/.."
engines=(crates/stun/src crates/ice/src crates/netsim/src crates/srtp/src crates/dtls/src crates/sctp/src crates/sdp/src
  crates/datachannel/src crates/peer/src)
pattern='Instant::now|SystemTime::now|tokio::spawn|thread::spawn|thread::sleep|tokio::time::sleep|std::net::UdpSocket'
hits=$(find "${engines[@]}" -name '*.rs' ! -name tests.rs -print0 |
  xargs -0 awk '/^#\[cfg\(test\)\]/ { nextfile } { print FILENAME ":" FNR ":" $0 }' |
  grep -E "$pattern" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$hits" ]; then
  echo "sans-IO check failed: engine crates must take time and I/O from their caller:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "sans-IO check: ${engines[*]} are free of clocks, sockets, sleeps and spawns"
