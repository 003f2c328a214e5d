# cachesync — build, test and benchmark targets.
# Tests need real PostgreSQL 15 and memcached; `make deps` installs them
# (Debian packages) only when something is missing.

GO       ?= go
FUZZTIME ?= 30s
FUZZPKGS ?= ./...
PGBIN    := /usr/lib/postgresql/15/bin
VERSION   = $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   = -X main.version=$(VERSION)
DEB_PKGS := postgresql-15 memcached libmemcached-tools nutcracker chromium \
            python3-pymemcache python3-pylibmc python3-django

# sudo only when we are not root and sudo exists.
SUDO := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null || echo sudo)

.PHONY: deps test bench build demo fuzz

deps:
	@missing=0; \
	test -x $(PGBIN)/postgres || { echo "missing: $(PGBIN)/postgres"; missing=1; }; \
	for c in memcached memccapable memcaslap nutcracker chromium; do \
		command -v $$c >/dev/null || { echo "missing: $$c"; missing=1; }; \
	done; \
	for m in pymemcache pylibmc django; do \
		/usr/bin/python3 -c "import $$m" 2>/dev/null || { echo "missing: python3-$$m"; missing=1; }; \
	done; \
	if [ $$missing = 1 ]; then \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y $(DEB_PKGS); \
	fi
	@getent passwd postgres >/dev/null || { echo "no postgres user: install postgresql-15 (it creates one)"; exit 1; }

# The fault suite runs last and verbose, so its table (scenario, operations,
# staleness, inconsistencies) is printed even when it passes.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/test/faults$$')
	$(GO) test -race -count=1 -timeout 20m -v ./test/faults/

# System benchmarks (real servers, one long run each: drain, live tail,
# two-region lag, memcaslap) print their own tables; the micro benchmarks
# run with the usual b.N loop.
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime=1x -timeout 30m ./test/bench/ ./lease/proxy/
	$(GO) test -run '^$$' -bench . -benchtime=1s -timeout 10m ./invalidator/... ./lease/ring/ ./lease/memproto/

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/cachesync ./cmd/cachesync

demo: deps build
	./bin/cachesync demo

# Runs every fuzz target, one at a time (go test -fuzz takes one target per
# package per run), for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(FUZZPKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done
