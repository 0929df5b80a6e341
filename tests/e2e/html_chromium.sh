#!/bin/sh
# The HTML report in a real browser: headless Chromium loads the page with the
# network off, runs its script (which marks the body data-ready with the row
# count) and renders the SVG chart; a screenshot must come out. Skips (exit 77)
# when chromium is not installed (scripts/install-deps.sh installs it).
set -u
VIGIL=$1
ROOT=$2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "# skip: chromium not installed"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VIGIL" ingest --db "$tmp/store.db" "$ROOT/examples/AWSLogs" "$ROOT/examples/weblogs" >/dev/null 2>&1 || { echo "ingest failed"; exit 1; }
"$VIGIL" investigate credentials --db "$tmp/store.db" --access-key AKIAEXAMPLEBUILDBOT1 \
    --output html >"$tmp/report.html" || { echo "report failed"; exit 1; }
run_chromium() {
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$tmp/profile" \
        "$@" "file://$tmp/report.html" 2>"$tmp/chromium.err"
}
run_chromium --dump-dom >"$tmp/dom.html"
fail=0
# The script ran: it counted the data rows (6 events + tables) into data-ready.
ready=$(sed -n 's/.*<body data-ready="\([0-9]*\)".*/\1/p' "$tmp/dom.html")
[ -n "$ready" ] && [ "$ready" -gt 6 ] || { echo "script did not run (data-ready='$ready')"; fail=1; }
# The chart is there, one dot per event.
dots=$(grep -o '<circle' "$tmp/dom.html" | wc -l)
[ "$dots" -eq 6 ] || { echo "chart: $dots dots, expected 6"; fail=1; }
grep -q 'aws iam update-access-key --user-name build-bot' "$tmp/dom.html" || { echo "containment missing"; fail=1; }
# No request left the page (self-contained).
if grep -E 'net::ERR|Refused to load' "$tmp/chromium.err" >/dev/null; then
    echo "page tried to load something:"; grep -E 'net::ERR|Refused to load' "$tmp/chromium.err"; fail=1
fi
# The bucket report: CloudTrail and S3 access log rows, one dot per event and
# per access log request (1 + 9).
"$VIGIL" investigate bucket customer-exports --db "$tmp/store.db" --output html \
    >"$tmp/bucket.html" || { echo "bucket report failed"; exit 1; }
cp "$tmp/report.html" "$tmp/creds.html"
cp "$tmp/bucket.html" "$tmp/report.html"
run_chromium --dump-dom >"$tmp/bucket-dom.html"
bdots=$(grep -o '<circle' "$tmp/bucket-dom.html" | wc -l)
[ "$bdots" -eq 10 ] || { echo "bucket chart: $bdots dots, expected 10"; fail=1; }
grep -q '<td>S3 access log</td><td>anonymous</td>' "$tmp/bucket-dom.html" ||
    { echo "bucket report: no anonymous access log row"; fail=1; }
cp "$tmp/creds.html" "$tmp/report.html"
run_chromium --screenshot="$tmp/shot.png" --window-size=1200,900 >/dev/null
[ -s "$tmp/shot.png" ] || { echo "no screenshot"; fail=1; }
[ -n "${KEEP_SCREENSHOT:-}" ] && cp "$tmp/shot.png" "$KEEP_SCREENSHOT"
[ $fail = 0 ] && echo "html report: ok (data-ready=$ready, $dots dots)"
exit $fail
