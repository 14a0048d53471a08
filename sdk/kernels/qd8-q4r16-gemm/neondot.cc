// qd8-q4r16-gemm with the NEON dot product (sdot, aarch64 with dotprod). Compiled with
// -march=armv8.2-a+dotprod.
//
// In a 64-byte slice p of a block, each 16-byte vector holds 4 consecutive rows ("a quad")
// x 4 bytes: row r's bytes are columns p*4..p*4+3 (low nibbles) and 16+p*4..16+p*4+3 (high
// nibbles). That is exactly sdot's shape: one vdotq_laneq_s32 of the low nibbles with the
// activation vector's 32-bit lane p gives the 4 rows' partial dot products over those 4
// columns, straight into int32 (nibbles 0..15 are valid signed bytes).
#include <arm_neon.h>

#include <cassert>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a block (16 float accumulators + 8 weight vectors + 2
// activation vectors per token fit aarch64's 32 registers).
constexpr size_t kTokenTile = 4;

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
    int8x16_t x0[T], x1[T];  // columns 0..15 and 16..31 of each token's group
    float xs[T], xsx[T];
    int32_t start[T];  // offset-free: the dot products start at -8 sum x
    for (size_t t = 0; t < T; ++t) {
      const int8_t* x = xq + t * x_stride + g * kQ4R16GroupSize;
      x0[t] = vld1q_s8(x);
      x1[t] = vld1q_s8(x + 16);
      xs[t] = xscale[t * groups + g];
      xsx[t] = xs[t] * static_cast<float>(xsum[t * groups + g]);
      start[t] = kSym ? -8 * xsum[t * groups + g] : 0;
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
        // Two chains (low / high nibbles) to halve the dependency on one accumulator.
        int32x4_t a = vdupq_n_s32(start[t]), b = vdupq_n_s32(0);
        a = vdotq_laneq_s32(a, lo[0], x0[t], 0);
        b = vdotq_laneq_s32(b, hi[0], x1[t], 0);
        a = vdotq_laneq_s32(a, lo[1], x0[t], 1);
        b = vdotq_laneq_s32(b, hi[1], x1[t], 1);
        a = vdotq_laneq_s32(a, lo[2], x0[t], 2);
        b = vdotq_laneq_s32(b, hi[2], x1[t], 2);
        a = vdotq_laneq_s32(a, lo[3], x0[t], 3);
        b = vdotq_laneq_s32(b, hi[3], x1[t], 3);
        const float32x4_t dot_f = vcvtq_f32_s32(vaddq_s32(a, b));
        acc[t][q] = vfmaq_f32(acc[t][q], vmulq_n_f32(dot_f, xs[t]), d);
        if (!kSym) acc[t][q] = vfmaq_n_f32(acc[t][q], o, xsx[t]);
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

void qd8_q4r16_gemm_neondot(size_t m, size_t rows, size_t groups, const uint8_t* w,
                            const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                            size_t y_stride) {
  Gemm<false>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

void qd8_q4r16s_gemm_neondot(size_t m, size_t rows, size_t groups, const uint8_t* w,
                             const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                             size_t y_stride) {
  Gemm<true>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
