#!/usr/bin/env bash
# Runs every fuzz target in the repository for a bounded budget each.
# Crashers land in testdata/fuzz and become regression tests.
#
# The default budget is a count of executions (-fuzztime=Nx), not a duration:
# with a duration, Go 1.26's fuzz coordinator can end a run that found
# nothing with "context deadline exceeded" when the deadline meets a busy
# worker (golang/go#75804, fixed in Go 1.27). A count has no deadline.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20000x}
status=0
while IFS= read -r line; do
	file=${line%%:*}
	name=$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")
	pkg=./$(dirname "$file")
	echo "== $pkg $name ($t)"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$t" "$pkg" || status=1
done < <(grep -rEn --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v node_modules)
exit $status
