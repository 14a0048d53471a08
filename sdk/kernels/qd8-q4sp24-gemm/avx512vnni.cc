// qd8-q4sp24-gemm with AVX-512 VNNI: one zmm lane per row of a 16-row block. Instead of
// expanding the 2:4 weights to dense, vpshufb gathers for every row the activations its
// kept values multiply (the positions are the shuffle indices), so each 64-byte slice of
// kept values feeds one vpdpbusd. Compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512vnni -mfma -mf16c.
//
// Numerics. vpdpbusd multiplies unsigned by signed bytes, and both operands are signed
// here, so the activations are biased to a = xq + 128 (xq ^ 0x80, exact for -128 too) and
// the weights enter as b = 16 q (nibble u in the high half of the byte, xor 0x80 = 16u -
// 128): sum a*b = 16 sum q*xq + 2048 sum q. The second term depends on the weights only and
// is subtracted once per block for all tokens. |16 sum q*xq| <= 16 * 16 * 8 * 128 < 2^22.

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps()
// (GCC PR 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a row block's weights (prefill): the unpacked weights and
// shuffle indices of a sub-block are built once for all of them.
constexpr size_t kTile = 8;

// Dot products start from kF32MagicBits (simd/avx2-util.h) minus the weight-only term: the
// final int32 bits, read as a float, are exactly 1.5 * 2^23 + 16 * dot.

// vpternlogd immediates: (a & b) ^ c and (a & b) | c.
constexpr int kAndXor = 0x6A;
constexpr int kAndOr = 0xEA;

// acc[t] += xscale[t][g] * d16 * (16 * dot of sub-block `sb` with group g of token t), for
// T tokens and the 16 rows of a block.
template <size_t T>
inline void SubBlock(const uint8_t* sb, size_t g, size_t groups, const int8_t* xq,
                     const float* xscale, __m512 d16, __m512* acc) {
  const __m512i hi_mask = _mm512_set1_epi8(static_cast<char>(0xF0));
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i pos_mask = _mm512_set1_epi8(0x03);
  // Shuffle index offsets: slice s covers quads 2(s%2) and 2(s%2)+1 of its 16-column half:
  // byte j of a row's dword indexes 8 (s % 2) + 4 (j / 2) + position.
  const __m512i off_even = _mm512_set1_epi32(0x04040000);
  const __m512i off_odd = _mm512_set1_epi32(0x0C0C0808);
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  const __m512 magic = _mm512_set1_ps(kF32Magic);
  const size_t x_stride = groups * kQ4SP24GroupSize;
  const __m512i n0 = _mm512_loadu_si512(sb);
  const __m512i n1 = _mm512_loadu_si512(sb + 64);
  const __m512i pos = _mm512_loadu_si512(sb + kQ4SP24PositionsOffset);
  // Slices 0, 1: low nibbles of chunks 0, 1; slices 2, 3: their high nibbles.
  const __m512i w0 = _mm512_ternarylogic_epi32(_mm512_slli_epi16(n0, 4), hi_mask, bias, kAndXor);
  const __m512i w1 = _mm512_ternarylogic_epi32(_mm512_slli_epi16(n1, 4), hi_mask, bias, kAndXor);
  const __m512i w2 = _mm512_ternarylogic_epi32(n0, hi_mask, bias, kAndXor);
  const __m512i w3 = _mm512_ternarylogic_epi32(n1, hi_mask, bias, kAndXor);
  // Position of slice s, byte j: bits [2s, 2s + 2) of byte j.
  const __m512i i0 = _mm512_ternarylogic_epi32(pos, pos_mask, off_even, kAndOr);
  const __m512i i1 =
      _mm512_ternarylogic_epi32(_mm512_srli_epi16(pos, 2), pos_mask, off_odd, kAndOr);
  const __m512i i2 =
      _mm512_ternarylogic_epi32(_mm512_srli_epi16(pos, 4), pos_mask, off_even, kAndOr);
  const __m512i i3 =
      _mm512_ternarylogic_epi32(_mm512_srli_epi16(pos, 6), pos_mask, off_odd, kAndOr);
  // 2048 * sum q per row, as 128 * sum of the b operands.
  __m512i c = _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, w0);
  c = _mm512_dpbusd_epi32(c, bias, w1);
  c = _mm512_dpbusd_epi32(c, bias, w2);
  c = _mm512_dpbusd_epi32(c, bias, w3);
  const __m512i start = _mm512_sub_epi32(magic_bits, c);
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) {
    const int8_t* x = xq + t * x_stride + g * kQ4SP24GroupSize;
    // Each 128-bit lane gets the same 16 activations, so vpshufb's in-lane indices work.
    const __m512i xlo = _mm512_xor_si512(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), bias);
    const __m512i xhi = _mm512_xor_si512(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 16))), bias);
    __m512i s = _mm512_dpbusd_epi32(start, _mm512_shuffle_epi8(xlo, i0), w0);
    s = _mm512_dpbusd_epi32(s, _mm512_shuffle_epi8(xlo, i1), w1);
    s = _mm512_dpbusd_epi32(s, _mm512_shuffle_epi8(xhi, i2), w2);
    s = _mm512_dpbusd_epi32(s, _mm512_shuffle_epi8(xhi, i3), w3);
    const __m512 dot = _mm512_sub_ps(_mm512_castsi512_ps(s), magic);
    const __m512 sx = _mm512_mul_ps(dot, _mm512_set1_ps(xscale[t * groups + g]));
    acc[t] = _mm512_fmadd_ps(sx, d16, acc[t]);
  }
}

// y[t][r] for T tokens and the 16 rows of one block row (rows outside `mask` not stored).
// Prefetches the block row `next` when not null.
template <size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale, float* y,
               size_t y_stride, __mmask16 mask, const uint8_t* next) {
  const __m512 sixteenth = _mm512_set1_ps(1.0f / 16.0f);
  __m512 acc[T];
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (size_t g = 0; g < groups; g += 2) {
    const uint8_t* blk = wb + g / 2 * kQ4SP24BlockBytes;
    if (next != nullptr) PrefetchBytesX86(next + g / 2 * kQ4SP24BlockBytes, kQ4SP24BlockBytes);
    const __m512 d16 = _mm512_mul_ps(
        _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4SP24ScalesOffset))),
        sixteenth);
    SubBlock<T>(blk, g, groups, xq, xscale, d16, acc);
    if (g + 1 < groups)
      SubBlock<T>(blk + kQ4SP24SubBlockBytes, g + 1, groups, xq, xscale, d16, acc);
  }
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride, mask, acc[t]);
}

// The driver's policy: tiles of up to kTokenTile tokens over whole 16-row blocks.
struct Avx512Vnni {
  static constexpr size_t kTokenTile = kTile;
  template <size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   float* y, size_t y_stride, size_t n, const uint8_t* next) {
    BlockTile<T>(groups, wb, xq, xscale, y, y_stride, TailMask16(n), next);
  }
};

}  // namespace

void qd8_q4sp24_gemm_avx512vnni(size_t m, size_t rows, size_t groups, const uint8_t* w,
                                const int8_t* xq, const float* xscale, float* y, size_t y_stride) {
  qd8_q4sp24::Gemm<Avx512Vnni>(m, rows, groups, w, xq, xscale, y, y_stride);
}

}  // namespace kite::kernels
