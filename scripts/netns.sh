#!/usr/bin/env bash
# Runs a command inside a fresh network namespace that has only `lo` (with a
# multicast route), so that a browser started by the command can reach
# nothing but loopback. Usage: scripts/netns.sh <command> [args...]
set -euo pipefail
ns="oxrtc-test-$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link set lo multicast on
ip -n "$ns" route add 224.0.0.0/4 dev lo
ip netns exec "$ns" env OXRTC_NETNS=1 "$@"
