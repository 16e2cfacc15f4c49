#!/usr/bin/env python3
"""aiortc RTCPeerConnection sending or receiving media, for oxrtc's media
interop tests (crates/oxrtc/tests/aiortc_media.rs).

Usage: python aiortc_media_peer.py send|receive [--timeout 40]

send:    adds a video track (a moving test pattern, 320x240 at 30 fps,
         encoded by aiortc's VP8 encoder) and an audio track (a 440 Hz sine,
         encoded by aiortc's Opus encoder), offers, applies the answer.
receive: waits for an offer, answers (aiortc makes a recvonly transceiver
         per section), decodes every remote track with track.recv().

Host candidates are loopback only; descriptions carry all candidates (no
trickle). Newline-separated JSON on stdin/stdout, logs on stderr.

stdout (this peer -> driver):
  {"type":"offer","sdp":S} / {"type":"answer","sdp":S}
  {"type":"connection","state":S}      connectionState changes
  {"type":"track","kind":"audio"|"video"}   a remote track (receive)
  {"type":"decoded","kind":"video","frames":N,"width":W,"height":H}
  {"type":"decoded","kind":"audio","frames":N,"sample_rate":R,"samples":S,"peak":P,
   "silent":Q,"loud":L}
      progress of the decoding (receive): after the 1st frame and then
      every 10th video / 25th audio frame; W, H, R, S of the last frame,
      P the largest absolute sample so far, Q and L how many frames had
      no sample above 64 / one of at least 4096 (s16)
  {"type":"closed"}
  {"type":"error","message":M}
stdin (driver -> this peer):
  {"type":"answer","sdp":S} (send) / {"type":"offer","sdp":S} (receive)
  {"type":"close"}: close the peer connection, print closed, exit 0.
Exit status: 0 closed, 1 error, 2 timeout.
"""

import argparse
import array
import asyncio
import fractions
import logging
import math
import sys

from jsonlines import emit, hard_exit, next_json, start_stdin_reader, start_timeout

log = logging.getLogger("aiortc_media_peer")

WIDTH, HEIGHT = 320, 240
# Decoded audio frames whose largest absolute sample is at most SILENT count
# as silent, at least LOUD as loud.
SILENT, LOUD = 64, 4096


def make_tracks():
    import av
    from aiortc import AudioStreamTrack, VideoStreamTrack

    class MovingPattern(VideoStreamTrack):
        """A horizontal luma gradient that scrolls 4 pixels a frame, with a
        grey chroma: every frame differs, so the encoder sends real deltas."""

        def __init__(self):
            super().__init__()
            self.n = 0

        async def recv(self):
            pts, time_base = await self.next_timestamp()
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            shift = (self.n * 4) % WIDTH
            y = frame.planes[0]
            gradient = bytes((x * 255) // WIDTH for x in range(WIDTH))
            row = gradient[shift:] + gradient[:shift]
            row += bytes(y.line_size - WIDTH)
            y.update(row * HEIGHT)
            for p in frame.planes[1:]:
                p.update(bytes([128]) * p.buffer_size)
            frame.pts = pts
            frame.time_base = time_base
            self.n += 1
            return frame

    class Sine(AudioStreamTrack):
        """A 440 Hz sine, 20 ms frames of 48 kHz mono s16."""

        RATE = 48000
        SAMPLES = 960

        def __init__(self):
            super().__init__()
            self.t = 0
            self.start = None

        async def recv(self):
            loop = asyncio.get_running_loop()
            if self.start is None:
                self.start = loop.time()
            else:
                await asyncio.sleep(max(0, self.start + self.t / self.RATE - loop.time()))
            samples = array.array(
                "h",
                (int(8000 * math.sin(2 * math.pi * 440 * (self.t + i) / self.RATE)) for i in range(self.SAMPLES)),
            )
            frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
            frame.planes[0].update(samples.tobytes())
            frame.pts = self.t
            frame.sample_rate = self.RATE
            frame.time_base = fractions.Fraction(1, self.RATE)
            self.t += self.SAMPLES
            return frame

    return MovingPattern(), Sine()


async def consume(track):
    """Decodes a remote track and reports progress."""
    from aiortc.mediastreams import MediaStreamError

    frames = 0
    peak = 0
    silent = loud = 0
    every = 10 if track.kind == "video" else 25
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        frames += 1
        report = {"type": "decoded", "kind": track.kind, "frames": frames}
        if track.kind == "video":
            report.update(width=frame.width, height=frame.height)
        else:
            if frame.format.name == "s16":
                samples = array.array("h", bytes(frame.planes[0]))
                frame_peak = max((abs(s) for s in samples), default=0)
                peak = max(peak, frame_peak)
                silent += frame_peak <= SILENT
                loud += frame_peak >= LOUD
            report.update(
                sample_rate=frame.sample_rate, samples=frame.samples, peak=peak, silent=silent, loud=loud
            )
        if frames == 1 or frames % every == 0:
            emit(report)


async def run(args):
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription

    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"] if use_ipv4 else []

    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()
    start_stdin_reader(loop, queue)
    pc = RTCPeerConnection()
    tasks = []

    @pc.on("connectionstatechange")
    def on_state():
        emit({"type": "connection", "state": pc.connectionState})

    @pc.on("track")
    def on_track(track):
        emit({"type": "track", "kind": track.kind})
        tasks.append(asyncio.ensure_future(consume(track)))

    if args.mode == "send":
        video, audio = make_tracks()
        pc.addTrack(video)
        pc.addTrack(audio)
        await pc.setLocalDescription(await pc.createOffer())
        emit({"type": "offer", "sdp": pc.localDescription.sdp})
    while True:
        msg = await next_json(queue)
        if msg is None or msg["type"] == "close":
            break
        if msg["type"] == "offer":
            await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            emit({"type": "answer", "sdp": pc.localDescription.sdp})
        elif msg["type"] == "answer":
            await pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
    await pc.close()
    for t in tasks:
        t.cancel()
    emit({"type": "closed"})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["send", "receive"])
    parser.add_argument("--timeout", type=float, default=40)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="aiortc_media_peer %(levelname)s %(message)s")
    start_timeout(args.timeout)
    try:
        asyncio.run(run(args))
    except Exception as exc:
        log.exception("peer failed")
        emit({"type": "error", "message": str(exc)})
        hard_exit(1)
    hard_exit(0)


if __name__ == "__main__":
    main()
