#!/bin/sh
# Writes calibration text for kite-convert --calib to stdout: N stories sampled from an
# f32 model with kite-generate (temperature 1, no top-p), seeds FIRST_SEED, FIRST_SEED+1,
# ..., joined by blank lines. It is the model's own distribution, like
# ../shared/models/eval/stories260K-samples-dev.txt, but a different text (different
# sampler and seeds), so calibrating on it does not see the evaluation text.
#
# usage: tools/make-calib-text.sh KITE_GENERATE MODEL.kite [N=32] [FIRST_SEED=1001] > calib.txt
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 KITE_GENERATE MODEL.kite [N=32] [FIRST_SEED=1001] > calib.txt" >&2
  exit 2
fi
gen=$1
model=$2
n=${3:-32}
seed=${4:-1001}
# One thread per story: the same text, and on a busy machine many times faster than the
# default threads, which spin-wait for each other on a model this small.
i=0
while [ "$i" -lt "$n" ]; do
  [ "$i" -gt 0 ] && printf '\n\n'
  "$gen" -m "$model" -n 256 --temp 1 --top-p 1 --seed $((seed + i)) -t 1 2>/dev/null
  i=$((i + 1))
done
printf '\n'
