// qd8-q4r16-gemm with AVX2: vpmaddubsw + vpmaddwd, in the 256-bit tiles of avx2-tiles.h.
// Compiled with -mavx2 -mfma -mf16c.
//
// vpmaddubsw multiplies unsigned bytes (nibbles, <= 15) by signed bytes (|xq| <= 128) and
// adds adjacent pairs into int16: |pair| <= 3840. A group contributes 8 such pair sums per
// int16 lane (4 slices x low/high nibbles), at most 30720 < 32767, so they accumulate in
// int16 without saturating; one vpmaddwd with ones then widens each row's lane to int32.
#include <immintrin.h>

#include "sdk/kernels/qd8-q4r16-gemm/avx2-tiles.h"
#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

struct Avx2Dot {
  // Tokens sharing one pass over a half block (prefill): the half block's 8 unpacked weight
  // vectors stay in registers for all of them (4 measured best; the token-interleaved order
  // of the VNNI variants makes GCC reassociate the int16 sums and spill here).
  static constexpr size_t kTokenTile = 4;
  // Offset-free: sum (u - 8) x = sum u x - 8 sum x, exactly, with no offset term.
  static constexpr bool kSymOffsetTerm = false;

  // Chains are int16 pair sums (see the top).
  static __m256i Start() { return _mm256_setzero_si256(); }
  static __m256i Add(__m256i s, __m256i u, __m256i x) {
    return _mm256_add_epi16(s, _mm256_maddubs_epi16(u, x));
  }
  template <bool kSym>
  static __m256 ToFloat(__m256i s, int32_t xsum) {
    __m256i dot = _mm256_madd_epi16(s, _mm256_set1_epi16(1));
    if (kSym) dot = _mm256_sub_epi32(dot, _mm256_set1_epi32(8 * xsum));
    return _mm256_cvtepi32_ps(dot);
  }

  // The half block's weights are unpacked once; each token then runs two int16 chains (low /
  // high nibbles) to completion.
  template <size_t T, class F>
  static void GroupChains(const uint8_t* blk, size_t h, const int8_t* x0, size_t x_stride,
                          F&& consume) {
    const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
    // Slice p (64 bytes) holds per row columns p*4..p*4+3 (low nibbles) and
    // 16+p*4..16+p*4+3 (high nibbles); rows 8h..8h+7 are its bytes [32h, 32h + 32).
    __m256i lo[4], hi[4];
#pragma GCC unroll 4
    for (size_t p = 0; p < 4; ++p) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
      lo[p] = _mm256_and_si256(v, nibble_mask);
      hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask);
    }
#pragma GCC unroll 4
    for (size_t t = 0; t < T; ++t) {
      const int8_t* x = x0 + t * x_stride;
      __m256i s0 = _mm256_maddubs_epi16(lo[0], Broadcast4Avx2(x));
      __m256i s1 = _mm256_maddubs_epi16(hi[0], Broadcast4Avx2(x + 16));
#pragma GCC unroll 4
      for (size_t p = 1; p < 4; ++p) {
        s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(lo[p], Broadcast4Avx2(x + p * 4)));
        s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(hi[p], Broadcast4Avx2(x + 16 + p * 4)));
      }
      consume(t, _mm256_add_epi16(s0, s1));
    }
  }
};

using Avx2 = qd8_q4r16::Ymm<Avx2Dot>;

// The codebook layout: vpmaddubsw needs one unsigned operand, so the activations' magnitudes
// (|xq| <= 128 fits a byte) multiply the entries carrying the activations' signs
// (|entry| <= 127 by the format): each pair sum is at most 2 * 128 * 127 = 32512 < 32767, and
// vpmaddwd widens it to int32 at once.
struct Avx2CbDot {
  static constexpr size_t kTokenTile = 4;
  static __m256i Table(const int8_t* codebook) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codebook)));
  }
  static __m256i Start(int32_t /*xsum*/) { return _mm256_setzero_si256(); }
  static __m256i Add(__m256i s, __m256i w, __m256i x) {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(w, x));
    return _mm256_add_epi32(s, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
  }
};

using Avx2Cb = qd8_q4r16::YmmCb<Avx2CbDot>;

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(avx2, Avx2)
KITE_QD8_Q4R16CB_GEMM_VARIANT(avx2, Avx2Cb)

}  // namespace kite::kernels
