#!/usr/bin/env bash
# FLV fan-out benchmark: one 720p30 ~2.5 Mbit/s RTMP publisher (ffmpeg),
# N = 1, 100, 500, 1000 HTTP-FLV readers (bench/flvload, separate process).
# FLV_BENCH_PIN=1: server pinned to CPU 0 (GOMAXPROCS 1), readers to CPU 1.
# Override: FLV_BENCH_N=1,100 FLV_BENCH_WINDOW=5s bash bench/flv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true
exec go test -tags bench -count=1 -timeout 15m -run TestFLVFanoutBench -v ./flv/ 2>&1 | grep -v '^=== RUN'
