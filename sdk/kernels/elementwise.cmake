# The attention family (all targets), the x86-64 AVX2 / AVX-512 variants of the
# elementwise and small matvec families (q8-quantize, q8c-matvec, f32-matvec, rmsnorm,
# softmax, swiglu, rope, attention), and their Arm NEON variants (the same families, and
# q4-matvec).
# Included from sdk/kernels/CMakeLists.txt after kite_kernels is defined.
#
# Each ISA file gets its own flags, so the rest of the library still runs on any x86-64 and
# dispatch picks a variant from the CPU features at run time. The x86 ISA files instantiate
# their family's template (<family>/simd.h) with a lane type of sdk/kernels/simd/lanes.h,
# which lives in an unnamed namespace: everything built with an ISA's flags has internal
# linkage, so the linker cannot merge it into non-AVX code.
set(KITE_ELEMENTWISE_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(kite_kernels PRIVATE ${KITE_ELEMENTWISE_DIR}/attention/ref.cc)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND
   CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(KITE_ELEMENTWISE_FAMILIES
    q8-quantize q8c-matvec f32-matvec rmsnorm softmax swiglu rope attention)
  set(KITE_ELEMENTWISE_AVX2_SOURCES)
  set(KITE_ELEMENTWISE_AVX512_SOURCES)
  foreach(family IN LISTS KITE_ELEMENTWISE_FAMILIES)
    list(APPEND KITE_ELEMENTWISE_AVX2_SOURCES ${KITE_ELEMENTWISE_DIR}/${family}/avx2.cc)
    list(APPEND KITE_ELEMENTWISE_AVX512_SOURCES ${KITE_ELEMENTWISE_DIR}/${family}/avx512.cc)
  endforeach()
  target_sources(kite_kernels PRIVATE
    ${KITE_ELEMENTWISE_AVX2_SOURCES} ${KITE_ELEMENTWISE_AVX512_SOURCES})
  set_source_files_properties(${KITE_ELEMENTWISE_AVX2_SOURCES}
    TARGET_DIRECTORY kite_kernels
    PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set(KITE_AVX512_OPTIONS -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 12.3)
    # GCC < 12.3 warns inside its own avx512fintrin.h / avxintrin.h on every intrinsic with
    # an undefined pass-through operand (GCC bug 105593): false positives. Clang and newer
    # GCC still check these files.
    list(APPEND KITE_AVX512_OPTIONS -Wno-uninitialized -Wno-maybe-uninitialized)
  endif()
  set_source_files_properties(${KITE_ELEMENTWISE_AVX512_SOURCES}
    TARGET_DIRECTORY kite_kernels
    PROPERTIES COMPILE_OPTIONS "${KITE_AVX512_OPTIONS}")
  # rope promises the reference's exact arithmetic: keep GCC from fusing its multiplies and
  # adds into FMAs (C++ defaults to -ffp-contract=fast).
  set_property(SOURCE ${KITE_ELEMENTWISE_DIR}/rope/avx2.cc ${KITE_ELEMENTWISE_DIR}/rope/avx512.cc
    TARGET_DIRECTORY kite_kernels APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off)
endif()

# Arm NEON variants (aarch64, and armv7 with NEON; KITE_KERNELS_ARM_TARGET and
# KITE_NEON_OPTIONS come from sdk/kernels/CMakeLists.txt). One neon.cc per family serves all
# three Arm tables (neon, neondot, i8mm).
if(KITE_KERNELS_ARM_TARGET)
  set(KITE_ELEMENTWISE_NEON_FAMILIES
    q8-quantize q4-matvec q8c-matvec f32-matvec rmsnorm softmax swiglu rope attention)
  set(KITE_ELEMENTWISE_NEON_SOURCES)
  foreach(family IN LISTS KITE_ELEMENTWISE_NEON_FAMILIES)
    list(APPEND KITE_ELEMENTWISE_NEON_SOURCES ${KITE_ELEMENTWISE_DIR}/${family}/neon.cc)
  endforeach()
  target_sources(kite_kernels PRIVATE ${KITE_ELEMENTWISE_NEON_SOURCES})
  if(KITE_NEON_OPTIONS)
    set_source_files_properties(${KITE_ELEMENTWISE_NEON_SOURCES}
      TARGET_DIRECTORY kite_kernels
      PROPERTIES COMPILE_OPTIONS "${KITE_NEON_OPTIONS}")
  endif()
  # rope promises the reference's exact arithmetic: no fused multiply-adds, in the variant
  # and, since FMA is baseline on aarch64, in the reference too (as written, like on x86-64).
  set_property(SOURCE ${KITE_ELEMENTWISE_DIR}/rope/neon.cc ${KITE_ELEMENTWISE_DIR}/rope/ref.cc
    TARGET_DIRECTORY kite_kernels APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=off)
endif()
