#!/bin/sh
# Bad input end to end: each broken file gets exactly one clear error on stderr
# naming the file (and the record where there is one), the good input is still
# processed (its finding comes out), nothing crashes, and the exit status is 1.
set -u
VIGIL=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d=$tmp/logs
mkdir -p "$d"
rec() { # eventName eventID
    printf '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/eve","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEEVE000001","userName":"eve"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"%s","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.13.5","requestParameters":{"name":"trail"},"responseElements":null,"eventID":"%s","eventType":"AwsApiCall","recipientAccountId":"111122223333"}' "$1" "$2"
}
# The good file: one StopLogging that must still produce its finding.
printf '{"Records":[%s]}' "$(rec StopLogging 00000000-0000-0000-0000-000000000001)" >"$d/good.json"
# Truncated gzip.
printf '{"Records":[%s,%s]}' "$(rec DescribeTrails 00000000-0000-0000-0000-000000000002)" \
    "$(rec DescribeTrails 00000000-0000-0000-0000-000000000003)" | gzip -c | head -c 120 >"$d/truncated.json.gz"
# Invalid JSON in the second record of a Records file; the third still counts.
printf '{"Records":[%s,{"eventName": oops},%s]}' "$(rec ListTrails 00000000-0000-0000-0000-000000000004)" \
    "$(rec StopLogging 00000000-0000-0000-0000-000000000005)" >"$d/invalid.json"
# A wrong type where a string is expected.
rec ListTrails 00000000-0000-0000-0000-000000000006 | sed 's/"eventName":"ListTrails"/"eventName":5/' >"$d/wrongtype.json"
# A 100 MB line followed by a good record (JSON lines).
{ printf '{"eventName":"'; head -c 104857600 /dev/zero | tr '\0' 'a'; printf '"}\n'; rec ListTrails 00000000-0000-0000-0000-000000000007; echo; } >"$d/bigline.jsonl"
# Binary junk and an empty file.
head -c 4096 /dev/urandom >"$d/junk.bin"
: >"$d/empty.json"

"$VIGIL" detect --output jsonl "$d" >"$tmp/out" 2>"$tmp/err"
rc=$?
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
check "exit status 1 (some input bad), got $rc" '[ $rc -eq 1 ]'
check "good file's StopLogging finding still produced" 'grep -q "CloudTrailLoggingDisabled" "$tmp/out"'
check "record after the broken one still read" 'grep -q "00000000-0000-0000-0000-000000000005" "$tmp/out"'
for f in truncated.json.gz invalid.json wrongtype.json bigline.jsonl junk.bin; do
    n=$(grep -c "$f" "$tmp/err")
    check "$f: one error line naming the file (got $n)" '[ "$n" -eq 1 ]'
done
check "invalid.json error names record 2" 'grep "invalid.json" "$tmp/err" | grep -q "record 2"'
check "wrongtype.json error names the field" 'grep "wrongtype.json" "$tmp/err" | grep -q "eventName"'
check "no sanitizer report" '! grep -q "Sanitizer" "$tmp/err"'
if [ $fail -ne 0 ]; then echo "# stderr was:"; sed 's/^/#   /' "$tmp/err" | cut -c1-300; fi
exit $fail
