#!/bin/sh
# bench/store_ingest.sh: `vigil ingest` records/s beside sqlite3's own .import
# of the same rows (CSV) into an equivalent table (same schema, indexes, page
# size and pragmas), per log kind.
#
#   vigil ingest   gzip files -> decompress, parse, normalise, resources, user
#                  names -> INSERT OR IGNORE (10k rows per transaction)
#   sqlite3        CSV of the rows vigil stored (cloudtrail, cloudtrail_raw,
#                  resources; vpcflow; dns) -> `.import --csv` (one
#                  transaction), the floor for loading those rows into SQLite
#
# Each timing is the median of BENCH_RUNS runs into a fresh database, pinned to
# one core (taskset -c BENCH_CPU) since both are single-threaded. Wall time is
# noisy on a shared VM (perf-limits.md: +-10-25%); user+sys CPU is printed too.
#
# Environment: BENCH_CT_RECORDS (200000), BENCH_FLOW_LINES (1000000),
# BENCH_DNS_LINES (500000), BENCH_RUNS (3), BENCH_CPU (1), BENCH_OUT
# (bench/out-store), BUILD (build), SQLITE3 (sqlite3), VIGIL_ARGS (extra ingest
# flags, e.g. "--indexes keep" to maintain the indexes row by row as .import does;
# the default lets vigil defer them for a large load into an empty store).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
GEN=$BUILD/bench/vigil-gen-corpus
VIGIL=$BUILD/vigil
SQLITE3=${SQLITE3:-sqlite3}
OUT=${BENCH_OUT:-bench/out-store}
CT=${BENCH_CT_RECORDS:-200000}
FLOW=${BENCH_FLOW_LINES:-1000000}
DNS=${BENCH_DNS_LINES:-500000}
RUNS=${BENCH_RUNS:-3}
PIN=
command -v taskset >/dev/null 2>&1 && PIN="taskset -c ${BENCH_CPU:-1}"
[ -x "$GEN" ] && [ -x "$VIGIL" ] || { echo "bench: run 'make' first" >&2; exit 1; }
command -v "$SQLITE3" >/dev/null || { echo "bench: $SQLITE3 not installed" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

corpus=$OUT/corpus-$CT-$FLOW-$DNS
if [ ! -f "$corpus/MANIFEST" ]; then
    rm -rf "$corpus"
    "$GEN" --out "$corpus" --ct-records "$CT" --flow-lines "$FLOW" --dns-lines "$DNS" \
        --flow-per-file 100000 --dns-per-file 50000 --jobs 2 >/dev/null
fi

rmdb() { rm -f "$1" "$1-wal" "$1-shm"; }

# Runs "$@" RUNS times; prints "median_wall median_cpu" (seconds).
timed() {
    i=0
    : >"$OUT/times"
    while [ $i -lt "$RUNS" ]; do
        [ -n "${BEFORE:-}" ] && eval "$BEFORE"
        /usr/bin/time -f "%e %U %S" -o "$OUT/t1" "$@" >/dev/null 2>"$OUT/stderr" ||
            { cat "$OUT/stderr" >&2; exit 1; }
        awk '{printf "%s %.2f\n", $1, $2 + $3}' "$OUT/t1" >>"$OUT/times"
        i=$((i + 1))
    done
    w=$(cut -d' ' -f1 "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    c=$(cut -d' ' -f2 "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    echo "$w $c"
}

printf '%-11s %9s | %-28s | %-28s | %s\n' kind records "vigil ingest: s (cpu) rec/s" \
    "sqlite3 .import: s (cpu) rows/s" "speed vigil/import"
for kind in CloudTrail:cloudtrail,cloudtrail_raw,resources vpcflowlogs:vpcflow vpcdnsquerylogs:dns; do
    dirname=${kind%%:*}
    tables=$(echo "${kind#*:}" | tr ',' ' ')
    dirs=$(find "$corpus/AWSLogs" -type d -name "$dirname" | sort)
    db=$OUT/vigil.db
    BEFORE="rmdb $db"
    set -- $(timed $PIN "$VIGIL" ingest --quiet ${VIGIL_ARGS:-} --db "$db" $dirs)
    vw=$1 vc=$2
    recs=$("$SQLITE3" "$db" "SELECT count(*) FROM ${tables%% *}")
    rows=0
    : >"$OUT/schema.sql"
    : >"$OUT/triggers.sql"
    for t in $tables; do
        "$SQLITE3" -csv "$db" "SELECT * FROM $t" >"$OUT/$t.csv"
        rows=$((rows + $("$SQLITE3" "$db" "SELECT count(*) FROM $t")))
        "$SQLITE3" "$db" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name='$t' AND sql IS NOT NULL
                          AND type <> 'trigger' ORDER BY type DESC" >>"$OUT/schema.sql"
        # The store's triggers (the daily counts of schema 7) run in the
        # import too, on the tables they write, made empty: the same work.
        "$SQLITE3" "$db" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name='$t'
                          AND type = 'trigger'" >>"$OUT/triggers.sql"
    done
    case " $tables " in *" cloudtrail "*)
        "$SQLITE3" "$db" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name='cloudtrail_daily'
                          AND sql IS NOT NULL ORDER BY type DESC" >>"$OUT/schema.sql" ;;
    esac
    cat "$OUT/triggers.sql" >>"$OUT/schema.sql"
    imp=$OUT/import.db
    {
        echo "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;"
        for t in $tables; do echo ".import --csv $OUT/$t.csv $t"; done
    } >"$OUT/import.cmd"
    BEFORE="rmdb $imp; $SQLITE3 $imp 'PRAGMA page_size=16384; PRAGMA journal_mode=WAL;' >/dev/null;
            $SQLITE3 $imp <$OUT/schema.sql"
    set -- $(timed $PIN "$SQLITE3" "$imp" ".read $OUT/import.cmd")
    iw=$1 ic=$2
    check=$("$SQLITE3" "$imp" "SELECT count(*) FROM ${tables%% *}")
    [ "$check" = "$recs" ] || { echo "bench: import of $dirname gave $check rows, not $recs" >&2; exit 1; }
    printf '%-11s %9s | %6s s (%6s) %9.0f | %6s s (%6s) %9.0f | %.2f\n' "$dirname" "$recs" \
        "$vw" "$vc" "$(echo "$recs $vw" | awk '{print $1/$2}')" "$iw" "$ic" \
        "$(echo "$recs $iw" | awk '{print $1/$2}')" "$(echo "$vw $iw" | awk '{print $2/$1}')"
    if [ "$rows" != "$recs" ]; then
        echo "            ($rows rows counting the records and resources tables)"
    fi
done
rmdb "$OUT/vigil.db"
rmdb "$OUT/import.db"
rm -f "$OUT"/*.csv
