// The driver of every optimized qd8-q4sp24-gemm variant: the shared loop of
// sdk/kernels/simd/gemm-driver.h (16-row blocks, token tiles, a narrower last tile, the
// prefetch of the next block row) over the variant's tile.
//
// An ISA file defines a policy struct (the inner step) in its anonymous namespace and calls
// qd8_q4sp24::Gemm<Policy> from its entry point. The template is instantiated in that file,
// with that file's ISA flags, and (its policy having internal linkage) is never merged with
// another file's copy at link time. Include only from the ISA files.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/gemm-driver.h"

namespace kite::kernels::qd8_q4sp24 {

// The policy P of Gemm provides:
//   static constexpr size_t kTokenTile;  // tokens per full tile, >= 1
//   template <size_t T>                  // 1 <= T <= kTokenTile
//   static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
//                    float* y, size_t y_stride, size_t n, const uint8_t* next);
// Tile writes y[t * y_stride + r] for T tokens (xq, xscale at their first token, as in the
// family contract) and the first n rows (1 <= n <= 16) of the block row at wb; when `next`
// is not null it may prefetch that block row (the next one).

/// The product of the family contract (qd8-q4sp24-gemm.h), through policy P.
template <class P>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
          const float* xscale, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t x_stride = groups * kQ4SP24GroupSize;
  gemm_driver::ForEachTile<P::kTokenTile, kQ4SP24BlockRows>(
      m, rows, (groups + 1) / 2 * kQ4SP24BlockBytes, w,
      [&](auto tokens, const uint8_t* wb, size_t t, size_t r0, size_t n, const uint8_t* next) {
        P::template Tile<decltype(tokens)::value>(groups, wb, xq + t * x_stride,
                                                  xscale + t * groups, y + r0 + t * y_stride,
                                                  y_stride, n, next);
      });
}

}  // namespace kite::kernels::qd8_q4sp24
