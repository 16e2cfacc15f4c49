#!/usr/bin/env python3
"""Foreign ORTC peer (aiortc's RTCIceGatherer, RTCIceTransport and
RTCDtlsTransport) for oxrtc interop tests.

Usage: python aiortc_ortc_peer.py --ice-role controlling|controlled [--srtp-profile NAME] [--timeout 30]

--srtp-profile restricts the SRTP profiles aiortc offers or accepts to one
(OpenSSL name, e.g. SRTP_AES128_CM_SHA1_80); by default all it supports.

aiortc picks its DTLS role from the ICE role: controlling is the DTLS server,
controlled the client. Host candidates are loopback only.

Newline-separated JSON on stdin/stdout, one object per line; logs go to stderr.

stdout (this peer -> driver):
  {"type":"params","ufrag":U,"pwd":P,"candidates":[...],"fingerprints":[{"algorithm":A,"value":V},...]}
  {"type":"connected","srtp_profile":"SRTP_AEAD_AES_128_GCM"|...}   DTLS is up
  {"type":"data","hex":H}     DTLS application data received; echoed as b"echo:" + data
  {"type":"rtp","ssrc":N,"seq":N,"payload_hex":H}
                              an SRTP packet unprotected by libsrtp; echoed back as an RTP
                              packet with SSRC 0x0a0b0c0d, the same sequence number and
                              b"echo:" + payload
  {"type":"rtcp","hex":H}     an SRTCP packet unprotected by libsrtp (not echoed)
  {"type":"closed"}           DTLS closed (by us on "close", or by the peer)
  {"type":"error","message":M}
stdin (driver -> this peer):
  1st line: {"type":"params","ufrag":U,"pwd":P,"candidates":[...],"fingerprints":[...]}
  then {"type":"close"}: stop DTLS (close_notify) and ICE, print closed, exit 0.

Once connected the peer sends the DTLS record b"hello from aiortc" and one
RTP packet (SSRC 0x01020304, sequence 4660, payload b"rtp from aiortc").

With --sctp, DTLS carries aiortc's RTCSctpTransport instead (port 5000,
max message size 65536) and the peer, once connected:
  opens channel "from-aiortc" (reliable, ordered) and "lossy-aiortc"
  (maxRetransmits 0, unordered) and sends on each the text "hello <label>" and
  the bytes 00 01 02 ff;
  echoes every message on every channel: text t -> "echo:" + t, bytes -> same bytes.
stdout then also has:
  {"type":"channel","label":L,"id":N,"ordered":B,"max_retransmits":N|null,"protocol":P}
      a channel opened by the remote side
  {"type":"message","label":L,"text":T} or {"type":"message","label":L,"hex":H}
  (binary messages over 1 KiB: {"type":"message","label":L,"len":N,"sum":S}, S the byte sum)
Exit status: 0 closed, 1 error, 2 timeout.
"""

import argparse
import asyncio
import logging
import struct
import os
import sys

from jsonlines import emit, hard_exit, next_json, start_stdin_reader, start_timeout

log = logging.getLogger("aiortc_ortc_peer")


def rtp_packet(ssrc, seq, payload, pt=96):
    return struct.pack("!BBHII", 0x80, pt, seq, 1000 + seq, ssrc) + payload


async def run(args):
    import aioice.ice
    from aiortc import (
        RTCCertificate,
        RTCDtlsFingerprint,
        RTCDtlsParameters,
        RTCDtlsTransport,
        RTCIceGatherer,
        RTCIceParameters,
        RTCIceTransport,
    )
    from aiortc.rtcicetransport import candidate_from_aioice
    from aioice import Candidate

    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"] if use_ipv4 else []

    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    start_stdin_reader(loop, queue)

    # No servers: aiortc's default is a public STUN server, and tests talk to loopback only.
    gatherer = RTCIceGatherer(iceServers=[])
    gatherer._connection.ice_controlling = args.ice_role == "controlling"
    await gatherer.gather()
    ice = RTCIceTransport(gatherer)
    certificate = RTCCertificate.generateCertificate()
    dtls = RTCDtlsTransport(ice, [certificate])
    if args.srtp_profile:
        dtls._srtp_profiles = [p for p in dtls._srtp_profiles if p.openssl_profile.decode() == args.srtp_profile]
        if not dtls._srtp_profiles:
            emit({"type": "error", "message": f"aiortc does not support {args.srtp_profile}"})
            return 1
    local = gatherer.getLocalParameters()
    emit(
        {
            "type": "params",
            "ufrag": local.usernameFragment,
            "pwd": local.password,
            "candidates": ["candidate:" + c.to_sdp() for c in gatherer._connection.local_candidates],
            "fingerprints": [
                {"algorithm": f.algorithm, "value": f.value} for f in dtls.getLocalParameters().fingerprints
            ],
        }
    )

    remote = await next_json(queue)
    if not remote or remote.get("type") != "params":
        emit({"type": "error", "message": f"expected params, got {remote!r}"})
        return 1
    for raw in remote["candidates"]:
        raw = raw[len("candidate:"):] if raw.startswith("candidate:") else raw
        await ice.addRemoteCandidate(candidate_from_aioice(Candidate.from_sdp(raw)))
    await ice.addRemoteCandidate(None)

    # Echo DTLS data and RTP; report RTCP (without SCTP).
    class DataReceiver:
        async def _handle_data(self, data):
            emit({"type": "data", "hex": data.hex()})
            if not data.startswith(b"echo:"):
                await dtls._send_data(b"echo:" + data)

        def _handle_disconnect(self):
            pass

    if not args.sctp:
        dtls._register_data_receiver(DataReceiver())

    async def handle_rtp(data, arrival_time_ms):
        _, _, seq, _, ssrc = struct.unpack("!BBHII", data[:12])
        payload = data[12:]
        emit({"type": "rtp", "ssrc": ssrc, "seq": seq, "payload_hex": payload.hex()})
        await dtls._send_rtp(rtp_packet(0x0A0B0C0D, seq, b"echo:" + payload))

    async def handle_rtcp(data):
        emit({"type": "rtcp", "hex": data.hex()})

    dtls._handle_rtp_data = handle_rtp
    dtls._handle_rtcp_data = handle_rtcp

    closed = asyncio.Event()

    @dtls.on("statechange")
    def on_state():
        if dtls.state in ("closed", "failed"):
            closed.set()

    remote_ice = RTCIceParameters(usernameFragment=remote["ufrag"], password=remote["pwd"])
    remote_dtls = RTCDtlsParameters(
        fingerprints=[RTCDtlsFingerprint(algorithm=f["algorithm"], value=f["value"]) for f in remote["fingerprints"]]
    )
    try:
        await ice.start(remote_ice)
        await dtls.start(remote_dtls)
    except Exception as exc:
        emit({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        return 1
    profile = dtls._ssl.get_selected_srtp_profile().decode()
    emit({"type": "connected", "srtp_profile": profile})
    if args.sctp:
        await run_sctp(dtls)
    else:
        await dtls._send_data(b"hello from aiortc")
        await dtls._send_rtp(rtp_packet(0x01020304, 4660, b"rtp from aiortc"))

    async def commands():
        while True:
            cmd = await next_json(queue)
            if cmd is None or cmd.get("type") == "close":
                return

    done, _ = await asyncio.wait(
        [asyncio.ensure_future(commands()), asyncio.ensure_future(closed.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    await dtls.stop()
    await ice.stop()
    emit({"type": "closed"})
    return 0


async def run_sctp(dtls):
    from aiortc import RTCDataChannel, RTCDataChannelParameters, RTCSctpCapabilities, RTCSctpTransport

    sctp = RTCSctpTransport(dtls)

    def echo(channel):
        @channel.on("message")
        def on_message(message):
            if isinstance(message, str):
                emit({"type": "message", "label": channel.label, "text": message})
                if not message.startswith("echo:"):
                    channel.send("echo:" + message)
            else:
                if len(message) <= 1024:
                    emit({"type": "message", "label": channel.label, "hex": message.hex()})
                else:
                    # Keep stdout lines short: the driver reads them later.
                    emit({"type": "message", "label": channel.label, "len": len(message), "sum": sum(message)})
                channel.send(message)

    @sctp.on("datachannel")
    def on_datachannel(channel):
        emit(
            {
                "type": "channel",
                "label": channel.label,
                "id": channel.id,
                "ordered": channel.ordered,
                "max_retransmits": channel.maxRetransmits,
                "protocol": channel.protocol,
            }
        )
        echo(channel)

    await sctp.start(RTCSctpCapabilities(maxMessageSize=65536), 5000)
    for label, params in [
        ("from-aiortc", RTCDataChannelParameters(label="from-aiortc")),
        ("lossy-aiortc", RTCDataChannelParameters(label="lossy-aiortc", ordered=False, maxRetransmits=0)),
    ]:
        channel = RTCDataChannel(sctp, params)
        echo(channel)

        def greet(channel=channel, label=label):
            channel.send("hello " + label)
            channel.send(b"\x00\x01\x02\xff")

        if channel.readyState == "open":
            greet()
        else:
            channel.on("open", greet)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ice-role", choices=["controlling", "controlled"], required=True)
    parser.add_argument("--srtp-profile")
    parser.add_argument("--sctp", action="store_true")
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
    if os.environ.get("AIORTC_SCTP_DEBUG"):
        logging.getLogger("aiortc.rtcsctptransport").setLevel(logging.DEBUG)
    start_timeout(args.timeout)
    hard_exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
