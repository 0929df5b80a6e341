#!/bin/sh
# End-to-end cases: each tests/e2e/<case>/ holds
#   cmd           the vigil arguments, one shell-quoted line ($SHARED expands to ../shared)
#   expected.out  expected stdout          (optional)
#   expected.err  expected stderr          (optional)
#   expected.rc   expected exit status     (default 0)
#   needs-shared  present when the case reads ../shared/datasets (skipped without it)
#   setup         optional shell script run first (sh setup), e.g. to fill a store;
#                 it sees $VIGIL and $SHARED, and $WORK, a fresh empty directory
#                 for the case that cmd can use too ($WORK/store.db)
# The case runs with its own folder as the working directory, with TZ=UTC so
# local times print the same everywhere.
# UPDATE_GOLDEN=1 rewrites the expected files from the actual output.
set -u
VIGIL=$1
ROOT=$2
SHARED=${VIGIL_SHARED:-$ROOT/../shared}
TZ=UTC
export SHARED VIGIL TZ
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$ROOT"/tests/e2e/*/; do
    [ -f "$dir/cmd" ] || continue
    name=$(basename "$dir")
    if [ -f "$dir/needs-shared" ] && [ ! -d "$SHARED/datasets" ]; then
        echo "# skip $name: $SHARED/datasets not found"
        skip=$((skip + 1))
        continue
    fi
    WORK="$tmp/work-$name"
    mkdir -p "$WORK"
    export WORK
    if [ -f "$dir/setup" ] && ! (cd "$dir" && sh ./setup) >"$tmp/setup" 2>&1 </dev/null; then
        echo "# $name: setup failed"; sed 's/^/#   /' "$tmp/setup" | head -20
        fail=$((fail + 1)); echo "FAIL $name"
        continue
    fi
    want_rc=0
    [ -f "$dir/expected.rc" ] && want_rc=$(cat "$dir/expected.rc")
    (cd "$dir" && eval "\"$VIGIL\" $(cat cmd)" >"$tmp/out" 2>"$tmp/err" </dev/null)
    rc=$?
    if [ -n "${UPDATE_GOLDEN:-}" ]; then
        cp "$tmp/out" "$dir/expected.out"
        [ -s "$tmp/err" ] && cp "$tmp/err" "$dir/expected.err" || rm -f "$dir/expected.err"
        echo "$rc" >"$dir/expected.rc"
        want_rc=$rc
    fi
    ok=1
    [ "$rc" = "$want_rc" ] || { echo "# $name: exit status $rc, expected $want_rc"; ok=0; }
    if [ -f "$dir/expected.out" ] && ! diff -u "$dir/expected.out" "$tmp/out" >"$tmp/diff"; then
        echo "# $name: stdout differs"; sed 's/^/#   /' "$tmp/diff" | head -40; ok=0
    fi
    if [ -f "$dir/expected.err" ] && ! diff -u "$dir/expected.err" "$tmp/err" >"$tmp/diff"; then
        echo "# $name: stderr differs"; sed 's/^/#   /' "$tmp/diff" | head -40; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
done
echo "# e2e: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
