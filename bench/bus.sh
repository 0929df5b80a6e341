#!/bin/sh
# The bus's cost: `vigil detect` with and without `--bus` (100 rules, one file
# target; bench/bus_rules.sh) over the same generated CloudTrail corpus, in one
# hyperfine run. Prints wall (median) and CPU (user+sys) per command.
#   bench/bus.sh [RECORDS]     (default 200000; the corpus is cached in bench/out/)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
n=${1:-200000}
VIGIL=${VIGIL:-$root/build/vigil}
out=$here/out/bus-$n
mkdir -p "$out"
[ -d "$out/corpus/AWSLogs" ] ||
    "$root/build/bench/vigil-gen-corpus" --out "$out/corpus" --ct-records "$n" --flow-lines 0 --dns-lines 0 --jobs 2 >/dev/null
sh "$here/bus_rules.sh" "$out/delivered.jsonl" "$out/bus.state.db" >"$out/bus100.json"
clean="rm -f $out/delivered.jsonl $out/bus.state.db $out/bus.state.db-wal $out/bus.state.db-shm"
hyperfine -w 1 -r "${BENCH_RUNS:-5}" -N --export-json "$out/hyperfine.json" -p "$clean" \
    "$VIGIL detect --output jsonl $out/corpus/AWSLogs" \
    "$VIGIL detect --output jsonl --bus $out/bus100.json $out/corpus/AWSLogs"
python3 - "$out/hyperfine.json" "$n" "$out/delivered.jsonl" <<'PY'
import json, os, statistics, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
for r in d["results"]:
    med = statistics.median(r["times"]); cpu = r["user"] + r["system"]
    name = "detect + bus (100 rules, file)" if "--bus" in r["command"] else "detect"
    print(f"{name:32} wall {med:6.3f} s ({n/med:9.0f} rec/s)   cpu {cpu:6.3f} s ({n/cpu:9.0f} rec/CPU-s)"
          f"   user {r['user']:.3f} sys {r['system']:.3f}")
p = sys.argv[3]
if os.path.exists(p):
    print(f"deliveries: {sum(1 for _ in open(p))} lines, {os.path.getsize(p)/1e6:.0f} MB written")
PY
