#!/usr/bin/env bash
# A/B two or more kite-bench binaries on one model, round robin with a rotating start so
# that drift in machine load falls on every binary alike. Prints one line per run
# ("round binary prefill_tok_s decode_tok_s") and, at the end, the median of each.
#
#   tools/bench/ab.sh MODEL ROUNDS THREADS BIN1 BIN2 [BIN...]
#
# Each run is `BIN -m MODEL -p 128 -n 64 -t THREADS -r 3 --json`.
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
model=$1 rounds=$2 threads=$3; shift 3
bins=("$@")
out=$(mktemp); trap 'rm -f "$out"' EXIT
k=${#bins[@]}
for i in $(seq "$rounds"); do
  for j in $(seq 0 $((k - 1))); do
    b=${bins[$(((i + j) % k))]}
    r=$("$b" -m "$model" -p 128 -n 64 -t "$threads" -r 3 --json |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["prefill_tok_s"], j["decode_tok_s"])')
    echo "$i $b $r" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, b, p, d = line.split()
    runs.setdefault(b, []).append((float(p), float(d)))
for b, v in runs.items():
    print(f"median {b}: prefill {statistics.median(x[0] for x in v):.1f} tok/s, "
          f"decode {statistics.median(x[1] for x in v):.1f} tok/s ({len(v)} runs)")
PY
