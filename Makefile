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

lint: ## gofmt and go vet
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

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
