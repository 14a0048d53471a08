// qd8-q4r16-gemm with plain NEON (aarch64, and armv7 with NEON + VFPv4): widening
// multiply-accumulate (vmlal.s8) into int16, then pairwise widening to int32.
//
// In a 64-byte slice p of a block, each 16-byte vector holds 4 consecutive rows ("a quad")
// x 4 bytes: row r's bytes are columns p*4..p*4+3 (low nibbles) and 16+p*4..16+p*4+3 (high
// nibbles). Multiplying the low half of a vector (rows 0-1 of the quad) by the 4 matching
// activations repeated twice gives, per int16 lane, one row's product for one column; the
// 8 products a lane collects per group (4 slices x low/high) are at most 8 * 15 * 128 =
// 15360 in magnitude, so the int16 sums never overflow. vpaddl then folds the 4 column
// lanes of each row into int32.
#include <arm_neon.h>

#include <cassert>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a block: their float accumulators (4 per token) must stay in
// registers beside the 8 unpacked weight vectors of a quad (32 vector registers on aarch64,
// 16 on armv7).
#if defined(__aarch64__)
constexpr size_t kTokenTile = 4;
#else
constexpr size_t kTokenTile = 2;
#endif

// Bytes per block: Q4_R16_G32, or the offset-free Q4_R16_G32_S (kSym: w = d (u - 8)).
template <bool kSym>
constexpr size_t kBlockBytesOf = kSym ? kQ4R16SBlockBytes : kQ4R16BlockBytes;

// y[t][r] for T tokens and the rows of one 16-row block; `n` rows (<= 16) stored.
template <bool kSym, size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, size_t n) {
  const uint8x16_t nibble_mask = vdupq_n_u8(0x0F);
  const size_t x_stride = groups * kQ4R16GroupSize;
  float32x4_t acc[T][4];
  for (size_t t = 0; t < T; ++t) {
    for (size_t q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
  }
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = wb + g * kBlockBytesOf<kSym>;
    // Activations of each token, 4 columns repeated twice: [t][p] low, [t][4 + p] high.
    int8x8_t xr[T][8];
    float xs[T], xsx[T];
    int32_t xsum8[T];
    for (size_t t = 0; t < T; ++t) {
      const int8_t* x = xq + t * x_stride + g * kQ4R16GroupSize;
      for (size_t p = 0; p < 4; ++p) {
        xr[t][p] = Broadcast4x2Neon(x + p * 4);
        xr[t][4 + p] = Broadcast4x2Neon(x + 16 + p * 4);
      }
      xs[t] = xscale[t * groups + g];
      xsx[t] = xs[t] * static_cast<float>(xsum[t * groups + g]);
      xsum8[t] = 8 * xsum[t * groups + g];
    }
    for (size_t q = 0; q < 4; ++q) {
      int8x16_t lo[4], hi[4];
      for (size_t p = 0; p < 4; ++p) {
        const uint8x16_t v = vld1q_u8(blk + p * 64 + q * 16);
        lo[p] = vreinterpretq_s8_u8(vandq_u8(v, nibble_mask));
        hi[p] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
      }
      const float32x4_t d = LoadHalf4Neon(blk + kQ4R16ScalesOffset + q * 8);
      const float32x4_t o =
          kSym ? vdupq_n_f32(0.0f) : LoadHalf4Neon(blk + kQ4R16OffsetsOffset + q * 8);
      for (size_t t = 0; t < T; ++t) {
        int16x8_t s01 = vdupq_n_s16(0);  // rows 0-1 of the quad, 4 columns each
        int16x8_t s23 = vdupq_n_s16(0);  // rows 2-3
        for (size_t p = 0; p < 4; ++p) {
          s01 = vmlal_s8(s01, vget_low_s8(lo[p]), xr[t][p]);
          s01 = vmlal_s8(s01, vget_low_s8(hi[p]), xr[t][4 + p]);
          s23 = vmlal_s8(s23, vget_high_s8(lo[p]), xr[t][p]);
          s23 = vmlal_s8(s23, vget_high_s8(hi[p]), xr[t][4 + p]);
        }
        int32x4_t dot = PairwiseAddNeon(vpaddlq_s16(s01), vpaddlq_s16(s23));
        // Offset-free: sum (u - 8) x = sum u x - 8 sum x, exactly, in int32.
        if (kSym) dot = vsubq_s32(dot, vdupq_n_s32(xsum8[t]));
        const float32x4_t dot_f = vcvtq_f32_s32(dot);
        acc[t][q] = vfmaq_f32(acc[t][q], vmulq_n_f32(dot_f, xs[t]), d);
        if (!kSym) acc[t][q] = vfmaq_f32(acc[t][q], o, vdupq_n_f32(xsx[t]));
      }
    }
  }
  for (size_t t = 0; t < T; ++t) {
    for (size_t q = 0; q < 4 && q * 4 < n; ++q) {
      StoreLanesNeon(y + t * y_stride + q * 4, acc[t][q], n - q * 4);
    }
  }
}

template <bool kSym>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
          const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t blocks = (rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const size_t x_stride = groups * kQ4R16GroupSize;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * groups * kBlockBytesOf<kSym>;
    const size_t r0 = b * kQ4R16BlockRows;
    const size_t n = rows - r0 < kQ4R16BlockRows ? rows - r0 : kQ4R16BlockRows;
    size_t t = 0;
    for (; t + kTokenTile <= m; t += kTokenTile) {
      BlockTile<kSym, kTokenTile>(groups, wb, xq + t * x_stride, xscale + t * groups,
                                  xsum + t * groups, y + t * y_stride + r0, y_stride, n);
    }
    for (; t < m; ++t) {
      BlockTile<kSym, 1>(groups, wb, xq + t * x_stride, xscale + t * groups, xsum + t * groups,
                         y + t * y_stride + r0, y_stride, n);
    }
  }
}

}  // namespace

void qd8_q4r16_gemm_neon(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                         const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  Gemm<false>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

void qd8_q4r16s_gemm_neon(size_t m, size_t rows, size_t groups, const uint8_t* w,
                          const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                          size_t y_stride) {
  Gemm<true>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
