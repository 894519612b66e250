#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build (`deps.sh build`) or
# to build and test (`deps.sh test`) BookMyGig. As root it installs with
# apt-get; otherwise it names the command to run and fails.
set -euo pipefail
mode=${1:-build}

pkgs=()
need_pkg() { # need_pkg <debian-package> <check command...>
	local pkg=$1
	shift
	if ! "$@" >/dev/null 2>&1; then pkgs+=("$pkg"); fi
}

need_pkg pkg-config command -v pkg-config
need_pkg gcc command -v gcc
for lib in libavcodec libavutil libswresample; do
	need_pkg "${lib}-dev" pkg-config --exists "$lib"
done
need_pkg libopus-dev pkg-config --exists opus
if [ "$mode" = test ]; then
	need_pkg redis-server command -v redis-server
	need_pkg ffmpeg command -v ffprobe
	need_pkg chromium test -x /usr/bin/chromium
	need_pkg procps command -v ps
fi
need_pkg nodejs command -v node
need_pkg npm command -v npm

if [ ${#pkgs[@]} -gt 0 ]; then
	# De-duplicate (pkg-config may appear twice when it is missing).
	mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "deps: installing ${pkgs[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	else
		echo "deps: missing ${pkgs[*]}: run 'sudo apt-get install -y ${pkgs[*]}'" >&2
		exit 1
	fi
fi

# stripe-mock (Stripe's API mock) for the payment tests, by version; go
# install puts it in $(go env GOBIN) or $HOME/go/bin, which .ci/run puts on PATH.
if [ "$mode" = test ] && ! command -v stripe-mock >/dev/null; then
	gobin=$(go env GOBIN)
	gobin=${gobin:-$(go env GOPATH)/bin}
	if [ ! -x "$gobin/stripe-mock" ]; then
		echo "deps: installing stripe-mock"
		go install github.com/stripe/stripe-mock@v0.203.0
	fi
fi

# npm packages, by the versions in the lock files.
if [ -f web/package-lock.json ] && [ ! -d web/node_modules ]; then
	npm ci --prefix web --no-audit --no-fund
fi
if [ "$mode" = test ] && [ ! -d e2e/node_modules/playwright-core ]; then
	npm ci --prefix e2e --no-audit --no-fund
fi
