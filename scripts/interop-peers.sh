#!/usr/bin/env bash
# Installs the Pion and werift test peers and prints the exports their tests
# read (crates/oxrtc/tests/pion.rs, werift.rs) on stdout; diagnostics on stderr.
#
#   eval "$(scripts/interop-peers.sh)"   # OXRTC_GO, OXRTC_NODE
#
# Pion v3 and Go come from Debian (golang-github-pion-webrtc.v3-dev, golang-go):
# the test builds tests/peers/pion_peer in GOPATH mode against /usr/share/gocode.
# werift comes from npm into tests/peers/werift_peer/node_modules, at the
# version its package-lock.json pins; node and npm from Debian if missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { echo "interop-peers.sh: $*" >&2; }

apt_install() {
    log "installing $* (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2 ||
        { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; }
}

PION=/usr/share/gocode/src/github.com/pion/webrtc/peerconnection.go
if ! command -v go >/dev/null || [ ! -f "$PION" ]; then
    apt_install golang-go golang-github-pion-webrtc.v3-dev
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi

WERIFT="$ROOT/tests/peers/werift_peer"
if [ ! -f "$WERIFT/node_modules/werift/package.json" ]; then
    log "installing werift (npm) into $WERIFT/node_modules"
    # Bounded: npm gives up on a stalled registry after its fetch timeout/retries.
    (cd "$WERIFT" && npm install --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=3 >&2)
fi
log "$(go version); node $(node --version); werift $(node -p "require('$WERIFT/node_modules/werift/package.json').version")"
echo "export OXRTC_GO=$(command -v go) OXRTC_NODE=$(command -v node)"
