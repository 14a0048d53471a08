#!/usr/bin/env bash
# The test job, from a fresh checkout: install dependencies if missing, build and run the
# whole ctest suite in the release preset; then coverage-guided fuzzing (libFuzzer, 20 s
# per target) and the threaded tests under ThreadSanitizer; then the Arm Linux cross builds
# (aarch64, armv7) with their tests under qemu user mode; then the Cortex-M7 firmware under
# qemu-system-arm; then the suite under ASan + UBSan (built at -O1 -g1 with assertions on;
# the packaging, lint, docs and script tests, which exercise no Kite code of their own, are
# left out: CMakePresets.json).
#
# Usage: tools/test.sh
#   KITE_SKIP_FUZZ=1   skips the libFuzzer build and runs (fuzz preset)
#   KITE_SKIP_TSAN=1   skips the ThreadSanitizer build and tests (tsan preset)
#   KITE_SKIP_CROSS=1  skips the Arm cross builds and qemu tests
#   KITE_SKIP_FIRMWARE=1  skips the Cortex-M7 firmware build and its qemu-system-arm test
#   KITE_SKIP_ASAN=1   skips the sanitizer pass
#
# The cross part builds a target sysroot per architecture once (tools/make-sysroot.sh, cached
# under build/), builds the aarch64 and armv7 presets (tests and samples, no tools), and runs
# their `cross`-labelled tests (kernel testers, goldens, ISA paths, int8 KV cache,
# tokenizer, and kite-voice in WAV mode: espeak-ng, pocketsphinx and the sysroot's data on
# the target) on the .kite models the release build converted: aarch64 on three emulated
# CPUs (cortex-a72: NEON; cortex-a76: + dotprod; max: + i8mm), armv7 on cortex-a7.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
jobs=$(nproc)

# step NAME COMMAND...: runs the command and prints how long it took.
step() {
  local name=$1
  shift
  local start=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - start)) s"
}

release_tests() {
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$jobs"
  ctest --preset release -j"$jobs"
}
step "release: build and test" release_tests

# --- Fuzzing and ThreadSanitizer ------------------------------------------------------
# Both presets build only what they test (no tools, no samples) and read the .kite models
# the release tests just converted. The fuzz preset (clang-14, ASan + UBSan) runs every
# target for KITE_FUZZ_SECONDS (20) from a copy of its seeds (test/fuzz/run_libfuzzer.cmake)
# and prints executions per target; the tsan preset (gcc -fsanitize=thread) runs the
# thread pool, concurrent sessions and cancel tests. See docs/security.md.
if [ "${KITE_SKIP_FUZZ:-0}" != "1" ]; then
  fuzz_tests() {
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j"$jobs"
    ctest --preset fuzz -j"$jobs"
    cat build/fuzz/test/fuzz/*.run/stats.txt
  }
  step "fuzz: libFuzzer build and 20 s per target" fuzz_tests
fi
if [ "${KITE_SKIP_TSAN:-0}" != "1" ]; then
  tsan_tests() {
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan -j"$jobs"
    ctest --preset tsan -j"$jobs"
  }
  step "tsan: build and test the threaded tests (ThreadSanitizer)" tsan_tests
fi

if [ "${KITE_SKIP_CROSS:-0}" != "1" ]; then
  cross_start=$SECONDS
  models="$PWD/build/release/test-models"
  step "cross: sysroots" bash -c 'tools/make-sysroot.sh arm64 && tools/make-sysroot.sh armhf'

  cross_build() {  # preset
    cmake --preset "$1" -DKITE_TEST_MODELS_DIR="$models" >/dev/null
    cmake --build --preset "$1" -j"$jobs"
  }
  cross_test() {  # preset cpu [ctest args]
    KITE_QEMU_CPU=$2 ctest --preset "$1" -j"$jobs" "${@:3}"
  }
  step "aarch64: build" cross_build aarch64
  step "aarch64: test under qemu -cpu cortex-a72" cross_test aarch64 cortex-a72
  # The tokenizer has no CPU-specific code, and the voice loop's CPU-specific part (the
  # kernels) is covered by the goldens and ISA paths: once is enough.
  for cpu in cortex-a76 max; do
    step "aarch64: test under qemu -cpu $cpu" cross_test aarch64 "$cpu" -LE 'tokenizer|voice'
  done
  step "armv7: build" cross_build armv7
  step "armv7: test under qemu -cpu cortex-a7" cross_test armv7 cortex-a7
  echo "== cross total: $((SECONDS - cross_start)) s"
fi

# --- Firmware (Cortex-M7, bare metal) ------------------------------------------------
# Builds the runtime core with arm-none-eabi-g++ (preset cortex-m7), links the 4-bit model
# the release tests converted (and an f32 one) into firmware images for QEMU's mps2-an500,
# and runs them under qemu-system-arm: the greedy tokens must equal the host's (the f32
# image also llama2.c's goldens) and nothing may touch a heap. See docs/firmware.md.
if [ "${KITE_SKIP_FIRMWARE:-0}" != "1" ]; then
  firmware_tests() {
    cmake --preset cortex-m7 \
      -DKITE_FIRMWARE_MODEL="$PWD/build/release/test-models/stories260K-q4.kite" >/dev/null
    cmake --build --preset cortex-m7 -j"$jobs"
    ctest --preset cortex-m7 -j"$jobs"
  }
  step "firmware: Cortex-M7 build and qemu-system-arm test" firmware_tests
fi

if [ "${KITE_SKIP_ASAN:-0}" != "1" ]; then
  asan_tests() {
    cmake --preset asan >/dev/null
    cmake --build --preset asan -j"$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --preset asan -j"$jobs"
  }
  step "asan: build and test (AddressSanitizer + UndefinedBehaviorSanitizer)" asan_tests
fi
