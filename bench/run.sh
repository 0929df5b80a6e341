#!/bin/sh
# bench/run.sh: what `make bench` runs. See bench/README.md.
#
# 1. Builds the corpus once into bench/out/ (kept between runs, keyed by its sizes and seed).
# 2. Times, in ONE hyperfine run on the same files:
#      - the inflate-only probe (libdeflate, one core): the floor for any reader;
#      - jq over a 1/BENCH_JQ_EVERY subset of the CloudTrail files (jq is ~40x slower), scaled;
#      - `vigil detect --output jsonl` per log kind, when build/vigil has detect;
#      - `vigil detect --rules` with 1 and with 10,000 rules, when it takes --rules.
# 3. Prints records/s and MB/s for each, and the time ratios vigil/probe and vigil/jq.
#
# Environment (all optional):
#   SMALL=1                    quick run: 50k CloudTrail records, 500k flow lines, 100k DNS lines, 3 runs
#   BENCH_CT_RECORDS, BENCH_FLOW_LINES, BENCH_DNS_LINES, BENCH_RECORDS_PER_FILE (2000),
#   BENCH_FLOW_PER_FILE (500000; SMALL 50000), BENCH_DNS_PER_FILE (100000; SMALL 10000), BENCH_SEED (1)
#   BENCH_RUNS (5), BENCH_WARMUP (1), BENCH_JQ_EVERY (10), BENCH_PIN=1 with BENCH_CPU (1): pin the
#   single-core commands to that core with taskset (off by default: on a shared machine another
#   pinned job makes it worse; CPU-time rates are the per-core figures either way), BENCH_OUT (bench/out), BUILD (build), VIGIL ($BUILD/vigil),
#   VIGIL_ARGS (extra arguments for every vigil run, e.g. "--threads 1")
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
GEN=$BUILD/bench/vigil-gen-corpus
PROBE=$BUILD/bench/vigil-inflate-probe
VIGIL=${VIGIL:-$BUILD/vigil}
VIGIL_ARGS=${VIGIL_ARGS:-}
OUT=${BENCH_OUT:-bench/out}
SEED=${BENCH_SEED:-1}
RPF=${BENCH_RECORDS_PER_FILE:-2000}
JQ_EVERY=${BENCH_JQ_EVERY:-10}
WARMUP=${BENCH_WARMUP:-1}
if [ "${SMALL:-0}" = 1 ]; then
    CT=${BENCH_CT_RECORDS:-50000}
    FLOW=${BENCH_FLOW_LINES:-500000}
    DNS=${BENCH_DNS_LINES:-100000}
    RUNS=${BENCH_RUNS:-3}
    FPF=${BENCH_FLOW_PER_FILE:-50000}
    DPF=${BENCH_DNS_PER_FILE:-10000}
else
    CT=${BENCH_CT_RECORDS:-1000000}
    FLOW=${BENCH_FLOW_LINES:-10000000}
    DNS=${BENCH_DNS_LINES:-2000000}
    RUNS=${BENCH_RUNS:-5}
    FPF=${BENCH_FLOW_PER_FILE:-500000}
    DPF=${BENCH_DNS_PER_FILE:-100000}
fi

die() {
    echo "bench: $*" >&2
    exit 1
}
[ -x "$GEN" ] && [ -x "$PROBE" ] || die "$GEN or $PROBE missing: run 'make' first"
command -v hyperfine >/dev/null 2>&1 || die "hyperfine is not installed (Debian: apt-get install hyperfine)"
PIN=
if [ "${BENCH_PIN:-0}" = 1 ] && command -v taskset >/dev/null 2>&1; then
    PIN="taskset -c ${BENCH_CPU:-1}"
fi
mkdir -p "$OUT"

# ---- 1. the corpus ------------------------------------------------------------
CORPUS=$OUT/corpus-v$("$GEN" --version)-ct$CT-flow$FLOW-dns$DNS-rpf$RPF-fpf$FPF-dpf$DPF-seed$SEED
if [ ! -f "$CORPUS/MANIFEST" ]; then
    echo "bench: generating the corpus into $CORPUS (once; later runs reuse it)"
    rm -rf "$CORPUS.tmp"
    jobs=$(nproc 2>/dev/null || echo 2)
    "$GEN" --out "$CORPUS.tmp" --ct-records "$CT" --flow-lines "$FLOW" --dns-lines "$DNS" \
        --records-per-file "$RPF" --flow-per-file "$FPF" --dns-per-file "$DPF" --seed "$SEED" --jobs "$jobs" >/dev/null
    rm -rf "$CORPUS"
    mv "$CORPUS.tmp" "$CORPUS"
fi
m() { sed -n "s/^$1=//p" "$CORPUS/MANIFEST"; }
tsv=$CORPUS/files.tsv

# Per kind: the directories (one per account) and the totals.
dirs() {
    for a in "$CORPUS"/AWSLogs/*/; do
        if [ -d "$a$1" ]; then printf '%s ' "$a$1"; fi
    done
}
CT_DIRS=$(dirs CloudTrail)
FLOW_DIRS=$(dirs vpcflowlogs)
DNS_DIRS=$(dirs vpcdnsquerylogs)

# ---- the 10,000-rule set ------------------------------------------------------------
# Writes N rules in the YAML rule format (docs/rules.md on the detect branch: one YAML
# document per rule, "---" between them) into DIR, at most 1000 per file (the loader
# reads a directory's *.yaml in name order and caps a file at 4 MiB). Patterns cycle
# through several fields, so the matcher cannot specialise on one, with values that
# never occur: every rule is evaluated and none fires, so the cost measured is matching.
gen_rules() {
    n=$1
    dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    awk -v n="$n" -v dir="$dir" 'BEGIN {
        split("eventName eventSource sourceIPAddress userAgent errorCode", top, " ")
        for (i = 1; i <= n; i++) {
            f = sprintf("%s/bench-%02d.yaml", dir, int((i - 1) / 1000))
            printf "---\nid: bench-%d\n", i >f
            printf "type: \"Policy:IAMUser/BenchSynthetic%d\"\n", i >f
            printf "severity: 2\n" >f
            printf "title: \"bench rule %d on {{eventName}}\"\n", i >f
            printf "source: cloudtrail\n" >f
            k = i % 7
            if (k < 5)
                printf "pattern: {\"%s\": [\"bench-nomatch-%d\"]}\n", top[k + 1], i >f
            else if (k == 5)
                printf "pattern: {\"userIdentity\": {\"arn\": [\"arn:aws:iam::000000000000:user/bench-%d\"]}}\n", i >f
            else
                printf "pattern: {\"requestParameters\": {\"bucketName\": [{\"prefix\": \"bench-nomatch-%d-\"}]}}\n", i >f
        }
    }'
}
[ -f "$OUT/rules1/bench-00.yaml" ] || gen_rules 1 "$OUT/rules1"
[ -f "$OUT/rules10k/bench-09.yaml" ] || gen_rules 10000 "$OUT/rules10k"

# ---- what can run ---------------------------------------------------------------
first_ct=$CORPUS/$(awk -F'\t' '$1 == "cloudtrail" {print $6; exit}' "$tsv")
vigil_ok=0
rules_ok=0
vigil_why="$VIGIL not built"
if [ -x "$VIGIL" ]; then
    # shellcheck disable=SC2086
    if "$VIGIL" detect $VIGIL_ARGS --output jsonl "$first_ct" >/dev/null 2>"$OUT/vigil-check.err" ||
        { [ $? -eq 1 ] && ! grep -qiE 'unknown (command|option)|usage:|not implemented' "$OUT/vigil-check.err"; }; then
        vigil_ok=1
        # Only the generated rules (--no-builtin): the built-in pack plus 10,000
        # would pass the loader's cap of 10,000 rules. A set that does not load
        # must stop the bench, not be timed as a fast failure.
        # shellcheck disable=SC2086
        if "$VIGIL" detect $VIGIL_ARGS --no-builtin --rules "$OUT/rules1" --output jsonl "$first_ct" >/dev/null 2>"$OUT/vigil-rules.err"; then
            rules_ok=1
            # shellcheck disable=SC2086
            "$VIGIL" detect $VIGIL_ARGS --no-builtin --rules "$OUT/rules10k" --output jsonl "$first_ct" >/dev/null 2>"$OUT/vigil-rules.err" ||
                die "the 10,000-rule set does not load: $(head -n 1 "$OUT/vigil-rules.err")"
        elif grep -qiE 'unknown (command|option)|usage:|not implemented' "$OUT/vigil-rules.err"; then
            :
        else
            die "the 1-rule set does not load: $(head -n 1 "$OUT/vigil-rules.err")"
        fi
    else
        vigil_why="'$VIGIL detect --output jsonl' does not work yet: $(head -n 1 "$OUT/vigil-check.err")"
    fi
fi
jq_ok=0
command -v jq >/dev/null 2>&1 && command -v zcat >/dev/null 2>&1 && jq_ok=1

# The jq subset: every JQ_EVERY-th CloudTrail file, and what it holds.
awk -F'\t' -v e="$JQ_EVERY" -v c="$CORPUS" '$1 == "cloudtrail" && (k++ % e) == 0 {print c "/" $6}' "$tsv" >"$OUT/jq-files.txt"
JQ_FILES=$(wc -l <"$OUT/jq-files.txt")
JQ_RECS=$(awk -F'\t' -v e="$JQ_EVERY" '$1 == "cloudtrail" && (k++ % e) == 0 {s += $2} END {print s + 0}' "$tsv")
JQ_RAW=$(awk -F'\t' -v e="$JQ_EVERY" '$1 == "cloudtrail" && (k++ % e) == 0 {s += $3} END {print s + 0}' "$tsv")
JQ_GZ=$(awk -F'\t' -v e="$JQ_EVERY" '$1 == "cloudtrail" && (k++ % e) == 0 {s += $4} END {print s + 0}' "$tsv")
JQ_LOGINS=$(awk -F'\t' -v e="$JQ_EVERY" '$1 == "cloudtrail" && (k++ % e) == 0 {s += $5} END {print s + 0}' "$tsv")
JQ_FILTER='.Records[] | select(.eventName=="ConsoleLogin")'

# ---- correctness before speed ------------------------------------------------------
# shellcheck disable=SC2086
probe_out=$($PROBE $CT_DIRS $FLOW_DIRS $DNS_DIRS)
want=$(($(m cloudtrail_records) + $(m vpcflow_records) + $(m dns_records)))
echo "$probe_out" | grep -q "records=$want " || die "the probe counted other than the $want records of the MANIFEST: $probe_out"
if [ $jq_ok = 1 ]; then
    got=$(xargs zcat <"$OUT/jq-files.txt" | jq -c "$JQ_FILTER" | wc -l)
    [ "$got" -eq "$JQ_LOGINS" ] || die "jq found $got ConsoleLogin records in the subset, files.tsv says $JQ_LOGINS"
fi
rm -f "$OUT/findings.jsonl" "$OUT/findings.err"
if [ $vigil_ok = 1 ]; then
    # The corpus is an ordinary day: the built-in rules should stay quiet on it.
    # shellcheck disable=SC2086
    "$VIGIL" detect $VIGIL_ARGS --output jsonl "$CORPUS/AWSLogs" >"$OUT/findings.jsonl" 2>"$OUT/findings.err" || true
fi

# ---- 2. one hyperfine run ------------------------------------------------------------
set -- --warmup "$WARMUP" --runs "$RUNS" --export-csv "$OUT/hyperfine.csv" --export-json "$OUT/hyperfine.json"
set -- "$@" -n "probe cloudtrail" "$PIN $PROBE --records $(m cloudtrail_records) $CT_DIRS"
set -- "$@" -n "probe vpcflow" "$PIN $PROBE --records $(m vpcflow_records) $FLOW_DIRS"
set -- "$@" -n "probe dns" "$PIN $PROBE --records $(m dns_records) $DNS_DIRS"
if [ $jq_ok = 1 ]; then
    set -- "$@" -n "jq cloudtrail subset" "xargs zcat <$OUT/jq-files.txt | jq -c '$JQ_FILTER' >/dev/null"
fi
if [ $vigil_ok = 1 ]; then
    # Exit status 1 may mean "findings": only 2 (internal error) or a signal fails the run.
    v="$PIN $VIGIL detect $VIGIL_ARGS --output jsonl"
    set -- "$@" -n "vigil cloudtrail" "$v $CT_DIRS >/dev/null; [ \$? -le 1 ]"
    set -- "$@" -n "vigil vpcflow" "$v $FLOW_DIRS >/dev/null; [ \$? -le 1 ]"
    set -- "$@" -n "vigil dns" "$v $DNS_DIRS >/dev/null; [ \$? -le 1 ]"
    if [ $rules_ok = 1 ]; then
        set -- "$@" -n "vigil cloudtrail 1 rule" "$PIN $VIGIL detect $VIGIL_ARGS --no-builtin --rules $OUT/rules1 --output jsonl $CT_DIRS >/dev/null"
        set -- "$@" -n "vigil cloudtrail 10000 rules" "$PIN $VIGIL detect $VIGIL_ARGS --no-builtin --rules $OUT/rules10k --output jsonl $CT_DIRS >/dev/null"
    fi
fi
echo "bench: corpus $CORPUS"
echo "bench: $(m cloudtrail_records) CloudTrail records in $(m cloudtrail_files) files, $(m vpcflow_records) flow lines, $(m dns_records) Resolver lines; $RUNS runs + $WARMUP warmup each${PIN:+; single-core commands pinned with '$PIN'}"
hyperfine "$@"

# ---- 3. the summary ----------------------------------------------------------------------
# Two clocks: wall (median) and CPU (user+system, mean over runs). On a shared or
# busy machine the wall clock also counts time spent waiting for the core; CPU time
# does not, so records per CPU-second is the per-core figure to compare with
# perf-limits.md. For the jq pipeline CPU is zcat + jq together.
csv=$OUT/hyperfine.csv
med() { awk -F, -v n="$1" '$1 == n {print $4}' "$csv"; }
cpu() { awk -F, -v n="$1" '$1 == n {print $5 + $6}' "$csv"; }
row() { # name records raw_bytes gz_bytes
    t=$(med "$1")
    [ -n "$t" ] || return 0
    awk -F, -v name="$1" -v r="$2" -v raw="$3" -v gz="$4" '$1 == name {
        t = $4; c = $5 + $6
        printf "%-29s %7.3f %5.2f-%-6.2f %7.3f %10.0f %10.0f %8.1f %8.1f %7.1f\n", name, t, $7, $8, c,
            r / t, r / c, raw / t / 1e6, raw / c / 1e6, gz / t / 1e6 }' "$csv"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
scaled() { awk -v t="$1" -v f="$(m cloudtrail_records)" -v s="$JQ_RECS" 'BEGIN { printf "%.2f", t * f / s }'; }

echo
echo "=== results: wall = median of $RUNS runs, cpu = user+system (mean); rates per wall second and per CPU second ==="
printf "%-29s %7s %-12s %7s %10s %10s %8s %8s %7s\n" "" "wall s" "(min-max)" "cpu s" "rec/s" "rec/cpu-s" "MB/s raw" "raw/cpu" "MB/s gz"
row "probe cloudtrail" "$(m cloudtrail_records)" "$(m cloudtrail_raw_bytes)" "$(m cloudtrail_gz_bytes)"
row "probe vpcflow" "$(m vpcflow_records)" "$(m vpcflow_raw_bytes)" "$(m vpcflow_gz_bytes)"
row "probe dns" "$(m dns_records)" "$(m dns_raw_bytes)" "$(m dns_gz_bytes)"
if [ $jq_ok = 1 ]; then
    row "jq cloudtrail subset" "$JQ_RECS" "$JQ_RAW" "$JQ_GZ"
else
    echo "jq: skipped (jq or zcat not installed)"
fi
if [ $vigil_ok = 1 ]; then
    row "vigil cloudtrail" "$(m cloudtrail_records)" "$(m cloudtrail_raw_bytes)" "$(m cloudtrail_gz_bytes)"
    row "vigil vpcflow" "$(m vpcflow_records)" "$(m vpcflow_raw_bytes)" "$(m vpcflow_gz_bytes)"
    row "vigil dns" "$(m dns_records)" "$(m dns_raw_bytes)" "$(m dns_gz_bytes)"
    if [ $rules_ok = 1 ]; then
        row "vigil cloudtrail 1 rule" "$(m cloudtrail_records)" "$(m cloudtrail_raw_bytes)" "$(m cloudtrail_gz_bytes)"
        row "vigil cloudtrail 10000 rules" "$(m cloudtrail_records)" "$(m cloudtrail_raw_bytes)" "$(m cloudtrail_gz_bytes)"
    fi
else
    echo "vigil: skipped ($vigil_why)"
fi
if [ $jq_ok = 1 ]; then
    echo "(jq ran on 1/$JQ_EVERY of the CloudTrail files: $JQ_FILES files, $JQ_RECS records, $JQ_LOGINS matches;"
    echo " scaled to the whole CloudTrail corpus: $(scaled "$(med "jq cloudtrail subset")") s wall, $(scaled "$(cpu "jq cloudtrail subset")") s cpu)"
fi

echo
echo "=== ratios: time for the same records, wall (cpu) ==="
if [ $jq_ok = 1 ]; then
    jq_w=$(scaled "$(med "jq cloudtrail subset")")
    jq_c=$(scaled "$(cpu "jq cloudtrail subset")")
    echo "jq/probe      cloudtrail: $(ratio "$jq_w" "$(med "probe cloudtrail")") ($(ratio "$jq_c" "$(cpu "probe cloudtrail")"))  jq takes that many times the inflate-only time"
fi
if [ $vigil_ok = 1 ]; then
    for k in cloudtrail vpcflow dns; do
        echo "vigil/probe   $k: $(ratio "$(med "vigil $k")" "$(med "probe $k")") ($(ratio "$(cpu "vigil $k")" "$(cpu "probe $k")"))  1.00 = as fast as inflating alone"
    done
    if [ $jq_ok = 1 ]; then
        echo "vigil/jq      cloudtrail: $(ratio "$(med "vigil cloudtrail")" "$jq_w") ($(ratio "$(cpu "vigil cloudtrail")" "$jq_c"))  i.e. vigil is $(ratio "$jq_w" "$(med "vigil cloudtrail")")x ($(ratio "$jq_c" "$(cpu "vigil cloudtrail")")x) faster than jq"
    fi
    if [ $rules_ok = 1 ]; then
        echo "throughput 10000 rules / 1 rule: $(ratio "$(med "vigil cloudtrail 1 rule")" "$(med "vigil cloudtrail 10000 rules")") ($(ratio "$(cpu "vigil cloudtrail 1 rule")" "$(cpu "vigil cloudtrail 10000 rules")"))  1.00 = the rule count costs nothing"
    else
        echo "1 vs 10000 rules: skipped ('$VIGIL detect --rules DIR' not available)"
    fi
    awk -v c="$(cpu "vigil cloudtrail")" -v r="$(m cloudtrail_records)" 'BEGIN {
        printf "goal G1 (perf-limits.md §7): >= 250k CloudTrail records per core-second; measured %.0fk\n", r / c / 1000 }'
    if [ -s "$OUT/findings.jsonl" ] && [ $jq_ok = 1 ]; then
        jq -r '(.severity // .Severity // 0) | if . >= 7 then "High" elif . >= 4 then "Medium" else "Low" end' \
            "$OUT/findings.jsonl" 2>/dev/null | sort | uniq -c | awk '
            { s = s sprintf(" %s %d", $2, $1); if ($2 != "Low") loud += $1 }
            END { printf "findings on the benign corpus:%s%s\n", s, loud ? "  <- Medium/High on ordinary activity: see bench/out/findings.jsonl" : "" }'
    else
        echo "findings on the benign corpus: none"
    fi
else
    echo "vigil/probe, vigil/jq: skipped ($vigil_why)"
fi

# ---- 4. instructions per record (deterministic) ----------------------------------------
# Wall and even CPU time move ±10-25 % here; callgrind's instruction count does not,
# so it is the figure to gate regressions on (perf-limits.md §6.7, goal G9).
if [ "${BENCH_CALLGRIND:-1}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    cg_files=$(awk -F'\t' -v c="$CORPUS" '$1 == "cloudtrail" && n++ < 20 {print c "/" $6}' "$tsv")
    cg_recs=$(awk -F'\t' '$1 == "cloudtrail" && n++ < 20 {s += $2} END {print s + 0}' "$tsv")
    cg_raw=$(awk -F'\t' '$1 == "cloudtrail" && n++ < 20 {s += $3} END {print s + 0}' "$tsv")
    # All processes of the command, summed (a wrapper script's children included).
    ir() {
        valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
            awk '/Collected :/ {s += $NF} END {print s + 0}'
    }
    per() { awk -v i="$1" -v r="$cg_recs" -v b="$cg_raw" 'BEGIN { if (i > 0) printf "%.0f instructions/record (%.2f/byte)", i / r, i / b; else printf "n/a" }'; }
    echo
    echo "=== instructions per CloudTrail record (callgrind, first 20 files: $cg_recs records) ==="
    # shellcheck disable=SC2086
    p_ir=$(ir "$PROBE" --records "$cg_recs" $cg_files)
    echo "probe: $(per "$p_ir")   (perf-limits.md: libdeflate ~7.0k/record)"
    if [ $vigil_ok = 1 ]; then
        # shellcheck disable=SC2086
        v_ir=$(ir "$VIGIL" detect $VIGIL_ARGS --output jsonl $cg_files)
        echo "vigil: $(per "$v_ir")   (G9 budget: <= 40k/record; inflate+parse+extract floor ~20k)"
        echo "vigil/probe instructions: $(ratio "$v_ir" "$p_ir")"
    fi
fi
