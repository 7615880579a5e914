# frontmcp-go — build and test entry points. `make test` is the whole test suite.
GO ?= go

.PHONY: all build test vet unit conformance conformance-auth e2e-node e2e-transparent e2e-remote bench bench-smoke fuzz run clean

all: build

build:
	$(GO) build ./...

## test: everything CI runs — vet, unit and integration tests with the race
## detector (Go end-to-end OAuth flows included), the MCP conformance suite
## against examples/everything and its authorization server scenarios against
## frontmcp serve, and the Node end-to-end tests (official
## TypeScript SDK client, headless Chromium on the login and consent pages,
## transparent and remote modes against oidc-provider), and a short run of the benchmark
## harness so that it keeps working.
test: vet unit conformance conformance-auth bench-smoke e2e-node e2e-transparent e2e-remote

vet:
	$(GO) vet ./...

## unit: the Go tests, with the Redis servers they use (a single node, a
## 3-master cluster and a TLS node on free loopback ports) started and
## stopped around them by scripts/redis-test.sh.
unit:
	bash scripts/redis-test.sh $(GO) test -race -count=1 ./...

conformance:
	bash scripts/conformance.sh --suite active

## conformance-auth: the conformance suite's authorization server scenarios
## (metadata; authorization-code grant driven by a headless user agent)
## against frontmcp serve.
conformance-auth:
	bash scripts/conformance-auth.sh

e2e-node:
	bash scripts/e2e-node.sh

## e2e-transparent: transparent mode against a real identity provider
## (oidc-provider, Node) and the official TypeScript SDK client.
e2e-transparent:
	bash scripts/e2e-transparent.sh

## e2e-remote: remote mode — sign-in at oidc-provider, frontmcp's own tokens,
## the encrypted upstream token vault and upstream refresh (examples/remote).
e2e-remote:
	bash scripts/e2e-remote.sh

## bench: frontmcp serve processes on loopback: token endpoint and MCP
## tools/call per store, a reference token endpoint, crypto costs, targets
## (docs/benchmarks.md). About 10 minutes. BENCHFLAGS passes flags.
BENCHFLAGS ?=
bench:
	$(GO) run ./bench/cmd/frontmcp-bench $(BENCHFLAGS)

## bench-smoke: memory store and the reference endpoint, concurrency 1 and 4,
## ~2.5 s of load; exits 1 if any request fails.
bench-smoke:
	$(GO) run ./bench/cmd/frontmcp-bench -smoke

## fuzz: run every fuzz target for FUZZTIME each (default 10s).
FUZZTIME ?= 10s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

run:
	$(GO) run ./cmd/frontmcp serve

clean:
	rm -rf tools/node/node_modules e2e/node/node_modules e2e/artifacts .frontmcp
