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
# It installs the pinned Node 22 (scripts/setup-node.sh) and the e2e/node
# dependencies (npm ci, only when the lockfile changed); builds
# ./examples/remote; picks a free loopback port for the server; and runs the
# tests with FRONTMCP_BIN and MCP_URL set. The last line is
# "e2e-remote: N passed, M failed"; the exit status is non-zero when a test
# failed or the tests could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/e2e/node"

die() {
	echo "e2e-remote: $*" >&2
	echo "e2e-remote: 0 passed, 1 failed"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go not found on PATH"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found on PATH (coreutils)"

node=$("$root/scripts/setup-node.sh") || die "setup-node.sh failed"

# e2e/node dependencies: npm ci only when node_modules is missing or the
# lockfile changed since the last install; no install scripts run.
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.frontmcp-lock.sha256"
[ -f "$lock" ] || die "missing $lock"
want=$(sha256sum "$lock" | cut -d' ' -f1)
have=""
[ -f "$stamp" ] && have=$(cat "$stamp")
if [ ! -d "$dir/node_modules" ] || [ "$want" != "$have" ]; then
	command -v npm >/dev/null 2>&1 || die "npm not found on PATH (Debian: apt-get install -y npm)"
	echo "e2e-remote: installing e2e/node from package-lock.json" >&2
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci failed in $dir"
	printf '%s\n' "$want" >"$stamp"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/frontmcp-e2e-remote.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "e2e-remote: building ./examples/remote" >&2
(cd "$root" && go build -o "$work/frontmcp" ./examples/remote) || die "go build failed"

# A free loopback port for the server, chosen by the kernel; the test starts
# the server on it after its identity provider is up.
port=$("$node" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"

echo "e2e-remote: running e2e/node/remote.test.mjs (server on 127.0.0.1:$port)" >&2
status=0
(cd "$dir" && FRONTMCP_BIN="$work/frontmcp" MCP_URL="http://127.0.0.1:$port/mcp" \
	timeout 600 "$node" --test --test-concurrency=1 --test-timeout=180000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$work/tap.txt" \
	"$@" remote.test.mjs) || status=$?

passed=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
failed=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
cancelled=$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
passed=${passed:-0}
failed=$((${failed:-0} + ${cancelled:-0}))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # the runner itself failed (timeout, crash)
fi
echo "e2e-remote: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
