#!/usr/bin/env bash
# scripts/test-aarch64.sh - the aarch64 build under emulation: cross-builds
# weft with cmake/aarch64-linux-gnu.cmake into build/aarch64 (Release, no
# benchmarks, no examples: they check their output through `cmake -P`,
# which runs them without the emulator) and runs every ctest entry of it
# under qemu-aarch64, which the toolchain file makes ctest's emulator.
# Valgrind's memcheck entries are not defined in a cross build.  Ends with
# one line "N passed, M failed"; its exit code is non-zero if anything
# failed (a build that fails counts as one).  The packages come from
# `scripts/deps.sh aarch64` (`make test-aarch64` runs both).
#
# qemu-user runs the arm64 code on the host's memory model (x86's TSO), so
# a missing acquire or release in the lock-free code does not show here;
# what this checks is the context switch, the build and everything that
# does not depend on weaker ordering.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

dir=build/aarch64
log=$dir/ctest.log
jobs=2
start=$SECONDS

if ! cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
        -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=OFF \
        -DWEFT_BUILD_EXAMPLES=OFF >/dev/null ||
    ! cmake --build "$dir" -j"$jobs"; then
    echo "test-aarch64.sh: configure or build failed" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

(cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600) 2>&1 | tee "$log"
# ctest ends with "NN% tests passed, F tests failed out of T".
line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
if [ -z "$line" ]; then
    echo "test-aarch64.sh: ctest ran no tests" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
echo "test-aarch64.sh: build and tests took $((SECONDS - start)) s"
echo "$((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
