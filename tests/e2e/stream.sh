#!/bin/sh
# vigil detect - on a pipe: records are read as they arrive and each finding is
# written before the writer closes the pipe; a bad line is reported with its
# record number and the stream goes on; EOF ends cleanly; the findings equal
# those of the same records read from a file; memory stays bounded on a long
# stream. Usage: stream.sh VIGIL SOURCE_ROOT
set -u
VIGIL=$1
ROOT=$2
command -v jq >/dev/null 2>&1 || { echo "# skip: jq not found"; exit 77; }
T=$(mktemp -d /tmp/vigil-stream-e2e.XXXXXX)
VP=""
trap '[ -n "$VP" ] && kill $VP 2>/dev/null; rm -rf "$T"' EXIT
# A vigil that dies must fail the checks below, not kill this script.
trap '' PIPE
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1: $2"; }
# wait_grep PATTERN FILE: until FILE holds PATTERN (30 s at most, generous on
# a loaded machine; no timing is asserted)
wait_grep() {
    i=0
    while ! grep -q "$1" "$2" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    grep -q "$1" "$2" 2>/dev/null
}

E=$ROOT/examples
for f in "$E"/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/*.json.gz; do
    zcat "$f" | jq -c '.Records[]'
done >"$T/ct.jsonl"
jq -c 'select(.eventName == "StopLogging")' "$T/ct.jsonl" >"$T/stop.jsonl"
jq -c 'select(.eventName != "StopLogging")' "$T/ct.jsonl" >"$T/rest.jsonl"
jq -c 'select(.eventName == "ListUsers")' "$T/ct.jsonl" 2>/dev/null | head -1 >"$T/benign.jsonl"
[ -s "$T/stop.jsonl" ] || { echo "Bail out! no StopLogging record in the examples"; exit 1; }

# 1. Through a FIFO, with pauses: the finding comes out while the pipe is open.
mkfifo "$T/fifo"
"$VIGIL" detect --threat-list "$E/threats.txt" - <"$T/fifo" >"$T/out" 2>"$T/err" &
VP=$!
exec 3>"$T/fifo"
cat "$T/benign.jsonl" >&3
sleep 0.2
cat "$T/stop.jsonl" >&3
if wait_grep 'Stealth:IAMUser/CloudTrailLoggingDisabled' "$T/out"; then
    ok "stateless finding written before the writer closes the pipe"
else
    bad "finding before EOF" "nothing after 30 s: $(cat "$T/out" "$T/err")"
fi
# A bad line: reported with its record number (3rd record), the stream goes on.
echo '{"eventVersion": "1.08", broken' >&3
if wait_grep 'record 3' "$T/err"; then
    ok "bad line reported with its record number while streaming"
else
    bad "bad line" "$(cat "$T/err")"
fi
cat "$T/rest.jsonl" >&3
if wait_grep 'Policy:IAMUser/RootCredentialUsage' "$T/out"; then
    ok "records after the bad line still detected"
else
    bad "after bad line" "$(cat "$T/out")"
fi
exec 3>&-
wait $VP
rc=$?
VP=""
[ $rc -eq 1 ] && ok "EOF ends the stream (exit 1: one bad record)" || bad "exit status" "$rc: $(cat "$T/err")"
n_stop=$(grep -c 'CloudTrailLoggingDisabled' "$T/out")
[ "$n_stop" -eq 1 ] && ok "each finding written once when its count does not grow" ||
    bad "duplicates" "$n_stop lines for one finding"

# 1b. With --bus, the finding goes through the bus (a file target) while the
# pipe is still open.
printf '{"Rules": [{"Name": "findings", "EventPattern": {"source": ["aws.guardduty"]},\n  "Targets": [{"Id": "f", "Arn": "file:%s/bus-findings.jsonl"}]}]}\n' "$T" >"$T/bus.json"
rm -f "$T/fifo"
mkfifo "$T/fifo"
"$VIGIL" detect --bus "$T/bus.json" - <"$T/fifo" >"$T/out3" 2>"$T/err3" &
VP=$!
exec 3>"$T/fifo"
cat "$T/benign.jsonl" "$T/stop.jsonl" >&3
if wait_grep 'CloudTrailLoggingDisabled' "$T/bus-findings.jsonl"; then
    ok "--bus delivers the finding before the writer closes the pipe"
else
    bad "bus" "nothing delivered: $(cat "$T/err3")"
fi
exec 3>&-
wait $VP
VP=""

# 1c. A quiet stream is caught up: an SSH brute force held back by a long
# lateness comes out once the pipe has been quiet for --idle, while it is
# still open; with --idle 0 it waits for the end of the stream.
"$VIGIL" simulate ssh-brute-force --out "$T/ssh" >/dev/null 2>&1
set -- "$T"/ssh/AWSLogs/*/vpcflowlogs/*/*/*/*/*.gz
{ zcat "$1" | head -1; for f in "$@"; do zcat "$f" | tail -n +2; done | sort -k11,11n; } >"$T/ssh.flow"
for idle in 1s 0; do
    rm -f "$T/fifo"
    mkfifo "$T/fifo"
    "$VIGIL" detect --lateness 30d --idle $idle - <"$T/fifo" >"$T/idle.$idle" 2>"$T/idle.err" &
    VP=$!
    exec 3>"$T/fifo"
    cat "$T/ssh.flow" >&3
    if [ $idle = 1s ]; then
        if wait_grep 'UnauthorizedAccess:EC2/SSHBruteForce' "$T/idle.$idle"; then
            ok "--idle 1s: the held-back brute force comes out while the pipe is open"
        else
            bad "--idle" "nothing after 30 s: $(cat "$T/idle.err")"
        fi
    else
        sleep 2
        [ ! -s "$T/idle.$idle" ] && ok "--idle 0: nothing before the end of the stream" ||
            bad "--idle 0" "$(cat "$T/idle.$idle")"
    fi
    exec 3>&-
    wait $VP
    VP=""
    n=$(grep -c 'UnauthorizedAccess:EC2/SSHBruteForce' "$T/idle.$idle")
    [ "$n" -eq 1 ] && ok "--idle $idle: the finding written once" || bad "--idle $idle count" "$n"
done

# 2. Same findings (ids and final counts) as the file read in batch mode.
cat "$T/ct.jsonl" | "$VIGIL" detect --threat-list "$E/threats.txt" - >"$T/s.jsonl" 2>"$T/s.err"
"$VIGIL" detect --output jsonl --threat-list "$E/threats.txt" "$T/ct.jsonl" >"$T/b.jsonl" 2>>"$T/s.err"
jq -r '[.id, .type] | @tsv' "$T/b.jsonl" | sort >"$T/b.ids"
# the last line of each id carries its final count
jq -s -r 'group_by(.id)[] | last | [.id, .type, .service.count] | @tsv' "$T/s.jsonl" | sort >"$T/s.cnt"
jq -r '[.id, .type, .service.count] | @tsv' "$T/b.jsonl" | sort >"$T/b.cnt"
if [ -s "$T/b.ids" ] && cmp -s "$T/s.cnt" "$T/b.cnt"; then
    ok "stream findings = batch findings ($(wc -l <"$T/b.ids") ids, same counts)"
else
    bad "stream vs batch" "$(diff "$T/s.cnt" "$T/b.cnt")"
fi

# 3. Other formats on a pipe: VPC flow (with its header) and Resolver lines.
for kind in vpcflowlogs vpcdnsquerylogs; do
    f=$(ls "$E"/AWSLogs/111122223333/$kind/*/2026/11/20/*.gz)
    zcat "$f" | "$VIGIL" detect --threat-list "$E/threats.txt" - | jq -r .id | sort >"$T/s.$kind"
    "$VIGIL" detect --output jsonl --threat-list "$E/threats.txt" "$f" | jq -r .id | sort >"$T/b.$kind"
    if [ -s "$T/b.$kind" ] && cmp -s "$T/s.$kind" "$T/b.$kind"; then
        ok "$kind on a pipe: same findings as the file"
    else
        bad "$kind" "$(diff "$T/s.$kind" "$T/b.$kind")"
    fi
done

# 4. A long stream keeps memory bounded (no whole-input buffer): the peak
# after 400k records (~120 MB) is about the peak after 50k. (Under ASan the
# quarantine would hold freed memory: keep it small for this check.)
# peak N: vigil's VmHWM in kB after N records, read before the pipe closes
peak() {
    rm -f "$T/fifo2"
    mkfifo "$T/fifo2"
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1" "$VIGIL" detect - <"$T/fifo2" >"$T/out2" 2>"$T/err2" &
    VP=$!
    exec 4>"$T/fifo2"
    awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
        printf "{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-11-20T%02d:%02d:%02dZ\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"10.0.0.%d\",\"eventID\":\"00000000-0000-0000-0000-%012d\",\"recipientAccountId\":\"111122223333\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/u%d\",\"accessKeyId\":\"AKIAEXAMPLE%d\"},\"requestParameters\":{\"bucketName\":\"b\",\"key\":\"k%d\"}}\n",
            int(i / 36000) % 24, int(i / 600) % 60, int(i / 10) % 60, i % 250, i, i % 50, i % 50, i }' >&4
    awk '/VmHWM/ { print $2 }' /proc/$VP/status 2>/dev/null || echo 0
    exec 4>&-
    wait $VP
    VP=""
}
small=$(peak 50000)
big=$(peak 400000)
if [ "${small:-0}" -gt 0 ] && [ "${big:-0}" -gt 0 ] && [ "$big" -lt $((small * 3 / 2 + 20000)) ]; then
    ok "memory bounded: peak ${big} kB after 400k records (~120 MB), ${small} kB after 50k"
else
    bad "memory" "peak ${big:-?} kB after 400k records, ${small:-?} kB after 50k: $(tail -3 "$T/err2")"
fi

echo "1..$((pass + fail))"
echo "# stream: $pass passed, $fail failed"
[ $fail -eq 0 ]
