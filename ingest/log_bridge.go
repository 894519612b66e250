package ingest

import (
	"io"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
)

// newRTMPLogger returns a logrus logger for one go-rtmp connection that
// writes nothing itself and forwards warnings and errors into slog. go-rtmp
// logs every command at info level, including the publish stream name,
// which is the secret stream key, so info and debug entries are dropped and
// forwarded text has the key (once known) cut out. Global logrus state is
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
	if len(msg) > 300 {
		msg = msg[:300]
	}
	if k := s.h.secret(); k != "" {
		msg = strings.ReplaceAll(msg, k, "[key]")
	}
	if e.Level <= logrus.ErrorLevel {
		if s.h.alreadyReported() {
			// The handler already logged why it closed the connection.
			return nil
		}
		s.log.Warn("rtmp connection error", "err", msg)
		return nil
	}
	s.log.Debug("rtmp", "msg", msg)
	return nil
}
