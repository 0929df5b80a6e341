#!/bin/sh
# Instance credentials used from outside -> deny every session of the role
# issued before now (what the IAM console's "Revoke active sessions" does).
# stdin: {"role", "accessKeyId", "finding", "type"}.
set -eu
. "$(dirname "$0")/lib.sh"
need_jq
in=$(cat)
role=$(printf '%s' "$in" | jq -er .role)
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
policy=$(jq -cn --arg t "$now" '{Version: "2012-10-17", Statement: [{Effect: "Deny", Action: ["*"],
    Resource: ["*"], Condition: {DateLessThan: {"aws:TokenIssueTime": $t}}}]}')
act aws iam put-role-policy --role-name "$role" --policy-name AWSRevokeOlderSessions --policy-document "$policy"
