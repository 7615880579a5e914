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
# It installs the pinned Node 22 (scripts/setup-node.sh) and the e2e/node
# dependencies (npm ci, only when the lockfile changed); builds ./cmd/frontmcp;
# picks a free loopback port for the server; and runs the tests with
# FRONTMCP_BIN and MCP_URL set. The last line is
# "e2e-transparent: N passed, M failed"; the exit status is non-zero when a
# test failed or the tests could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/e2e/node"

die() {
	echo "e2e-transparent: $*" >&2
	echo "e2e-transparent: 0 passed, 1 failed"
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
	echo "e2e-transparent: installing e2e/node from package-lock.json" >&2
	(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci failed in $dir"
	printf '%s\n' "$want" >"$stamp"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/frontmcp-e2e-transparent.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "e2e-transparent: building ./cmd/frontmcp" >&2
(cd "$root" && go build -o "$work/frontmcp" ./cmd/frontmcp) || die "go build failed"

# A free loopback port for the server, chosen by the kernel; the test starts
# the server on it after its identity provider is up.
port=$("$node" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"

echo "e2e-transparent: running e2e/node/transparent.test.mjs (server on 127.0.0.1:$port)" >&2
status=0
(cd "$dir" && FRONTMCP_BIN="$work/frontmcp" MCP_URL="http://127.0.0.1:$port/mcp" \
	timeout 600 "$node" --test --test-concurrency=1 --test-timeout=180000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$work/tap.txt" \
	"$@" transparent.test.mjs) || status=$?

passed=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
failed=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
cancelled=$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$work/tap.txt" 2>/dev/null | tail -n 1)
passed=${passed:-0}
failed=$((${failed:-0} + ${cancelled:-0}))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # the runner itself failed (timeout, crash)
fi
echo "e2e-transparent: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
