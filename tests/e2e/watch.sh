#!/bin/sh
# vigil watch: files that land in a watched directory (written, or moved in,
# in a new subdirectory) are detected and routed; a restart skips the files
# already done; SIGTERM stops it cleanly; the stateful rules run over the
# files (--once as vigil detect; live, out once the files stop landing).
# Usage: watch.sh VIGIL SOURCE_ROOT
set -u
VIGIL=$1
ROOT=$2
command -v jq >/dev/null 2>&1 || { echo "# skip: jq not found"; exit 77; }
T=$(mktemp -d /tmp/vigil-watch-e2e.XXXXXX)
VP=""
trap '[ -n "$VP" ] && kill $VP 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1: $2"; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# wait_for FILE N: until FILE has at least N lines (10 s at most)
wait_for() {
    i=0
    while [ "$(lines "$1")" -lt "$2" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}

CT=$(ls "$ROOT"/examples/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/*.json.gz)
set -- $CT
F1=$1 F2=$2
n1=$(zcat "$F1" | jq '.Records | length' 2>/dev/null || echo 0)
n2=$(zcat "$F2" | jq '.Records | length' 2>/dev/null || echo 0)
cat >"$T/bus.json" <<EOF
{"Rules": [
  {"Name": "records", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
   "EventPattern": {"detail-type": [{"suffix": "via CloudTrail"}]},
   "Targets": [{"Id": "f", "Arn": "file:$T/records.jsonl"}]},
  {"Name": "findings", "EventPattern": {"source": ["aws.guardduty"]},
   "Targets": [{"Id": "f", "Arn": "file:$T/findings.jsonl"}]}]}
EOF
mkdir -p "$T/in"
"$VIGIL" watch --bus "$T/bus.json" "$T/in" >"$T/out1" 2>"$T/err1" &
VP=$!
sleep 0.5
# A file written in place, then one moved into a new subdirectory.
cp "$F1" "$T/in/a.json.gz"
wait_for "$T/records.jsonl" "$n1"
mkdir -p "$T/stage" "$T/in/sub/deeper"
cp "$F2" "$T/stage/b.json.gz"
mv "$T/stage/b.json.gz" "$T/in/sub/deeper/b.json.gz"
wait_for "$T/records.jsonl" $((n1 + n2))
kill -TERM $VP
wait $VP
rc=$?
VP=""
got=$(lines "$T/records.jsonl")
if [ "$n1" -gt 0 ] && [ "$got" = $((n1 + n2)) ] && [ $rc = 0 ]; then
    ok "new files routed ($got records)"
else
    bad routed "rc=$rc records=$got want $((n1 + n2)); $(cat "$T/err1")"
fi
nf=$(lines "$T/out1")
if [ "$nf" -gt 0 ] && [ "$(lines "$T/findings.jsonl")" -ge "$nf" ]; then
    ok "findings printed and routed ($nf)"
else
    bad findings "printed=$nf routed=$(lines "$T/findings.jsonl")"
fi

# Restart: done files are skipped; a new one is read.
"$VIGIL" watch --bus "$T/bus.json" "$T/in" >"$T/out2" 2>"$T/err2" &
VP=$!
sleep 0.7
cp "$F1" "$T/in/c.json.gz"
wait_for "$T/records.jsonl" $((n1 + n2 + n1))
kill -TERM $VP
wait $VP
VP=""
got=$(lines "$T/records.jsonl")
if [ "$got" = $((n1 + n2 + n1)) ]; then ok "restart skips files done"; else bad restart "records=$got"; fi

# --once reads what is there and exits.
"$VIGIL" watch --once --bus "$T/bus.json" "$T/in" >/dev/null 2>"$T/err3"
rc=$?
if [ $rc = 0 ] && [ "$(lines "$T/records.jsonl")" = "$got" ]; then ok once; else bad once "rc=$rc $(cat "$T/err3")"; fi

# Stateful rules: --once over a game day gives what vigil detect gives with
# the same detection options, the scenario's own (thresholds, distinct counts,
# baselines, rates, sequences; GeoIP for impossible travel, AWS's ranges).
for sc in ssh-brute-force port-scan anomalous-iam-behavior api-call-rate console-brute-force \
    impossible-travel instance-credential-exfiltration; do
    "$VIGIL" simulate $sc --out "$T/gd-$sc" >/dev/null 2>&1
    printf '{"Rules": []}\n' >"$T/gd-$sc.bus.json"
    args=$(jq -r '(.detect.args + ([.detect.optionalArgs[]?.args] | add // [])) | join(" ")' \
        "$T/gd-$sc/ground-truth.json")
    (cd "$T/gd-$sc" && "$VIGIL" detect --output jsonl $args AWSLogs 2>/dev/null) |
        jq -r '[.id, .type, .service.count] | @tsv' | sort >"$T/gd-$sc.detect"
    (cd "$T/gd-$sc" && "$VIGIL" watch --once --bus "$T/gd-$sc.bus.json" $args AWSLogs 2>"$T/gd-$sc.err") \
        >"$T/gd-$sc.watch.jsonl"
    jq -s -r 'group_by(.id)[] | last | [.id, .type, .service.count] | @tsv' "$T/gd-$sc.watch.jsonl" |
        sort >"$T/gd-$sc.watch"
    if [ -s "$T/gd-$sc.detect" ] && cmp -s "$T/gd-$sc.detect" "$T/gd-$sc.watch"; then
        ok "--once on $sc: the same findings as detect ($(wc -l <"$T/gd-$sc.detect"))"
    else
        bad "$sc" "$(diff "$T/gd-$sc.detect" "$T/gd-$sc.watch") $(cat "$T/gd-$sc.err")"
    fi
done
# ... enriched by --geoip-db as detect's are: the far end of the travel is named.
cities=$(jq -r '.. | .cityName? // empty' "$T/gd-impossible-travel.watch.jsonl" | sort -u | tr '\n' ' ')
case "$cities" in
*Sydney*) ok "watch enriches from --geoip-db ($cities)" ;;
*) bad "geoip" "cities: '$cities'" ;;
esac

# Files landing one by one in delivery order, up to the last one holding the
# attack, then quiet: the watermark (1h behind) has not passed the attack, so
# the brute force comes out only once the files stop landing (--idle 1s), or,
# with --idle 0, when watch stops.
G=$T/gd-ssh-brute-force
find "$G/AWSLogs" -name '*.gz' | sed 's/.*_\([0-9]\{8\}T[0-9]\{4\}Z\)_.*/\1 &/' | sort |
    cut -d' ' -f2 >"$T/order"
last=$(for f in $(cat "$T/order"); do zcat "$f" | grep -q '203\.0\.113\.50' && echo "$f"; done | tail -1)
sed -n "1,\|^$last\$|p" "$T/order" >"$T/feed"
for idle in 1s 0; do
    rm -rf "$T/live" "$T/stage2" "$T/live.bus.json"*
    mkdir -p "$T/live" "$T/stage2"
    printf '{"Rules": []}\n' >"$T/live.bus.json"
    "$VIGIL" watch --idle $idle --bus "$T/live.bus.json" "$T/live" >"$T/live.out" 2>"$T/live.err" &
    VP=$!
    sleep 0.5
    for f in $(cat "$T/feed"); do
        cp "$f" "$T/stage2/"
        mv "$T/stage2/$(basename "$f")" "$T/live/"
    done
    if [ $idle = 1s ]; then
        i=0
        while ! grep -q 'SSHBruteForce' "$T/live.out" 2>/dev/null && [ $i -lt 600 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        grep -q 'SSHBruteForce' "$T/live.out" &&
            ok "files landing, then quiet: the brute force comes out after --idle" ||
            bad "--idle 1s" "nothing after 30 s ($(wc -l <"$T/feed") files): $(cat "$T/live.err")"
    else
        # all files read (their records routed), then a moment of quiet
        sleep 2
        grep -q 'SSHBruteForce' "$T/live.out" &&
            bad "--idle 0" "the finding came out before the stop" ||
            ok "--idle 0: held back while watch runs"
    fi
    kill -TERM $VP
    wait $VP
    VP=""
    [ "$(grep -c 'SSHBruteForce' "$T/live.out")" = 1 ] &&
        ok "--idle $idle: written once (at the latest when watch stops)" ||
        bad "--idle $idle count" "$(grep -c 'SSHBruteForce' "$T/live.out")"
done

echo "# watch e2e: $pass passed, $fail failed"
[ $fail = 0 ]
