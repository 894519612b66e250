package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's Prometheus registry: the bmg_ metrics read from
// Sources, the HTTP request histogram, and the Go and process collectors.
type Metrics struct {
	reg     *prometheus.Registry
	http    *prometheus.HistogramVec
	handler http.Handler
}

// New builds the registry. log receives scrape errors.
func New(src Sources, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bmg_http_request_duration_seconds",
			Help: "HTTP request duration by method, route template (never the raw URL) and status; long-lived FLV and chat connections count when they end.",
			// From a cached read to a slow Redis write; longer ones
			// (streams) land in +Inf.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newCollector(src),
		m.http,
	)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log.With("component", "metrics")},
		ErrorHandling: promhttp.ContinueOnError,
	})
	return m
}

// Handler serves the exposition format (GET /metrics).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest records one answered HTTP request (api.Deps.ObserveRequest).
// route is the router's template; "" (an unmatched path) is recorded as
// "unmatched" and a method outside the standard ones as "other", so no
// client can grow the label sets.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.http.WithLabelValues(methodLabel(method), route, strconv.Itoa(status)).Observe(d.Seconds())
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// slogPrinter adapts slog to promhttp's error logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) {
	p.log.Warn("metrics scrape", "err", slog.AnyValue(v).String())
}
