// The row and group walk of q4-matvec with its per-group float arithmetic, as the
// specification (ref.cc) defines them; the NEON variant shares it, so the two differ only in
// how a group's integer dot product is computed (exact either way). Static inline: each
// includer gets its own copy, built with its own flags.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "sdk/kernels/fp16.h"

namespace kite::kernels {

/// The contract of Q4MatvecFn (q4-matvec.h), with group_dot(group_bytes, block, x) returning
/// sum_j (u_j - 8) x_j over the group of `group_bytes` weight bytes at `block` (value 2j in
/// the low nibble of byte j, 2j + 1 in the high) and its `2 * group_bytes` activations at x.
template <class GroupDot>
static inline void Q4MatvecRows(size_t rows, size_t groups, size_t group, const uint8_t* w,
                                const uint16_t* wscales, const uint16_t* wmins,
                                const int8_t* qx, const float* xscales, const int32_t* xsums,
                                float* y, GroupDot&& group_dot) {
  assert(group > 0 && group % 2 == 0);
  const size_t group_bytes = group / 2;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* row = w + r * groups * group_bytes;
    float acc = 0.0f;
    for (size_t g = 0; g < groups; ++g) {
      const int32_t dot = group_dot(group_bytes, row + g * group_bytes, qx + g * group);
      float group_sum = HalfToFloat(wscales[r * groups + g]) * static_cast<float>(dot);
      if (wmins != nullptr) {
        group_sum += HalfToFloat(wmins[r * groups + g]) * static_cast<float>(xsums[g]);
      }
      acc += xscales[g] * group_sum;
    }
    y[r] = acc;
  }
}

}  // namespace kite::kernels
