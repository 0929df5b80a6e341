#!/bin/sh
# Stateful detection end to end, on corpora the generator writes:
#  1. nine days of benign traffic (baselines learned, windows crossed) raise
#     no Medium or High finding;
#  2. a day with the generator's attacks raises the stateful findings they
#     stand for (SSH brute force, instance credentials used outside AWS);
#  3. every stateful rule's test scenarios (tests/rules) give byte-identical
#     findings on 1 or 2 threads and with the files listed backwards.
set -u
VIGIL=$1
GEN=$2
SRC=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$GEN" --out "$tmp/benign" --ct-records 100000 --flow-lines 450000 --dns-lines 90000 \
    --flow-per-file 15000 --dns-per-file 10000 --days 9 --jobs 2 >/dev/null || { echo "not ok - generator"; exit 1; }
"$VIGIL" detect --output jsonl "$tmp/benign/AWSLogs" >"$tmp/benign.jsonl" 2>"$tmp/benign.err"
loud=$(grep -c '"severity":[4-9]' "$tmp/benign.jsonl")
if [ "$loud" -ne 0 ]; then
    echo "not ok - benign corpus: $loud Medium/High findings"; grep '"severity":[4-9]' "$tmp/benign.jsonl" | head -3; fail=1
else
    echo "ok - 9 days of benign traffic: no Medium or High finding"
fi

"$GEN" --out "$tmp/attack" --ct-records 20000 --flow-lines 100000 --dns-lines 20000 \
    --flow-per-file 20000 --dns-per-file 10000 --with-attacks --jobs 2 >/dev/null || { echo "not ok - generator"; exit 1; }
"$VIGIL" detect --output jsonl "$tmp/attack/AWSLogs" >"$tmp/attack.jsonl" 2>/dev/null
for t in 'UnauthorizedAccess:EC2/SSHBruteForce' 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS'; do
    if grep -q "\"type\":\"$t\"" "$tmp/attack.jsonl"; then
        echo "ok - attack corpus raises $t"
    else
        echo "not ok - attack corpus lacks $t"; fail=1
    fi
done
grep '"type":"UnauthorizedAccess:EC2/SSHBruteForce"' "$tmp/attack.jsonl" | grep -q '"ipAddressV4":"203.0.113.66"' ||
    { echo "not ok - SSHBruteForce without the attacker's address"; fail=1; }

files=$(find "$SRC/tests/rules" -type f | sort)
rev=$(echo "$files" | sort -r)
# shellcheck disable=SC2086
"$VIGIL" detect --output json --threads 1 $files >"$tmp/a" 2>/dev/null
# shellcheck disable=SC2086
"$VIGIL" detect --output json --threads 2 $rev >"$tmp/b" 2>/dev/null
n=$(grep -c '"schemaVersion"' "$tmp/a")
if cmp -s "$tmp/a" "$tmp/b" && [ "$n" -gt 50 ]; then
    echo "ok - $n findings from the rule scenarios identical on 1 and 2 threads, files reversed"
else
    echo "not ok - rule scenarios: 1 thread vs 2 threads reversed differ ($n findings)"; diff "$tmp/a" "$tmp/b" | head; fail=1
fi
exit $fail
