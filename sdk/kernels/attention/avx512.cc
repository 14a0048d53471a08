// attention and attention_q8kv, AVX-512: the driver (driver.h) over 16-float vectors, up to
// 128 output floats in registers per pass; int8 rows are widened to f32 16 at a time, with
// masked byte loads for the row tails.
#include <immintrin.h>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/attention/driver.h"
#include "sdk/kernels/simd/lanes-avx512.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// The 16-float lanes of simd/lanes-avx512.h, plus int8 rows.
struct Avx512 : F32x16 {
  // Two sets of 8 accumulators still fit the 32 registers.
  static constexpr int kMaxVecs = 8;
  static constexpr int kTwoSetVecs = 8;

  using F32x16::Load;
  using F32x16::LoadTail;
  static Vec Load(const int8_t* p) { return LoadTail(TailOf(16), p); }
  // Reads only the bytes in m.
  static Vec LoadTail(Tail m, const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
  }
  static float Reduce(Vec v) { return ReduceAdd(v); }
  static void Reduce4(Vec a0, Vec a1, Vec a2, Vec a3, const float s[4], const float t[4],
                      float* y) {
    _mm_storeu_ps(y, _mm_add_ps(_mm_mul_ps(ReduceAdd4(a0, a1, a2, a3), _mm_loadu_ps(s)),
                                _mm_loadu_ps(t)));
  }
  static void Softmax(size_t n, float* x) { softmax_avx512(n, x); }
  static float Half(uint16_t h) { return _cvtsh_ss(h); }
};

}  // namespace

void attention_avx512(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                      const float* values, size_t kv_stride, float scale, float* scores,
                      float* out) {
  attention_driver::AttentionF32<Avx512>(head_dim, n_pos, q, keys, values, kv_stride, scale,
                                         scores, out);
}

void attention_q8kv_avx512(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                           const uint16_t* key_params, const int8_t* values,
                           const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                           float scale, float* scores, float* out) {
  attention_driver::AttentionQ8kv<Avx512>(head_dim, n_pos, q, keys, key_params, values,
                                          value_params, kv_stride, param_stride, scale, scores,
                                          out);
}

}  // namespace kite::kernels
