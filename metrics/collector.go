package metrics

import "github.com/prometheus/client_golang/prometheus"

// collector reads Sources at scrape time and turns them into const metrics.
type collector struct {
	src Sources

	streams, viewers                         *prometheus.Desc
	sentPackets, sentBytes                   *prometheus.Desc
	skips, stalled                           *prometheus.Desc
	nacks, retransmits, plis                 *prometheus.Desc
	fanCalls, fanPackets                     *prometheus.Desc
	tcBusy, tcIn, tcOut, tcDropped           *prometheus.Desc
	chatMessages, chatEvicted, chatRateLimit *prometheus.Desc
	rtmpConns, rtmpKeysRefused               *prometheus.Desc
	storeUnavailable, limitHits              *prometheus.Desc
}

var _ prometheus.Collector = (*collector)(nil)

func newCollector(src Sources) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("bmg_"+name, help, labels, nil)
	}
	return &collector{
		src:              src,
		streams:          d("live_streams", "Live streams on this node by ingest source (rtmp, whip).", "source"),
		viewers:          d("viewers", "Viewers connected to this node by protocol (webrtc, flv, ws-flv, chat).", "protocol"),
		sentPackets:      d("sent_packets_total", "Packets sent to viewers by protocol: RTP packets for webrtc (retransmissions excluded), FLV tags for flv and ws-flv.", "protocol"),
		sentBytes:        d("sent_bytes_total", "Payload bytes sent to viewers by protocol (RTP payloads for webrtc, FLV tags for flv and ws-flv).", "protocol"),
		skips:            d("slow_viewer_skips_total", "Times a viewer too slow to keep up was skipped ahead to the next keyframe, by protocol (flv counts HTTP-FLV and WS-FLV).", "protocol"),
		stalled:          d("stalled_viewers_dropped_total", "Viewers disconnected because their connection stalled or kept failing, by protocol (flv counts HTTP-FLV and WS-FLV).", "protocol"),
		nacks:            d("webrtc_nacks_received_total", "Packets WebRTC viewers asked to have resent (RTCP NACK entries)."),
		retransmits:      d("webrtc_retransmits_total", "Packets resent to WebRTC viewers in answer to NACKs."),
		plis:             d("webrtc_plis_received_total", "Picture loss indications (PLI, FIR) received from WebRTC viewers."),
		fanCalls:         d("webrtc_fanout_syscalls_total", "System calls (sendmmsg) the streams' fan-out loops made to send live RTP to their WebRTC viewers on UDP."),
		fanPackets:       d("webrtc_fanout_packets_total", "RTP packets those fan-out system calls carried: divided by webrtc_fanout_syscalls_total, the packets (many viewers' frames) per call."),
		tcBusy:           d("transcode_cpu_seconds_total", "Seconds the audio transcoders spent decoding, resampling and encoding, by direction (aac_opus, opus_aac); the work is CPU bound, so this is about its CPU time.", "direction"),
		tcIn:             d("transcode_frames_in_total", "Audio frames given to the transcoders, by direction.", "direction"),
		tcOut:            d("transcode_frames_out_total", "Audio frames the transcoders produced, by direction.", "direction"),
		tcDropped:        d("transcode_frames_dropped_total", "Audio frames dropped because a transcoder's queue was full, by direction.", "direction"),
		chatMessages:     d("chat_messages_total", "Chat messages delivered to this node's rooms, by origin (local: sent on this node, remote: relayed from another node).", "origin"),
		chatEvicted:      d("chat_slow_clients_evicted_total", "Chat clients disconnected because they read too slowly (full send queue)."),
		chatRateLimit:    d("chat_rate_limited_total", "Chat messages refused by the per-client rate limit."),
		rtmpConns:        d("rtmp_connections", "Open RTMP connections."),
		rtmpKeysRefused:  d("rtmp_publish_refused_total", "RTMP publishes refused for an unknown stream key or a failed key lookup."),
		storeUnavailable: d("store_unavailable_total", "API requests answered 503 because the store engine (Redis) could not be reached."),
		limitHits:        d("limit_hits_total", "Requests or connections refused by a limit, by limit (chat_rate, chat_per_ip, webrtc_viewer_cap, webrtc_per_ip, whep_offer_rate, ice_private_candidate, flv_viewer_cap, flv_per_ip, body_too_large, rtmp_max_conns, rtmp_per_ip, rtmp_pre_publish, sdp_too_large).", "limit"),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.streams, c.viewers, c.sentPackets, c.sentBytes, c.skips, c.stalled,
		c.nacks, c.retransmits, c.plis, c.fanCalls, c.fanPackets, c.tcBusy, c.tcIn, c.tcOut, c.tcDropped,
		c.chatMessages, c.chatEvicted, c.chatRateLimit, c.rtmpConns, c.rtmpKeysRefused,
		c.storeUnavailable, c.limitHits,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one read of every source.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	s := c.src
	if s.Streams != nil {
		for src, n := range s.Streams() {
			gauge(c.streams, float64(n), src)
		}
	}
	if s.Viewers != nil {
		for proto, n := range s.Viewers() {
			gauge(c.viewers, float64(n), proto)
		}
	}
	if s.Sent != nil {
		for proto, t := range s.Sent() {
			counter(c.sentPackets, float64(t.Packets), proto)
			counter(c.sentBytes, float64(t.Bytes), proto)
		}
	}
	if s.Slow != nil {
		for proto, v := range s.Slow() {
			counter(c.skips, float64(v.Skipped), proto)
			counter(c.stalled, float64(v.Dropped), proto)
		}
	}
	if s.WebRTC != nil {
		w := s.WebRTC()
		counter(c.nacks, float64(w.NACKs))
		counter(c.retransmits, float64(w.Retransmits))
		counter(c.plis, float64(w.PLIs))
		counter(c.fanCalls, float64(w.FanoutSyscalls))
		counter(c.fanPackets, float64(w.FanoutPackets))
	}
	if s.Transcode != nil {
		for dir, t := range s.Transcode() {
			counter(c.tcBusy, t.Busy.Seconds(), dir)
			counter(c.tcIn, float64(t.FramesIn), dir)
			counter(c.tcOut, float64(t.FramesOut), dir)
			counter(c.tcDropped, float64(t.Dropped), dir)
		}
	}
	if s.Chat != nil {
		m := s.Chat()
		counter(c.chatMessages, float64(m.Local), "local")
		counter(c.chatMessages, float64(m.Remote), "remote")
		counter(c.chatEvicted, float64(m.Evicted))
		counter(c.chatRateLimit, float64(m.RateLimited))
	}
	if s.RTMP != nil {
		r := s.RTMP()
		gauge(c.rtmpConns, float64(r.Conns))
		counter(c.rtmpKeysRefused, float64(r.KeysRefused))
	}
	if s.StoreUnavailable != nil {
		counter(c.storeUnavailable, float64(s.StoreUnavailable()))
	}
	if s.Limits != nil {
		for name, n := range s.Limits() {
			counter(c.limitHits, float64(n), name)
		}
	}
}
