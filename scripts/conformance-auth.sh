#!/usr/bin/env bash
# conformance-auth.sh runs the authorization server scenarios of the MCP
# conformance suite (npm @modelcontextprotocol/conformance 0.2.0-alpha.12,
# pinned in tools/node under the alias conformance-auth) against the embedded
# OAuth 2.1 authorization server of `frontmcp serve`:
#
#   authorization-server-metadata-endpoint  RFC 8414 metadata: 200 JSON, the
#                                            endpoints, response type code,
#                                            S256, issuer equal to --url
#   authorization-code-grant                 a real authorization request with
#                                            PKCE and resource: one code,
#                                            state echoed once, iss equal to
#                                            the issuer (RFC 9207), then a
#                                            token response 200 JSON with
#                                            Cache-Control: no-store
#
# Usage: scripts/conformance-auth.sh [--results DIR]
#
#   --results   keep the suite's per-scenario checks.json files in DIR
#
# It installs the pinned Node tooling (scripts/setup-node.sh), builds
# ./cmd/frontmcp, picks two free loopback ports (server, OAuth callback),
# writes a configuration with one user and a pre-registered public client
# whose redirect URI is the suite's callback, starts `frontmcp serve`, waits for
# /readyz, and runs the suite through scripts/conformance-auth-agent.mjs, which
# logs in and consents headlessly when the suite asks for a browser. The
# server is stopped (by its pid) on exit. The last line is
# "conformance-auth: N passed, M failed"; the exit status is non-zero when a
# check failed, a scenario was skipped, or the suite could not run.
#
# The client is public: this release of the suite authenticates at the token
# endpoint with method "none" whenever the metadata lists it, even when given
# a client secret, so a confidential client cannot pass against a server that
# also serves public clients.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=""
client_id=conformance-public
scenarios=(authorization-server-metadata-endpoint authorization-code-grant)

die() {
	echo "conformance-auth: $*" >&2
	echo "conformance-auth: 0 passed, 1 failed"
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
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
		sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
done

command -v go >/dev/null 2>&1 || die "go not found on PATH"
command -v curl >/dev/null 2>&1 || die "curl not found on PATH (Debian: apt-get install -y curl)"

node=$("$root/scripts/setup-node.sh") || die "setup-node.sh failed"
cli="$root/tools/node/node_modules/conformance-auth/dist/index.js"
[ -f "$cli" ] || die "conformance CLI missing: $cli"

work=$(mktemp -d "${TMPDIR:-/tmp}/frontmcp-conformance-auth.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A free loopback port for the suite's callback listener, chosen by the
# kernel; the suite binds it when it starts.
cbport=$("$node" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"

# The user's password is "alice-test-password" (the end-to-end tests' user).
cat >"$work/frontmcp.yaml" <<EOF
environment: development
info: {name: frontmcp-conformance-auth, version: 1.0.0}
auth:
  mode: orchestrated
  type: local
  tokenStorage: {type: memory}
  scopes: [mcp:tools]
  local:
    users:
      - username: alice
        passwordHash: "\$2a\$10\$XiLohFzlMifl1batVHsHIu/dA5UwqFd/XRDCDrhioewtniQzdGwKW"
  consent: {enabled: true}
  dcrEnabled: true
  dcr:
    allowedRedirectUris: ["http://127.0.0.1:*/callback"]
    initialAccessToken: conformance-initial-access-token-0123456789
    maxClients: 10
  clients:
    - clientId: $client_id
      tokenEndpointAuthMethod: none
      redirectUris: ["http://127.0.0.1:$cbport/callback"]
EOF

# shellcheck source=lib/server.sh
. "$root/scripts/lib/server.sh"
server_pkg=./cmd/frontmcp
server_cmd=(serve)
server_start conformance-auth --config "$work/frontmcp.yaml"

out=${results:-"$work/results"}
mkdir -p "$out"
echo "conformance-auth: running the authorization server scenarios against $base" >&2
status=0
MCP_URL="$base/mcp" timeout 600 "$node" "$root/scripts/conformance-auth-agent.mjs" "$cli" authorization \
	--url "$base" --client-id "$client_id" --resource "$base/mcp" --port "$cbport" -o "$out" \
	2>&1 | tee "$work/suite.log" || status=$?

# The suite ends with one "✓ NAME: N passed, M failed" line per scenario and
# "Total: N passed, M failed". A skipped scenario passes nothing and fails
# nothing, so each scenario must also pass at least one check.
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$work/suite.log")
if line=$(grep -E '^Total: [0-9]+ passed, [0-9]+ failed' <<<"$plain" | tail -n 1); then
	passed=$(sed -E 's/^Total: ([0-9]+) passed.*/\1/' <<<"$line")
	failed=$(sed -E 's/^Total: [0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
else
	tail -n 50 "$work/server.log" >&2
	die "no result line from the suite (exit status $status)"
fi
for s in "${scenarios[@]}"; do
	if ! grep -qE "^. $s: [1-9][0-9]* passed, 0 failed" <<<"$plain"; then
		echo "conformance-auth: scenario $s did not pass a check" >&2
		if ! grep -qE "^. $s: [0-9]+ passed, [1-9][0-9]* failed" <<<"$plain"; then
			failed=$((failed + 1)) # skipped or missing: not counted by the suite
		fi
	fi
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # the suite or the user agent failed without a failed check
fi

if [ "$failed" -gt 0 ]; then
	echo "conformance-auth: server log (last 50 lines):" >&2
	tail -n 50 "$work/server.log" >&2
fi
[ -n "$results" ] && echo "conformance-auth: results kept in $results" >&2
echo "conformance-auth: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
