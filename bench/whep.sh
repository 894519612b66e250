#!/usr/bin/env bash
# WebRTC (WHEP) fan-out benchmark: one 720p30 ~2.5 Mbit/s H.264 + AAC RTMP
# publisher (ffmpeg, 4 s GOP), the AAC -> Opus transcoder, and
# N = 1, 50, 100, 200, 300 pion WHEP viewers (bench/whepload, a separate
# process). Server pinned to CPU 0, load to CPU 1 (taskset).
# WHEP_BENCH_SOURCE=whip: a pion WHIP publisher (H.264 + Opus) instead, and
# WHEP_BENCH_PLI (default 10) viewers measuring PLI -> first keyframe.
# Fails when fewer viewers than asked receive a frame or no packet arrives.
# Override: WHEP_BENCH_N=1,100,400 WHEP_BENCH_WINDOW=5s bash bench/whep.sh
# BENCH_RX_STEER=1 (root): steer loopback receive processing to CPU 1 (RPS on
# lo) for the run, as on a real network where the viewers' kernels do the
# receiving; by default loopback bills that work to the sending server.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true
rps=/sys/class/net/lo/queues/rx-0/rps_cpus
if [ "${BENCH_RX_STEER:-0}" = 1 ]; then
	if old=$(cat "$rps" 2>/dev/null) && echo 2 >"$rps" 2>/dev/null; then
		trap 'echo "$old" >"$rps"' EXIT
		echo "loopback receive steered to CPU 1 (RPS) for this run"
	else
		echo "BENCH_RX_STEER=1: cannot write $rps (needs root); not steered" >&2
	fi
fi
go test -tags bench -count=1 -timeout 20m -run TestWHEPFanoutBench -v ./sfu/ 2>&1 | grep -v '^=== RUN'
