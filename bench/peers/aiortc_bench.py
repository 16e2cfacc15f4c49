"""aiortc's side of datachannel-bench: two aiortc peers in one process on loopback.

Run by `cargo run --release -p oxrtc-bench --bin datachannel-bench`, which measures this
process's CPU time and peak RSS. Arguments as the Rust children take them:

    aiortc_bench.py --stack aiortc --workload setup --runs N
    aiortc_bench.py --stack aiortc --workload transfer --size BYTES --count N

Prints `RESULT <value>`: the median set-up in milliseconds, or the seconds a transfer took
(first send to last message received). Loopback only: no ICE servers (aiortc's default is a
public STUN server) and host candidates on 127.0.0.1 only.
"""

import argparse
import asyncio
import statistics
import sys
import time

import aioice.ice

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection  # noqa: E402

HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1024 * 1024
DEADLINE = 150.0


def check_loopback(sdp):
    cands = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
    if not cands:
        raise RuntimeError("no candidate in the description")
    for line in cands:
        if " 127.0.0.1 " not in line:
            raise RuntimeError("non-loopback candidate: " + line)


async def connect():
    a = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tx = a.createDataChannel("bench")
    opened = asyncio.Event()
    remote = asyncio.get_running_loop().create_future()
    tx.on("open", lambda: opened.set())

    @b.on("datachannel")
    def on_channel(ch):
        if not remote.done():
            remote.set_result(ch)

    t0 = time.perf_counter()
    await a.setLocalDescription(await a.createOffer())  # aiortc gathers here (vanilla ICE)
    check_loopback(a.localDescription.sdp)
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    check_loopback(b.localDescription.sdp)
    await a.setRemoteDescription(b.localDescription)
    await opened.wait()
    rx = await remote
    return a, b, tx, rx, time.perf_counter() - t0


async def setup(runs):
    times = []
    for _ in range(max(runs, 1)):
        a, b, _, _, took = await connect()
        times.append(took * 1e3)
        await a.close()
        await b.close()
    return statistics.median(times)


async def transfer(size, count):
    a, b, tx, rx, _ = await connect()
    tx.bufferedAmountLowThreshold = LOW_WATER
    low = asyncio.Event()
    tx.on("bufferedamountlow", lambda: low.set())
    done = asyncio.Event()
    got = {"bytes": 0, "msgs": 0}

    @rx.on("message")
    def on_message(m):
        got["bytes"] += len(m)
        got["msgs"] += 1
        if got["msgs"] >= count:
            done.set()

    data = bytes([0x5A]) * size
    t0 = time.perf_counter()
    for _ in range(count):
        while tx.bufferedAmount > HIGH_WATER:
            low.clear()
            try:
                await asyncio.wait_for(low.wait(), 0.1)
            except asyncio.TimeoutError:
                pass
        tx.send(data)
    await done.wait()
    secs = time.perf_counter() - t0
    print(f"  aiortc: {got['bytes']} bytes", file=sys.stderr)
    await a.close()
    await b.close()
    return secs


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stack", default="aiortc")
    p.add_argument("--workload", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--size", type=int, default=65536)
    p.add_argument("--count", type=int, default=100)
    args = p.parse_args()
    if args.workload == "setup":
        work = setup(args.runs)
    elif args.workload == "transfer":
        work = transfer(args.size, args.count)
    else:
        raise SystemExit("unknown workload " + args.workload)
    value = await asyncio.wait_for(work, DEADLINE)
    print(f"RESULT {value}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
