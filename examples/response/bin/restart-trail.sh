#!/bin/sh
# CloudTrail StopLogging -> start logging again.
# stdin: {"trail", "region", "principal", "ip", "time"} (the rule's InputTransformer).
set -eu
. "$(dirname "$0")/lib.sh"
need_jq
in=$(cat)
trail=$(printf '%s' "$in" | jq -er .trail)
region=$(printf '%s' "$in" | jq -er .region)
act aws cloudtrail start-logging --name "$trail" --region "$region"
