// The loop every optimized qd8-q4r16-gemm variant shares: 16-row blocks, tokens in tiles of
// the variant's width, the last m % width tokens as one narrower tile, and the prefetch of the
// next block row during the first tile's pass over a block row.
//
// An ISA file defines a policy struct (the inner step) in its anonymous namespace and calls
// qd8_q4r16::Gemm<Policy, kSym> from its entry points. The template is instantiated in that
// file, with that file's ISA flags, and (its policy having internal linkage) is never merged
// with another file's copy at link time. Include only from the ISA files.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels::qd8_q4r16 {

/// Bytes per block: Q4_R16_G32, or the offset-free Q4_R16_G32_SYM (kSym: w = d (u - 8)).
template <bool kSym>
inline constexpr size_t kBlockBytesOf = kSym ? kQ4R16SymBlockBytes : kQ4R16BlockBytes;

// The policy P of Gemm provides:
//   static constexpr size_t kTokenTile;  // tokens per full tile, >= 1
//   template <bool kSym, size_t T>       // 1 <= T <= kTokenTile
//   static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
//                    const int32_t* xsum, float* y, size_t y_stride, size_t n,
//                    const uint8_t* next);
// Tile writes y[t * y_stride + r] for T tokens (xq, xscale, xsum at their first token, as in
// the family contract) and the first n rows (1 <= n <= 16) of the block row at wb; when
// `next` is not null it may prefetch that block row (the next one).

/// Calls P::Tile<kSym, r> for the runtime r, 1 <= r <= T (T < P::kTokenTile).
template <class P, bool kSym, size_t T>
inline void NarrowTile(size_t r, size_t groups, const uint8_t* wb, const int8_t* xq,
                       const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                       size_t n, const uint8_t* next) {
  if constexpr (T >= 1) {
    if (r == T) {
      P::template Tile<kSym, T>(groups, wb, xq, xscale, xsum, y, y_stride, n, next);
    } else {
      NarrowTile<P, kSym, T - 1>(r, groups, wb, xq, xscale, xsum, y, y_stride, n, next);
    }
  } else {
    assert(false);
  }
}

/// The product of the family contract (qd8-q4r16-gemm.h) for layout kSym, through policy P.
template <class P, bool kSym>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
          const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  constexpr size_t kTile = P::kTokenTile;
  const size_t blocks = (rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const size_t x_stride = groups * kQ4R16GroupSize;
  const size_t row_block_bytes = groups * kBlockBytesOf<kSym>;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * row_block_bytes;
    const size_t r0 = b * kQ4R16BlockRows;
    const size_t n = rows - r0 < kQ4R16BlockRows ? rows - r0 : kQ4R16BlockRows;
    float* yb = y + r0;
    // The first pass over this block row prefetches the next one.
    const uint8_t* next = b + 1 < blocks ? wb + row_block_bytes : nullptr;
    size_t t = 0;
    for (; t + kTile <= m; t += kTile) {
      P::template Tile<kSym, kTile>(groups, wb, xq + t * x_stride, xscale + t * groups,
                                    xsum + t * groups, yb + t * y_stride, y_stride, n,
                                    t == 0 ? next : nullptr);
    }
    if (t < m) {
      NarrowTile<P, kSym, kTile - 1>(m - t, groups, wb, xq + t * x_stride, xscale + t * groups,
                                     xsum + t * groups, yb + t * y_stride, y_stride, n,
                                     t == 0 ? next : nullptr);
    }
  }
}

}  // namespace kite::kernels::qd8_q4r16
