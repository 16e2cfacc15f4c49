#!/usr/bin/env bash
# Creates (if missing) the Python venv used by the interop tests at <repo>/.venv,
# installs aioice, aiortc and pylibsrtp from PyPI unless already importable,
# and prints the path of the venv's python on stdout (diagnostics on stderr).
#
#   PY="$(scripts/pyenv.sh)" && "$PY" tests/peers/aioice_peer.py --role controlled
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PACKAGES=(aioice aiortc pylibsrtp)
MODULES="aioice, aiortc, pylibsrtp"

log() { echo "pyenv.sh: $*" >&2; }

if [ ! -x "$PY" ] || ! "$PY" -c 'import sys' >/dev/null 2>&1; then
    command -v python3 >/dev/null 2>&1 || { log "python3 not found"; exit 1; }
    log "creating venv at $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >&2; then
        log "python3 -m venv failed; on Debian install python3-venv (apt-get install -y python3-venv)"
        exit 1
    fi
fi

if ! "$PY" -c "import $MODULES" >/dev/null 2>&1; then
    log "installing ${PACKAGES[*]} into $VENV"
    # Bounded: pip gives up on a stalled connection after its timeout/retries.
    "$PY" -m pip install -q --disable-pip-version-check --timeout 60 --retries 3 "${PACKAGES[@]}" >&2
    "$PY" -c "import $MODULES" >&2 || { log "packages still not importable after install"; exit 1; }
fi

log "aioice $("$PY" -c 'import aioice; print(aioice.__version__)' 2>/dev/null || echo '?')"
echo "$PY"
