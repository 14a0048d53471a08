// attention, AVX2: scores as 4 dot products at a time, softmax_avx2, then the weighted sum of
// value rows with up to 64 output floats held in registers per pass over positions.
// attention_q8kv, AVX2: the same shape over int8 rows, widened to f32 8 at a time.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

// scores[p] = scale * (q . k_p), p in [0, n_pos).
void Scores(size_t head_dim, size_t n_pos, const float* q, const float* keys, size_t stride,
            float scale, float* scores) {
  const size_t full = head_dim / 8 * 8;
  const bool has_tail = full < head_dim;
  const __m256i tail = TailMaskAvx2(head_dim - full);
  const __m256 q_tail = _mm256_maskload_ps(q + full, tail);
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const float* k0 = keys + p * stride;
    const float* k1 = k0 + stride;
    const float* k2 = k1 + stride;
    const float* k3 = k2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (size_t j = 0; j < full; j += 8) {
      const __m256 qv = _mm256_loadu_ps(q + j);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + j), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + j), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + j), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + j), a3);
    }
    if (has_tail) {
      a0 = _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k0 + full, tail), a0);
      a1 = _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k1 + full, tail), a1);
      a2 = _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k2 + full, tail), a2);
      a3 = _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k3 + full, tail), a3);
    }
    _mm_storeu_ps(scores + p, _mm_mul_ps(ReduceAdd4Avx2(a0, a1, a2, a3), _mm_set1_ps(scale)));
  }
  for (; p < n_pos; ++p) {
    const float* k0 = keys + p * stride;
    __m256 a0 = _mm256_setzero_ps();
    for (size_t j = 0; j < full; j += 8) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(k0 + j), a0);
    }
    if (has_tail) a0 = _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k0 + full, tail), a0);
    scores[p] = ReduceAddAvx2(a0) * scale;
  }
}

// out[0, 8 kVecs) = sum_p w[p] * v_p[0, 8 kVecs). With kVecs <= 4 a second accumulator set
// (odd p) keeps 8 FMA chains in flight; larger blocks have enough chains and need the 16
// registers for one set.
template <int kVecs>
void WeightedSum(size_t n_pos, const float* w, const float* values, size_t stride, float* out) {
  constexpr bool kTwoSets = kVecs <= 4;
  __m256 acc0[kVecs];
  __m256 acc1[kVecs];
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
  size_t p = 0;
  if constexpr (kTwoSets) {
    for (; p + 2 <= n_pos; p += 2) {
      const __m256 w0 = _mm256_set1_ps(w[p]);
      const __m256 w1 = _mm256_set1_ps(w[p + 1]);
      const float* v0 = values + p * stride;
      const float* v1 = v0 + stride;
#pragma GCC unroll 8
      for (int k = 0; k < kVecs; ++k) {
        acc0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(v0 + 8 * k), acc0[k]);
        acc1[k] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(v1 + 8 * k), acc1[k]);
      }
    }
  }
  for (; p < n_pos; ++p) {
    const __m256 w0 = _mm256_set1_ps(w[p]);
    const float* v0 = values + p * stride;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(v0 + 8 * k), acc0[k]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) {
    _mm256_storeu_ps(out + 8 * k, kTwoSets ? _mm256_add_ps(acc0[k], acc1[k]) : acc0[k]);
  }
}

// WeightedSum for the last head_dim % 8 floats (lanes in `m`).
void WeightedSumMasked(__m256i m, size_t n_pos, const float* w, const float* values, size_t stride,
                       float* out) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    const float* v0 = values + p * stride;
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(w[p]), _mm256_maskload_ps(v0, m), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(w[p + 1]), _mm256_maskload_ps(v0 + stride, m), acc1);
  }
  if (p < n_pos) {
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(w[p]), _mm256_maskload_ps(values + p * stride, m), acc0);
  }
  _mm256_maskstore_ps(out, m, _mm256_add_ps(acc0, acc1));
}

using WeightedSumFn = void (*)(size_t, const float*, const float*, size_t, float*);
constexpr WeightedSumFn kWeightedSum[8] = {WeightedSum<1>, WeightedSum<2>, WeightedSum<3>,
                                           WeightedSum<4>, WeightedSum<5>, WeightedSum<6>,
                                           WeightedSum<7>, WeightedSum<8>};

// 8 int8 at p widened to f32 (reads exactly 8 bytes).
inline __m256 LoadQ8x8(const int8_t* p) {
  return _mm256_cvtepi32_ps(
      _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// The first n < 8 int8 at p widened to f32, the other lanes 0 (reads only n bytes).
inline __m256 LoadQ8Tail(const int8_t* p, size_t n) {
  uint64_t bits = 0;
  for (size_t i = 0; i < n; ++i) {
    bits |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  }
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(static_cast<int64_t>(bits))));
}

// scores[p] = scale * key_scale_p * (q . k_p) over int8 keys.
void ScoresQ8(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
              const float* key_scales, size_t stride, size_t scale_stride, float scale,
              float* scores) {
  const size_t full = head_dim / 8 * 8;
  const size_t rest = head_dim - full;
  const __m256 q_tail = _mm256_maskload_ps(q + full, TailMaskAvx2(rest));
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const int8_t* k0 = keys + p * stride;
    const int8_t* k1 = k0 + stride;
    const int8_t* k2 = k1 + stride;
    const int8_t* k3 = k2 + stride;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (size_t j = 0; j < full; j += 8) {
      const __m256 qv = _mm256_loadu_ps(q + j);
      a0 = _mm256_fmadd_ps(qv, LoadQ8x8(k0 + j), a0);
      a1 = _mm256_fmadd_ps(qv, LoadQ8x8(k1 + j), a1);
      a2 = _mm256_fmadd_ps(qv, LoadQ8x8(k2 + j), a2);
      a3 = _mm256_fmadd_ps(qv, LoadQ8x8(k3 + j), a3);
    }
    if (rest != 0) {
      a0 = _mm256_fmadd_ps(q_tail, LoadQ8Tail(k0 + full, rest), a0);
      a1 = _mm256_fmadd_ps(q_tail, LoadQ8Tail(k1 + full, rest), a1);
      a2 = _mm256_fmadd_ps(q_tail, LoadQ8Tail(k2 + full, rest), a2);
      a3 = _mm256_fmadd_ps(q_tail, LoadQ8Tail(k3 + full, rest), a3);
    }
    const __m128 ks = _mm_setr_ps(key_scales[p * scale_stride], key_scales[(p + 1) * scale_stride],
                                  key_scales[(p + 2) * scale_stride],
                                  key_scales[(p + 3) * scale_stride]);
    _mm_storeu_ps(scores + p, _mm_mul_ps(ReduceAdd4Avx2(a0, a1, a2, a3),
                                         _mm_mul_ps(ks, _mm_set1_ps(scale))));
  }
  for (; p < n_pos; ++p) {
    const int8_t* k0 = keys + p * stride;
    __m256 a0 = _mm256_setzero_ps();
    for (size_t j = 0; j < full; j += 8) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), LoadQ8x8(k0 + j), a0);
    }
    if (rest != 0) a0 = _mm256_fmadd_ps(q_tail, LoadQ8Tail(k0 + full, rest), a0);
    scores[p] = ReduceAddAvx2(a0) * (scale * key_scales[p * scale_stride]);
  }
}

// out[0, 8 kVecs) = sum_p (w[p] value_scale_p) * v_p[0, 8 kVecs) over int8 values, with
// two accumulator sets (even / odd p).
template <int kVecs>
void WeightedSumQ8(size_t n_pos, const float* w, const int8_t* values, const float* value_scales,
                   size_t stride, size_t scale_stride, float* out) {
  __m256 acc0[kVecs];
  __m256 acc1[kVecs];
#pragma GCC unroll 4
  for (int k = 0; k < kVecs; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    const __m256 w0 = _mm256_set1_ps(w[p] * value_scales[p * scale_stride]);
    const __m256 w1 = _mm256_set1_ps(w[p + 1] * value_scales[(p + 1) * scale_stride]);
    const int8_t* v0 = values + p * stride;
    const int8_t* v1 = v0 + stride;
#pragma GCC unroll 4
    for (int k = 0; k < kVecs; ++k) {
      acc0[k] = _mm256_fmadd_ps(w0, LoadQ8x8(v0 + 8 * k), acc0[k]);
      acc1[k] = _mm256_fmadd_ps(w1, LoadQ8x8(v1 + 8 * k), acc1[k]);
    }
  }
  if (p < n_pos) {
    const __m256 w0 = _mm256_set1_ps(w[p] * value_scales[p * scale_stride]);
    const int8_t* v0 = values + p * stride;
#pragma GCC unroll 4
    for (int k = 0; k < kVecs; ++k) acc0[k] = _mm256_fmadd_ps(w0, LoadQ8x8(v0 + 8 * k), acc0[k]);
  }
#pragma GCC unroll 4
  for (int k = 0; k < kVecs; ++k) _mm256_storeu_ps(out + 8 * k, _mm256_add_ps(acc0[k], acc1[k]));
}

// WeightedSumQ8 for the last n < 8 values of each row.
void WeightedSumQ8Tail(size_t n, size_t n_pos, const float* w, const int8_t* values,
                       const float* value_scales, size_t stride, size_t scale_stride,
                       float* out) {
  __m256 acc = _mm256_setzero_ps();
  for (size_t p = 0; p < n_pos; ++p) {
    acc = _mm256_fmadd_ps(_mm256_set1_ps(w[p] * value_scales[p * scale_stride]),
                          LoadQ8Tail(values + p * stride, n), acc);
  }
  _mm256_maskstore_ps(out, TailMaskAvx2(n), acc);
}

using WeightedSumQ8Fn = void (*)(size_t, const float*, const int8_t*, const float*, size_t,
                                 size_t, float*);
constexpr WeightedSumQ8Fn kWeightedSumQ8[4] = {WeightedSumQ8<1>, WeightedSumQ8<2>,
                                               WeightedSumQ8<3>, WeightedSumQ8<4>};

}  // namespace

void attention_avx2(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                    const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim);
  assert(q != nullptr && keys != nullptr && values != nullptr && scores != nullptr &&
         out != nullptr);
  Scores(head_dim, n_pos, q, keys, kv_stride, scale, scores);
  softmax_avx2(n_pos, scores);
  size_t j = 0;
  while (head_dim - j >= 8) {
    const size_t vecs = (head_dim - j) / 8 < 8 ? (head_dim - j) / 8 : 8;
    kWeightedSum[vecs - 1](n_pos, scores, values + j, kv_stride, out + j);
    j += 8 * vecs;
  }
  if (j < head_dim) {
    WeightedSumMasked(TailMaskAvx2(head_dim - j), n_pos, scores, values + j, kv_stride, out + j);
  }
}

void attention_q8kv_avx2(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const float* key_scales, const int8_t* values,
                         const float* value_scales, size_t kv_stride, size_t scale_stride,
                         float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && kv_stride >= head_dim && scale_stride >= 1);
  assert(q != nullptr && keys != nullptr && key_scales != nullptr && values != nullptr &&
         value_scales != nullptr && scores != nullptr && out != nullptr);
  ScoresQ8(head_dim, n_pos, q, keys, key_scales, kv_stride, scale_stride, scale, scores);
  softmax_avx2(n_pos, scores);
  size_t j = 0;
  while (head_dim - j >= 8) {
    const size_t vecs = (head_dim - j) / 8 < 4 ? (head_dim - j) / 8 : 4;
    kWeightedSumQ8[vecs - 1](n_pos, scores, values + j, value_scales, kv_stride, scale_stride,
                             out + j);
    j += 8 * vecs;
  }
  if (j < head_dim) {
    WeightedSumQ8Tail(head_dim - j, n_pos, scores, values + j, value_scales, kv_stride,
                      scale_stride, out + j);
  }
}

}  // namespace kite::kernels
