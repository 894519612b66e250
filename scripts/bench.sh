#!/usr/bin/env bash
# Runs every benchmark of the repository in turn and prints each one's
# numbers under a header; exits non-zero if any run fails (the others still
# run). All load is on 127.0.0.1 with bounded counts and durations: about
# 10 minutes with the defaults on a 2-core machine (longer under other load).
#
#   api        go test -bench . ./api/          gig create/list over HTTP, memory and Redis engines
#   transcode  go test -bench AACToOpus ./transcode/   AAC -> Opus CPU per stream-second
#   chat       go test -bench Chat ./chat/      1,000 WebSocket clients, 2 node processes, 1 Redis
#   flv        bench/flv.sh                     HTTP-FLV fan-out, ffmpeg publisher, flvload readers
#   whep       bench/whep.sh                    WebRTC (WHEP) fan-out, ffmpeg publisher, whepload viewers
#   whip       WHEP_BENCH_SOURCE=whip bench/whep.sh   WHIP -> WHEP fan-out, pion publisher, whepload viewers,
#                                               then viewer PLI -> first keyframe over joining viewers
#   tickets    go test -bench TicketCheck ./cmd/bookmygig/   what a ticket adds to FLV connect and WHEP setup
#                                               (memory and Redis engines), and the gate's ticket check alone
#   cluster    go test -bench Cluster ./cmd/bookmygig/   3 nodes: added latency per relay hop, cold/warm
#                                               first frame on an edge, origin CPU with 2 edges x 100 viewers
#   floor      bench/floor.sh                   the kernel's own cost of the FLV and WebRTC send patterns
#                                               (no server code): what the fan-out CPU goals are weighed against
#
# Overrides (environment):
#   BENCH_RUNS="api chat"        which runs, in order (default: all of the above)
#   API_BENCHTIME=3000x          -benchtime of the API benchmarks (3000x: 6 s per 500 req/s run)
#   TRANSCODE_BENCHTIME=5x       -benchtime of BenchmarkAACToOpus (10 s clip per iteration)
#   CHAT_BENCHTIME=1x            -benchtime of BenchmarkChat1000Clients (one 10 s run per x)
#   FLV_BENCH_N=1,100,500,1000   FLV_BENCH_WINDOW=10s     (read by flv/bench_fanout_test.go)
#   WHEP_BENCH_N=1,50,100,200,300 WHEP_BENCH_WINDOW=10s   (read by sfu/bench_fanout_test.go)
#   WHIP_BENCH_N=1,50,100  WHIP_BENCH_WINDOW=10s  WHIP_BENCH_PLI=10   (the whip run's N, window, PLI viewers)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

runs=${BENCH_RUNS:-api transcode chat tickets flv whep whip cluster floor}
api_benchtime=${API_BENCHTIME:-3000x}
transcode_benchtime=${TRANSCODE_BENCHTIME:-5x}
chat_benchtime=${CHAT_BENCHTIME:-1x}

# 1,000 chat clients and 1,000 FLV readers need more descriptors than 1024.
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

for tool in go redis-server ffmpeg; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: $tool not found (make deps-test installs it)" >&2
		exit 1
	fi
done

run_api() {
	go test -count=1 -timeout 10m -run='^$' -bench=. -benchtime="$api_benchtime" ./api/
}
run_transcode() {
	go test -count=1 -timeout 10m -run='^$' -bench='^BenchmarkAACToOpus$' -benchtime="$transcode_benchtime" ./transcode/
}
run_chat() {
	go test -count=1 -timeout 10m -run='^$' -bench='^BenchmarkChat1000Clients$' -benchtime="$chat_benchtime" ./chat/
}
run_tickets() {
	go test -count=1 -timeout 10m -run='^$' -bench='^BenchmarkTicketCheck$' -benchtime=1x ./cmd/bookmygig/
}
run_flv() {
	bash bench/flv.sh
}
run_whep() {
	bash bench/whep.sh
}
run_cluster() {
	go test -count=1 -timeout 10m -run='^$' -bench='^BenchmarkCluster$' -benchtime=1x ./cmd/bookmygig/
}
run_floor() {
	bash bench/floor.sh
}
run_whip() {
	WHEP_BENCH_SOURCE=whip WHEP_BENCH_N="${WHIP_BENCH_N:-1,50,100}" WHEP_BENCH_WINDOW="${WHIP_BENCH_WINDOW:-10s}" \
		WHEP_BENCH_PLI="${WHIP_BENCH_PLI:-10}" bash bench/whep.sh
}

# collapse prints runs of identical lines once (an overloaded run can log the
# same error thousands of times), flushing as it goes.
collapse() {
	awk '$0 == prev && $0 != "" { n++; next }
		n { print "    (previous line repeated " n " more times)"; n = 0 }
		{ print; fflush(); prev = $0 }
		END { if (n) print "    (previous line repeated " n " more times)" }'
}

describe() {
	case $1 in
	api) echo "API: gig create/list over real HTTP, memory and Redis engines (-benchtime $api_benchtime)" ;;
	transcode) echo "Transcode: AAC -> Opus, CPU per stream-second (-benchtime $transcode_benchtime)" ;;
	chat) echo "Chat: 1,000 WebSocket clients over 2 node processes on 1 Redis, 100 msg/s for 10 s" ;;
	tickets) echo "Tickets: added FLV connect and WHEP setup time with a ticket vs an open gig, and the gate's check (goal p99 < 1 ms memory, < 3 ms Redis)" ;;
	flv) echo "FLV fan-out: N=${FLV_BENCH_N:-1,100,500,1000} readers, window ${FLV_BENCH_WINDOW:-10s}, each N followed by the kernel floor of the same writes and the ratio (bench/flv.sh)" ;;
	whep) echo "WebRTC fan-out: N=${WHEP_BENCH_N:-1,50,100,200,300} viewers, window ${WHEP_BENCH_WINDOW:-10s}, each N followed by the kernel floor of the same packets and the ratio (bench/whep.sh)" ;;
	floor) echo "Kernel floor: the FLV (1,000 TCP readers) and WebRTC (200 UDP viewers) send patterns with no server code (bench/floor.sh)" ;;
	cluster) echo "Cluster: 3 node processes on 1 Redis, origin -> edge relay: added latency per hop, first frame on a cold and a warm edge, origin CPU with 2 edges x 100 viewers vs 2 local viewers" ;;
	whip) echo "WHIP -> WHEP fan-out: N=${WHIP_BENCH_N:-1,50,100} viewers, window ${WHIP_BENCH_WINDOW:-10s}, ${WHIP_BENCH_PLI:-10} PLI viewers (WHEP_BENCH_SOURCE=whip bench/whep.sh)" ;;
	esac
}

echo "bench: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, $(go version | cut -d' ' -f3-), commit $(git rev-parse --short HEAD 2>/dev/null || echo "unknown (not a git checkout)")"
echo "bench: load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (CPU figures are noisy if other work runs)"
echo "bench: runs: $runs"

declare -a summary=()
status=0
for r in $runs; do
	if ! declare -F "run_$r" >/dev/null; then
		echo "bench: unknown run '$r' (known: api transcode chat tickets flv whep whip cluster floor)" >&2
		exit 2
	fi
	echo
	echo "================================================================================"
	echo "== $r: $(describe "$r")"
	echo "== started $(date -u '+%H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "================================================================================"
	start=$SECONDS
	if "run_$r" 2>&1 | collapse; then
		result=ok
	else
		result="FAILED (exit ${PIPESTATUS[0]})"
		status=1
	fi
	summary+=("$(printf '%-10s %-18s %4ds' "$r" "$result" $((SECONDS - start)))")
	echo "== $r: $result in $((SECONDS - start))s"
done

echo
echo "================================================================================"
echo "== summary (load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${summary[@]}"
if [ "$status" -ne 0 ]; then
	echo "bench: at least one run failed" >&2
fi
exit "$status"
