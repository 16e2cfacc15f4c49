// Chromium side of oxrtc's interop tests. The query string picks the
// scenario: ?mode=offerer (this page offers, the Rust side echoes) or
// ?mode=answerer (the Rust side offers and drives, this page echoes), or
// ?mode=receiver (the Rust side offers video it sends; this page reports
// what it decodes), or ?mode=simulcast (this page offers its camera as
// three simulcast encodings, l, m and h, and reports what it sends);
// &media=1 adds a fake camera and microphone to the offer. Every outcome is
// POSTed to /result as {ok, log}.
'use strict';
const params = new URLSearchParams(location.search);
const lines = [];
const log = (l) => { lines.push(l); document.getElementById('log').textContent += l + '\n'; };
const post = (path, body) => fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const finish = (ok, why) => { log((ok ? 'PASS ' : 'FAIL ') + (why || '')); return post('result', { ok, log: lines }); };
const gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
});
const opened = (dc) => new Promise((resolve, reject) => {
  if (dc.readyState === 'open') return resolve();
  dc.onopen = resolve;
  dc.onerror = (e) => reject(new Error('channel ' + dc.label + ' error ' + e.error));
});
const nextMessage = (dc) => new Promise((resolve) => { dc.onmessage = (e) => resolve(e.data); });
const sum = (bytes) => { let s = 0; for (const b of bytes) s = (s + b) >>> 0; return s; };

async function offerer() {
  const pc = new RTCPeerConnection();
  pc.onconnectionstatechange = () => log('connection ' + pc.connectionState);
  if (params.get('media') === '1') {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
  }
  const echo = pc.createDataChannel('echo');
  echo.binaryType = 'arraybuffer';
  const multi = [];
  for (let i = 0; i < 10; i++) multi.push(pc.createDataChannel('multi-' + i, { ordered: i % 2 === 0 }));
  await pc.setLocalDescription(await pc.createOffer());
  const offeredTransceivers = pc.getTransceivers().length;
  await gathered(pc);
  const r = await post('offer', { sdp: pc.localDescription.sdp, type: 'offer' });
  const answer = await r.json();
  log('answer:\n' + answer.sdp);
  await pc.setRemoteDescription(answer);
  await opened(echo);
  log('sctp maxMessageSize ' + pc.sctp.maxMessageSize);

  echo.send('hello');
  let m = await nextMessage(echo);
  if (m !== 'echo:hello') return finish(false, 'text echo: ' + m);
  const bin = new Uint8Array(256).map((_, i) => i);
  echo.send(bin);
  m = new Uint8Array(await nextMessage(echo));
  if (m.length !== 256 || m.some((b, i) => b !== i)) return finish(false, 'binary echo');
  echo.send('');
  m = await nextMessage(echo);
  if (m !== 'echo:') return finish(false, 'empty string echo: ' + JSON.stringify(m));
  // We advertise 2 MiB; Chromium caps what it sends at its own 256 KiB.
  if (pc.sctp.maxMessageSize !== 262144) return finish(false, 'maxMessageSize ' + pc.sctp.maxMessageSize);
  const big = new Uint8Array(pc.sctp.maxMessageSize).map((_, i) => (i * 7) % 251);
  echo.send(big);
  m = await nextMessage(echo);
  if (m !== 'len:' + big.length + ':sum:' + sum(big)) return finish(false, 'largest message: ' + m);
  log('message of maxMessageSize bytes ok');
  // Over the limit: the W3C says send() throws a TypeError (Chromium 156
  // does); Chromium 148 sends it anyway, since we advertise 2 MiB. Either
  // way it must never arrive cut.
  const huge = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) % 251);
  let refused = null;
  try { echo.send(huge); } catch (e) { refused = e; }
  if (refused !== null) {
    if (!(refused instanceof TypeError)) return finish(false, '1 MiB refused with ' + refused.name + ', not TypeError');
    log('1 MiB send refused');
  } else {
    // Not refused (Chromium 148): it may go whole or be dropped whole by
    // the browser's SCTP, never cut. A marker sent after it tells.
    echo.send('after-1MiB');
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10000));
    m = await Promise.race([nextMessage(echo), timeout]);
    if (m === 'len:' + huge.length + ':sum:' + sum(huge)) {
      log('1 MiB message not refused by this Chromium; it arrived whole');
      m = await Promise.race([nextMessage(echo), timeout]);
    } else {
      log('1 MiB message not refused by this Chromium; it was not delivered');
    }
    if (m !== 'echo:after-1MiB' && echo.readyState === 'open') return finish(false, '1 MiB message: got ' + m);
  }

  await Promise.all(multi.map(async (dc, i) => {
    await opened(dc);
    dc.send('m-' + i);
    const got = await nextMessage(dc);
    if (got !== 'echo:m-' + i) throw new Error('channel ' + i + ' got ' + got);
  }));
  log('10 channels ok');
  const withMedia = params.get('media') === '1';
  // Our answer takes the camera's audio and video, receive only: Chromium sends.
  const sending = pc.getTransceivers().filter((t) => t.currentDirection === 'sendonly').length;
  if (withMedia && (offeredTransceivers !== 2 || sending !== 2)) {
    return finish(false, 'media: ' + offeredTransceivers + ' offered, ' + sending + ' sending');
  }
  if (withMedia) {
    // Chromium's outbound RTP went out over the bundle (SRTP keys from our DTLS).
    let sent = 0;
    for (let i = 0; i < 50 && sent < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      sent = 0;
      (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp') sent += s.packetsSent; });
    }
    if (sent < 20) return finish(false, 'media: only ' + sent + ' RTP packets sent');
    log('media: ' + sent + ' RTP packets sent');
  }
  return finish(true);
}

async function answerer() {
  const pc = new RTCPeerConnection();
  pc.onconnectionstatechange = () => log('connection ' + pc.connectionState);
  let channels = 0;
  pc.ondatachannel = (e) => {
    const dc = e.channel;
    dc.binaryType = 'arraybuffer';
    channels++;
    log('datachannel ' + dc.label + ' id ' + dc.id);
    dc.onmessage = (m) => {
      if (typeof m.data === 'string') {
        if (m.data === 'done') return finish(true, channels + ' channels');
        dc.send('echo:' + m.data);
      } else {
        dc.send(m.data);
      }
    };
  };
  const offer = await (await fetch('offer')).json();
  log('offer:\n' + offer.sdp);
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  await post('answer', { sdp: pc.localDescription.sdp, type: 'answer' });
}

async function receiver() {
  const pc = new RTCPeerConnection();
  pc.onconnectionstatechange = () => log('connection ' + pc.connectionState);
  pc.ontrack = (e) => log('track ' + e.track.kind + ' mid ' + e.transceiver.mid);
  const offer = await (await fetch('offer')).json();
  await pc.setRemoteDescription(offer);
  await pc.setLocalDescription(await pc.createAnswer());
  await gathered(pc);
  await post('answer', { sdp: pc.localDescription.sdp, type: 'answer' });
  let v = {};
  // &widths=160,640: the decoded width must take these values, in order.
  const widths = (params.get('widths') || '').split(',').filter((w) => w).map(Number);
  const seen = [];
  for (let i = 0; i < 250; i++) {
    await new Promise((r) => setTimeout(r, 100));
    (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') v = s; });
    if (v.frameWidth && seen[seen.length - 1] !== v.frameWidth) { seen.push(v.frameWidth); log('decoding ' + v.frameWidth + 'x' + v.frameHeight); }
    const sizesSeen = widths.every((w, k) => seen.indexOf(w) >= 0 && (k === 0 || seen.indexOf(w) > seen.indexOf(widths[k - 1])));
    if ((v.framesDecoded || 0) >= 30 && sizesSeen) {
      return finish(true, 'decoded ' + v.framesDecoded + ' frames ' + v.frameWidth + 'x' + v.frameHeight
        + ', ' + v.keyFramesDecoded + ' keyframes, ' + v.packetsLost + ' lost, ' + v.nackCount + ' NACKs');
    }
  }
  return finish(false, 'decoded ' + (v.framesDecoded || 0) + ' frames of ' + (v.packetsReceived || 0) + ' packets, widths ' + seen);
}

async function simulcast() {
  const pc = new RTCPeerConnection();
  // &hold=1: keep sending after reporting (a forwarding test reads on).
  if (params.get('hold') === '1') window.held = pc;
  pc.onconnectionstatechange = () => log('connection ' + pc.connectionState);
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  pc.addTransceiver(stream.getVideoTracks()[0], {
    direction: 'sendonly',
    sendEncodings: [
      { rid: 'l', scaleResolutionDownBy: 4 },
      { rid: 'm', scaleResolutionDownBy: 2 },
      { rid: 'h' },
    ],
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const r = await post('offer', { sdp: pc.localDescription.sdp, type: 'offer' });
  const answer = await r.json();
  log('answer:\n' + answer.sdp);
  await pc.setRemoteDescription(answer);
  // Until every encoding has sent 60 frames at its size (the top one starts
  // once the bandwidth estimate, from our feedback, allows it).
  let sent = {};
  for (let i = 0; i < 250; i++) {
    await new Promise((r) => setTimeout(r, 100));
    sent = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') sent[s.rid] = { frames: s.framesSent || 0, width: s.frameWidth };
    });
    if (['l', 'm', 'h'].every((rid) => sent[rid] && sent[rid].frames >= 60)) break;
  }
  log('sent ' + JSON.stringify(sent));
  const ok = ['l', 'm', 'h'].every((rid) => sent[rid] && sent[rid].frames >= 60);
  // Time for the last frames to arrive before the Rust side looks.
  await new Promise((r) => setTimeout(r, 1000));
  return finish(ok, ok ? 'three encodings sent' : 'not every encoding was sent');
}

({ answerer, receiver, simulcast }[params.get('mode')] || offerer)().catch((e) => finish(false, String(e)));
