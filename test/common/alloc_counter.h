// Counting allocations in a test binary: alloc_counter.cc replaces malloc, calloc, realloc
// and operator new for the whole process and counts each call while counting is on. Tests
// that must prove "no allocation" add alloc_counter.cc to their sources; sanitizers replace
// the allocator themselves, so those tests only build without them.
#pragma once

#include <atomic>

namespace kite::test {

/// While true, every allocation of the process increments AllocationCount(). Starts false.
/// Safe to set from any thread.
std::atomic<bool>& CountingAllocations();

/// Allocations counted so far (reset it by storing 0 before a measurement).
std::atomic<long>& AllocationCount();

}  // namespace kite::test
