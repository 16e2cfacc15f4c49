#!/usr/bin/env bash
# Runs every check and test of oxrtc, installing what the tests need on a
# fresh machine: coturn (Debian) and aioice/aiortc (PyPI, in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format, lints, docs"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
scripts/check-sans-io.sh

echo "== test peers: aioice (PyPI) and coturn (Debian)"
OXRTC_PYTHON=$(scripts/pyenv.sh)
export OXRTC_PYTHON
eval "$(scripts/coturn.sh start)"
trap 'scripts/coturn.sh stop >/dev/null 2>&1 || true' EXIT

echo "== cargo test (unit, scenarios, fuzz corpora, interop with aioice and coturn)"
cargo test --workspace -- --include-ignored
