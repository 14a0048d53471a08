// Scalar reference for qd8-q4sp24-gemm: the specification the optimized variants match.
// It reads the Q4_SP24_R16_G64 layout byte by byte, exactly as kite.fbs describes it.
#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"

namespace kite::kernels {

void qd8_q4sp24_gemm_ref(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                        const float* xscale, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t col_blocks = (groups + 1) / 2;
  for (size_t t = 0; t < m; ++t) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t block = r / kQ4SP24BlockRows;
      const size_t rr = r % kQ4SP24BlockRows;
      float acc = 0.0f;
      for (size_t g = 0; g < groups; ++g) {
        const uint8_t* blk = w + (block * col_blocks + g / 2) * kQ4SP24BlockBytes;
        const uint8_t* sub = blk + (g % 2) * kQ4SP24SubBlockBytes;
        const int8_t* x = xq + (t * groups + g) * kQ4SP24GroupSize;
        int32_t dot = 0;
        for (size_t i = 0; i < kQ4SP24Kept; ++i) {
          // Kept value i sits in slice s = i / 4, byte j = i % 4 of the row's dwords.
          const size_t s = i / 4, j = i % 4;
          const uint8_t nib = sub[(s % 2) * 64 + rr * 4 + j];
          const int32_t u = s < 2 ? (nib & 0x0F) : (nib >> 4);
          const uint8_t pos = sub[kQ4SP24PositionsOffset + rr * 4 + j];
          const size_t p = (pos >> (2 * s)) & 3;
          dot += (u - 8) * x[4 * (i / 2) + p];
        }
        const uint8_t* dp = blk + kQ4SP24ScalesOffset + 2 * rr;
        const float d = HalfToFloat(static_cast<uint16_t>(dp[0] | (dp[1] << 8)));
        acc += xscale[t * groups + g] * (d * static_cast<float>(dot));
      }
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace kite::kernels
