// Scalar reference for qd8-q3r16-gemm: the specification the optimized variants match.
// It reads the Q3_R16_G32 and Q3_R16_G64 layouts bit by bit, exactly as kite.fbs describes
// them.
#include <cassert>

#include "sdk/kernels/fp16.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"

namespace kite::kernels {

void qd8_q3r16_gemm_ref(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                        const uint8_t* w, const int8_t* xq, const float* xscale,
                        const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert((groups_per_scale == 1 || groups_per_scale == 2) && groups % groups_per_scale == 0);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  (void)xsum;  // the reference subtracts the zero code per weight
  const size_t s = groups_per_scale;
  const size_t block_bytes = Q3R16BlockBytes(s);
  const size_t blocks_per_row = groups / s;
  for (size_t t = 0; t < m; ++t) {
    for (size_t r = 0; r < rows; ++r) {
      const size_t rb = r / kQ4R16BlockRows;
      const size_t rr = r % kQ4R16BlockRows;
      float acc = 0.0f;
      for (size_t g = 0; g < groups; ++g) {
        // Activation group g: code part g % s of column block g / s.
        const uint8_t* blk = w + (rb * blocks_per_row + g / s) * block_bytes;
        const uint8_t* part = blk + (g % s) * kQ3R16CodeBytes;
        const int8_t* x = xq + (t * groups + g) * kQ4R16GroupSize;
        int32_t dot = 0;
        for (size_t k = 0; k < 8; ++k) {      // column quad k: columns 4k .. 4k + 3
          for (size_t j = 0; j < 4; ++j) {
            const uint8_t low = part[(k / 4) * 64 + rr * 4 + j];
            const uint8_t high = part[kQ3R16HighBitsOffset + rr * 4 + j];
            const int32_t u = ((low >> (2 * (k % 4))) & 3) | (((high >> k) & 1) << 2);
            dot += (u - kQ3Zero) * x[4 * k + j];
          }
        }
        const uint8_t* dp = blk + s * kQ3R16CodeBytes + 2 * rr;
        const float d = HalfToFloat(static_cast<uint16_t>(dp[0] | (dp[1] << 8)));
        acc += xscale[t * groups + g] * (d * static_cast<float>(dot));
      }
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace kite::kernels
