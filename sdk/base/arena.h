// One bump allocator for load-time memory: over caller storage (in-place, heap-free) or
// over one heap block it owns. The same layout code serves both paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#include "sdk/base/status.h"

namespace kite {

/// `n` rounded up to a multiple of `alignment` (a power of two).
constexpr size_t AlignUp(size_t n, size_t alignment) {
  return (n + alignment - 1) & ~(alignment - 1);
}

/// Computes where consecutive blocks go and how many bytes they need in all, without
/// memory: the sizing half of Arena. Offsets are relative to a base aligned to the largest
/// alignment asked for. Plain value; thread-compatible.
class ArenaLayout {
 public:
  /// Reserves `bytes` at the next multiple of `alignment` (a power of two); returns the
  /// offset of the block.
  size_t Add(size_t bytes, size_t alignment) {
    const size_t offset = AlignUp(total_, alignment);
    total_ = offset + bytes;
    return offset;
  }
  /// Bytes from the base to the end of the last block.
  size_t total_bytes() const { return total_; }

 private:
  size_t total_ = 0;
};

/// A bump allocator over one block of memory: caller storage it borrows (Borrow: nothing is
/// allocated, ever) or a heap block it owns and frees on destruction (Allocate). Take hands
/// out aligned pieces in order and never frees them one by one; objects built in them are
/// not destroyed by the arena (use it for trivially destructible data or end lifetimes
/// yourself). Move-only. Thread-compatible.
class Arena {
 public:
  Arena() = default;
  Arena(Arena&& other) { *this = static_cast<Arena&&>(other); }
  Arena& operator=(Arena&& other);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { Free(); }

  /// An arena over `size` bytes of caller storage at `storage`, which must be non-null and
  /// `alignment`-aligned (kInvalidArgument naming `what` otherwise). The caller keeps the
  /// storage alive and untouched while the arena and anything taken from it are in use.
  static Result<Arena> Borrow(void* storage, size_t size, size_t alignment, const char* what);

  /// An arena over a new heap block of `size` bytes aligned to `alignment` (a power of two,
  /// at most 4096), freed when the arena is destroyed. kOutOfMemory naming `what` when the
  /// allocation fails. A size of 0 allocates nothing.
  static Result<Arena> Allocate(size_t size, size_t alignment, const char* what);

  /// The next `bytes` at a multiple of `alignment` (a power of two), or nullptr when they do
  /// not fit (nothing is taken then).
  void* Take(size_t bytes, size_t alignment);

  /// `n` value-initialized objects of T taken from the arena, or nullptr when they do not
  /// fit.
  template <typename T>
  T* TakeArray(size_t n) {
    if (n > (SIZE_MAX - alignof(T)) / sizeof(T)) return nullptr;
    void* p = Take(n * sizeof(T), alignof(T));
    if (p == nullptr) return nullptr;
    T* items = static_cast<T*>(p);
    for (size_t i = 0; i < n; ++i) new (&items[i]) T();
    return items;
  }

  uint8_t* data() const { return data_; }
  /// Capacity in bytes.
  size_t size() const { return size_; }
  /// Bytes taken so far, alignment padding included.
  size_t used() const { return used_; }
  /// True when the block is a heap allocation this arena frees.
  bool owned() const { return owned_; }

 private:
  void Free();

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;
  size_t alignment_ = 1;  // of an owned block, for the matching operator delete
  bool owned_ = false;
};

}  // namespace kite
