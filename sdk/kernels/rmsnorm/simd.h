// rmsnorm over a lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h): blocked sum of
// squares, then the reference's scaling arithmetic. Instantiate only from an ISA file with
// that file's lane type (internal linkage, built with that file's flags).
#pragma once

#include <immintrin.h>

#include <cassert>
#include <cstddef>

namespace kite::kernels {

/// The contract of RmsNormFn (rmsnorm.h), kLanes floats per step.
template <class V>
static inline void RmsnormSimd(size_t n, const float* x, const float* weight, float eps,
                               float* out) {
  assert(x != nullptr && weight != nullptr && out != nullptr);
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  Vec s0 = V::Zero(), s1 = V::Zero();
  size_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Vec v0 = V::Load(x + i);
    const Vec v1 = V::Load(x + i + kLanes);
    s0 = V::Fma(v0, v0, s0);
    s1 = V::Fma(v1, v1, s1);
  }
  for (; i < n; i += kLanes) {
    const Vec v = V::LoadTail(V::TailOf(n - i), x + i);
    s0 = V::Fma(v, v, s0);
  }
  const float ss = V::ReduceAdd(V::Add(s0, s1));
  const float rms = _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(ss / static_cast<float>(n) + eps)));
  const Vec inv = V::Set1(1.0f / rms);
  // out may alias x: each block is read before it is written.
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const Vec v = V::Mul(inv, V::Load(x + i));
    V::Store(out + i, V::Mul(V::Load(weight + i), v));
  }
  if (i < n) {
    const typename V::Tail m = V::TailOf(n - i);
    const Vec v = V::Mul(inv, V::LoadTail(m, x + i));
    V::StoreTail(m, out + i, V::Mul(V::LoadTail(m, weight + i), v));
  }
}

}  // namespace kite::kernels
