#!/usr/bin/env python3
"""Captures the RTP and RTCP a real headless Chromium sends when it sends its
fake camera and microphone, decrypted, as test fixtures for crates/rtp
(crates/rtp/tests/fixtures/chromium/README.md describes the files).

Run it inside a network namespace that has only `lo`, as root:

    PY="$(scripts/pyenv.sh)"
    scripts/netns.sh "$PY" tests/peers/capture_chromium_rtp.py \
        --out crates/rtp/tests/fixtures/chromium/vp8 --video-codec VP8 --seconds 10

Not run by `cargo test`; the fixtures it wrote are committed.

How: this script serves a page on 127.0.0.1 whose JS calls getUserMedia
(Chromium's fake devices), offers audio and video, and POSTs the offer here.
aiortc answers, receives the media (MediaBlackhole) and sends a test-pattern
video back, so that Chromium also sends receiver feedback. Every SRTP and
SRTCP packet aiortc unprotects is recorded before aiortc sees it.

To make Chromium send all it can, the answer aiortc produced is edited
before it goes to the browser: each m-section gets every `a=extmap` line
and every `a=rtcp-fb` line of the offer for the payload types the answer
kept (aiortc ignores extensions it does not know), plus
`a=extmap-allow-mixed` when offered. aiortc is patched to
- stamp a transport-wide sequence number on the RTP it sends, from half of
  the run on (before that Chromium estimates from abs-send-time and sends
  REMB, after it sends transport-wide feedback);
- drop its first video frame (the keyframe): Chromium asks for one (PLI);
- drop one of its outgoing video packets once (Chromium NACKs it, aiortc
  resends it as RTX) and one for good, with all its retransmissions
  (Chromium NACKs it until it gives up, and may ask for a keyframe);
- not process two of the video packets it receives (aiortc NACKs them, so
  Chromium sends RTX); they are recorded all the same.

Everything is bounded in time: the browser is killed after --seconds (plus
at most 20 s of setup), and the script exits.
"""

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import time

import aioice.ice

# Loopback only, even outside a namespace.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"] if use_ipv4 else []

import aiortc.codecs  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack  # noqa: E402
from aiortc.contrib.media import MediaBlackhole  # noqa: E402
from aiortc.rtcdtlstransport import RTCDtlsTransport  # noqa: E402
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters  # noqa: E402
from aiortc.rtp import RtpPacket, is_rtcp  # noqa: E402

log = logging.getLogger("capture")

# Seconds after the answer: when aiortc skips an incoming video packet (it
# NACKs them, Chromium resends them as RTX), drops an outgoing one once, and
# starts dropping one outgoing packet for good.
SKIP_INCOMING_AT = (1.0, 1.2)
DROP_ONCE_AT = 1.5
BLACKHOLE_AT = 2.5

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

PAGE = """<!doctype html>
<html><body><video id="remote" autoplay muted playsinline></video>
<script>
const VIDEO_CODEC = %(codec)s;
const MAX_BITRATE = %(max_bitrate)d;
const SIMULCAST = %(simulcast)s;
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', body: JSON.stringify(body)});
  return r.json();
}
function say(msg) { post('/log', {msg: String(msg)}).catch(() => {}); }
async function main() {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true, video: {width: 640, height: 480, frameRate: 15}});
  const pc = new RTCPeerConnection();
  pc.ontrack = (e) => {
    const v = document.getElementById('remote');
    if (!v.srcObject) v.srcObject = new MediaStream();
    v.srcObject.addTrack(e.track);
  };
  pc.onconnectionstatechange = () => say('connection ' + pc.connectionState);
  for (const track of stream.getTracks()) {
    const init = {direction: 'sendrecv', streams: [stream]};
    if (track.kind === 'video' && SIMULCAST) {
      init.sendEncodings = [{rid: 'l', scaleResolutionDownBy: 2}, {rid: 'h'}];
    }
    const t = pc.addTransceiver(track, init);
    if (track.kind === 'video') {
      const caps = RTCRtpSender.getCapabilities('video').codecs;
      const main = caps.filter(c => c.mimeType.toLowerCase() === 'video/' + VIDEO_CODEC.toLowerCase()
          && (VIDEO_CODEC !== 'H264' || (c.sdpFmtpLine || '').includes('packetization-mode=1')));
      if (main.length === 0) { say('no codec ' + VIDEO_CODEC); return; }
      const rtx = caps.filter(c => c.mimeType.toLowerCase() === 'video/rtx');
      t.setCodecPreferences(main.slice(0, 1).concat(rtx));
      const p = t.sender.getParameters();
      for (const e of p.encodings || []) e.maxBitrate = MAX_BITRATE;
      if (p.encodings && p.encodings.length) await t.sender.setParameters(p);
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 3000);
  });
  const answer = await post('/offer', {type: 'offer', sdp: pc.localDescription.sdp});
  await pc.setRemoteDescription(answer);
  say('answer applied');
}
main().catch((e) => say('error ' + e));
</script></body></html>
"""


class Recorder:
    """Keeps every decrypted packet with its arrival time."""

    def __init__(self):
        self.t0 = None
        self.rtp = []
        self.rtcp = []

    def add(self, kind, data):
        now = time.monotonic()
        if self.t0 is None:
            self.t0 = now
        micros = int((now - self.t0) * 1_000_000)
        (self.rtp if kind == "rtp" else self.rtcp).append((micros, bytes(data)))


def write_records(path, records):
    with open(path, "wb") as f:
        for micros, data in records:
            f.write(struct.pack("!IH", micros & 0xFFFFFFFF, len(data)))
            f.write(data)


def sections(sdp):
    """Splits an SDP into its session part and its m-sections (lists of lines)."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    parts = [[]]
    for line in lines:
        if line.startswith("m="):
            parts.append([])
        parts[-1].append(line)
    return parts[0], parts[1:]


def edit_answer(offer_sdp, answer_sdp):
    """Gives each answer m-section all of the offer's extmap lines and the
    offer's rtcp-fb lines for the payload types it kept."""
    o_session, o_media = sections(offer_sdp)
    a_session, a_media = sections(answer_sdp)
    if "a=extmap-allow-mixed" in o_session and "a=extmap-allow-mixed" not in a_session:
        a_session.append("a=extmap-allow-mixed")
    out_media = []
    for o, a in zip(o_media, a_media):
        pts = a[0].split()[3:]
        offered_ext = [line for line in o if line.startswith("a=extmap:")]
        offered_fb = [line for line in o if line.startswith("a=rtcp-fb:") and line[10:].split()[0] in pts]
        kept = [line for line in a if not line.startswith("a=extmap:") and not line.startswith("a=rtcp-fb:")]
        # Put them after the rtpmap lines, where browsers put them.
        new = []
        for line in kept:
            new.append(line)
            if line.startswith("a=mid:"):
                new.extend(offered_ext)
        if not any(line.startswith("a=mid:") for line in kept):
            new.extend(offered_ext)
        new.extend(offered_fb)
        # Accept the offer's simulcast (aiortc knows none): its rids, received.
        rids = [line.split()[0][6:] for line in o if line.startswith("a=rid:") and line.endswith(" send")]
        if rids:
            new.extend(f"a=rid:{rid} recv" for rid in rids)
            new.append("a=simulcast:recv " + ";".join(rids))
        out_media.append(new)
    return "\r\n".join(a_session + [line for m in out_media for line in m]) + "\r\n"


def fixture_sdp(sdp):
    """The SDP without per-run secrets and addresses (ICE credentials,
    fingerprints, candidates), for the fixture directory."""
    drop = ("a=ice-ufrag", "a=ice-pwd", "a=fingerprint", "a=candidate", "a=end-of-candidates", "o=", "c=",
            "a=rtcp:", "a=ice-options")
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line and not line.startswith(drop)]
    return "\n".join(lines) + "\n"


class Patches:
    """State of the patches made to aiortc's DTLS transport."""

    def __init__(self, recorder, seconds, twcc_from):
        self.recorder = recorder
        self.start = time.monotonic()
        self.twcc_from = self.start + twcc_from * seconds
        self.twcc_seq = 0
        self.video_pts = set()  # aiortc's outgoing video media payload type
        self.rtx_pts = set()
        self.drop_once = None
        self.first_frame_dropped = False
        self.blackhole = None
        self.in_video_pts = set()
        self.skipped = []
        self.dropped_out = 0

    def install(self):
        patches = self
        orig_rtp = RTCDtlsTransport._handle_rtp_data
        orig_rtcp = RTCDtlsTransport._handle_rtcp_data
        orig_send = RTCDtlsTransport._send_rtp

        async def handle_rtp(self, data, arrival_time_ms):
            patches.recorder.add("rtp", data)
            pt = data[1] & 0x7F
            if pt in patches.in_video_pts:
                elapsed = time.monotonic() - patches.start
                if len(patches.skipped) < len(SKIP_INCOMING_AT) and elapsed >= SKIP_INCOMING_AT[len(patches.skipped)]:
                    patches.skipped.append(struct.unpack("!H", data[2:4])[0])
                    return
            await orig_rtp(self, data, arrival_time_ms)

        async def handle_rtcp(self, data):
            patches.recorder.add("rtcp", data)
            await orig_rtcp(self, data)

        async def send_rtp(self, data):
            if not is_rtcp(data):
                pt = data[1] & 0x7F
                seq = struct.unpack("!H", data[2:4])[0]
                if pt in patches.video_pts:
                    elapsed = time.monotonic() - patches.start
                    if not patches.first_frame_dropped:
                        patches.first_frame_dropped = bool(data[1] & 0x80)
                        patches.dropped_out += 1
                        return
                    if patches.drop_once is None and elapsed >= DROP_ONCE_AT:
                        patches.drop_once = seq
                        patches.dropped_out += 1
                        return
                    if patches.blackhole is None and elapsed >= BLACKHOLE_AT:
                        patches.blackhole = seq
                    if seq == patches.blackhole:
                        patches.dropped_out += 1
                        return
                elif pt in patches.rtx_pts and len(data) >= 14:
                    packet = RtpPacket.parse(data)
                    osn = struct.unpack("!H", packet.payload[:2])[0]
                    if osn == patches.blackhole:
                        patches.dropped_out += 1
                        return
                if time.monotonic() >= patches.twcc_from:
                    packet = RtpPacket.parse(data, self._rtp_header_extensions_map)
                    packet.extensions.transport_sequence_number = patches.twcc_seq
                    patches.twcc_seq = (patches.twcc_seq + 1) & 0xFFFF
                    data = packet.serialize(self._rtp_header_extensions_map)
            await orig_send(self, data)

        RTCDtlsTransport._handle_rtp_data = handle_rtp
        RTCDtlsTransport._handle_rtcp_data = handle_rtcp
        RTCDtlsTransport._send_rtp = send_rtp


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return method, path, body


def response(status, ctype, body):
    return (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


async def run(args):
    recorder = Recorder()
    patches = Patches(recorder, args.seconds, args.twcc_from)
    patches.install()
    # aiortc negotiates transport-wide-cc (ids from the offer) so that its
    # RTP map can write it.
    for kind in ("audio", "video"):
        aiortc.codecs.HEADER_EXTENSIONS[kind].append(RTCRtpHeaderExtensionParameters(id=5, uri=TWCC_URI))

    pc = RTCPeerConnection()
    blackhole = MediaBlackhole()
    answered = asyncio.Event()
    state = {}

    @pc.on("track")
    def on_track(track):
        blackhole.addTrack(track)

    @pc.on("connectionstatechange")
    async def on_state():
        log.info("aiortc connection %s", pc.connectionState)

    async def handle(reader, writer):
        try:
            method, path, body = await asyncio.wait_for(read_request(reader), 10)
            if method == "GET" and path == "/":
                page = PAGE % {"codec": json.dumps(args.video_codec), "max_bitrate": args.max_bitrate,
                               "simulcast": json.dumps(args.simulcast)}
                writer.write(response("200 OK", "text/html", page.encode()))
            elif method == "POST" and path == "/log":
                log.info("page: %s", json.loads(body)["msg"])
                writer.write(response("200 OK", "application/json", b"{}"))
            elif method == "POST" and path == "/offer" and "offer" not in state:
                offer = json.loads(body)
                state["offer"] = offer["sdp"]
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
                pc.addTrack(VideoStreamTrack())
                await pc.setLocalDescription(await pc.createAnswer())
                answer = edit_answer(offer["sdp"], pc.localDescription.sdp)
                state["answer"] = answer
                for t in pc.getTransceivers():
                    for c in t._codecs:
                        if t.kind == "video":
                            (patches.rtx_pts if c.name == "rtx" else patches.video_pts).add(c.payloadType)
                            if c.name != "rtx":
                                patches.in_video_pts.add(c.payloadType)
                log.info("video pts %s rtx %s", patches.video_pts, patches.rtx_pts)
                await blackhole.start()
                writer.write(response("200 OK", "application/json",
                                      json.dumps({"type": "answer", "sdp": answer}).encode()))
                answered.set()
            else:
                writer.write(response("404 Not Found", "text/plain", b""))
            await writer.drain()
        except Exception as exc:  # a bad request must not stop the capture
            log.warning("request failed: %r", exc)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = tempfile.mkdtemp(prefix="oxrtc-capture-")
    browser = await asyncio.create_subprocess_exec(
        args.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
        f"http://127.0.0.1:{port}/",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True)
    try:
        await asyncio.wait_for(answered.wait(), 20)
        patches.start = time.monotonic()
        patches.twcc_from = patches.start + args.twcc_from * args.seconds
        await asyncio.sleep(args.seconds)
    finally:
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(browser.wait(), 5)
        except asyncio.TimeoutError:
            log.warning("chromium did not exit")
        shutil.rmtree(profile, ignore_errors=True)
        server.close()
        try:
            await asyncio.wait_for(blackhole.stop(), 5)
            await asyncio.wait_for(pc.close(), 5)
        except Exception as exc:
            log.warning("close: %r", exc)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "offer.sdp"), "w") as f:
        f.write(fixture_sdp(state["offer"]))
    with open(os.path.join(args.out, "answer.sdp"), "w") as f:
        f.write(fixture_sdp(state["answer"]))
    write_records(os.path.join(args.out, "rtp.bin"), recorder.rtp)
    write_records(os.path.join(args.out, "rtcp.bin"), recorder.rtcp)
    log.info("recorded %d RTP (%d bytes) and %d RTCP packets; skipped incoming seqs %s; dropped %d outgoing; "
             "%d stamped with transport-cc", len(recorder.rtp), sum(len(d) for _, d in recorder.rtp),
             len(recorder.rtcp), patches.skipped, patches.dropped_out, patches.twcc_seq)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for the fixture files")
    parser.add_argument("--video-codec", default="VP8", choices=["VP8", "H264"])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-bitrate", type=int, default=200_000, help="Chromium's video maxBitrate (bit/s)")
    parser.add_argument("--simulcast", action="store_true",
                        help="send the video as two simulcast encodings (rids l and h)")
    parser.add_argument("--twcc-from", type=float, default=0.5,
                        help="share of the run after which aiortc stamps transport-wide sequence numbers")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    # A last resort if something in the asyncio world hangs.
    signal.alarm(int(args.seconds) + 60)
    asyncio.run(asyncio.wait_for(run(args), args.seconds + 50))


if __name__ == "__main__":
    main()
