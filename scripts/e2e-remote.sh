#!/usr/bin/env bash
# e2e-remote.sh runs the Node end-to-end tests of orchestrated/remote mode
# (e2e/node/remote.test.mjs): users sign in at oidc-provider, an
# OpenID-certified identity provider, while frontmcp issues its own tokens to
# the MCP client (the official TypeScript MCP SDK) and keeps the provider's
# tokens encrypted in its vault for a tool (examples/remote, which reads the
# provider's userinfo with frontmcp.UpstreamToken). The test starts the
# provider in its own process, a fault-injection proxy in front of the
# provider's token endpoint, and the server as a child; it covers the happy
# path, a denied sign-in, a bad ID token signature, a nonce mismatch,
# transparent upstream refresh, a refused upstream refresh, our own refresh,
# ciphertext at rest, a restart and a wrong vault key.
#
# Usage: scripts/e2e-remote.sh [node --test arguments, e.g. --test-name-pattern=nonce]
#
# scripts/lib/idp-e2e.sh does the work: it installs the pinned Node 22 and the
# e2e/node dependencies, builds ./examples/remote, picks a free loopback port and runs
# the tests; the last line is "e2e-remote: N passed, M failed".
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib/idp-e2e.sh" e2e-remote ./examples/remote remote.test.mjs "$@"
