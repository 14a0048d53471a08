// q4-matvec, NEON (aarch64 and armv7): per group, 16 weight bytes (32 values) at a time:
// the low / high nibbles minus 8 against the even / odd activations (vld2 deinterleaves
// them), widening multiplies into int16 (each lane sums 2 products of at most 8 * 128: no
// overflow), pairwise-accumulated into int32. A group's last group / 2 % 16 bytes take the
// scalar path. The integer dot products are exact; the walk and the per-group float
// arithmetic are the reference's (rows.h).
#include <arm_neon.h>

#include <cstdint>

#include "sdk/kernels/q4-matvec/q4-matvec.h"
#include "sdk/kernels/q4-matvec/rows.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

// sum_j (u_j - 8) x_j over one group of `group_bytes` weight bytes (2 values each) at w.
int32_t GroupDot(size_t group_bytes, const uint8_t* w, const int8_t* x) {
  const uint8x16_t nibble_mask = vdupq_n_u8(0x0F);
  const int8x16_t eight = vdupq_n_s8(8);
  int32x4_t acc = vdupq_n_s32(0);
  size_t j = 0;
  for (; j + 16 <= group_bytes; j += 16) {
    const uint8x16_t b = vld1q_u8(w + j);
    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, nibble_mask)), eight);
    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), eight);
    const int8x16x2_t xv = vld2q_s8(x + 2 * j);  // val[0]: x[2j + 2k], val[1]: x[2j + 2k + 1]
    int16x8_t s0 = vmull_s8(vget_low_s8(lo), vget_low_s8(xv.val[0]));
    int16x8_t s1 = vmull_s8(vget_high_s8(lo), vget_high_s8(xv.val[0]));
    s0 = vmlal_s8(s0, vget_low_s8(hi), vget_low_s8(xv.val[1]));
    s1 = vmlal_s8(s1, vget_high_s8(hi), vget_high_s8(xv.val[1]));
    acc = vpadalq_s16(acc, s0);
    acc = vpadalq_s16(acc, s1);
  }
  int32_t dot = ReduceAddS32Neon(acc);
  for (; j < group_bytes; ++j) {
    dot += (static_cast<int32_t>(w[j] & 0x0F) - 8) * x[2 * j] +
           (static_cast<int32_t>(w[j] >> 4) - 8) * x[2 * j + 1];
  }
  return dot;
}

}  // namespace

void q4_matvec_neon(size_t rows, size_t groups, size_t group, const uint8_t* w,
                    const uint16_t* wscales, const uint16_t* wmins, const int8_t* qx,
                    const float* xscales, const int32_t* xsums, float* y) {
  Q4MatvecRows(rows, groups, group, w, wscales, wmins, qx, xscales, xsums, y, GroupDot);
}

}  // namespace kite::kernels
