// The lane types of the x86 templates (simd/f32-exp.h, the elementwise families' simd.h, the
// attention driver, simd/matvec-masked.h): F32x8 (8 floats in an __m256, partial vectors
// through lane masks), defined where AVX2 + FMA are enabled, and F32x16 (16 floats in an
// __m512, partial vectors through __mmask16), defined where AVX-512 F/BW/VL/DQ are. Include
// from files compiled with those flags (or under an equivalent target pragma). Both provide
// the same static operations, so one template serves both widths:
//
//   Vec, IVec, Tail, kLanes      floats / int32 lanes in a vector, a partial-vector mask,
//                                lanes per vector
//   Tail TailOf(size_t n)        the first min(n, kLanes) lanes
//   Zero, Set1, Load, Store      (unaligned loads and stores)
//   LoadTail(t, p)               the lanes in t from p, the others 0; reads only those
//   LoadTailOr(t, p, rest)       the lanes in t from p, the others from rest
//   StoreTail(t, p, v)           writes only the lanes in t
//   Add, Sub, Mul, Div, Neg, Abs; AddTail(t, a, b): a + b in the lanes of t, a elsewhere
//   Max, Min                     vmaxps / vminps: the second operand when either is NaN
//   Fma(a, b, c) = a b + c, Fnma(a, b, c) = c - a b (fused)
//   SwapPairs                    {a1, a0, a3, a2, ...}
//   RoundNearest                 to the nearest integer (ties to even), as a float
//   MulPow2(p, n)                p 2^n for integral n in [-150, 128], rounded once
//   ReduceAdd, ReduceMax         over all lanes; ReduceAdd4(a, b, c, d): their 4 sums (__m128)
//   ZeroI, AddI, ReduceAddI      on int32 lanes
//   ToInt                        vcvtps2dq: current rounding mode; NaN / out of range -> INT_MIN
//   LowByte                      each int32 lane's low byte, sign-extended
//   KeepTail(t, i)               the int32 lanes of t, 0 elsewhere
//   StoreBytes(p, i, n)          the first min(n, kLanes) int32 lanes (in [-128, 127]) as bytes
//
// Each lane type sits in an unnamed namespace on purpose: every includer gets its own, so a
// template instantiated with it has internal linkage and nothing compiled with one ISA's
// flags can be merged by the linker into another ISA's code.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#if defined(__AVX2__)
#include "sdk/kernels/simd/avx2-util.h"
#endif
#if defined(__AVX512F__)
#include "sdk/kernels/simd/avx512-util.h"
#endif

/// The vector types and the operations that are the same intrinsic at both widths, for
/// vectors of BITS (256, 512) bits, and the reductions (functions of the width's util header,
/// or intrinsics). Expands inside a lane type.
#define KITE_X86_LANE_OPS(BITS, REDUCE_ADD, REDUCE_MAX, REDUCE_ADD4, REDUCE_ADD_I)       \
  using Vec = __m##BITS;                                                                 \
  using IVec = __m##BITS##i; /* BITS / 32 int32 lanes */                                 \
  static constexpr size_t kLanes = BITS / 32;                                            \
  static Vec Zero() { return _mm##BITS##_setzero_ps(); }                                 \
  static Vec Set1(float x) { return _mm##BITS##_set1_ps(x); }                            \
  static Vec Load(const float* p) { return _mm##BITS##_loadu_ps(p); }                    \
  static void Store(float* p, Vec v) { _mm##BITS##_storeu_ps(p, v); }                    \
  static Vec Add(Vec a, Vec b) { return _mm##BITS##_add_ps(a, b); }                      \
  static Vec Sub(Vec a, Vec b) { return _mm##BITS##_sub_ps(a, b); }                      \
  static Vec Mul(Vec a, Vec b) { return _mm##BITS##_mul_ps(a, b); }                      \
  static Vec Div(Vec a, Vec b) { return _mm##BITS##_div_ps(a, b); }                      \
  static Vec Max(Vec a, Vec b) { return _mm##BITS##_max_ps(a, b); }                      \
  static Vec Min(Vec a, Vec b) { return _mm##BITS##_min_ps(a, b); }                      \
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm##BITS##_fmadd_ps(a, b, c); }          \
  static Vec Fnma(Vec a, Vec b, Vec c) { return _mm##BITS##_fnmadd_ps(a, b, c); }        \
  static Vec Neg(Vec a) { return _mm##BITS##_xor_ps(a, _mm##BITS##_set1_ps(-0.0f)); }    \
  static Vec Abs(Vec a) {                                                                \
    return _mm##BITS##_and_ps(a, _mm##BITS##_castsi##BITS##_ps(_mm##BITS##_set1_epi32(0x7FFFFFFF))); \
  }                                                                                      \
  static Vec SwapPairs(Vec a) { return _mm##BITS##_permute_ps(a, 0xB1); }                \
  static IVec ZeroI() { return _mm##BITS##_setzero_si##BITS(); }                         \
  static IVec ToInt(Vec a) { return _mm##BITS##_cvtps_epi32(a); }                        \
  static IVec LowByte(IVec a) { return _mm##BITS##_srai_epi32(_mm##BITS##_slli_epi32(a, 24), 24); } \
  static IVec AddI(IVec a, IVec b) { return _mm##BITS##_add_epi32(a, b); }               \
  static float ReduceAdd(Vec v) { return REDUCE_ADD(v); }                                \
  static float ReduceMax(Vec v) { return REDUCE_MAX(v); }                                \
  static __m128 ReduceAdd4(Vec a, Vec b, Vec c, Vec d) {                                 \
    return REDUCE_ADD4(a, b, c, d);                                                      \
  }                                                                                      \
  static int32_t ReduceAddI(IVec v) { return REDUCE_ADD_I(v); }

namespace kite::kernels {
namespace {

#if defined(__AVX2__) && defined(__FMA__)
/// 8 f32 lanes (AVX2 + FMA).
struct F32x8 {
  KITE_X86_LANE_OPS(256, ReduceAddAvx2, ReduceMaxAvx2, ReduceAdd4Avx2, ReduceAddEpi32Avx2)
  using Tail = __m256i;  // lane i set iff i < n

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
  static IVec KeepTail(Tail t, IVec a) { return _mm256_and_si256(a, t); }
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
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__)
/// 16 f32 lanes (AVX-512 F/BW/VL/DQ + FMA).
struct F32x16 {
  KITE_X86_LANE_OPS(512, _mm512_reduce_add_ps, _mm512_reduce_max_ps, ReduceAdd4Avx512,
                    _mm512_reduce_add_epi32)
  using Tail = __mmask16;

  static Tail TailOf(size_t n) { return TailMask16(n); }
  static Vec LoadTail(Tail t, const float* p) { return _mm512_maskz_loadu_ps(t, p); }
  static Vec LoadTailOr(Tail t, const float* p, Vec rest) {
    return _mm512_mask_loadu_ps(rest, t, p);
  }
  static void StoreTail(Tail t, float* p, Vec v) { _mm512_mask_storeu_ps(p, t, v); }
  static Vec AddTail(Tail t, Vec a, Vec b) { return _mm512_mask_add_ps(a, t, a, b); }
  static Vec RoundNearest(Vec a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // In one rounding, including denormal and overflowing results (vscalefps).
  static Vec MulPow2(Vec p, Vec n) { return _mm512_scalef_ps(p, n); }
  static IVec KeepTail(Tail t, IVec a) { return _mm512_maskz_mov_epi32(t, a); }
  static void StoreBytes(int8_t* p, IVec a, size_t n) {
    _mm_mask_storeu_epi8(p, TailMask16(n), _mm512_cvtepi32_epi8(a));
  }
};
#endif

}  // namespace
}  // namespace kite::kernels
