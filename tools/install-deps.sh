#!/usr/bin/env bash
# Installs the Debian 12 packages Kite needs. A no-op when all are present.
# Usage: tools/install-deps.sh [--runtime]
#   (default)  everything to build and test (tools/test.sh): the runtime set below plus the
#              test libraries, fuzzing, cross and firmware toolchains, qemu, Doxygen
#   --runtime  only what building and running the library, tools and samples needs
#              (tools/quickstart.sh)
set -euo pipefail

mode=full
case "${1:-}" in
  "") ;;
  --runtime) mode=runtime ;;
  *) echo "usage: tools/install-deps.sh [--runtime]" >&2; exit 2 ;;
esac

# Building and running the library, the tools and the samples.
runtime_packages=(
  build-essential cmake ninja-build pkg-config curl ca-certificates
  flatbuffers-compiler libflatbuffers-dev
  libxnnpack-dev libpthreadpool-dev
  libabsl-dev nlohmann-json3-dev
  # Vulkan backend (KITE_WITH_VULKAN): loader and headers, lavapipe (a CPU Vulkan device),
  # and the GLSL compiler and SPIR-V validator the build runs.
  libvulkan-dev mesa-vulkan-drivers glslc spirv-tools
  # The voice assistant sample kite-voice (KITE_WITH_VOICE): speech recognition with its
  # English model, speech synthesis with its voices, and ALSA.
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us libespeak-ng-dev espeak-ng-data
  libasound2-dev
)

# Testing, on top of the runtime set.
test_packages=(
  python3
  libgtest-dev libgmock-dev libbenchmark-dev
  # Coverage-guided fuzzing (the fuzz preset): clang with libFuzzer and its sanitizers.
  clang-14 libclang-rt-14-dev
  # Raspberry Pi cross builds, tested under qemu user mode (tools/make-sysroot.sh fetches
  # the target libraries into build/ itself; nothing of another architecture is installed).
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user
  # Cortex-M7 firmware build, run on qemu-system-arm (mps2-an500) with semihosting.
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  # Vulkan diagnostics: glslangValidator and vulkaninfo.
  glslang-tools vulkan-tools
  # The API reference check (docs/Doxyfile, the api_reference test).
  doxygen
)

packages=("${runtime_packages[@]}")
if [ "$mode" = full ]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  if [ "$status" != "install ok installed" ]; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
