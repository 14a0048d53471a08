// What the x86 attention variants (avx2.cc, avx512.cc) share: the driver's reductions, softmax
// and f16 conversion on top of their lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h),
// and their two entry points. Include only from those files: instantiated with their lane
// types, everything here has internal linkage and their ISA flags.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/attention/driver.h"

namespace kite::kernels {

/// A lane type of the attention driver (driver.h): the x86 lane type L, with kSoftmax the
/// same ISA's softmax. The ISA file adds the int8 loads and its register budget.
template <class L, void (*kSoftmax)(size_t, float*)>
struct X86AttentionLanes : L {
  using Vec = typename L::Vec;
  static float Reduce(Vec v) { return L::ReduceAdd(v); }
  static void Reduce4(Vec a0, Vec a1, Vec a2, Vec a3, const float s[4], const float t[4],
                      float* y) {
    _mm_storeu_ps(y, _mm_add_ps(_mm_mul_ps(L::ReduceAdd4(a0, a1, a2, a3), _mm_loadu_ps(s)),
                                _mm_loadu_ps(t)));
  }
  static void Softmax(size_t n, float* x) { kSoftmax(n, x); }
  static float Half(uint16_t h) { return _cvtsh_ss(h); }
};

}  // namespace kite::kernels

/// Defines attention_<isa> and attention_q8kv_<isa> (attention.h) through the driver over
/// the lane type V. Use inside namespace kite::kernels.
#define KITE_ATTENTION_X86_VARIANTS(isa, V)                                                   \
  void attention_##isa(size_t head_dim, size_t n_pos, const float* q, const float* keys,      \
                       const float* values, size_t kv_stride, float scale, float* scores,     \
                       float* out) {                                                          \
    attention_driver::AttentionF32<V>(head_dim, n_pos, q, keys, values, kv_stride, scale,     \
                                      scores, out);                                           \
  }                                                                                           \
  void attention_q8kv_##isa(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys, \
                            const uint16_t* key_params, const int8_t* values,                 \
                            const uint16_t* value_params, size_t kv_stride,                   \
                            size_t param_stride, float scale, float* scores, float* out) {    \
    attention_driver::AttentionQ8kv<V>(head_dim, n_pos, q, keys, key_params, values,          \
                                       value_params, kv_stride, param_stride, scale, scores,  \
                                       out);                                                  \
  }
