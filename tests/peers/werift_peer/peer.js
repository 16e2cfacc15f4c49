#!/usr/bin/env node
// werift test peer for oxrtc's interop tests (crates/oxrtc/tests/werift.rs).
//
// Same JSON-lines signaling and behaviour as tests/peers/pion_peer/main.go: one
// JSON object per line on stdout and stdin; loopback host candidates only,
// gathered completely before the description is printed; the other side may
// trickle {"type":"candidate",...} lines.
//
//   --role offer:  creates channel "chat", prints {"type":"offer","sdp":...}, reads the answer
//   --role answer: reads {"type":"offer"}, prints {"type":"answer"}, then creates "chat"
//
// On every channel that opens (its own or the other side's) it sends the text
// "hello <label>" and the binary 00 01 02 ff, and echoes whatever arrives: text
// with an "echo:" prefix, binary as it came. {"type":"close"} closes and exits 0;
// after --timeout seconds it prints {"type":"timeout"} and exits 2.
//
// werift starts SCTP only when it is ICE-controlling (the offerer): as the
// answerer it waits for the other side's INIT.
"use strict";

const os = require("os");
const readline = require("readline");

// Host candidates from loopback only (werift skips loopback interfaces and has
// no filter that can keep only them): it gathers from os.networkInterfaces().
os.networkInterfaces = () => ({
  lo: [{ address: "127.0.0.1", netmask: "255.0.0.0", family: "IPv4", mac: "00:00:00:00:00:00", internal: false, cidr: "127.0.0.1/8" }],
});

const { RTCPeerConnection } = require("werift");

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function emit(obj) {
  const line = JSON.stringify(obj);
  process.stdout.write(line + "\n");
  process.stderr.write("werift_peer: -> " + line + "\n");
}

function fail(what, err) {
  process.stderr.write(`werift_peer: ${what}: ${err && err.stack ? err.stack : err}\n`);
  emit({ type: "error", what, error: String(err) });
  process.exit(1);
}

const role = arg("--role", "answer");
const timeout = Number(arg("--timeout", "40"));
setTimeout(() => {
  emit({ type: "timeout" });
  process.exit(2);
}, timeout * 1000).unref();

const pc = new RTCPeerConnection({ iceServers: [], iceUseIpv4: true, iceUseIpv6: false });
pc.connectionStateChange.subscribe((state) => emit({ type: "state", state }));

function serve(dc) {
  const greet = () => {
    emit({ type: "open", label: dc.label, id: dc.id });
    dc.send("hello " + dc.label);
    dc.send(Buffer.from([0, 1, 2, 0xff]));
  };
  if (dc.readyState === "open") greet();
  else dc.stateChanged.subscribe((s) => s === "open" && greet());
  dc.onMessage.subscribe((data) => {
    if (typeof data === "string") dc.send("echo:" + data);
    else dc.send(data);
  });
}

pc.onDataChannel.subscribe((dc) => {
  emit({ type: "channel", label: dc.label });
  serve(dc);
});

async function describe(kind) {
  const d = kind === "offer" ? await pc.createOffer() : await pc.createAnswer();
  await pc.setLocalDescription(d);
  if (pc.iceGatheringState !== "complete") {
    await new Promise((resolve) => {
      const sub = pc.iceGatheringStateChange.subscribe((s) => {
        if (s === "complete") {
          sub.unSubscribe();
          resolve();
        }
      });
    });
  }
  emit({ type: kind, sdp: pc.localDescription.sdp });
}

function openChat() {
  serve(pc.createDataChannel("chat"));
}

async function handle(msg) {
  switch (msg.type) {
    case "offer":
    case "answer":
      await pc.setRemoteDescription({ type: msg.type, sdp: msg.sdp });
      if (msg.type === "offer") {
        await describe("answer");
        openChat();
      }
      break;
    case "candidate":
      if (msg.candidate) {
        await pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdpMid, sdpMLineIndex: msg.sdpMLineIndex });
      }
      break;
    case "close":
      await pc.close();
      emit({ type: "closed" });
      process.exit(0);
  }
}

async function main() {
  if (role === "offer") {
    openChat();
    await describe("offer");
  } else if (role !== "answer") {
    throw new Error(`unknown role ${role}`);
  }
  // One line at a time, in order.
  let chain = Promise.resolve();
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (!line.trim()) return;
    const msg = JSON.parse(line);
    chain = chain.then(() => handle(msg)).catch((e) => fail("handling " + msg.type, e));
  });
  rl.on("close", () => chain.then(() => fail("stdin", "closed")));
}

main().catch((e) => fail("start", e));
