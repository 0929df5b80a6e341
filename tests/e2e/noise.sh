#!/bin/sh
# Enrichment and noise control through the CLI (TAP): vigil detect with
# --geoip-db/--asn-db (databases written by mkmmdb: nothing is downloaded),
# --suppress (GuardDuty filters, JSON and YAML) and --show-archived, over the
# sample logs in examples/.
set -u
VIGIL=$1
MKMMDB=$2
ROOT=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # description, then a command that must succeed
    d=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d"; fi
}

LOGS="$ROOT/examples/AWSLogs"
LISTS="--threat-list $ROOT/examples/threats.txt --tor-list $ROOT/examples/tor.txt"

# IPv4 and IPv6 in separate files, as ip-location-db ships them; ASN apart.
echo '203.0.113.0/24 {"country_code":"NL","city":"Amsterdam","latitude":52.374,"longitude":4.8897}' |
    "$MKMMDB" "$tmp/city-ipv4.mmdb" dbip-city-ipv4
echo '2001:db8::/32 {"country_code":"JP","city":"Tokyo","latitude":35.6895,"longitude":139.6917}' |
    "$MKMMDB" "$tmp/city-ipv6.mmdb" dbip-city-ipv6
echo '203.0.113.0/24 {"autonomous_system_number":64502,"autonomous_system_organization":"Example VPS B.V."}' |
    "$MKMMDB" "$tmp/asn.mmdb" GeoLite2-ASN

# shellcheck disable=SC2086
"$VIGIL" detect --output json $LISTS "$LOGS" >"$tmp/plain.json" 2>/dev/null
all=$(jq '.Findings | length' "$tmp/plain.json")

# shellcheck disable=SC2086
"$VIGIL" detect --output json $LISTS --geoip-db "$tmp/city-ipv4.mmdb" --asn-db "$tmp/asn.mmdb" \
    --geoip-db "$tmp/city-ipv6.mmdb" "$LOGS" >"$tmp/geo.json" 2>"$tmp/err"
check "enrichment: exit 0" test $? = 0
check "enrichment: same findings" test "$(jq '.Findings | length' "$tmp/geo.json")" = "$all"
check "enrichment: country, city, location and organization of 203.0.113.66" \
    test "$(jq -c '[.Findings[] | .. | objects | .remoteIpDetails? // empty | select(.ipAddressV4 == "203.0.113.66")][0] | [.country.countryCode, .country.countryName, .city.cityName, .geoLocation.lat, .organization.asn, .organization.asnOrg]' "$tmp/geo.json")" \
    = '["NL","Netherlands","Amsterdam",52.374,"64502","Example VPS B.V."]'
check "enrichment: nothing else changes" \
    test "$(jq -S 'del(.Findings[] | .. | objects | .remoteIpDetails? // empty | .city, .country, .geoLocation, .organization)' "$tmp/geo.json" | md5sum)" \
    = "$(jq -S . "$tmp/plain.json" | md5sum)"

# A database that is not one.
echo "not a database" >"$tmp/junk.mmdb"
# shellcheck disable=SC2086
"$VIGIL" detect --output json --geoip-db "$tmp/junk.mmdb" "$LOGS" >/dev/null 2>"$tmp/err"
rc=$?
check "a bad database is a usage error (exit 1)" test $rc = 1
check "... named in the message" grep -q "junk.mmdb.*MaxMind" "$tmp/err"

# Suppression: GuardDuty's CreateFilter input, JSON.
cat >"$tmp/suppress.json" <<'EOF'
{
  "Name": "lab-scanner",
  "Action": "ARCHIVE",
  "Description": "The red team's Kali box",
  "FindingCriteria": {
    "Criterion": {
      "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4": {"Eq": ["203.0.113.66"]},
      "severity": {"Lt": 7}
    }
  }
}
EOF
# shellcheck disable=SC2086
"$VIGIL" detect --output json $LISTS --suppress "$tmp/suppress.json" "$LOGS" >"$tmp/sup.json" 2>/dev/null
want=$(jq '[.Findings[] | select(.service.action.awsApiCallAction.remoteIpDetails.ipAddressV4 == "203.0.113.66" and .severity < 7)] | length' "$tmp/plain.json")
check "suppression: some findings match the rule" test "$want" -gt 0
check "suppression: matching findings are hidden" test "$(jq '.Findings | length' "$tmp/sup.json")" = $((all - want))
check "suppression: none of the shown ones match" \
    test "$(jq '[.Findings[] | select(.service.action.awsApiCallAction.remoteIpDetails.ipAddressV4 == "203.0.113.66" and .severity < 7)] | length' "$tmp/sup.json")" = 0
# shellcheck disable=SC2086
"$VIGIL" detect --output json $LISTS --suppress "$tmp/suppress.json" --show-archived "$LOGS" >"$tmp/arch.json" 2>/dev/null
check "--show-archived: all findings" test "$(jq '.Findings | length' "$tmp/arch.json")" = "$all"
check "--show-archived: the suppressed ones say archived and by what" \
    test "$(jq '[.Findings[] | select(.service.archived and .service.additionalInfo.vigil.archivedBy == "lab-scanner")] | length' "$tmp/arch.json")" = "$want"

# The same rules in YAML, plus a saved filter (NOOP) that archives nothing.
cat >"$tmp/suppress.yaml" <<'EOF'
# GuardDuty suppression rules
Name: lab-scanner
Action: ARCHIVE
FindingCriteria:
  Criterion:
    service.action.awsApiCallAction.remoteIpDetails.ipAddressV4:
      Eq: [203.0.113.66]
    severity:
      LessThan: 7
---
Name: everything-high
Action: NOOP
FindingCriteria:
  Criterion:
    severity: {GreaterThanOrEqual: 7}
EOF
# shellcheck disable=SC2086
"$VIGIL" detect --output json $LISTS --suppress "$tmp/suppress.yaml" "$LOGS" >"$tmp/sup2.json" 2>"$tmp/err"
check "YAML rules give the same result" test "$(jq -c '[.Findings[].id]' "$tmp/sup2.json")" = "$(jq -c '[.Findings[].id]' "$tmp/sup.json")"
check "a NOOP filter is noted, not applied" grep -q "NOOP" "$tmp/err"

# A broken rule file stops before reading any log.
echo '{"Criterion": {"severity": {"Gtx": 4}}}' >"$tmp/bad.json"
"$VIGIL" detect --output json --suppress "$tmp/bad.json" "$LOGS" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "a bad suppression file: exit 1" test $rc = 1
check "... with the file and the problem" grep -q 'bad.json.*unknown operator "Gtx"' "$tmp/err"
check "... and no output" test ! -s "$tmp/out"

# Sample findings go through the same rules: archive every sample below Medium.
"$VIGIL" findings sample --output json >"$tmp/samples.json"
check "samples: one per supported type" \
    test "$(jq '.Findings | length' "$tmp/samples.json")" = "$("$VIGIL" findings types --output json | jq '.FindingTypes | length')"
check "samples: all marked sample and [SAMPLE]" \
    test "$(jq '[.Findings[] | select(.service.additionalInfo.sample == true and (.title | startswith("[SAMPLE] ")))] | length' "$tmp/samples.json")" \
    = "$(jq '.Findings | length' "$tmp/samples.json")"

echo "1..$n"
[ $failed = 0 ]
