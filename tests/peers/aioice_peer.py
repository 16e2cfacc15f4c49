#!/usr/bin/env python3
"""Foreign ICE peer (aioice) for oxrtc interop tests.

Usage: python aioice_peer.py --role controlling|controlled [--timeout 30]

Driven over stdin/stdout with newline-separated JSON objects, one per line;
all logging goes to stderr and stdout is flushed after each line.

stdout (this peer -> driver):
  {"type":"params","ufrag":U,"pwd":P,"candidates":["candidate:<foundation> <component> <transport> <priority> <ip> <port> typ <type> ...", ...]}
      first line, once local (loopback-only, UDP host) candidates are gathered
  {"type":"connected","local":"ip:port","remote":"ip:port"}
      connect() succeeded (a pair is nominated); local/remote = selected pair
  {"type":"recv","data":S,"encoding":"utf8"|"hex"}
      a datagram was received (S is UTF-8 text, or lowercase hex if the bytes
      are not valid UTF-8); it was echoed back as b"echo:" + data first,
      unless it itself starts with b"echo:" (loop guard, see below)
  {"type":"bye"}                    received the datagram b"bye"; exits 0
  {"type":"closed"}                 closed on a {"type":"close"} command; exits 0
  {"type":"error","message":M}      failure (bad params, ICE failed, connection lost); exits 1
  {"type":"timeout"}                --timeout seconds elapsed; exits 2

stdin (driver -> this peer):
  1st line: {"type":"params","ufrag":U,"pwd":P,"candidates":[...]} (the remote's),
      candidates with or without the "candidate:" (or "a=candidate:") prefix;
      optional "ice_lite": true marks the remote as ICE-lite. Blank lines are
      skipped. After adding them, end-of-candidates is signalled and connect()
      is awaited.
  later lines (optional, only after connected):
      {"type":"send","data":S[,"encoding":"utf8"|"hex"]}  send one datagram
      {"type":"close"}                                     close, print closed, exit 0
  EOF on stdin after the params line is ignored.

After connecting the peer sends the datagram b"hello from aioice" once.
Received datagrams starting with b"echo:" are reported but not echoed, so two
copies of this peer do not ping-pong forever.

Exit status: 0 bye/close, 1 error, 2 timeout (whatever happens, after --timeout s).
"""

import argparse
import asyncio
import logging
import sys
import threading

from jsonlines import emit, hard_exit, next_json, on_timeout, start_stdin_reader

log = logging.getLogger("aioice_peer")

def strip_candidate_prefix(s):
    s = s.strip()
    if s.startswith("a="):
        s = s[2:]
    if s.startswith("candidate:"):
        s = s[len("candidate:"):]
    return s


def decode_payload(data):
    try:
        return data.decode("utf-8"), "utf8"
    except UnicodeDecodeError:
        return data.hex(), "hex"


def selected_pair(conn):
    # aioice has no public API for the selected pair; best effort.
    try:
        pair = conn._nominated[1]
        local = pair.local_addr
        remote = pair.remote_addr
        return f"{local[0]}:{local[1]}", f"{remote[0]}:{remote[1]}"
    except Exception:
        return None, None


async def close_conn(conn):
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception as exc:
        log.warning("close failed: %s", exc)


async def run(args):
    import aioice
    import aioice.ice
    from aioice import Candidate, Connection

    # Loopback-only host candidates. aioice calls
    # get_host_addresses(use_ipv4=..., use_ipv6=...) from gather_candidates().
    def loopback_host_addresses(use_ipv4=True, use_ipv6=True):
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = loopback_host_addresses
    log.info("aioice %s, role %s", getattr(aioice, "__version__", "?"), args.role)

    loop = asyncio.get_running_loop()
    stdin_queue = asyncio.Queue()
    start_stdin_reader(loop, stdin_queue)

    conn = Connection(
        ice_controlling=(args.role == "controlling"),
        components=1,
        use_ipv4=True,
        use_ipv6=False,
    )
    await conn.gather_candidates()
    emit(
        {
            "type": "params",
            "ufrag": conn.local_username,
            "pwd": conn.local_password,
            "candidates": ["candidate:" + c.to_sdp() for c in conn.local_candidates],
        }
    )

    async def fail(message):
        log.error("%s", message)
        emit({"type": "error", "message": message})
        await close_conn(conn)
        return 1

    # Remote params.
    try:
        remote = await next_json(stdin_queue)
    except ValueError as exc:
        return await fail(f"invalid JSON on stdin: {exc}")
    if remote is None:
        return await fail("stdin closed before the remote params line")
    if not isinstance(remote, dict) or remote.get("type") != "params":
        return await fail(f"expected a params line, got {remote!r}")
    ufrag, pwd = remote.get("ufrag"), remote.get("pwd")
    if not isinstance(ufrag, str) or not isinstance(pwd, str):
        return await fail("params line lacks ufrag/pwd strings")
    conn.remote_username = ufrag
    conn.remote_password = pwd
    conn.remote_is_lite = bool(remote.get("ice_lite", False))

    added = 0
    for raw in remote.get("candidates") or []:
        try:
            cand = Candidate.from_sdp(strip_candidate_prefix(str(raw)))
        except Exception as exc:
            log.warning("skipping unparsable remote candidate %r: %s", raw, exc)
            continue
        await conn.add_remote_candidate(cand)
        added += 1
        log.info("remote candidate %s", cand.to_sdp())
    await conn.add_remote_candidate(None)  # end-of-candidates
    log.info("%d remote candidates added, connecting", added)

    try:
        await conn.connect()
    except Exception as exc:
        return await fail(f"ICE connect failed: {exc!r}")

    local, remote_addr = selected_pair(conn)
    emit({"type": "connected", "local": local, "remote": remote_addr})

    await conn.send(b"hello from aioice")

    done = loop.create_future()

    def finish(code):
        if not done.done():
            done.set_result(code)

    async def recv_loop():
        while True:
            try:
                data = await conn.recv()
            except Exception as exc:
                emit({"type": "error", "message": f"connection lost: {exc!r}"})
                finish(1)
                return
            if data == b"bye":
                emit({"type": "bye"})
                finish(0)
                return
            if not data.startswith(b"echo:"):
                await conn.send(b"echo:" + data)
            text, encoding = decode_payload(data)
            emit({"type": "recv", "data": text, "encoding": encoding})

    async def command_loop():
        while True:
            try:
                cmd = await next_json(stdin_queue)
            except ValueError as exc:
                log.warning("ignoring invalid JSON on stdin: %s", exc)
                continue
            if cmd is None:
                log.info("stdin closed; continuing until bye or timeout")
                return
            kind = cmd.get("type") if isinstance(cmd, dict) else None
            if kind == "send":
                try:
                    if cmd.get("encoding") == "hex":
                        payload = bytes.fromhex(cmd.get("data", ""))
                    else:
                        payload = str(cmd.get("data", "")).encode("utf-8")
                    await conn.send(payload)
                except Exception as exc:
                    log.warning("send failed: %s", exc)
            elif kind == "close":
                emit({"type": "closed"})
                finish(0)
                return
            else:
                log.warning("ignoring unknown command %r", cmd)

    tasks = [asyncio.create_task(recv_loop()), asyncio.create_task(command_loop())]
    code = await done
    for t in tasks:
        t.cancel()
    await close_conn(conn)
    return code


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", required=True, choices=["controlling", "controlled"])
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()

    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, args.log_level.upper(), logging.INFO),
        format=f"%(asctime)s [{args.role}] %(name)s %(levelname)s %(message)s",
    )

    # The whole thing ends after --timeout seconds whatever happens.
    timer = threading.Timer(args.timeout, on_timeout, args=(args.timeout,))
    timer.daemon = True
    timer.start()

    try:
        code = asyncio.run(run(args))
    except Exception as exc:
        log.exception("fatal error")
        try:
            emit({"type": "error", "message": repr(exc)})
        except Exception:
            pass
        code = 1
    timer.cancel()
    hard_exit(code)


if __name__ == "__main__":
    main()
