package whip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bookmygig/bookmygig/internal/httperr"
	"github.com/bookmygig/bookmygig/internal/rtc"
	"github.com/bookmygig/bookmygig/media"
	"github.com/pion/webrtc/v4"
)

// deleteTimeout bounds the DELETE that ends a pull's upstream session.
const deleteTimeout = 3 * time.Second

// PullConfig names a gig to relay from another node.
type PullConfig struct {
	// GigID is the gig; the local copy is published under it.
	GigID string
	// URL is the upstream's full WHEP endpoint,
	// e.g. http://10.0.0.1:8080/whep/{gig}.
	URL string
	// Token is the relay token (sent as Authorization: Bearer; never
	// logged).
	Token string
}

// Pull is a relay of a gig from another node: a WHEP session to it whose
// media becomes a local stream (Source media.SourceRelay), forwarded to
// local WebRTC viewers as a WHIP publisher's is and turned into frames
// (H.264, Opus, AAC) for FLV viewers.
type Pull struct {
	cfg      PullConfig
	pub      *publisher
	location string
	client   *http.Client

	done chan struct{}
	err  error // set before done is closed
	// closed is closed by Close (unless the relay had ended already).
	closed    chan struct{}
	closeOnce sync.Once
}

// Pull starts relaying c.GigID from c.URL. It returns once the upstream's
// answer is applied (ctx bounds the signalling); the stream is published in
// the registry when the first media arrives. A gig already live here gives
// media.ErrAlreadyLive; an upstream that does not answer 201 gives an error
// wrapping ErrRelayRefused with its status and error code.
func (s *Server) Pull(ctx context.Context, c PullConfig) (*Pull, error) {
	if c.GigID == "" || c.URL == "" {
		return nil, fmt.Errorf("pull: gig id and url are required: %w", ErrConfig)
	}
	base, err := url.Parse(c.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, fmt.Errorf("pull gig %s: upstream url %q is not http(s): %w", c.GigID, c.URL, ErrConfig)
	}
	if st, ok := s.reg.Get(c.GigID); ok && !st.Closed() {
		return nil, fmt.Errorf("pull gig %s: %w", c.GigID, media.ErrAlreadyLive)
	}
	p, err := s.newPeer(s.apis.pulls, c.GigID, true, func(id string) *slog.Logger {
		return s.log.With("gig", c.GigID, "pull", id, "upstream", base.Host)
	})
	if err != nil {
		return nil, err
	}
	p.remoteIP = base.Host
	pl := &Pull{cfg: c, pub: p, client: http.DefaultClient, done: make(chan struct{}), closed: make(chan struct{})}
	fail := func(err error) (*Pull, error) {
		p.abort()
		if pl.location != "" {
			pl.deleteUpstream()
		}
		return nil, fmt.Errorf("pull gig %s from %s: %w", c.GigID, base.Host, err)
	}
	aacTr, err := addPullTransceivers(p.pc)
	if err != nil {
		return fail(err)
	}
	offer, err := offerGathered(ctx, p.pc)
	if err != nil {
		return fail(err)
	}
	answer, err := pl.post(ctx, base, offer)
	if err != nil {
		return fail(err)
	}
	ans, err := parsePullAnswer(answer, aacTr.Mid())
	if err != nil {
		return fail(err)
	}
	if ans.videoMime == "" {
		return fail(fmt.Errorf("%w: the answer has no video", ErrRelayRefused))
	}
	p.videoMime = ans.videoMime
	p.newStream(media.SourceRelay, true)
	if ans.aac != nil {
		p.stream.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: ans.aac, SampleRate: ans.aac.SampleRate, Channels: ans.aac.Channels})
	}
	if err := s.addPublisher(p); err != nil {
		return fail(err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		s.pubs.Remove(p.id, p)
		p.stream.Close()
		return fail(fmt.Errorf("%w: answer rejected: %v", ErrRelayRefused, err))
	}
	p.wg.Add(1)
	go p.watch()
	s.wg.Add(1)
	go pl.run(s)
	p.log.Info("relay pull answered", "video", p.videoMime, "aac", ans.aac != nil, "setup", time.Since(p.created).Round(time.Millisecond))
	return pl, nil
}

// offerGathered makes pc's offer with every local candidate in it.
func offerGathered(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("set offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// post sends the offer and returns the answer; it records the session's
// Location for the DELETE.
func (pl *Pull) post(ctx context.Context, base *url.URL, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pl.cfg.URL, strings.NewReader(offer))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", rtc.MimeSDP)
	if pl.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+pl.cfg.Token)
	}
	resp, err := pl.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("post offer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<10))
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e httperr.Body
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return "", fmt.Errorf("%w: %d %s: %s", ErrRelayRefused, resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return "", fmt.Errorf("%w: %d %s", ErrRelayRefused, resp.StatusCode, rtc.Truncate(strings.TrimSpace(string(body)), 120))
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%w: 201 without a Location", ErrRelayRefused)
	}
	u, err := base.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("%w: bad Location %q", ErrRelayRefused, loc)
	}
	pl.location = u.String()
	pl.pub.mediaClock = resp.Header.Get(rtc.HeaderMediaClock) == rtc.MediaClockStream
	if !strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), rtc.MimeSDP) {
		return "", fmt.Errorf("%w: answer of type %q, want %s", ErrRelayRefused, resp.Header.Get("Content-Type"), rtc.MimeSDP)
	}
	return string(body), nil
}

// run waits for the session's end, then ends the upstream session too.
func (pl *Pull) run(s *Server) {
	defer s.wg.Done()
	<-pl.pub.closed
	select {
	case <-pl.closed:
		pl.err = ErrPullClosed
	default:
		cause := ErrUpstreamGone
		if err := pl.pub.stream.Err(); err != nil && !errors.Is(err, media.ErrStreamClosed) {
			// Kicked, or another stream of the gig is live here.
			cause = err
		}
		pl.err = fmt.Errorf("relay of gig %s from %s ended (%s): %w", pl.cfg.GigID, pl.pub.remoteIP, pl.pub.reason, cause)
	}
	pl.deleteUpstream()
	close(pl.done)
}

// deleteUpstream ends the upstream session (best effort: it may be gone).
func (pl *Pull) deleteUpstream() {
	ctx, cancel := context.WithTimeout(context.Background(), deleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, pl.location, nil)
	if err != nil {
		return
	}
	if pl.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+pl.cfg.Token)
	}
	resp, err := pl.client.Do(req)
	if err != nil {
		pl.pub.log.Debug("delete upstream session", "err", err)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
}

// Stream returns the local copy of the gig's stream (published once media
// arrives).
func (pl *Pull) Stream() *media.Stream { return pl.pub.stream }

// Done is closed when the relay ended: upstream connection failed or
// closed, no RTP for Config.PublisherTimeout, the stream was kicked
// (media.Registry.Kick), or Close.
func (pl *Pull) Done() <-chan struct{} { return pl.done }

// Err is nil until Done is closed, then why the relay ended: ErrPullClosed
// after Close, else an error wrapping ErrUpstreamGone or the stream's cause
// (media.ErrKicked, media.ErrAlreadyLive).
func (pl *Pull) Err() error {
	select {
	case <-pl.done:
		return pl.err
	default:
		return nil
	}
}

// Upstream returns the upstream WHEP endpoint.
func (pl *Pull) Upstream() string { return pl.cfg.URL }

// Close ends the relay: the upstream session is DELETEd and the local
// stream unpublished. It is idempotent and returns when both are done.
func (pl *Pull) Close() {
	pl.closeOnce.Do(func() {
		select {
		case <-pl.pub.closed:
			// Already ended by itself: Err says why.
		default:
			close(pl.closed)
		}
	})
	pl.pub.close("pull closed")
	<-pl.done
}
