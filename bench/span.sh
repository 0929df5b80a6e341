#!/bin/sh
# bench/span.sh: does memory follow the archive's span? (issue 3, part 9: "state per key expires
# with the window"). See bench/README.md, "Archives of any span".
#
#   bench/span.sh DAYS...      e.g. bench/span.sh 30 90 180
#
# For each DAYS, writes (once) bench/out/span-DAYS with vigil-gen-corpus: 3,000 CloudTrail
# records, 10,000 flow lines and 2,000 Resolver queries a day, in files of 100, 1,000 and 200
# records (AWS delivers small files every few minutes; the bench corpus's 500k-line flow files
# each span 12 hours), then runs `vigil detect --stats --learning 1d` over it under /usr/bin/time
# and prints wall and user-CPU seconds, peak RSS, and the --stats lines: candidates held at
# their peak, the kinds' state, and how the archive was read (slices, late candidates).
#
# Environment: BUILD (build), VIGIL ($BUILD/vigil), GEN ($BUILD/bench/vigil-gen-corpus),
# VIGIL_ARGS (extra arguments, e.g. "--threads 1"), BENCH_OUT (bench/out).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
VIGIL=${VIGIL:-$BUILD/vigil}
GEN=${GEN:-$BUILD/bench/vigil-gen-corpus}
VIGIL_ARGS=${VIGIL_ARGS:-}
OUT=${BENCH_OUT:-bench/out}
[ $# -gt 0 ] || { echo "usage: bench/span.sh DAYS..." >&2; exit 1; }
[ -x "$VIGIL" ] && [ -x "$GEN" ] || { echo "span.sh: build first (make)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$@"; do
    dir=$OUT/span-$d
    if [ ! -f "$dir/MANIFEST" ]; then
        rm -rf "$dir"
        "$GEN" --out "$dir" --days "$d" --ct-records $((3000 * d)) --flow-lines $((10000 * d)) \
            --dns-lines $((2000 * d)) --records-per-file 100 --flow-per-file 1000 \
            --dns-per-file 200 --jobs 2 >/dev/null
    fi
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %U %M' -o "$tmp/t" "$VIGIL" detect $VIGIL_ARGS --stats --learning 1d \
        --output jsonl "$dir" >"$tmp/out" 2>"$tmp/err" || [ $? -eq 1 ]
    read -r wall user rss <"$tmp/t"
    echo "$d days: $(wc -l <"$tmp/out") findings, ${wall} s wall, ${user} s user, $((rss / 1024)) MB peak RSS"
    grep 'stateful\|archive read' "$tmp/err" | sed 's/^vigil detect: /  /'
done
