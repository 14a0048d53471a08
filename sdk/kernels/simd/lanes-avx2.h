// F32x8, the 256-bit lane type of the x86 elementwise templates (simd/f32-exp.h and the
// families' simd.h): 8 floats in an __m256, partial vectors through lane masks. Its twin
// F32x16 (simd/lanes-avx512.h) has the same operations, so one template serves both widths.
//
// Include only from files compiled with -mavx2 -mfma (or under an equivalent target
// pragma). The type sits in an unnamed namespace on purpose: every includer gets its own
// F32x8, so each template instantiated with it has internal linkage and nothing compiled
// with one ISA's flags can be merged by the linker into another ISA's code.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

/// 8 f32 lanes (AVX2 + FMA). All members are static; see the header comment of the
/// templates for what each must compute.
struct F32x8 {
  using Vec = __m256;
  using IVec = __m256i;  // 8 int32 lanes
  using Tail = __m256i;  // lane i set iff i < n
  static constexpr size_t kLanes = 8;

  /// The first min(n, 8) lanes.
  static Tail TailOf(size_t n) { return TailMaskAvx2(n); }

  static Vec Zero() { return _mm256_setzero_ps(); }
  static Vec Set1(float x) { return _mm256_set1_ps(x); }
  static Vec Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  /// The lanes in t from p, the others 0; reads only the lanes in t.
  static Vec LoadTail(Tail t, const float* p) { return _mm256_maskload_ps(p, t); }
  /// The lanes in t from p, the others from `rest`; reads only the lanes in t.
  static Vec LoadTailOr(Tail t, const float* p, Vec rest) {
    return _mm256_blendv_ps(rest, _mm256_maskload_ps(p, t), _mm256_castsi256_ps(t));
  }
  static void StoreTail(Tail t, float* p, Vec v) { _mm256_maskstore_ps(p, t, v); }

  static Vec Add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  /// a + b in the lanes of t, a elsewhere.
  static Vec AddTail(Tail t, Vec a, Vec b) {
    return _mm256_add_ps(a, _mm256_and_ps(b, _mm256_castsi256_ps(t)));
  }
  static Vec Sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static Vec Mul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
  static Vec Div(Vec a, Vec b) { return _mm256_div_ps(a, b); }
  /// vmaxps / vminps: the second operand when either is NaN.
  static Vec Max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  static Vec Min(Vec a, Vec b) { return _mm256_min_ps(a, b); }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
  static Vec Fnma(Vec a, Vec b, Vec c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
  static Vec Neg(Vec a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static Vec Abs(Vec a) {
    return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)));
  }
  /// {a1, a0, a3, a2, ...}: the two floats of every pair swapped.
  static Vec SwapPairs(Vec a) { return _mm256_permute_ps(a, 0xB1); }
  static Vec RoundNearest(Vec a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  /// p * 2^n for integral n in [-150, 128], rounded once: as 2^(n/2) * 2^(n - n/2), two
  /// normal factors built from exponent bits, the first product normal and the second
  /// rounding (into a denormal, or to inf on overflow).
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
  /// {sum a, sum b, sum c, sum d}.
  static __m128 ReduceAdd4(Vec a, Vec b, Vec c, Vec d) { return ReduceAdd4Avx2(a, b, c, d); }
  static float ReduceMax(Vec v) { return ReduceMaxAvx2(v); }

  static IVec ZeroI() { return _mm256_setzero_si256(); }
  /// vcvtps2dq: rounds in the current mode; NaN and out-of-range give INT_MIN.
  static IVec ToInt(Vec a) { return _mm256_cvtps_epi32(a); }
  /// Each lane's low byte, sign-extended.
  static IVec LowByte(IVec a) { return _mm256_srai_epi32(_mm256_slli_epi32(a, 24), 24); }
  /// The lanes of t, 0 elsewhere.
  static IVec KeepTail(Tail t, IVec a) { return _mm256_and_si256(a, t); }
  static IVec AddI(IVec a, IVec b) { return _mm256_add_epi32(a, b); }
  static int32_t ReduceAddI(IVec v) { return ReduceAddEpi32Avx2(v); }
  /// Stores the first min(n, 8) lanes, each in [-128, 127], as bytes.
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
