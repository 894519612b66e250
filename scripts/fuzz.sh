#!/usr/bin/env bash
# Runs every fuzz target in the repository for a bounded time each
# (default 10s). Crashers land in testdata/fuzz and become regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
status=0
while IFS= read -r line; do
	file=${line%%:*}
	name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	echo "== $pkg $name ($t)"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "$pkg" || status=1
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v node_modules)
exit $status
