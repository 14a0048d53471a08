// The masked-tail dot products shared by the f32-matvec and q8c-matvec AVX-512 variants: the
// weight type, the vector width and the loads are the only difference between their files.
// Include only from files compiled with -mavx512f (+bw, vl, dq) -mavx2 -mfma: everything here
// is static inline or instantiated with the includer's internal lane type, so each file gets
// its own copy built for its own ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace kite::kernels {

// The lane type V of the dot products below is a lane type of simd/lanes.h (Vec, Tail,
// kLanes, Zero, Fma, Add, TailOf, Load, LoadTail, ReduceAdd4, ReduceAdd) plus the weights:
//   using Weight = ...;                                        // float or int8_t
//   static Vec LoadW(const Weight* p); static Vec LoadWMasked(Tail m, const Weight* p);
//       // kLanes weights as floats; masked-off lanes are zero and not read

/// Dot products of x with rows w0..w3 (cols weights each), as {w0.x, w1.x, w2.x, w3.x}:
/// 2 * kLanes columns per step, then kLanes at a time with a masked last step.
template <class V>
static inline __m128 Dot4Masked(size_t cols, const typename V::Weight* w0,
                                const typename V::Weight* w1, const typename V::Weight* w2,
                                const typename V::Weight* w3, const float* x) {
  constexpr size_t n = V::kLanes;
  // Two accumulators per row (even / odd block) keep 8 FMA chains in flight.
  typename V::Vec a0 = V::Zero(), a1 = V::Zero(), a2 = V::Zero(), a3 = V::Zero();
  typename V::Vec b0 = V::Zero(), b1 = V::Zero(), b2 = V::Zero(), b3 = V::Zero();
  size_t c = 0;
  for (; c + 2 * n <= cols; c += 2 * n) {
    const typename V::Vec xa = V::Load(x + c);
    const typename V::Vec xb = V::Load(x + c + n);
    a0 = V::Fma(V::LoadW(w0 + c), xa, a0);
    a1 = V::Fma(V::LoadW(w1 + c), xa, a1);
    a2 = V::Fma(V::LoadW(w2 + c), xa, a2);
    a3 = V::Fma(V::LoadW(w3 + c), xa, a3);
    b0 = V::Fma(V::LoadW(w0 + c + n), xb, b0);
    b1 = V::Fma(V::LoadW(w1 + c + n), xb, b1);
    b2 = V::Fma(V::LoadW(w2 + c + n), xb, b2);
    b3 = V::Fma(V::LoadW(w3 + c + n), xb, b3);
  }
  for (; c < cols; c += n) {
    const typename V::Tail m = V::TailOf(cols - c);
    const typename V::Vec xa = V::LoadTail(m, x + c);
    a0 = V::Fma(V::LoadWMasked(m, w0 + c), xa, a0);
    a1 = V::Fma(V::LoadWMasked(m, w1 + c), xa, a1);
    a2 = V::Fma(V::LoadWMasked(m, w2 + c), xa, a2);
    a3 = V::Fma(V::LoadWMasked(m, w3 + c), xa, a3);
  }
  return V::ReduceAdd4(V::Add(a0, b0), V::Add(a1, b1), V::Add(a2, b2), V::Add(a3, b3));
}

/// The dot product of x with one row w0, as Dot4Masked computes each of its four.
template <class V>
static inline float Dot1Masked(size_t cols, const typename V::Weight* w0, const float* x) {
  constexpr size_t n = V::kLanes;
  typename V::Vec a0 = V::Zero(), b0 = V::Zero();
  size_t c = 0;
  for (; c + 2 * n <= cols; c += 2 * n) {
    a0 = V::Fma(V::LoadW(w0 + c), V::Load(x + c), a0);
    b0 = V::Fma(V::LoadW(w0 + c + n), V::Load(x + c + n), b0);
  }
  for (; c < cols; c += n) {
    const typename V::Tail m = V::TailOf(cols - c);
    a0 = V::Fma(V::LoadWMasked(m, w0 + c), V::LoadTail(m, x + c), a0);
  }
  return V::ReduceAdd(V::Add(a0, b0));
}

}  // namespace kite::kernels
