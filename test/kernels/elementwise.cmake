# Tester of the elementwise / small matvec / attention kernel families (every compiled
# variant against its ref; variants the CPU cannot run are skipped), and their
# micro-benchmark (not a test: build target elementwise_bench, run by hand).
# Included from test/kernels/CMakeLists.txt.
kite_add_test(elementwise_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/elementwise_test.cc
  LIBS kite_kernels
  LABELS kernels)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND
   CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  # The vector exp of the F32Exp tests, built once per lane type with that ISA's flags.
  set(KITE_EXP_ARRAY_OPTIONS_0 -mavx2 -mfma -mf16c)
  set(KITE_EXP_ARRAY_OPTIONS_1 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma -mf16c)
  foreach(avx512 0 1)
    add_library(f32_exp_array_${avx512} OBJECT ${CMAKE_CURRENT_LIST_DIR}/f32_exp_array.cc)
    target_include_directories(f32_exp_array_${avx512} PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_definitions(f32_exp_array_${avx512} PRIVATE KITE_EXP_LANES_AVX512=${avx512})
    target_compile_options(f32_exp_array_${avx512} PRIVATE ${KITE_EXP_ARRAY_OPTIONS_${avx512}})
    target_sources(elementwise_test PRIVATE $<TARGET_OBJECTS:f32_exp_array_${avx512}>)
  endforeach()
endif()
if(KITE_KERNELS_ARM_TARGET)
  # The NEON variants exist (sdk/kernels/CMakeLists.txt): test them.
  target_compile_definitions(elementwise_test PRIVATE KITE_TEST_ARM_KERNELS=1)
  target_link_libraries(elementwise_test PRIVATE kite_platform)
endif()

find_package(benchmark CONFIG QUIET)
if(benchmark_FOUND)
  add_executable(elementwise_bench ${CMAKE_CURRENT_LIST_DIR}/elementwise_bench.cc)
  target_link_libraries(elementwise_bench PRIVATE kite_kernels benchmark::benchmark)
endif()
