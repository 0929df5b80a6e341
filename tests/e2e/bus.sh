#!/bin/sh
# The bus against loopback webhooks (127.0.0.1 only), with the failures the
# delivery guarantees are about:
#   retry     a webhook that fails its first N requests: every event arrives
#   down      a webhook that is down: every event lands in the DLQ with its
#             error; once it is up, redrive delivers every one
#   slow      a webhook slower than the target's timeout: TIMEOUT in the DLQ
#   kill      vigil killed with SIGKILL in the middle of deliveries: after a
#             restart (vigil bus drain) every event has arrived
#   hmac      the signature header verifies with the shared secret
#   headers   HttpParameters' headers and query string are sent
#   4xx       a 400 is not retried; a 429 is
# Usage: bus.sh VIGIL SOURCE_ROOT. Skips (exit 77) without python3.
set -u
VIGIL=$1
ROOT=$2
command -v python3 >/dev/null 2>&1 || { echo "# skip: python3 not found"; exit 77; }
T=$(mktemp -d /tmp/vigil-bus-e2e.XXXXXX)
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1: $2"; }

# webhook NAME [args...]: starts a server, sets PORT.
webhook() {
    name=$1; shift
    rm -f "$T/$name.port"
    python3 "$ROOT/tests/e2e/webhook.py" --log "$T/$name.log" --port-file "$T/$name.port" "$@" &
    WPID=$!
    PIDS="$PIDS $WPID"
    i=0
    while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    PORT=$(cat "$T/$name.port")
}

# entries N SOURCE: a put-events --entries list of N events.
entries() {
    n=$1 src=$2 i=1
    printf '['
    while [ $i -le "$n" ]; do
        [ $i -gt 1 ] && printf ','
        printf '{"Source":"%s","DetailType":"Test","Detail":"{\\"n\\":%d}"}' "$src" "$i"
        i=$((i + 1))
    done
    printf ']'
}

# config NAME URL [target extras]: one rule sending source NAME to URL.
config() {
    cat >"$T/$1.json" <<EOF
{"Rules": [{"Name": "$1", "EventPattern": {"source": ["$1"]},
  "Targets": [{"Id": "hook", "Arn": "$2"${3:+, $3}}]}],
 "Vigil": {"RetryBaseMilliseconds": 50, "RetryMaxDelayMilliseconds": 200}}
EOF
}

ids_sent() { grep -o '"EventId": "[^"]*"' "$1" | cut -d'"' -f4 | sort -u; }
ids_got() { python3 -c '
import json, sys
ids = set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if 200 <= r["status"] < 300 and not r.get("client_gone"):
        ids.add(json.loads(r["body"])["id"])
print("\n".join(sorted(ids)))' "$1"; }

# ---- retry: the first 3 requests fail ----------------------------------------------
webhook retry --fail-first 3
config retry "http://127.0.0.1:$PORT/hook"
entries 5 retry >"$T/e5.json"
"$VIGIL" events put-events --bus "$T/retry.json" --entries "file://$T/e5.json" >"$T/retry.out" 2>"$T/retry.err"
rc=$?
ids_sent "$T/retry.out" >"$T/sent"
ids_got "$T/retry.log" >"$T/got"
reqs=$(wc -l <"$T/retry.log")
if [ $rc = 0 ] && [ "$(wc -l <"$T/sent")" = 5 ] && cmp -s "$T/sent" "$T/got" && [ "$reqs" = 8 ] &&
    grep -q '"attempt": "2"' "$T/retry.log"; then
    ok retry
else
    bad retry "rc=$rc requests=$reqs $(cat "$T/retry.err")"
fi

# ---- down: DLQ with the error, then redrive delivers -------------------------------
webhook down
DPORT=$PORT
kill "$WPID"; wait "$WPID" 2>/dev/null
config down "http://127.0.0.1:$DPORT/hook" '"RetryPolicy": {"MaximumRetryAttempts": 2}, "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:down-dlq"}'
entries 4 down >"$T/e4.json"
"$VIGIL" events put-events --bus "$T/down.json" --entries "file://$T/e4.json" >"$T/down.out" 2>"$T/down.err"
rc=$?
"$VIGIL" queue receive --bus "$T/down.json" --queue-url down-dlq --max-number-of-messages 10 \
    --visibility-timeout 0 >"$T/dlq.json"
ndlq=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["Messages"]
ok = all(x["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "CONNECTION_ERROR" and
         x["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == "MaximumRetryAttemptsExhausted" and
         x["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "2" for x in m)
print(len(m) if ok else -1)' "$T/dlq.json" 2>/dev/null)
if [ $rc = 1 ] && [ "$ndlq" = 4 ] && grep -q "dead-letter" "$T/down.err"; then ok down-dlq; else bad down-dlq "rc=$rc dlq=$ndlq"; fi
webhook down --port "$DPORT"
"$VIGIL" queue redrive --bus "$T/down.json" --source down-dlq >"$T/redrive.out" 2>"$T/redrive.err"
rc=$?
ids_sent "$T/down.out" >"$T/sent"
ids_got "$T/down.log" >"$T/got"
left=$("$VIGIL" queue receive --bus "$T/down.json" --queue-url down-dlq --visibility-timeout 0 | wc -c)
if [ $rc = 0 ] && grep -q '"ApproximateNumberOfMessagesMoved": 4' "$T/redrive.out" &&
    cmp -s "$T/sent" "$T/got" && [ "$left" = 0 ]; then
    ok down-redrive
else
    bad down-redrive "rc=$rc left=$left $(cat "$T/redrive.err")"
fi

# ---- slow: the timeout ----------------------------------------------------------------
webhook slow --delay 3
config slow "http://127.0.0.1:$PORT/hook" '"VigilParameters": {"TimeoutSeconds": 0.5}, "RetryPolicy": {"MaximumRetryAttempts": 0}, "DeadLetterConfig": {"Arn": "queue:slow-dlq"}'
entries 1 slow >"$T/e1.json"
start=$(date +%s)
"$VIGIL" events put-events --bus "$T/slow.json" --entries "file://$T/e1.json" >/dev/null 2>&1
took=$(( $(date +%s) - start ))
"$VIGIL" queue receive --bus "$T/slow.json" --queue-url slow-dlq >"$T/sdlq.json"
if grep -A2 '"ERROR_CODE"' "$T/sdlq.json" | grep -q '"TIMEOUT"' && [ "$took" -lt 3 ]; then
    ok slow-timeout
else
    bad slow-timeout "took ${took}s"
fi

# ---- kill -9 in the middle of deliveries -------------------------------------------------
webhook kill --delay 0.2
config kill "http://127.0.0.1:$PORT/hook"
entries 30 kill >"$T/e30.json"
"$VIGIL" events put-events --bus "$T/kill.json" --entries "file://$T/e30.json" --wait 60 >"$T/kill.out" 2>/dev/null &
VP=$!
i=0
while [ "$(cat "$T/kill.log" 2>/dev/null | wc -l)" -lt 5 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $VP
wait $VP 2>/dev/null
before=$(wc -l <"$T/kill.log")
"$VIGIL" bus drain --bus "$T/kill.json" --wait 60 2>"$T/drain.err"
rc=$?
ids_sent "$T/kill.out" >"$T/sent"
ids_got "$T/kill.log" >"$T/got"
if [ $rc = 0 ] && [ "$(wc -l <"$T/sent")" = 30 ] && [ "$before" -lt 30 ] && cmp -s "$T/sent" "$T/got"; then
    ok "kill-9 ($before of 30 delivered before the kill, the rest after the restart)"
else
    bad kill-9 "rc=$rc before=$before sent=$(wc -l <"$T/sent") got=$(wc -l <"$T/got") $(cat "$T/drain.err")"
fi

# ---- hmac -------------------------------------------------------------------------------
webhook hmac --secret s3cret
config hmac "http://127.0.0.1:$PORT/hook" '"VigilParameters": {"HmacSecretEnv": "HOOK_SECRET"}'
HOOK_SECRET=s3cret "$VIGIL" events put-events --bus "$T/hmac.json" --entries "$(entries 2 hmac)" >/dev/null 2>&1
if [ "$(grep -c '"sig_ok": true' "$T/hmac.log")" = 2 ]; then ok hmac; else bad hmac "$(cat "$T/hmac.log")"; fi

# ---- headers and query string -----------------------------------------------------------------
webhook hdr
config hdr "http://127.0.0.1:$PORT/hook" '"HttpParameters": {"HeaderParameters": {"X-Extra": "yes"}, "QueryStringParameters": {"a b": "c&d"}}'
"$VIGIL" events put-events --bus "$T/hdr.json" --entries "$(entries 1 hdr)" >/dev/null 2>&1
if grep -q '"path": "/hook?a%20b=c%26d"' "$T/hdr.log" && grep -q '"extra": "yes"' "$T/hdr.log" &&
    grep -q '"content_type": "application/json"' "$T/hdr.log"; then
    ok headers
else
    bad headers "$(cat "$T/hdr.log")"
fi

# ---- 4xx: 400 is final, 429 is retried --------------------------------------------------------
webhook c400 --status 400
config c400 "http://127.0.0.1:$PORT/hook" '"DeadLetterConfig": {"Arn": "queue:c400-dlq"}'
"$VIGIL" events put-events --bus "$T/c400.json" --entries "$(entries 1 c400)" >/dev/null 2>&1
"$VIGIL" queue receive --bus "$T/c400.json" --queue-url c400-dlq >"$T/c400.dlq"
webhook c429 --status 429
config c429 "http://127.0.0.1:$PORT/hook" '"RetryPolicy": {"MaximumRetryAttempts": 2}, "DeadLetterConfig": {"Arn": "queue:c429-dlq"}'
"$VIGIL" events put-events --bus "$T/c429.json" --entries "$(entries 1 c429)" >/dev/null 2>&1
if [ "$(wc -l <"$T/c400.log")" = 1 ] && grep -q '"HTTP_400"' "$T/c400.dlq" && [ "$(wc -l <"$T/c429.log")" = 3 ]; then
    ok 4xx
else
    bad 4xx "400: $(wc -l <"$T/c400.log") requests; 429: $(wc -l <"$T/c429.log") requests"
fi

echo "# bus e2e: $pass passed, $fail failed"
[ $fail = 0 ]
