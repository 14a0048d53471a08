// Bringing a small input into L1 before a decode loop streams weights past it. Plain C++:
// usable from every kernel file (x86 and Arm).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// How many bytes of activations a decode loop without a chunk loop of its own touches at
/// once (64 groups of 32 int8 values; the chunk of the AVX-512 4-bit and 3-bit loops).
inline constexpr size_t kTouchChunkBytes = 2048;

/// Reads one byte of every 64-byte line of [p, p + bytes) and discards them.
///
/// A decode (m = 1) loop calls it on a chunk of activations before streaming that chunk's
/// weights, so the activations come into L1 in one burst instead of missing it between
/// weight loads. Once a block row's weights are longer than L1 (k >= ~4096 at 4 bits), the
/// activations are evicted between two block rows, and their misses, spread through the
/// weight stream, cost the down projection (k = 5632) ~20% of its DRAM rate on Zen 5; a
/// software prefetch of the same lines does not help (docs/performance.md, "The down
/// projection's activations").
inline void TouchL1(const void* p, size_t bytes) {
  if (bytes == 0) return;
  const unsigned char* c = static_cast<const unsigned char*>(p);
  unsigned any = 0;
  for (size_t b = 0; b < bytes; b += 64) any |= c[b];
  any |= c[bytes - 1];  // the last line when p is not 64-byte aligned
#if defined(__GNUC__)
  __asm__ volatile("" : : "r"(any));
#else
  static_cast<void>(any);
#endif
}

/// For a decode loop walking the activations [x, x + total) in order: at every multiple of
/// kTouchChunkBytes (`offset` bytes in), touches the chunk that starts there.
inline void TouchChunkAt(const void* x, size_t offset, size_t total) {
  if (offset % kTouchChunkBytes != 0 || offset >= total) return;
  const size_t left = total - offset;
  TouchL1(static_cast<const unsigned char*>(x) + offset,
          left < kTouchChunkBytes ? left : kTouchChunkBytes);
}

}  // namespace kite::kernels
