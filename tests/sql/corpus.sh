#!/bin/sh
# Runs every SELECT of the shared Athena query corpus (athena-queries/index.jsonl)
# unmodified through `vigil query` against a store ingested from the shared
# CloudTrail datasets plus a small generated VPC flow / Route 53 corpus, prints
# each failure with its reason, and fails when fewer than FLOOR run.
# usage: corpus.sh VIGIL GEN_CORPUS DATASETS_DIR [FLOOR]
set -u
VIGIL=$1 GEN=$2 DS=$3 FLOOR=${4:-0}
Q=$DS/athena-queries
if [ ! -f "$Q/index.jsonl" ]; then
    echo "SKIP: $Q/index.jsonl not found"
    exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$GEN" --out "$TMP/gen" --ct-records 200 --flow-lines 2000 --dns-lines 1000 --accounts 1 \
    --regions 1 >/dev/null 2>&1 || { echo "gen-corpus failed"; exit 1; }
"$VIGIL" ingest --db "$TMP/t.db" "$DS/invictus-aws-stratus-2023" "$DS/stratus-detonation-logs" \
    "$TMP/gen" >/dev/null 2>&1
total=0 ok=0 ddl=0 ddl_ok=0 sliced_bad=0
files=$(jq -r 'select(.statement_type=="SELECT") | .file' "$Q/index.jsonl")
for f in $files; do
    total=$((total + 1))
    if "$VIGIL" query --db "$TMP/t.db" --output csv --threads 1 -f "$Q/$f" >"$TMP/out" 2>"$TMP/err"; then
        ok=$((ok + 1))
        # The same rows on several threads (time slices), each slice held
        # whole or streamed past a 1-byte hold; the same bytes when ordered
        # by time.
        for cap in "" 1; do
            VIGIL_QUERY_SLICE_BYTES=$cap "$VIGIL" query --db "$TMP/t.db" --output csv --threads 3 \
                -f "$Q/$f" >"$TMP/out3" 2>"$TMP/err3"
            if grep -qi 'order by eventtime' "$Q/$f" && ! grep -qi 'limit' "$Q/$f"; then
                if ! cmp -s "$TMP/out" "$TMP/out3"; then
                    echo "SLICED $f (hold '$cap'): not the same bytes"
                    sliced_bad=$((sliced_bad + 1))
                fi
            elif [ "$(sort "$TMP/out" | md5sum)" != "$(sort "$TMP/out3" | md5sum)" ]; then
                echo "SLICED $f (hold '$cap'): not the same rows"
                sliced_bad=$((sliced_bad + 1))
            fi
        done
    else
        echo "FAIL $f: $(head -c 300 "$TMP/err")"
    fi
done
for f in $(jq -r 'select(.statement_type!="SELECT") | .file' "$Q/index.jsonl"); do
    ddl=$((ddl + 1))
    if "$VIGIL" query --db "$TMP/t.db" -f "$Q/$f" >"$TMP/out" 2>"$TMP/err"; then
        ddl_ok=$((ddl_ok + 1))
    else
        echo "DDL  $f: $(head -c 300 "$TMP/err")"
    fi
done
echo "athena corpus: $ok/$total SELECT statements run unmodified (floor $FLOOR); $ddl_ok/$ddl other statements accepted as no-ops; $sliced_bad answers differ on 3 threads"
[ "$ok" -ge "$FLOOR" ] && [ "$sliced_bad" -eq 0 ]
