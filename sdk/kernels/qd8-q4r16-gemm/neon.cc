// qd8-q4r16-gemm with plain NEON (aarch64, and armv7 with NEON + VFPv4): widening
// multiply-accumulate (vmlal.s8) into int16, then pairwise widening to int32, in the tile of
// neon-tiles.h (the codebook layout too, through its table lookup).
//
// Multiplying the low half of a slice vector (rows 0-1 of the quad) by the 4 matching
// activations repeated twice gives, per int16 lane, one row's product for one column; the
// 8 products a lane collects per group (4 slices x low/high) are at most 8 * 15 * 128 =
// 15360 in magnitude, so the int16 sums never overflow. vpaddl then folds the 4 column
// lanes of each row into int32.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

struct MlalDot {
  static constexpr size_t kTokenTile = kNeonGemmTokenTile;

  // 4 columns repeated twice: r[p] for the low nibbles of slice p, r[4 + p] for the high.
  struct Act {
    int8x8_t r[8];
  };
  static Act LoadAct(const int8_t* x) {
    Act a;
    for (size_t p = 0; p < 4; ++p) {
      a.r[p] = Broadcast4x2Neon(x + p * 4);
      a.r[4 + p] = Broadcast4x2Neon(x + 16 + p * 4);
    }
    return a;
  }

  template <bool kSym>
  static int32x4_t Dot(const int8x16_t* lo, const int8x16_t* hi, const Act& x, int32_t xsum) {
    int16x8_t s01 = vdupq_n_s16(0);  // rows 0-1 of the quad, 4 columns each
    int16x8_t s23 = vdupq_n_s16(0);  // rows 2-3
    for (size_t p = 0; p < 4; ++p) {
      s01 = vmlal_s8(s01, vget_low_s8(lo[p]), x.r[p]);
      s01 = vmlal_s8(s01, vget_low_s8(hi[p]), x.r[4 + p]);
      s23 = vmlal_s8(s23, vget_high_s8(lo[p]), x.r[p]);
      s23 = vmlal_s8(s23, vget_high_s8(hi[p]), x.r[4 + p]);
    }
    int32x4_t dot = PairwiseAddNeon(vpaddlq_s16(s01), vpaddlq_s16(s23));
    // Offset-free: sum (u - 8) x = sum u x - 8 sum x, exactly, in int32.
    if (kSym) dot = vsubq_s32(dot, vdupq_n_s32(8 * xsum));
    return dot;
  }

  // Codebook entries reach 127 in magnitude, so a lane's int16 sum holds only one low and
  // one high product (2 * 127 * 128 = 32512) before vpadal widens it into int32.
  static int32x4_t DotCb(const int8x16_t* lo, const int8x16_t* hi, const Act& x) {
    int32x4_t d01 = vdupq_n_s32(0), d23 = vdupq_n_s32(0);
    for (size_t p = 0; p < 4; ++p) {
      int16x8_t s01 = vmull_s8(vget_low_s8(lo[p]), x.r[p]);
      s01 = vmlal_s8(s01, vget_low_s8(hi[p]), x.r[4 + p]);
      int16x8_t s23 = vmull_s8(vget_high_s8(lo[p]), x.r[p]);
      s23 = vmlal_s8(s23, vget_high_s8(hi[p]), x.r[4 + p]);
      d01 = vpadalq_s16(d01, s01);
      d23 = vpadalq_s16(d23, s23);
    }
    return PairwiseAddNeon(d01, d23);
  }
};

using Neon = qd8_q4r16::NeonTile<MlalDot>;

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(neon, Neon)
KITE_QD8_Q4R16CB_GEMM_VARIANT(neon, Neon)

}  // namespace kite::kernels
