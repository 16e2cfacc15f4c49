#!/usr/bin/env python3
"""aiortc's datachannel-cli example (aiortc/examples/datachannel-cli), for
interop tests with oxrtc's datachannel-cli: same roles, same messages, same
contrib signaling. Loopback host candidates only, no STUN server.

Usage: python aiortc_datachannel_cli.py offer|answer [--signaling ...]
       [--count N] [--interval S] [--timeout S]
The offerer exits 0 after N pongs (default 3); the answerer exits 0 on bye.
"""

import argparse
import asyncio
import sys
import time

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.signaling import BYE, add_signaling_arguments, create_signaling

aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"] if use_ipv4 else []

time_start = None


def current_stamp():
    global time_start
    if time_start is None:
        time_start = time.time()
        return 0
    return int((time.time() - time_start) * 1000000)


def channel_log(channel, t, message):
    print("channel(%s) %s %s" % (channel.label, t, message), flush=True)


def channel_send(channel, message):
    channel_log(channel, ">", message)
    channel.send(message)


async def consume_signaling(pc, signaling):
    while True:
        obj = await signaling.receive()
        if isinstance(obj, RTCSessionDescription):
            await pc.setRemoteDescription(obj)
            if obj.type == "offer":
                await pc.setLocalDescription(await pc.createAnswer())
                await signaling.send(pc.localDescription)
        elif obj is BYE or obj is None:
            print("Exiting", flush=True)
            return
        else:
            await pc.addIceCandidate(obj)


async def run_answer(pc, signaling):
    await signaling.connect()

    @pc.on("datachannel")
    def on_datachannel(channel):
        channel_log(channel, "-", "created by remote party")

        @channel.on("message")
        def on_message(message):
            channel_log(channel, "<", message)
            if isinstance(message, str) and message.startswith("ping"):
                channel_send(channel, "pong" + message[4:])

    await consume_signaling(pc, signaling)


async def run_offer(pc, signaling, count, interval):
    await signaling.connect()
    channel = pc.createDataChannel("chat")
    channel_log(channel, "-", "created by local party")
    done = asyncio.Event()
    pongs = 0

    async def send_pings():
        while True:
            channel_send(channel, "ping %d" % current_stamp())
            await asyncio.sleep(interval)

    @channel.on("open")
    def on_open():
        asyncio.ensure_future(send_pings())

    @channel.on("message")
    def on_message(message):
        nonlocal pongs
        channel_log(channel, "<", message)
        if isinstance(message, str) and message.startswith("pong"):
            elapsed_ms = (current_stamp() - int(message[5:])) / 1000
            print(" RTT %.2f ms" % elapsed_ms, flush=True)
            pongs += 1
            if pongs >= count:
                done.set()

    await pc.setLocalDescription(await pc.createOffer())
    await signaling.send(pc.localDescription)
    consumer = asyncio.ensure_future(consume_signaling(pc, signaling))
    await done.wait()
    consumer.cancel()


def main():
    parser = argparse.ArgumentParser(description="Data channels ping/pong")
    parser.add_argument("role", choices=["offer", "answer"])
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--timeout", type=float, default=30)
    add_signaling_arguments(parser)
    args = parser.parse_args()

    signaling = create_signaling(args)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if args.role == "offer":
        coro = run_offer(pc, signaling, args.count, args.interval)
    else:
        coro = run_answer(pc, signaling)

    async def with_cleanup():
        try:
            await asyncio.wait_for(coro, args.timeout)
        finally:
            await pc.close()
            await signaling.close()

    try:
        asyncio.run(with_cleanup())
    except asyncio.TimeoutError:
        print("timeout", file=sys.stderr, flush=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
