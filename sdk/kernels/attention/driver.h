// The one driver of the SIMD attention variants (attention and attention_q8kv on every ISA):
// scores as 4 dot products at a time, the ISA's softmax, then the weighted sum of value rows
// with up to V::kMaxVecs output vectors held in registers per pass over the positions and a
// masked pass for the last head_dim % V::kLanes values. The key / value rows are f32, or int8
// codes c with a per-position f16 scale d and offset m (x = d c + m): the scale multiplies the
// dot product / weight, the offsets add m q_sum to a score and sum_p w_p m_p to every output.
// Each ISA file supplies only its vector operations.
//
// Instantiate only from an ISA file, with a V defined in that file's anonymous namespace: the
// instantiations then have internal linkage, so nothing compiled with one ISA's flags can be
// merged by the linker into another ISA's code (see sdk/kernels/elementwise.cmake).
//
// V provides (all static):
//   Vec                        one vector of kLanes floats
//   Tail                       what a partial load / store of n < kLanes lanes needs
//   kLanes                     floats per Vec
//   kMaxVecs                   most output vectors per weighted-sum pass (>= 1)
//   kTwoSetVecs                passes of up to this many vectors keep a second accumulator
//                              set (odd positions), for more FMA chains in flight
//   Tail TailOf(size_t n)      for 0 <= n < kLanes
//   Vec Zero(), Set1(float), Add(Vec, Vec)
//   Vec Fma(Vec a, Vec b, Vec c)                      c + a * b
//   Vec Load(const float*), Load(const int8_t*)       kLanes values, widened to f32
//   Vec LoadTail(Tail, const float*), LoadTail(Tail, const int8_t*)
//                                                     the first n values, the rest 0; reads
//                                                     only those n
//   void Store(float*, Vec), StoreTail(Tail, float*, Vec)
//   float Reduce(Vec)                                 sum of the lanes
//   void Reduce4(Vec a0, Vec a1, Vec a2, Vec a3, const float s[4], const float t[4],
//                float* y)                            y[i] = Reduce(a_i) * s[i] + t[i], i < 4
//   void Softmax(size_t n, float* x)                  the ISA's softmax
//   float Half(uint16_t h)                            IEEE f16 bits to f32, exactly
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace kite::kernels::attention_driver {

/// Rows of keys or values: row p is the head_dim elements at data + p * stride; for int8,
/// element j stands for d_p * row[j] + m_p with the f16 bits d_p = params[p * param_stride],
/// m_p = params[p * param_stride + 1] (f32 rows have neither: `params` is unused).
template <class V, typename Elem>
struct Rows {
  static constexpr bool kF32 = std::is_same_v<Elem, float>;
  const Elem* data;
  size_t stride;
  const uint16_t* params;
  size_t param_stride;

  const Elem* Row(size_t p) const { return data + p * stride; }
  // 1 for f32 rows: multiplying by it is exact, so the f32 path keeps its arithmetic.
  float Scale(size_t p) const {
    if constexpr (kF32) {
      return 1.0f;
    } else {
      return V::Half(params[p * param_stride]);
    }
  }
  float Offset(size_t p) const { return V::Half(params[p * param_stride + 1]); }  // int8 only
};

// scores[p] = (scale * d_p) * (q . k_p) [+ (scale * m_p) * q_sum for int8], p in [0, n_pos),
// 4 keys at a time.
template <class V, typename Elem>
void Scores(size_t head_dim, size_t n_pos, const float* q, const Rows<V, Elem>& keys,
            float scale, float* scores) {
  [[maybe_unused]] float q_sum = 0.0f;
  if constexpr (!Rows<V, Elem>::kF32) {
    for (size_t j = 0; j < head_dim; ++j) q_sum += q[j];
  }
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  const size_t full = head_dim / kLanes * kLanes;
  const size_t rest = head_dim - full;
  const typename V::Tail tail = V::TailOf(rest);
  const Vec q_tail = V::LoadTail(tail, q + full);
  size_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const Elem* k0 = keys.Row(p);
    const Elem* k1 = keys.Row(p + 1);
    const Elem* k2 = keys.Row(p + 2);
    const Elem* k3 = keys.Row(p + 3);
    Vec a0 = V::Zero(), a1 = V::Zero(), a2 = V::Zero(), a3 = V::Zero();
    for (size_t j = 0; j < full; j += kLanes) {
      const Vec qv = V::Load(q + j);
      a0 = V::Fma(qv, V::Load(k0 + j), a0);
      a1 = V::Fma(qv, V::Load(k1 + j), a1);
      a2 = V::Fma(qv, V::Load(k2 + j), a2);
      a3 = V::Fma(qv, V::Load(k3 + j), a3);
    }
    if (rest != 0) {
      a0 = V::Fma(q_tail, V::LoadTail(tail, k0 + full), a0);
      a1 = V::Fma(q_tail, V::LoadTail(tail, k1 + full), a1);
      a2 = V::Fma(q_tail, V::LoadTail(tail, k2 + full), a2);
      a3 = V::Fma(q_tail, V::LoadTail(tail, k3 + full), a3);
    }
    const float s[4] = {scale * keys.Scale(p), scale * keys.Scale(p + 1),
                        scale * keys.Scale(p + 2), scale * keys.Scale(p + 3)};
    // f32: adding 0 leaves every score as it was (-0 becomes +0: the same after softmax).
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if constexpr (!Rows<V, Elem>::kF32) {
      for (size_t i = 0; i < 4; ++i) t[i] = (scale * keys.Offset(p + i)) * q_sum;
    }
    V::Reduce4(a0, a1, a2, a3, s, t, scores + p);
  }
  for (; p < n_pos; ++p) {
    const Elem* k0 = keys.Row(p);
    Vec a0 = V::Zero();
    for (size_t j = 0; j < full; j += kLanes) a0 = V::Fma(V::Load(q + j), V::Load(k0 + j), a0);
    if (rest != 0) a0 = V::Fma(q_tail, V::LoadTail(tail, k0 + full), a0);
    scores[p] = V::Reduce(a0) * (scale * keys.Scale(p));
    if constexpr (!Rows<V, Elem>::kF32) scores[p] += (scale * keys.Offset(p)) * q_sum;
  }
}

// out[0, kLanes kVecs) = sum_p (w[p] d_p) * v_p[col, col + kLanes kVecs).
template <class V, typename Elem, int kVecs>
void WeightedSum(size_t n_pos, const float* w, const Rows<V, Elem>& values, size_t col,
                 float* out) {
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  constexpr bool kTwoSets = kVecs <= V::kTwoSetVecs;
  Vec acc0[kVecs];
  Vec acc1[kVecs];
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) acc0[k] = acc1[k] = V::Zero();
  size_t p = 0;
  if constexpr (kTwoSets) {
    for (; p + 2 <= n_pos; p += 2) {
      const Vec w0 = V::Set1(w[p] * values.Scale(p));
      const Vec w1 = V::Set1(w[p + 1] * values.Scale(p + 1));
      const Elem* v0 = values.Row(p) + col;
      const Elem* v1 = values.Row(p + 1) + col;
#pragma GCC unroll 8
      for (int k = 0; k < kVecs; ++k) {
        acc0[k] = V::Fma(w0, V::Load(v0 + kLanes * k), acc0[k]);
        acc1[k] = V::Fma(w1, V::Load(v1 + kLanes * k), acc1[k]);
      }
    }
  }
  for (; p < n_pos; ++p) {
    const Vec w0 = V::Set1(w[p] * values.Scale(p));
    const Elem* v0 = values.Row(p) + col;
#pragma GCC unroll 8
    for (int k = 0; k < kVecs; ++k) acc0[k] = V::Fma(w0, V::Load(v0 + kLanes * k), acc0[k]);
  }
#pragma GCC unroll 8
  for (int k = 0; k < kVecs; ++k) {
    V::Store(out + kLanes * k, kTwoSets ? V::Add(acc0[k], acc1[k]) : acc0[k]);
  }
}

// WeightedSum<vecs> for 1 <= vecs <= kVecs (a compile-time block for each count).
template <class V, typename Elem, int kVecs>
void WeightedSumBlock(size_t vecs, size_t n_pos, const float* w, const Rows<V, Elem>& values,
                      size_t col, float* out) {
  if constexpr (kVecs > 1) {
    if (vecs < static_cast<size_t>(kVecs)) {
      WeightedSumBlock<V, Elem, kVecs - 1>(vecs, n_pos, w, values, col, out);
      return;
    }
  }
  WeightedSum<V, Elem, kVecs>(n_pos, w, values, col, out);
}

// WeightedSum for the last n < kLanes values of the rows (from `col`), two accumulators.
template <class V, typename Elem>
void WeightedSumTail(typename V::Tail tail, size_t n_pos, const float* w,
                     const Rows<V, Elem>& values, size_t col, float* out) {
  using Vec = typename V::Vec;
  Vec acc0 = V::Zero(), acc1 = V::Zero();
  size_t p = 0;
  for (; p + 2 <= n_pos; p += 2) {
    acc0 = V::Fma(V::Set1(w[p] * values.Scale(p)), V::LoadTail(tail, values.Row(p) + col), acc0);
    acc1 = V::Fma(V::Set1(w[p + 1] * values.Scale(p + 1)),
                  V::LoadTail(tail, values.Row(p + 1) + col), acc1);
  }
  if (p < n_pos) {
    acc0 = V::Fma(V::Set1(w[p] * values.Scale(p)), V::LoadTail(tail, values.Row(p) + col), acc0);
  }
  V::StoreTail(tail, out, V::Add(acc0, acc1));
}

/// The contract of AttentionQ8kvFn (sdk/kernels/attention/attention.h) for int8 rows, and of
/// AttentionFn for f32 rows (their params unused).
template <class V, typename Elem>
void Attention(size_t head_dim, size_t n_pos, const float* q, const Rows<V, Elem>& keys,
               const Rows<V, Elem>& values, float scale, float* scores, float* out) {
  assert(head_dim > 0 && n_pos > 0 && keys.stride >= head_dim && values.stride >= head_dim);
  assert(q != nullptr && keys.data != nullptr && values.data != nullptr && scores != nullptr &&
         out != nullptr);
  constexpr bool kF32 = Rows<V, Elem>::kF32;
  assert(kF32 || (keys.params != nullptr && values.params != nullptr && keys.param_stride >= 2 &&
                  values.param_stride >= 2));
  constexpr size_t kLanes = V::kLanes;
  Scores(head_dim, n_pos, q, keys, scale, scores);
  V::Softmax(n_pos, scores);
  size_t j = 0;
  while (head_dim - j >= kLanes) {
    const size_t left = (head_dim - j) / kLanes;
    const size_t vecs = left < static_cast<size_t>(V::kMaxVecs) ? left : V::kMaxVecs;
    WeightedSumBlock<V, Elem, V::kMaxVecs>(vecs, n_pos, scores, values, j, out + j);
    j += kLanes * vecs;
  }
  if (j < head_dim) WeightedSumTail(V::TailOf(head_dim - j), n_pos, scores, values, j, out + j);
  if constexpr (!kF32) {
    // sum_p w_p m_p, in 4 independent sums (one long chain of dependent adds would cost more
    // than the rest at small head_dim).
    float o[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    size_t p = 0;
    for (; p + 4 <= n_pos; p += 4) {
      for (size_t i = 0; i < 4; ++i) o[i] += scores[p + i] * values.Offset(p + i);
    }
    for (; p < n_pos; ++p) o[0] += scores[p] * values.Offset(p);
    const float offset = (o[0] + o[1]) + (o[2] + o[3]);
    for (j = 0; j < head_dim; ++j) out[j] += offset;
  }
}

/// attention (f32 cache) through the driver.
template <class V>
void AttentionF32(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                  const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  const Rows<V, float> k{keys, kv_stride, nullptr, 0};
  const Rows<V, float> v{values, kv_stride, nullptr, 0};
  Attention(head_dim, n_pos, q, k, v, scale, scores, out);
}

/// attention_q8kv (int8 cache, per-position f16 scale and offset) through the driver.
template <class V>
void AttentionQ8kv(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                   const uint16_t* key_params, const int8_t* values,
                   const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                   float scale, float* scores, float* out) {
  const Rows<V, int8_t> k{keys, kv_stride, key_params, param_stride};
  const Rows<V, int8_t> v{values, kv_stride, value_params, param_stride};
  Attention(head_dim, n_pos, q, k, v, scale, scores, out);
}

}  // namespace kite::kernels::attention_driver
