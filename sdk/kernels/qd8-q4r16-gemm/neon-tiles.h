// The NEON tile of qd8-q4r16-gemm, shared by neon.cc (vmlal.s8) and neondot.cc (sdot;
// i8mm.cc uses its UnpackQuad): T tokens over the 16 rows of a block, one quad of 4 rows (one
// float32x4 accumulator per token) at a time. In a 64-byte slice p of a block, each 16-byte
// vector holds a quad x 4 bytes: row r's bytes are columns p*4..p*4+3 (low nibbles) and
// 16+p*4..16+p*4+3 (high nibbles). The ISA file supplies the integer dot step as a policy
// (see NeonTile). The codebook layout (Q4_R16_G32_CB) looks each quad's codes up in the
// tensor's 16 int8 entries with a byte table lookup (tbl) and feeds the same dot steps int8
// weights. Include only from the Arm ISA files: everything here is static inline or
// instantiated with the includer's internal policy, so each file gets its own copy built
// with its own -march.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels::qd8_q4r16 {

// The dot-step policy D of NeonTile<D> provides:
//   static constexpr size_t kTokenTile;  // tokens per tile
//   struct Act;                          // one token's 32 activations of a group, as the
//                                        // dot step wants them
//   static Act LoadAct(const int8_t* x);
//   template <bool kSym> static int32x4_t Dot(const int8x16_t* lo, const int8x16_t* hi,
//                                             const Act& x, int32_t xsum);
//       // the quad's 4 row dot products sum u * x over the group (lo[p] / hi[p]: the low /
//       // high nibbles of slice p), minus 8 xsum when kSym (offset-free: sum (u - 8) x)
//   static int32x4_t DotCb(const int8x16_t* lo, const int8x16_t* hi, const Act& x);
//       // the same sums for any int8 weights in [-127, 127] (codebook entries), no offset

// The nibbles of quad q (rows 4q..4q+3) of a block: lo[p] / hi[p] the low / high nibbles of
// slice p, as int8 (0..15).
static inline void UnpackQuad(const uint8_t* blk, size_t q, int8x16_t* lo, int8x16_t* hi) {
  const uint8x16_t nibble_mask = vdupq_n_u8(0x0F);
  for (size_t p = 0; p < 4; ++p) {
    const uint8x16_t v = vld1q_u8(blk + p * 64 + q * 16);
    lo[p] = vreinterpretq_s8_u8(vandq_u8(v, nibble_mask));
    hi[p] = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
  }
}

// A tensor's 16 codebook entries as a byte lookup table, for DecodeQuad.
struct CodebookTable {
#if defined(__aarch64__)
  int8x16_t t;
  CodebookTable() : t(vdupq_n_s8(0)) {}
  explicit CodebookTable(const int8_t* codebook) : t(vld1q_s8(codebook)) {}
  int8x16_t Lookup(int8x16_t codes) const { return vqtbl1q_s8(t, vreinterpretq_u8_s8(codes)); }
#else
  int8x8x2_t t;  // armv7: vtbl2 looks 8 indices up in a 16-byte table
  CodebookTable() : t{{vdup_n_s8(0), vdup_n_s8(0)}} {}
  explicit CodebookTable(const int8_t* codebook) : t{{vld1_s8(codebook), vld1_s8(codebook + 8)}} {}
  int8x16_t Lookup(int8x16_t codes) const {
    return vcombine_s8(vtbl2_s8(t, vget_low_s8(codes)), vtbl2_s8(t, vget_high_s8(codes)));
  }
#endif
};

// UnpackQuad's codes (0..15) replaced by their codebook entries, in place.
static inline void DecodeQuad(const CodebookTable& cb, int8x16_t* lo, int8x16_t* hi) {
  for (size_t p = 0; p < 4; ++p) {
    lo[p] = cb.Lookup(lo[p]);
    hi[p] = cb.Lookup(hi[p]);
  }
}

// Policy of qd8_q4r16::Gemm and qd8_q4r16::GemmCb built from the dot step D.
template <class D>
struct NeonTile {
  static constexpr size_t kTokenTile = D::kTokenTile;

  // y[t][r] for T tokens and the rows of one 16-row block; `n` rows (<= 16) stored. Does not
  // prefetch (`next` is ignored).
  template <bool kSym, size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* /*next*/) {
    Block<kSym, false, T>(groups, wb, nullptr, xq, xscale, xsum, y, y_stride, n);
  }

  // The same over Q4_R16_G32_CB blocks (weights codebook[u] * d).
  template <size_t T>
  static void TileCb(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                     const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                     size_t n, const uint8_t* /*next*/) {
    Block<true, true, T>(groups, wb, codebook, xq, xscale, xsum, y, y_stride, n);
  }

 private:
  // Tile for layout kSym, or with kCb (and kSym) the codebook layout.
  template <bool kSym, bool kCb, size_t T>
  static void Block(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                    const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                    size_t n) {
    static_assert(!kCb || kSym, "the codebook layout has the offset-free blocks");
    const CodebookTable cb = kCb ? CodebookTable(codebook) : CodebookTable();  // unused unless kCb
    const size_t x_stride = groups * kQ4R16GroupSize;
    float32x4_t acc[T][4];
    for (size_t t = 0; t < T; ++t) {
      for (size_t q = 0; q < 4; ++q) acc[t][q] = vdupq_n_f32(0.0f);
    }
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = wb + g * kBlockBytesOf<kSym>;
      typename D::Act xa[T];
      float xs[T], xsx[T];
      int32_t xsg[T];
      for (size_t t = 0; t < T; ++t) {
        xa[t] = D::LoadAct(xq + t * x_stride + g * kQ4R16GroupSize);
        xs[t] = xscale[t * groups + g];
        xsg[t] = xsum[t * groups + g];
        xsx[t] = xs[t] * static_cast<float>(xsg[t]);
      }
      for (size_t q = 0; q < 4; ++q) {
        int8x16_t lo[4], hi[4];
        UnpackQuad(blk, q, lo, hi);
        if (kCb) DecodeQuad(cb, lo, hi);
        const float32x4_t d = LoadHalf4Neon(blk + kQ4R16ScalesOffset + q * 8);
        const float32x4_t o =
            kSym ? vdupq_n_f32(0.0f) : LoadHalf4Neon(blk + kQ4R16OffsetsOffset + q * 8);
        for (size_t t = 0; t < T; ++t) {
          const int32x4_t dot = kCb ? D::DotCb(lo, hi, xa[t])
                                    : D::template Dot<kSym>(lo, hi, xa[t], xsg[t]);
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
};

}  // namespace kite::kernels::qd8_q4r16
