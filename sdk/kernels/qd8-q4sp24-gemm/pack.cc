#include "sdk/kernels/qd8-q4sp24-gemm/pack.h"

#include <cassert>
#include <cmath>
#include <cstring>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"

namespace kite::kernels {
namespace {

constexpr uint8_t kZeroNibble = 8;  // u = 8 is the weight 0
constexpr float kMaxHalf = 65504.0f;

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Byte of a sub-block holding kept value i (0..15) of block row rr, and whether it is the
// high nibble: slice s = i / 4 sits in nibble-chunk s % 2 (low nibbles for s < 2, high for
// s >= 2).
size_t NibbleByte(size_t rr, size_t i) { return (i / 4 % 2) * 64 + rr * 4 + i % 4; }
bool IsHighNibble(size_t i) { return i >= 8; }
// Position byte of kept value i and its bit shift inside the byte.
size_t PositionByte(size_t rr, size_t i) { return kQ4SP24PositionsOffset + rr * 4 + i % 4; }
unsigned PositionShift(size_t i) { return static_cast<unsigned>(2 * (i / 4)); }

uint16_t LoadHalf(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

int QuantizeValue(float v, float inv_d) {
  float q = std::nearbyint(v * inv_d);
  q = q < -8.0f ? -8.0f : (q > 7.0f ? 7.0f : q);
  return static_cast<int>(q);
}

constexpr size_t kBlockKept = 2 * kQ4SP24Kept;  // kept values per row and 64-column block

// The f16 scale with the least squared error for a row's 32 kept values (see pack.h).
uint16_t SearchScale(const float* v) {
  float amax = 0.0f;
  for (size_t i = 0; i < kBlockKept; ++i) amax = std::fabs(v[i]) > amax ? std::fabs(v[i]) : amax;
  if (amax == 0.0f) return 0;
  uint16_t best = 0;
  double best_err = 0.0;
  bool have = false;
  for (int step = 0; step <= 24; ++step) {
    const float k = 5.5f + 0.125f * static_cast<float>(step);
    float dk = amax / k;
    dk = dk > kMaxHalf ? kMaxHalf : dk;
    const uint16_t h = FloatToHalf(dk);
    const float d = HalfToFloat(h);
    if (!(d > 0.0f)) continue;  // underflowed to zero
    const float inv = 1.0f / d;
    double err = 0.0;
    for (size_t i = 0; i < kBlockKept; ++i) {
      const double e = static_cast<double>(v[i]) - static_cast<double>(d) * QuantizeValue(v[i], inv);
      err += e * e;
    }
    if (!have || err < best_err) {
      best = h;
      best_err = err;
      have = true;
    }
  }
  return best;
}

// Calls fn(column, u, d) for each stored value of row `row` whose column is < cols.
template <typename Fn>
void ForEachStored(size_t cols, const uint8_t* packed, size_t row, Fn fn) {
  const size_t col_blocks = CeilDiv(cols, kQ4SP24BlockCols);
  const size_t b = row / kQ4SP24BlockRows;
  const size_t rr = row % kQ4SP24BlockRows;
  for (size_t cb = 0; cb < col_blocks; ++cb) {
    const uint8_t* blk = packed + (b * col_blocks + cb) * kQ4SP24BlockBytes;
    const float d = HalfToFloat(LoadHalf(blk + kQ4SP24ScalesOffset + 2 * rr));
    for (size_t k = 0; k < kBlockKept; ++k) {
      const uint8_t* sub = blk + (k / kQ4SP24Kept) * kQ4SP24SubBlockBytes;
      const size_t i = k % kQ4SP24Kept;
      const uint8_t byte = sub[NibbleByte(rr, i)];
      const int u = IsHighNibble(i) ? (byte >> 4) : (byte & 0x0F);
      const size_t p = (sub[PositionByte(rr, i)] >> PositionShift(i)) & 3;
      const size_t c = cb * kQ4SP24BlockCols + 4 * (k / 2) + p;
      if (c < cols) fn(c, u, d);
    }
  }
}

}  // namespace

bool IsTwoFourSparse(size_t rows, size_t cols, const float* w) {
  assert(w != nullptr || rows * cols == 0);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    for (size_t c0 = 0; c0 < cols; c0 += 4) {
      int nonzero = 0;
      for (size_t c = c0; c < c0 + 4 && c < cols; ++c) nonzero += row[c] != 0.0f;  // NaN != 0
      if (nonzero > 2) return false;
    }
  }
  return true;
}

bool PackQ4SP24(size_t rows, size_t cols, const float* w, uint8_t* out,
               const uint16_t* scales) {
  assert(w != nullptr && out != nullptr);
  for (size_t i = 0; i < rows * cols; ++i) {
    if (!std::isfinite(w[i])) return false;
  }
  if (!IsTwoFourSparse(rows, cols, w)) return false;
  const size_t col_blocks = CeilDiv(cols, kQ4SP24BlockCols);
  const size_t blocks = CeilDiv(rows, kQ4SP24BlockRows);
  std::memset(out, 0, blocks * col_blocks * kQ4SP24BlockBytes);
  for (size_t b = 0; b < blocks; ++b) {
    for (size_t cb = 0; cb < col_blocks; ++cb) {
      uint8_t* blk = out + (b * col_blocks + cb) * kQ4SP24BlockBytes;
      for (size_t rr = 0; rr < kQ4SP24BlockRows; ++rr) {
        const size_t r = b * kQ4SP24BlockRows + rr;
        // Kept value k of the row in this block: sub-block k / 16, quad k / 2 of the block.
        float kept[kBlockKept] = {};
        uint8_t pos[kBlockKept] = {};
        // Padding rows keep u = 8 and positions 0.
        for (size_t quad = 0; quad < kBlockKept / 2 && r < rows; ++quad) {
          // Non-zeros first (ascending), then the lowest unused positions as zeros.
          size_t n = 0;
          bool used[4] = {};
          for (size_t p = 0; p < 4; ++p) {
            const size_t c = cb * kQ4SP24BlockCols + quad * 4 + p;
            if (c < cols && w[r * cols + c] != 0.0f) {
              kept[quad * 2 + n] = w[r * cols + c];
              pos[quad * 2 + n] = static_cast<uint8_t>(p);
              used[p] = true;
              ++n;
            }
          }
          for (size_t p = 0; p < 4 && n < 2; ++p) {
            if (!used[p]) {
              pos[quad * 2 + n] = static_cast<uint8_t>(p);
              ++n;
            }
          }
          if (pos[quad * 2] > pos[quad * 2 + 1]) {
            const uint8_t tp = pos[quad * 2];
            pos[quad * 2] = pos[quad * 2 + 1];
            pos[quad * 2 + 1] = tp;
            const float tv = kept[quad * 2];
            kept[quad * 2] = kept[quad * 2 + 1];
            kept[quad * 2 + 1] = tv;
          }
        }
        const uint16_t dh = r >= rows            ? 0
                            : scales != nullptr ? scales[r * col_blocks + cb]
                                                : SearchScale(kept);
        const float d = HalfToFloat(dh);
        const float inv = d > 0.0f ? 1.0f / d : 0.0f;
        for (size_t k = 0; k < kBlockKept; ++k) {
          uint8_t* sub = blk + (k / kQ4SP24Kept) * kQ4SP24SubBlockBytes;
          const size_t i = k % kQ4SP24Kept;
          const uint8_t u =
              d > 0.0f ? static_cast<uint8_t>(QuantizeValue(kept[k], inv) + 8) : kZeroNibble;
          uint8_t& byte = sub[NibbleByte(rr, i)];
          byte = IsHighNibble(i) ? static_cast<uint8_t>((byte & 0x0F) | (u << 4))
                                 : static_cast<uint8_t>((byte & 0xF0) | u);
          sub[PositionByte(rr, i)] |= static_cast<uint8_t>(pos[k] << PositionShift(i));
        }
        blk[kQ4SP24ScalesOffset + 2 * rr] = static_cast<uint8_t>(dh & 0xFF);
        blk[kQ4SP24ScalesOffset + 2 * rr + 1] = static_cast<uint8_t>(dh >> 8);
      }
    }
  }
  return true;
}

void DequantizeQ4SP24Row(size_t cols, const uint8_t* packed, size_t row, float* out) {
  assert(packed != nullptr && out != nullptr);
  for (size_t c = 0; c < cols; ++c) out[c] = 0.0f;
  ForEachStored(cols, packed, row, [&](size_t c, int u, float d) {
    out[c] += d * static_cast<float>(u - 8);
  });
}

void Q4SP24StoredColumns(size_t cols, const uint8_t* packed, size_t row, uint8_t* out) {
  assert(packed != nullptr && out != nullptr);
  for (size_t c = 0; c < cols; ++c) out[c] = 0;
  ForEachStored(cols, packed, row, [&](size_t c, int, float) { out[c] = 1; });
}

}  // namespace kite::kernels
