// qd8-q4sp24-gemm with the NEON dot product (sdot, aarch64 with dotprod), in the tile of
// neon-tiles.h. Compiled with -march=armv8.2-a+dotprod.
//
// A slice vector (a quad of rows x 4 bytes) against its gathered activations is exactly
// sdot's shape: one vdotq_s32 adds each row's 4 products of that slice into its int32 lane.
#include <arm_neon.h>

#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"

namespace kite::kernels {
namespace {

struct SdotDot {
  // Tokens sharing one pass over a block (16 float accumulators beside the quad's 4 weight,
  // 4 index and a token's 6 activation vectors fit aarch64's 32 registers).
  static constexpr size_t kTokenTile = 4;

  static int32x4_t Dot(const int8x16_t (&q)[4], const int8x16_t (&a)[4]) {
    // Two chains, to halve the dependency on one accumulator.
    int32x4_t s0 = vdotq_s32(vdupq_n_s32(0), q[0], a[0]);
    int32x4_t s1 = vdotq_s32(vdupq_n_s32(0), q[1], a[1]);
    s0 = vdotq_s32(s0, q[2], a[2]);
    s1 = vdotq_s32(s1, q[3], a[3]);
    return vaddq_s32(s0, s1);
  }
};

}  // namespace

void qd8_q4sp24_gemm_neondot(size_t m, size_t rows, size_t groups, const uint8_t* w,
                             const int8_t* xq, const float* xscale, float* y, size_t y_stride) {
  qd8_q4sp24::Gemm<qd8_q4sp24::NeonTile<SdotDot>>(m, rows, groups, w, xq, xscale, y, y_stride);
}

}  // namespace kite::kernels
