// The NEON tile of qd8-q4sp24-gemm, shared by neon.cc (vmull.s8) and neondot.cc (sdot): T
// tokens over the 16 rows of a block, one quad of 4 rows (one float32x4 accumulator per
// token) at a time. In a sub-block, the 16 bytes at 16 h of each 64-byte nibble region and of
// the positions hold quad h x 4 bytes (one dword per row, the shape of a 4-row int32 vector).
// A table lookup gathers, per row, the activations its kept values multiply: byte j of slice s
// takes activation 8 s + 4 (j / 2) + p, p its 2-bit position. The ISA file supplies the
// integer dot step as a policy (see NeonTile). Include only from the Arm ISA files:
// everything here is static inline or instantiated with the includer's internal policy, so
// each file gets its own copy built with its own -march.
//
// The weights enter as q = u - 8 in [-8, 7] and the activations as they are (int8): both
// signed, so no bias term is needed.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels::qd8_q4sp24 {

// The dot-step policy D of NeonTile<D> provides:
//   static constexpr size_t kTokenTile;  // tokens per tile
//   static int32x4_t Dot(const int8x16_t (&q)[4], const int8x16_t (&a)[4]);
//       // the quad's 4 row dot products sum_s sum_j q[s] a[s] over each row's dword, where
//       // q[s] / a[s] are the weights / gathered activations of slice s

// table[idx[k]] for each byte k (every index < 16).
static inline int8x16_t Lookup16Neon(int8x16_t table, uint8x16_t idx) {
#if defined(__aarch64__)
  return vqtbl1q_s8(table, idx);
#else
  const int8x8x2_t t = {{vget_low_s8(table), vget_high_s8(table)}};
  return vcombine_s8(vtbl2_s8(t, vreinterpret_s8_u8(vget_low_u8(idx))),
                     vtbl2_s8(t, vreinterpret_s8_u8(vget_high_u8(idx))));
#endif
}

// Policy of qd8_q4sp24::Gemm built from the dot step D.
template <class D>
struct NeonTile {
  static constexpr size_t kTokenTile = D::kTokenTile;

  // y[t][r] for T tokens and the rows of one block (n of them stored). Does not prefetch
  // (`next` is ignored).
  template <size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   float* y, size_t y_stride, size_t n, const uint8_t* /*next*/) {
    const uint8x16_t nibble_mask = vdupq_n_u8(0x0F);
    const uint8x16_t pos_mask = vdupq_n_u8(0x03);
    const int8x16_t eight = vdupq_n_s8(8);
    // Index offsets 8 (s % 2) + 4 (j / 2) for byte j of slice s (little-endian dwords).
    const uint8x16_t off_even = vreinterpretq_u8_u32(vdupq_n_u32(0x04040000u));
    const uint8x16_t off_odd = vreinterpretq_u8_u32(vdupq_n_u32(0x0C0C0808u));
    const size_t x_stride = groups * kQ4SP24GroupSize;
    float32x4_t acc[T][4];
    for (size_t t = 0; t < T; ++t) {
      for (size_t h = 0; h < 4; ++h) acc[t][h] = vdupq_n_f32(0.0f);
    }
    for (size_t g = 0; g < groups; ++g) {
      // Group g is sub-block g % 2 of column block g / 2, whose scales it shares.
      const uint8_t* blk = wb + g / 2 * kQ4SP24BlockBytes;
      const uint8_t* sub = blk + g % 2 * kQ4SP24SubBlockBytes;
      float xs[T];
      for (size_t t = 0; t < T; ++t) xs[t] = xscale[t * groups + g];
      for (size_t h = 0; h < 4; ++h) {
        const uint8x16_t n0 = vld1q_u8(sub + h * 16);
        const uint8x16_t n1 = vld1q_u8(sub + 64 + h * 16);
        const uint8x16_t pos = vld1q_u8(sub + kQ4SP24PositionsOffset + h * 16);
        const int8x16_t q[4] = {
            vsubq_s8(vreinterpretq_s8_u8(vandq_u8(n0, nibble_mask)), eight),
            vsubq_s8(vreinterpretq_s8_u8(vandq_u8(n1, nibble_mask)), eight),
            vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(n0, 4)), eight),
            vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(n1, 4)), eight)};
        const uint8x16_t idx[4] = {vorrq_u8(vandq_u8(pos, pos_mask), off_even),
                                   vorrq_u8(vandq_u8(vshrq_n_u8(pos, 2), pos_mask), off_odd),
                                   vorrq_u8(vandq_u8(vshrq_n_u8(pos, 4), pos_mask), off_even),
                                   vorrq_u8(vshrq_n_u8(pos, 6), off_odd)};
        const float32x4_t d = LoadHalf4Neon(blk + kQ4SP24ScalesOffset + h * 8);
        for (size_t t = 0; t < T; ++t) {
          const int8_t* x = xq + t * x_stride + g * kQ4SP24GroupSize;
          const int8x16_t x_lo = vld1q_s8(x), x_hi = vld1q_s8(x + 16);
          const int8x16_t a[4] = {Lookup16Neon(x_lo, idx[0]), Lookup16Neon(x_lo, idx[1]),
                                  Lookup16Neon(x_hi, idx[2]), Lookup16Neon(x_hi, idx[3])};
          const float32x4_t dot = vcvtq_f32_s32(D::Dot(q, a));
          acc[t][h] = vfmaq_f32(acc[t][h], vmulq_n_f32(dot, xs[t]), d);
        }
      }
    }
    for (size_t t = 0; t < T; ++t) {
      for (size_t h = 0; h < 4 && h * 4 < n; ++h) {
        StoreLanesNeon(y + t * y_stride + h * 4, acc[t][h], n - h * 4);
      }
    }
  }
};

}  // namespace kite::kernels::qd8_q4sp24
