#!/bin/sh
# Installs the Debian packages Vigil needs to build, test and benchmark
# (chromium: the HTML report test renders the page headless).
# --check: exit 0 when everything is present, 1 otherwise (installs nothing).
# libnats-dev is optional (NATS JetStream in/out; the build goes on without it),
# nats-server runs the loopback JetStream tests (skipped when absent).
# python3 serves the loopback webhook of the bus tests; valgrind and sqlite3 are
# the benchmarks' references (callgrind counts, sqlite3 .import).
set -eu
PKGS="gcc pkg-config meson ninja-build libdeflate-dev libyaml-dev libsqlite3-dev libmaxminddb-dev libcurl4-openssl-dev libssl-dev libpcre2-dev libnats-dev nats-server python3 jq hyperfine valgrind sqlite3 chromium"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
[ "${1:-}" = "--check" ] && exit 1
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq || true
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
