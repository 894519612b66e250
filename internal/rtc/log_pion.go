package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// levelTrace is below slog.LevelDebug: pion's trace output (every STUN
// packet) only shows when asked for explicitly.
const levelTrace = slog.LevelDebug - 4

// LoggerFactory routes pion's logging into slog. pion's Info is internal
// detail (state changes of every sub-protocol), so it goes to Debug. Its
// warnings are mostly connection churn a viewer causes (a closed tab, a
// missed DELETE): Info, or Debug for the known noise of every session end;
// its errors go to Warn, since a client can cause them too. Formatting
// happens only when the level is enabled.
type LoggerFactory struct{ log *slog.Logger }

var _ logging.LoggerFactory = LoggerFactory{}

// NewLogger implements logging.LoggerFactory.
func (f LoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l pionLogger) Trace(msg string)                  { l.logf(levelTrace, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.warnf("%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.warnf(format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }

// churn are substrings of pion warnings every normal session end produces.
var churn = []string{"closed pipe", "already closed", "without candidate pairs", "use of closed", "EOF"}

func (l pionLogger) warnf(format string, args ...any) {
	if !l.log.Enabled(context.Background(), slog.LevelDebug) && !l.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	msg := fmt.Sprintf(format, args...)
	level := slog.LevelInfo
	for _, c := range churn {
		if strings.Contains(msg, c) {
			level = slog.LevelDebug
			break
		}
	}
	l.log.Log(context.Background(), level, msg)
}
