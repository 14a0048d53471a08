#!/usr/bin/env bash
# The test job, from a fresh checkout: install dependencies if missing, build and run the
# whole ctest suite in the release preset, then the same suite under ASan + UBSan.
#
# Usage: tools/test.sh            (KITE_SKIP_ASAN=1 skips the sanitizer pass)
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
jobs=$(nproc)

echo "== release: build and test"
cmake --preset release >/dev/null
cmake --build --preset release -j"$jobs"
ctest --preset release -j"$jobs"

if [ "${KITE_SKIP_ASAN:-0}" != "1" ]; then
  echo "== asan: build and test (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan -j"$jobs"
fi
