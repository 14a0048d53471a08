// F32x8: 8 floats in an __m256 (AVX2 + FMA), partial vectors through lane masks. The lane
// type contract (and why it sits in an unnamed namespace) is in simd/lanes.h.
//
// Include only from files compiled with -mavx2 -mfma (or under an equivalent target pragma).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {
namespace {

/// 8 f32 lanes (AVX2 + FMA).
struct F32x8 {
  using Vec = __m256;
  using IVec = __m256i;
  using Tail = __m256i;  // lane i set iff i < n
  static constexpr size_t kLanes = 8;

  KITE_X86_LANE_OPS(_mm256, si256)

  static Tail TailOf(size_t n) { return TailMaskAvx2(n); }
  static Vec LoadTail(Tail t, const float* p) { return _mm256_maskload_ps(p, t); }
  static Vec LoadTailOr(Tail t, const float* p, Vec rest) {
    return _mm256_blendv_ps(rest, _mm256_maskload_ps(p, t), _mm256_castsi256_ps(t));
  }
  static void StoreTail(Tail t, float* p, Vec v) { _mm256_maskstore_ps(p, t, v); }
  static Vec AddTail(Tail t, Vec a, Vec b) {
    return _mm256_add_ps(a, _mm256_and_ps(b, _mm256_castsi256_ps(t)));
  }
  static Vec RoundNearest(Vec a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // As 2^(n/2) * 2^(n - n/2): two normal factors built from exponent bits, the first product
  // normal and the second rounding (into a denormal, or to inf on overflow).
  static Vec MulPow2(Vec p, Vec n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
  static float ReduceAdd(Vec v) { return ReduceAddAvx2(v); }
  static float ReduceMax(Vec v) { return ReduceMaxAvx2(v); }
  static __m128 ReduceAdd4(Vec a, Vec b, Vec c, Vec d) { return ReduceAdd4Avx2(a, b, c, d); }
  static IVec KeepTail(Tail t, IVec a) { return _mm256_and_si256(a, t); }
  static int32_t ReduceAddI(IVec v) { return ReduceAddEpi32Avx2(v); }
  static void StoreBytes(int8_t* p, IVec a, size_t n) {
    // The saturating packs are exact for values in range.
    const __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    const __m128i q8 = _mm_packs_epi16(q16, q16);
    if (n >= 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), q8);
    } else {
      alignas(16) int8_t tmp[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(tmp), q8);
      for (size_t k = 0; k < n; ++k) p[k] = tmp[k];
    }
  }
};

}  // namespace
}  // namespace kite::kernels
