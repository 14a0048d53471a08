// qd8-q4r16-gemm with AVX-VNNI: 256-bit vpdpbusd, in the 256-bit tiles of avx2-tiles.h.
// Compiled with -mavx2 -mavxvnni -mfma -mf16c.
#include <immintrin.h>

#include "sdk/kernels/qd8-q4r16-gemm/avx2-tiles.h"
#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

// Dot products start from kF32MagicBits (simd/avx2-util.h): |dot| < 2^22, so the final int32
// bits read as a float are exactly 1.5 * 2^23 + dot (a subtraction instead of a conversion).

struct AvxVnniDot {
  // Tokens sharing one pass over a half block (prefill): each weight slice is unpacked once
  // for all of them and their dot-product chains interleave. 5 dot products + 5 accumulators
  // + weights and constants fit the 16 ymm registers (measured best of 3..6).
  static constexpr size_t kTokenTile = 5;
  // Offset-free: the offset term with o = -8 d.
  static constexpr bool kSymOffsetTerm = true;

  static __m256i Start() { return _mm256_set1_epi32(kF32MagicBits); }
  // vpdpbusd: unsigned nibbles times signed activations, 4 products per row lane.
  static __m256i Add(__m256i s, __m256i u, __m256i x) { return _mm256_dpbusd_avx_epi32(s, u, x); }
  template <bool kSym>
  static __m256 ToFloat(__m256i s, int32_t /*xsum*/) {
    return _mm256_sub_ps(_mm256_castsi256_ps(s), _mm256_set1_ps(kF32Magic));
  }

  // Tokens are interleaved so consecutive vpdpbusd are independent.
  template <size_t T, class F>
  static void GroupChains(const uint8_t* blk, size_t h, const int8_t* x0, size_t x_stride,
                          F&& consume) {
    const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
    __m256i s[T];
#pragma GCC unroll 8
    for (size_t t = 0; t < T; ++t) s[t] = Start();
    // Slice p (64 bytes) holds per row columns p*4..p*4+3 (low nibbles) and
    // 16+p*4..16+p*4+3 (high nibbles); rows 8h..8h+7 are its bytes [32h, 32h + 32).
#pragma GCC unroll 4
    for (size_t p = 0; p < 4; ++p) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
      const __m256i lo = _mm256_and_si256(v, nibble_mask);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask);
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) {
        s[t] = Add(s[t], lo, Broadcast4Avx2(x0 + t * x_stride + p * 4));
        s[t] = Add(s[t], hi, Broadcast4Avx2(x0 + t * x_stride + 16 + p * 4));
      }
    }
#pragma GCC unroll 8
    for (size_t t = 0; t < T; ++t) consume(t, s[t]);
  }
};

using AvxVnni = qd8_q4r16::Ymm<AvxVnniDot>;

// The codebook layout: vpdpbusd on entry + 128 (unsigned) from a start of -128 * xsum, so
// each chain ends at sum entry * xq exactly.
struct AvxVnniCbDot {
  static constexpr size_t kTokenTile = 4;
  static __m256i Table(const int8_t* codebook) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codebook));
    return _mm256_broadcastsi128_si256(_mm_xor_si128(c, _mm_set1_epi8(static_cast<char>(0x80))));
  }
  static __m256i Start(int32_t xsum) { return _mm256_set1_epi32(-128 * xsum); }
  static __m256i Add(__m256i s, __m256i w, __m256i x) { return _mm256_dpbusd_avx_epi32(s, w, x); }
};

using AvxVnniCb = qd8_q4r16::YmmCb<AvxVnniCbDot>;

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(avxvnni, AvxVnni)
KITE_QD8_Q4R16CB_GEMM_VARIANT(avxvnni, AvxVnniCb)

}  // namespace kite::kernels
