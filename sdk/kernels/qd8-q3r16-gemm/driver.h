// The driver of every optimized qd8-q3r16-gemm variant: the shared loop of
// sdk/kernels/simd/gemm-driver.h (16-row blocks, token tiles, a narrower last tile, the
// prefetch of the next block row) over the variant's tile, as qd8-q4r16-gemm/driver.h does
// for the 4-bit layouts, instantiated once per layout (S = activation groups per scale: 1
// for Q3_R16_G32, 2 for Q3_R16_G64).
//
// An ISA file defines a policy struct (the inner step) in its anonymous namespace and calls
// qd8_q3r16::Gemm<Policy> from its entry point; the template is instantiated in that file,
// with that file's ISA flags. Include only from the ISA files.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/gemm-driver.h"

namespace kite::kernels::qd8_q3r16 {

/// Where activation group g's data lie in a block row at wb of the layout with S groups
/// per scale: its 32-column codes (low-bit plane at +0, high-bit plane at
/// +kQ3R16HighBitsOffset) and its 16 f16 scales.
template <size_t S>
inline const uint8_t* CodesOf(const uint8_t* wb, size_t g) {
  return wb + (g / S) * Q3R16BlockBytes(S) + (g % S) * kQ3R16CodeBytes;
}
template <size_t S>
inline const uint8_t* ScalesOf(const uint8_t* wb, size_t g) {
  return wb + (g / S) * Q3R16BlockBytes(S) + S * kQ3R16CodeBytes;
}
/// Bytes of a block row per activation group (group g's share starts at g * this).
template <size_t S>
inline constexpr size_t kBytesPerGroup = Q3R16BlockBytes(S) / S;

// The policy P of Gemm provides:
//   static constexpr size_t kTokenTile;  // tokens per full tile, >= 1
//   template <size_t T, size_t S>        // 1 <= T <= kTokenTile; S groups per scale
//   static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
//                    const int32_t* xsum, float* y, size_t y_stride, size_t n,
//                    const uint8_t* next);
// Tile writes y[t * y_stride + r] for T tokens (xq, xscale, xsum at their first token, as in
// the family contract) and the first n rows (1 <= n <= 16) of the block row at wb (codes
// and scales of group g at CodesOf<S> / ScalesOf<S>); when `next` is not null it may
// prefetch that block row (the next one).

/// The product of the family contract (qd8-q3r16-gemm.h) through policy P, for S groups
/// per scale.
template <class P, size_t S>
void GemmOf(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
            const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  const size_t x_stride = groups * kQ4R16GroupSize;
  gemm_driver::ForEachTile<P::kTokenTile, kQ4R16BlockRows>(
      m, rows, groups * kBytesPerGroup<S>, w,
      [&](auto tokens, const uint8_t* wb, size_t t, size_t r0, size_t n, const uint8_t* next) {
        P::template Tile<decltype(tokens)::value, S>(groups, wb, xq + t * x_stride,
                                                     xscale + t * groups, xsum + t * groups,
                                                     y + r0 + t * y_stride, y_stride, n, next);
      });
}

/// The product of the family contract (qd8-q3r16-gemm.h) through policy P.
template <class P>
void Gemm(size_t m, size_t rows, size_t groups, size_t groups_per_scale, const uint8_t* w,
          const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
          size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert((groups_per_scale == 1 || groups_per_scale == 2) && groups % groups_per_scale == 0);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  if (groups_per_scale == 2) {
    GemmOf<P, 2>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
  } else {
    GemmOf<P, 1>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
  }
}

}  // namespace kite::kernels::qd8_q3r16
