#!/usr/bin/env python3
"""Soak client for oxrtc's `server` example (aiortc, loopback only).

One long-lived connection pings at RATE messages per second; besides it, a new
connection every second (or every --probe-every seconds) opens a channel, gets
one pong and closes. Prints one
JSON line every 10 s with the counts, and a final one. Not run by the test
command: scripts/soak.sh drives it and records the server's RSS.

Usage: python soak_client.py URL [--seconds S] [--rate N] [--probe-every S]
"""

import argparse
import asyncio
import json
import time
import urllib.request

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"] if use_ipv4 else []

counts = {"pongs": 0, "probes_ok": 0, "probes_failed": 0, "refused": 0}


def post_offer(url, sdp):
    body = json.dumps({"sdp": sdp.sdp, "type": sdp.type}).encode()
    req = urllib.request.Request(url + "/offer", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer = json.loads(r.read())
    return RTCSessionDescription(sdp=answer["sdp"], type=answer["type"])


async def connect(url, label):
    pc = RTCPeerConnection()
    channel = pc.createDataChannel(label)
    opened = asyncio.get_running_loop().create_future()
    channel.on("open", lambda: opened.done() or opened.set_result(True))
    await pc.setLocalDescription(await pc.createOffer())
    try:
        answer = await asyncio.to_thread(post_offer, url, pc.localDescription)
    except Exception:
        counts["refused"] += 1
        await pc.close()
        return None, None
    await pc.setRemoteDescription(answer)
    await asyncio.wait_for(opened, 10)
    return pc, channel


async def pinger(url, rate, stop):
    pc, channel = await connect(url, "soak")
    if pc is None:
        raise SystemExit("the long-lived connection was refused")
    channel.on("message", lambda m: counts.__setitem__("pongs", counts["pongs"] + 1))
    n = 0
    while time.monotonic() < stop:
        channel.send(f"ping {n}")
        n += 1
        await asyncio.sleep(1 / rate)
    await pc.close()


async def probe(url):
    try:
        pc, channel = await asyncio.wait_for(connect(url, "probe"), 15)
        if pc is None:
            return
        got = asyncio.get_running_loop().create_future()
        channel.on("message", lambda m: got.done() or got.set_result(m))
        channel.send("ping probe")
        await asyncio.wait_for(got, 5)
        counts["probes_ok"] += 1
        await pc.close()
    except Exception:
        counts["probes_failed"] += 1


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--probe-every", type=float, default=1.0)
    a = ap.parse_args()
    start = time.monotonic()
    stop = start + a.seconds
    tasks = [asyncio.create_task(pinger(a.url, a.rate, stop))]
    next_report = start + 10
    while time.monotonic() < stop:
        tasks.append(asyncio.create_task(probe(a.url)))
        tasks = [t for t in tasks if not t.done()]
        await asyncio.sleep(a.probe_every)
        if time.monotonic() >= next_report:
            print(json.dumps({"t": round(time.monotonic() - start), **counts}), flush=True)
            next_report += 10
    await asyncio.wait(tasks, timeout=20)
    print(json.dumps({"t": round(time.monotonic() - start), "final": True, **counts}), flush=True)


asyncio.run(main())
