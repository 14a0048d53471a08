// F32x16, the 512-bit lane type of the x86 elementwise templates (simd/f32-exp.h and the
// families' simd.h): 16 floats in an __m512, partial vectors through __mmask16. The same
// operations as F32x8 (simd/lanes-avx2.h, which documents them).
//
// Include only from files compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma (or
// under an equivalent target pragma). The type sits in an unnamed namespace on purpose: see
// simd/lanes-avx2.h.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {
namespace {

/// 16 f32 lanes (AVX-512 F/BW/VL/DQ + FMA).
struct F32x16 {
  using Vec = __m512;
  using IVec = __m512i;
  using Tail = __mmask16;
  static constexpr size_t kLanes = 16;

  static Tail TailOf(size_t n) { return TailMask16(n); }

  static Vec Zero() { return _mm512_setzero_ps(); }
  static Vec Set1(float x) { return _mm512_set1_ps(x); }
  static Vec Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static Vec LoadTail(Tail t, const float* p) { return _mm512_maskz_loadu_ps(t, p); }
  static Vec LoadTailOr(Tail t, const float* p, Vec rest) {
    return _mm512_mask_loadu_ps(rest, t, p);
  }
  static void StoreTail(Tail t, float* p, Vec v) { _mm512_mask_storeu_ps(p, t, v); }

  static Vec Add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec AddTail(Tail t, Vec a, Vec b) { return _mm512_mask_add_ps(a, t, a, b); }
  static Vec Sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static Vec Mul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
  static Vec Div(Vec a, Vec b) { return _mm512_div_ps(a, b); }
  static Vec Max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
  static Vec Min(Vec a, Vec b) { return _mm512_min_ps(a, b); }
  static Vec Fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec Fnma(Vec a, Vec b, Vec c) { return _mm512_fnmadd_ps(a, b, c); }
  static Vec Neg(Vec a) { return _mm512_xor_ps(a, _mm512_set1_ps(-0.0f)); }
  static Vec Abs(Vec a) {
    return _mm512_and_ps(a, _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF)));
  }
  static Vec SwapPairs(Vec a) { return _mm512_permute_ps(a, 0xB1); }
  static Vec RoundNearest(Vec a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  /// p * 2^n in one rounding, including denormal and overflowing results (vscalefps).
  static Vec MulPow2(Vec p, Vec n) { return _mm512_scalef_ps(p, n); }
  static float ReduceAdd(Vec v) { return _mm512_reduce_add_ps(v); }
  static __m128 ReduceAdd4(Vec a, Vec b, Vec c, Vec d) { return ReduceAdd4Avx512(a, b, c, d); }
  static float ReduceMax(Vec v) { return _mm512_reduce_max_ps(v); }

  static IVec ZeroI() { return _mm512_setzero_si512(); }
  static IVec ToInt(Vec a) { return _mm512_cvtps_epi32(a); }
  static IVec LowByte(IVec a) { return _mm512_srai_epi32(_mm512_slli_epi32(a, 24), 24); }
  static IVec KeepTail(Tail t, IVec a) { return _mm512_maskz_mov_epi32(t, a); }
  static IVec AddI(IVec a, IVec b) { return _mm512_add_epi32(a, b); }
  static int32_t ReduceAddI(IVec v) { return _mm512_reduce_add_epi32(v); }
  static void StoreBytes(int8_t* p, IVec a, size_t n) {
    _mm_mask_storeu_epi8(p, TailMask16(n), _mm512_cvtepi32_epi8(a));
  }
};

}  // namespace
}  // namespace kite::kernels
