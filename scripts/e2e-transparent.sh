#!/usr/bin/env bash
# e2e-transparent.sh runs the Node end-to-end tests of transparent mode
# (e2e/node/transparent.test.mjs): frontmcp as a pure resource server in front
# of oidc-provider, an OpenID-certified identity provider issuing RFC 9068
# access tokens with resource indicators. The test starts the provider in its
# own process and the server as a child; it covers discovery, the official
# TypeScript MCP SDK client authorizing at the provider, the refused-token
# cases, key rotation, the key set rate limit and the provider going down.
#
# Usage: scripts/e2e-transparent.sh [node --test arguments, e.g. --test-name-pattern=rotates]
#
# scripts/lib/idp-e2e.sh does the work: it installs the pinned Node 22 and the
# e2e/node dependencies, builds ./cmd/frontmcp, picks a free loopback port and runs
# the tests; the last line is "e2e-transparent: N passed, M failed".
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib/idp-e2e.sh" e2e-transparent ./cmd/frontmcp transparent.test.mjs "$@"
