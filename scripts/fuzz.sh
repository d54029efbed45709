#!/usr/bin/env bash
# scripts/fuzz.sh - builds the libFuzzer harness tests/fuzz/fuzz_ops in
# build/fuzz (clang, -DWEFT_FUZZ=ON) and runs it for [seconds] (default 60)
# on a copy of tests/fuzz/corpus, so the committed seeds stay as they are.
# Ends with one line "fuzz: N runs in S s, corpus C files, K crashes"; exits
# non-zero on any crash, leak, timeout or out-of-memory, whose reproducer
# is then in build/fuzz/artifacts/ (see tests/fuzz/README.md).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
dir=build/fuzz
cc=$(command -v clang-14 || command -v clang || true)
if [ -z "$cc" ]; then
    echo "fuzz.sh: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 1
fi

if ! CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_FUZZ=ON \
    -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null ||
    ! cmake --build "$dir" -j2 --target fuzz_ops; then
    echo "fuzz.sh: configure or build failed" >&2
    exit 1
fi

corpus=$dir/corpus-run
artifacts=$dir/artifacts
rm -rf "$corpus" "$artifacts"
mkdir -p "$corpus" "$artifacts"
cp tests/fuzz/corpus/* "$corpus"/

log=$dir/fuzz.log
start=$SECONDS
UBSAN_OPTIONS=print_stacktrace=1 "$dir/tests/fuzz/fuzz_ops" "$corpus" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=512 \
    -detect_leaks=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
rc=$?

secs=$((SECONDS - start))
# libFuzzer's status lines start "#<runs so far>"; the last one counts.
runs=$(sed -nE 's/^#([0-9]+)[[:space:]].*/\1/p' "$log" | tail -n 1)
files=$(find "$corpus" -type f | wc -l)
crashes=$(find "$artifacts" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log" >&2
    [ "$crashes" -eq 0 ] && crashes=1
    echo "fuzz.sh: fuzz_ops exited with $rc; log in $log, input in $artifacts/" >&2
fi
echo "fuzz: ${runs:-0} runs in $secs s, corpus $files files, $crashes crashes"
[ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]
