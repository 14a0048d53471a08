// qd8-q3r16-gemm with the NEON dot product (sdot, aarch64 with dotprod), in the tile of
// neon-tiles.h. Compiled with -march=armv8.2-a+dotprod.
//
// A code vector (a quad of rows x the 4 columns of one column quad) is exactly sdot's shape:
// one vdotq_laneq_s32 of column quad k's codes with the activation vector's 32-bit lane k % 4
// gives the 4 rows' partial dot products over those 4 columns, straight into int32.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"

namespace kite::kernels {
namespace {

struct SdotDot {
  // Tokens sharing one pass over a block (16 float accumulators + 8 code vectors + 2
  // activation vectors per token fit aarch64's 32 registers).
  static constexpr size_t kTokenTile = 4;

  struct Act {
    int8x16_t x0, x1;  // columns 0..15 and 16..31 of the token's group
  };
  static Act LoadAct(const int8_t* x) { return Act{vld1q_s8(x), vld1q_s8(x + 16)}; }

  static int32x4_t Dot(const int8x16_t* codes, const Act& x, int32_t xsum) {
    // sum (u - 4) x: the dot product starts at -4 sum x. Two chains (column quads 0-3 and
    // 4-7) to halve the dependency on one accumulator.
    int32x4_t a = vdupq_n_s32(-kQ3Zero * xsum), b = vdupq_n_s32(0);
    a = vdotq_laneq_s32(a, codes[0], x.x0, 0);
    b = vdotq_laneq_s32(b, codes[4], x.x1, 0);
    a = vdotq_laneq_s32(a, codes[1], x.x0, 1);
    b = vdotq_laneq_s32(b, codes[5], x.x1, 1);
    a = vdotq_laneq_s32(a, codes[2], x.x0, 2);
    b = vdotq_laneq_s32(b, codes[6], x.x1, 2);
    a = vdotq_laneq_s32(a, codes[3], x.x0, 3);
    b = vdotq_laneq_s32(b, codes[7], x.x1, 3);
    return vaddq_s32(a, b);
  }
};

}  // namespace

void qd8_q3r16_gemm_neondot(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                            const uint8_t* w, const int8_t* xq, const float* xscale,
                            const int32_t* xsum, float* y, size_t y_stride) {
  qd8_q3r16::Gemm<qd8_q3r16::NeonTile<SdotDot>>(m, rows, groups, groups_per_scale, w, xq,
                                                xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels
