#include "sdk/kernels/qd8-q3r16-gemm/pack.h"

#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"

namespace kite::kernels {
namespace {

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Where column c (0..31) of block row rr keeps its bits (kite.fbs): the low 2 bits in byte
// LowByte at bit LowShift, the high bit in byte kQ3R16HighBitsOffset + rr*4 + c%4 at bit
// c/4 (its column quad).
size_t LowByte(size_t rr, size_t c) { return (c / 16) * 64 + rr * 4 + c % 4; }
unsigned LowShift(size_t c) { return static_cast<unsigned>(2 * (c / 4 % 4)); }
size_t HighByte(size_t rr, size_t c) { return kQ3R16HighBitsOffset + rr * 4 + c % 4; }
unsigned HighShift(size_t c) { return static_cast<unsigned>(c / 4); }

uint8_t CodeAt(const uint8_t* blk, size_t rr, size_t c) {
  const unsigned low = (blk[LowByte(rr, c)] >> LowShift(c)) & 3u;
  const unsigned high = (blk[HighByte(rr, c)] >> HighShift(c)) & 1u;
  return static_cast<uint8_t>(low | (high << 2));
}

uint16_t LoadHalf(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

void PackQ3R16(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, uint8_t* out) {
  assert(u != nullptr && d != nullptr && out != nullptr);
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t padded_cols = groups * kQ4R16GroupSize;
  const size_t blocks = CeilDiv(rows, kQ4R16BlockRows);
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t g = 0; g < groups; ++g) {
      uint8_t* blk = out + (b * groups + g) * kQ3R16BlockBytes;
      for (size_t i = 0; i < kQ3R16ScalesOffset; ++i) blk[i] = 0;
      for (size_t rr = 0; rr < kQ4R16BlockRows; ++rr) {
        const size_t r = b * kQ4R16BlockRows + rr;
        for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
          const size_t col = g * kQ4R16GroupSize + c;
          unsigned v = kQ3Zero;
          if (r < rows && col < cols) {
            v = u[r * padded_cols + col];
            assert(v <= kQ3MaxCode);
            v &= kQ3MaxCode;
          }
          blk[LowByte(rr, c)] = static_cast<uint8_t>(blk[LowByte(rr, c)] | ((v & 3u) << LowShift(c)));
          blk[HighByte(rr, c)] =
              static_cast<uint8_t>(blk[HighByte(rr, c)] | ((v >> 2) << HighShift(c)));
        }
        const uint16_t dh = r < rows ? d[r * groups + g] : 0;
        blk[kQ3R16ScalesOffset + 2 * rr] = static_cast<uint8_t>(dh & 0xFF);
        blk[kQ3R16ScalesOffset + 2 * rr + 1] = static_cast<uint8_t>(dh >> 8);
      }
    }
  }
}

void UnpackQ3R16(size_t rows, size_t cols, const uint8_t* packed, uint8_t* u, uint16_t* d) {
  assert(packed != nullptr);
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t padded_cols = groups * kQ4R16GroupSize;
  for (size_t r = 0; r < rows; ++r) {
    const size_t rr = r % kQ4R16BlockRows;
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = packed + ((r / kQ4R16BlockRows) * groups + g) * kQ3R16BlockBytes;
      if (u != nullptr) {
        for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
          u[r * padded_cols + g * kQ4R16GroupSize + c] = CodeAt(blk, rr, c);
        }
      }
      if (d != nullptr) d[r * groups + g] = LoadHalf(blk + kQ3R16ScalesOffset + 2 * rr);
    }
  }
}

void DequantizeQ3R16Row(size_t cols, const uint8_t* packed, size_t row, float* out) {
  assert(packed != nullptr && out != nullptr);
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t rr = row % kQ4R16BlockRows;
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = packed + ((row / kQ4R16BlockRows) * groups + g) * kQ3R16BlockBytes;
    const float d = HalfToFloat(LoadHalf(blk + kQ3R16ScalesOffset + 2 * rr));
    for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
      const size_t col = g * kQ4R16GroupSize + c;
      if (col >= cols) break;
      out[col] = d * static_cast<float>(static_cast<int>(CodeAt(blk, rr, c)) - kQ3Zero);
    }
  }
}

}  // namespace kite::kernels
