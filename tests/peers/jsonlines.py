"""Shared plumbing of the Python test peers: newline-separated JSON on
stdout (one object per line, flushed) and stdin (read in a daemon thread
so that any kind of stdin works), and an exit that never hangs."""

import json
import logging
import os
import sys
import threading

log = logging.getLogger("peer")
_stdout_lock = threading.Lock()


def emit(obj):
    """Writes one JSON line to stdout and flushes it."""
    line = json.dumps(obj, separators=(",", ":"))
    with _stdout_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    log.info("-> %s", line)


def hard_exit(code):
    """Exits at once: a daemon thread may be blocked reading stdin, which
    would make a normal interpreter shutdown hang or abort."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def on_timeout(seconds):
    """Prints {"type":"timeout"} and exits with status 2."""
    log.error("timeout after %s s, exiting with status 2", seconds)
    try:
        emit({"type": "timeout"})
    finally:
        hard_exit(2)


def start_timeout(seconds):
    """Calls on_timeout after `seconds`, whatever the event loop does."""
    timer = threading.Timer(seconds, on_timeout, args=(seconds,))
    timer.daemon = True
    timer.start()


def start_stdin_reader(loop, queue):
    """Hands stdin lines to `queue` on `loop`; None marks EOF."""

    def reader():
        try:
            for raw in sys.stdin.buffer:
                loop.call_soon_threadsafe(queue.put_nowait, raw.decode("utf-8", "replace"))
        except Exception as exc:  # pragma: no cover
            log.warning("stdin read failed: %s", exc)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="stdin", daemon=True).start()


async def next_json(queue):
    """The next non-blank stdin line parsed as JSON, or None on EOF."""
    while True:
        line = await queue.get()
        if line is None:
            return None
        line = line.strip()
        if line:
            return json.loads(line)
