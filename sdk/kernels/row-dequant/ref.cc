#include <cassert>
#include <cstring>

#include "sdk/format/blocks.h"
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

void q4r16_row_dequant_ref(size_t cols, size_t groups, const uint8_t* data, size_t row, float* out) {
  const size_t r = row % kQ4R16BlockRows;
  const uint8_t* row_block = data + (row / kQ4R16BlockRows) * groups * kQ4R16BlockBytes;
  for (size_t c = 0; c < cols; ++c) {
    const uint8_t* block = row_block + (c / kQ4R16GroupSize) * kQ4R16BlockBytes;
    const size_t e = c % kQ4R16GroupSize;
    // Elements 0..15 of a group sit in low nibbles, 16..31 in high nibbles, 4 per row per
    // 64-byte slice (see kite.fbs, Layout Q4_R16_G32).
    const size_t lane = e % 16;
    const uint8_t byte = block[(lane / 4) * 64 + r * 4 + lane % 4];
    const uint32_t u = e < 16 ? (byte & 0x0Fu) : (byte >> 4);
    uint16_t d, o;
    std::memcpy(&d, block + kQ4R16ScalesOffset + 2 * r, 2);
    std::memcpy(&o, block + kQ4R16OffsetsOffset + 2 * r, 2);
    out[c] = HalfToFloat(d) * static_cast<float>(u) + HalfToFloat(o);
  }
}

void f16_row_dequant_ref(size_t cols, const uint16_t* row, float* out) {
  for (size_t c = 0; c < cols; ++c) out[c] = HalfToFloat(row[c]);
}

void q8_row_dequant_ref(size_t cols, const int8_t* row, float scale, float* out) {
  for (size_t c = 0; c < cols; ++c) out[c] = static_cast<float>(row[c]) * scale;
}

}  // namespace kite::kernels
