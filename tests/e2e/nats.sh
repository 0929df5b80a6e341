#!/bin/sh
# NATS JetStream in and out, on loopback: vigil publish loads the example logs
# into a stream partitioned by account; two vigil detect workers in one
# consumer group share them; the union of their findings equals vigil detect
# over the same files, and the findings stream holds each finding once
# (Nats-Msg-Id = finding id). Then a worker is killed with SIGKILL mid-stream:
# the survivor gets its unacknowledged records and nothing is lost.
# Usage: nats.sh VIGIL SOURCE_ROOT
set -u
VIGIL=$1
ROOT=$2
command -v jq >/dev/null 2>&1 || { echo "1..0 # skip: jq not found"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "1..0 # skip: curl not found"; exit 77; }
command -v nats-server >/dev/null 2>&1 ||
    { echo "1..0 # skip: nats-server not installed (apt-get install nats-server)"; exit 77; }
if "$VIGIL" publish --help 2>&1 | grep -q "without NATS"; then
    echo "1..0 # skip: vigil was built without NATS (libnats-dev)"; exit 77
fi
T=$(mktemp -d /tmp/vigil-nats-e2e.XXXXXX)
NS="" W1="" W2=""
cleanup() {
    for p in $W1 $W2 $NS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1: $2"; }
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
MPORT=$(free_port)
U=nats://127.0.0.1:$PORT
nats-server -js -a 127.0.0.1 -p "$PORT" -m "$MPORT" -sd "$T/js" >"$T/server.log" 2>&1 &
NS=$!
i=0
until curl -sf "http://127.0.0.1:$MPORT/healthz" >/dev/null 2>&1 || [ $i -ge 200 ]; do
    sleep 0.05; i=$((i + 1))
done
jsz() { curl -sf "http://127.0.0.1:$MPORT/jsz?streams=1&consumers=1"; }
# stream_msgs NAME: messages held by the stream
stream_msgs() {
    jsz | jq --arg n "$1" '[.account_details[]?.stream_detail[]? | select(.name == $n) | .state.messages] | add // 0'
}
# consumer FIELD: the durable consumer's num_pending / num_ack_pending
consumer() {
    jsz | jq --arg f "$1" '[.account_details[]?.stream_detail[]? | select(.name == "VIGIL_RECORDS") | .consumer_detail[]? | select(.name == "g") | .[$f]] | add // 0'
}

E=$ROOT/examples
LISTS="--threat-list $E/threats.txt --tor-list $E/tor.txt"
"$VIGIL" detect --output jsonl $LISTS "$E/AWSLogs" | jq -r .id | sort -u >"$T/expected"
nexp=$(wc -l <"$T/expected")

# 1. Publish, two workers in group "g", union = batch detect, each finding once.
"$VIGIL" publish --nats "$U" "$E/AWSLogs" 2>"$T/pub.err"
n=$(stream_msgs VIGIL_RECORDS)
nrec=$(sed -n 's/^vigil publish: \([0-9]*\) records.*/\1/p' "$T/pub.err")
[ "$n" -gt 0 ] && [ "$n" = "$nrec" ] && ok "vigil publish: $n records in VIGIL_RECORDS" ||
    bad "publish" "$n in the stream: $(cat "$T/pub.err")"
worker() { # worker N: one detect worker of group g
    "$VIGIL" detect --nats "$U" --nats-stream VIGIL_RECORDS --nats-subject 'vigil.records.>' \
        --nats-durable g --nats-ack-wait 1s --nats-idle-exit 3s \
        --findings-subject vigil.findings $LISTS >"$T/w$1.jsonl" 2>"$T/w$1.err"
}
worker 1 &
W1=$!
worker 2 &
W2=$!
wait $W1; r1=$?
wait $W2; r2=$?
W1="" W2=""
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "two workers ran and stopped when idle" ||
    bad "workers" "exit $r1 $r2: $(cat "$T/w1.err" "$T/w2.err")"
cat "$T/w1.jsonl" "$T/w2.jsonl" | jq -r .id | sort -u >"$T/union"
if [ "$nexp" -gt 0 ] && cmp -s "$T/union" "$T/expected"; then
    ok "union of the workers' findings = vigil detect on the files ($nexp findings)"
else
    bad "union" "$(diff "$T/union" "$T/expected")"
fi
nf=$(stream_msgs VIGIL_FINDINGS)
[ "$nf" = "$nexp" ] && ok "findings stream holds each finding once ($nf)" ||
    bad "findings stream" "$nf messages for $nexp findings"
[ "$(consumer num_pending)" = 0 ] && [ "$(consumer num_ack_pending)" = 0 ] &&
    ok "every record acknowledged" || bad "acks" "pending $(consumer num_pending) ack $(consumer num_ack_pending)"
# Partitions: a worker filtering on another account's subject reads nothing,
# one filtering on 111122223333's reads everything (new durables: from the start).
for acct in 000000000000 111122223333; do
    "$VIGIL" detect --nats "$U" --nats-stream VIGIL_RECORDS --nats-subject "vigil.records.$acct" \
        --nats-durable "p$acct" --nats-idle-exit 2s $LISTS >"$T/p$acct.jsonl" 2>"$T/p$acct.err"
done
np0=$(wc -l <"$T/p000000000000.jsonl")
jq -r .id "$T/p111122223333.jsonl" | sort -u >"$T/p1.ids"
[ "$np0" -eq 0 ] && cmp -s "$T/p1.ids" "$T/expected" &&
    ok "partitions: vigil.records.<account> filters give each worker its accounts" ||
    bad "partitions" "$np0 findings for an absent account; $(diff "$T/p1.ids" "$T/expected")"

# 2. SIGKILL one worker mid-stream: nothing is lost. The same records again (ids
# stable, so the findings stream must not grow), published while the workers run.
rm -f "$T/w1.jsonl" "$T/w2.jsonl"
worker 1 &
W1=$!
worker 2 &
W2=$!
for k in 1 2 3 4 5; do "$VIGIL" publish --nats "$U" "$E/AWSLogs" 2>>"$T/pub.err"; done
kill -9 $W1
wait $W1 2>/dev/null
W1=""
for k in 1 2 3 4 5; do "$VIGIL" publish --nats "$U" "$E/AWSLogs" 2>>"$T/pub.err"; done
wait $W2; r2=$?
W2=""
total=$(stream_msgs VIGIL_RECORDS)
[ "$total" -eq $((n * 11)) ] && [ "$(consumer num_pending)" = 0 ] && [ "$(consumer num_ack_pending)" = 0 ] &&
    ok "after kill -9: all $total records handled and acknowledged (exit $r2)" ||
    bad "after kill" "$total records, pending $(consumer num_pending), ack pending $(consumer num_ack_pending): $(cat "$T/w2.err")"
cat "$T/w1.jsonl" "$T/w2.jsonl" 2>/dev/null | jq -r .id | sort -u >"$T/union2"
if cmp -s "$T/union2" "$T/expected"; then
    ok "after kill -9: the findings are complete"
else
    bad "union after kill" "$(diff "$T/union2" "$T/expected")"
fi
nf=$(stream_msgs VIGIL_FINDINGS)
[ "$nf" = "$nexp" ] && ok "redeliveries dropped by the duplicate window ($nf findings)" ||
    bad "dedup" "$nf messages for $nexp findings"

# 3. Flow logs in a custom format (fields reordered): each record travels with
# its header line, and a worker finds what vigil detect finds in the file.
mkdir -p "$T/custom"
zcat "$E"/AWSLogs/111122223333/vpcflowlogs/*/2026/11/20/*.gz |
    awk '{ print $4, $5, $7, $6, $8, $9, $10, $11, $12, $13, $1, $2, $3, $14 }' >"$T/custom/flow.log"
"$VIGIL" detect --output jsonl $LISTS "$T/custom/flow.log" | jq -r .id | sort -u >"$T/cexpected"
"$VIGIL" publish --nats "$U" --stream CUSTOM --subject custom.records "$T/custom/flow.log" 2>>"$T/pub.err"
"$VIGIL" detect --nats "$U" --nats-stream CUSTOM --nats-subject 'custom.records.>' --nats-durable c \
    --nats-idle-exit 2s $LISTS 2>"$T/c.err" | jq -r .id | sort -u >"$T/cgot"
if [ -s "$T/cexpected" ] && cmp -s "$T/cgot" "$T/cexpected"; then
    ok "custom-format flow records carry their header ($(wc -l <"$T/cgot") findings)"
else
    bad "custom flow" "$(diff "$T/cgot" "$T/cexpected"; cat "$T/c.err")"
fi

echo "1..$((pass + fail))"
echo "# nats: $pass passed, $fail failed"
[ $fail -eq 0 ]
