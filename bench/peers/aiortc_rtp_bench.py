"""aiortc's per-packet RTP cost, for crates/rtp/benches/rtp_vs_aiortc.rs.

Usage: aiortc_rtp_bench.py <fixture dir> (crates/rtp/tests/fixtures/chromium/vp8).

Replays the RTP a Chromium sent (rtp.bin: u32 us, u16 BE length, bytes) through
aiortc's own classes, synchronously (no event loop, no sockets, no SRTP), and
packetizes and serializes a 20 KB VP8 frame. Each workload runs several times,
each run long enough for at least 0.5 s of CPU; the median is printed as
`RESULT <name> <CPU ns per packet> <wall ns per packet>`
(CPU time of the thread, which other load on the machine does not inflate).

Workloads:
  rx_parse_depayload   RtpPacket.parse with the header extension map of the
                       offer, then depayload() for VP8 and Opus packets
  rx_receiver          what RTCDtlsTransport._handle_rtp_data and
                       RTCRtpReceiver._handle_rtp_packet do per packet: parse,
                       route (RtpRouter), the bitrate estimator (video),
                       StreamStatistics, RTX unwrap, NackGenerator (video),
                       depayload, JitterBuffer.add, TimestampMapper on frames
  tx_packetize_serialize
                       Vp8Encoder._packetize of a 20 KB frame into 1,100-byte
                       payloads, then per payload an RtpPacket with mid,
                       abs-send-time and transport-cc serialized with the map
"""

import statistics
import struct
import sys
import time
from pathlib import Path

from aiortc import rtcrtpreceiver
from aiortc.codecs import depayload, is_rtx, vpx
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rate import RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

RUNS = 5
MIN_RUN_NS = 500_000_000


def records(path):
    data = path.read_bytes()
    out = []
    at = 0
    while at + 6 <= len(data):
        micros, length = struct.unpack_from("!IH", data, at)
        out.append((micros, data[at + 6 : at + 6 + length]))
        at += 6 + length
    return out


def parse_offer(text):
    """The offer's sections: kind, mid, extmaps, ssrcs."""
    sections = []
    for line in text.splitlines():
        if line.startswith("m="):
            sections.append({"kind": line[2:].split()[0], "ext": [], "ssrcs": []})
        elif sections and line.startswith("a=extmap:"):
            id_, uri = line[len("a=extmap:") :].split()[:2]
            sections[-1]["ext"].append((int(id_.split("/")[0]), uri))
        elif sections and line.startswith("a=ssrc:"):
            ssrc = int(line[len("a=ssrc:") :].split()[0])
            if ssrc not in sections[-1]["ssrcs"]:
                sections[-1]["ssrcs"].append(ssrc)
        elif sections and line.startswith("a=ssrc-group:FID "):
            sections[-1]["fid"] = [int(s) for s in line.split()[1:]]
    return sections


def measure(packets_per_pass, one_pass):
    """Median CPU and wall ns per packet; one_pass() returns the (CPU, wall) ns it timed."""

    def run(passes):
        cpu = wall = 0
        for _ in range(passes):
            c, w = one_pass()
            cpu += c
            wall += w
        return cpu, wall

    passes = 1
    while True:
        first = run(passes)
        if first[0] >= MIN_RUN_NS:
            break
        passes = max(passes * 2, int(passes * MIN_RUN_NS * 1.2 / max(first[0], 1)))
    runs = [first] + [run(passes) for _ in range(RUNS - 1)]
    n = passes * packets_per_pass
    return statistics.median(r[0] for r in runs) / n, statistics.median(r[1] for r in runs) / n


def report(name, result):
    cpu, wall = result
    print(f"RESULT {name} {cpu:.1f} {wall:.1f}", flush=True)


class Timer:
    """CPU time of this thread and wall time, in ns, from start() to stop()."""

    def start(self):
        self.cpu = time.thread_time_ns()
        self.wall = time.perf_counter_ns()

    def stop(self):
        return time.thread_time_ns() - self.cpu, time.perf_counter_ns() - self.wall


class Receiver:
    """The per-packet state of one aiortc RTCRtpReceiver, as its __init__ makes it."""

    def __init__(self, kind, codecs, rtx_ssrc):
        self.kind = kind
        self.codecs = {c.payloadType: c for c in codecs}
        self.active_ssrc = {}
        self.remote_streams = {}
        self.rtx_ssrc = rtx_ssrc
        self.timestamp_mapper = rtcrtpreceiver.TimestampMapper()
        if kind == "audio":
            self.jitter_buffer = JitterBuffer(capacity=16, prefetch=4)
            self.nack_generator = None
            self.estimator = None
        else:
            self.jitter_buffer = JitterBuffer(capacity=512, is_video=True)
            self.nack_generator = rtcrtpreceiver.NackGenerator()
            self.estimator = RemoteBitrateEstimator()
        self.frames = 0

    def handle(self, packet, arrival_time_ms):
        # The body of RTCRtpReceiver._handle_rtp_packet without its awaits and logging.
        if self.estimator is not None and packet.extensions.abs_send_time is not None:
            self.estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
        self.active_ssrc[packet.ssrc] = rtcrtpreceiver.clock.current_datetime()
        codec = self.codecs.get(packet.payload_type)
        if codec is None:
            return
        if packet.ssrc not in self.remote_streams:
            self.remote_streams[packet.ssrc] = rtcrtpreceiver.StreamStatistics(codec.clockRate)
        self.remote_streams[packet.ssrc].add(packet)
        if is_rtx(codec):
            original_ssrc = self.rtx_ssrc.get(packet.ssrc)
            if original_ssrc is None:
                return
            apt = codec.parameters.get("apt")
            if len(packet.payload) < 2 or not isinstance(apt, int) or apt not in self.codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
            codec = self.codecs[apt]
        if self.nack_generator is not None:
            self.nack_generator.add(packet)
        try:
            packet._data = depayload(codec, packet.payload) if packet.payload else b""
        except ValueError:
            return
        _, encoded_frame = self.jitter_buffer.add(packet)
        if encoded_frame is not None:
            encoded_frame.timestamp = self.timestamp_mapper.map(encoded_frame.timestamp)
            self.frames += 1


def main():
    fixture = Path(sys.argv[1])
    rtp = records(fixture / "rtp.bin")
    offer = parse_offer((fixture / "offer.sdp").read_text())

    # One map for the BUNDLE group: Chromium gives each URI one id across sections.
    exts = {}
    for section in offer:
        for id_, uri in section["ext"]:
            exts[id_] = uri
    ext_map = HeaderExtensionsMap()
    ext_map.configure(
        RTCRtpParameters(
            headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in exts.items()]
        )
    )

    opus = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48000, channels=2, payloadType=111)
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    rtx = RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96})
    codec_of = {111: opus, 96: vp8}
    audio_ssrcs = offer[0]["ssrcs"]
    video_ssrc, rtx_ssrc = offer[1]["fid"]

    # rx_parse_depayload
    def rx_parse_depayload():
        timer = Timer()
        timer.start()
        for _, data in rtp:
            packet = RtpPacket.parse(data, ext_map)
            codec = codec_of.get(packet.payload_type)
            if codec is not None and packet.payload:
                depayload(codec, packet.payload)
        return timer.stop()

    report("rx_parse_depayload", measure(len(rtp), rx_parse_depayload))

    # rx_receiver: fresh receivers and router each pass (not timed).
    def rx_receiver():
        router = RtpRouter()
        audio = Receiver("audio", [opus], {})
        video = Receiver("video", [vp8, rtx], {rtx_ssrc: video_ssrc})
        router.register_receiver(audio, ssrcs=audio_ssrcs, payload_types=[111], mid="0")
        router.register_receiver(video, ssrcs=[video_ssrc, rtx_ssrc], payload_types=[96, 97], mid="1")
        timer = Timer()
        timer.start()
        for micros, data in rtp:
            # RTCDtlsTransport._handle_rtp_data
            try:
                packet = RtpPacket.parse(data, ext_map)
            except ValueError:
                continue
            receiver = router.route_rtp(packet)
            if receiver is not None:
                receiver.handle(packet, arrival_time_ms=micros // 1000)
        ns = timer.stop()
        assert video.frames > 50 and audio.frames > 100, (video.frames, audio.frames)
        return ns

    report("rx_receiver", measure(len(rtp), rx_receiver))

    # tx_packetize_serialize: 1,100-byte payloads (aiortc's own PACKET_MAX is 1,300).
    vpx.PACKET_MAX = 1100
    frame = bytes((i * 7) & 0xFF for i in range(20_000))
    tx_map = HeaderExtensionsMap()
    tx_map.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
                RTCRtpHeaderExtensionParameters(
                    id=3,
                    uri="http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
                ),
            ]
        )
    )
    count = len(Vp8Encoder._packetize(frame, 0))
    state = {"seq": 0, "picture_id": 0}

    def tx_packetize_serialize():
        timer = Timer()
        timer.start()
        payloads = Vp8Encoder._packetize(frame, state["picture_id"])
        state["picture_id"] = (state["picture_id"] + 1) % (1 << 15)
        seq = state["seq"]
        for i, payload in enumerate(payloads):
            packet = RtpPacket(payload_type=96, sequence_number=seq, timestamp=3000)
            packet.ssrc = 0x11223344
            packet.payload = payload
            packet.marker = (i == len(payloads) - 1) and 1 or 0
            packet.extensions.abs_send_time = seq & 0xFFFFFF
            packet.extensions.mid = "1"
            packet.extensions.transport_sequence_number = seq
            packet.serialize(tx_map)
            seq = (seq + 1) & 0xFFFF
        state["seq"] = seq
        return timer.stop()

    report("tx_packetize_serialize", measure(count, tx_packetize_serialize))
    print(f"INFO tx_packets_per_frame {count}", flush=True)


if __name__ == "__main__":
    main()
