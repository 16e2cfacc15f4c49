#!/usr/bin/env bash
# Local coturn TURN/STUN server for oxrtc interop tests, bound to 127.0.0.1 only.
#
#   eval "$(scripts/coturn.sh start)"   # installs coturn if needed, starts it,
#                                       # prints the OXRTC_TURN_* exports on stdout
#   scripts/coturn.sh stop              # stops it (via the pid file)
#   scripts/coturn.sh status            # exit 0 if running and answering STUN
#
# Everything except the export line goes to stderr.
# Listens on 127.0.0.1 only: UDP+TCP 3478, TLS (and DTLS) 5349 with a
# self-signed certificate for localhost (OXRTC_TURN_CA names it), relay ports
# 49160-49300 on 127.0.0.1. Long-term credentials oxrtc / oxrtc-secret, realm
# oxrtc.test. Loopback peers are allowed (needed for relaying to local peers).
#
# Environment overrides: OXRTC_COTURN_DIR (default /tmp/oxrtc-coturn).
set -euo pipefail

DIR="${OXRTC_COTURN_DIR:-/tmp/oxrtc-coturn}"
CONF="$DIR/turnserver.conf"
PIDFILE="$DIR/turnserver.pid"
LOG="$DIR/turnserver.log"
CERT="$DIR/cert.pem"
KEY="$DIR/key.pem"

IP=127.0.0.1
PORT=3478
TLS_PORT=5349
TURN_USER=oxrtc
TURN_PASS=oxrtc-secret
TURN_REALM=oxrtc.test

log() { echo "coturn.sh: $*" >&2; }

exports_line() {
    echo "export OXRTC_TURN_UDP=$IP:$PORT OXRTC_TURN_TCP=$IP:$PORT OXRTC_TURN_TLS=$IP:$TLS_PORT OXRTC_TURN_USER=$TURN_USER OXRTC_TURN_PASS=$TURN_PASS OXRTC_TURN_REALM=$TURN_REALM OXRTC_TURN_CA=$CERT"
}

# Sends STUN binding requests to $IP:$PORT over UDP until one is answered or
# $1 seconds have passed. Exit 0 when answered.
stun_probe() {
    local budget="${1:-10}"
    python3 - "$IP" "$PORT" "$budget" <<'PY'
import os, socket, struct, sys, time
host, port, budget = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + budget
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    while time.monotonic() < deadline:
        txid = os.urandom(12)
        # Binding request: type 0x0001, length 0, magic cookie, transaction id.
        req = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + txid
        try:
            s.sendto(req, (host, port))
        except OSError:
            time.sleep(0.2)
            continue
        end = min(deadline, time.monotonic() + 0.5)
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                data, _ = s.recvfrom(2048)
            except (socket.timeout, ConnectionRefusedError, OSError):
                # ICMP port unreachable surfaces as ConnectionRefusedError.
                time.sleep(0.1)
                break
            if len(data) >= 20:
                mtype, _, cookie = struct.unpack("!HHI", data[:8])
                if cookie == 0x2112A442 and data[8:20] == txid and mtype == 0x0101:
                    sys.exit(0)
    sys.exit(1)
finally:
    s.close()
PY
}

our_pid() {
    # Prints the pid of our running turnserver, or fails.
    [ -f "$PIDFILE" ] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PIDFILE" 2>/dev/null || true)"
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "turnserver" ] || return 1
    echo "$pid"
}

apt_get() {
    # apt-get with a bounded wait for the dpkg/apt locks (another apt may be running).
    local i
    for i in 1 2 3 4 5 6; do
        if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=100 -y -q "$@" >&2; then
            return 0
        fi
        log "apt-get $* failed (attempt $i), retrying in 5 s"
        sleep 5
    done
    return 1
}

ensure_installed() {
    command -v turnserver >/dev/null 2>&1 && return 0
    log "turnserver not found, installing Debian package coturn"
    if ! apt-cache show coturn >/dev/null 2>&1; then
        apt_get update
    fi
    if ! apt_get install --no-install-recommends coturn; then
        apt_get update
        apt_get install --no-install-recommends coturn
    fi
    command -v turnserver >/dev/null 2>&1 || { log "turnserver still missing after install"; exit 1; }
    # The package may start its own system-wide service (all interfaces,
    # other credentials); the tests need only the one started below.
    if command -v service >/dev/null 2>&1; then
        service coturn stop >/dev/null 2>&1 || true
    fi
}

write_config() {
    mkdir -p "$DIR"
    chmod 700 "$DIR"
    # A self-signed end-entity certificate (CA:FALSE) for localhost and
    # 127.0.0.1 in subjectAltName: webpki-based verifiers (rustls) ignore the
    # CN and refuse a CA certificate as server certificate. Clients trust it
    # as their only root (OXRTC_TURN_CA) and verify the name "localhost".
    if [ ! -s "$CERT" ] || [ ! -s "$KEY" ] || ! openssl x509 -checkend 3600 -noout -in "$CERT" >/dev/null 2>&1 \
        || ! openssl x509 -noout -ext subjectAltName -in "$CERT" 2>/dev/null | grep -q "DNS:localhost"; then
        log "creating self-signed certificate in $DIR"
        cat >"$DIR/cert.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
[ext]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
CNF
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
            -config "$DIR/cert.cnf" -keyout "$KEY" -out "$CERT" >/dev/null 2>&1 ||
            { log "could not create the TLS certificate in $DIR (openssl failed)"; exit 1; }
    fi
    cat >"$CONF" <<EOF
# Generated by scripts/coturn.sh: loopback-only TURN server for oxrtc tests.
listening-ip=$IP
relay-ip=$IP
listening-port=$PORT
tls-listening-port=$TLS_PORT
min-port=49160
max-port=49300
fingerprint
lt-cred-mech
user=$TURN_USER:$TURN_PASS
realm=$TURN_REALM
cert=$CERT
pkey=$KEY
allow-loopback-peers
no-multicast-peers
no-cli
no-rfc5780
log-file=$LOG
simple-log
no-stdout-log
pidfile=$PIDFILE
userdb=$DIR/turndb
EOF
}

cmd_start() {
    if our_pid >/dev/null; then
        log "already running (pid $(our_pid))"
        if ! stun_probe 10; then
            log "warning: running turnserver does not answer STUN on $IP:$PORT; see $LOG"
            exit 1
        fi
        exports_line
        return 0
    fi
    if stun_probe 1; then
        log "something not started by this script already answers STUN on $IP:$PORT; refusing to start"
        exit 1
    fi
    ensure_installed
    write_config
    rm -f "$PIDFILE"
    : >"$LOG"
    log "starting turnserver $(turnserver --version 2>/dev/null | head -n1 || true), log $LOG"
    # -c: only our config, never /etc/turnserver.conf.
    if ! command -v setsid >/dev/null 2>&1; then
        log "setsid not found (util-linux); cannot start turnserver in its own session"
        exit 1
    fi
    setsid turnserver -c "$CONF" </dev/null >>"$DIR/stdout.log" 2>&1 &
    local spawned=$!
    # turnserver writes its pid file itself; make sure one exists either way.
    local i
    for i in $(seq 1 20); do
        [ -s "$PIDFILE" ] && break
        sleep 0.1
    done
    [ -s "$PIDFILE" ] || echo "$spawned" >"$PIDFILE"
    if ! stun_probe 10; then
        log "turnserver did not answer a STUN binding request on $IP:$PORT within 10 s"
        tail -n 30 "$LOG" >&2 2>/dev/null || true
        tail -n 30 "$DIR/stdout.log" >&2 2>/dev/null || true
        cmd_stop || true
        exit 1
    fi
    log "turnserver running (pid $(our_pid || echo "$spawned")), answering STUN on $IP:$PORT"
    exports_line
}

cmd_stop() {
    local pid
    if ! pid="$(our_pid)"; then
        log "not running"
        rm -f "$PIDFILE"
        return 0
    fi
    log "stopping turnserver (pid $pid)"
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "turnserver did not exit after SIGTERM, sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$PIDFILE"
}

cmd_status() {
    local pid
    if pid="$(our_pid)" && stun_probe 2; then
        log "running (pid $pid)"
        return 0
    fi
    log "not running"
    return 1
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
