// Replaces the C allocator entry points and operator new for the test binary it is linked
// into (see alloc_counter.h). glibc routes calloc and realloc here too, and the real work is
// done by glibc's own __libc_* functions.
#include "test/common/alloc_counter.h"

#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};

void Count() {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
}
}  // namespace

namespace kite::test {
std::atomic<bool>& CountingAllocations() { return g_counting; }
std::atomic<long>& AllocationCount() { return g_allocations; }
}  // namespace kite::test

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* malloc(size_t n) {
  Count();
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
  Count();
  return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
  Count();
  return __libc_realloc(p, n);
}
void* operator new(size_t n) {
  Count();
  void* p = __libc_malloc(n ? n : 1);
  if (p == nullptr) std::abort();
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
