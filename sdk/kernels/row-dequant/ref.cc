#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/row-dequant/row-dequant.h"

namespace kite::kernels {

void q4_row_dequant_ref(size_t cols, size_t groups, size_t group, const uint8_t* row,
                        const uint16_t* scales, const uint16_t* mins, float* out) {
  assert(cols <= groups * group);
  for (size_t c = 0; c < cols; ++c) {
    const size_t g = c / group;
    const size_t j = c % group;
    const uint8_t byte = row[g * (group / 2) + j / 2];
    const int32_t q = static_cast<int32_t>((j & 1) ? (byte >> 4) : (byte & 0x0F)) - 8;
    out[c] = static_cast<float>(q) * HalfToFloat(scales[g]) + (mins ? HalfToFloat(mins[g]) : 0.0f);
  }
}

void f16_row_dequant_ref(size_t cols, const uint16_t* row, float* out) {
  for (size_t c = 0; c < cols; ++c) out[c] = HalfToFloat(row[c]);
}

void q8_row_dequant_ref(size_t cols, const int8_t* row, float scale, float* out) {
  for (size_t c = 0; c < cols; ++c) out[c] = static_cast<float>(row[c]) * scale;
}

}  // namespace kite::kernels
