package payment

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// leveledLogger routes stripe-go's own logging into slog. Its per-request
// chatter goes to debug; its error lines to warn (the caller also gets the
// error and logs it with context). Response bodies (Debugf) are dropped:
// they carry buyers' emails.
type leveledLogger struct {
	log *slog.Logger
	key string
}

var _ stripe.LeveledLoggerInterface = leveledLogger{}

func (l leveledLogger) msg(format string, v []any) string {
	m := fmt.Sprintf(format, v...)
	if l.key != "" {
		m = strings.ReplaceAll(m, l.key, redacted)
	}
	return m
}

func (l leveledLogger) Debugf(string, ...any) {}

func (l leveledLogger) Infof(format string, v ...any) {
	l.log.Debug("stripe client", "detail", l.msg(format, v))
}

func (l leveledLogger) Warnf(format string, v ...any) {
	l.log.Warn("stripe client", "detail", l.msg(format, v))
}

func (l leveledLogger) Errorf(format string, v ...any) {
	l.log.Warn("stripe client", "detail", l.msg(format, v))
}
