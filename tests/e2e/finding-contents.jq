# For tests/e2e/simulate.sh: one tab-separated line per problem with a game
# day's findings ($f): finding type, what is wrong. $ev is the
# evidence records, "id<TAB>record" lines; $types the types vigil knows.
def purposes: "Backdoor|Behavior|CredentialAccess|CryptoCurrency|DefenseEvasion|Discovery|Execution|Exfiltration|Impact|InitialAccess|PenTest|Persistence|Policy|PrivilegeEscalation|Recon|Stealth|Trojan|UnauthorizedAccess";
def gdtype: test("^(" + purposes + "):(EC2|IAMUser|S3)/[A-Za-z0-9&]+(\\.[A-Za-z0-9]+)*(![A-Z]+)?$");
def addr: (. // {}) | .ipAddressV4 // .ipAddressV6;
# The remote end the finding names, by its action; null when it names none.
def remote:
  .service.action as $a |
  if $a.actionType == "NETWORK_CONNECTION" then $a.networkConnectionAction.remoteIpDetails | addr
  elif $a.actionType == "DNS_REQUEST" then $a.dnsRequestAction.domain
  elif $a.actionType == "AWS_API_CALL" then $a.awsApiCallAction.remoteIpDetails | addr
  elif $a.actionType == "PORT_PROBE" then [$a.portProbeAction.portProbeDetails[]?.remoteIpDetails | addr] | first
  else null end;
# The affected resource's identifiers (any of them names it).
def resource:
  .resource as $r |
  if $r.resourceType == "Instance" then [$r.instanceDetails.instanceId]
  elif $r.resourceType == "AccessKey" then [$r.accessKeyDetails // {} | .accessKeyId, .principalId, .userName]
  elif $r.resourceType == "S3Bucket" then [$r.s3BucketDetails[]?.name]
  else [] end | map(select(. != null and . != ""));
($ev | split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: (.[1:] | join(" "))})
     | from_entries) as $rec |
$f[0].Findings[] | . as $x | .type as $t |
[.service.additionalInfo.vigil.eventIds // [] | .[] | $rec[.] // empty] as $raw |
(if ($t | gdtype) | not then "\($t)\ttype is not in GuardDuty's form" else empty end),
(if any($types[]; . == $t) | not then "\($t)\ttype unknown to vigil findings types" else empty end),
(.service.additionalInfo.vigil.eventIds // [] |
   if length == 0 then "\($t)\tno evidence ids"
   else map(select($rec[.] == null)) | if length > 0 then "\($t)\tevidence ids not in the logs: \(.[0:3] | join(" "))" else empty end end),
(remote as $r |
   if $r == null or $r == "" then "\($t)\tno remote address or domain (\($x.service.action.actionType))"
   elif any($raw[]; contains($r | rtrimstr("."))) | not then "\($t)\tremote \($r) in none of its evidence records"
   else empty end),
(resource as $ids |
   if ($ids | length) == 0 then "\($t)\tno affected resource (\($x.resource.resourceType))"
   elif [$ids[] as $i | $raw[] | contains($i)] | any | not then "\($t)\tresource \($ids[0]) in none of its evidence records"
   else empty end)
