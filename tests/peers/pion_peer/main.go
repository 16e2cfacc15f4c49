// Pion v3 test peer for oxrtc's interop tests (crates/oxrtc/tests/pion.rs).
//
// It speaks the JSON-lines signaling of the other test peers: one JSON object per
// line on stdout (flushed) and stdin. Loopback host candidates only (127.0.0.1, no
// mDNS, no STUN), gathered completely before the description is printed; the
// other side may trickle its candidates as {"type":"candidate",...} lines.
//
//	-role offer:  creates channel "chat", prints {"type":"offer","sdp":...}, reads the answer
//	-role answer: reads {"type":"offer"}, prints {"type":"answer"}, then creates "chat"
//
// Every SCTP packet Pion's SCTP cannot parse (its v1.8.x rejects a whole INIT or
// INIT-ACK carrying a parameter it does not know, such as RFC 9653's zero
// checksum acceptable) is reported as {"type":"sctp-rejected","error":...}.
//
// On every channel that opens (its own or the other side's) it sends the text
// "hello <label>" and the binary 00 01 02 ff, and echoes whatever arrives: text
// with an "echo:" prefix, binary as it came. {"type":"close"} closes and exits 0;
// after -timeout seconds it prints {"type":"timeout"} and exits 2.
//
// -simulcast: no channel; video (Pion's default codecs, with the mid, rtp-stream-id
// and repaired-rtp-stream-id extensions) is received instead. Each track that starts
// is reported as {"type":"track","rid":...,"ssrc":...}, and its 50th RTP packet as
// {"type":"packets","rid":...,"count":50}.
//
// Built by the test in GOPATH mode against Debian's golang-github-pion-webrtc.v3-dev.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

var outMu sync.Mutex

func emit(v map[string]interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatalf("json: %v", err)
	}
	outMu.Lock()
	defer outMu.Unlock()
	os.Stdout.Write(append(b, '\n'))
	log.Printf("-> %s", b)
}

func must(err error, what string) {
	if err != nil {
		log.Printf("%s: %v", what, err)
		emit(map[string]interface{}{"type": "error", "what": what, "error": err.Error()})
		os.Exit(1)
	}
}

// sctpWatch reports the SCTP packets Pion drops as unparsable.
type sctpWatch struct{ logging.LeveledLogger }

func (w sctpWatch) Warnf(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	if strings.Contains(msg, "unable to parse SCTP packet") {
		emit(map[string]interface{}{"type": "sctp-rejected", "error": msg})
	}
	w.LeveledLogger.Warnf(format, args...)
}

type watchFactory struct{ logging.LoggerFactory }

func (f watchFactory) NewLogger(scope string) logging.LeveledLogger {
	l := f.LoggerFactory.NewLogger(scope)
	if scope == "sctp" {
		return sctpWatch{l}
	}
	return l
}

// serve greets on the channel when it opens and echoes what it receives.
func serve(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		id := -1
		if dc.ID() != nil {
			id = int(*dc.ID())
		}
		emit(map[string]interface{}{"type": "open", "label": dc.Label(), "id": id})
		must(dc.SendText("hello "+dc.Label()), "send greeting")
		must(dc.Send([]byte{0, 1, 2, 0xff}), "send binary greeting")
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if m.IsString {
			must(dc.SendText("echo:"+string(m.Data)), "echo text")
		} else {
			must(dc.Send(m.Data), "echo binary")
		}
	})
}

func main() {
	role := flag.String("role", "answer", "offer or answer")
	timeout := flag.Int("timeout", 40, "seconds before giving up")
	simulcast := flag.Bool("simulcast", false, "receive (simulcast) video instead of opening a channel")
	flag.Parse()
	log.SetOutput(os.Stderr)
	log.SetPrefix("pion_peer: ")
	time.AfterFunc(time.Duration(*timeout)*time.Second, func() {
		emit(map[string]interface{}{"type": "timeout"})
		os.Exit(2)
	})

	var se webrtc.SettingEngine
	se.LoggerFactory = watchFactory{logging.NewDefaultLoggerFactory()}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	options := []func(*webrtc.API){webrtc.WithSettingEngine(se)}
	if *simulcast {
		m := &webrtc.MediaEngine{}
		must(m.RegisterDefaultCodecs(), "register codecs")
		for _, uri := range []string{
			"urn:ietf:params:rtp-hdrext:sdes:mid",
			"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
			"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
		} {
			must(m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo), "register "+uri)
		}
		options = append(options, webrtc.WithMediaEngine(m))
	}
	api := webrtc.NewAPI(options...)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	must(err, "new peer connection")
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		emit(map[string]interface{}{"type": "state", "state": s.String()})
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		emit(map[string]interface{}{"type": "track", "rid": t.RID(), "ssrc": uint32(t.SSRC()), "codec": t.Codec().MimeType})
		go func() {
			for n := 1; ; n++ {
				if _, _, err := t.ReadRTP(); err != nil {
					return
				}
				if n == 50 {
					emit(map[string]interface{}{"type": "packets", "rid": t.RID(), "count": n})
				}
			}
		}()
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		emit(map[string]interface{}{"type": "channel", "label": dc.Label()})
		serve(dc)
	})

	lines := make(chan map[string]interface{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var v map[string]interface{}
			if len(sc.Bytes()) == 0 {
				continue
			}
			must(json.Unmarshal(sc.Bytes(), &v), "parse stdin line")
			lines <- v
		}
		close(lines)
	}()

	describe := func(kind string) {
		gathered := webrtc.GatheringCompletePromise(pc)
		var d webrtc.SessionDescription
		if kind == "offer" {
			d, err = pc.CreateOffer(nil)
		} else {
			d, err = pc.CreateAnswer(nil)
		}
		must(err, "create "+kind)
		must(pc.SetLocalDescription(d), "set local "+kind)
		<-gathered
		emit(map[string]interface{}{"type": kind, "sdp": pc.LocalDescription().SDP})
	}
	openChat := func() {
		if *simulcast {
			return
		}
		dc, err := pc.CreateDataChannel("chat", nil)
		must(err, "create channel")
		serve(dc)
	}
	if *role == "offer" {
		openChat()
		describe("offer")
	} else if *role != "answer" {
		must(fmt.Errorf("unknown role %q", *role), "arguments")
	}

	for v := range lines {
		switch v["type"] {
		case "offer", "answer":
			kind := webrtc.SDPTypeOffer
			if v["type"] == "answer" {
				kind = webrtc.SDPTypeAnswer
			}
			sdp, _ := v["sdp"].(string)
			must(pc.SetRemoteDescription(webrtc.SessionDescription{Type: kind, SDP: sdp}), "set remote")
			if kind == webrtc.SDPTypeOffer {
				describe("answer")
				openChat()
			}
		case "candidate":
			c, _ := v["candidate"].(string)
			if c == "" {
				continue
			}
			init := webrtc.ICECandidateInit{Candidate: c}
			if mid, ok := v["sdpMid"].(string); ok {
				init.SDPMid = &mid
			}
			if idx, ok := v["sdpMLineIndex"].(float64); ok {
				i := uint16(idx)
				init.SDPMLineIndex = &i
			}
			must(pc.AddICECandidate(init), "add candidate")
		case "close":
			must(pc.Close(), "close")
			emit(map[string]interface{}{"type": "closed"})
			os.Exit(0)
		}
	}
	log.Printf("stdin closed")
	os.Exit(1)
}
