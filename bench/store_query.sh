#!/bin/sh
# bench/store_query.sh: how long lookup-events, the timeline, the two playbooks
# and the analysts' most frequent Athena queries take on a large store.
#
#   bench/store_query.sh DB            # a store made by `vigil ingest`
#
# Every command runs WARMUP times untimed (warm page cache), then RUNS times;
# the table shows the median wall time, the median CPU time (user+sys) and
# what came out (events, rows or lines), and marks the ones over one second.
# Wall time is noisy on a shared two-core VM: the CPU column is the steadier.
#
# The values looked up (an access key, a user, a bucket, an address, ...) are
# read from the store so the script works on any corpus; each can be forced
# through the environment (KEY, USERNAME, PRINCIPAL, BUCKET, IP, EVENT_ID,
# DAY, ...). The defaults suit `vigil-gen-corpus --with-attacks`: the leaked
# key and the attacker's address of its injected attacks.
#
# The Athena queries come from ../shared/datasets/athena-queries (file named
# in the table) with their placeholders filled: table names, the account,
# dates and values of this store; a statement broken as published (a missing
# WHERE) is repaired the way its author meant. Everything else is verbatim.
#
# Environment: VIGIL (build/vigil), RUNS (5), WARMUP (1), OUT (bench/out/query),
# ONLY (run only the cases whose name contains this string), TIMEOUT (seconds
# per run, 120: a case over it is reported as such and not repeated).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
DB=${1:?usage: bench/store_query.sh DB}
VIGIL=${VIGIL:-$root/build/vigil}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
OUT=${OUT:-$root/bench/out/query}
ONLY=${ONLY:-}
TIMEOUT=${TIMEOUT:-120}
command -v sqlite3 >/dev/null || { echo "bench: sqlite3 not installed" >&2; exit 1; }
[ -x "$VIGIL" ] || { echo "bench: $VIGIL missing (make)" >&2; exit 1; }
mkdir -p "$OUT"

q() { sqlite3 -readonly "$DB" "$1"; }

# ---- the values --------------------------------------------------------------
# Each picked through an index, so choosing them stays cheap on a big store.
KEY=${KEY:-$(q "SELECT access_key_id FROM cloudtrail WHERE access_key_id='AKIA47G43VZC7VZK2JPQ' LIMIT 1")}
[ -n "$KEY" ] || KEY=$(q "SELECT access_key_id FROM cloudtrail INDEXED BY cloudtrail_key
                         WHERE access_key_id LIKE 'AKIA%' LIMIT 1")
ATTACK_IP=${ATTACK_IP:-$(q "SELECT source_ip FROM cloudtrail WHERE access_key_id='$KEY'
                            AND source_ip NOT LIKE '10.%' ORDER BY event_time_ms LIMIT 1")}
IP=${IP:-203.0.113.66}
# A person: the IAM user behind the key (Username is the Event history name).
USERNAME=${USERNAME:-$(q "SELECT user_name FROM cloudtrail WHERE access_key_id='$KEY' AND user_name IS NOT NULL LIMIT 1")}
PRINCIPAL=${PRINCIPAL:-$(q "SELECT principal_arn FROM cloudtrail WHERE access_key_id='$KEY' LIMIT 1")}
PRINCIPAL_ID=${PRINCIPAL_ID:-$(q "SELECT principal_id FROM cloudtrail WHERE access_key_id='$KEY' LIMIT 1")}
BUCKET=${BUCKET:-acme-prod-user-uploads}
ACCOUNT=${ACCOUNT:-$(q "SELECT account FROM cloudtrail WHERE access_key_id='$KEY' LIMIT 1")}
RESOURCE_TYPE=${RESOURCE_TYPE:-AWS::IAM::AccessKey}
EVENT_NAME=${EVENT_NAME:-ConsoleLogin}
EVENT_SOURCE=${EVENT_SOURCE:-iam.amazonaws.com}
N=$(q "SELECT max(id) FROM cloudtrail")
EVENT_ID=${EVENT_ID:-$(q "SELECT event_id FROM cloudtrail WHERE id >= $N / 2 AND event_category='Management' LIMIT 1")}
# A day in the middle of the store's range, as the partition values and as
# ISO-8601 bounds.
DAY=${DAY:-$(q "SELECT date((min(event_time_ms) + max(event_time_ms)) / 2000, 'unixepoch')
                FROM cloudtrail")}
Y=${DAY%%-*}
M=$(echo "$DAY" | cut -d- -f2)
D=$(echo "$DAY" | cut -d- -f3)
START="${DAY}T00:00:00Z"
END="${DAY}T23:59:59Z"
# Windows for the queries on a credential: its whole activity.
FIRST=$(q "SELECT min(event_time) FROM cloudtrail WHERE access_key_id='$KEY'")
LAST=$(q "SELECT max(event_time) FROM cloudtrail WHERE access_key_id='$KEY'")

cat <<EOF
store      $DB ($(du -h "$DB" | cut -f1); $(q "SELECT count(*) FROM cloudtrail") CloudTrail, $(q "SELECT count(*) FROM vpcflow") flow, $(q "SELECT count(*) FROM dns") DNS records)
key        $KEY (user $USERNAME, $PRINCIPAL, id $PRINCIPAL_ID, account $ACCOUNT)
ip         $IP       bucket $BUCKET      day $DAY      event id $EVENT_ID
runs       $RUNS (+$WARMUP warm-up), median; cpu = user+sys
EOF

# ---- the harness -------------------------------------------------------------
printf '%-4s %-50s %-34s %8s %8s %10s\n' "#" "case" "source" "wall s" "cpu s" "out"
n=0
over=0
# run NAME SOURCE COMMAND...: output lines counted; for JSON lookups, events.
run() {
    name=$1 src=$2
    shift 2
    n=$((n + 1))
    case "$name" in *"$ONLY"*) ;; *) return 0 ;; esac
    i=0
    while [ $i -lt "$WARMUP" ]; do
        if ! timeout "$TIMEOUT" "$@" >"$OUT/out" 2>"$OUT/err"; then
            printf '%-4s %-50s %-34s %8s\n' "$n" "$name" "$src" ">$TIMEOUT s"
            over=$((over + 1))
            return 0
        fi
        i=$((i + 1))
    done
    : >"$OUT/times"
    i=0
    while [ $i -lt "$RUNS" ]; do
        if ! /usr/bin/time -f "%e %U %S" -o "$OUT/t1" timeout "$TIMEOUT" "$@" >"$OUT/out" 2>"$OUT/err"; then
            echo "bench: case $name failed:" >&2
            cat "$OUT/err" >&2
            exit 1
        fi
        awk '{printf "%s %.2f\n", $1, $2 + $3}' "$OUT/t1" >>"$OUT/times"
        i=$((i + 1))
    done
    w=$(cut -d' ' -f1 "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    c=$(cut -d' ' -f2 "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    if grep -q '"EventId"' "$OUT/out"; then
        o="$(grep -c '"EventId"' "$OUT/out") ev"
    else
        o="$(wc -l <"$OUT/out") lines"
    fi
    flag=
    if awk "BEGIN {exit !($w >= 1.0)}"; then flag=' >1s'; over=$((over + 1)); fi
    printf '%-4s %-50s %-34s %8s %8s %10s%s\n' "$n" "$name" "$src" "$w" "$c" "$o" "$flag"
}


# ---- lookup-events: the eight keys, page of 50 / every event, with and without a window
for kv in "EventId=$EVENT_ID" "EventName=$EVENT_NAME" "ReadOnly=false" "Username=$USERNAME" \
          "ResourceType=$RESOURCE_TYPE" "ResourceName=$BUCKET" "EventSource=$EVENT_SOURCE" \
          "AccessKeyId=$KEY"; do
    k=${kv%%=*} v=${kv#*=}
    a="AttributeKey=$k,AttributeValue=$v"
    run "lookup $k --max-results 50" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --lookup-attributes "$a" --max-results 50
    run "lookup $k --max-results 50, one day" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --lookup-attributes "$a" \
        --max-results 50 --start-time "$START" --end-time "$END"
    run "lookup $k (every event), one day" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --lookup-attributes "$a" \
        --start-time "$START" --end-time "$END"
    run "lookup $k (every event)" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --lookup-attributes "$a"
done
run "lookup no attribute --max-results 50" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --max-results 50
run "lookup no attribute --max-results 50, one day" lookup-events "$VIGIL" cloudtrail lookup-events --db "$DB" --output json --max-results 50 \
    --start-time "$START" --end-time "$END"

# ---- timeline and playbooks
run "timeline --principal (the user)" timeline "$VIGIL" timeline --db "$DB" --principal "$PRINCIPAL" --output json
run "timeline --principal KEY" timeline "$VIGIL" timeline --db "$DB" --principal "$KEY" --output json
run "timeline --ip" timeline "$VIGIL" timeline --db "$DB" --ip "$IP" --output json
run "timeline --resource BUCKET" timeline "$VIGIL" timeline --db "$DB" --resource "$BUCKET" --output json
run "investigate credentials --access-key" investigate "$VIGIL" investigate credentials --db "$DB" --access-key "$KEY" --output json
run "investigate bucket" investigate "$VIGIL" investigate bucket "$BUCKET" --db "$DB" --output json

# ---- the analysts' queries (vigil query)
AQ=${ATHENA_QUERIES:-$root/../shared/datasets/athena-queries}
[ -d "$AQ" ] || AQ=/work/shared/datasets/athena-queries
# sqlq NAME FILE-NUMBER SED-SCRIPT: the corpus file with its placeholders filled.
sqlq() {
    name=$1 num=$2 script=$3
    f=$(ls "$AQ"/"$num"-*.sql 2>/dev/null | head -1)
    [ -n "$f" ] || { echo "bench: no query $num in $AQ" >&2; return 0; }
    sed -e "$script" "$f" >"$OUT/q$num.sql"
    run "$name" "$(basename "$f" | cut -c1-34)" "$VIGIL" query --db "$DB" --output csv -f "$OUT/q$num.sql"
}
T="s/cloudtrail_000000000000/cloudtrail_$ACCOUNT/g"
YM="s/year = '####'/year = '$Y'/; s/month = '##'/month = '$M'/"
YMD="$YM; s/day = '##'/day = '$D'/"
WIN="s/START_TIME/$FIRST/; s/END_TIME/$LAST/"
PARTS="s|2021/07/01|$Y/$M/01|; s|2021/07/31|$Y/$M/31|; s/111122223333/$ACCOUNT/"
sqlq "all calls of a key in a window (Q-KEY)" 069 "$WIN; s/AKIAIOSFODNN7EXAMPLE/$KEY/"
sqlq "source IPs and user agents of a key" 070 "$WIN; s/AKIAIOSFODNN7EXAMPLE/$KEY/"
sqlq "failed calls of a key (Q-ERRORS)" 074 "$WIN; s/AKIAIOSFODNN7EXAMPLE/$KEY/"
sqlq "all key usage in a month" 005 "$T; $YM; s/AKIAxxxxxxxxxxxxxxxx/$KEY/"
sqlq "activity of an IAM user (Q-PRINCIPAL)" 006 "$T; $YM; s|arn:aws:iam::000000000000:user/xxxxxxxx|$PRINCIPAL|"
sqlq "calls by name of one principal" 122 "s/AROA…/$PRINCIPAL_ID/"
sqlq "activity from an IP (Q-SRCIP)" 002 "$T; s/^and year/where year/; $YM; s/x.x.x.x/$IP/"
sqlq "API errors in a month, newest 25" 001 "$T; s/^and year/where year/; $YM"
sqlq "principals denied most in a day" 023 "$T; $YMD"
sqlq "most common API calls in a day (Q-SUMMARY)" 021 "$T; $YMD"
sqlq "root credential use in a month (Q-ROOT)" 025 "$T; $YM"
sqlq "all IAM changes in a day (Q-IAM)" 028 "$T; $YMD"
sqlq "IAM change summary in a month" 141 "$PARTS"
sqlq "CloudTrail disruption in a day (Q-WATCHLIST)" 044 "$T; $YMD"
sqlq "console logins and role assumptions (Q-LOGIN)" 138 "$PARTS"
sqlq "S3 reads of a bucket in a window (Q-DATA)" 075 "$WIN; s/BUCKET_NAME/$BUCKET/"
sqlq "event counts by region in a month" 136 "$PARTS"

echo "$over of $n over one second"
