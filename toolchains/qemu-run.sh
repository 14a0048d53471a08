#!/bin/sh
# The CMAKE_CROSSCOMPILING_EMULATOR of the Arm Linux toolchain files: runs a target binary
# under qemu user mode with the target sysroot (there is no binfmt_misc on the CI machine).
#
# Usage: toolchains/qemu-run.sh aarch64|arm SYSROOT BINARY [ARGS...]
#
# KITE_QEMU_CPU picks the emulated CPU at run time (default cortex-a72 for aarch64,
# cortex-a7 for arm), so one build is tested on several CPUs:
#   KITE_QEMU_CPU=cortex-a76 ctest --preset aarch64 -L cross     # + dotprod
#   KITE_QEMU_CPU=max        ctest --preset aarch64 -L cross     # + i8mm
# `qemu-aarch64 -cpu help` lists the models. The environment (KITE_ISA, ...) reaches the
# program unchanged.
set -eu
arch=$1
sysroot=$2
shift 2
case "$arch" in
  aarch64) qemu=qemu-aarch64; cpu=${KITE_QEMU_CPU:-cortex-a72} ;;
  arm) qemu=qemu-arm; cpu=${KITE_QEMU_CPU:-cortex-a7} ;;
  *) echo "qemu-run.sh: unknown architecture '$arch' (aarch64 or arm)" >&2; exit 2 ;;
esac
exec "$qemu" -L "$sysroot" -cpu "$cpu" "$@"
