// What every fuzz target in test/fuzz/ shares: FUZZ_CHECK, which turns a broken property
// into a crash that libFuzzer (or the replay driver, fuzz_driver.cc) reports with its input.
#pragma once

#include <cstdio>
#include <cstdlib>

/// Checks a property of the code under test: when `cond` is false, prints
/// "file:line: check failed: cond" to stderr and aborts. Active in every build (it does not
/// depend on NDEBUG). For fuzz targets only.
#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
