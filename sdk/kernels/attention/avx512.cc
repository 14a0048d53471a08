// attention, AVX-512: scores as 4 dot products at a time, softmax_avx512, then the weighted
// sum of value rows with up to 128 output floats held in registers per pass over positions.
// attention_q8kv, AVX-512: the same shape over int8 rows, widened to f32 16 at a time (masked
// byte loads for the row tails).
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// scores[p] = scale * (q . k_p), p in [0, n_pos).
void Scores(size_t head_dim, size_t n_pos, const float* q, const float* keys, size_t stride,
            float scale, float* scores) {
  const size_t full = head_dim / 16 * 16;
  const __mmask16 tail = TailMask16(head_dim - full);
  const __m512 q_tail = _mm512_maskz_loadu_ps(tail, q + full);
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const float* k0 = keys + p * stride;
    const float* k1 = k0 + stride;
    const float* k2 = k1 + stride;
    const float* k3 = k2 + stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
      const __m512 qv = _mm512_loadu_ps(q + j);
      a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k0 + j), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k1 + j), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k2 + j), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k3 + j), a3);
    }
    if (tail != 0) {
      a0 = _mm512_fmadd_ps(q_tail, _mm512_maskz_loadu_ps(tail, k0 + full), a0);
      a1 = _mm512_fmadd_ps(q_tail, _mm512_maskz_loadu_ps(tail, k1 + full), a1);
      a2 = _mm512_fmadd_ps(q_tail, _mm512_maskz_loadu_ps(tail, k2 + full), a2);
      a3 = _mm512_fmadd_ps(q_tail, _mm512_maskz_loadu_ps(tail, k3 + full), a3);
    }
    _mm_storeu_ps(scores + p, _mm_mul_ps(ReduceAdd4Avx512(a0, a1, a2, a3), _mm_set1_ps(scale)));
  }
  for (; p < n_pos; ++p) {
    const float* k0 = keys + p * stride;
    __m512 a0 = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(k0 + j), a0);
    }
    if (tail != 0) a0 = _mm512_fmadd_ps(q_tail, _mm512_maskz_loadu_ps(tail, k0 + full), a0);
    scores[p] = _mm512_reduce_add_ps(a0) * scale;
  }
}

// out[0, 16 kVecs) = sum_p w[p] * v_p[0, 16 kVecs). Two accumulator sets (even / odd p) give
// 2 kVecs independent FMA chains; 2 x 8 accumulators still fit the 32 registers.
template <int kVecs>
void WeightedSum(size_t n_pos, const float* w, const float* values, size_t stride, float* out) {
  __m512 acc0[kVecs];
  __m512 acc1[kVecs];
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) acc0[k] = acc1[k] = _mm512_setzero_ps();
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    const __m512 w0 = _mm512_set1_ps(w[p]);
    const __m512 w1 = _mm512_set1_ps(w[p + 1]);
    const float* v0 = values + p * stride;
    const float* v1 = v0 + stride;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v0 + 16 * k), acc0[k]);
      acc1[k] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(v1 + 16 * k), acc1[k]);
    }
  }
  if (p < n_pos) {
    const __m512 w0 = _mm512_set1_ps(w[p]);
    const float* v0 = values + p * stride;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(v0 + 16 * k), acc0[k]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) _mm512_storeu_ps(out + 16 * k, _mm512_add_ps(acc0[k], acc1[k]));
}

// WeightedSum for the last head_dim % 16 floats (lanes in `m`).
void WeightedSumMasked(__mmask16 m, size_t n_pos, const float* w, const float* values,
                       size_t stride, float* out) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    const float* v0 = values + p * stride;
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(w[p]), _mm512_maskz_loadu_ps(m, v0), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_set1_ps(w[p + 1]), _mm512_maskz_loadu_ps(m, v0 + stride), acc1);
  }
  if (p < n_pos) {
    acc0 =
        _mm512_fmadd_ps(_mm512_set1_ps(w[p]), _mm512_maskz_loadu_ps(m, values + p * stride), acc0);
  }
  _mm512_mask_storeu_ps(out, m, _mm512_add_ps(acc0, acc1));
}

using WeightedSumFn = void (*)(size_t, const float*, const float*, size_t, float*);
constexpr WeightedSumFn kWeightedSum[8] = {WeightedSum<1>, WeightedSum<2>, WeightedSum<3>,
                                           WeightedSum<4>, WeightedSum<5>, WeightedSum<6>,
                                           WeightedSum<7>, WeightedSum<8>};

// The first n <= 16 int8 at p (mask m = TailMask16(n)) widened to f32; reads only those.
inline __m512 LoadQ8(__mmask16 m, const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

// scores[p] = scale * key_scale_p * (q . k_p) over int8 keys.
void ScoresQ8(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
              const float* key_scales, size_t stride, size_t scale_stride, float scale,
              float* scores) {
  const size_t full = head_dim / 16 * 16;
  const __mmask16 all = TailMask16(16);
  const __mmask16 tail = TailMask16(head_dim - full);
  const __m512 q_tail = _mm512_maskz_loadu_ps(tail, q + full);
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const int8_t* k0 = keys + p * stride;
    const int8_t* k1 = k0 + stride;
    const int8_t* k2 = k1 + stride;
    const int8_t* k3 = k2 + stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
      const __m512 qv = _mm512_loadu_ps(q + j);
      a0 = _mm512_fmadd_ps(qv, LoadQ8(all, k0 + j), a0);
      a1 = _mm512_fmadd_ps(qv, LoadQ8(all, k1 + j), a1);
      a2 = _mm512_fmadd_ps(qv, LoadQ8(all, k2 + j), a2);
      a3 = _mm512_fmadd_ps(qv, LoadQ8(all, k3 + j), a3);
    }
    if (tail != 0) {
      a0 = _mm512_fmadd_ps(q_tail, LoadQ8(tail, k0 + full), a0);
      a1 = _mm512_fmadd_ps(q_tail, LoadQ8(tail, k1 + full), a1);
      a2 = _mm512_fmadd_ps(q_tail, LoadQ8(tail, k2 + full), a2);
      a3 = _mm512_fmadd_ps(q_tail, LoadQ8(tail, k3 + full), a3);
    }
    const __m128 ks = _mm_setr_ps(key_scales[p * scale_stride], key_scales[(p + 1) * scale_stride],
                                  key_scales[(p + 2) * scale_stride],
                                  key_scales[(p + 3) * scale_stride]);
    _mm_storeu_ps(scores + p, _mm_mul_ps(ReduceAdd4Avx512(a0, a1, a2, a3),
                                         _mm_mul_ps(ks, _mm_set1_ps(scale))));
  }
  for (; p < n_pos; ++p) {
    const int8_t* k0 = keys + p * stride;
    __m512 a0 = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), LoadQ8(all, k0 + j), a0);
    }
    if (tail != 0) a0 = _mm512_fmadd_ps(q_tail, LoadQ8(tail, k0 + full), a0);
    scores[p] = _mm512_reduce_add_ps(a0) * (scale * key_scales[p * scale_stride]);
  }
}

// out[0, 16 kVecs) = sum_p (w[p] value_scale_p) * v_p[0, 16 kVecs) over int8 values, with
// two accumulator sets (even / odd p); the last vector covers only the lanes in `last`.
template <int kVecs>
void WeightedSumQ8(__mmask16 last, size_t n_pos, const float* w, const int8_t* values,
                   const float* value_scales, size_t stride, size_t scale_stride, float* out) {
  __m512 acc0[kVecs];
  __m512 acc1[kVecs];
  __mmask16 m[kVecs];
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) {
    acc0[k] = acc1[k] = _mm512_setzero_ps();
    m[k] = k + 1 == kVecs ? last : TailMask16(16);
  }
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    const __m512 w0 = _mm512_set1_ps(w[p] * value_scales[p * scale_stride]);
    const __m512 w1 = _mm512_set1_ps(w[p + 1] * value_scales[(p + 1) * scale_stride]);
    const int8_t* v0 = values + p * stride;
    const int8_t* v1 = v0 + stride;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm512_fmadd_ps(w0, LoadQ8(m[k], v0 + 16 * k), acc0[k]);
      acc1[k] = _mm512_fmadd_ps(w1, LoadQ8(m[k], v1 + 16 * k), acc1[k]);
    }
  }
  if (p < n_pos) {
    const __m512 w0 = _mm512_set1_ps(w[p] * value_scales[p * scale_stride]);
    const int8_t* v0 = values + p * stride;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm512_fmadd_ps(w0, LoadQ8(m[k], v0 + 16 * k), acc0[k]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) {
    _mm512_mask_storeu_ps(out + 16 * k, m[k], _mm512_add_ps(acc0[k], acc1[k]));
  }
}

using WeightedSumQ8Fn = void (*)(__mmask16, size_t, const float*, const int8_t*, const float*,
                                 size_t, size_t, float*);
constexpr WeightedSumQ8Fn kWeightedSumQ8[8] = {WeightedSumQ8<1>, WeightedSumQ8<2>,
                                               WeightedSumQ8<3>, WeightedSumQ8<4>,
                                               WeightedSumQ8<5>, WeightedSumQ8<6>,
                                               WeightedSumQ8<7>, WeightedSumQ8<8>};

}  // namespace

void attention_avx512(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                      const float* values, size_t kv_stride, float scale, float* scores,
                      float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim);
  assert(q != nullptr && keys != nullptr && values != nullptr && scores != nullptr &&
         out != nullptr);
  Scores(head_dim, n_pos, q, keys, kv_stride, scale, scores);
  softmax_avx512(n_pos, scores);
  size_t j = 0;
  while (head_dim - j >= 16) {
    const size_t vecs = (head_dim - j) / 16 < 8 ? (head_dim - j) / 16 : 8;
    kWeightedSum[vecs - 1](n_pos, scores, values + j, kv_stride, out + j);
    j += 16 * vecs;
  }
  if (j < head_dim) {
    WeightedSumMasked(TailMask16(head_dim - j), n_pos, scores, values + j, kv_stride, out + j);
  }
}

void attention_q8kv_avx512(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                           const float* key_scales, const int8_t* values,
                           const float* value_scales, size_t kv_stride, size_t scale_stride,
                           float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim && scale_stride >= 1);
  assert(q != nullptr && keys != nullptr && key_scales != nullptr && values != nullptr &&
         value_scales != nullptr && scores != nullptr && out != nullptr);
  ScoresQ8(head_dim, n_pos, q, keys, key_scales, kv_stride, scale_stride, scale, scores);
  softmax_avx512(n_pos, scores);
  // Passes of up to 8 vectors (128 values); the last vector of the last pass is partial.
  for (size_t j = 0; j < head_dim;) {
    const size_t left = head_dim - j;
    const size_t vecs = left >= 128 ? 8 : (left + 15) / 16;
    const size_t last = left >= 128 ? 16 : left - 16 * (vecs - 1);
    kWeightedSumQ8[vecs - 1](TailMask16(last), n_pos, scores, values + j, value_scales,
                             kv_stride, scale_stride, out + j);
    j += left >= 128 ? 128 : left;
  }
}

}  // namespace kite::kernels
