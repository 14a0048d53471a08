# Cross build for 32-bit Arm Linux with hard float (Raspberry Pi OS 32-bit on Pi 2/3/4,
# other Cortex-A7+ boards): Debian's g++-arm-linux-gnueabihf, a sysroot from
# tools/make-sysroot.sh armhf, and tests under qemu-arm (default CPU cortex-a7).
#
# ARMv7-A with NEON and VFPv4 (which brings the f16 conversions), hard-float ABI. This is
# the floor: a Pi 1 / Zero (ARMv6, no NEON) is not supported.
#
#   tools/make-sysroot.sh armhf
#   cmake --preset armv7 && cmake --build --preset armv7 && ctest --preset armv7
set(KITE_CROSS_TRIPLE arm-linux-gnueabihf)
set(KITE_CROSS_PROCESSOR armv7l)  # what uname -m says on a 32-bit Pi OS
set(KITE_CROSS_QEMU_ARCH arm)
set(KITE_CROSS_SYSROOT_ARCH armhf)
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
