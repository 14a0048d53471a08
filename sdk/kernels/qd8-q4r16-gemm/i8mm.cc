// qd8-q4r16-gemm with the int8 matrix multiply (smmla, aarch64 with i8mm). Compiled with
// -march=armv8.2-a+dotprod+i8mm. Pairs of tokens go through smmla; a single token (decode,
// or the last of an odd count) goes through the dotprod variant, which dispatch guarantees
// is available too. The codebook layout looks its codes up (tbl, neon-tiles.h) before the
// same tiles.
//
// smmla multiplies a 2x8 int8 matrix (two tokens' 8 consecutive activations) by the
// transpose of another (two rows' 8 weights over the same columns) into a 2x2 int32 tile.
// The layout stores a row's columns in 4-byte runs: slice p holds columns p*4..p*4+3 (low
// nibbles) and 16+p*4.. (high), 16 rows x 4 bytes per slice. Zipping the 32-bit lanes of
// slices p and p+1 (p = 0, 2) for the same 4 rows gives each row's 8 consecutive columns
// p*4..p*4+7 side by side: rows 0-1 of the quad from vzip1, rows 2-3 from vzip2. The
// activations of those columns are 8 contiguous bytes, so no repacking of x is needed.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

using qd8_q4r16::kBlockBytesOf;

// y[t][r] for tokens t0 = xq row 0 and t1 = row 1 and the rows of one 16-row block; `n`
// rows (<= 16) stored. With kCb (and kSym), the codebook layout: codes looked up in
// `codebook` (null otherwise) before the same smmla tiles.
template <bool kSym, bool kCb>
void BlockPair(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
               const float* xscale, const int32_t* xsum, float* y, size_t y_stride, size_t n) {
  static_assert(!kCb || kSym, "the codebook layout has the offset-free blocks");
  const qd8_q4r16::CodebookTable cb =
      kCb ? qd8_q4r16::CodebookTable(codebook) : qd8_q4r16::CodebookTable();  // unused unless kCb
  const size_t x_stride = groups * kQ4R16GroupSize;
  float32x4_t acc0[4], acc1[4];  // token 0 / token 1, one vector per quad of rows
  for (size_t q = 0; q < 4; ++q) acc0[q] = acc1[q] = vdupq_n_f32(0.0f);
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = wb + g * kBlockBytesOf<kSym>;
    const int8_t* x0 = xq + g * kQ4R16GroupSize;
    const int8_t* x1 = x0 + x_stride;
    // a[k]: both tokens' columns k*8..k*8+7 (k = 0, 1: low-nibble columns; 2, 3: high).
    int8x16_t a[4];
    for (size_t k = 0; k < 4; ++k) a[k] = vcombine_s8(vld1_s8(x0 + k * 8), vld1_s8(x1 + k * 8));
    const float xs0 = xscale[g], xs1 = xscale[groups + g];
    const float xsx0 = xs0 * static_cast<float>(xsum[g]);
    const float xsx1 = xs1 * static_cast<float>(xsum[groups + g]);
    // Offset-free: each tile starts at -8 sum x of its token, {t0, t0, t1, t1}.
    // (The codebook's entries carry no offset.)
    const bool minus8 = kSym && !kCb;
    const int32_t s0 = minus8 ? -8 * xsum[g] : 0, s1 = minus8 ? -8 * xsum[groups + g] : 0;
    const int32x4_t start = vcombine_s32(vdup_n_s32(s0), vdup_n_s32(s1));
    for (size_t q = 0; q < 4; ++q) {
      int8x16_t lo[4], hi[4];
      qd8_q4r16::UnpackQuad(blk, q, lo, hi);
      if (kCb) qd8_q4r16::DecodeQuad(cb, lo, hi);
      // c01 = {t0 r0, t0 r1, t1 r0, t1 r1}, c23 the same for rows 2-3 of the quad.
      int32x4_t c01 = start, c23 = start;
      for (size_t k = 0; k < 2; ++k) {
        const int32x4_t l0 = vreinterpretq_s32_s8(lo[2 * k]);
        const int32x4_t l1 = vreinterpretq_s32_s8(lo[2 * k + 1]);
        const int32x4_t h0 = vreinterpretq_s32_s8(hi[2 * k]);
        const int32x4_t h1 = vreinterpretq_s32_s8(hi[2 * k + 1]);
        c01 = vmmlaq_s32(c01, a[k], vreinterpretq_s8_s32(vzip1q_s32(l0, l1)));
        c23 = vmmlaq_s32(c23, a[k], vreinterpretq_s8_s32(vzip2q_s32(l0, l1)));
        c01 = vmmlaq_s32(c01, a[2 + k], vreinterpretq_s8_s32(vzip1q_s32(h0, h1)));
        c23 = vmmlaq_s32(c23, a[2 + k], vreinterpretq_s8_s32(vzip2q_s32(h0, h1)));
      }
      // Regroup by token: {r0, r1, r2, r3} for t0 (low halves) and t1 (high halves).
      const int64x2_t c01_64 = vreinterpretq_s64_s32(c01);
      const int64x2_t c23_64 = vreinterpretq_s64_s32(c23);
      const float32x4_t dot0 = vcvtq_f32_s32(vreinterpretq_s32_s64(vzip1q_s64(c01_64, c23_64)));
      const float32x4_t dot1 = vcvtq_f32_s32(vreinterpretq_s32_s64(vzip2q_s64(c01_64, c23_64)));
      const float32x4_t d = LoadHalf4Neon(blk + kQ4R16ScalesOffset + q * 8);
      acc0[q] = vfmaq_f32(acc0[q], vmulq_n_f32(dot0, xs0), d);
      acc1[q] = vfmaq_f32(acc1[q], vmulq_n_f32(dot1, xs1), d);
      if (!kSym) {
        const float32x4_t o = LoadHalf4Neon(blk + kQ4R16OffsetsOffset + q * 8);
        acc0[q] = vfmaq_n_f32(acc0[q], o, xsx0);
        acc1[q] = vfmaq_n_f32(acc1[q], o, xsx1);
      }
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
  template <bool kSym, size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* /*next*/) {
    if constexpr (T == 2) {
      BlockPair<kSym, false>(groups, wb, nullptr, xq, xscale, xsum, y, y_stride, n);
    } else {
      (kSym ? qd8_q4r16sym_gemm_neondot : qd8_q4r16_gemm_neondot)(1, n, groups, wb, xq, xscale,
                                                                xsum, y, y_stride);
    }
  }
  template <size_t T>
  static void TileCb(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                     const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                     size_t n, const uint8_t* /*next*/) {
    if constexpr (T == 2) {
      BlockPair<true, true>(groups, wb, codebook, xq, xscale, xsum, y, y_stride, n);
    } else {
      qd8_q4r16cb_gemm_neondot(1, n, groups, wb, codebook, xq, xscale, xsum, y, y_stride);
    }
  }
};

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(i8mm, I8mm)
KITE_QD8_Q4R16CB_GEMM_VARIANT(i8mm, I8mm)

}  // namespace kite::kernels
