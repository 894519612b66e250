package main

import (
	"log/slog"
	"sync"

	"github.com/bookmygig/bookmygig/chat"
	"github.com/pion/webrtc/v4"
)

// dcConn carries the chat protocol over a WHEP session's "chat" data
// channel: one JSON frame per message, as on the WebSocket.
type dcConn struct{ dc *webrtc.DataChannel }

func (c dcConn) Send(frame []byte) error { return c.dc.SendText(string(frame)) }
func (c dcConn) Close() error            { return c.dc.Close() }

// maxEarlyFrames bounds what a client may send before its channel is
// attached; more is a misbehaving client and is dropped.
const maxEarlyFrames = 8

// attachDataChannel joins a viewer's chat data channel to the gig's chat
// once it is open; the media session already counts the viewer. Frames that
// arrive before then are kept (a few) and handed over in order.
func attachDataChannel(hub *chat.Hub, gigID, remoteIP string, dc *webrtc.DataChannel, log *slog.Logger) {
	var (
		mu     sync.Mutex
		peer   *chat.Peer
		early  [][]byte
		closed bool
	)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		mu.Lock()
		p := peer
		if p == nil && len(early) < maxEarlyFrames {
			early = append(early, m.Data)
		}
		mu.Unlock()
		if p != nil {
			p.Receive(m.Data)
		}
	})
	dc.OnClose(func() {
		mu.Lock()
		closed = true
		p := peer
		mu.Unlock()
		if p != nil {
			p.Close()
		}
	})
	var once sync.Once
	attach := func() {
		once.Do(func() {
			p, err := hub.Attach(gigID, remoteIP, dcConn{dc})
			if err != nil {
				log.Debug("chat data channel refused", "gig", gigID, "err", err)
				return
			}
			// Replay early frames, then switch to direct delivery; OnMessage
			// is serialized by pion, and it waits on mu meanwhile.
			mu.Lock()
			for _, f := range early {
				p.Receive(f)
			}
			early, peer = nil, p
			gone := closed
			mu.Unlock()
			if gone {
				p.Close()
			}
		})
	}
	dc.OnOpen(attach)
	if dc.ReadyState() == webrtc.DataChannelStateOpen {
		attach()
	}
}
