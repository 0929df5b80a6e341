#!/bin/sh
# Archives are read in slices by the delivery time in their file names, the
# stateful rules running behind a watermark (TAP). The findings do not depend
# on the order the files are given in (forwards, backwards, shuffled across
# slice boundaries) or on the thread count, and are those of the same archive
# read as one chunk (a file without a time in its name forces that); a record
# far behind its file's delivery time is late, and counts within --lateness.
set -u
VIGIL=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

"$VIGIL" simulate compromised-credential --out "$tmp/s" >/dev/null 2>&1 || {
    echo "Bail out! vigil simulate failed"; exit 1; }
cd "$tmp/s" || exit 1
find AWSLogs -type f | sort >"$tmp/fwd"
sort -r "$tmp/fwd" >"$tmp/rev"
awk 'BEGIN { srand(7) } { print rand() "\t" $0 }' "$tmp/fwd" | sort | cut -f2 >"$tmp/shuf"
args="--output json --stats --threat-list lists/threats.txt --geoip-db geo/city.mmdb --asn-db geo/asn.mmdb"
# detect NAME ARGS...: findings in $tmp/NAME, stderr in $tmp/NAME.err
detect() {
    name=$1
    shift
    # shellcheck disable=SC2086
    "$VIGIL" detect $args "$@" >"$tmp/$name" 2>"$tmp/$name.err" || [ $? -eq 1 ]
}
# shellcheck disable=SC2046
detect fwd1 --threads 1 $(cat "$tmp/fwd")
# shellcheck disable=SC2046
detect rev2 --threads 2 $(cat "$tmp/rev")
# shellcheck disable=SC2046
detect shuf2 --threads 2 $(cat "$tmp/shuf")
# shellcheck disable=SC2046
detect shuf1 --threads 1 $(cat "$tmp/shuf")
: >"$tmp/notime.json"
# shellcheck disable=SC2046
detect one --threads 2 $(cat "$tmp/shuf") "$tmp/notime.json"

files=$(wc -l <"$tmp/fwd")
findings=$(grep -c '"schemaVersion"' "$tmp/fwd1")
slices=$(sed -n 's/.*archive read in \([0-9]*\) slices.*/\1/p' "$tmp/fwd1.err")
if [ "${slices:-0}" -gt 100 ] && [ "$findings" -gt 5 ]; then
    ok "$files files read in $slices slices, $findings findings"
else
    notok "expected > 100 slices and > 5 findings, got ${slices:-none} and $findings"
    cat "$tmp/fwd1.err"
fi
grep -q ': 0 candidates late' "$tmp/fwd1.err" && ok "nothing late" || notok "late candidates: $(grep late "$tmp/fwd1.err")"
for v in rev2 shuf2 shuf1; do
    if cmp -s "$tmp/fwd1" "$tmp/$v"; then
        ok "$v: the same findings"
    else
        notok "$v: findings differ"
        diff "$tmp/fwd1" "$tmp/$v" | head -20
    fi
done
if grep -q 'archive read as one chunk' "$tmp/one.err" && cmp -s "$tmp/fwd1" "$tmp/one"; then
    ok "one chunk (a file without a time): the same findings"
else
    notok "one chunk: $(grep -c . "$tmp/one") lines, $(grep 'archive read' "$tmp/one.err")"
    diff "$tmp/fwd1" "$tmp/one" | head -20
fi

# A flow log delivered two days after the rest with a record of the first
# day: behind the watermark the earlier slices passed.
dir=AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/23
mkdir -p "$dir"
late="$dir/111122223333_vpcflowlogs_us-east-1_fl-0late0000000000_20261123T1200Z_0badcafe.log"
t=$(date -u -d 2026-11-13T06:00:00Z +%s)
{
    echo "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
    i=0
    while [ $i -lt 30 ]; do
        echo "2 111122223333 eni-0late00000000000 203.0.113.77 10.0.1.10 $((40000 + i)) 22 6 3 180 $((t + i)) $((t + i + 1)) REJECT OK"
        i=$((i + 1))
    done
} >"$late"
# shellcheck disable=SC2046
detect late --threads 2 $(cat "$tmp/shuf") "$late"
nlate=$(sed -n 's/.*: \([0-9]*\) candidates late.*/\1/p' "$tmp/late.err")
[ "${nlate:-0}" -gt 0 ] && ok "$nlate late candidates reported" || notok "no late candidates: $(grep 'archive read' "$tmp/late.err")"
# shellcheck disable=SC2046
detect inlate --threads 2 --lateness 30d $(cat "$tmp/shuf") "$late"
grep -q ': 0 candidates late' "$tmp/inlate.err" && ok "within --lateness 30d: none late" || notok "--lateness 30d: $(grep 'archive read' "$tmp/inlate.err")"

echo "1..$n"
exit $((failed > 0))
