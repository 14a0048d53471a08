// qd8-q4r16-gemm with the NEON dot product (sdot, aarch64 with dotprod), in the tile of
// neon-tiles.h (the codebook layout too). Compiled with -march=armv8.2-a+dotprod.
//
// A slice vector's layout (a quad of rows x 4 bytes) is exactly sdot's shape: one
// vdotq_laneq_s32 of the low nibbles with the activation vector's 32-bit lane p gives the 4
// rows' partial dot products over those 4 columns, straight into int32 (nibbles 0..15 are
// valid signed bytes).
#include <arm_neon.h>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/neon-tiles.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels {
namespace {

struct SdotDot {
  // Tokens sharing one pass over a block (16 float accumulators + 8 weight vectors + 2
  // activation vectors per token fit aarch64's 32 registers).
  static constexpr size_t kTokenTile = 4;

  struct Act {
    int8x16_t x0, x1;  // columns 0..15 and 16..31 of the token's group
  };
  static Act LoadAct(const int8_t* x) { return Act{vld1q_s8(x), vld1q_s8(x + 16)}; }

  template <bool kSym>
  static int32x4_t Dot(const int8x16_t* lo, const int8x16_t* hi, const Act& x, int32_t xsum) {
    // Offset-free: the dot product starts at -8 sum x. Two chains (low / high nibbles) to
    // halve the dependency on one accumulator.
    int32x4_t a = vdupq_n_s32(kSym ? -8 * xsum : 0), b = vdupq_n_s32(0);
    a = vdotq_laneq_s32(a, lo[0], x.x0, 0);
    b = vdotq_laneq_s32(b, hi[0], x.x1, 0);
    a = vdotq_laneq_s32(a, lo[1], x.x0, 1);
    b = vdotq_laneq_s32(b, hi[1], x.x1, 1);
    a = vdotq_laneq_s32(a, lo[2], x.x0, 2);
    b = vdotq_laneq_s32(b, hi[2], x.x1, 2);
    a = vdotq_laneq_s32(a, lo[3], x.x0, 3);
    b = vdotq_laneq_s32(b, hi[3], x.x1, 3);
    return vaddq_s32(a, b);
  }

  // Codebook entries are int8 weights like the nibbles: the same sdot chains, no offset.
  static int32x4_t DotCb(const int8x16_t* lo, const int8x16_t* hi, const Act& x) {
    return Dot<false>(lo, hi, x, 0);
  }
};

using NeonDot = qd8_q4r16::NeonTile<SdotDot>;

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(neondot, NeonDot)
KITE_QD8_Q4R16CB_GEMM_VARIANT(neondot, NeonDot)

}  // namespace kite::kernels
