package sfu

import (
	"context"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// answerGathered answers the remote offer already set on pc and waits
// (bounded by ctx) until every local candidate is in the answer, so no
// trickle is needed from our side.
func answerGathered(ctx context.Context, pc *webrtc.PeerConnection) (*webrtc.SessionDescription, error) {
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
