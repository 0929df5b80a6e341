#!/bin/sh
# bench/stateful.sh: what the stateful detectors cost over the stateless pass (issue 3: the
# whole detect pass within 1.5x of the stateless one). See bench/README.md.
#
#   bench/stateful.sh [CORPUS]     CORPUS: a vigil-gen-corpus directory (default: the
#                                  newest bench/out/corpus-*; run `make bench` once to make one)
#
# Runs, interleaved (A B A B ...) so that load on the shared machine hits both alike:
#   stateless  vigil detect --no-builtin --rules <the packs without stateful rules> CORPUS/AWSLogs
#   stateful   vigil detect CORPUS/AWSLogs                 (every built-in rule)
# with /usr/bin/time (it gives peak RSS, which hyperfine does not), and prints the median wall
# time, the median user-CPU seconds, peak RSS, the ratios stateful/stateless, the --stats line
# of the stateful run (candidates, items, bytes held) and one stateful run over the flow logs
# alone (their memory: RSS and state). Checks that both runs' findings are the same on every
# repetition (sorted, byte for byte), so a speed-up cannot silently change the output.
#
# Environment: BENCH_RUNS (3), BUILD (build), VIGIL ($BUILD/vigil), VIGIL_ARGS (extra
# arguments for every run, e.g. "--threads 1"), BENCH_OUT (bench/out).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
VIGIL=${VIGIL:-$BUILD/vigil}
VIGIL_ARGS=${VIGIL_ARGS:-}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-bench/out}
TIME=/usr/bin/time

CORPUS=${1:-}
if [ -z "$CORPUS" ]; then
    CORPUS=$(ls -dt "$OUT"/corpus-* 2>/dev/null | grep -v '\.tmp$' | head -1 || true)
fi
if [ -z "$CORPUS" ] || [ ! -d "$CORPUS/AWSLogs" ]; then
    echo "stateful.sh: no corpus (give one, or run make bench first to generate bench/out/corpus-*)" >&2
    exit 1
fi
[ -x "$VIGIL" ] || { echo "stateful.sh: $VIGIL not built (make)" >&2; exit 1; }
[ -x "$TIME" ] || { echo "stateful.sh: needs $TIME (apt-get install time)" >&2; exit 1; }

# The stateless pass: every built-in pack that has no stateful rule.
STATELESS=""
for f in rules/*.yaml; do
    if ! grep -q '^kind: \(threshold\|distinct\|new_value\|rate\|sequence\)' "$f"; then
        STATELESS="$STATELESS --rules $f"
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run NAME ARGS...: one timed run, appends "wall user rss_kb" to $tmp/NAME.t
run() {
    name=$1
    shift
    # shellcheck disable=SC2086
    "$TIME" -f '%e %U %M' -o "$tmp/t" "$VIGIL" detect $VIGIL_ARGS "$@" --output jsonl \
        "$CORPUS/AWSLogs" > "$tmp/$name.out" 2> "$tmp/$name.err"
    cat "$tmp/t" >> "$tmp/$name.t"
    sort "$tmp/$name.out" > "$tmp/$name.sorted"
    if [ -f "$tmp/$name.ref" ]; then
        cmp -s "$tmp/$name.ref" "$tmp/$name.sorted" || {
            echo "stateful.sh: $name findings differ between runs" >&2
            exit 1
        }
    else
        mv "$tmp/$name.sorted" "$tmp/$name.ref"
    fi
}

echo "corpus: $CORPUS ($(sed -n 's/^\(cloudtrail\|vpcflow\|dns\)_records=//p' "$CORPUS/MANIFEST" | paste -sd/ -) CloudTrail/flow/DNS records)"
echo "runs: $RUNS each, interleaved; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$RUNS" ]; do
    # shellcheck disable=SC2086
    run stateless --no-builtin $STATELESS
    run stateful --stats
    i=$((i + 1))
done

# median COLUMN FILE
median() { cut -d' ' -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-10s %9s %9s %9s\n' "" "wall s" "user s" "RSS MB"
for n in stateless stateful; do
    printf '%-10s %9s %9s %9s\n' "$n" "$(median 1 "$tmp/$n.t")" "$(median 2 "$tmp/$n.t")" \
        "$(awk '{ if ($3 > m) m = $3 } END { printf "%.0f", m / 1024 }' "$tmp/$n.t")"
done
awk -v sw="$(median 1 "$tmp/stateless.t")" -v fw="$(median 1 "$tmp/stateful.t")" \
    -v su="$(median 2 "$tmp/stateless.t")" -v fu="$(median 2 "$tmp/stateful.t")" \
    'BEGIN { printf "ratio stateful/stateless: wall %.2f, user-CPU %.2f (goal <= 1.5)\n", fw / sw, fu / su }'
echo "findings: stateless $(wc -l < "$tmp/stateless.ref"), stateful $(wc -l < "$tmp/stateful.ref") (the same in every run)"
grep 'stateful rules' "$tmp/stateful.err" | sed 's/^vigil detect: /state: /'

# The flow logs alone: what holding their state costs.
flows=$(find "$CORPUS/AWSLogs" -maxdepth 2 -type d -name vpcflowlogs | sort)
# shellcheck disable=SC2086
"$TIME" -f '%e %U %M' -o "$tmp/t" "$VIGIL" detect $VIGIL_ARGS --stats --output jsonl $flows \
    > /dev/null 2> "$tmp/flow.err"
awk -v n="$(sed -n 's/^vpcflow_records=//p' "$CORPUS/MANIFEST")" \
    '{ printf "flow logs alone (%s lines): %s s wall, %s user-s, peak RSS %.0f MB\n", n, $1, $2, $3 / 1024 }' "$tmp/t"
grep 'stateful rules' "$tmp/flow.err" | sed 's/^vigil detect: /  state: /'
