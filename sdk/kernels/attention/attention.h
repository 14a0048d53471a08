// One head of causal attention over an f32 KV cache: softmax(scale * q K^T) V.
#pragma once

#include <cstddef>

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

}  // namespace kite::kernels
