package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"
)

// AnswerGathered answers the remote offer already set on pc and waits
// (bounded by ctx) until every local candidate is in the answer, so no
// trickle is needed from our side.
func AnswerGathered(ctx context.Context, pc *webrtc.PeerConnection) (*webrtc.SessionDescription, error) {
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	local := pc.LocalDescription()
	if local == nil {
		return nil, errors.New("no local description")
	}
	return local, nil
}

// RandomID returns a random session ID (32 hex digits).
func RandomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClosePeer ends a session's PeerConnection: its context is cancelled, the
// connection closed, and its goroutines (wg) waited for.
func ClosePeer(cancel context.CancelFunc, pc *webrtc.PeerConnection, wg *sync.WaitGroup, log *slog.Logger) {
	cancel()
	if err := pc.Close(); err != nil {
		log.Debug("close peer connection", "err", err)
	}
	wg.Wait()
}
