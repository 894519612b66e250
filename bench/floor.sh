#!/usr/bin/env bash
# Kernel floor: what this machine charges for the FLV and WebRTC fan-out
# patterns with no server code on top (bench/floor/main.go): one 11.4 KB TCP
# write per reader per frame to 1,000 readers, and AES-128-GCM + GSO UDP
# sends of the WebRTC packet pattern to 200 viewers. Sender on CPU 0, readers
# on CPU 1. The fan-out benchmarks' CPU goals are weighed against these.
# BENCH_RX_STEER=1 (root): also run with loopback receive processing steered
# to CPU 1 (RPS on lo, restored after), i.e. the send side alone.
# Override: FLOOR_TCP_N=1000 FLOOR_UDP_N=200 FLOOR_WINDOW=10s
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 8192 || true
bin=$(mktemp -d)/floor
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/floor
w=${FLOOR_WINDOW:-10s}
"$bin" -mode tcp -n "${FLOOR_TCP_N:-1000}" -duration "$w"
"$bin" -mode udp -n "${FLOOR_UDP_N:-200}" -duration "$w"
rps=/sys/class/net/lo/queues/rx-0/rps_cpus
if [ "${BENCH_RX_STEER:-0}" = 1 ]; then
	if old=$(cat "$rps" 2>/dev/null) && echo 2 >"$rps" 2>/dev/null; then
		trap 'echo "$old" >"$rps"; rm -rf "$(dirname "$bin")"' EXIT
		echo "loopback receive steered to CPU 1 (RPS):"
		"$bin" -mode tcp -n "${FLOOR_TCP_N:-1000}" -duration "$w"
		"$bin" -mode udp -n "${FLOOR_UDP_N:-200}" -duration "$w"
	else
		echo "BENCH_RX_STEER=1: cannot write $rps (needs root); not steered" >&2
	fi
fi
