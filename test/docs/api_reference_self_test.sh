#!/usr/bin/env bash
# The `api_reference_self_test`: the api_reference check (docs/Doxyfile) must fail on a copy
# of kite.h with one undocumented function, and on one with an undocumented parameter, so a
# passing api_reference means something.
# Usage: api_reference_self_test.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KITE_DOXYGEN_OUT=$tmp/out
command -v doxygen >/dev/null || { echo "doxygen not found (tools/install-deps.sh installs it)" >&2; exit 1; }

check_fails() {  # check_fails NAME DECLARATION: doxygen must fail on kite.h + DECLARATION
  mkdir -p "$tmp/$1/sdk/include/kite"
  awk -v decl="$2" '/^#ifdef __cplusplus$/ && seen_extern { print decl } /extern "C"/ { seen_extern = 1 } { print }' \
    "$src/sdk/include/kite/kite.h" >"$tmp/$1/sdk/include/kite/kite.h"
  grep -qF "$2" "$tmp/$1/sdk/include/kite/kite.h" || { echo "could not plant: $2" >&2; exit 1; }
  if (cd "$tmp/$1" && doxygen "$src/docs/Doxyfile") >"$tmp/$1.log" 2>&1; then
    echo "api_reference passed on kite.h with: $2" >&2
    exit 1
  fi
  echo "$1: fails as it should: $(grep -m1 -E 'warning|error' "$tmp/$1.log")"
}
check_fails undocumented 'int kite_planted(int x);'
check_fails no_param_doc '/** Planted: documented, its parameter not. */
int kite_planted(int x);'
