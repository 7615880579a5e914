#!/usr/bin/env bash
# e2e-node.sh runs the Node end-to-end tests (e2e/node) against the embedded
# OAuth 2.1 authorization server: the official TypeScript MCP SDK client
# (discovery, DCR, PKCE, scripted login and consent, tools, refresh rotation,
# replay, 401-driven refresh, insufficient_scope) and a real headless Chromium
# (Debian package, driven by playwright-core) on the login and consent pages.
#
# Usage: scripts/e2e-node.sh [node --test arguments, e.g. --test-name-pattern=browser]
#
# It installs the pinned Node 22 (scripts/setup-node.sh), the e2e/node
# dependencies (npm ci, only when the lockfile changed) and Chromium
# (scripts/setup-chromium.sh); builds ./examples/everything; starts it with
# e2e/testdata/local.yaml on a free loopback port from a temporary working
# directory; waits for /readyz; runs the tests with MCP_URL and CHROMIUM set;
# and stops the server. Screenshots go to e2e/artifacts/ (their paths are
# printed). The last line is "e2e-node: N passed, M failed"; the exit status is
# non-zero when a test failed or the tests could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/e2e/node"
config="$root/e2e/testdata/local.yaml"
artifacts="$root/e2e/artifacts"

die() {
	echo "e2e-node: $*" >&2
	echo "e2e-node: 0 passed, 1 failed"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go not found on PATH"
command -v curl >/dev/null 2>&1 || die "curl not found on PATH (Debian: apt-get install -y curl)"
[ -f "$config" ] || die "missing $config"

node=$("$root/scripts/setup-node.sh") || die "setup-node.sh failed"
chromium=$("$root/scripts/setup-chromium.sh") || die "setup-chromium.sh failed"

# shellcheck source=lib/node-tests.sh
. "$root/scripts/lib/node-tests.sh"
node_deps e2e-node

# shellcheck source=lib/server.sh
. "$root/scripts/lib/server.sh"
server_start e2e-node --config "$config"

mkdir -p "$artifacts"
touch "$work/started"

echo "e2e-node: running e2e/node against $base/mcp" >&2
status=0
# spec output for people, TAP to a file for the counts.
(cd "$dir" && MCP_URL="$base/mcp" CHROMIUM="$chromium" ARTIFACTS_DIR="$artifacts" \
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
	timeout 900 "$node" --test --test-concurrency=1 --test-timeout=180000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$work/tap.txt" \
	"$@" sdk-client.test.mjs browser.test.mjs) || status=$?

tap_counts "$status" "$work/tap.txt"

if [ "$failed" -gt 0 ]; then
	echo "e2e-node: server log (last 50 lines):" >&2
	tail -n 50 "$work/server.log" >&2
fi
shots=$(find "$artifacts" -maxdepth 1 -name '*.png' -newer "$work/started" | sort)
if [ -n "$shots" ]; then
	echo "e2e-node: screenshots:"
	while IFS= read -r shot; do
		echo "  $shot"
	done <<<"$shots"
fi
echo "e2e-node: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
