// The NEON tile of qd8-q3r16-gemm, shared by neon.cc (vmlal.s8) and neondot.cc (sdot;
// i8mm.cc uses its DecodeQuad): T tokens over the 16 rows of a block, one quad of 4 rows (one
// float32x4 accumulator per token) at a time.
//
// Bytes q*16 .. q*16+15 of each 64-byte plane slice hold rows 4q..4q+3 x 4 bytes (a row's
// byte j is column j of every column quad), so one 16-byte vector of the low-bit slice h
// and one of the high-bit plane give the codes of 4 column quads of a row quad. DecodeQuad
// expands them into 8 int8 vectors, one per column quad k (columns 4k..4k+3 of the 4 rows):
// the low 2 bits shifted down, the high bit shifted down and inserted above them (vsli),
// then a mask (3 or 4 instructions per vector). That is the q4r16 tiles' shape, so the dot
// steps are the same idea: codes 0..7 as unsigned weights, sum (u - 4) x = sum u x - 4 xsum.
// Include only from the Arm ISA files: everything here is static inline or instantiated with
// the includer's internal policy, so each file gets its own copy built with its own -march.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels::qd8_q3r16 {

// The dot-step policy D of NeonTile<D> provides:
//   static constexpr size_t kTokenTile;  // tokens per tile
//   struct Act;                          // one token's 32 activations of a group, as the
//                                        // dot step wants them
//   static Act LoadAct(const int8_t* x);
//   static int32x4_t Dot(const int8x16_t* codes, const Act& x, int32_t xsum);
//       // the quad's 4 row dot products sum (u - 4) x over the group; codes[k]: DecodeQuad's
//       // column quad k

// v >> kShift per byte (v itself for 0: vshr takes 1..8).
template <int kShift>
static inline uint8x16_t ShiftRightU8(uint8x16_t v) {
  if constexpr (kShift == 0) {
    return v;
  } else {
    return vshrq_n_u8(v, kShift);
  }
}

// The codes (0..7) of column quad k from the quad's two low-bit vectors and its high-bit
// vector: bits [2(k%4), 2(k%4)+2) of low[k/4] and bit k of high.
template <int k>
static inline int8x16_t CodesOfQuad(const uint8x16_t* low, uint8x16_t high) {
  // vsli keeps the destination's 2 low bits and inserts (high >> k) << 2 above them.
  const uint8x16_t u = vsliq_n_u8(ShiftRightU8<2 * (k % 4)>(low[k / 4]), ShiftRightU8<k>(high), 2);
  if constexpr (k == 7) {
    return vreinterpretq_s8_u8(u);  // high >> 7 is the bit alone
  } else {
    return vreinterpretq_s8_u8(vandq_u8(u, vdupq_n_u8(0x07)));
  }
}

// The codes of row quad q (rows 4q..4q+3) of a block: codes[k] for column quad k, as int8
// (0..7), 4 bytes per row.
static inline void DecodeQuad(const uint8_t* blk, size_t q, int8x16_t* codes) {
  const uint8x16_t low[2] = {vld1q_u8(blk + q * 16), vld1q_u8(blk + 64 + q * 16)};
  const uint8x16_t high = vld1q_u8(blk + kQ3R16HighBitsOffset + q * 16);
  codes[0] = CodesOfQuad<0>(low, high);
  codes[1] = CodesOfQuad<1>(low, high);
  codes[2] = CodesOfQuad<2>(low, high);
  codes[3] = CodesOfQuad<3>(low, high);
  codes[4] = CodesOfQuad<4>(low, high);
  codes[5] = CodesOfQuad<5>(low, high);
  codes[6] = CodesOfQuad<6>(low, high);
  codes[7] = CodesOfQuad<7>(low, high);
}

// Policy of qd8_q3r16::Gemm built from the dot step D.
template <class D>
struct NeonTile {
  static constexpr size_t kTokenTile = D::kTokenTile;

  // y[t][r] for T tokens and the rows of one 16-row block; `n` rows (<= 16) stored. Does not
  // prefetch (`next` is ignored).
  template <size_t T, size_t S>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* /*next*/) {
    const size_t x_stride = groups * kQ4R16GroupSize;
    float32x4_t acc[T][4];
    for (size_t t = 0; t < T; ++t) {
      for (size_t q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
    }
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = CodesOf<S>(wb, g);
      const uint8_t* scales = ScalesOf<S>(wb, g);
      typename D::Act xa[T];
      float xs[T];
      int32_t xsg[T];
      for (size_t t = 0; t < T; ++t) {
        xa[t] = D::LoadAct(xq + t * x_stride + g * kQ4R16GroupSize);
        xs[t] = xscale[t * groups + g];
        xsg[t] = xsum[t * groups + g];
      }
      for (size_t q = 0; q < 4; ++q) {
        int8x16_t codes[8];
        DecodeQuad(blk, q, codes);
        const float32x4_t d = LoadHalf4Neon(scales + q * 8);
        for (size_t t = 0; t < T; ++t) {
          const float32x4_t dot = vcvtq_f32_s32(D::Dot(codes, xa[t], xsg[t]));
          acc[t][q] = vfmaq_f32(acc[t][q], vmulq_n_f32(dot, xs[t]), d);
        }
      }
    }
    for (size_t t = 0; t < T; ++t) {
      for (size_t q = 0; q < 4 && q * 4 < n; ++q) {
        StoreLanesNeon(y + t * y_stride + q * 4, acc[t][q], n - q * 4);
      }
    }
  }
};

}  // namespace kite::kernels::qd8_q3r16
