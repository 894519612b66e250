package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/ingest/ingesttest"
	"github.com/bookmygig/bookmygig/internal/redistest"
	"github.com/bookmygig/bookmygig/internal/whepclient"
)

// BenchmarkTicketCheck measures what a ticket adds to starting playback, on
// an in-process server (no race detector) with a live ffmpeg show: HTTP-FLV
// connect (request to the first bytes of the stream) and WHEP setup (offer
// to answer) on the gig while it is open, then with a ticket once it is
// ticketed, and the gate's own Admit. Goal: the ticket adds < 1 ms p99 on
// the memory engine, < 3 ms on Redis.
func BenchmarkTicketCheck(b *testing.B) {
	ingesttest.RequireFFmpeg(b)
	for _, engine := range []string{"memory", "redis"} {
		b.Run(engine, func(b *testing.B) {
			var args []string
			if engine == "redis" {
				args = append(args, "--redis", redistest.Start(b).URL())
			}
			a, base := benchApp(b, args...)
			n := &node{HTTP: base}
			g := n.benchCreateGig(b)
			ingesttest.Publish(b, "rtmp://"+a.rtmpLn.Addr().String()+"/live/"+g.Credentials.StreamKey, ingesttest.Options{})
			deadline := time.Now().Add(20 * time.Second)
			for !n.benchLive(b, g.ID) {
				if time.Now().After(deadline) {
					b.Fatal("the show did not go live in 20 s")
				}
				time.Sleep(100 * time.Millisecond)
			}
			const flvN, whepN, admitN = 300, 100, 2000
			b.ResetTimer()
			for range b.N {
				flvOpen := flvConnects(b, base, g.ID, "", flvN)
				whepOpen := whepSetups(b, base, g.ID, "", whepN)

				if code := benchDo(b, http.MethodPatch, base+"/api/gigs/"+g.ID, g.Credentials.ManageToken, `{"access":"ticket"}`, nil); code != http.StatusOK {
					b.Fatalf("make the gig ticketed: %d", code)
				}
				var bk booked
				if code := benchDo(b, http.MethodPost, base+"/api/gigs/"+g.ID+"/tickets", "", `{"name":"Bench","email":"bench@example.com"}`, &bk); code != http.StatusCreated {
					b.Fatalf("book: %d", code)
				}
				flvTicket := flvConnects(b, base, g.ID, bk.TicketToken, flvN)
				whepTicket := whepSetups(b, base, g.ID, bk.TicketToken, whepN)
				admit := make([]time.Duration, 0, admitN)
				for range admitN {
					start := time.Now()
					p, err := a.gate.Admit(context.Background(), access.Request{GigID: g.ID, Credential: bk.TicketToken, Kind: access.Chat})
					admit = append(admit, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					p.Release()
				}
				if code := benchDo(b, http.MethodPatch, base+"/api/gigs/"+g.ID, g.Credentials.ManageToken, `{"access":"open"}`, nil); code != http.StatusOK {
					b.Fatalf("reopen the gig: %d", code)
				}

				report := func(name string, open, ticket []time.Duration) {
					po50, po99 := pct(open, 50), pct(open, 99)
					pt50, pt99 := pct(ticket, 50), pct(ticket, 99)
					b.ReportMetric(ms(pt99), name+"_ticket_p99_ms")
					b.ReportMetric(ms(pt99-po99), name+"_added_p99_ms")
					fmt.Printf("tickets %-6s %-4s open p50 %6.2f p99 %6.2f ms | ticket p50 %6.2f p99 %6.2f ms | added p50 %+6.2f p99 %+6.2f ms\n",
						engine, name, ms(po50), ms(po99), ms(pt50), ms(pt99), ms(pt50-po50), ms(pt99-po99))
				}
				report("flv", flvOpen, flvTicket)
				report("whep", whepOpen, whepTicket)
				b.ReportMetric(ms(pct(admit, 99)), "admit_p99_ms")
				fmt.Printf("tickets %-6s gate Admit (ticket check alone) p50 %.3f p99 %.3f ms over %d checks\n", engine, ms(pct(admit, 50)), ms(pct(admit, 99)), admitN)
			}
		})
	}
}

// benchApp runs the server in this process on loopback ports.
func benchApp(b *testing.B, extra ...string) (*app, string) {
	b.Helper()
	l, err := newUDPPort()
	if err != nil {
		b.Fatal(err)
	}
	args := append([]string{"--http-addr", "127.0.0.1:0", "--rtmp-addr", "127.0.0.1:0", "--webrtc-port", strconv.Itoa(l), "--max-viewers", "100000",
		// One load client on 127.0.0.1: no per-address caps.
		"--webrtc-max-sessions-per-ip", "0", "--whep-offer-limit", "100000/1s", "--flv-max-viewers-per-ip", "0",
		"--webrtc-allow-private-candidates", "true"}, extra...)
	cfg, err := parseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = a.serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done; a.shutdown() })
	return a, "http://" + a.httpLn.Addr().String()
}

// newUDPPort is a loopback UDP port free a moment ago (ICE binds it).
func newUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func (n *node) benchCreateGig(b *testing.B) gigCreated {
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	body := `{"creator_name":"Bench","title":"Ticket bench","category":"Comedy","starts_at":"` + start.Format(time.RFC3339) +
		`","ends_at":"` + start.Add(time.Hour).Format(time.RFC3339) + `"}`
	var g gigCreated
	if code := benchDo(b, http.MethodPost, n.HTTP+"/api/gigs", "", body, &g); code != http.StatusCreated {
		b.Fatalf("create gig: %d", code)
	}
	return g
}

func (n *node) benchLive(b *testing.B, id string) bool {
	var g gigView
	benchDo(b, http.MethodGet, n.HTTP+"/api/gigs/"+id, "", "", &g)
	return g.Status == "live"
}

// flvConnects opens HTTP-FLV n times and times each to its first bytes.
func flvConnects(b *testing.B, base, gigID, ticket string, n int) []time.Duration {
	url := base + "/live/" + gigID + ".flv"
	if ticket != "" {
		url += "?ticket=" + ticket
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	out := make([]time.Duration, 0, n)
	buf := make([]byte, 4096)
	for range n {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("FLV: %d", resp.StatusCode)
		}
		if _, err := io.ReadAtLeast(resp.Body, buf, 13); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
		resp.Body.Close()
	}
	return out
}

// whepSetups prepares a pion offer per viewer (not timed), then times the
// POST to its answer, and ends the session.
func whepSetups(b *testing.B, base, gigID, ticket string, n int) []time.Duration {
	out := make([]time.Duration, 0, n)
	for range n {
		v, err := whepclient.New(whepclient.Options{Bearer: ticket})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		_, err = v.Post(context.Background(), base+"/whep/"+gigID)
		elapsed := time.Since(start)
		if r, ok := whepclient.Refusal(err); ok {
			b.Fatalf("WHEP: %d", r.Status)
		}
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, elapsed)
		_ = v.Close() // DELETE, then the PeerConnection
	}
	return out
}

func benchDo(b *testing.B, method, url, token, body string, out any) int {
	b.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
