package main

import (
	"net/http"
	"sync"

	"github.com/bookmygig/bookmygig/api"
	"github.com/bookmygig/bookmygig/metrics"
	"github.com/bookmygig/bookmygig/transcode"
)

// meters are the counters cmd owns for the packages that have no
// long-lived object of their own to keep them (the API router, the
// per-stream transcoders), and the Prometheus registry built on demand.
type meters struct {
	api       api.Meter
	transcode transcode.Meter

	once sync.Once
	prom *metrics.Metrics
}

// metrics returns the server's registry; the sources read the components
// at scrape time, so it may be built before all of them exist.
func (a *app) metrics() *metrics.Metrics {
	a.meters.once.Do(func() { a.meters.prom = metrics.New(a.metricsSources(), a.log) })
	return a.meters.prom
}

// withMetrics adds GET /metrics to the router's mounts (so the OpenAPI
// document lists it), the request duration hook and the API's meter.
func (a *app) withMetrics(d api.Deps) api.Deps {
	m := a.metrics()
	d.Mounts = append(d.Mounts, api.Mount{Method: http.MethodGet, Path: "/metrics", Summary: "Prometheus metrics (text exposition format)", Handler: m.Handler()})
	d.ObserveRequest = m.ObserveRequest
	d.Meter = &a.meters.api
	return d
}

// metricsSources turns each component's snapshot into what metrics reads.
// Every series exists from the start (zero), so rates work from the first
// scrape.
func (a *app) metricsSources() metrics.Sources {
	return metrics.Sources{
		Streams: func() map[string]int {
			out := map[string]int{"rtmp": 0, "whip": 0}
			for _, s := range a.reg.Streams() {
				out[s.Source()]++
			}
			return out
		},
		Viewers: func() map[string]int {
			out := map[string]int{"webrtc": 0, "flv": 0, "ws-flv": 0, "chat": a.hub.Counters().Viewers}
			for _, s := range a.reg.Streams() {
				for proto, n := range s.ViewerCounts() {
					out[proto] += n
				}
			}
			return out
		},
		Sent: func() map[string]metrics.Traffic {
			w, f := a.sfu.Counters(), a.flv.Counters()
			return map[string]metrics.Traffic{
				"webrtc": {Packets: w.PacketsSent, Bytes: w.BytesSent},
				"flv":    {Packets: f.HTTPTags, Bytes: f.HTTPBytes},
				"ws-flv": {Packets: f.WSTags, Bytes: f.WSBytes},
			}
		},
		Slow: func() map[string]metrics.Slow {
			w, f := a.sfu.Counters(), a.flv.Counters()
			return map[string]metrics.Slow{
				"webrtc": {Skipped: w.Skips, Dropped: w.Dropped},
				"flv":    {Skipped: f.Skips, Dropped: f.Stalled},
			}
		},
		WebRTC: func() metrics.WebRTC {
			w := a.sfu.Counters()
			return metrics.WebRTC{NACKs: w.NACKs, Retransmits: w.Retransmits, PLIs: w.PLIs,
				FanoutSyscalls: w.FanoutSyscalls, FanoutPackets: w.FanoutPackets}
		},
		Transcode: func() map[string]metrics.Transcode {
			c := a.meters.transcode.Counters()
			conv := func(d transcode.DirectionCounters) metrics.Transcode {
				return metrics.Transcode{FramesIn: d.FramesIn, FramesOut: d.FramesOut, Dropped: d.Dropped, Busy: d.Busy}
			}
			return map[string]metrics.Transcode{"aac_opus": conv(c.AACToOpus), "opus_aac": conv(c.OpusToAAC)}
		},
		Chat: func() metrics.Chat {
			c := a.hub.Counters()
			return metrics.Chat{Local: c.Local, Remote: c.Remote, Evicted: c.Evicted, RateLimited: c.RateLimited}
		},
		StoreUnavailable: func() uint64 { return a.meters.api.Counters().StoreUnavailable },
		Limits: func() map[string]uint64 {
			c, w, f, wi := a.hub.Counters(), a.sfu.Counters(), a.flv.Counters(), a.whip.Counters()
			out := map[string]uint64{
				metrics.LimitChatRate:        c.RateLimited,
				metrics.LimitChatPerIP:       c.PerIPRefused,
				metrics.LimitWebRTCViewerCap: w.ViewerCapHits,
				metrics.LimitWebRTCPerIP:     w.AddrCapHits,
				metrics.LimitWHEPOfferRate:   w.RateLimited,
				metrics.LimitICEPrivate:      w.CandidatesDropped + wi.CandidatesDropped,
				metrics.LimitFLVViewerCap:    f.ViewerCapHits,
				metrics.LimitFLVPerIP:        f.AddrCapHits,
				metrics.LimitSDPTooLarge:     w.SDPTooLarge + wi.SDPTooLarge,
				metrics.LimitBodyTooLarge:    a.meters.api.Counters().BodyTooLarge,
				metrics.LimitRTMPMaxConns:    0,
			}
			if a.rtmp != nil {
				rc := a.rtmp.Counters()
				out[metrics.LimitRTMPMaxConns] = rc.ConnsRefused
				out[metrics.LimitRTMPPerIP] = rc.IPConnsRefused
				// Connections closed before publishing: deadline, byte
				// budget, malformed chunks, or evicted for a newcomer.
				out[metrics.LimitRTMPPrePublish] = rc.PrePublishClosed + rc.Evicted
			}
			return out
		},
		RTMP: func() metrics.RTMP {
			if a.rtmp == nil {
				return metrics.RTMP{}
			}
			return metrics.RTMP{Conns: a.rtmp.Conns(), KeysRefused: a.rtmp.Counters().KeysRefused}
		},
	}
}
