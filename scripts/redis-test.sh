#!/usr/bin/env bash
# redis-test.sh starts the Redis servers the tests use, runs a command with
# their addresses in the environment, and stops them.
#
# Usage: scripts/redis-test.sh command [args...]
#   e.g. scripts/redis-test.sh go test -race -count=1 ./...
#
# Servers, each on free loopback ports, in a temporary directory, without
# persistence:
#   FRONTMCP_TEST_REDIS          a single redis-server
#   FRONTMCP_TEST_REDIS_CLUSTER  a Redis Cluster of 3 masters (redis-cli --cluster create)
#   FRONTMCP_TEST_REDIS_TLS      a TLS-only server (--port 0, --tls-port) whose
#   FRONTMCP_TEST_REDIS_CA       certificate is signed by this throwaway CA (openssl)
#
# The Go tests start their own servers when these variables are unset (see
# store/redisstore/redistest), so the script is not needed to run them; it
# makes `make test` share one set of servers across packages and installs
# what is missing: as root it runs apt-get install redis-server redis-tools
# (and openssl); otherwise it says what to install. Every server is stopped
# by its pid when the command ends, fails or is interrupted. The exit status
# is the command's.
set -euo pipefail

die() {
	echo "redis-test: $*" >&2
	exit 1
}

[ $# -gt 0 ] || die "usage: $0 command [args...]"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		die "missing ${need[*]}; install with: sudo apt-get install -y ${need[*]}"
	fi
	echo "redis-test: installing ${need[*]}" >&2
	apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2 ||
		die "apt-get install ${need[*]} failed"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/redis-test.XXXXXX")
pids=()

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a loopback port nothing listens on, avoiding ones already
# handed out by this script. Ports come from below the kernel's ephemeral
# range (net.ipv4.ip_local_port_range), which the many loopback connections
# of the tests draw their local ports from: a port there can be taken by an
# outgoing connection between this check and the server's bind.
used=" "
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$ephemeral_low" -gt 12000 ] || ephemeral_low=32768
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((10000 + RANDOM % (ephemeral_low - 10000)))
		case "$used" in *" $p "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			used="$used$p "
			echo "$p"
			return 0
		fi
	done
	die "no free port found"
}

# wait_ping waits until redis-cli (with the given arguments) gets PONG.
wait_ping() {
	local i
	for i in $(seq 1 200); do
		if [ "$(redis-cli "$@" ping 2>/dev/null)" = PONG ]; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# start_server NAME ARGS... starts redis-server in $dir/NAME and records its pid.
start_server() {
	local name=$1
	shift
	mkdir -p "$dir/$name"
	redis-server --bind 127.0.0.1 --dir "$dir/$name" --save "" --appendonly no \
		--daemonize no --logfile "$dir/$name/redis.log" "$@" &
	pids+=($!)
}

fail_log() {
	echo "redis-test: $1 did not start; its log:" >&2
	cat "$dir/$2/redis.log" >&2 2>/dev/null || true
	exit 1
}

# Single server.
single=$(free_port)
start_server single --port "$single"
wait_ping -p "$single" || fail_log "redis-server on port $single" single

# Cluster of three masters without replicas.
cluster=()
for i in 1 2 3; do
	p=$(free_port)
	bus=$(free_port)
	start_server "cluster$i" --port "$p" --cluster-enabled yes --cluster-port "$bus" \
		--cluster-config-file "$dir/cluster$i/nodes.conf" --cluster-node-timeout 5000
	wait_ping -p "$p" || fail_log "cluster node on port $p" "cluster$i"
	cluster+=("127.0.0.1:$p")
done
redis-cli --cluster create "${cluster[@]}" --cluster-replicas 0 --cluster-yes >"$dir/cluster-create.log" 2>&1 || {
	cat "$dir/cluster-create.log" >&2
	die "redis-cli --cluster create failed"
}
for node in "${cluster[@]}"; do
	ok=""
	for i in $(seq 1 600); do
		if redis-cli -p "${node##*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
			ok=1
			break
		fi
		sleep 0.05
	done
	[ -n "$ok" ] || die "cluster node $node never reached cluster_state:ok"
done

# TLS-only server with a throwaway CA.
certs="$dir/certs"
mkdir -p "$certs"
{
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 1 \
		-subj "/CN=frontmcp redis-test CA" -keyout "$certs/ca-key.pem" -out "$certs/ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		-subj "/CN=localhost" -keyout "$certs/server-key.pem" -out "$certs/server.csr"
	printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >"$certs/server.ext"
	openssl x509 -req -in "$certs/server.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca-key.pem" \
		-CAcreateserial -days 1 -extfile "$certs/server.ext" -out "$certs/server.pem"
} >"$certs/openssl.log" 2>&1 || {
	cat "$certs/openssl.log" >&2
	die "openssl could not create the test certificates"
}
tls=$(free_port)
start_server tls --port 0 --tls-port "$tls" --tls-cert-file "$certs/server.pem" \
	--tls-key-file "$certs/server-key.pem" --tls-ca-cert-file "$certs/ca.pem" --tls-auth-clients no
wait_ping --tls --cacert "$certs/ca.pem" -p "$tls" || fail_log "TLS redis-server on port $tls" tls

export FRONTMCP_TEST_REDIS="127.0.0.1:$single"
export FRONTMCP_TEST_REDIS_CLUSTER
FRONTMCP_TEST_REDIS_CLUSTER=$(
	IFS=,
	echo "${cluster[*]}"
)
export FRONTMCP_TEST_REDIS_TLS="127.0.0.1:$tls"
export FRONTMCP_TEST_REDIS_CA="$certs/ca.pem"
echo "redis-test: single $FRONTMCP_TEST_REDIS, cluster $FRONTMCP_TEST_REDIS_CLUSTER, TLS $FRONTMCP_TEST_REDIS_TLS (pids ${pids[*]})" >&2

status=0
"$@" || status=$?
exit "$status"
