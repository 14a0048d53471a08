#!/usr/bin/env bash
# The main job, from a fresh checkout: install what running needs if missing, build the
# library, tools and samples (not the tests: the release-notest preset, in its own folder
# build/release-notest, so it never fights tools/test.sh's build/release), get the default
# model, convert it to a 4-bit .kite file and print a story.
#
# Usage: tools/quickstart.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-"Once upon a time"}
bash tools/install-deps.sh --runtime
cmake --preset release-notest >/dev/null
cmake --build --preset release-notest -j"$(nproc)"

b=build/release-notest
src=$(bash models/fetch.sh stories260K)
out=$b/models
mkdir -p "$out"
$b/tools/convert/kite-convert "$src/stories260K.bin" --tokenizer "$src/tok512.bin" \
  --quant q4 -o "$out/stories260K-q4.kite"
echo
$b/samples/generate/kite-generate -m "$out/stories260K-q4.kite" -p "$prompt" -n 200 \
  --temp 0.8 --top-p 0.9 --seed 42
