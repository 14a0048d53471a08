// qd8-q3r16-gemm with plain NEON (aarch64, and armv7 with NEON + VFPv4): widening
// multiply-accumulate (vmlal.s8) into int16, then pairwise widening to int32, in the tile of
// neon-tiles.h.
//
// Multiplying the low half of a code vector (rows 0-1 of the quad) by the column quad's 4
// activations repeated twice gives, per int16 lane, one row's product for one column; the
// 8 products a lane collects per group (one per column quad) are at most 8 * 7 * 128 = 7168
// in magnitude, so the int16 sums never overflow. vpaddl then folds the 4 column lanes of
// each row into int32.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

struct MlalDot {
  static constexpr size_t kTokenTile = kNeonGemmTokenTile;

  // r[k]: the 4 activations of column quad k, repeated twice.
  struct Act {
    int8x8_t r[8];
  };
  static Act LoadAct(const int8_t* x) {
    Act a;
    for (size_t k = 0; k < 8; ++k) a.r[k] = Broadcast4x2Neon(x + k * 4);
    return a;
  }

  static int32x4_t Dot(const int8x16_t* codes, const Act& x, int32_t xsum) {
    int16x8_t s01 = vdupq_n_s16(0);  // rows 0-1 of the quad, 4 columns each
    int16x8_t s23 = vdupq_n_s16(0);  // rows 2-3
    for (size_t k = 0; k < 8; ++k) {
      s01 = vmlal_s8(s01, vget_low_s8(codes[k]), x.r[k]);
      s23 = vmlal_s8(s23, vget_high_s8(codes[k]), x.r[k]);
    }
    const int32x4_t dot = PairwiseAddNeon(vpaddlq_s16(s01), vpaddlq_s16(s23));
    // sum (u - 4) x = sum u x - 4 sum x, exactly, in int32.
    return vsubq_s32(dot, vdupq_n_s32(kQ3Zero * xsum));
  }
};

}  // namespace

void qd8_q3r16_gemm_neon(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                         const uint8_t* w, const int8_t* xq, const float* xscale,
                         const int32_t* xsum, float* y, size_t y_stride) {
  qd8_q3r16::Gemm<qd8_q3r16::NeonTile<MlalDot>>(m, rows, groups, groups_per_scale, w, xq,
                                                xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
