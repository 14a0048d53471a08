// F32x16: 16 floats in an __m512 (AVX-512 F/BW/VL/DQ + FMA), partial vectors through
// __mmask16. The lane type contract (and why it sits in an unnamed namespace) is in
// simd/lanes.h.
//
// Include only from files compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma (or
// under an equivalent target pragma).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {
namespace {

/// 16 f32 lanes (AVX-512 F/BW/VL/DQ + FMA).
struct F32x16 {
  using Vec = __m512;
  using IVec = __m512i;
  using Tail = __mmask16;
  static constexpr size_t kLanes = 16;

  KITE_X86_LANE_OPS(_mm512, si512)

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
  static float ReduceAdd(Vec v) { return _mm512_reduce_add_ps(v); }
  static float ReduceMax(Vec v) { return _mm512_reduce_max_ps(v); }
  static __m128 ReduceAdd4(Vec a, Vec b, Vec c, Vec d) { return ReduceAdd4Avx512(a, b, c, d); }
  static IVec KeepTail(Tail t, IVec a) { return _mm512_maskz_mov_epi32(t, a); }
  static int32_t ReduceAddI(IVec v) { return _mm512_reduce_add_epi32(v); }
  static void StoreBytes(int8_t* p, IVec a, size_t n) {
    _mm_mask_storeu_epi8(p, TailMask16(n), _mm512_cvtepi32_epi8(a));
  }
};

}  // namespace
}  // namespace kite::kernels
