#!/bin/sh
# Findings never depend on the thread count or on the order files are given:
# the same logs through 1 and 2 threads, files listed forwards and backwards,
# must give byte-identical output, and a second run must give the same ids.
set -u
VIGIL=$1
EX=$2/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=$(find "$EX/AWSLogs" -type f | sort)
rev=$(echo "$files" | sort -r)
lists="--threat-list $EX/threats.txt --tor-list $EX/tor.txt"
# shellcheck disable=SC2086
"$VIGIL" detect --output json --threads 1 $lists $files >"$tmp/a" || [ $? -eq 1 ]
"$VIGIL" detect --output json --threads 2 $lists $rev >"$tmp/b" || [ $? -eq 1 ]
"$VIGIL" detect --output json --threads 2 $lists "$EX/AWSLogs" >"$tmp/c" || [ $? -eq 1 ]
fail=0
cmp -s "$tmp/a" "$tmp/b" || { echo "not ok - 1 thread vs 2 threads, reversed order differ"; diff "$tmp/a" "$tmp/b" | head; fail=1; }
cmp -s "$tmp/a" "$tmp/c" || { echo "not ok - file list vs directory walk differ"; fail=1; }
n=$(grep -c '"schemaVersion"' "$tmp/a")
[ "$n" -gt 5 ] || { echo "not ok - expected findings, got $n"; fail=1; }
[ $fail -eq 0 ] && echo "ok - $n findings identical across threads and file orders"
exit $fail
