// attention and attention_q8kv, AVX2: the driver (driver.h) over 8-float vectors, up to 64
// output floats in registers per pass; int8 rows are widened to f32 8 at a time.
#include <immintrin.h>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/attention/driver.h"
#include "sdk/kernels/simd/lanes-avx2.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// The 8-float lanes of simd/lanes-avx2.h, with tails that know their length (for the int8
// tail loads).
struct Avx2 : F32x8 {
  struct Tail {
    __m256i mask;  // the first n lanes
    size_t n;
  };
  // 8 accumulators of one set still leave registers for the loads; up to 4 vectors get a
  // second set (8 FMA chains).
  static constexpr int kMaxVecs = 8;
  static constexpr int kTwoSetVecs = 4;

  static Tail TailOf(size_t n) { return Tail{F32x8::TailOf(n), n}; }
  using F32x8::Load;
  // Reads exactly 8 bytes.
  static Vec Load(const int8_t* p) {
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static Vec LoadTail(const Tail& t, const float* p) { return F32x8::LoadTail(t.mask, p); }
  static Vec LoadTail(const Tail& t, const int8_t* p) {
    uint64_t bits = 0;
    for (size_t i = 0; i < t.n; ++i) {
      bits |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    }
    return _mm256_cvtepi32_ps(
        _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(bits))));
  }
  static void StoreTail(const Tail& t, float* y, Vec v) { F32x8::StoreTail(t.mask, y, v); }
  static float Reduce(Vec v) { return ReduceAdd(v); }
  static void Reduce4(Vec a0, Vec a1, Vec a2, Vec a3, const float s[4], const float t[4],
                      float* y) {
    _mm_storeu_ps(y, _mm_add_ps(_mm_mul_ps(ReduceAdd4(a0, a1, a2, a3), _mm_loadu_ps(s)),
                                _mm_loadu_ps(t)));
  }
  static void Softmax(size_t n, float* x) { softmax_avx2(n, x); }
  static float Half(uint16_t h) { return _cvtsh_ss(h); }
};

}  // namespace

void attention_avx2(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                    const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  attention_driver::AttentionF32<Avx2>(head_dim, n_pos, q, keys, values, kv_stride, scale, scores,
                                       out);
}

void attention_q8kv_avx2(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const uint16_t* key_params, const int8_t* values,
                         const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                         float scale, float* scores, float* out) {
  attention_driver::AttentionQ8kv<Avx2>(head_dim, n_pos, q, keys, key_params, values,
                                        value_params, kv_stride, param_stride, scale, scores, out);
}

}  // namespace kite::kernels
