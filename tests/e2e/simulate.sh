#!/bin/sh
# Game days (TAP): every scenario `vigil simulate --list` knows is written to a
# temporary directory and detected with the arguments its ground truth gives.
#   recall:    every expected finding is there (type, resource, remote IP or domain);
#   precision: no Medium or High finding the ground truth does not expect.
# An expected finding marked "pending" waits for a detector that is not on main:
# it is reported as a SKIP line saying so, unless `vigil findings types` shows the
# type exists now, in which case it is checked like any other.
# An expected finding marked "optional" may be raised and need not be.
# tests/e2e/simulate-gaps.txt lists known detector gaps the game days expose (a
# finding missing, or raised where it should not be): those are reported as
# TAP TODO lines, which do not fail, and the test says when one is fixed.
# Contents (when EVIDS, tests/support/evids, is given): every finding of every
# game day has a type in GuardDuty's form that vigil lists, the remote address
# or domain its action has, the affected resource, and evidence ids that are
# records of the scenario's logs, among which the remote end and the resource
# appear (tests/e2e/finding-contents.jq).
# Also: a scenario written twice is byte-identical, and misuse is refused.
set -u
VIGIL=$1
GAPS=${2:-$(dirname "$0")/simulate-gaps.txt}
EVIDS=${3:-}
CONTENTS=$(dirname "$0")/finding-contents.jq
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0 found=0 pending=0 gaps=0 fixed=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# gap SCENARIO VERDICT TYPE: the reason when the gaps file lists it.
gap() { awk -F'\t' -v s="$1" -v v="$2" -v t="$3" '$1 == s && $2 == v && $3 == t { print $4; exit }' "$GAPS" 2>/dev/null; }
todo() { n=$((n + 1)); gaps=$((gaps + 1)); echo "not ok $n - $1 # TODO known gap: $2"; echo "# GAP $1: $2"; }

detect_help=$("$VIGIL" detect --help 2>&1)
types=$("$VIGIL" findings types --output json | jq -c '[.FindingTypes[].type]') || {
    echo "Bail out! vigil findings types failed"; exit 1; }
scenarios=$("$VIGIL" simulate --list --output json | jq -r '.Scenarios[].name') || {
    echo "Bail out! vigil simulate --list failed"; exit 1; }

# Emits one tab-separated verdict per expected finding and per unexpected finding.
JQ='
def ids: [.service.additionalInfo.vigil.key, .resource.accessKeyDetails.accessKeyId,
          .resource.instanceDetails.instanceId, (.resource.s3BucketDetails // [] | .[].name)]
         | map(select(. != null));
def ips: [(.. | objects | .remoteIpDetails? // empty | (.ipAddressV4 // .ipAddressV6)),
          (.service.evidence.threatIntelligenceDetails // [] | .[].threatNames[]?)];
def dom: .service.action.dnsRequestAction.domain // "";
def about($e): .type == $e.type and ($e.key == null or any(ids[]; . == $e.key));
def matches($e): about($e)
    and (($e.remoteIp // null) == null or any(ips[]; . == $e.remoteIp))
    and (($e.domain // null) == null or dom == $e.domain or (dom | endswith("." + $e.domain)));
$g[0] as $g | $f[0].Findings as $F |
( $g.expected[] | . as $e |
  (any($types[]; . == $e.type)) as $exists |
  "\(if $e.pending and ($exists | not) then "PENDING"
     elif any($F[]; matches($e)) then (if $e.optional then "FOUND-OPTIONAL" elif $e.pending then "FOUND-PENDING" else "FOUND" end)
     elif $e.optional then "NOT-RAISED-OPTIONAL"
     elif any($F[]; about($e)) then "WRONG-DETAIL"
     else "MISSING" end)\t\($e.type)\t\($e.key // "any")\t\($e.remoteIp // $e.domain // "-")\t\($e.why)" ),
( $F[] | select(.severity >= 4) | . as $x
  | select(any($g.expected[]; . as $e | $x | about($e)) | not)
  | "UNEXPECTED\t\(.type)\t\(ids[0] // "-")\t\(.severity)\t\(.title)" )
'

for s in $scenarios; do
    dir=$tmp/$s
    if ! "$VIGIL" simulate "$s" --out "$dir" 2>"$tmp/sim.err"; then
        notok "$s: vigil simulate failed: $(cat "$tmp/sim.err")"
        continue
    fi
    # The arguments are plain words (flags and relative paths). Optional ones
    # are for detectors this build may not have: added when --help names them.
    args=$(jq -r '.detect.args | join(" ")' "$dir/ground-truth.json")
    tab=$(printf '\t')
    while IFS="$tab" read -r needs more; do
        [ -n "$needs" ] || continue
        case $detect_help in *"$needs"*) args="$args $more" ;; esac
    done <<EOF
$(jq -r '.detect.optionalArgs[]? | [.needs, (.args | join(" "))] | @tsv' "$dir/ground-truth.json")
EOF
    # shellcheck disable=SC2086
    (cd "$dir" && "$VIGIL" detect --output json $args AWSLogs >findings.json 2>detect.err)
    rc=$?
    if [ $rc != 0 ]; then
        notok "$s: vigil detect exited $rc: $(head -3 "$dir/detect.err")"
        continue
    fi
    jq -r -n --slurpfile g "$dir/ground-truth.json" --slurpfile f "$dir/findings.json" \
        --argjson types "$types" "$JQ" >"$tmp/verdicts" || { notok "$s: jq failed"; continue; }
    unexpected=0 unexpected_known=0 waiting=""
    while IFS="$(printf '\t')" read -r verdict type key detail why; do
        known=""
        case $verdict in MISSING | WRONG-DETAIL | UNEXPECTED | FOUND*) known=$(gap "$s" "$verdict" "$type") ;; esac
        case $verdict in FOUND*) known=$(gap "$s" MISSING "$type") ;; esac
        if [ -n "$known" ] && [ "${verdict#FOUND}" != "$verdict" ]; then
            ok "$s: $type ($key) found: the known gap is fixed, remove it from $(basename "$GAPS")"
            fixed=$((fixed + 1))
            found=$((found + 1))
            continue
        fi
        if [ -n "$known" ]; then
            todo "$s: $verdict $type ($key)" "$known"
            [ "$verdict" = UNEXPECTED ] && unexpected_known=$((unexpected_known + 1))
            continue
        fi
        case $verdict in
        FOUND) ok "$s: $type ($key${detail:+ $detail})"; found=$((found + 1)) ;;
        FOUND-OPTIONAL) ok "$s: $type ($key) raised (optional)" ;;
        NOT-RAISED-OPTIONAL) ok "$s: $type ($key) not raised (optional: $why)" ;;
        FOUND-PENDING)
            ok "$s: $type ($key) found; its detector exists now: drop \"pending\" in src/sim/scenarios.c"
            found=$((found + 1)) ;;
        PENDING)
            skip "$s: $type ($key)" "pending: no detector on main yet ($why)"
            waiting="$waiting${waiting:+, }$type"
            pending=$((pending + 1)) ;;
        WRONG-DETAIL) notok "$s: $type ($key) found, but not with $detail ($why)" ;;
        MISSING) notok "$s: $type ($key $detail) missing: $why" ;;
        UNEXPECTED)
            notok "$s: unexpected $type about $key, severity $detail: $why"
            unexpected=$((unexpected + 1)) ;;
        esac
    done <"$tmp/verdicts"
    [ -n "$waiting" ] && echo "# PENDING $s: $waiting (no detector on main yet; recall not checked)"
    # The scenario's GeoIP databases cover every address it uses.
    bare=$(jq '[.Findings[] | .. | objects | .remoteIpDetails? // empty | select(.country.countryCode == null)] | length' "$dir/findings.json")
    if [ "$bare" = 0 ]; then
        ok "$s: every remoteIpDetails has a country (--geoip-db, --asn-db)"
    else
        notok "$s: $bare remoteIpDetails without a country"
    fi
    if [ $unexpected = 0 ]; then
        ok "$s: precision (no unexpected Medium/High finding among $(jq '.Findings | length' "$dir/findings.json"); $unexpected_known known gaps)"
    fi
    if [ -n "$EVIDS" ]; then
        # The records the evidence names, "id<TAB>record".
        jq -r '.Findings[].service.additionalInfo.vigil.eventIds[]?' "$dir/findings.json" | sort -u >"$tmp/want"
        "$EVIDS" --raw "$dir/AWSLogs" | awk -F'\t' 'NR == FNR { w[$1] = 1; next } ($1 in w)' "$tmp/want" - >"$tmp/evidence"
        jq -r -n --rawfile ev "$tmp/evidence" --slurpfile f "$dir/findings.json" --argjson types "$types" \
            -f "$CONTENTS" >"$tmp/contents" || echo "-	jq failed" >"$tmp/contents"
        if [ -s "$tmp/contents" ]; then
            while IFS="$(printf '\t')" read -r type what; do
                notok "$s: $type: $what"
            done <"$tmp/contents"
        else
            ok "$s: contents of its $(jq '.Findings | length' "$dir/findings.json") findings (type, remote end, resource, evidence in the logs)"
        fi
    fi
done

# Stateful detection over a game day: one thread or two, the same findings.
for s in denial-of-service s3-anomalous-behavior; do
    dir=$tmp/$s
    [ -f "$dir/findings.json" ] || continue
    args=$(jq -r '.detect.args + [.detect.optionalArgs[]?.args[]] | join(" ")' "$dir/ground-truth.json")
    # shellcheck disable=SC2086
    (cd "$dir" && "$VIGIL" detect --output json --threads 1 $args AWSLogs >one.json 2>/dev/null)
    # shellcheck disable=SC2086
    (cd "$dir" && "$VIGIL" detect --output json --threads 3 $args AWSLogs >three.json 2>/dev/null)
    if cmp -s "$dir/one.json" "$dir/three.json" && [ -s "$dir/one.json" ]; then
        ok "$s: the same findings with 1 and 3 threads"
    else
        notok "$s: findings differ between 1 and 3 threads"
    fi
done

# CloudTrail Insights records (--insights-out): the api-call-rate game day's
# two anomalies as Start/End pairs in CloudTrail's trail format, the same
# bytes on 1 and 3 threads, and read back by vigil as Insights events.
dir=$tmp/api-call-rate
if [ -f "$dir/findings.json" ]; then
    args=$(jq -r '.detect.args + [.detect.optionalArgs[]?.args[]] | join(" ")' "$dir/ground-truth.json")
    # shellcheck disable=SC2086
    (cd "$dir" && "$VIGIL" detect --output json --threads 1 --insights-out ins1.jsonl $args AWSLogs >/dev/null 2>&1 &&
        "$VIGIL" detect --output json --threads 3 --insights-out ins3.jsonl $args AWSLogs >/dev/null 2>&1)
    if cmp -s "$dir/ins1.jsonl" "$dir/ins3.jsonl" && [ -s "$dir/ins1.jsonl" ]; then
        ok "api-call-rate: the same Insights records with 1 and 3 threads"
    else
        notok "api-call-rate: Insights records differ between 1 and 3 threads (or none)"
    fi
    shape=$(jq -s -r '
        def num: type == "number";
        def pairs: group_by(.sharedEventID) | map(map(.insightDetails.state) | sort) | unique;
        [ length == 4,
          pairs == [["End", "Start"]],
          all(.[]; .eventType == "AwsCloudTrailInsight" and .eventCategory == "Insight"
              and (.eventID | test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"))
              and .recipientAccountId == "111122223333" and .awsRegion == "us-east-1"
              and (.insightDetails.insightContext.statistics | (.baseline.average | num)
                   and (.insight.average | num) and .insightDuration >= 1 and .baselineDuration >= 2160)),
          any(.[]; .insightDetails | .insightType == "ApiCallRateInsight" and .eventSource == "ecr.amazonaws.com"
              and .eventName == "PutImage" and ([.insightContext.attributions[].attribute] == ["userIdentityArn", "userAgent", "errorCode"])
              and (.insightContext.attributions[0].insight[0].value | endswith(":user/ci-deploy"))),
          any(.[]; .insightDetails | .insightType == "ApiErrorRateInsight" and .eventName == "GetParameter"
              and .errorCode == "ParameterNotFound"
              and ([.insightContext.attributions[].attribute] == ["userIdentityArn", "userAgent"])),
          (map(.eventTime) == (map(.eventTime) | sort))
        ] | map(tostring) | join(" ")' "$dir/ins1.jsonl" 2>&1)
    if [ "$shape" = "true true true true true true" ]; then
        ok "api-call-rate: Insights records in CloudTrail's format (type, ids, statistics, attributions, pairs, order)"
    else
        notok "api-call-rate: Insights records: $shape"
    fi
    rm -f "$dir/ins.db"
    if "$VIGIL" ingest --db "$dir/ins.db" "$dir/ins1.jsonl" >/dev/null 2>&1 &&
        [ "$("$VIGIL" cloudtrail lookup-events --db "$dir/ins.db" --event-category insight --output json |
            jq -c '[.Events[].EventName] | sort')" = '["GetParameter","GetParameter","PutImage","PutImage"]' ]; then
        ok "api-call-rate: the Insights records read back (vigil ingest, lookup-events --event-category insight)"
    else
        notok "api-call-rate: the Insights records do not read back as Insights events"
    fi
fi

# Same scenario, same bytes.
"$VIGIL" simulate public-bucket --out "$tmp/again1" 2>/dev/null
"$VIGIL" simulate public-bucket --out "$tmp/again2" 2>/dev/null
if diff -r "$tmp/again1" "$tmp/again2" >/dev/null; then
    ok "simulate is deterministic"
else
    notok "simulate wrote different bytes for the same scenario"
fi
# Another seed moves the attack, not the background.
"$VIGIL" simulate public-bucket --seed 7 --out "$tmp/seed7" 2>/dev/null
if ! diff -r "$tmp/again1" "$tmp/seed7" >/dev/null &&
    [ "$(jq -c .expected "$tmp/again1/ground-truth.json")" = "$(jq -c .expected "$tmp/seed7/ground-truth.json")" ]; then
    ok "--seed changes the logs, not the expectations"
else
    notok "--seed did not behave"
fi
# Misuse.
if "$VIGIL" simulate public-bucket --out "$tmp/again1" 2>"$tmp/err"; then
    notok "simulate wrote into a non-empty directory"
elif grep -q "not empty" "$tmp/err"; then
    ok "simulate refuses a non-empty directory"
else
    notok "simulate into a non-empty directory: unexpected message: $(cat "$tmp/err")"
fi
if "$VIGIL" simulate no-such-scenario --out "$tmp/x" 2>"$tmp/err" || ! grep -q "unknown scenario" "$tmp/err"; then
    notok "an unknown scenario is refused"
else
    ok "an unknown scenario is refused"
fi

echo "1..$n"
echo "# simulate: $(echo "$scenarios" | wc -l) scenarios, $found expected findings found, $pending pending (no detector on main yet), $gaps known detector gaps, $fixed gaps fixed, $failed failed"
[ $failed = 0 ]
