package whepclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// maxBody caps the answer or error body read from the server.
const maxBody = 64 << 10

// Viewer is one WHEP session as a viewer sees it.
type Viewer struct {
	// PC is the viewer's PeerConnection.
	PC *webrtc.PeerConnection
	// DC is the data channel Options.DataChannel asked for, or nil.
	DC *webrtc.DataChannel
	// Offer is the offer SDP with every candidate gathered.
	Offer string
	// Location is the session's URL as the server sent it (often a
	// path), set by a 201 to Post.
	Location string

	opts      Options
	mu        sync.Mutex
	session   string // Location resolved against the POST's URL
	closeOnce sync.Once
	closeErr  error
}

// New makes a Viewer's PeerConnection and its offer, gathering every ICE
// candidate; nothing is sent. Register data channel handlers on DC before
// Connect.
func New(opts Options) (*Viewer, error) {
	api, err := opts.api()
	if err != nil {
		return nil, fmt.Errorf("whep viewer: %w", err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("whep viewer: %w", err)
	}
	v := &Viewer{PC: pc, opts: opts}
	if err := v.prepare(); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("whep viewer: %w", err)
	}
	return v, nil
}

func (v *Viewer) prepare() error {
	for _, kind := range v.opts.kinds() {
		if _, err := v.PC.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	if v.opts.DataChannel != "" {
		dc, err := v.PC.CreateDataChannel(v.opts.DataChannel, nil)
		if err != nil {
			return err
		}
		v.DC = dc
	}
	if v.opts.OnTrack != nil || v.opts.OnPacket != nil {
		v.PC.OnTrack(v.onTrack)
	}
	offer, err := v.PC.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(v.PC)
	if err := v.PC.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	v.Offer = v.PC.LocalDescription().SDP
	return nil
}

// onTrack runs on pion's goroutine for the track until it ends.
func (v *Viewer) onTrack(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
	if v.opts.OnTrack != nil {
		v.opts.OnTrack(tr, rx)
	}
	if v.opts.OnPacket == nil {
		return
	}
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		at := time.Now()
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		v.opts.OnPacket(tr, &p, at)
	}
}

// Post sends the offer to url (the WHEP endpoint) and returns the answer
// SDP without applying it; a status other than 201 Created is a
// *RefusedError. On a 201 it sets Location.
func (v *Viewer) Post(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(v.Offer))
	if err != nil {
		return "", fmt.Errorf("whep post: %w", err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	for k, vals := range v.opts.Header {
		req.Header[k] = vals
	}
	if v.opts.Bearer != "" {
		req.Header.Set("Authorization", "Bearer "+v.opts.Bearer)
	}
	resp, err := v.opts.client().Do(req)
	if err != nil {
		return "", fmt.Errorf("whep post: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("whep post: read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", &RefusedError{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location")}
	}
	loc := resp.Header.Get("Location")
	v.mu.Lock()
	v.Location = loc
	if loc != "" {
		v.session = loc
		if u, err := resp.Request.URL.Parse(loc); err == nil {
			v.session = u.String()
		}
	}
	v.mu.Unlock()
	return string(body), nil
}

// SetAnswer applies the server's answer.
func (v *Viewer) SetAnswer(sdp string) error {
	if err := v.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		return fmt.Errorf("whep answer: %w", err)
	}
	return nil
}

// Connect posts the offer to url and applies the answer.
func (v *Viewer) Connect(ctx context.Context, url string) error {
	answer, err := v.Post(ctx, url)
	if err != nil {
		return err
	}
	return v.SetAnswer(answer)
}

// Dial makes a Viewer and connects it to url. On an error nothing stays
// open; a refusal is a *RefusedError.
func Dial(ctx context.Context, url string, opts Options) (*Viewer, error) {
	v, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := v.Connect(ctx, url); err != nil {
		_ = v.PC.Close()
		return nil, err
	}
	return v, nil
}

// Close ends the session as a leaving viewer does: a DELETE of its
// Location (when a POST was answered with one), then the PeerConnection
// closes. It is idempotent; the error is the first of the two.
func (v *Viewer) Close() error {
	v.closeOnce.Do(func() {
		v.mu.Lock()
		session := v.session
		v.mu.Unlock()
		if session != "" {
			v.closeErr = v.delete(session)
		}
		if err := v.PC.Close(); err != nil && v.closeErr == nil {
			v.closeErr = fmt.Errorf("whep close: %w", err)
		}
	})
	return v.closeErr
}

func (v *Viewer) delete(session string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, session, nil)
	if err != nil {
		return fmt.Errorf("whep delete: %w", err)
	}
	resp, err := v.opts.client().Do(req)
	if err != nil {
		return fmt.Errorf("whep delete: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	return nil
}

// SessionURL is Location resolved against the URL the offer went to ("" before
// a 201).
func (v *Viewer) SessionURL() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.session
}
