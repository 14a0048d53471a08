// qd8-q4sp24-gemm with plain NEON (aarch64, and armv7 with NEON + VFPv4): widening multiplies
// (vmull.s8 / vmlal.s8) into int16, then pairwise widening to int32, in the tile of
// neon-tiles.h.
//
// The low half of a slice vector holds rows 0-1 of the quad (4 bytes each): multiplying it
// by the matching gathered activations gives one product per int16 lane, and a lane collects
// one product per slice: at most 4 * 8 * 128 = 4096 in magnitude, so the int16 sums are
// exact. vpaddl and a pairwise add then fold each row's 4 lanes into int32.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

struct MullDot {
  static constexpr size_t kTokenTile = kNeonGemmTokenTile;

  static int32x4_t Dot(const int8x16_t (&q)[4], const int8x16_t (&a)[4]) {
    int16x8_t lo = vmull_s8(vget_low_s8(q[0]), vget_low_s8(a[0]));
    int16x8_t hi = vmull_s8(vget_high_s8(q[0]), vget_high_s8(a[0]));
    for (size_t s = 1; s < 4; ++s) {
      lo = vmlal_s8(lo, vget_low_s8(q[s]), vget_low_s8(a[s]));
      hi = vmlal_s8(hi, vget_high_s8(q[s]), vget_high_s8(a[s]));
    }
    return PairwiseAddNeon(vpaddlq_s16(lo), vpaddlq_s16(hi));
  }
};

}  // namespace

void qd8_q4sp24_gemm_neon(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                          const float* xscale, float* y, size_t y_stride) {
  qd8_q4sp24::Gemm<qd8_q4sp24::NeonTile<MullDot>>(m, rows, groups, w, xq, xscale, y, y_stride);
}

}  // namespace kite::kernels
