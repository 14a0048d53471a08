// One head of causal attention over the KV cache: softmax(scale * q K^T) V, with the cache
// in f32 (attention) or in int8 with an f16 scale and offset per position (attention_q8kv).
// ref.cc is the specification; the SIMD variants share one driver (driver.h) and differ only
// in their vector operations.
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

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract as the reference; dot products and the weighted sum are blocked
/// (different summation order), the softmax is softmax_neon.
void attention_neon(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                    const float* values, size_t kv_stride, float scale, float* scores, float* out);
/// Attention over an int8 KV cache. Key p is the int8 codes c = keys[p * kv_stride + j]
/// with an f16 scale d and offset m (IEEE binary16 bits) at key_params[p * param_stride] and
/// key_params[p * param_stride + 1]: k_p[j] = d c + m (q8kv_quantize writes this format);
/// value p likewise with values and value_params. Otherwise the contract of AttentionFn:
/// out[j] = sum_p w[p] * v_p[j], w = softmax over p of scale * (q . k_p), `scores` (n_pos
/// floats, caller-owned) holds w on return. Requires head_dim > 0, n_pos > 0,
/// kv_stride >= head_dim, param_stride >= 2; `out` and `scores` must not alias each other or
/// any input. Writes only `scores` and `out`: thread-safe for calls with distinct scores/out.
using AttentionQ8kvFn = void (*)(size_t head_dim, size_t n_pos, const float* q,
                                 const int8_t* keys, const uint16_t* key_params,
                                 const int8_t* values, const uint16_t* value_params,
                                 size_t kv_stride, size_t param_stride, float scale,
                                 float* scores, float* out);

/// Scalar reference (the specification), with q_sum = q[0] + ... in order j:
/// scores[p] = (scale * d_p) * (q[0] c[0] + ... in order j, each code converted to float)
/// + (scale * m_p) * q_sum; softmax_ref over the scores; then out[j] = sum over p in order of
/// (w[p] * d_p) * c_p[j], plus sum over p in order of w[p] * m_p.
void attention_q8kv_ref(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                        const uint16_t* key_params, const int8_t* values,
                        const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                        float scale, float* scores, float* out);

/// AVX2 variant (AVX2 + FMA + F16C; dispatch checks the features). Same contract as the
/// reference; int8 codes are widened to f32 in registers, dot products and the weighted
/// sum are blocked (different summation order), the softmax is softmax_avx2.
void attention_q8kv_avx2(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const uint16_t* key_params, const int8_t* values,
                         const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                         float scale, float* scores, float* out);

/// AVX-512 variant (AVX512F/BW/VL/DQ + FMA + F16C; dispatch checks the features). Same
/// contract as the reference; the softmax is softmax_avx512.
void attention_q8kv_avx512(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                           const uint16_t* key_params, const int8_t* values,
                           const uint16_t* value_params, size_t kv_stride,
                           size_t param_stride, float scale, float* scores, float* out);

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract as the reference; dot products and the weighted sum are blocked
/// (different summation order), the softmax is softmax_neon.
void attention_q8kv_neon(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const uint16_t* key_params, const int8_t* values,
                         const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                         float scale, float* scores, float* out);

/// Quantizes n floats (a K or V row of the cache) for attention_q8kv, in groups of `group`
/// (one per KV head; n % group == 0). Per group, with lo / hi its smallest / largest value:
/// the offset m = f16(lo + 128 (hi - lo) / 255) (nearest even, clamped to +-65504), the scale
/// d = the smallest f16 >= max((hi - m) / 127, (m - lo) / 128) (at most 65504), stored at
/// params[2 g] and params[2 g + 1]; codes c = round((x - m) * (1 / d)) (nearest even; 0 when
/// d is 0) clamped to [-128, 127] (a NaN code gives -128). So every value of the group is
/// within d / 2 of d c + m unless the group exceeds the f16 range. Asymmetric: the 256 codes
/// span the group's own range, which suits keys after RoPE (a row's values share an offset)
/// better than a symmetric max|x| scale. Scalar only (one row per token: small beside the
/// matrix products); thread-safe.
void q8kv_quantize(size_t n, size_t group, const float* x, int8_t* q, uint16_t* params);

}  // namespace kite::kernels
