// qd8-q3r16-gemm with the int8 matrix multiply (smmla, aarch64 with i8mm). Compiled with
// -march=armv8.2-a+dotprod+i8mm. Pairs of tokens go through smmla; a single token (decode,
// or the last of an odd count) goes through the dotprod variant, which dispatch guarantees
// is available too.
//
// smmla multiplies a 2x8 int8 matrix (two tokens' 8 consecutive activations) by the
// transpose of another (two rows' 8 weights over the same columns) into a 2x2 int32 tile.
// DecodeQuad (neon-tiles.h) gives one vector per column quad k: 4 rows x columns 4k..4k+3.
// Zipping the 32-bit lanes of quads 2j and 2j+1 gives each row's 8 consecutive columns
// 8j..8j+7 side by side: rows 0-1 of the row quad from vzip1, rows 2-3 from vzip2. The
// activations of those columns are 8 contiguous bytes, so no repacking of x is needed.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

// y[t][r] for tokens t0 = xq row 0 and t1 = row 1 and the rows of one 16-row block; `n`
// rows (<= 16) stored.
template <size_t S>
void BlockPair(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, size_t n) {
  const size_t x_stride = groups * kQ4R16GroupSize;
  float32x4_t acc0[4], acc1[4];  // token 0 / token 1, one vector per quad of rows
  for (size_t q = 0; q < 4; ++q) acc0[q] = acc1[q] = vdupq_n_f32(0.0f);
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = qd8_q3r16::CodesOf<S>(wb, g);
    const int8_t* x0 = xq + g * kQ4R16GroupSize;
    const int8_t* x1 = x0 + x_stride;
    // a[j]: both tokens' columns j*8..j*8+7.
    int8x16_t a[4];
    for (size_t j = 0; j < 4; ++j) a[j] = vcombine_s8(vld1_s8(x0 + j * 8), vld1_s8(x1 + j * 8));
    const float xs0 = xscale[g], xs1 = xscale[groups + g];
    // sum (u - 4) x: each tile starts at -4 sum x of its token, {t0, t0, t1, t1}.
    const int32x4_t start = vcombine_s32(vdup_n_s32(-kQ3Zero * xsum[g]),
                                         vdup_n_s32(-kQ3Zero * xsum[groups + g]));
    for (size_t q = 0; q < 4; ++q) {
      int8x16_t codes[8];
      qd8_q3r16::DecodeQuad(blk, q, codes);
      // c01 = {t0 r0, t0 r1, t1 r0, t1 r1}, c23 the same for rows 2-3 of the quad.
      int32x4_t c01 = start, c23 = start;
      for (size_t j = 0; j < 4; ++j) {
        const int32x4_t k0 = vreinterpretq_s32_s8(codes[2 * j]);
        const int32x4_t k1 = vreinterpretq_s32_s8(codes[2 * j + 1]);
        c01 = vmmlaq_s32(c01, a[j], vreinterpretq_s8_s32(vzip1q_s32(k0, k1)));
        c23 = vmmlaq_s32(c23, a[j], vreinterpretq_s8_s32(vzip2q_s32(k0, k1)));
      }
      // Regroup by token: {r0, r1, r2, r3} for t0 (low halves) and t1 (high halves).
      const int64x2_t c01_64 = vreinterpretq_s64_s32(c01);
      const int64x2_t c23_64 = vreinterpretq_s64_s32(c23);
      const float32x4_t dot0 = vcvtq_f32_s32(vreinterpretq_s32_s64(vzip1q_s64(c01_64, c23_64)));
      const float32x4_t dot1 = vcvtq_f32_s32(vreinterpretq_s32_s64(vzip2q_s64(c01_64, c23_64)));
      const float32x4_t d = LoadHalf4Neon(qd8_q3r16::ScalesOf<S>(wb, g) + q * 8);
      acc0[q] = vfmaq_f32(acc0[q], vmulq_n_f32(dot0, xs0), d);
      acc1[q] = vfmaq_f32(acc1[q], vmulq_n_f32(dot1, xs1), d);
    }
  }
  for (size_t q = 0; q < 4 && q * 4 < n; ++q) {
    StoreLanesNeon(y + q * 4, acc0[q], n - q * 4);
    StoreLanesNeon(y + y_stride + q * 4, acc1[q], n - q * 4);
  }
}

// The driver's policy: pairs of tokens through smmla; a single token (decode, or the last
// of an odd count) through the dotprod variant, one block row at a time.
struct I8mm {
  static constexpr size_t kTokenTile = 2;
  template <size_t T, size_t S>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* /*next*/) {
    if constexpr (T == 2) {
      BlockPair<S>(groups, wb, xq, xscale, xsum, y, y_stride, n);
    } else {
      qd8_q3r16_gemm_neondot(1, n, groups, S, wb, xq, xscale, xsum, y, y_stride);
    }
  }
};

}  // namespace

void qd8_q3r16_gemm_i8mm(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                         const uint8_t* w, const int8_t* xq, const float* xscale,
                         const int32_t* xsum, float* y, size_t y_stride) {
  qd8_q3r16::Gemm<I8mm>(m, rows, groups, groups_per_scale, w, xq, xscale, xsum, y,
                        y_stride);
}

}  // namespace kite::kernels
