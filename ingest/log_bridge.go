package ingest

import (
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// newRTMPLogger returns a logrus logger for one go-rtmp connection that
// writes nothing itself and forwards warnings and errors into slog. go-rtmp
// logs every command at info level, including the publish stream name,
// which is the secret stream key, so info and debug entries are dropped and
// forwarded text has the key (once known) and anything that looks like a
// secret cut out, before it is truncated. Global logrus state is
// never touched.
func newRTMPLogger(log *slog.Logger, h *publishHandler) logrus.FieldLogger {
	l := logrus.New()
	l.Out = io.Discard
	l.SetLevel(logrus.WarnLevel)
	l.AddHook(&slogHook{log: log, h: h})
	return l
}

type slogHook struct {
	log *slog.Logger
	h   *publishHandler
}

func (*slogHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (s *slogHook) Fire(e *logrus.Entry) error {
	msg := e.Message
	// pkg/errors stack traces follow the first line; they say nothing
	// useful to an operator.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = truncate(redact(msg, s.h.secret()), 300)
	if e.Level <= logrus.ErrorLevel {
		if s.h.alreadyReported() {
			// The handler already logged why it closed the connection.
			return nil
		}
		if r := s.h.conn.closeReason(); r != nil {
			s.h.srv.logClosed(s.log, s.h.conn, redact(r.Error(), s.h.secret()))
			return nil
		}
		s.h.srv.logClosed(s.log, s.h.conn, msg)
		return nil
	}
	s.log.Debug("rtmp", "msg", msg)
	return nil
}

// logClosed logs why a connection ended with an error. Connections that
// never published are anonymous and can be opened at will, so their lines
// are rate-limited.
func (s *Server) logClosed(log *slog.Logger, c *deadlineConn, reason string) {
	if c.publishing.Load() {
		log.Warn("rtmp connection error", "err", reason)
		return
	}
	if quiet, ok := s.quiet.allow(time.Now()); ok {
		log.Warn("rtmp connection error", "err", reason, "quiet_since_last", quiet)
	}
}
