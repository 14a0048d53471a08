// The driver of every optimized qd8-q3r16-gemm variant: the shared loop of
// sdk/kernels/simd/gemm-driver.h (16-row blocks, token tiles, a narrower last tile, the
// prefetch of the next block row) over the variant's tile, as qd8-q4r16-gemm/driver.h does
// for the 4-bit layouts.
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

// The policy P of Gemm provides:
//   static constexpr size_t kTokenTile;  // tokens per full tile, >= 1
//   template <size_t T>                  // 1 <= T <= kTokenTile
//   static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
//                    const int32_t* xsum, float* y, size_t y_stride, size_t n,
//                    const uint8_t* next);
// Tile writes y[t * y_stride + r] for T tokens (xq, xscale, xsum at their first token, as in
// the family contract) and the first n rows (1 <= n <= 16) of the Q3_R16_G32 block row at
// wb; when `next` is not null it may prefetch that block row (the next one).

/// The product of the family contract (qd8-q3r16-gemm.h) through policy P.
template <class P>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
          const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t x_stride = groups * kQ4R16GroupSize;
  gemm_driver::ForEachTile<P::kTokenTile, kQ4R16BlockRows>(
      m, rows, groups * kQ3R16BlockBytes, w,
      [&](auto tokens, const uint8_t* wb, size_t t, size_t r0, size_t n, const uint8_t* next) {
        P::template Tile<decltype(tokens)::value>(groups, wb, xq + t * x_stride,
                                                  xscale + t * groups, xsum + t * groups,
                                                  y + r0 + t * y_stride, y_stride, n, next);
      });
}

}  // namespace kite::kernels::qd8_q3r16
