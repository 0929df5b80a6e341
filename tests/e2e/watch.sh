#!/bin/sh
# vigil watch: files that land in a watched directory (written, or moved in,
# in a new subdirectory) are detected and routed; a restart skips the files
# already done; SIGTERM stops it cleanly.
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

echo "# watch e2e: $pass passed, $fail failed"
[ $fail = 0 ]
