// softmax over a lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h): vector max,
// polynomial exp (simd/f32-exp.h) with a blocked sum, then one scaling pass. Instantiate only
// from an ISA file with that file's lane type (internal linkage, built with its flags).
#pragma once

#include <cassert>
#include <cstddef>

#include "sdk/kernels/simd/f32-exp.h"

namespace kite::kernels {

/// The contract of softmax (softmax.h), kLanes floats per step.
template <class V>
static inline void SoftmaxSimd(size_t n, float* x) {
  assert(n > 0 && x != nullptr);
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  // Seeded with x[0] and with x as the first operand (NaN in x[1..] is skipped), like ref.
  Vec m0 = V::Set1(x[0]), m1 = m0;
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    m0 = V::Max(V::Load(x + i), m0);
    m1 = V::Max(V::Load(x + i + kLanes), m1);
  }
  // Lanes past n keep the running maximum.
  for (; i < n; i += kLanes) m0 = V::Max(V::LoadTailOr(V::TailOf(n - i), x + i, m0), m0);
  const Vec max = V::Set1(V::ReduceMax(V::Max(m0, m1)));

  Vec s0 = V::Zero(), s1 = V::Zero();
  for (i = 0; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Vec e0 = Exp<V>(V::Sub(V::Load(x + i), max));
    const Vec e1 = Exp<V>(V::Sub(V::Load(x + i + kLanes), max));
    V::Store(x + i, e0);
    V::Store(x + i + kLanes, e1);
    s0 = V::Add(s0, e0);
    s1 = V::Add(s1, e1);
  }
  for (; i < n; i += kLanes) {
    const typename V::Tail m = V::TailOf(n - i);
    const Vec e = Exp<V>(V::Sub(V::LoadTail(m, x + i), max));
    V::StoreTail(m, x + i, e);
    s0 = V::AddTail(m, s0, e);
  }
  const Vec inv = V::Set1(1.0f / V::ReduceAdd(V::Add(s0, s1)));

  for (i = 0; i + kLanes <= n; i += kLanes) V::Store(x + i, V::Mul(V::Load(x + i), inv));
  if (i < n) {
    const typename V::Tail m = V::TailOf(n - i);
    V::StoreTail(m, x + i, V::Mul(V::LoadTail(m, x + i), inv));
  }
}

}  // namespace kite::kernels
