# idp-e2e.sh: the body of e2e-transparent.sh and e2e-remote.sh, which run a
# Node test file against a frontmcp binary and an identity provider
# (oidc-provider) that the test itself starts.
#
# Usage (from those scripts): . lib/idp-e2e.sh NAME GO_PACKAGE TEST_FILE [node --test arguments]
#
# It installs the pinned Node 22 (scripts/setup-node.sh) and the e2e/node
# dependencies; builds GO_PACKAGE; picks a free loopback port for the server
# (the test starts the server there once its provider is up); and runs
# TEST_FILE with FRONTMCP_BIN and MCP_URL set. The last line is
# "NAME: N passed, M failed"; the exit status is non-zero when a test failed
# or the tests could not run.
set -euo pipefail

name=$1 pkg=$2 testfile=$3
shift 3
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/e2e/node"

die() {
	echo "$name: $*" >&2
	echo "$name: 0 passed, 1 failed"
	exit 1
}

command -v go >/dev/null 2>&1 || die "go not found on PATH"

# shellcheck source=node-tests.sh
. "$root/scripts/lib/node-tests.sh"
node=$("$root/scripts/setup-node.sh") || die "setup-node.sh failed"
node_deps "$name"

work=$(mktemp -d "${TMPDIR:-/tmp}/frontmcp-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "$name: building $pkg" >&2
(cd "$root" && go build -o "$work/frontmcp" "$pkg") || die "go build failed"

# A free loopback port for the server, chosen by the kernel.
port=$("$node" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"

echo "$name: running e2e/node/$testfile (server on 127.0.0.1:$port)" >&2
status=0
# spec output for people, TAP to a file for the counts.
(cd "$dir" && FRONTMCP_BIN="$work/frontmcp" MCP_URL="http://127.0.0.1:$port/mcp" \
	timeout 600 "$node" --test --test-concurrency=1 --test-timeout=180000 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=tap --test-reporter-destination="$work/tap.txt" \
	"$@" "$testfile") || status=$?

tap_counts "$status" "$work/tap.txt"
echo "$name: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
