#!/usr/bin/env bash
# Gets the default model (TinyStories 260K, llama2.c format) into models/downloads/.
# Uses ../shared/models/ beside the checkout when present; otherwise downloads the files
# from the upstream Hugging Face repository karpathy/tinyllamas and checks their sha256.
#
# Usage: models/fetch.sh [stories260K]     prints the folder holding the files
set -euo pipefail

name=${1:-stories260K}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
dest="$here/downloads"

case "$name" in
  stories260K)
    files=(stories260K.bin tok512.bin)
    sums=(b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696
          037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312)
    url=https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K
    ;;
  -h|--help)
    sed -n '2,7p' "$0"; exit 0 ;;
  *)
    echo "fetch.sh: unknown model '$name' (known: stories260K)" >&2; exit 2 ;;
esac

shared="$root/../shared/models"
if [ -f "$shared/${files[0]}" ] && [ -f "$shared/${files[1]}" ]; then
  (cd "$shared" && pwd)
  exit 0
fi

mkdir -p "$dest"
for i in "${!files[@]}"; do
  f=${files[$i]}
  if [ ! -f "$dest/$f" ]; then
    echo "fetch.sh: downloading $f from $url" >&2
    if ! curl -fsSL --retry 2 -o "$dest/$f.part" "$url/$f"; then
      rm -f "$dest/$f.part"
      echo "fetch.sh: cannot download $url/$f (no network?). Put stories260K.bin and tok512.bin in $shared or $dest." >&2
      exit 1
    fi
    mv "$dest/$f.part" "$dest/$f"
  fi
  got=$(sha256sum "$dest/$f" | cut -d' ' -f1)
  if [ "$got" != "${sums[$i]}" ]; then
    echo "fetch.sh: $dest/$f has sha256 $got, expected ${sums[$i]}; delete it and retry" >&2
    exit 1
  fi
done
echo "$dest"
