// The firmware has no heap. The link wraps every allocation entry point of the C library
// (-Wl,--wrap=malloc,... in CMakeLists.txt) to the functions below, and this file replaces
// the C++ operators new and delete, so the image contains no allocator at all: any call —
// from Kite, newlib or libstdc++ — prints FATAL and exits with status 3, failing the test.
// (Replacing the operators also keeps libstdc++'s, which throw std::bad_alloc and would
// drag in the exception runtime, out of the image.)
#include <cstddef>
#include <new>

#include "semihosting.h"

namespace {

[[noreturn]] void HeapUsed(const char* what) {
  semihosting_write("\nFATAL: heap allocation attempted (");
  semihosting_write(what);
  semihosting_write(") but this firmware has no heap\n");
  semihosting_exit(3);
}

// Nothing was ever allocated, so only releasing null is legitimate.
void Release(void* p, const char* what) {
  if (p != nullptr) HeapUsed(what);
}

}  // namespace

extern "C" {

struct _reent;

void* __wrap_malloc(size_t) { HeapUsed("malloc"); }
void* __wrap__malloc_r(_reent*, size_t) { HeapUsed("_malloc_r"); }
void* __wrap_calloc(size_t, size_t) { HeapUsed("calloc"); }
void* __wrap__calloc_r(_reent*, size_t, size_t) { HeapUsed("_calloc_r"); }
void* __wrap_realloc(void*, size_t) { HeapUsed("realloc"); }
void* __wrap__realloc_r(_reent*, void*, size_t) { HeapUsed("_realloc_r"); }
void* __wrap_memalign(size_t, size_t) { HeapUsed("memalign"); }
void* __wrap__memalign_r(_reent*, size_t, size_t) { HeapUsed("_memalign_r"); }
void __wrap_free(void* p) { Release(p, "free"); }
void __wrap__free_r(_reent*, void* p) { Release(p, "_free_r"); }

// The C library grows its heap with _sbrk: there is none to grow.
void* _sbrk(ptrdiff_t) { HeapUsed("_sbrk"); }

}  // extern "C"

void* operator new(std::size_t) { HeapUsed("operator new"); }
void* operator new[](std::size_t) { HeapUsed("operator new[]"); }
void* operator new(std::size_t, const std::nothrow_t&) noexcept { HeapUsed("operator new"); }
void* operator new[](std::size_t, const std::nothrow_t&) noexcept { HeapUsed("operator new[]"); }
void* operator new(std::size_t, std::align_val_t) { HeapUsed("operator new"); }
void* operator new[](std::size_t, std::align_val_t) { HeapUsed("operator new[]"); }
void* operator new(std::size_t, std::align_val_t, const std::nothrow_t&) noexcept {
  HeapUsed("operator new");
}
void* operator new[](std::size_t, std::align_val_t, const std::nothrow_t&) noexcept {
  HeapUsed("operator new[]");
}
void operator delete(void* p) noexcept { Release(p, "operator delete"); }
void operator delete[](void* p) noexcept { Release(p, "operator delete[]"); }
void operator delete(void* p, std::size_t) noexcept { Release(p, "operator delete"); }
void operator delete[](void* p, std::size_t) noexcept { Release(p, "operator delete[]"); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p, "operator delete"); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p, "operator delete[]"); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  Release(p, "operator delete");
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  Release(p, "operator delete[]");
}
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p, "operator delete"); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  Release(p, "operator delete[]");
}
