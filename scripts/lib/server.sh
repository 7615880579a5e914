# shellcheck shell=bash
# Shared by the test scripts: build a server (examples/everything unless
# server_pkg names another main package, e.g. ./cmd/frontmcp with
# server_cmd=(serve)), start it on a free loopback port, wait until it is
# ready, and stop it on exit.
#
# Usage (after setting root, node and a die function):
#   server_start LABEL [SERVER ARGS...]
# sets: work (temp dir, removed on exit; an existing $work is used as is),
# port, base (http://127.0.0.1:PORT), pid; the server runs in $work/run (so
# its default file store lands there) and logs to $work/server.log.

server_cleanup() {
	if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	[ -n "${work:-}" ] && rm -rf "$work"
}

server_start() {
	local label=$1
	shift
	local pkg=${server_pkg:-./examples/everything}
	[ -n "${work:-}" ] || work=$(mktemp -d "${TMPDIR:-/tmp}/frontmcp-$label.XXXXXX")
	pid=""
	trap server_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	echo "$label: building $pkg" >&2
	(cd "$root" && go build -o "$work/server" "$pkg") || die "go build failed"

	# A free loopback port, chosen by the kernel; the server binds it right after.
	port=$("$node" -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"
	base="http://127.0.0.1:$port"

	mkdir -p "$work/run"
	(cd "$work/run" && exec "$work/server" ${server_cmd[@]+"${server_cmd[@]}"} --port "$port" "$@") >"$work/server.log" 2>&1 &
	pid=$!

	# Poll /readyz (bounded: ~30 s), giving up early if the server exits.
	local code
	for _ in $(seq 1 300); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/readyz" || true)
		[ "$code" = "200" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$work/server.log" >&2
			pid=""
			die "server exited before $base/readyz answered"
		fi
		sleep 0.1
	done
	tail -n 50 "$work/server.log" >&2
	die "server not ready on $base/readyz within 30s"
}
