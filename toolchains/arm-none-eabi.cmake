# Cross toolchain for bare-metal Cortex-M7 firmware (arm-none-eabi GCC + newlib).
#
#   cmake --preset cortex-m7          (or -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-none-eabi.cmake)
#
# Target: Cortex-M7 with the double-precision FPv5 unit, hard-float ABI, Thumb-2 — what
# QEMU's mps2-an500 board emulates (its MVFR0 reports double precision) and what an
# STM32F7/H7 or i.MX RT part provides. For a single-precision-only M7 (e.g. STM32F72x) use
# -mfpu=fpv5-sp-d16 through KITE_FIRMWARE_CPU_FLAGS.
#
# It selects the bare-metal platform layer (KITE_PLATFORM=baremetal: memory-only model
# sources, an inline single-thread "pool", no pthreadpool/XNNPACK/FlatBuffers libraries).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m7)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar)
set(CMAKE_RANLIB arm-none-eabi-ranlib)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "objcopy for the firmware target")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "size for the firmware target")

# No OS to link a test executable against: probe the compiler with a static library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(KITE_FIRMWARE_CPU_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb"
    CACHE STRING "CPU/FPU flags of the firmware target")
# -ffp-contract=off: no fused multiply-adds, so the scalar kernels round exactly like the
# host's scalar build (the greedy tokens must match the host's). -fno-threadsafe-statics:
# single thread, no guard locks. Sections per function/object let the linker drop what
# the firmware does not call.
set(CMAKE_C_FLAGS_INIT
    "${KITE_FIRMWARE_CPU_FLAGS} -ffp-contract=off -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT
    "${KITE_FIRMWARE_CPU_FLAGS} -ffp-contract=off -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit")
set(CMAKE_ASM_FLAGS_INIT "${KITE_FIRMWARE_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${KITE_FIRMWARE_CPU_FLAGS} -Wl,--gc-sections")

# Only headers and programs come from the host (flatc, FlatBuffers headers); libraries
# and includes for the target come from the toolchain itself.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

set(KITE_PLATFORM baremetal CACHE STRING "Platform layer: posix or baremetal")
