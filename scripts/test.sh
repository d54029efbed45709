#!/usr/bin/env bash
# scripts/test.sh - builds weft and runs every ctest entry three times:
# Release (build/release), ThreadSanitizer (build/tsan) and AddressSanitizer
# with UBSan (build/asan), then the fuzz harness for 60 s (scripts/fuzz.sh,
# one test), then the aarch64 cross build under qemu (build/aarch64,
# scripts/test-aarch64.sh).  It goes on through all of them when one fails
# and ends with one line "N passed, M failed" summed over them; its exit
# code is non-zero if anything failed (a build that fails counts as one).
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=2
passed=0
failed=0

# run <name> <dir> <cmake args...>: configure, build and test one build.
run() {
    local name=$1 dir=$2
    shift 2
    local log="$dir/ctest.log"
    echo "=== $name ($dir) ==="
    if ! cmake -S . -B "$dir" -DWEFT_BUILD_BENCH=OFF "$@" >/dev/null ||
        ! cmake --build "$dir" -j"$jobs"; then
        echo "test.sh: $name: configure or build failed" >&2
        failed=$((failed + 1))
        return
    fi
    (cd "$dir" && ctest --output-on-failure -j"$jobs" --timeout 600) 2>&1 |
        tee "$log"
    # ctest ends with "NN% tests passed, F tests failed out of T".
    local line total bad
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "test.sh: $name: ctest ran no tests" >&2
        failed=$((failed + 1))
        return
    fi
    bad=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + total - bad))
    failed=$((failed + bad))
}

run Release build/release -DCMAKE_BUILD_TYPE=Release

TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run ThreadSanitizer build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEFT_SANITIZE=thread

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run AddressSanitizer build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWEFT_SANITIZE=address

# The libFuzzer harness for a minute, counted as one test.
echo "=== fuzz (build/fuzz) ==="
if bash scripts/fuzz.sh 60; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The aarch64 cross build, every ctest entry under qemu-aarch64 (about four
# minutes, scripts/test-aarch64.sh); its closing "N passed, M failed" adds in.
echo "=== aarch64 under qemu (build/aarch64) ==="
out=$(mktemp)
bash scripts/test-aarch64.sh | tee "$out"
counts=$(tail -n 1 "$out")
rm -f "$out"
if [[ $counts =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
else
    echo "test.sh: aarch64: no counts from scripts/test-aarch64.sh" >&2
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
