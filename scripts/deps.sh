#!/usr/bin/env bash
# scripts/deps.sh - makes sure the Debian packages that `make build`, `make
# test` or `make bench` need are installed.  Usage: deps.sh build|test|bench.
# As root it installs what is missing with apt-get; otherwise it prints the
# apt-get command to run and fails.  Silent when nothing is missing.
set -euo pipefail

base=(cmake pkg-config make gcc libuv1-dev libck-dev libcmocka-dev valgrind)
case "${1:-}" in
    build) want=("${base[@]}") ;;
    test) want=("${base[@]}" clang-14 libclang-rt-14-dev) ;; # scripts/fuzz.sh
    bench) want=("${base[@]}" g++ libtbb-dev golang-go gnuplot-nox hyperfine
                 python3 python3-uvloop) ;;
    *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"
else
    echo "deps.sh: install them with:" >&2
    echo "sudo apt-get install ${missing[*]}"
    exit 1
fi
