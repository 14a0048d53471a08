// The row walk and dot products shared by the f32-matvec and q8c-matvec NEON variants
// (aarch64, and armv7 with NEON + VFPv4): the weight type and its load are their only
// difference. Everything is static inline or instantiated with the includer's loader, so
// each file gets its own copy built with its own flags.
#pragma once

#include <arm_neon.h>

#include <cstddef>

#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {

// The loader L of the dot products below provides:
//   using Weight = ...;                                              // float or int8_t
//   static void Load8(const Weight* p, float32x4_t* lo, float32x4_t* hi);  // 8 weights

/// The 8 columns of x and of rows w[0..kRows) at column c, or for the last count < 8 columns
/// (from c) zero-padded copies of them (reading only those columns).
template <class L, int kRows>
static inline void LoadColumns8Neon(const typename L::Weight* const* w, const float* x, size_t c,
                                    size_t count, float32x4_t* x_lo, float32x4_t* x_hi,
                                    float32x4_t* w_lo, float32x4_t* w_hi) {
  if (count >= 8) {
    *x_lo = vld1q_f32(x + c);
    *x_hi = vld1q_f32(x + c + 4);
    for (int r = 0; r < kRows; ++r) L::Load8(w[r] + c, &w_lo[r], &w_hi[r]);
    return;
  }
  float xt[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t k = 0; k < count; ++k) xt[k] = x[c + k];
  *x_lo = vld1q_f32(xt);
  *x_hi = vld1q_f32(xt + 4);
  for (int r = 0; r < kRows; ++r) {
    typename L::Weight wt[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t k = 0; k < count; ++k) wt[k] = w[r][c + k];
    L::Load8(wt, &w_lo[r], &w_hi[r]);
  }
}

/// Dot products of x with rows w[0..kRows) (cols weights each; kRows is 1 or 4), 8 columns
/// per step in two accumulators per row (8 FMA chains for 4 rows). kRows = 4 returns
/// {w0.x, w1.x, w2.x, w3.x}; kRows = 1 returns w0.x in every lane.
template <class L, int kRows>
static inline float32x4_t DotRowsNeon(size_t cols, const typename L::Weight* const* w,
                                      const float* x) {
  static_assert(kRows == 1 || kRows == 4, "1 or 4 rows");
  float32x4_t a[kRows], b[kRows];
  for (int r = 0; r < kRows; ++r) a[r] = b[r] = vdupq_n_f32(0.0f);
  for (size_t c = 0; c < cols; c += 8) {
    float32x4_t x_lo, x_hi, w_lo[kRows], w_hi[kRows];
    LoadColumns8Neon<L, kRows>(w, x, c, cols - c, &x_lo, &x_hi, w_lo, w_hi);
    for (int r = 0; r < kRows; ++r) {
      a[r] = vfmaq_f32(a[r], w_lo[r], x_lo);
      b[r] = vfmaq_f32(b[r], w_hi[r], x_hi);
    }
  }
  if constexpr (kRows == 1) {
    return vdupq_n_f32(ReduceAddNeon(vaddq_f32(a[0], b[0])));
  } else {
    const float32x4_t s0 = vaddq_f32(a[0], b[0]), s1 = vaddq_f32(a[1], b[1]);
    const float32x4_t s2 = vaddq_f32(a[2], b[2]), s3 = vaddq_f32(a[3], b[3]);
#if defined(__aarch64__)
    return vpaddq_f32(vpaddq_f32(s0, s1), vpaddq_f32(s2, s3));
#else
    const float sums[4] = {ReduceAddNeon(s0), ReduceAddNeon(s1), ReduceAddNeon(s2),
                           ReduceAddNeon(s3)};
    return vld1q_f32(sums);
#endif
  }
}

/// y[r] = scale(r) * (w_r . x) for r < rows, w_r = the cols weights at w + r * cols, with
/// scale4(t, q) = {scale(t), scale(t + q), scale(t + 2q), scale(t + 3q)} (a float32x4_t) and
/// scale1(r) = scale(r). The rows are split into 4 contiguous quarters walked in lockstep (as
/// the x86 variants do: each weight stream moves through consecutive rows), the last
/// rows % 4 rows one at a time.
template <class L, class Scale4, class Scale1>
static inline void MatvecNeon(size_t rows, size_t cols, const typename L::Weight* w,
                              const float* x, float* y, Scale4&& scale4, Scale1&& scale1) {
  const size_t q = rows / 4;
  for (size_t t = 0; t < q; ++t) {
    const typename L::Weight* rows4[4] = {w + t * cols, w + (t + q) * cols,
                                          w + (t + 2 * q) * cols, w + (t + 3 * q) * cols};
    float out[4];
    vst1q_f32(out, vmulq_f32(DotRowsNeon<L, 4>(cols, rows4, x), scale4(t, q)));
    y[t] = out[0];
    y[t + q] = out[1];
    y[t + 2 * q] = out[2];
    y[t + 3 * q] = out[3];
  }
  for (size_t r = 4 * q; r < rows; ++r) {
    const typename L::Weight* row = w + r * cols;
    y[r] = vgetq_lane_f32(DotRowsNeon<L, 1>(cols, &row, x), 0) * scale1(r);
  }
}

}  // namespace kite::kernels
