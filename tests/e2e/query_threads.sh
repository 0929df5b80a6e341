#!/bin/sh
# vigil query on several threads (slices of the statement's time window, each
# held in memory or streamed past a small hold) against one thread: the same
# bytes when the statement orders by eventtime, the same rows otherwise; and
# --explain says which statements run in slices.
# usage: query_threads.sh VIGIL GEN_CORPUS
set -u
VIGIL=$1 GEN=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! "$GEN" --out "$TMP/gen" --ct-records 30000 --flow-lines 10 --dns-lines 10 --days 3 \
    --accounts 1 --regions 2 >/dev/null 2>&1 ||
    ! "$VIGIL" ingest --quiet --text-index --db "$TMP/s.db" "$TMP/gen" >/dev/null 2>&1; then
    echo "Bail out! corpus or ingest failed"
    exit 1
fi
n=0
bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

# same NAME exact|rows FORMAT SQL: one thread against three, three holds
same() {
    name=$1 mode=$2 fmt=$3 sql=$4
    "$VIGIL" query --db "$TMP/s.db" --output "$fmt" --threads 1 "$sql" >"$TMP/one" 2>"$TMP/err" ||
        { notok "$name: one thread failed: $(cat "$TMP/err")"; return; }
    [ -s "$TMP/one" ] || { notok "$name: no output"; return; }
    for hold in "" 1 5000; do
        VIGIL_QUERY_SLICE_BYTES=$hold "$VIGIL" query --db "$TMP/s.db" --output "$fmt" --threads 3 \
            "$sql" >"$TMP/three" 2>"$TMP/err" ||
            { notok "$name (hold '$hold'): three threads failed: $(cat "$TMP/err")"; continue; }
        if [ "$mode" = exact ]; then
            if cmp -s "$TMP/one" "$TMP/three"; then ok "$name (hold '$hold'): same bytes"
            else notok "$name (hold '$hold'): not the same bytes"; fi
        elif [ "$(sort "$TMP/one" | md5sum)" = "$(sort "$TMP/three" | md5sum)" ]; then
            ok "$name (hold '$hold'): same rows"
        else
            notok "$name (hold '$hold'): not the same rows"
        fi
    done
}

# slices NAME yes|no SQL: what --explain says on three threads
slices() {
    "$VIGIL" query --db "$TMP/s.db" --threads 3 --explain "$3" >"$TMP/x" 2>&1
    if grep -q "^slices: [0-9]* of" "$TMP/x"; then got=yes; else got=no; fi
    if [ "$got" = "$2" ]; then ok "$1: sliced $2"; else notok "$1: sliced $got, want $2: $(cat "$TMP/x")"; fi
}

W="eventtime BETWEEN '2026-11-20T06:00:00Z' AND '2026-11-22T18:00:00Z'"
Q1="SELECT eventtime, eventname, eventsource, requestparameters, useridentity.arn FROM cloudtrail_logs WHERE $W ORDER BY eventtime"
Q2="SELECT eventid, eventtime, responseelements FROM cloudtrail_logs c WHERE $W ORDER BY c.eventtime DESC"
Q3="SELECT eventtime, eventname FROM cloudtrail_logs WHERE eventsource = 's3.amazonaws.com' AND eventtime >= '2026-11-20T00:00:00Z' AND eventtime < '2026-11-23T00:00:00Z' ORDER BY eventtime DESC"
Q4="SELECT * FROM cloudtrail_logs WHERE year = '2026' AND month = '11' AND useridentity.type = 'Root'"
Q5="SELECT eventname, eventtime FROM cloudtrail_logs WHERE eventname IN ('GetObject', 'PutObject', 'AssumeRole') AND $W"
Q7="SELECT eventtime, eventname, requestparameters FROM cloudtrail_logs WHERE eventsource = 's3.amazonaws.com' AND requestparameters LIKE '%\"bucketName\"%' AND $W ORDER BY eventtime"
Q6="SELECT eventtime FROM cloudtrail_logs WHERE eventtime BETWEEN '2026-11-21T00:00:00Z' AND '2026-11-21T00:00:10Z' ORDER BY eventtime"

slices "window, ORDER BY eventtime" yes "$Q1"
slices "partitions, no ORDER BY" yes "$Q4"
slices "LIMIT" no "$Q1 LIMIT 5"
slices "ORDER BY another key" no "SELECT eventname FROM cloudtrail_logs WHERE $W ORDER BY eventname"
slices "no time bound" no "SELECT eventname FROM cloudtrail_logs WHERE eventsource = 's3.amazonaws.com' ORDER BY eventtime"
slices "bound under OR" no "SELECT eventname FROM cloudtrail_logs WHERE $W OR eventname = 'x' ORDER BY eventtime"
slices "text filter, another index drives" yes "$Q7"
slices "aggregate" no "SELECT count(*) FROM cloudtrail_logs WHERE $W"
same "window, csv" exact csv "$Q1"
same "window, json" exact json "$Q1"
same "window, newest first" exact json "$Q2"
same "source index, newest first" exact csv "$Q3"
same "root, SELECT *" rows csv "$Q4"
same "three names" rows json "$Q5"
same "ten seconds" exact json "$Q6"
same "text filter" exact csv "$Q7"
same "nothing" exact json "SELECT eventtime FROM cloudtrail_logs WHERE eventtime BETWEEN '2026-12-01T00:00:00Z' AND '2026-12-02T00:00:00Z' ORDER BY eventtime"
echo "1..$n"
[ "$bad" -eq 0 ]
