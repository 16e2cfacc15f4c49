#!/usr/bin/env bash
# Guard rails, checked by the machine (see scripts/check_sans_io.py):
# - sans-IO: no workspace crate but the facade (`oxrtc`) and the bench
#   package (both `[package.metadata.oxrtc] sans-io = false`) reads a clock
#   (`Instant::now`, `SystemTime::now`, `.elapsed()` in any spelling),
#   sleeps, spawns a task or thread, opens a socket or depends on tokio; only
#   `#[cfg(test)]` items, tests/, benches/, examples/ and comments are exempt;
# - crypto crates are named only where docs/crypto-policy.md allows it;
# - one MSRV: every crate uses the workspace's rust-version.
# `scripts/check-sans-io.sh --self-test` plants each kind of violation in a
# scratch copy and checks that the check fails for each.
set -euo pipefail
exec python3 "$(dirname "$0")/check_sans_io.py" "$@"
