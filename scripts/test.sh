#!/usr/bin/env bash
# Runs every check and test of oxrtc, installing what the tests need on a
# fresh machine: coturn, chromium, Go and Pion v3 (Debian), aioice/aiortc (PyPI,
# in .venv), werift (npm, in tests/peers/werift_peer), the codec libraries and
# ffmpeg (Debian, scripts/media-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== codec libraries and ffmpeg (Debian)"
scripts/media-deps.sh

echo "== format, lints, docs"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p oxrtc-media --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
scripts/check-sans-io.sh
scripts/check-sans-io.sh --self-test

echo "== test peers: aioice/aiortc (PyPI), coturn and chromium (Debian)"
if ! command -v chromium >/dev/null; then
  echo "installing chromium (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2; }
fi
OXRTC_PYTHON=$(scripts/pyenv.sh)
export OXRTC_PYTHON
echo "== test peers: Go and Pion v3 (Debian), werift (npm)"
PEERS_ENV=$(scripts/interop-peers.sh) || { echo "test.sh: installing Go, Pion or werift failed (see above)" >&2; exit 1; }
eval "$PEERS_ENV"
# `eval "$(...)"` would swallow a failed start (eval of nothing succeeds): check it.
trap 'scripts/coturn.sh stop >/dev/null 2>&1 || true' EXIT
if ! coturn_env=$(scripts/coturn.sh start) || [ -z "$coturn_env" ]; then
  echo "test.sh: coturn did not start (its messages are above); the TURN interop tests need it: stopping" >&2
  exit 1
fi
eval "$coturn_env"

echo "== cargo test (unit, scenarios, fuzz corpora, interop with aioice, aiortc, coturn, Pion and werift)"
# The bench package (other stacks, release-only harnesses) is checked by clippy
# above but not built for tests: its dependency tree would double a cold run.
cargo test --workspace --exclude oxrtc-bench -- --include-ignored --skip chromium_
cargo test -p oxrtc-dtls --features openssl
echo "== oxrtc-media with every codec (libopus, libvpx, openh264, dav1d), files checked with ffmpeg"
cargo test -p oxrtc-media --all-features
cargo test -p oxrtc --features openssl --test rsa_certificates

echo "== Chromium interop, in a network namespace that has only lo"
scripts/netns.sh cargo test -p oxrtc --test chromium -- --include-ignored --test-threads=1
