# Shared part of the Arm Linux toolchain files (aarch64-linux-gnu.cmake,
# arm-linux-gnueabihf.cmake): they set KITE_CROSS_TRIPLE, KITE_CROSS_PROCESSOR,
# KITE_CROSS_QEMU_ARCH and KITE_CROSS_SYSROOT_ARCH, then include this file.
#
# The sysroot (target glibc, XNNPACK, GoogleTest, ...) comes from tools/make-sysroot.sh. Its
# folder is the cache variable KITE_SYSROOT, else the environment variable KITE_SYSROOT,
# else build/sysroot-<debian arch> in the source tree. Tests run through
# toolchains/qemu-run.sh (CMAKE_CROSSCOMPILING_EMULATOR), which reads KITE_QEMU_CPU.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${KITE_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${KITE_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${KITE_CROSS_TRIPLE}-g++)

if(NOT KITE_SYSROOT)
  if(DEFINED ENV{KITE_SYSROOT} AND NOT "$ENV{KITE_SYSROOT}" STREQUAL "")
    set(KITE_SYSROOT "$ENV{KITE_SYSROOT}")
  else()
    get_filename_component(KITE_SYSROOT
      "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-${KITE_CROSS_SYSROOT_ARCH}" ABSOLUTE)
  endif()
endif()
set(KITE_SYSROOT "${KITE_SYSROOT}" CACHE PATH
  "Target sysroot (tools/make-sysroot.sh ${KITE_CROSS_SYSROOT_ARCH})")
# try_compile projects re-read this file: hand them the same sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KITE_SYSROOT)
if(NOT EXISTS "${KITE_SYSROOT}/usr/lib/${KITE_CROSS_TRIPLE}/libc.so")
  message(FATAL_ERROR "No ${KITE_CROSS_TRIPLE} sysroot at ${KITE_SYSROOT}: run "
    "tools/make-sysroot.sh ${KITE_CROSS_SYSROOT_ARCH} (or set KITE_SYSROOT)")
endif()

set(CMAKE_SYSROOT "${KITE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${KITE_SYSROOT}")
# Build-time programs (flatc) come from the host; libraries, headers and CMake packages
# only from the sysroot.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (the voice assistant's pocketsphinx, sphinxbase, espeak-ng and alsa) reads only
# the sysroot's .pc files, never the host's, and prefixes their -I/-L paths with the sysroot.
# Set here, these reach every configure run (the toolchain file is read by each one).
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${KITE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
  "${KITE_SYSROOT}/usr/lib/${KITE_CROSS_TRIPLE}/pkgconfig:${KITE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Shared libraries in the sysroot (libXNNPACK.so) need their own dependencies found there.
set(_kite_rpath_link
  "-Wl,-rpath-link,${KITE_SYSROOT}/lib/${KITE_CROSS_TRIPLE}:${KITE_SYSROOT}/usr/lib/${KITE_CROSS_TRIPLE}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_kite_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_kite_rpath_link}")

set(CMAKE_CROSSCOMPILING_EMULATOR
  "${CMAKE_CURRENT_LIST_DIR}/qemu-run.sh;${KITE_CROSS_QEMU_ARCH};${KITE_SYSROOT}")
