#!/bin/sh
# The shipped response playbooks (examples/response/) end to end: vigil detect
# --bus over the example logs and put-events for a GuardDuty finding, against
# a loopback webhook (127.0.0.1) standing in for Slack/PagerDuty. The
# commands run in dry-run mode (the default): what they would run is checked.
# Usage: response.sh VIGIL SOURCE_ROOT. Skips (exit 77) without python3 or jq.
set -u
VIGIL=$1
ROOT=$2
for t in python3 jq; do
    command -v $t >/dev/null 2>&1 || { echo "# skip: $t not found"; exit 77; }
done
T=$(mktemp -d /tmp/vigil-response-e2e.XXXXXX)
WPID=""
trap '[ -n "$WPID" ] && kill $WPID 2>/dev/null; rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $1"; }
bad() { fail=$((fail + 1)); echo "not ok $1: $2"; }

python3 "$ROOT/tests/e2e/webhook.py" --log "$T/hook.log" --port-file "$T/port" &
WPID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat "$T/port")
cp -r "$ROOT/examples/response" "$T/resp"
sed "s#http://127.0.0.1:8787/#http://127.0.0.1:$PORT/#" "$ROOT/examples/response/bus.json" >"$T/resp/bus.json"
export VIGIL_RESPONSE_LOG="$T/actions.log"
unset VIGIL_RESPONSE_EXECUTE
cd "$T/resp" || exit 1

"$VIGIL" detect --output jsonl --threat-list "$ROOT/examples/threats.txt" --tor-list "$ROOT/examples/tor.txt" \
    --bus bus.json "$ROOT/examples/AWSLogs/" >"$T/findings.jsonl" 2>"$T/detect.err"
rc=$?
[ $rc = 0 ] || bad detect "exit $rc: $(cat "$T/detect.err")"

# 1. StopLogging -> start-logging (dry run) and a notice with principal, time and IP.
if grep -q "DRY-RUN (cloudtrail-stopped .*would run: aws cloudtrail start-logging --name arn:aws:cloudtrail:us-east-1:111122223333:trail/management --region us-east-1$" "$T/actions.log"; then
    ok stoplogging-restart
else
    bad stoplogging-restart "$(cat "$T/actions.log" 2>/dev/null)"
fi
if jq -e -s 'map(select(.path == "/notify") | .body | fromjson | .text)
        | any(test("stopped on arn:aws:cloudtrail:us-east-1:111122223333:trail/management in account 111122223333 by arn:aws:iam::111122223333:user/build-bot at 2026-11-20T10:18:05Z from 203.0.113.66"))' \
        "$T/hook.log" >/dev/null; then
    ok stoplogging-notice
else
    bad stoplogging-notice "$(cat "$T/hook.log")"
fi

# 2. Port 22 opened to 0.0.0.0/0 -> revoke exactly that range.
want="would run: aws ec2 revoke-security-group-ingress --group-id sg-0123456789abcdef0 --region us-east-1 --ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":22,\"ToPort\":22,\"IpRanges\":[{\"CidrIp\":\"0.0.0.0/0\"}],\"Ipv6Ranges\":[]}]'"
if grep -qF "$want" "$T/actions.log"; then ok sg-revoke; else bad sg-revoke "$(grep revoke "$T/actions.log")"; fi

# 3. Every finding of severity >= 7 pages once, with its id as the dedup key.
high=$(jq -r 'select(.severity >= 7) | .id' "$T/findings.jsonl" | sort)
paged=$(jq -r 'select(.path == "/page") | .body | fromjson | .dedup_key' "$T/hook.log" | sort)
shape=$(jq -r 'select(.path == "/page") | .body | fromjson
        | (.event_action == "trigger" and .payload.severity == "critical" and .payload.custom_details.finding.source == "aws.guardduty")' \
        "$T/hook.log" | sort -u)
if [ -n "$high" ] && [ "$high" = "$paged" ] && [ "$shape" = true ]; then
    ok "page ($(echo "$high" | wc -l) high-severity findings paged)"
else
    bad page "high=[$high] paged=[$paged] shape=$shape"
fi

# 4. Instance credential exfiltration finding -> revoke the role's sessions.
cat >"$T/finding.json" <<'EOF'
{"schemaVersion": "2.0", "accountId": "111122223333", "region": "us-east-1", "id": "c0ffee0000000000000000000000cafe",
 "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", "severity": 8,
 "title": "Credentials for instance role web-role used from an external IP address.",
 "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"accessKeyId": "ASIAEXAMPLEWEB00001",
   "principalId": "AROAEXAMPLE:i-0abc", "userName": "web-role", "userType": "AssumedRole"}},
 "createdAt": "2026-11-20T11:00:00.000Z", "updatedAt": "2026-11-20T11:00:00.000Z"}
EOF
jq -n --rawfile d "$T/finding.json" '[{Source: "aws.guardduty", DetailType: "GuardDuty Finding", Detail: $d}]' >"$T/entries.json"
"$VIGIL" events put-events --bus bus.json --entries "file://$T/entries.json" >/dev/null 2>"$T/put.err"
rc=$?
if [ $rc = 0 ] && grep -q "would run: aws iam put-role-policy --role-name web-role --policy-name AWSRevokeOlderSessions --policy-document" "$T/actions.log" &&
    jq -e -s 'map(select(.path == "/notify") | .body | fromjson | .text) | any(test("revoking the active sessions of role web-role"))' "$T/hook.log" >/dev/null &&
    jq -e -s 'map(select(.path == "/page") | .body | fromjson | .dedup_key) | any(. == "c0ffee0000000000000000000000cafe")' "$T/hook.log" >/dev/null; then
    ok credential-exfiltration
else
    bad credential-exfiltration "rc=$rc $(cat "$T/put.err")"
fi

# 5. Near misses: port 443 to the world, port 22 to a /24, a StopLogging that failed.
before=$(wc -l <"$T/actions.log")
ct() { # ct NAME DETAIL_JSON: a CloudTrail-shaped put-events entry
    jq -n --arg s "$1" --arg d "$2" '{Source: $s, DetailType: "AWS API Call via CloudTrail", Detail: $d}'
}
{
    printf '['
    ct aws.ec2 '{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"us-east-1","requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}'
    printf ','
    ct aws.ec2 '{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"us-east-1","requestParameters":{"groupId":"sg-2","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/24"}]}},{"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}'
    printf ','
    ct aws.cloudtrail '{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","errorCode":"AccessDenied","awsRegion":"us-east-1","requestParameters":{"name":"t"}}'
    printf ']'
} >"$T/near.json"
"$VIGIL" events put-events --bus bus.json --entries "file://$T/near.json" >/dev/null 2>&1
after=$(wc -l <"$T/actions.log")
if [ "$before" = "$after" ]; then ok near-misses; else bad near-misses "$(tail -n +$((before + 1)) "$T/actions.log")"; fi

# 6. A range that does include 3389 (3380-3390 from ::/0) is revoked.
{
    printf '['
    ct aws.ec2 '{"eventSource":"ec2.amazonaws.com","eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1","requestParameters":{"groupId":"sg-3","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":3380,"toPort":3390,"ipv6Ranges":{"items":[{"cidrIpv6":"::/0"}]}}]}}}'
    printf ']'
} >"$T/rdp.json"
"$VIGIL" events put-events --bus bus.json --entries "file://$T/rdp.json" >/dev/null 2>&1
if grep -qF -- "--group-id sg-3 --region eu-west-1 --ip-permissions '[{\"IpProtocol\":\"tcp\",\"FromPort\":3380,\"ToPort\":3390,\"IpRanges\":[],\"Ipv6Ranges\":[{\"CidrIpv6\":\"::/0\"}]}]'" "$T/actions.log"; then
    ok rdp-range
else
    bad rdp-range "$(tail -2 "$T/actions.log")"
fi

# Nothing was dead-lettered.
"$VIGIL" queue receive --bus bus.json --queue-url response-dlq --visibility-timeout 0 >"$T/dlq"
if [ ! -s "$T/dlq" ]; then ok no-dead-letters; else bad no-dead-letters "$(cat "$T/dlq")"; fi

echo "# response e2e: $pass passed, $fail failed"
[ $fail = 0 ]
