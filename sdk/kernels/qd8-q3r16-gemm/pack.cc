#include "sdk/kernels/qd8-q3r16-gemm/pack.h"

#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"

namespace kite::kernels {
namespace {

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Where column c (0..31) of a 32-column code part keeps row rr's bits (kite.fbs): the low
// 2 bits in byte LowByte at bit LowShift, the high bit in byte kQ3R16HighBitsOffset +
// rr*4 + c%4 at bit c/4 (its column quad).
size_t LowByte(size_t rr, size_t c) { return (c / 16) * 64 + rr * 4 + c % 4; }
unsigned LowShift(size_t c) { return static_cast<unsigned>(2 * (c / 4 % 4)); }
size_t HighByte(size_t rr, size_t c) { return kQ3R16HighBitsOffset + rr * 4 + c % 4; }
unsigned HighShift(size_t c) { return static_cast<unsigned>(c / 4); }

// Column c (0 .. group_size - 1) of a block: its code part and its column in the part.
const uint8_t* PartOf(const uint8_t* blk, size_t c) {
  return blk + (c / kQ4R16GroupSize) * kQ3R16CodeBytes;
}

uint8_t CodeAt(const uint8_t* blk, size_t rr, size_t c) {
  const uint8_t* part = PartOf(blk, c);
  c %= kQ4R16GroupSize;
  const unsigned low = (part[LowByte(rr, c)] >> LowShift(c)) & 3u;
  const unsigned high = (part[HighByte(rr, c)] >> HighShift(c)) & 1u;
  return static_cast<uint8_t>(low | (high << 2));
}

uint16_t LoadHalf(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// Code parts per block (1 or 2) of the layout with `group_size` columns per scale.
size_t PartsOf(size_t group_size) {
  assert(group_size == kQ4R16GroupSize || group_size == kQ3R16G64BlockCols);
  return group_size / kQ4R16GroupSize;
}

}  // namespace

void PackQ3R16(size_t rows, size_t cols, size_t group_size, const uint8_t* u, const uint16_t* d,
               uint8_t* out) {
  assert(u != nullptr && d != nullptr && out != nullptr);
  const size_t parts = PartsOf(group_size);
  const size_t block_bytes = Q3R16BlockBytes(parts);
  const size_t scales = parts * kQ3R16CodeBytes;
  const size_t groups = CeilDiv(cols, group_size);
  const size_t padded_cols = groups * group_size;
  const size_t blocks = CeilDiv(rows, kQ4R16BlockRows);
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t g = 0; g < groups; ++g) {
      uint8_t* blk = out + (b * groups + g) * block_bytes;
      for (size_t i = 0; i < scales; ++i) blk[i] = 0;
      for (size_t rr = 0; rr < kQ4R16BlockRows; ++rr) {
        const size_t r = b * kQ4R16BlockRows + rr;
        for (size_t c = 0; c < group_size; ++c) {
          const size_t col = g * group_size + c;
          unsigned v = kQ3Zero;
          if (r < rows && col < cols) {
            v = u[r * padded_cols + col];
            assert(v <= kQ3MaxCode);
            v &= kQ3MaxCode;
          }
          uint8_t* part = blk + (c / kQ4R16GroupSize) * kQ3R16CodeBytes;
          const size_t pc = c % kQ4R16GroupSize;
          part[LowByte(rr, pc)] =
              static_cast<uint8_t>(part[LowByte(rr, pc)] | ((v & 3u) << LowShift(pc)));
          part[HighByte(rr, pc)] =
              static_cast<uint8_t>(part[HighByte(rr, pc)] | ((v >> 2) << HighShift(pc)));
        }
        const uint16_t dh = r < rows ? d[r * groups + g] : 0;
        blk[scales + 2 * rr] = static_cast<uint8_t>(dh & 0xFF);
        blk[scales + 2 * rr + 1] = static_cast<uint8_t>(dh >> 8);
      }
    }
  }
}

void UnpackQ3R16(size_t rows, size_t cols, size_t group_size, const uint8_t* packed, uint8_t* u,
                 uint16_t* d) {
  assert(packed != nullptr);
  const size_t parts = PartsOf(group_size);
  const size_t block_bytes = Q3R16BlockBytes(parts);
  const size_t groups = CeilDiv(cols, group_size);
  const size_t padded_cols = groups * group_size;
  for (size_t r = 0; r < rows; ++r) {
    const size_t rr = r % kQ4R16BlockRows;
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = packed + ((r / kQ4R16BlockRows) * groups + g) * block_bytes;
      if (u != nullptr) {
        for (size_t c = 0; c < group_size; ++c) {
          u[r * padded_cols + g * group_size + c] = CodeAt(blk, rr, c);
        }
      }
      if (d != nullptr) d[r * groups + g] = LoadHalf(blk + parts * kQ3R16CodeBytes + 2 * rr);
    }
  }
}

void DequantizeQ3R16Row(size_t cols, size_t group_size, const uint8_t* packed, size_t row,
                        float* out) {
  assert(packed != nullptr && out != nullptr);
  const size_t parts = PartsOf(group_size);
  const size_t block_bytes = Q3R16BlockBytes(parts);
  const size_t groups = CeilDiv(cols, group_size);
  const size_t rr = row % kQ4R16BlockRows;
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = packed + ((row / kQ4R16BlockRows) * groups + g) * block_bytes;
    const float d = HalfToFloat(LoadHalf(blk + parts * kQ3R16CodeBytes + 2 * rr));
    for (size_t c = 0; c < group_size; ++c) {
      const size_t col = g * group_size + c;
      if (col >= cols) break;
      out[col] = d * static_cast<float>(static_cast<int>(CodeAt(blk, rr, c)) - kQ3Zero);
    }
  }
}

}  // namespace kite::kernels
