# Tester of the elementwise / small matvec / attention kernel families (every compiled
# variant against its ref; variants the CPU cannot run are skipped), and their
# micro-benchmark (not a test: build target elementwise_bench, run by hand).
# Included from test/kernels/CMakeLists.txt.
kite_add_test(elementwise_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/elementwise_test.cc
  LIBS kite_kernels
  LABELS kernels)
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
