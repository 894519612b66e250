package sfu_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/ingest/whip"
	"github.com/bookmygig/bookmygig/ingest/whip/whiptest"
	"github.com/bookmygig/bookmygig/internal/whepclient/wheptest"
	"github.com/bookmygig/bookmygig/media"
	"github.com/bookmygig/bookmygig/sfu"
	"github.com/pion/webrtc/v4"
)

// clientHeader names the client address in these tests, as a trusted
// proxy's X-Forwarded-For would: every client really is on 127.0.0.1.
const clientHeader = "X-Test-Client"

func clientFromHeader(r *http.Request) string {
	if c := r.Header.Get(clientHeader); c != "" {
		return c
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	return host
}

// bareRig is an SFU serving gig1, a live stream without frames (enough to
// answer and connect viewers), without ffmpeg.
type bareRig struct {
	sfu    *sfu.SFU
	whip   *whip.Server
	url    string
	stream *media.Stream
}

// newBareRig starts the rig; wcfg (at most one) configures its WHIP ingest.
func newBareRig(t *testing.T, cfg sfu.Config, wcfg ...whip.Config) *bareRig {
	t.Helper()
	reg := media.NewRegistry(media.RegistryConfig{}, nil)
	st := media.NewStream(media.StreamConfig{GigID: "gig1", Source: "test"}, nil)
	if err := reg.Publish(st); err != nil {
		t.Fatal(err)
	}
	cfg.ICEAddr = "127.0.0.1:0"
	log := testLogger(t)
	s, err := sfu.New(cfg, reg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ws := startWHIP(t, s, cfg, append(wcfg, whip.Config{})[0], reg, log)
	mux := http.NewServeMux()
	mux.Handle("/whep/", s.Handler())
	mux.Handle("/whip/", ws.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &bareRig{sfu: s, whip: ws, url: srv.URL, stream: st}
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Error.Code
}

// connectViewer posts a real pion viewer's offer as client and, on 201,
// completes the connection; it returns the status and the session URL.
func (r *bareRig) connectViewer(t *testing.T, client string) (int, string) {
	t.Helper()
	c := wheptest.NewClient(t, viewerOpts{})
	resp, body := wheptest.DoRequest(t, http.MethodPost, r.url+"/whep/gig1", "application/sdp", c.Offer, map[string]string{clientHeader: client})
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, body
	}
	if err := c.SetAnswer(body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestWHEPRealViewerAnsweredWhileOneAddressFloods: one client posting
// offers as fast as it can (from addresses of one IPv6 /64) gets its
// MaxSessionsPerIP sessions, then 429s, and never the gig's MaxViewers:
// a real viewer from another address is answered and plays. Before the
// per-address limits the flood filled the gig and the viewer got 503.
func TestWHEPRealViewerAnsweredWhileOneAddressFloods(t *testing.T) {
	r := newBareRig(t, sfu.Config{MaxViewers: 15, ClientIP: clientFromHeader, AllowPrivateCandidates: true})
	// One offer, posted again and again: the flooder never connects.
	flood := wheptest.NewClient(t, viewerOpts{}).Offer
	counts := map[string]int{}
	for i := range 40 {
		hdr := map[string]string{clientHeader: fmt.Sprintf("2001:db8:7::%x", i+1)}
		resp, body := wheptest.DoRequest(t, http.MethodPost, r.url+"/whep/gig1", "application/sdp", flood, hdr)
		switch resp.StatusCode {
		case http.StatusCreated:
			counts["created"]++
		case http.StatusTooManyRequests:
			counts[errorCode(t, body)]++
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 10 {
				t.Fatalf("429 with Retry-After %q", resp.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("flood POST %d = %d %s", i+1, resp.StatusCode, body)
		}
	}
	// Defaults: 10 sessions per address, 20 offers per 10 s.
	want := map[string]int{"created": 10, "too_many_sessions": 10, "rate_limited": 20}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("flood answers %v, want %v", counts, want)
	}

	status, body := r.connectViewer(t, "198.51.100.7")
	if status != http.StatusCreated {
		t.Fatalf("real viewer during the flood: %d %s", status, body)
	}
	wheptest.WaitFor(t, 10*time.Second, "the real viewer connected and watching", func() bool { return r.stream.Viewers() == 1 })
	c := r.sfu.Counters()
	if c.AddrCapHits != 10 || c.RateLimited != 20 || c.ViewerCapHits != 0 {
		t.Fatalf("counters %+v", c)
	}
	// The flood's sessions never connect: they go after ConnectTimeout
	// (default 5 s), the viewer stays.
	wheptest.WaitFor(t, 8*time.Second, "unconnected sessions expired", func() bool { return r.sfu.Viewers() == 1 })
	if r.stream.Viewers() != 1 {
		t.Fatal("the real viewer was dropped")
	}
}

// TestWHEPUnconnectedSessionExpiresSoon: a session whose client never
// completes ICE holds its slots for ConnectTimeout, by default 5 s (it was
// 15 s), not until the ICE timeouts.
func TestWHEPUnconnectedSessionExpiresSoon(t *testing.T) {
	r := newBareRig(t, sfu.Config{MaxViewers: 1, AllowPrivateCandidates: true})
	posted := time.Now()
	resp, body := wheptest.DoRequest(t, http.MethodPost, r.url+"/whep/gig1", "application/sdp", wheptest.NewClient(t, viewerOpts{}).Offer, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	if status, _ := r.connectViewer(t, ""); status != http.StatusServiceUnavailable {
		t.Fatalf("second viewer while the first holds the only slot: %d, want 503", status)
	}
	wheptest.WaitFor(t, 7*time.Second, "the unconnected session to expire", func() bool { return r.sfu.Viewers() == 0 })
	if d := time.Since(posted); d < 4*time.Second {
		t.Fatalf("expired after %v, before ConnectTimeout", d)
	}
	if status, body := r.connectViewer(t, ""); status != http.StatusCreated {
		t.Fatalf("viewer after the expiry: %d %s", status, body)
	}
	wheptest.WaitFor(t, 10*time.Second, "viewer connected", func() bool { return r.stream.Viewers() == 1 })
}

// TestWHEPSessionHoldsAddressSlotWhileItLasts: connected sessions count
// against MaxSessionsPerIP until they end, whatever their connection does;
// ending one frees its slot at once.
func TestWHEPSessionHoldsAddressSlotWhileItLasts(t *testing.T) {
	r := newBareRig(t, sfu.Config{MaxSessionsPerIP: 2, ClientIP: clientFromHeader, AllowPrivateCandidates: true})
	var locations []string
	for range 2 {
		status, loc := r.connectViewer(t, "192.0.2.1")
		if status != http.StatusCreated {
			t.Fatalf("viewer: %d %s", status, loc)
		}
		locations = append(locations, loc)
	}
	wheptest.WaitFor(t, 10*time.Second, "two viewers connected", func() bool { return r.stream.Viewers() == 2 })
	status, body := r.connectViewer(t, "192.0.2.1")
	if status != http.StatusTooManyRequests || errorCode(t, body) != "too_many_sessions" {
		t.Fatalf("third session from one address: %d %s", status, body)
	}
	if status, body := r.connectViewer(t, "192.0.2.2"); status != http.StatusCreated {
		t.Fatalf("another address: %d %s", status, body)
	}
	// Connected sessions keep their slots past ConnectTimeout.
	time.Sleep(6 * time.Second)
	if status, _ := r.connectViewer(t, "192.0.2.1"); status != http.StatusTooManyRequests {
		t.Fatalf("third session after 6 s: %d, want 429", status)
	}
	if resp, body := wheptest.DoRequest(t, http.MethodDelete, r.url+locations[0], "", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", resp.StatusCode, body)
	}
	if status, body := r.connectViewer(t, "192.0.2.1"); status != http.StatusCreated {
		t.Fatalf("after one session ended: %d %s", status, body)
	}
}

// decoy is a UDP socket that counts what arrives: the server's ICE
// connectivity checks, when it believes a candidate naming it.
type decoy struct {
	conn *net.UDPConn
	n    atomic.Int32
}

func newDecoy(t *testing.T) *decoy {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	d := &decoy{conn: c}
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			d.n.Add(1)
		}
	}()
	return d
}

func (d *decoy) port() int { return d.conn.LocalAddr().(*net.UDPAddr).Port }

var candidateAddr = regexp.MustCompile(`(a=candidate:\S+ \d+ (?i:udp) \d+ )\S+ \d+`)

// pointAt rewrites every candidate of an offer to 127.0.0.1:port.
func pointAt(offer string, port int) string {
	return candidateAddr.ReplaceAllString(offer, "${1}127.0.0.1 "+strconv.Itoa(port))
}

// TestRemotePrivateCandidatesDropped: by default the server never sends a
// connectivity check to a loopback address a WHEP or WHIP client names in
// its offer or in a trickle PATCH (the clients here never answer, so
// whatever reaches the decoys came from the server's own checks); with
// AllowPrivateCandidates it does for WHIP (WHEP viewers' ICE-lite agent
// never dials anything). A loopback viewer that itself sends
// checks still connects either way: the server learns its address as a
// peer-reflexive candidate, which is not filtered on purpose.
func TestRemotePrivateCandidatesDropped(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow=%v", allow), func(t *testing.T) {
			r := newBareRig(t, sfu.Config{AllowPrivateCandidates: allow}, whip.Config{Keys: whiptest.Keys{"key-w": "gigw"}})
			whepOffer, whepTrickle, whipOffer := newDecoy(t), newDecoy(t), newDecoy(t)

			resp, body := wheptest.DoRequest(t, http.MethodPost, r.url+"/whep/gig1", "application/sdp",
				pointAt(wheptest.NewClient(t, viewerOpts{}).Offer, whepOffer.port()), nil)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("WHEP POST = %d %s", resp.StatusCode, body)
			}
			frag := "a=mid:0\r\na=candidate:9 1 udp 2130706431 127.0.0.1 " + strconv.Itoa(whepTrickle.port()) + " typ host\r\n"
			resp, body = wheptest.DoRequest(t, http.MethodPatch, r.url+resp.Header.Get("Location"), "application/trickle-ice-sdpfrag", frag, nil)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("WHEP PATCH = %d %s", resp.StatusCode, body)
			}

			pub := whiptest.NewPublisherPC(t)
			t.Cleanup(func() { _ = pub.Close() })
			whiptest.AddTracksCodec(t, pub, webrtc.MimeTypeH264)
			resp, body = whiptest.Post(t, r.url+"/whip/gigw", "key-w", pointAt(whiptest.GatheredOffer(t, pub), whipOffer.port()))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("WHIP POST = %d %s", resp.StatusCode, body)
			}

			decoys := map[string]*decoy{"whep offer": whepOffer, "whep trickle": whepTrickle, "whip offer": whipOffer}
			if allow {
				// pion's full ICE agent (WHIP) dials what the client
				// named; WHEP viewers are on icelite, an ICE-lite agent
				// that never dials anyone: only the viewer's own checks
				// reach it, so even allowed candidates get nothing.
				wheptest.WaitFor(t, 4*time.Second, "checks at the WHIP decoy", func() bool { return whipOffer.n.Load() > 0 })
				if n := whepOffer.n.Load() + whepTrickle.n.Load(); n != 0 {
					t.Errorf("%d packets reached the WHEP decoys: an ICE-lite server must not send checks", n)
				}
				return
			}
			time.Sleep(2500 * time.Millisecond)
			for name, d := range decoys {
				if n := d.n.Load(); n != 0 {
					t.Errorf("%s: %d packets reached a loopback address the client named", name, n)
				}
			}
			if n := r.sfu.Counters().CandidatesDropped + r.whip.Counters().CandidatesDropped; n < 3 {
				t.Errorf("CandidatesDropped = %d, want at least 3", n)
			}
			// A real loopback viewer connects through its own checks.
			if status, body := r.connectViewer(t, ""); status != http.StatusCreated {
				t.Fatalf("viewer: %d %s", status, body)
			}
			wheptest.WaitFor(t, 10*time.Second, "loopback viewer connected (peer-reflexive)", func() bool { return r.stream.Viewers() == 1 })
		})
	}
}
