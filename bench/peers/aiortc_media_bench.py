"""aiortc's side of oxrtc-media's codec benchmark (crates/media/benches/media_vs_aiortc.rs).

The Rust bench writes the inputs, so that both sides encode the same pictures and
samples and decode the same bitstreams, then runs this script in the same run:

    aiortc_media_bench.py DIR

DIR holds:
    video.i420   640x480 I420 frames, tightly packed, one after the other
    video.vp8    VP8 frames to decode, each as a 4-byte big-endian length then the frame
    audio.s16    48 kHz stereo s16le samples, 20 ms (960 samples per channel) per frame
    audio.opus   Opus packets to decode, framed like video.vp8

and this prints, for each measurement, `RESULT <name> <CPU microseconds per frame>`
(process CPU time around the loop, inputs prepared outside it). It goes through
aiortc's own codec classes (aiortc.codecs.vpx and aiortc.codecs.opus, on PyAV), as an
aiortc application's media does: VP8 at 640x480, 1 Mbit/s, aiortc's real-time
settings; Opus at aiortc's fixed 96 kbit/s stereo.
"""

import fractions
import os
import struct
import sys
import time

import av
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder
from aiortc.jitterbuffer import JitterFrame

WIDTH, HEIGHT = 640, 480
SAMPLES = 960


def framed(path):
    with open(path, "rb") as f:
        data = f.read()
    out, at = [], 0
    while at + 4 <= len(data):
        (n,) = struct.unpack(">I", data[at : at + 4])
        out.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def video_frames(path):
    y, c = WIDTH * HEIGHT, (WIDTH // 2) * (HEIGHT // 2)
    with open(path, "rb") as f:
        data = f.read()
    frames = []
    for i in range(len(data) // (y + 2 * c)):
        at = i * (y + 2 * c)
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        frame.planes[0].update(data[at : at + y])
        frame.planes[1].update(data[at + y : at + y + c])
        frame.planes[2].update(data[at + y + c : at + y + 2 * c])
        frame.pts = i * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        frames.append(frame)
    return frames


def audio_frames(path):
    with open(path, "rb") as f:
        data = f.read()
    size = SAMPLES * 2 * 2
    frames = []
    for i in range(len(data) // size):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=SAMPLES)
        frame.planes[0].update(data[i * size : (i + 1) * size])
        frame.sample_rate = 48000
        frame.pts = i * SAMPLES
        frame.time_base = fractions.Fraction(1, 48000)
        frames.append(frame)
    return frames


def per_frame(name, items, step):
    start = time.process_time()
    for item in items:
        step(item)
    elapsed = time.process_time() - start
    print(f"RESULT {name} {elapsed * 1e6 / len(items):.1f}", flush=True)


def main():
    folder = sys.argv[1]
    # One thread, as the Rust side: compare CPU, not parallelism.
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    frames = video_frames(os.path.join(folder, "video.i420"))
    encoder = Vp8Encoder()
    encoder.target_bitrate = 1_000_000
    per_frame("vp8_encode", frames, lambda f: encoder.encode(f))

    decoder = Vp8Decoder()
    vp8 = [JitterFrame(data, i * 3000) for i, data in enumerate(framed(os.path.join(folder, "video.vp8")))]
    per_frame("vp8_decode", vp8, lambda f: decoder.decode(f))

    samples = audio_frames(os.path.join(folder, "audio.s16"))
    opus = OpusEncoder()
    per_frame("opus_encode", samples, lambda f: opus.encode(f))

    opus_decoder = OpusDecoder()
    packets = [JitterFrame(data, i * SAMPLES) for i, data in enumerate(framed(os.path.join(folder, "audio.opus")))]
    per_frame("opus_decode", packets, lambda f: opus_decoder.decode(f))


if __name__ == "__main__":
    main()
