#!/bin/sh
# Writes a bus configuration with 100 rules and one file target to stdout, for
# the bus throughput benchmark (bench/README.md "The bus"):
#   40 rules on (source, eventName) pairs of the generated corpus,
#   30 rules on API names that never occur,
#   20 prefix / anything-but / exists rules that match part of the traffic,
#   10 cidr and numeric rules.
# Every rule takes read-only management events too
# (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS), so every record is matched.
# Usage: bus_rules.sh OUT_FILE [STATE_FILE]
set -eu
out=$1
state=${2:-}
pairs="sts:AssumeRole kms:Decrypt s3:GetObject kms:GenerateDataKey ec2:DescribeInstances
s3:PutObject s3:ListBucket iam:GetUser sts:GetCallerIdentity ec2:DescribeSecurityGroups
lambda:Invoke logs:PutLogEvents s3:HeadObject dynamodb:GetItem dynamodb:PutItem
ec2:DescribeVolumes iam:ListRoles iam:GetRole ssm:GetParameter secretsmanager:GetSecretValue
signin:ConsoleLogin iam:CreateAccessKey iam:AttachUserPolicy iam:CreateUser iam:PutUserPolicy
ec2:AuthorizeSecurityGroupIngress ec2:RunInstances ec2:TerminateInstances cloudtrail:DescribeTrails
cloudtrail:StopLogging cloudtrail:DeleteTrail s3:PutBucketPolicy s3:DeleteObject kms:Encrypt
ec2:CreateSnapshot ec2:ModifySnapshotAttribute iam:DeleteUser rds:DescribeDBInstances
guardduty:ListDetectors config:DescribeConfigRules"
rule() { # NAME PATTERN
    [ "$n" -gt 0 ] && printf ',\n'
    printf '  {"Name": "%s", "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", "EventPattern": %s,\n' "$1" "$2"
    printf '   "Targets": [{"Id": "file", "Arn": "file:%s"}]}' "$out"
    n=$((n + 1))
}
n=0
printf '{"Rules": [\n'
for p in $pairs; do
    svc=${p%%:*} api=${p#*:}
    rule "api-$svc-$api" "{\"source\": [\"aws.$svc\"], \"detail-type\": [\"AWS API Call via CloudTrail\"], \"detail\": {\"eventSource\": [\"$svc.amazonaws.com\"], \"eventName\": [\"$api\"]}}"
done
i=0
while [ $i -lt 30 ]; do
    rule "never-$i" "{\"source\": [\"aws.iam\"], \"detail\": {\"eventName\": [\"NoSuchApi$i\"]}}"
    i=$((i + 1))
done
for pre in Get Describe List Create Delete Put Update Attach; do
    rule "prefix-$pre" "{\"detail\": {\"eventName\": [{\"prefix\": \"$pre\"}], \"userIdentity\": {\"type\": [\"IAMUser\", \"Root\"]}}}"
done
for t in AssumedRole IAMUser Root AWSService; do
    rule "identity-$t" "{\"detail\": {\"userIdentity\": {\"type\": [\"$t\"]}, \"errorCode\": [{\"exists\": true}]}}"
done
for r in us-east-1 eu-west-1 ap-southeast-2 us-west-2; do
    rule "region-$r" "{\"region\": [\"$r\"], \"detail\": {\"eventName\": [{\"anything-but\": {\"prefix\": \"Describe\"}}], \"readOnly\": [false]}}"
done
for s in AccessDenied ThrottlingException NoSuchKey UnauthorizedOperation; do
    rule "error-$s" "{\"detail\": {\"errorCode\": [\"$s\"]}}"
done
for c in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 198.51.100.0/24 203.0.113.0/24; do
    rule "cidr-$(echo "$c" | tr ./ --)" "{\"detail\": {\"sourceIPAddress\": [{\"cidr\": \"$c\"}]}}"
done
for b in 0 1000 100000 1000000 10000000; do
    rule "bytes-$b" "{\"detail\": {\"additionalEventData\": {\"bytesTransferredOut\": [{\"numeric\": [\">\", $b]}]}}}"
done
printf '\n]'
[ -n "$state" ] && printf ', "Vigil": {"StateFile": "%s"}' "$state"
printf '}\n'
