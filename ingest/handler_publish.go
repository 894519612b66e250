package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"github.com/bookmygig/bookmygig/access"
	"github.com/bookmygig/bookmygig/media"
)

// RTMP status codes sent to refused publishers. OBS and ffmpeg show the
// description to the user.
const (
	codePublishBadName      = "NetStream.Publish.BadName"
	codePublishUnauthorized = "NetStream.Publish.Unauthorized"
	statusChunkStreamID     = 5
)

// publishHandler handles one RTMP connection. go-rtmp calls every method
// except secret/alreadyReported on the connection's goroutine, one at a
// time, so its fields need no lock.
type publishHandler struct {
	rtmp.DefaultHandler
	srv  *Server
	conn *deadlineConn
	log  *slog.Logger

	rc       *rtmp.Conn
	app      string
	stream   *media.Stream
	gigID    string
	started  time.Time
	tl       timeline
	buf      []byte
	h264     *media.H264Config
	aac      *media.AACConfig
	frames   int
	noConfig int

	key      atomic.Pointer[string]
	reported atomic.Bool
}

var _ rtmp.Handler = (*publishHandler)(nil)

// secret returns the stream key once known, for log redaction.
func (h *publishHandler) secret() string {
	if k := h.key.Load(); k != nil {
		return *k
	}
	return ""
}

func (h *publishHandler) alreadyReported() bool { return h.reported.Load() }

// fail logs why the connection is being closed, once, and returns err for
// go-rtmp to close it.
func (h *publishHandler) fail(msg string, err error) error {
	h.reported.Store(true)
	h.log.Warn(msg, "err", err)
	return err
}

// guard turns a panic in the handler into an error that closes only this
// connection. (go-rtmp recovers panics in its own read loop too.)
func (h *publishHandler) guard(err *error) {
	if r := recover(); r != nil {
		*err = h.fail("closing rtmp connection after a panic", fmt.Errorf("panic: %v", r))
	}
}

// OnServe runs after the handshake.
func (h *publishHandler) OnServe(c *rtmp.Conn) {
	h.rc = c
	h.conn.startMessages()
}

// OnConnect checks the application name.
func (h *publishHandler) OnConnect(_ uint32, cmd *message.NetConnectionConnect) (err error) {
	defer h.guard(&err)
	app := cmd.Command.App
	if i := strings.IndexByte(app, '?'); i >= 0 {
		app = app[:i]
	}
	app = strings.Trim(app, "/")
	if app != h.srv.cfg.App {
		// Encoders put the stream key in the app name when the server URL
		// is pasted wrongly: never log it as sent.
		return h.fail("rtmp connect refused", fmt.Errorf("application %q, want %q (OBS server rtmp://HOST/%s): %w", redact(app, ""), h.srv.cfg.App, h.srv.cfg.App, ErrBadApp))
	}
	h.app = app
	return nil
}

// OnPublish checks the stream key and makes the gig live.
func (h *publishHandler) OnPublish(sc *rtmp.StreamContext, ts uint32, cmd *message.NetStreamPublish) (err error) {
	defer h.guard(&err)
	if h.stream != nil {
		return h.fail("publish refused", errors.New("connection is already publishing"))
	}
	key := cmd.PublishingName
	if i := strings.IndexByte(key, '?'); i >= 0 {
		key = key[:i]
	}
	h.key.Store(&key)
	gigID, err := h.resolve(key)
	if err != nil {
		h.reported.Store(true)
		h.srv.ctr.keysRefused.Add(1)
		if errors.Is(err, access.ErrUnknownKey) {
			h.log.Warn("publish refused: unknown stream key", "key_hint", keyHint(key))
		} else {
			h.log.Error("publish refused: stream key lookup failed", "key_hint", keyHint(key), "err", err)
		}
		h.notify(sc, codePublishUnauthorized, "Stream key not recognised. Copy the current key from the gig's studio page.")
		return fmt.Errorf("publish: %w", access.ErrUnknownKey)
	}
	if !h.srv.startPublishing(h.conn) {
		h.reported.Store(true)
		return fmt.Errorf("publish gig %s: connection already evicted or server closing: %w", gigID, ErrServerClosed)
	}
	h.log = h.log.With("gig", gigID)
	s := media.NewStream(media.StreamConfig{GigID: gigID, Source: "rtmp"}, h.log)
	if err := h.srv.reg.Publish(s); err != nil {
		h.reported.Store(true)
		h.log.Warn("publish refused", "err", err)
		h.notify(sc, codePublishBadName, "This gig is already live from another encoder. Stop it first, or wait a few seconds.")
		return err
	}
	h.stream, h.gigID, h.started = s, gigID, time.Now()
	h.log.Info("publisher live")
	h.closeWhenEnded(s, h.log)
	return nil
}

// closeWhenEnded closes the connection as soon as s ends without this
// publisher ending it: the creator ended the show or rotated the key
// (Registry.Kick), a newer publisher replaced a stale one, or the server is
// shutting down. Failing the next write instead would leave a paused
// encoder connected, and an encoder only shows it was stopped when its
// connection closes. s always ends when the connection does (OnClose), so
// the goroutine always exits.
func (h *publishHandler) closeWhenEnded(s *media.Stream, log *slog.Logger) {
	h.srv.wg.Add(1)
	go func() {
		defer h.srv.wg.Done()
		<-s.Done()
		if err := s.Err(); errors.Is(err, media.ErrKicked) {
			h.reported.Store(true)
			log.Info("stream ended from outside, disconnecting the publisher", "err", err)
		}
		// Unblocks go-rtmp's read; its goroutine then runs OnClose.
		_ = h.conn.Conn.Close()
	}()
}

func (h *publishHandler) resolve(key string) (string, error) {
	if key == "" {
		return "", access.ErrUnknownKey
	}
	ctx, cancel := context.WithTimeout(h.srv.ctx, h.srv.cfg.ResolveTimeout)
	defer cancel()
	gigID, err := h.srv.keys.ResolveStreamKey(ctx, key)
	if err == nil && gigID == "" {
		err = access.ErrUnknownKey
	}
	return gigID, err
}

// notify sends an onStatus error before go-rtmp's generic
// NetStream.Publish.Failed, so the encoder shows a specific reason.
func (h *publishHandler) notify(sc *rtmp.StreamContext, code, description string) {
	if h.rc == nil || sc == nil {
		return
	}
	var body bytes.Buffer
	enc := message.NewAMFEncoder(&body, message.EncodingTypeAMF0)
	status := &message.NetStreamOnStatus{InfoObject: message.NetStreamOnStatusInfoObject{
		Level:       message.NetStreamOnStatusLevelError,
		Code:        message.NetStreamOnStatusCode(code),
		Description: description,
	}}
	if err := message.EncodeBodyAnyValues(enc, status); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.srv.ctx, h.srv.cfg.WriteTimeout)
	defer cancel()
	err := h.rc.Write(ctx, statusChunkStreamID, 0, &rtmp.ChunkMessage{
		StreamID: sc.StreamID,
		Message: &message.CommandMessage{
			CommandName: "onStatus",
			Encoding:    message.EncodingTypeAMF0,
			Body:        &body,
		},
	})
	if err == nil {
		// go-rtmp's writer interleaves chunks of queued messages; wait until
		// this one is out so it reaches the encoder before go-rtmp's generic
		// failure status (encoders show the first error they get).
		_, err = h.rc.GetChunkStreamer().NewChunkWriter(ctx, statusChunkStreamID)
	}
	if err != nil {
		h.log.Debug("sending rtmp status failed", "err", err)
	}
}

// keyHint is a short non-reversible tag that lets an operator tell two
// failing keys apart without the log revealing either.
func keyHint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:4])
}

// read copies a payload out of go-rtmp's shared chunk buffer into the
// connection's scratch buffer.
func (h *publishHandler) read(payload io.Reader) ([]byte, error) {
	h.buf = h.buf[:0]
	w := bytes.NewBuffer(h.buf)
	n, err := w.ReadFrom(io.LimitReader(payload, int64(h.srv.cfg.MaxMessageBytes)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(h.srv.cfg.MaxMessageBytes) {
		return nil, fmt.Errorf("message over %d bytes: %w", h.srv.cfg.MaxMessageBytes, ErrMessageTooLarge)
	}
	h.buf = w.Bytes()
	return h.buf, nil
}

// OnVideo turns an FLV video tag into a Frame or a new H.264 track.
func (h *publishHandler) OnVideo(ts uint32, payload io.Reader) (err error) {
	defer h.guard(&err)
	if h.stream == nil {
		return nil // media before publish: ignore like other servers do
	}
	b, err := h.read(payload)
	if err != nil {
		return h.fail("closing publisher: video message", err)
	}
	tag, err := parseVideoTag(b)
	if err != nil {
		return h.fail("closing publisher: video tag", err)
	}
	dts := h.tl.at(ts)
	if tag.FrameType == videoFrameInfo {
		return nil
	}
	switch tag.PacketType {
	case avcSequenceHdr:
		if h.h264 != nil && bytes.Equal(h.h264.Record, tag.Data) {
			return nil
		}
		cfg, err := media.ParseAVCDecoderConfig(tag.Data)
		if err != nil {
			return h.fail("closing publisher: avc sequence header", err)
		}
		h.h264 = cfg
		h.log.Info("video track", "codec", "H264", "profile", media.ProfileName(cfg.ProfileIDC, cfg.ConstraintFlags),
			"level", media.LevelName(cfg.LevelIDC), "width", cfg.Width, "height", cfg.Height)
		h.stream.SetTrack(&media.Track{Codec: media.CodecH264, H264: cfg})
		return nil
	case avcNALU:
		if h.h264 == nil {
			h.dropWithoutConfig()
			return nil
		}
		f, err := media.FrameFromAVCC(tag.Data, h.h264.LengthSize)
		if err != nil {
			return h.fail("closing publisher: avc access unit", err)
		}
		if f == nil {
			return nil
		}
		f.DTS, f.CTS = dts, time.Duration(tag.CTS)*time.Millisecond
		return h.write(f)
	}
	return nil // end of sequence
}

// OnAudio turns an FLV audio tag into a Frame or a new AAC track.
func (h *publishHandler) OnAudio(ts uint32, payload io.Reader) (err error) {
	defer h.guard(&err)
	if h.stream == nil {
		return nil
	}
	b, err := h.read(payload)
	if err != nil {
		return h.fail("closing publisher: audio message", err)
	}
	tag, err := parseAudioTag(b)
	if err != nil {
		return h.fail("closing publisher: audio tag", err)
	}
	dts := h.tl.at(ts)
	if tag.PacketType == aacSequenceHdr {
		if h.aac != nil && bytes.Equal(h.aac.Raw, tag.Data) {
			return nil
		}
		cfg, err := media.ParseAudioSpecificConfig(tag.Data)
		if err != nil {
			return h.fail("closing publisher: aac sequence header", err)
		}
		h.aac = cfg
		h.log.Info("audio track", "codec", "AAC", "object_type", cfg.ObjectType, "sample_rate", cfg.SampleRate, "channels", cfg.Channels)
		h.stream.SetTrack(&media.Track{Codec: media.CodecAAC, AAC: cfg, SampleRate: cfg.SampleRate, Channels: cfg.Channels})
		return nil
	}
	if h.aac == nil {
		h.dropWithoutConfig()
		return nil
	}
	if len(tag.Data) == 0 {
		return nil
	}
	return h.write(&media.Frame{Codec: media.CodecAAC, DTS: dts, Data: bytes.Clone(tag.Data)})
}

func (h *publishHandler) dropWithoutConfig() {
	if h.noConfig == 0 {
		h.log.Warn("dropping media sent before its sequence header")
	}
	h.noConfig++
}

func (h *publishHandler) write(f *media.Frame) error {
	if err := h.stream.WriteFrame(f); err != nil {
		// The registry replaced or ended the stream (shutdown).
		h.reported.Store(true)
		h.log.Info("stream ended by the server, closing publisher", "err", err)
		return err
	}
	h.frames++
	return nil
}

// OnFCUnpublish and OnDeleteStream end the show: the encoder stopped.
func (h *publishHandler) OnFCUnpublish(uint32, *message.NetStreamFCUnpublish) error {
	h.end("publisher stopped")
	return nil
}

// OnDeleteStream ends the show.
func (h *publishHandler) OnDeleteStream(uint32, *message.NetStreamDeleteStream) error {
	h.end("publisher stopped")
	return nil
}

// OnPlay refuses players: playback is HTTP-FLV, WS-FLV or WebRTC.
func (h *publishHandler) OnPlay(*rtmp.StreamContext, uint32, *message.NetStreamPlay) error {
	return h.fail("rtmp play refused", errors.New("rtmp playback is not offered; use HTTP-FLV or WebRTC"))
}

// OnClose runs when the connection ends for any reason.
func (h *publishHandler) OnClose() {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("panic while closing rtmp connection", "err", fmt.Sprint(r))
		}
	}()
	h.end("publisher disconnected")
}

func (h *publishHandler) end(reason string) {
	if h.stream == nil || h.stream.Closed() {
		return
	}
	h.srv.reg.Unpublish(h.stream)
	h.log.Info(reason, "duration", time.Since(h.started).Round(time.Millisecond), "frames", h.frames)
}
