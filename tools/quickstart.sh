#!/usr/bin/env bash
# The main job, from a fresh checkout: install dependencies if missing, build (release),
# get the default model, convert it to a 4-bit .kite file and print a story.
#
# Usage: tools/quickstart.sh [PROMPT]
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-"Once upon a time"}
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"

src=$(bash models/fetch.sh stories260K)
out=build/release/models
mkdir -p "$out"
build/release/tools/convert/kite-convert "$src/stories260K.bin" --tokenizer "$src/tok512.bin" \
  --quant q4 -o "$out/stories260K-q4.kite"
echo
build/release/samples/generate/kite-generate -m "$out/stories260K-q4.kite" -p "$prompt" -n 200 \
  --temp 0.8 --top-p 0.9 --seed 42
