#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/q4-matvec/q4-matvec.h"

namespace kite::kernels {

void q4_matvec_ref(size_t rows, size_t groups, size_t group, const uint8_t* w,
                   const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                   const float* xscales, const int32_t* xsums, float* y) {
  assert(group > 0 && group % 2 == 0);
  const size_t group_bytes = group / 2;
  for (size_t r = 0; r < rows; ++r) {
    const uint8_t* row = w + r * groups * group_bytes;
    float acc = 0.0f;
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* block = row + g * group_bytes;
      const int8_t* xg = qx + g * group;
      int32_t dot = 0;
      for (size_t j = 0; j < group_bytes; ++j) {
        const int32_t lo = static_cast<int32_t>(block[j] & 0x0F) - 8;
        const int32_t hi = static_cast<int32_t>(block[j] >> 4) - 8;
        dot += lo * xg[2 * j] + hi * xg[2 * j + 1];
      }
      float group_sum = HalfToFloat(wscales[r * groups + g]) * static_cast<float>(dot);
      if (wmins != nullptr) group_sum += HalfToFloat(wmins[r * groups + g]) * static_cast<float>(xsums[g]);
      acc += xscales[g] * group_sum;
    }
    y[r] = acc;
  }
}

}  // namespace kite::kernels
