// swiglu over a lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h): gate = gate /
// (1 + exp(-gate)) * up with the polynomial exp (simd/f32-exp.h). Instantiate only from an
// ISA file with that file's lane type (internal linkage, built with its flags).
#pragma once

#include <cassert>
#include <cstddef>

#include "sdk/kernels/simd/f32-exp.h"

namespace kite::kernels {

template <class V>
static inline typename V::Vec SwigluLanes(typename V::Vec g, typename V::Vec u) {
  const typename V::Vec e = Exp<V>(V::Neg(g));
  return V::Mul(V::Div(g, V::Add(V::Set1(1.0f), e)), u);
}

/// The contract of SwigluFn (swiglu.h), kLanes floats per step.
template <class V>
static inline void SwigluSimd(size_t n, float* gate, const float* up) {
  assert(n == 0 || (gate != nullptr && up != nullptr));
  size_t i = 0;
  for (; i + V::kLanes <= n; i += V::kLanes) {
    V::Store(gate + i, SwigluLanes<V>(V::Load(gate + i), V::Load(up + i)));
  }
  if (i < n) {
    const typename V::Tail m = V::TailOf(n - i);
    V::StoreTail(m, gate + i, SwigluLanes<V>(V::LoadTail(m, gate + i), V::LoadTail(m, up + i)));
  }
}

}  // namespace kite::kernels
