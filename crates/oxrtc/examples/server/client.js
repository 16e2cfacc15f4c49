// The browser side of the oxrtc server demo: offer, non-trickle (wait for
// gathering), POST /offer with {sdp, type}, apply the answer, then ping.
// With the camera box ticked (or ?camera=1) the page also sends its camera
// and microphone, and shows what the server sends back; it reports the
// frames it decoded of that mirror over the channel every second.
'use strict';
let pc = null;
let timer = null;
const log = (line) => {
  const el = document.getElementById('log');
  el.textContent += line + '\n';
  el.scrollTop = el.scrollHeight;
};

async function start() {
  document.getElementById('start').disabled = true;
  document.getElementById('stop').disabled = false;
  pc = new RTCPeerConnection();
  pc.onconnectionstatechange = () => { document.getElementById('state').textContent = pc.connectionState; };
  const dc = pc.createDataChannel('chat');
  const camera = document.getElementById('camera').checked;
  if (camera) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    document.getElementById('local').srcObject = stream;
    for (const t of stream.getTracks()) pc.addTrack(t, stream);
    const mirror = new MediaStream();
    document.getElementById('mirror').srcObject = mirror;
    pc.ontrack = (e) => mirror.addTrack(e.track);
  }
  dc.onopen = () => {
    log('channel open');
    timer = setInterval(async () => {
      dc.send('ping ' + performance.now());
      if (!camera) return;
      let decoded = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') decoded = s.framesDecoded || 0;
      });
      dc.send('decoded ' + decoded);
    }, 1000);
  };
  dc.onmessage = (e) => {
    log('< ' + e.data);
    if (typeof e.data === 'string' && e.data.startsWith('pong ')) {
      const rtt = performance.now() - parseFloat(e.data.slice(5));
      document.getElementById('rtt').textContent = rtt.toFixed(1) + ' ms';
    }
  };
  dc.onclose = () => log('channel closed');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
  });
  const response = await fetch('offer', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
  });
  if (!response.ok) {
    // 503 when the server is at its caps: say why and let the user retry.
    log('server: ' + response.status + ' ' + (await response.text()));
    stop();
    return;
  }
  await pc.setRemoteDescription(await response.json());
}

function stop() {
  clearInterval(timer);
  if (pc) pc.close();
  document.getElementById('start').disabled = false;
  document.getElementById('stop').disabled = true;
}

document.getElementById('start').onclick = start;
const query = new URLSearchParams(location.search);
if (query.get('camera') === '1') document.getElementById('camera').checked = true;
if (query.has('autostart')) start();
// ?stopafter=N: close the connection after N seconds (tests use it to end a recording).
if (query.has('stopafter')) setTimeout(stop, 1000 * parseFloat(query.get('stopafter')));
document.getElementById('stop').onclick = stop;
