# Cross build for 64-bit Arm Linux (Raspberry Pi 3/4/5 with a 64-bit OS, other Cortex-A
# boards): Debian's g++-aarch64-linux-gnu, a sysroot from tools/make-sysroot.sh arm64, and
# tests under qemu-aarch64. Baseline ARMv8-A (NEON is always there); the dotprod and i8mm
# kernels are compiled with their own flags and picked at run time from getauxval.
#
#   tools/make-sysroot.sh arm64
#   cmake --preset aarch64 && cmake --build --preset aarch64
#   KITE_QEMU_CPU=cortex-a76 ctest --preset aarch64
set(KITE_CROSS_TRIPLE aarch64-linux-gnu)
set(KITE_CROSS_PROCESSOR aarch64)
set(KITE_CROSS_QEMU_ARCH aarch64)
set(KITE_CROSS_SYSROOT_ARCH arm64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
