#!/bin/sh
# Checks bench/gen_corpus.c and bench/inflate_probe.c on a tiny corpus:
#  - the S3 key layout of every file and that files.tsv lists exactly them;
#  - every file is valid gzip; CloudTrail is {"Records":[...]} of records with the
#    fields AWS always writes; flow logs have the v2 header and 14 fields per line;
#    Resolver lines are JSON objects with the real field set;
#  - MANIFEST totals agree with files.tsv and with what jq and the probe count;
#  - the benign corpus holds none of the sensitive calls, and --with-attacks adds them;
#  - the output is the same for any --jobs, and changes with the seed.
# usage: bench_gen.sh <vigil-gen-corpus> <vigil-inflate-probe>
set -u
GEN=$1
PROBE=$2
for tool in jq gzip awk cmp; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "skip: $tool not installed"
        exit 77
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

SIZES="--ct-records 2400 --records-per-file 400 --flow-lines 3000 --flow-per-file 1000 --dns-lines 1500 --dns-per-file 500 --accounts 2 --regions 2 --seed 7"
"$GEN" --out "$tmp/a" $SIZES >"$tmp/a.out" || fail "generator failed"
"$GEN" --out "$tmp/b" $SIZES --jobs 3 >/dev/null || fail "generator (--jobs 3) failed"
"$GEN" --out "$tmp/c" $SIZES --with-attacks >/dev/null || fail "generator (--with-attacks) failed"
"$GEN" --out "$tmp/d" $(echo "$SIZES" | sed 's/--seed 7/--seed 8/') >/dev/null || fail "generator (seed 8) failed"
"$GEN" --out "$tmp/e" --ct-records 10 --bogus 1 >/dev/null 2>&1 && fail "unknown option accepted"

cmp -s "$tmp/a.out" "$tmp/a/MANIFEST" || fail "stdout is not the MANIFEST"
diff -r "$tmp/a" "$tmp/b" >/dev/null || fail "output depends on --jobs"
diff -r "$tmp/a/AWSLogs" "$tmp/d/AWSLogs" >/dev/null 2>&1 && fail "output does not depend on the seed"

m() { sed -n "s/^$2=//p" "$1/MANIFEST"; }

check_corpus() {
    dir=$1
    [ "$(m "$dir" cloudtrail_records)" -gt 0 ] || fail "$dir: no CloudTrail records"
    # files.tsv lists exactly the .gz files on disk
    (cd "$dir" && find AWSLogs -type f | sort) >"$tmp/disk"
    awk -F'\t' '!/^#/ {print $6}' "$dir/files.tsv" | sort >"$tmp/listed"
    cmp -s "$tmp/disk" "$tmp/listed" || fail "$dir: files.tsv does not match the files on disk"
    # AWSLogs/<acct>/<kind>/<region or vpc>/YYYY/MM/DD/<acct>_<kind>_<region or vpc>[_<fl-id>]_<stamp>_<tail>
    bad=$(awk -F/ '
        {
            ok = NF == 8 && $2 ~ /^[0-9]+$/ && length($2) == 12 && $5 ~ /^20[0-9][0-9]$/ && $6 ~ /^[01][0-9]$/ && $7 ~ /^[0-3][0-9]$/
            n = split($8, p, "_")
            ok = ok && p[1] == $2 && p[2] == $3 && p[3] == $4
            ok = ok && p[n - 1] ~ /^20[0-9][0-9][01][0-9][0-3][0-9]T[0-2][0-9][0-5][0-9]Z$/
            tail = p[n]
            if ($3 == "CloudTrail")
                ok = ok && n == 5 && $4 ~ /^[a-z][a-z]-[a-z]+-[0-9]$/ && tail ~ /^[A-Za-z0-9]+\.json\.gz$/ && length(tail) == 24
            else if ($3 == "vpcflowlogs")
                ok = ok && n == 6 && p[4] ~ /^fl-[0-9a-f]+$/ && length(p[4]) == 20 && tail ~ /^[0-9a-f]+\.log\.gz$/ && length(tail) == 15
            else if ($3 == "vpcdnsquerylogs")
                ok = ok && n == 5 && $4 ~ /^vpc-[0-9a-f]+$/ && length($4) == 21 && tail ~ /^[0-9a-f]+\.log\.gz$/ && length(tail) == 15
            else
                ok = 0
            if (!ok) print
        }' "$tmp/disk")
    [ -z "$bad" ] || fail "$dir: paths off the S3 layout: $bad"
    # the date folders agree with the time stamp in the name
    bad=$(sed -nE 's#.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/[^/]*_([0-9]{8})T[0-9]{4}Z_[^/]*$#\1\2\3 \4#p' "$tmp/disk" | awk '$1 != $2')
    [ -z "$bad" ] || fail "$dir: date folder differs from the file's time stamp"

    awk -F'\t' '!/^#/' "$dir/files.tsv" | while IFS="$(printf '\t')" read -r kind recs raw gz logins path; do
        f="$dir/$path"
        gzip -t "$f" 2>/dev/null || { echo "FAIL: $path: not valid gzip"; continue; }
        [ "$(wc -c <"$f")" -eq "$gz" ] || echo "FAIL: $path: gz size differs from files.tsv"
        [ "$(gzip -dc "$f" | wc -c)" -eq "$raw" ] || echo "FAIL: $path: raw size differs from files.tsv"
        acct=$(echo "$path" | cut -d/ -f2)
        sub=$(echo "$path" | cut -d/ -f4)
        case $kind in
        cloudtrail)
            got=$(gzip -dc "$f" | jq --arg acct "$acct" --arg region "$sub" -r '
                .Records as $r
                | ($r | map(select(
                    (.eventVersion|type) != "string" or (.eventTime|test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")|not)
                    or (.eventSource|endswith(".amazonaws.com")|not) or (.eventName|type) != "string"
                    or (.userIdentity.type|IN("AssumedRole","IAMUser","AWSService","Root")|not)
                    or (.sourceIPAddress|type) != "string" or (.userAgent|type) != "string"
                    or (.requestID|type) != "string" or (.eventID|test("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")|not)
                    or .recipientAccountId != $acct or .awsRegion != $region
                    or (.eventCategory|IN("Management","Data")|not) or (has("requestParameters")|not)
                    or (has("responseElements")|not))) | length) as $bad
                | "\($r|length) \($bad) \($r|map(select(.eventName=="ConsoleLogin"))|length)"') ||
                { echo "FAIL: $path: not JSON"; continue; }
            set -- $got
            [ "$1" = "$recs" ] || echo "FAIL: $path: $1 records, files.tsv says $recs"
            [ "$2" = 0 ] || echo "FAIL: $path: $2 records miss fields or have the wrong account/region"
            [ "$3" = "$logins" ] || echo "FAIL: $path: $3 ConsoleLogin, files.tsv says $logins"
            ;;
        vpcflow)
            gzip -dc "$f" | awk -v acct="$acct" -v recs="$recs" -v p="$path" '
                NR == 1 { if ($0 != "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status") print "FAIL: " p ": bad header"; next }
                NF != 14 || $1 != 2 || $2 != acct || $3 !~ /^eni-[0-9a-f]+$/ || length($3) != 21 || $11 !~ /^[0-9]+$/ || $12 < $11 { print "FAIL: " p ": bad line " NR ": " $0; exit }
                $14 == "OK" && ($13 !~ /^(ACCEPT|REJECT)$/ || $8 !~ /^(1|6|17)$/) { print "FAIL: " p ": bad OK line " NR; exit }
                $14 != "OK" && ($14 !~ /^(NODATA|SKIPDATA)$/ || $4 != "-") { print "FAIL: " p ": bad status line " NR; exit }
                END { if (NR - 1 != recs) print "FAIL: " p ": " NR - 1 " lines, files.tsv says " recs }'
            ;;
        dns)
            got=$(gzip -dc "$f" | jq -r --arg acct "$acct" --arg vpc "$sub" '
                select(.version != "1.100000" or .account_id != $acct or .vpc_id != $vpc or (.region|type) != "string"
                    or (.query_timestamp|test("^[0-9-]{10}T[0-9:]{8}Z$")|not) or (.query_name|endswith(".")|not)
                    or (.query_type|type) != "string" or .query_class != "IN" or (.rcode|IN("NOERROR","NXDOMAIN")|not)
                    or (.answers|type) != "array" or (.answers|all(has("Rdata") and has("Type") and .Class == "IN")|not)
                    or (.srcaddr|type) != "string" or (.srcport|test("^[0-9]+$")|not) or (.transport|IN("UDP","TCP")|not)
                    or (.srcids.instance|test("^i-[0-9a-f]{17}$")|not)) | "bad"' | wc -l) ||
                { echo "FAIL: $path: not JSON lines"; continue; }
            [ "$got" = 0 ] || echo "FAIL: $path: $got lines miss fields"
            [ "$(gzip -dc "$f" | wc -l)" -eq "$recs" ] || echo "FAIL: $path: line count differs from files.tsv"
            ;;
        *) echo "FAIL: $path: unknown kind $kind" ;;
        esac
    done >"$tmp/fails"
    if [ -s "$tmp/fails" ]; then
        cat "$tmp/fails"
        fails=$((fails + $(wc -l <"$tmp/fails")))
    fi

    for kind in cloudtrail vpcflow dns; do
        for col in 2:records 3:raw_bytes 4:gz_bytes; do
            c=${col%%:*}
            k=${col#*:}
            sum=$(awk -F'\t' -v k="$kind" -v c="$c" '$1 == k {s += $c} END {print s + 0}' "$dir/files.tsv")
            [ "$sum" = "$(m "$dir" ${kind}_$k)" ] || fail "$dir: MANIFEST ${kind}_$k differs from files.tsv ($sum)"
        done
    done
    logins=$(awk -F'\t' '$1 == "cloudtrail" {s += $5} END {print s + 0}' "$dir/files.tsv")
    [ "$logins" = "$(m "$dir" cloudtrail_console_logins)" ] || fail "$dir: console login total differs"

    # The probe inflates everything and counts the same records and bytes.
    total=$(($(m "$dir" cloudtrail_records) + $(m "$dir" vpcflow_records) + $(m "$dir" dns_records)))
    raw=$(($(m "$dir" cloudtrail_raw_bytes) + $(m "$dir" vpcflow_raw_bytes) + $(m "$dir" dns_raw_bytes)))
    out=$("$PROBE" "$dir/AWSLogs") || fail "$dir: probe failed"
    echo "$out" | grep -q "records=$total " || fail "$dir: probe counted other than $total records: $out"
    echo "$out" | grep -q "raw_bytes=$raw " || fail "$dir: probe inflated other than $raw bytes: $out"
    out=$("$PROBE" --records 5 "$dir/AWSLogs") || fail "$dir: probe --records failed"
    echo "$out" | grep -q "records=5 count_source=caller" || fail "$dir: probe ignored --records: $out"
}

check_corpus "$tmp/a"
check_corpus "$tmp/c"

# Identity mix and error rate stay near perf-limits.md §1 (loose bounds: a small corpus).
n=$(m "$tmp/a" cloudtrail_records)
pct() { echo $(( $(m "$tmp/a" "$1") * 1000 / n )); }
[ "$(pct cloudtrail_assumed_role)" -ge 550 ] && [ "$(pct cloudtrail_assumed_role)" -le 750 ] || fail "AssumedRole share off: $(pct cloudtrail_assumed_role)/1000"
[ "$(pct cloudtrail_aws_service)" -ge 80 ] && [ "$(pct cloudtrail_aws_service)" -le 200 ] || fail "AWSService share off"
[ "$(pct cloudtrail_errors)" -ge 30 ] && [ "$(pct cloudtrail_errors)" -le 100 ] || fail "error share off: $(pct cloudtrail_errors)/1000"
mean=$(( $(m "$tmp/a" cloudtrail_raw_bytes) / n ))
[ "$mean" -ge 1100 ] && [ "$mean" -le 2000 ] || fail "mean CloudTrail record $mean bytes, expected ~1.4-1.6 KB"

# Benign means benign; --with-attacks adds the handful.
sensitive='StopLogging|DeleteTrail|UpdateTrail|PutBucketPolicy|PutBucketAcl|AuthorizeSecurityGroupIngress|CreateAccessKey|CreateUser|AttachUserPolicy|PutUserPolicy|ModifySnapshotAttribute|DeleteFlowLogs|CreateLoginProfile|UpdateLoginProfile|DeleteDetector|DisableAlarmActions|PutEventSelectors'
scan() {
    for f in $(find "$1/AWSLogs" -path '*CloudTrail*' -name '*.json.gz'); do gzip -dc "$f"; done | jq -r --arg re "^($sensitive)\$" '
        .Records[]
        | (if (.eventName|test($re)) then "sensitive \(.eventName)" else empty end),
          (if .eventName == "ConsoleLogin" and .additionalEventData.MFAUsed != "Yes" then "login-without-mfa" else empty end),
          (if (.userAgent|test("kali|parrot|pentoo"; "i")) then "pentest-ua" else empty end),
          (if (.sourceIPAddress|startswith("203.0.113.")) then "threat-ip" else empty end),
          (if .userIdentity.sessionContext.ec2RoleDelivery != null and (.sourceIPAddress|startswith("10.")|not)
           then "instance-creds-outside" else empty end)' | sort | uniq -c
}
benign=$(scan "$tmp/a")
[ -z "$benign" ] || fail "benign corpus holds sensitive activity: $benign"
attacks=$(scan "$tmp/c")
for want in "sensitive StopLogging" "sensitive PutBucketPolicy" "sensitive AuthorizeSecurityGroupIngress" \
    "sensitive CreateAccessKey" login-without-mfa pentest-ua threat-ip instance-creds-outside; do
    echo "$attacks" | grep -q "$want" || fail "--with-attacks lacks: $want"
done
[ "$(m "$tmp/c" cloudtrail_attacks)" -gt 0 ] || fail "MANIFEST counts no attacks"
dns_rebind() { for f in $(find "$1/AWSLogs" -path '*vpcdnsquerylogs*' -name '*.gz'); do gzip -dc "$f"; done | grep -c '"169.254.169.254"'; }
[ "$(dns_rebind "$tmp/a")" = 0 ] || fail "benign DNS answers with the metadata address"
[ "$(dns_rebind "$tmp/c")" -gt 0 ] || fail "--with-attacks lacks the DNS rebinding answer"

if [ "$fails" -ne 0 ]; then
    echo "bench_gen: $fails failures"
    exit 1
fi
echo "bench_gen: all checks passed"
