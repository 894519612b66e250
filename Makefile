# BookMyGig. `make run` and `make test` do all the set-up on a fresh Debian 12
# machine with Go and Node (installing Debian and npm packages as root).
GO      ?= go
BIN     := bin/bookmygig
GOFILES := $(shell git ls-files '*.go' 2>/dev/null)
export PATH := $(PATH):/usr/local/go/bin

.PHONY: help deps deps-test web build run test lint bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

deps: ## install build prerequisites (Debian packages, npm packages)
	@bash scripts/deps.sh build

deps-test: ## install build and test prerequisites (redis-server, ffmpeg, chromium, playwright-core)
	@bash scripts/deps.sh test

web: deps ## build the embedded web front-end into web/dist
	@if [ -f web/package.json ]; then npm run build --prefix web; fi

build: web ## build bin/bookmygig
	$(GO) build -o $(BIN) ./cmd/bookmygig

run: build ## build and start the server on the embedded engine (HTTP :8080, RTMP :1935)
	./$(BIN) $(ARGS)

# golangci-lint runs depguard (.golangci.yml): DESIGN.md's import directions.
# Its version is pinned in scripts/deps.sh, which installs it (make deps-test);
# the one in $(go env GOBIN) or GOPATH/bin is preferred to another on PATH.
lint: ## gofmt, go vet and golangci-lint (import directions)
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@want=$$(sed -n 's/^golangci_lint_version=v//p' scripts/deps.sh); \
	gobin=$$($(GO) env GOBIN); gobin=$${gobin:-$$($(GO) env GOPATH)/bin}; \
	lint=$$gobin/golangci-lint; [ -x "$$lint" ] || lint=$$(command -v golangci-lint) || lint=; \
	have=$$([ -n "$$lint" ] && "$$lint" version --short 2>/dev/null); \
	if [ "$$have" != "$$want" ]; then \
		echo "lint: golangci-lint $$want needed, found $${have:-none}: run 'make deps-test' or" \
			"'go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$$want'" >&2; exit 1; \
	fi; \
	echo "$$lint run ./..."; "$$lint" run ./...

# -p 1: packages one at a time, so the browser and load tests of one package
# do not starve another's timing on a 2-core machine.
test: deps-test web lint ## vet and run every test with the race detector (real redis, ffmpeg, chromium)
	$(GO) test -race -count=1 -p 1 -timeout 45m ./...

bench: deps-test build ## run the benchmarks and print their numbers
	bash scripts/bench.sh

fuzz: ## run each fuzz target for a short, bounded time
	bash scripts/fuzz.sh $(FUZZTIME)

clean: ## remove build outputs
	rm -rf bin web/dist/assets web/dist/index.html
