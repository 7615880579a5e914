# node-tests.sh: shell functions shared by the scripts that run Node test
# files (e2e/node). Source it after defining die; it uses $root.

# node_deps NAME: installs e2e/node's dependencies with npm ci when
# node_modules is missing or package-lock.json changed since the last
# install (a stamp holds the lockfile's SHA-256). No install scripts run and
# no browser is ever downloaded (Chromium is the Debian package).
node_deps() {
	local name=$1 dir="$root/e2e/node"
	local lock="$dir/package-lock.json" stamp="$dir/node_modules/.frontmcp-lock.sha256"
	command -v sha256sum >/dev/null 2>&1 || die "sha256sum not found on PATH (coreutils)"
	[ -f "$lock" ] || die "missing $lock"
	local want have=""
	want=$(sha256sum "$lock" | cut -d' ' -f1)
	[ -f "$stamp" ] && have=$(cat "$stamp")
	if [ ! -d "$dir/node_modules" ] || [ "$want" != "$have" ]; then
		command -v npm >/dev/null 2>&1 || die "npm not found on PATH (Debian: apt-get install -y npm)"
		echo "$name: installing e2e/node from package-lock.json" >&2
		(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 ||
			die "npm ci failed in $dir"
		printf '%s\n' "$want" >"$stamp"
	fi
}

# tap_counts STATUS TAPFILE: sets passed and failed from the TAP summary of
# node --test; cancelled tests count as failed, and so does a runner that
# exited non-zero (timeout, crash) without reporting a failed test.
tap_counts() {
	local status=$1 tap=$2 cancelled
	passed=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
	failed=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
	cancelled=$(sed -nE 's/^# cancelled ([0-9]+)$/\1/p' "$tap" 2>/dev/null | tail -n 1)
	passed=${passed:-0}
	failed=$((${failed:-0} + ${cancelled:-0}))
	if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		failed=1
	fi
}
