#!/usr/bin/env bash
# conformance.sh runs the official MCP conformance suite (npm
# @modelcontextprotocol/conformance, pinned in tools/node) against the
# examples/everything server over Streamable HTTP on loopback.
#
# Usage: scripts/conformance.sh [--suite active|all|pending] [--scenario NAME] [--results DIR]
#
#   --suite     which server scenarios to run (default: active, which leaves out
#               the suite's pending scenarios)
#   --scenario  run one scenario only (overrides --suite)
#   --results   keep the suite's per-scenario checks.json files in DIR
#
# It installs the pinned Node tooling (scripts/setup-node.sh), builds the server,
# starts it on a free loopback port, waits until /mcp answers, runs the suite and
# stops the server. Its last line is "conformance: N passed, M failed"; the exit
# status is non-zero when any check failed or the suite could not run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=active
scenario=""
results=""

die() {
	echo "conformance: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--suite)
		[ $# -ge 2 ] || die "--suite needs a value"
		suite=$2
		shift 2
		;;
	--suite=*)
		suite=${1#--suite=}
		shift
		;;
	--scenario)
		[ $# -ge 2 ] || die "--scenario needs a value"
		scenario=$2
		shift 2
		;;
	--scenario=*)
		scenario=${1#--scenario=}
		shift
		;;
	--results)
		[ $# -ge 2 ] || die "--results needs a value"
		results=$2
		shift 2
		;;
	--results=*)
		results=${1#--results=}
		shift
		;;
	-h | --help)
		sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done
case "$suite" in
active | all | pending) ;;
*) die "--suite must be active, all or pending, not '$suite'" ;;
esac

command -v go >/dev/null 2>&1 || die "go not found on PATH"
command -v curl >/dev/null 2>&1 || die "curl not found on PATH (Debian: apt-get install -y curl)"

node=$("$root/scripts/setup-node.sh") || die "setup-node.sh failed"
cli="$root/tools/node/node_modules/@modelcontextprotocol/conformance/dist/index.js"
[ -f "$cli" ] || die "conformance CLI missing: $cli"

# shellcheck source=lib/server.sh
. "$root/scripts/lib/server.sh"
server_start conformance
url="$base/mcp"

out=${results:-"$work/results"}
mkdir -p "$out"
args=(server --url "$url" -o "$out")
if [ -n "$scenario" ]; then
	args+=(--scenario "$scenario")
else
	args+=(--suite "$suite")
fi

echo "conformance: running ${scenario:-suite $suite} against $url" >&2
status=0
timeout 900 "$node" "$cli" "${args[@]}" 2>&1 | tee "$work/suite.log" || status=$?

# The suite prints "Total: N passed, M failed" for a suite run, and
# "Passed: N/D, M failed, W warnings" for a single scenario.
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$work/suite.log")
if line=$(grep -E '^Total: [0-9]+ passed, [0-9]+ failed' <<<"$plain" | tail -n 1); then
	passed=$(sed -E 's/^Total: ([0-9]+) passed.*/\1/' <<<"$line")
	failed=$(sed -E 's/^Total: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
elif line=$(grep -E '^Passed: [0-9]+/[0-9]+, [0-9]+ failed' <<<"$plain" | tail -n 1); then
	passed=$(sed -E 's/^Passed: ([0-9]+)\/.*/\1/' <<<"$line")
	failed=$(sed -E 's/^Passed: [0-9]+\/[0-9]+, ([0-9]+) failed.*/\1/' <<<"$line")
else
	tail -n 50 "$work/server.log" >&2
	echo "conformance: 0 passed, 1 failed"
	die "no result line from the suite (exit status $status)"
fi

if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
	echo "conformance: server log (last 50 lines):" >&2
	tail -n 50 "$work/server.log" >&2
fi
[ -n "$results" ] && echo "conformance: results kept in $results" >&2
echo "conformance: $passed passed, $failed failed"
if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
	exit 1
fi
