#!/usr/bin/env bash
# Soak test of the `server` example (not run by the test command): one aiortc
# client pinging at 50 messages/s plus a new connection every second, for
# SOAK_SECONDS (default 600; SOAK_PROBE_EVERY=0.1 for ten connections a
# second), while the server's RSS is sampled every 10 s, then 30 s idle.
# SOAK_SERVER_BIN runs a server binary built already instead of building one.
# Prints the RSS series (kB) and the client's counts; a flat series is the
# pass mark. Loopback only. Usage: scripts/soak.sh [--release] [--mimalloc]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${SOAK_SECONDS:-600}
port=${SOAK_PORT:-18080}
profile=debug
build=()
for a in "$@"; do
  case "$a" in
    --release) profile=release; build+=(--release) ;;
    --mimalloc) build+=(--features mimalloc) ;;
    *) echo "usage: scripts/soak.sh [--release] [--mimalloc]" >&2; exit 2 ;;
  esac
done
python=$(scripts/pyenv.sh)
bin=${SOAK_SERVER_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q "${build[@]}" -p oxrtc --example server
  bin="${CARGO_TARGET_DIR:-target}/$profile/examples/server"
fi
"$bin" --port "$port" --max-pending 50 > /tmp/oxrtc-soak-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/stats" >/dev/null 2>&1 && break
  sleep 0.2
done
"$python" tests/peers/soak_client.py "http://127.0.0.1:$port" --seconds "$seconds" \
  --probe-every "${SOAK_PROBE_EVERY:-1}" > /tmp/oxrtc-soak-client.log 2>&1 &
client=$!
echo "t_s,rss_kb,pending,total"
t=0
while kill -0 "$client" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
  st=$(curl -fs "http://127.0.0.1:$port/stats" || echo '{}')
  pending=$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pending",""))' 2>/dev/null || true)
  total=$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("total",""))' 2>/dev/null || true)
  echo "$t,$rss,$pending,$total"
  sleep 10
  t=$((t + 10))
done
wait "$client" || echo "soak client exited with $?" >&2
# After the load: does the memory come back?
for _ in 1 2 3; do
  sleep 10
  t=$((t + 10))
  echo "$t,$(awk '/^VmRSS/ {print $2}' "/proc/$server/status"),idle,"
done
tail -1 /tmp/oxrtc-soak-client.log
