#!/bin/sh
# A security group opened SSH/RDP (or everything) to 0.0.0.0/0 or ::/0 ->
# revoke exactly the world-open ranges that call added.
# stdin: the CloudTrail record (the target's InputPath is $.detail).
set -eu
. "$(dirname "$0")/lib.sh"
need_jq
in=$(cat)
group=$(printf '%s' "$in" | jq -er .requestParameters.groupId)
region=$(printf '%s' "$in" | jq -er .awsRegion)
perms=$(printf '%s' "$in" | jq -c '[.requestParameters.ipPermissions.items[]
    | {IpProtocol: .ipProtocol, FromPort: .fromPort, ToPort: .toPort,
       IpRanges: [(.ipRanges.items // [])[] | select(.cidrIp == "0.0.0.0/0") | {CidrIp: .cidrIp}],
       Ipv6Ranges: [(.ipv6Ranges.items // [])[] | select(.cidrIpv6 == "::/0") | {CidrIpv6: .cidrIpv6}]}
    | with_entries(select(.value != null))
    | select((.IpRanges | length) + (.Ipv6Ranges | length) > 0)]')
[ "$perms" != "[]" ] || { echo "nothing world-open in this call"; exit 0; }
act aws ec2 revoke-security-group-ingress --group-id "$group" --region "$region" --ip-permissions "$perms"
