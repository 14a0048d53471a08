#include "sdk/kernels/qd8-q4r16-gemm/pack.h"

#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels {
namespace {

constexpr uint8_t kPadNibble = 8;

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Byte inside a block holding column c (0..31) of block row rr, and whether it sits in the
// high nibble: columns 0..15 are low nibbles, 16..31 high; within each half, 4 consecutive
// columns p*4..p*4+3 share the 64-byte slice p, at bytes rr*4 + (c % 4).
size_t NibbleByte(size_t rr, size_t c) { return (c % 16 / 4) * 64 + rr * 4 + c % 4; }
bool IsHighNibble(size_t c) { return c >= 16; }

// The unsigned nibble u (0..15) of column c of block row rr in the block at `blk`.
uint8_t NibbleAt(const uint8_t* blk, size_t rr, size_t c) {
  const uint8_t byte = blk[NibbleByte(rr, c)];
  return IsHighNibble(c) ? static_cast<uint8_t>(byte >> 4) : static_cast<uint8_t>(byte & 0x0F);
}

void StoreHalf(uint8_t* p, uint16_t h) {
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}

uint16_t LoadHalf(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

}  // namespace

namespace {

// Packs into blocks of `block_bytes`: Q4_R16_G32 (o given) or Q4_R16_G32_SYM (o null).
void Pack(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, const uint16_t* o,
          uint8_t* out, size_t block_bytes) {
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t padded_cols = groups * kQ4R16GroupSize;
  const size_t blocks = CeilDiv(rows, kQ4R16BlockRows);
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t g = 0; g < groups; ++g) {
      uint8_t* blk = out + (b * groups + g) * block_bytes;
      for (size_t rr = 0; rr < kQ4R16BlockRows; ++rr) {
        const size_t r = b * kQ4R16BlockRows + rr;
        for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
          const size_t col = g * kQ4R16GroupSize + c;
          uint8_t v = kPadNibble;
          if (r < rows && col < cols) {
            v = u[r * padded_cols + col];
            assert(v <= 15);
            v &= 0x0F;
          }
          uint8_t& byte = blk[NibbleByte(rr, c)];
          if (IsHighNibble(c)) {
            byte = static_cast<uint8_t>((byte & 0x0F) | (v << 4));
          } else {
            byte = static_cast<uint8_t>((byte & 0xF0) | v);
          }
        }
        const uint16_t dh = r < rows ? d[r * groups + g] : 0;
        StoreHalf(blk + kQ4R16ScalesOffset + 2 * rr, dh);
        if (o != nullptr) StoreHalf(blk + kQ4R16OffsetsOffset + 2 * rr, r < rows ? o[r * groups + g] : 0);
      }
    }
  }
}

// One row of a Q4_R16_G32 matrix (`offsets`: blocks of kQ4R16BlockBytes, w = d u + o) or
// of a Q4_R16_G32_SYM one (blocks of kQ4R16SymBlockBytes, w = d u - 8 d), or with a
// `codebook`, of a Q4_R16_G32_CB one (the SYM blocks, w = d codebook[u]).
void DequantizeRow(size_t cols, const uint8_t* packed, size_t row, bool offsets,
                   const int8_t* codebook, float* out) {
  const size_t block_bytes = offsets ? kQ4R16BlockBytes : kQ4R16SymBlockBytes;
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t b = row / kQ4R16BlockRows;
  const size_t rr = row % kQ4R16BlockRows;
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = packed + (b * groups + g) * block_bytes;
    const float d = HalfToFloat(LoadHalf(blk + kQ4R16ScalesOffset + 2 * rr));
    const float o =
        offsets ? HalfToFloat(LoadHalf(blk + kQ4R16OffsetsOffset + 2 * rr))
                : (codebook != nullptr ? 0.0f : -8.0f * d);
    for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
      const size_t col = g * kQ4R16GroupSize + c;
      if (col >= cols) break;
      const uint8_t u = NibbleAt(blk, rr, c);
      out[col] = d * static_cast<float>(codebook != nullptr ? codebook[u] : u) + o;
    }
  }
}

}  // namespace

void PackQ4R16(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, const uint16_t* o,
               uint8_t* out) {
  assert(u != nullptr && d != nullptr && o != nullptr && out != nullptr);
  Pack(rows, cols, u, d, o, out, kQ4R16BlockBytes);
}

void PackQ4R16Sym(size_t rows, size_t cols, const uint8_t* u, const uint16_t* d, uint8_t* out) {
  assert(u != nullptr && d != nullptr && out != nullptr);
  Pack(rows, cols, u, d, nullptr, out, kQ4R16SymBlockBytes);
}

void DequantizeQ4R16SymRow(size_t cols, const uint8_t* packed, size_t row, float* out) {
  assert(packed != nullptr && out != nullptr);
  DequantizeRow(cols, packed, row, /*offsets=*/false, nullptr, out);
}

void DequantizeQ4R16CbRow(size_t cols, const uint8_t* packed, const int8_t* codebook, size_t row,
                          float* out) {
  assert(packed != nullptr && codebook != nullptr && out != nullptr);
  DequantizeRow(cols, packed, row, /*offsets=*/false, codebook, out);
}

void UnpackQ4R16(size_t rows, size_t cols, const uint8_t* packed, uint8_t* u, uint16_t* d,
                 uint16_t* o) {
  assert(packed != nullptr);
  const size_t groups = CeilDiv(cols, kQ4R16GroupSize);
  const size_t padded_cols = groups * kQ4R16GroupSize;
  for (size_t r = 0; r < rows; ++r) {
    const size_t b = r / kQ4R16BlockRows;
    const size_t rr = r % kQ4R16BlockRows;
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = packed + (b * groups + g) * kQ4R16BlockBytes;
      if (u != nullptr) {
        for (size_t c = 0; c < kQ4R16GroupSize; ++c) {
          u[r * padded_cols + g * kQ4R16GroupSize + c] = NibbleAt(blk, rr, c);
        }
      }
      if (d != nullptr) d[r * groups + g] = LoadHalf(blk + kQ4R16ScalesOffset + 2 * rr);
      if (o != nullptr) o[r * groups + g] = LoadHalf(blk + kQ4R16OffsetsOffset + 2 * rr);
    }
  }
}

void DequantizeQ4R16Row(size_t cols, const uint8_t* packed, size_t row, float* out) {
  assert(packed != nullptr && out != nullptr);
  DequantizeRow(cols, packed, row, /*offsets=*/true, nullptr, out);
}

}  // namespace kite::kernels
