// q8-quantize over a lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h): kLanes floats
// per step, masked tails; bit-identical to ref. Instantiate only from an ISA file with that
// file's lane type (internal linkage, built with its flags).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// The contract of Q8QuantizeFn (q8-quantize.h).
template <class V>
static inline void Q8QuantizeSimd(size_t n, size_t group, const float* x, int8_t* q,
                                  float* scales, int32_t* sums) {
  assert(group > 0 && group % 2 == 0);
  assert(n == 0 || (x != nullptr && q != nullptr && scales != nullptr && sums != nullptr));
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  // Group g holds the values [begin, begin + len): `group` of them, fewer in the last group.
  for (size_t begin = 0, g = 0; begin < n; begin += group, ++g) {
    const size_t len = n - begin < group ? n - begin : group;
    const float* xg = x + begin;
    int8_t* qg = q + begin;

    // |x| as the first operand: vmaxps returns the second one when the first is NaN, which
    // skips NaN like the reference's fmax.
    Vec vmax = V::Zero();
    size_t i = 0;
    for (; i + kLanes <= len; i += kLanes) vmax = V::Max(V::Abs(V::Load(xg + i)), vmax);
    if (i < len) vmax = V::Max(V::Abs(V::LoadTail(V::TailOf(len - i), xg + i)), vmax);
    const float amax = V::ReduceMax(vmax);
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[g] = scale;

    const Vec vinv = V::Set1(inv);
    typename V::IVec vsum = V::ZeroI();
    for (i = 0; i < group; i += kLanes) {
      const typename V::Tail valid = V::TailOf(len > i ? len - i : 0);
      // vcvtps2dq rounds in the current mode like lrintf; both give INT_MIN-like garbage for
      // NaN/inf whose low byte is 0, so keeping the low byte (sign-extended) reproduces the
      // reference's int8 cast exactly, also for those. Padding lanes (past len) are 0.
      const typename V::IVec qi =
          V::KeepTail(valid, V::LowByte(V::ToInt(V::Mul(V::LoadTail(valid, xg + i), vinv))));
      vsum = V::AddI(vsum, qi);
      V::StoreBytes(qg + i, qi, group - i);
    }
    sums[g] = V::ReduceAddI(vsum);
  }
}

}  // namespace kite::kernels
