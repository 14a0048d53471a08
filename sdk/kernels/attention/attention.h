// One head of causal attention over the KV cache: softmax(scale * q K^T) V, with the cache
// in f32 (attention) or in int8 with one scale per position (attention_q8kv). ref.cc is the
// specification; the SIMD variants share one driver (driver.h) and differ only in their
// vector operations.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// out[j] = sum_p w[p] * v_p[j] with w = softmax over p of scale * (q . k_p), for positions
/// p in [0, n_pos) (the caller passes the causal prefix: n_pos = pos + 1). `q` and `out` hold
/// `head_dim` floats; key p is the `head_dim` floats at keys + p * kv_stride, value p likewise
/// at values + p * kv_stride (kv_stride >= head_dim, in floats). `scores` is caller-owned
/// scratch of `n_pos` floats and holds the weights w on return. Requires head_dim > 0,
/// n_pos > 0; `out` and `scores` must not alias each other or any input. Writes only
/// `scores` and `out`: thread-safe for calls with distinct scores/out.
using AttentionFn = void (*)(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                             const float* values, size_t kv_stride, float scale, float* scores,
                             float* out);

/// Scalar reference (the specification): scores[p] = scale * (q[0] k[0] + ... in order j),
/// softmax_ref over the scores, then out[j] accumulated over p in order.
void attention_ref(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                   const float* values, size_t kv_stride, float scale, float* scores, float* out);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or Clang only;
/// dispatch checks the features). Same contract as the reference; dot products and the
/// weighted sum are blocked (different summation order) and the softmax is softmax_avx2.
void attention_avx2(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                    const float* values, size_t kv_stride, float scale, float* scores, float* out);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract as the reference; the softmax is
/// softmax_avx512.
void attention_avx512(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                      const float* values, size_t kv_stride, float scale, float* scores,
                      float* out);

/// Attention over an int8 KV cache: key p is k_p[j] = key_scales[p * scale_stride] *
/// keys[p * kv_stride + j] (int8), value p likewise with value_scales and values. Otherwise
/// the contract of AttentionFn: out[j] = sum_p w[p] * v_p[j], w = softmax over p of
/// scale * (q . k_p), `scores` (n_pos floats, caller-owned) holds w on return. Requires
/// head_dim > 0, n_pos > 0, kv_stride >= head_dim, scale_stride >= 1; `out` and `scores`
/// must not alias each other or any input. Writes only `scores` and `out`: thread-safe for
/// calls with distinct scores/out.
using AttentionQ8kvFn = void (*)(size_t head_dim, size_t n_pos, const float* q,
                                 const int8_t* keys, const float* key_scales,
                                 const int8_t* values, const float* value_scales,
                                 size_t kv_stride, size_t scale_stride, float scale,
                                 float* scores, float* out);

/// Scalar reference (the specification): scores[p] = (scale * key_scale_p) * (q[0] k[0] +
/// ... in order j, each key value converted to float), softmax_ref over the scores, then
/// out[j] = sum over p in order of (w[p] * value_scale_p) * v_p[j].
void attention_q8kv_ref(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                        const float* key_scales, const int8_t* values,
                        const float* value_scales, size_t kv_stride, size_t scale_stride,
                        float scale, float* scores, float* out);

/// AVX2 variant (AVX2 + FMA; dispatch checks the features). Same contract as the
/// reference; int8 values are widened to f32 in registers, dot products and the weighted
/// sum are blocked (different summation order), the softmax is softmax_avx2.
void attention_q8kv_avx2(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const float* key_scales, const int8_t* values,
                         const float* value_scales, size_t kv_stride, size_t scale_stride,
                         float scale, float* scores, float* out);

/// AVX-512 variant (AVX512F/BW/VL/DQ + FMA; dispatch checks the features). Same contract as
/// the reference; the softmax is softmax_avx512.
void attention_q8kv_avx512(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                           const float* key_scales, const int8_t* values,
                           const float* value_scales, size_t kv_stride, size_t scale_stride,
                           float scale, float* scores, float* out);

}  // namespace kite::kernels
