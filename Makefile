# frontmcp-go — build and test entry points. `make test` is the whole test suite.
GO ?= go

.PHONY: all build test vet unit conformance fuzz run clean

all: build

build:
	$(GO) build ./...

## test: everything CI runs — vet, unit and integration tests with the race
## detector, and the MCP conformance suite against examples/everything.
test: vet unit conformance

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

conformance:
	bash scripts/conformance.sh --suite active

## fuzz: run every fuzz target for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

run:
	$(GO) run ./cmd/frontmcp serve

clean:
	rm -rf tools/node/node_modules tools/node/.installed .frontmcp
