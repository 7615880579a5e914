#!/usr/bin/env bash
# setup-chromium.sh makes sure the Debian `chromium` package is installed (the
# browser the end-to-end tests drive headless through playwright-core; no tool
# may download a browser of its own) and prints the absolute path of the
# binary on stdout.
#
# It is idempotent: when /usr/bin/chromium exists nothing is installed. Otherwise it
# runs `apt-get update` and `apt-get install -y chromium`, which needs root (CI
# runs as root on Debian with the package registry reachable). Any failure is
# fatal and explained on stderr. All apt output goes to stderr so callers can
# capture the path:
#
#   CHROMIUM=$(scripts/setup-chromium.sh)
set -euo pipefail

bin=/usr/bin/chromium

die() {
	echo "setup-chromium: $*" >&2
	exit 1
}

if [ ! -x "$bin" ]; then
	command -v apt-get >/dev/null 2>&1 ||
		die "$bin is missing and apt-get is not available; install the Debian package 'chromium'"
	if [ "$(id -u)" -ne 0 ]; then
		die "$bin is missing; installing it needs root: apt-get update && apt-get install -y chromium"
	fi
	echo "setup-chromium: installing the Debian package chromium" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2 || die "apt-get update failed"
	apt-get install -y chromium >&2 || die "apt-get install -y chromium failed"
	[ -x "$bin" ] || die "chromium installed but $bin is missing"
fi

"$bin" --version >&2 || die "$bin does not run"
printf '%s\n' "$bin"
