// qd8-q3r16-gemm with AVX-512 VNNI: one zmm lane per row of a 16-row block. A block's two
// 64-byte low-bit slices and its 64-byte high-bit slice give each column quad's codes
// (one dword lane per row) with a shift and a mask each, and vpdpbusd multiplies them by 4
// activation bytes broadcast to all lanes.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mf16c.

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps()
// (GCC PR 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/touch.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a row block's weights (as qd8-q4r16-gemm's AVX-512 tile).
constexpr size_t kTile = 8;
// vpternlogd immediate: (a & b) | c.
constexpr int kAndOr = 0xEA;
// Groups whose dot-product starting bits are computed at once into a stack buffer.
constexpr size_t kGroupChunk = 64;

// acc += u * (the 4 bytes at x, broadcast to every lane), exactly (vpdpbusd: unsigned
// codes times signed activations, 4 products per dword lane).
inline __m512i DotBroadcast(__m512i acc, __m512i u, const int8_t* x) {
  int32_t v;
  std::memcpy(&v, x, sizeof(v));
  return _mm512_dpbusd_epi32(acc, u, _mm512_set1_epi32(v));
}

// y[t][r] for T tokens and the 16 rows of one block (rows outside `mask` not stored); when
// `next` is not null, also prefetches that block row. Each dot product starts from
// kF32MagicBits - 4 * xsum (simd/avx2-util.h), so the accumulated integer is
// sum (u - 4) * xq (|.| <= 32 * 4 * 128 < 2^22) and its bits minus the magic are that float.
template <size_t T, size_t S>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, __mmask16 mask,
               const uint8_t* next) {
  const __m512i two_bits = _mm512_set1_epi8(0x03);
  const __m512i bit2 = _mm512_set1_epi8(0x04);
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  const __m512 magic = _mm512_set1_ps(kF32Magic);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m512 acc[T];
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  alignas(64) int32_t xinit[T][kGroupChunk];
  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    for (size_t t = 0; t < T; ++t) {
      for (size_t g = 0; g < gn; g += 16) {
        const size_t n = gn - g < 16 ? gn - g : 16;
        const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
        const __m512i c = _mm512_maskz_loadu_epi32(m, xsum + t * groups + g0 + g);
        _mm512_store_si512(&xinit[t][g], _mm512_sub_epi32(magic_bits, _mm512_slli_epi32(c, 2)));
      }
    }
    if (T == 1) TouchL1(xq + g0 * kQ4R16GroupSize, gn * kQ4R16GroupSize);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* blk = qd8_q3r16::CodesOf<S>(wb, g0 + g);
      constexpr size_t kGroupBytes = qd8_q3r16::kBytesPerGroup<S>;
      if (next != nullptr) PrefetchBytesX86(next + (g0 + g) * kGroupBytes, kGroupBytes);
      const int8_t* x0 = xq + (g0 + g) * kQ4R16GroupSize;
      __m512i s[T];
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) s[t] = _mm512_set1_epi32(xinit[t][g]);
      // A single token's quads 4..7 run as a second chain (an exact integer sum), so its
      // group is two chains of 4 vpdpbusd instead of one of 8.
      __m512i s1 = _mm512_setzero_si512();
      __m512i high = _mm512_loadu_si512(blk + kQ3R16HighBitsOffset);
#if defined(__GNUC__)
      // One load per slice: GCC would fold it into every shift below (8 loads of each).
      __asm__("" : "+v"(high));
#endif
      // Quad k = 4h + q: low 2 bits at bits [2q, 2q + 2) of slice h, high bit at bit k.
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        __m512i low = _mm512_loadu_si512(blk + h * 64);
#if defined(__GNUC__)
        __asm__("" : "+v"(low));
#endif
#pragma GCC unroll 4
        for (size_t q = 0; q < 4; ++q) {
          const size_t k = 4 * h + q;
          // u = (low >> 2q & 3) | (bit k of high, moved to bit 2): a 16-bit shift by at
          // most 6 moves no neighbouring byte's bit into a byte's bits 0..2.
          const __m512i hb = k >= 2 ? _mm512_srli_epi16(high, static_cast<unsigned>(k - 2))
                                    : _mm512_slli_epi16(high, static_cast<unsigned>(2 - k));
          const __m512i lb = q == 0 ? low : _mm512_srli_epi16(low, static_cast<unsigned>(2 * q));
          const __m512i u = _mm512_ternarylogic_epi32(lb, two_bits, _mm512_and_si512(hb, bit2),
                                                      kAndOr);
          if (T == 1 && h == 1) {
            s1 = DotBroadcast(s1, u, x0 + 4 * k);
          } else {
#pragma GCC unroll 8
            for (size_t t = 0; t < T; ++t) s[t] = DotBroadcast(s[t], u, x0 + t * x_stride + 4 * k);
          }
        }
      }
      if (T == 1) s[0] = _mm512_add_epi32(s[0], s1);
      const __m512 d = _mm512_cvtph_ps(
          _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(qd8_q3r16::ScalesOf<S>(wb, g0 + g))));
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) {
        const __m512 dot = _mm512_sub_ps(_mm512_castsi512_ps(s[t]), magic);
        const __m512 sx = _mm512_mul_ps(dot, _mm512_set1_ps(xscale[t * groups + g0 + g]));
        acc[t] = _mm512_fmadd_ps(sx, d, acc[t]);
      }
    }
  }
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride, mask, acc[t]);
}

struct Policy {
  static constexpr size_t kTokenTile = kTile;
  template <size_t T, size_t S>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* next) {
    BlockTile<T, S>(groups, wb, xq, xscale, xsum, y, y_stride, TailMask16(n), next);
  }
};

}  // namespace

void qd8_q3r16_gemm_avx512vnni(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                               const uint8_t* w, const int8_t* xq, const float* xscale,
                               const int32_t* xsum, float* y, size_t y_stride) {
  qd8_q3r16::Gemm<Policy>(m, rows, groups, groups_per_scale, w, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
