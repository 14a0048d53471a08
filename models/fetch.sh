#!/usr/bin/env bash
# Gets a model's files into models/downloads/NAME/ (see models/recipes/NAME.md).
#   stories260K: uses ../shared/models/ beside the checkout when present; otherwise
#     downloads from karpathy/tinyllamas and checks the sha256 of each file.
#   Hugging Face recipes: downloads the listed files of the recipe's repository with curl
#     (set HF_TOKEN for gated repositories such as meta-llama/*). No checksums are pinned for
#     them; kite-convert checks every safetensors header and tensor shape instead.
# Without network access it stops after a short timeout and says so.
#
# Usage: models/fetch.sh [NAME]      prints the folder holding the files (default stories260K)
#        models/fetch.sh --list      lists the known models
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

# name|Hugging Face repository|files (space separated)|description
recipes=(
  "stories260K|karpathy/tinyllamas|stories260K/stories260K.bin stories260K/tok512.bin|TinyStories 260K (llama2.c), the test model"
  "smollm2-135m-instruct|HuggingFaceTB/SmolLM2-135M-Instruct|config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json|SmolLM2 135M Instruct (Llama, ChatML)"
  "qwen2.5-0.5b-instruct|Qwen/Qwen2.5-0.5B-Instruct|config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json|Qwen2.5 0.5B Instruct (Qwen2, ChatML)"
  "llama-3.2-1b-instruct|meta-llama/Llama-3.2-1B-Instruct|config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json|Llama 3.2 1B Instruct (gated: needs HF_TOKEN)"
  "tinyllama-1.1b-chat|TinyLlama/TinyLlama-1.1B-Chat-v1.0|config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json|TinyLlama 1.1B Chat v1.0 (Llama 2 vocabulary)"
)

name=${1:-stories260K}
case "$name" in
  -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
  --list)
    for r in "${recipes[@]}"; do
      IFS='|' read -r n repo _ desc <<<"$r"
      printf '%-24s %-40s %s\n' "$n" "$repo" "$desc"
    done
    exit 0 ;;
esac

recipe=""
for r in "${recipes[@]}"; do
  [ "${r%%|*}" = "$name" ] && recipe=$r
done
if [ -z "$recipe" ]; then
  echo "fetch.sh: unknown model '$name' (models/fetch.sh --list shows the known ones)" >&2
  exit 2
fi
IFS='|' read -r _ repo file_list _ <<<"$recipe"
read -r -a files <<<"$file_list"

# stories260K: the shared copy when present, else download and check sha256.
if [ "$name" = stories260K ]; then
  shared="$root/../shared/models"
  if [ -f "$shared/stories260K.bin" ] && [ -f "$shared/tok512.bin" ]; then
    (cd "$shared" && pwd)
    exit 0
  fi
  dest="$here/downloads"
else
  dest="$here/downloads/$name"
fi

declare -A sums=(
  [stories260K.bin]=b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696
  [tok512.bin]=037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312
)

base="https://huggingface.co/$repo/resolve/main"
auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")
reachable=""
for path in "${files[@]}"; do
  f=$(basename "$path")
  if [ ! -f "$dest/$f" ]; then
    if [ -z "$reachable" ]; then
      # One quick probe, so that a machine without network fails in seconds.
      if ! curl -sS -o /dev/null --connect-timeout 5 --max-time 15 "https://huggingface.co/" 2>/dev/null; then
        echo "fetch.sh: cannot reach huggingface.co (no network?). Download these files of" >&2
        echo "  https://huggingface.co/$repo by hand into $dest:" >&2
        for p in "${files[@]}"; do echo "    $p" >&2; done
        exit 1
      fi
      reachable=1
      mkdir -p "$dest"
    fi
    echo "fetch.sh: downloading $path from $repo" >&2
    if ! curl -fL --connect-timeout 10 --retry 2 "${auth[@]}" -o "$dest/$f.part" "$base/$path"; then
      rm -f "$dest/$f.part"
      echo "fetch.sh: cannot download $base/$path (gated repository without HF_TOKEN, or no network)" >&2
      exit 1
    fi
    mv "$dest/$f.part" "$dest/$f"
  fi
  if [ -n "${sums[$f]:-}" ]; then
    got=$(sha256sum "$dest/$f" | cut -d' ' -f1)
    if [ "$got" != "${sums[$f]}" ]; then
      echo "fetch.sh: $dest/$f has sha256 $got, expected ${sums[$f]}; delete it and retry" >&2
      exit 1
    fi
  fi
done
echo "$dest"
