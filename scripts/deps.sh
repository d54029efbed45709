#!/usr/bin/env bash
# scripts/deps.sh - makes sure the Debian packages that `make build`, `make
# test` or `make bench` need are installed.  Usage: deps.sh build|test|bench,
# or deps.sh aarch64 for the cross build of scripts/test-aarch64.sh, which
# also adds arm64 to dpkg's architectures and unpacks Concurrency Kit for
# arm64 into build/aarch64/ck-arm64 (cmake/aarch64-linux-gnu.cmake says why).
# As root it installs what is missing with apt-get; otherwise it prints the
# apt-get command to run and fails.  Silent when nothing is missing.
set -euo pipefail

base=(cmake pkg-config make gcc libuv1-dev libck-dev libcmocka-dev valgrind)
case "${1:-}" in
    build) want=("${base[@]}") ;;
    test) want=("${base[@]}" clang-14 libclang-rt-14-dev) ;; # scripts/fuzz.sh
    bench) want=("${base[@]}" g++ libtbb-dev golang-go gnuplot-nox hyperfine
                 python3 python3-uvloop) ;;
    # libck-dev:arm64 is not here: see ck_arm64 below.
    aarch64) want=(cmake pkg-config make gcc-aarch64-linux-gnu libc6-dev-arm64-cross
                   qemu-user libuv1-dev:arm64 libcmocka-dev:arm64) ;;
    *) echo "usage: $0 build|test|bench|aarch64" >&2; exit 2 ;;
esac

# installed <package>[:<arch>]: a name without an architecture means the
# native one (or "all").  dpkg-query alone would not do once arm64 is added:
# for "libuv1-dev" it also answers with libuv1-dev:arm64.
native=$(dpkg --print-architecture)
installed() {
    local name=${1%%:*} archs="$native|all"
    [ "$name" = "$1" ] || archs=${1#*:}
    dpkg-query -W -f='${Architecture} ${db:Status-Status}\n' "$name" 2>/dev/null |
        grep -Eqx "($archs) installed"
}

# ck_arm64: libck0 is not "Multi-Arch: same", so libck-dev:arm64 cannot be
# installed beside the amd64 libck-dev that `make test` needs (and its
# ck_md.h differs).  Its two packages are unpacked into a private prefix
# instead, and its ck.pc made relative to where it lies.
ck_arm64() {
    local dest=build/aarch64/ck-arm64
    local pc=$dest/usr/lib/aarch64-linux-gnu/pkgconfig/ck.pc
    [ -f "$pc" ] && return 0
    local tmp
    tmp=$(mktemp -d)
    # As root apt-get would fetch as the user _apt, who cannot write in tmp.
    local get=(apt-get -q -o APT::Sandbox::User=root download libck0:arm64 libck-dev:arm64)
    if ! (cd "$tmp" && "${get[@]}") >&2; then
        # Stale or missing package lists: once more after an update.
        [ "$(id -u)" -eq 0 ] || { rm -rf "$tmp"; return 1; }
        apt-get update >&2
        (cd "$tmp" && "${get[@]}") >&2 || { rm -rf "$tmp"; return 1; }
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
    rm -rf "$tmp"
    # shellcheck disable=SC2016 # ${pcfiledir} and ${prefix} are pkg-config's
    sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../../..|' \
        -e 's|^libdir=/usr/|libdir=${prefix}/|' \
        -e 's|^includedir=/usr/|includedir=${prefix}/|' "$pc"
    echo "deps.sh: unpacked libck0:arm64 and libck-dev:arm64 into $dest" >&2
}

missing=()
for p in "${want[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    arm64=
    if [ "$1" = aarch64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        arm64=1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        [ -z "$arm64" ] || dpkg --add-architecture arm64
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            "${missing[@]}"
    else
        echo "deps.sh: install them with:" >&2
        [ -z "$arm64" ] || echo "sudo dpkg --add-architecture arm64 && sudo apt-get update"
        echo "sudo apt-get install ${missing[*]}"
        exit 1
    fi
fi
if [ "$1" = aarch64 ]; then
    cd "$(dirname "$0")/.."
    ck_arm64
fi
exit 0
